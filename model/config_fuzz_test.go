package model

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/glmv/glmv/internal/reftest"
)

// FuzzParseConfig checks that no config.json makes the parser panic, and
// that every accepted config is internally consistent enough to size a
// model (positive shapes, sections summing to the rotary width).
func FuzzParseConfig(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(reftest.Root(), "models", "*", "config*.json"))
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"model_type":"glm4v"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		tc := &c.Text
		if tc.Hidden <= 0 || tc.Heads <= 0 || tc.KVHeads <= 0 || tc.Heads%tc.KVHeads != 0 || tc.Layers <= 0 || tc.Vocab <= 0 {
			t.Fatalf("accepted bad text shape %+v", tc)
		}
		sum := 0
		for _, s := range tc.MRopeSection {
			sum += s
		}
		if sum != tc.RotaryDims()/2 {
			t.Fatalf("accepted mrope_section %v for rotary dims %d", tc.MRopeSection, tc.RotaryDims())
		}
		_ = c.Params()
	})
}
