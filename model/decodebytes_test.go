package model

import (
	"testing"

	"github.com/glmv/glmv/compute"
)

// TestDecodeWeightData checks that the weight memory DecodeWeightData
// lists for a small dense and a small MoE model adds up to
// DecodeWeightBytes, with no matrix listed twice.
func TestDecodeWeightData(t *testing.T) {
	for _, shape := range []string{"glm4.1v", "glm4.5v"} {
		t.Run(shape, func(t *testing.T) {
			cfg, _ := Preset(shape, 2)
			tc := &cfg.Text
			tc.Hidden, tc.Heads, tc.KVHeads, tc.HeadDim, tc.Intermediate, tc.Vocab = 64, 4, 2, 16, 96, 100
			tc.MRopeSection = []int{1, 1, 2}
			if tc.MoE != nil {
				tc.MoE.Experts, tc.MoE.TopK, tc.MoE.Intermediate = 6, 2, 32
			}
			w := RandomWeights(cfg, compute.Q8_0, 1, false)
			segs := DecodeWeightData(tc, &w.Text)
			var n int64
			seen := map[*byte]bool{}
			for _, s := range segs {
				if seen[&s[0]] {
					t.Fatalf("a slice of %d bytes is listed twice", len(s))
				}
				seen[&s[0]] = true
				n += int64(len(s))
			}
			if want := DecodeWeightBytes(tc, &w.Text); n != want || n == 0 {
				t.Errorf("DecodeWeightData covers %d bytes, DecodeWeightBytes is %d", n, want)
			}
			// Every expert: 4 more of the MoE layer's 6 (3 matrices each).
			extra := 0
			if tc.MoE != nil {
				extra = 4 * 3
			}
			if a, k := len(DecodeMatrices(tc, &w.Text, true)), len(DecodeMatrices(tc, &w.Text, false)); a != k+extra {
				t.Errorf("%d matrices with every expert, %d with the top-k; want %d more", a, k, extra)
			}
		})
	}
}
