package engine

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/internal/reftest"
	"github.com/glmv/glmv/model"
)

// prompt is a reference case's expanded prompt with its pixels.
type prompt struct {
	ids            []int
	images, videos []model.PixelInput
}

// casePrompt reads the case's ids and pixels, split per image and video.
func casePrompt(t *testing.T, m *model.Model, c *reftest.Case) prompt {
	t.Helper()
	p := prompt{ids: c.MustInts(t, "input_ids")}
	dim := m.Config.Vision.PatchDim()
	for _, k := range []struct {
		pix, grid string
		dst       *[]model.PixelInput
	}{{"pixel_values", "image_grid_thw", &p.images}, {"pixel_values_videos", "video_grid_thw", &p.videos}} {
		if !c.Has(k.pix) {
			continue
		}
		grids, err := c.Grids(k.grid)
		if err != nil {
			t.Fatal(err)
		}
		all := c.MustF32(t, k.pix)
		off := 0
		for _, g := range grids {
			n := g[0] * g[1] * g[2] * dim
			*k.dst = append(*k.dst, model.PixelInput{Values: all[off : off+n], Grid: g})
			off += n
		}
	}
	return p
}

// firstTurn cuts p near its middle, never inside an image or a video
// span (a cut inside one moves to its end), and keeps the images and
// videos that lie before the cut.
func firstTurn(cfg *model.Config, p prompt) prompt {
	cut := len(p.ids) / 2
	inVideo := false
	for i, id := range p.ids {
		switch id {
		case cfg.VideoStartID:
			inVideo = true
		case cfg.VideoEndID:
			inVideo = false
		}
		if i >= cut && !inVideo && id != cfg.ImageTokenID && id != cfg.VideoEndID {
			cut = i
			break
		}
	}
	out := prompt{ids: p.ids[:cut]}
	runs, vids := 0, 0
	inVideo = false
	for i, id := range out.ids {
		switch {
		case id == cfg.VideoStartID:
			inVideo = true
		case id == cfg.VideoEndID:
			inVideo = false
			vids++
		case id == cfg.ImageTokenID && !inVideo && (i == 0 || out.ids[i-1] != cfg.ImageTokenID):
			runs++
		}
	}
	out.images, out.videos = p.images[:runs], p.videos[:vids]
	return out
}

// run generates greedily and returns the tokens and the logits of each
// step.
func run(t *testing.T, e *Engine, p prompt, maxNew int) ([]int, [][]float32, *Info) {
	t.Helper()
	var logits [][]float32
	st, err := e.Submit(context.Background(), Request{IDs: p.ids, Images: p.images, Videos: p.videos, MaxNew: maxNew,
		Sample: func(l []float32) int {
			logits = append(logits, slices.Clone(l))
			return model.Argmax(l)
		}})
	if err != nil {
		t.Fatal(err)
	}
	var toks []int
	for {
		ev, err := st.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ev.Done {
			if ev.Err != nil {
				t.Fatal(ev.Err)
			}
			return toks, logits, ev.Info
		}
		toks = append(toks, ev.Token)
	}
}

func newEngine(t *testing.T, m *model.Model, o Options) *Engine {
	t.Helper()
	e, err := New(m, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// models returns a loader that opens each reference checkpoint once.
func models(t *testing.T) func(t *testing.T, dir string) *model.Model {
	pool := compute.NewPool(0)
	ms := map[string]*model.Model{}
	var mu sync.Mutex
	t.Cleanup(func() {
		for _, m := range ms {
			m.Close()
		}
		pool.Close()
	})
	return func(t *testing.T, dir string) *model.Model {
		mu.Lock()
		defer mu.Unlock()
		if m := ms[dir]; m != nil {
			return m
		}
		m, err := model.Load(dir, pool)
		if err != nil {
			t.Fatal(err)
		}
		ms[dir] = m
		return m
	}
}

// reuseTol bounds |logit with reuse - logit without| per KV format. With
// f32 the reused keys and values are the ones a full prefill computes up to
// summation order; f16 may round a few of them to the neighbouring value.
var reuseTol = map[compute.DType]float64{compute.F32: 1e-5, compute.F16: 1e-3}

// TestPrefixReuse splits every reference case's prompt in two turns: the
// first turn generates (its answer differs from the rest of the prompt, as
// a dropped thinking block would), then the whole prompt runs with the
// first turn's sequence in the prefix cache. It must reuse exactly the
// common prefix, and its logits and greedy tokens must equal those of the
// whole prompt computed from scratch.
func TestPrefixReuse(t *testing.T) {
	load := models(t)
	reftest.Run(t, func(t *testing.T, c *reftest.Case) {
		m := load(t, c.ModelDir)
		full := casePrompt(t, m, c)
		turn1 := firstTurn(m.Config, full)
		for _, dt := range []compute.DType{compute.F32, compute.F16} {
			cold := newEngine(t, m, Options{KVType: dt, CacheBytes: -1})
			wantToks, wantLogits, _ := run(t, cold, full, 6)

			warm := newEngine(t, m, Options{KVType: dt})
			gen, _, _ := run(t, warm, turn1, 4)
			// What the first turn's sequence holds: its prompt and the
			// generated tokens fed back (all but the last).
			held := append(slices.Clone(turn1.ids), gen[:len(gen)-1]...)
			wantReuse := min(commonPrefixInts(held, full.ids), len(full.ids)-1)
			toks, logits, info := run(t, warm, full, 6)
			if info.ReusedTokens != wantReuse {
				t.Errorf("%v: reused %d tokens, want %d (turn 1 has %d of %d prompt tokens)", dt, info.ReusedTokens, wantReuse, len(turn1.ids), len(full.ids))
			}
			if want := len(full.images) + len(full.videos) - len(turn1.images) - len(turn1.videos); info.VisionItems != want {
				t.Errorf("%v: %d vision items embedded, want %d (those after the first turn)", dt, info.VisionItems, want)
			}
			if !slices.Equal(toks, wantToks) {
				t.Errorf("%v: tokens with reuse %v, without %v", dt, toks, wantToks)
			}
			worst := 0.0
			for i := range min(len(logits), len(wantLogits)) {
				d, _ := reftest.MaxAbsDiff(logits[i], wantLogits[i])
				worst = max(worst, d)
			}
			t.Logf("%v: reused %d of %d tokens; max |logit diff| with and without reuse %.3g", dt, info.ReusedTokens, len(full.ids), worst)
			if worst > reuseTol[dt] {
				t.Errorf("%v: logits with and without reuse differ by %.3g > %g", dt, worst, reuseTol[dt])
			}
		}
	})
}

func commonPrefixInts(a, b []int) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// referencePrompts returns the prompts of every case of one reference
// model.
func referencePrompts(t *testing.T, load func(*testing.T, string) *model.Model, name string) (*model.Model, []prompt) {
	paths, err := reftest.Cases(reftest.Root())
	if err != nil {
		t.Fatal(err)
	}
	var m *model.Model
	var ps []prompt
	for _, path := range paths {
		c, err := reftest.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if c.Model == name {
			m = load(t, c.ModelDir)
			p := casePrompt(t, m, c)
			// Copy the pixels out of the mapped case file.
			for i := range p.images {
				p.images[i].Values = slices.Clone(p.images[i].Values)
			}
			for i := range p.videos {
				p.videos[i].Values = slices.Clone(p.videos[i].Values)
			}
			ps = append(ps, p)
		}
		c.Tensors.Close()
	}
	if len(ps) == 0 {
		t.Skipf("no reference cases for %s", name)
	}
	return m, ps
}

// TestEviction runs prompts through a cache that holds about one of them:
// older entries are evicted, the budget holds, an evicted prompt runs again
// from scratch with the same tokens, and the newest one is reused.
func TestEviction(t *testing.T) {
	load := models(t)
	m, ps := referencePrompts(t, load, "dense_a")
	per := model.KVBytesPerToken(&m.Config.Text, compute.F32)
	longest := 0
	for _, p := range ps {
		longest = max(longest, len(p.ids)+8)
	}
	limit := per*int64(longest) + 64<<10
	e := newEngine(t, m, Options{KVType: compute.F32, CacheBytes: limit})
	first, _, _ := run(t, e, ps[0], 8)
	for _, p := range ps[1:] {
		run(t, e, p, 8)
	}
	s := e.Stats()
	if s.Evictions == 0 || s.CacheBytes > s.CacheLimit {
		t.Fatalf("after %d prompts in a %d-byte cache: %+v", len(ps), limit, s)
	}
	again, _, info := run(t, e, ps[0], 8)
	// (It may still share the system prompt with the newest entry.)
	if info.ReusedTokens >= len(ps[0].ids)-1 || !slices.Equal(again, first) {
		t.Errorf("evicted prompt: reused %d tokens, tokens %v then %v", info.ReusedTokens, first, again)
	}
	_, _, info = run(t, e, ps[0], 8)
	if info.ReusedTokens != len(ps[0].ids)-1 {
		t.Errorf("repeated prompt reused %d tokens, want %d", info.ReusedTokens, len(ps[0].ids)-1)
	}
	t.Logf("stats: %+v", e.Stats())
}

// TestConcurrentMatchesAlone runs every prompt of a model alone, then all
// at once (with staggered and repeated requests joining a running batch),
// and requires the same greedy tokens per request.
func TestConcurrentMatchesAlone(t *testing.T) {
	load := models(t)
	for _, name := range []string{"dense_a", "moe_a"} {
		t.Run(name, func(t *testing.T) {
			m, ps := referencePrompts(t, load, name)
			ps = append(ps, ps...) // the same prompt twice at once
			alone := make([][]int, len(ps))
			for i, p := range ps {
				e := newEngine(t, m, Options{KVType: compute.F32, CacheBytes: -1, Parallel: 1})
				alone[i], _, _ = run(t, e, p, 10+i)
			}
			e := newEngine(t, m, Options{KVType: compute.F32, CacheBytes: -1, Parallel: 3, ChunkTokens: 16})
			got := make([][]int, len(ps))
			var wg sync.WaitGroup
			for i, p := range ps {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got[i], _, _ = run(t, e, p, 10+i)
				}()
			}
			wg.Wait()
			for i := range ps {
				if !slices.Equal(got[i], alone[i]) {
					t.Errorf("request %d: together %v, alone %v", i, got[i], alone[i])
				}
			}
			if s := e.Stats(); s.Steps == 0 || s.Running != 0 || s.Waiting != 0 {
				t.Errorf("stats after the run: %+v", s)
			}
		})
	}
}

// TestCancelOne cancels one of three concurrent streams after its first
// token: it ends as cancelled having sampled at most one more token (the
// step under way), and the others give their tokens as if alone.
func TestCancelOne(t *testing.T) {
	load := models(t)
	m, ps := referencePrompts(t, load, "dense_a")
	ps = ps[:min(3, len(ps))]
	alone := make([][]int, len(ps))
	for i, p := range ps {
		e := newEngine(t, m, Options{KVType: compute.F32, CacheBytes: -1})
		alone[i], _, _ = run(t, e, p, 12)
	}
	e := newEngine(t, m, Options{KVType: compute.F32, CacheBytes: -1})
	got := make([][]int, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i+1], _, _ = run(t, e, p, 12)
		}()
	}
	var closed atomic.Bool
	var after atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	st, err := e.Submit(ctx, Request{IDs: ps[0].ids, Images: ps[0].images, Videos: ps[0].videos, MaxNew: 1000,
		Sample: func(l []float32) int {
			if closed.Load() {
				after.Add(1)
			}
			return model.Argmax(l)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := st.Next(context.Background()); err != nil || ev.Done {
		t.Fatalf("first event %+v, %v", ev, err)
	}
	closed.Store(true)
	cancel()
	var end Event
	for {
		if end, err = st.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
		if end.Done {
			break
		}
	}
	wg.Wait()
	if end.Finish != "cancelled" || after.Load() > 1 {
		t.Errorf("cancelled stream ended %q after %d more samples", end.Finish, after.Load())
	}
	for i := 1; i < len(ps); i++ {
		if !slices.Equal(got[i], alone[i]) {
			t.Errorf("request %d beside a cancelled one: %v, alone %v", i, got[i], alone[i])
		}
	}
}

// TestChunkedPrefill submits a prompt while another sequence decodes: it
// is prefilled ChunkTokens rows per step, the decoding sequence gets a
// token every one of those steps, and both give their tokens alone.
func TestChunkedPrefill(t *testing.T) {
	load := models(t)
	m, ps := referencePrompts(t, load, "dense_a")
	a, b := ps[0], ps[len(ps)-1]
	aloneB, _, _ := run(t, newEngine(t, m, Options{KVType: compute.F32, CacheBytes: -1}), b, 6)
	const chunk = 16
	e := newEngine(t, m, Options{KVType: compute.F32, CacheBytes: -1, ChunkTokens: chunk})
	// Both Sample functions run on the loop goroutine, one after the
	// other, so plain counters suffice; they are read after the streams
	// end.
	var aSamples, bStartedAt int
	bStartedAt = -1
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stA, err := e.Submit(ctx, Request{IDs: a.ids, Images: a.images, Videos: a.videos, MaxNew: 1000,
		Sample: func(l []float32) int { aSamples++; return model.Argmax(l) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stA.Next(ctx); err != nil {
		t.Fatal(err)
	}
	var gotB []int
	stB, err := e.Submit(ctx, Request{IDs: b.ids, Images: b.images, Videos: b.videos, MaxNew: 6,
		Sample: func(l []float32) int {
			if bStartedAt < 0 {
				bStartedAt = aSamples
			}
			return model.Argmax(l)
		}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := stB.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Done {
			break
		}
		gotB = append(gotB, ev.Token)
	}
	stA.Close()
	for ev, _ := stA.Next(ctx); !ev.Done; ev, _ = stA.Next(ctx) {
	}
	steps := (len(b.ids) + chunk - 1) / chunk
	if bStartedAt < steps {
		t.Errorf("the decoding sequence got %d tokens before the %d-token prompt (%d chunks) finished", bStartedAt, len(b.ids), steps)
	}
	if !slices.Equal(gotB, aloneB) {
		t.Errorf("chunked prompt gave %v, alone %v", gotB, aloneB)
	}
}
