package model

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/internal/reftest"
)

// kvTol is the tolerance of the reference suite per KV cache format, on
// the largest |logit - reference| over the prompt and every greedy step.
// F32 keeps the suite's 1e-4. F16 rounds each key and value to 11
// significant bits (relative error ≤ 2⁻¹¹): measured ≤ 2.1e-3 on the
// reference cases, bound 1e-2.
//
// Q8_0 rounds to 8-bit blocks of 32 (error ≤ 1/254 of the block's largest
// value). The random-weight fixtures have sharp attention (large q·k), so
// this moves single logits by up to ~3; it is bounded like the quantized
// weights, on the RMS logit error of the prompt relative to the RMS of the
// reference logits (kvRelTol: measured 2.4%–12% over the cases, bound
// 25%). Greedy tokens matched on every case; they are logged, not
// required.
var kvTol = map[compute.DType]float64{
	compute.F32: 1e-4,
	compute.F16: 1e-2,
}

const kvRelTol = 0.25

// TestReferenceKVTypes runs the decoder part of every reference case
// (prompt logits and greedy decoding from the reference inputs) with each
// KV cache format, checking the logits within that format's tolerance
// and, for f32 and f16, the greedy tokens exactly.
func TestReferenceKVTypes(t *testing.T) {
	load := referenceModels(t)
	reftest.Run(t, func(t *testing.T, c *reftest.Case) {
		m := load(t, c)
		cfg := m.Config
		ids := c.MustInts(t, "input_ids")
		S, V := len(ids), cfg.Text.Vocab
		emb := c.MustF32(t, "inputs_embeds")
		pos := c.Positions(t)
		refLogits := c.MustF32(t, "logits")
		for _, dt := range []compute.DType{compute.F32, compute.F16, compute.Q8_0} {
			cache, err := NewKVCacheOf(&cfg.Text, 0, dt)
			if err != nil {
				t.Fatal(err)
			}
			hidden, err := m.Text.Forward(context.Background(), slices.Clone(emb), &pos, S, cache, nil)
			if err != nil {
				t.Fatal(err)
			}
			logits := m.Text.Logits(hidden, S)
			worst, _ := reftest.MaxAbsDiff(logits, refLogits)
			var se, sr float64
			for i, x := range logits {
				d := float64(x - refLogits[i])
				se += d * d
				sr += float64(refLogits[i]) * float64(refLogits[i])
			}
			rel := math.Sqrt(se / sr)
			tokensOK := true
			if c.Has("generated_ids") {
				want := c.MustInts(t, "generated_ids")
				stepRef := c.MustF32(t, "step_logits")
				delta := c.MustInts(t, "rope_deltas")[0]
				cache, _ := NewKVCacheOf(&cfg.Text, 0, dt)
				got, err := m.Text.Greedy(context.Background(), slices.Clone(emb), &pos, S, delta, cache, GreedyOptions{
					MaxNew: len(want),
					OnLogits: func(step int, logits []float32) {
						if step < len(want) {
							d, _ := reftest.MaxAbsDiff(logits, stepRef[step*V:(step+1)*V])
							worst = max(worst, d)
						}
					},
				})
				if err != nil {
					t.Fatal(err)
				}
				tokensOK = slices.Equal(got, want)
				if !tokensOK && dt != compute.Q8_0 {
					t.Errorf("%v KV: greedy tokens\n got %v\nwant %v", dt, got, want)
				}
			}
			t.Logf("%v KV: max |logit diff| %.3g, prompt logits relative RMS error %.3g, greedy tokens equal: %v", dt, worst, rel, tokensOK)
			if tol, ok := kvTol[dt]; ok && worst > tol {
				t.Errorf("%v KV: max |logit diff| %.3g exceeds %g", dt, worst, tol)
			}
			if dt == compute.Q8_0 && rel > kvRelTol {
				t.Errorf("%v KV: relative RMS logit error %.3g exceeds %g", dt, rel, kvRelTol)
			}
		}
	})
}
