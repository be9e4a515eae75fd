package model

import (
	"context"
	"runtime"
	"testing"

	"github.com/glmv/glmv/compute"
)

// decodeAllocs returns the heap allocations and bytes of one decode step
// (Step) of a small dense model with weights in dt on pool, after a
// 4-token prompt.
func decodeAllocs(t *testing.T, dt compute.DType, pool *compute.Pool) (allocs float64, bytes uint64) {
	t.Helper()
	cfg, _ := Preset("glm4.1v", 2)
	tc := &cfg.Text
	tc.Hidden, tc.Heads, tc.KVHeads, tc.HeadDim, tc.Intermediate, tc.Vocab = 128, 4, 2, 32, 256, 512
	tc.MRopeSection = []int{2, 3, 3}
	w := RandomWeights(cfg, dt, 1, false)
	m := NewText(tc, &w.Text, pool)
	ctx := context.Background()
	const runs = 20
	cache := NewKVCache(tc, 4+runs+2)
	h, _ := m.Embed([]int{1, 2, 3, 4})
	pos := [3][]int{{0, 1, 2, 3}, {0, 1, 2, 3}, {0, 1, 2, 3}}
	if _, err := m.Forward(ctx, h, &pos, 4, cache, nil); err != nil {
		t.Fatal(err)
	}
	logits := make([]float32, tc.Vocab)
	step := func() {
		if err := m.StepInto(ctx, logits, Argmax(logits), 0, cache); err != nil {
			t.Fatal(err)
		}
	}
	step() // the first step sizes the scratch buffers
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	allocs = testing.AllocsPerRun(runs-1, step)
	runtime.ReadMemStats(&after)
	return allocs, (after.TotalAlloc - before.TotalAlloc) / runs
}

// A decode step allocates nothing in the model: its buffers are reused
// from the previous step. What remains is a fixed number of small
// closures per matrix product and attention call (the functions handed to
// the pool's workers), independent of the model's size and of the
// context length.
func TestDecodeAllocations(t *testing.T) {
	pool2, pool1 := compute.NewPool(2), compute.NewPool(1)
	defer pool2.Close()
	defer pool1.Close()
	for _, tc := range []struct {
		name string
		dt   compute.DType
		pool *compute.Pool
	}{{"q8/2threads", compute.Q8_0, pool2}, {"q4/2threads", compute.Q4_0, pool2}, {"f32/1thread", compute.F32, pool1}, {"bf16/2threads", compute.BF16, pool2}} {
		t.Run(tc.name, func(t *testing.T) {
			allocs, bytes := decodeAllocs(t, tc.dt, tc.pool)
			t.Logf("%.0f allocations, %d bytes per decode step", allocs, bytes)
			if allocs > maxDecodeAllocs || bytes > maxDecodeBytes {
				t.Errorf("a decode step made %.0f allocations of %d bytes, want at most %d of %d", allocs, bytes, maxDecodeAllocs, maxDecodeBytes)
			}
		})
	}
}

// The bounds of a decode step of the 2-layer test model: per layer, the
// closures of its 6 matrix products and of attention's 2 parallel loops
// (about 200 bytes each), with room for a few more; nothing that grows
// with the model's width, the vocabulary or the context.
const (
	maxDecodeAllocs = 2*12 + 4
	maxDecodeBytes  = 8 << 10
)
