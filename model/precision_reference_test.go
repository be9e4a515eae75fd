package model

import (
	"context"
	"math"
	"testing"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/internal/reftest"
)

// Stated tolerances of compute.PrecisionBF16 with the weights converted to
// bf16, against the f32 reference: the RMS of the error relative to the
// RMS of the reference values, for the vision embeddings and the logits
// (about twice the worst case observed on the public fixtures with the
// avx512 kernels of a Zen 5: vision 0.94%, logits 0.99%; the same weights
// in f32 math: 0.75% and 0.76%). Rounding the activations of every matrix
// product to bf16 adds to the rounding of the weights alone (BF16 in
// quantTolerance); greedy tokens may diverge after a near tie, so their
// agreement is logged.
const (
	bf16VisionTolerance = 0.02
	bf16LogitTolerance  = 0.02
)

// TestReferenceBF16Precision runs every reference case's vision tower and
// decoder with bf16 weights and compute.PrecisionBF16 (the bf16 GEMM for
// every product of at least 64 token rows, where the kernel set has it).
func TestReferenceBF16Precision(t *testing.T) {
	if !compute.HasBF16Dot() {
		t.Logf("kernel set %s has no bf16 dot products: PrecisionBF16 computes in f32 here", compute.KernelName())
	}
	pool := compute.NewPool(0)
	pool.SetPrecision(compute.PrecisionBF16)
	models := map[string]*Model{}
	t.Cleanup(func() {
		for _, m := range models {
			m.Close()
		}
		pool.Close()
	})
	reftest.Run(t, func(t *testing.T, c *reftest.Case) {
		m := models[c.ModelDir]
		if m == nil {
			var err error
			if m, err = Load(c.ModelDir, pool); err != nil {
				t.Fatal(err)
			}
			if err := ConvertWeights(m.Weights, compute.BF16, pool, nil); err != nil {
				t.Fatal(err)
			}
			models[c.ModelDir] = m
		}
		for _, kind := range []struct{ pix, grid, emb string }{
			{"pixel_values", "image_grid_thw", "image_embeds"},
			{"pixel_values_videos", "video_grid_thw", "video_embeds"},
		} {
			if !c.Has(kind.pix) {
				continue
			}
			grids, _ := c.Grids(kind.grid)
			got, err := m.Vision.Forward(context.Background(), c.MustF32(t, kind.pix), Segments(grids))
			if err != nil {
				t.Fatal(err)
			}
			rel := relRMS(got, c.MustF32(t, kind.emb))
			t.Logf("%s: RMS error %.2f%% of the reference's RMS", kind.emb, 100*rel)
			if !(rel <= bf16VisionTolerance) {
				t.Errorf("%s: RMS error %.2f%% exceeds the stated %.1f%%", kind.emb, 100*rel, 100*bf16VisionTolerance)
			}
		}
		runQuantCase(t, m, c, bf16LogitTolerance)
	})
}

// relRMS is ‖got − want‖ / ‖want‖ (1 when the lengths differ).
func relRMS(got, want []float32) float64 {
	if len(got) != len(want) {
		return 1
	}
	var se, sw float64
	for i := range got {
		e := float64(got[i]) - float64(want[i])
		se += e * e
		sw += float64(want[i]) * float64(want[i])
	}
	return math.Sqrt(se / sw)
}
