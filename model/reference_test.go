package model

import (
	"context"
	"slices"
	"testing"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/internal/reftest"
)

// tol is the absolute tolerance on float outputs of the float32 path
// (values are O(1)–O(5), so this is also ≈1e-4 relative to their scale).
const tol = 1e-4

// TestReference runs every models/<model>/case_*.json under the reference
// root through the stages implemented in this package and compares each
// with the reference tensors.
func TestReference(t *testing.T) {
	load := referenceModels(t)
	reftest.Run(t, func(t *testing.T, c *reftest.Case) {
		runReferenceCase(t, load(t, c), c)
	})
}

// referenceModels returns a loader that opens each case's checkpoint once
// per test (closed at its end).
func referenceModels(t *testing.T) func(t *testing.T, c *reftest.Case) *Model {
	pool := compute.NewPool(0)
	models := map[string]*Model{}
	t.Cleanup(func() {
		for _, m := range models {
			m.Close()
		}
		pool.Close()
	})
	return func(t *testing.T, c *reftest.Case) *Model {
		m := models[c.ModelDir]
		if m == nil {
			var err error
			if m, err = Load(c.ModelDir, pool); err != nil {
				t.Fatalf("load %s: %v", c.ModelDir, err)
			}
			models[c.ModelDir] = m
		}
		return m
	}
}

func checkClose(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, reference has %d", what, len(got), len(want))
		return
	}
	d, at := reftest.MaxAbsDiff(got, want)
	if d > tol {
		t.Errorf("%s: max |diff| %.3g at %d (got %g, want %g), tolerance %g", what, d, at, got[at], want[at], tol)
	} else {
		t.Logf("%s: max |diff| %.3g", what, d)
	}
}

func runReferenceCase(t *testing.T, m *Model, c *reftest.Case) {
	ctx := context.Background()
	cfg := m.Config
	H := cfg.Text.Hidden
	ids := c.MustInts(t, "input_ids")
	S := len(ids)
	images, err := c.Grids("image_grid_thw")
	if err != nil {
		t.Fatal(err)
	}
	videos, err := c.Grids("video_grid_thw")
	if err != nil {
		t.Fatal(err)
	}

	// Stage: 3-D rope positions from the ids and grids.
	refP := c.Positions(t)
	pos, delta, err := RopeIndex(cfg, ids, images, videos)
	if err != nil {
		t.Fatalf("rope index: %v", err)
	}
	for a := 0; a < 3; a++ {
		if !slices.Equal(pos[a], refP[a]) {
			t.Errorf("position_ids axis %d differ:\n got %v\nwant %v", a, pos[a], refP[a])
		}
	}
	if want := c.MustInts(t, "rope_deltas")[0]; delta != want {
		t.Errorf("rope delta %d, want %d", delta, want)
	}

	// Stage: vision tower from the case's own pixel values.
	for _, kind := range []struct{ pix, grid, emb string }{
		{"pixel_values", "image_grid_thw", "image_embeds"},
		{"pixel_values_videos", "video_grid_thw", "video_embeds"},
	} {
		if !c.Has(kind.pix) {
			continue
		}
		grids, _ := c.Grids(kind.grid)
		got, err := m.Vision.Forward(ctx, c.MustF32(t, kind.pix), Segments(grids))
		if err != nil {
			t.Fatalf("vision: %v", err)
		}
		checkClose(t, kind.emb, got, c.MustF32(t, kind.emb))
	}

	// Stage: the whole decoder input from ids and the case's pixel values.
	var pimg, pvid []PixelInput
	if c.Has("pixel_values") {
		pimg = splitPixels(c.MustF32(t, "pixel_values"), images, cfg.Vision.PatchDim())
	}
	if c.Has("pixel_values_videos") {
		pvid = splitPixels(c.MustF32(t, "pixel_values_videos"), videos, cfg.Vision.PatchDim())
	}
	built, err := m.BuildPrompt(ctx, ids, pimg, pvid)
	if err != nil {
		t.Fatalf("build prompt: %v", err)
	}
	checkClose(t, "inputs_embeds", built.Embeds, c.MustF32(t, "inputs_embeds"))

	// Stage: embeddings of the text tokens.
	refEmbeds := c.MustF32(t, "inputs_embeds")
	emb, err := m.Text.Embed(ids)
	if err != nil {
		t.Fatal(err)
	}
	var gotText, wantText []float32
	for i, id := range ids {
		if id != cfg.ImageTokenID {
			gotText = append(gotText, emb[i*H:(i+1)*H]...)
			wantText = append(wantText, refEmbeds[i*H:(i+1)*H]...)
		}
	}
	checkClose(t, "text embeddings", gotText, wantText)

	// Stage: decoder from the reference inputs_embeds and position ids.
	cache := NewKVCache(&cfg.Text, 0)
	tr := &Trace{Record: true}
	h := slices.Clone(refEmbeds)
	hidden, err := m.Text.Forward(ctx, h, &refP, S, cache, tr)
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	refLayers := c.MustF32(t, "layer_outputs")
	for l, got := range tr.LayerOutputs {
		checkClose(t, "layer "+itoa(l)+" output", got, refLayers[l*S*H:(l+1)*S*H])
	}
	checkClose(t, "final_hidden", hidden, c.MustF32(t, "final_hidden"))
	checkClose(t, "logits", m.Text.Logits(hidden, S), c.MustF32(t, "logits"))
	if c.Has("router_logits") {
		if len(tr.RouterLogits) == 0 {
			t.Fatal("reference has router outputs but no MoE layer ran")
		}
		E, K := cfg.Text.MoE.Experts, cfg.Text.MoE.TopK
		rl := c.MustF32(t, "router_logits")
		ri := c.MustInts(t, "router_topk_indices")
		rw := c.MustF32(t, "router_topk_weights")
		for l := range tr.RouterLogits {
			checkClose(t, "router logits of MoE layer "+itoa(l), tr.RouterLogits[l], rl[l*S*E:(l+1)*S*E])
			if !slices.Equal(tr.RouterIndices[l], ri[l*S*K:(l+1)*S*K]) {
				t.Errorf("router top-k indices of MoE layer %d differ", l)
			}
			checkClose(t, "router top-k weights of MoE layer "+itoa(l), tr.RouterWeights[l], rw[l*S*K:(l+1)*S*K])
		}
	}

	// Stage: greedy decoding with the KV cache.
	if c.Has("generated_ids") {
		want := c.MustInts(t, "generated_ids")
		stepRef := c.MustF32(t, "step_logits")
		V := cfg.Text.Vocab
		cache := NewKVCache(&cfg.Text, 0)
		got, err := m.Text.Greedy(ctx, slices.Clone(refEmbeds), &refP, S, delta, cache, GreedyOptions{
			MaxNew: len(want),
			OnLogits: func(step int, logits []float32) {
				if step < len(want) {
					checkClose(t, "step "+itoa(step)+" logits", logits, stepRef[step*V:(step+1)*V])
				}
			},
		})
		if err != nil {
			t.Fatalf("greedy: %v", err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("greedy tokens\n got %v\nwant %v", got, want)
		}
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// splitPixels cuts concatenated patch rows into one input per grid.
func splitPixels(all []float32, grids [][3]int, dim int) []PixelInput {
	var out []PixelInput
	off := 0
	for _, g := range grids {
		n := g[0] * g[1] * g[2] * dim
		out = append(out, PixelInput{Values: all[off : off+n], Grid: g})
		off += n
	}
	return out
}
