package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/engine"
	"github.com/glmv/glmv/media"
	"github.com/glmv/glmv/model"
)

// engineBenchResult is what `glmv bench --parallel N` and `--second-turn`
// print with --json (the fields of the mode that ran).
type engineBenchResult struct {
	Shape        string `json:"shape"`
	Layers       int    `json:"layers"`
	Weights      string `json:"weights"`
	KVType       string `json:"kv_type"`
	Threads      int    `json:"threads"`
	Kernel       string `json:"kernel"`
	PromptTokens int    `json:"prompt_tokens"`
	DecodeTokens int    `json:"decode_tokens"`

	// --parallel: N streams submitted at once, and one stream alone.
	Parallel         int     `json:"parallel,omitempty"`
	DecodeTokS       float64 `json:"decode_tok_s,omitempty"`
	DecodeTokSSingle float64 `json:"decode_tok_s_single,omitempty"`
	Speedup          float64 `json:"speedup,omitempty"`
	TTFTMsP50        float64 `json:"ttft_ms_p50,omitempty"`
	TTFTMsMax        float64 `json:"ttft_ms_max,omitempty"`

	// --second-turn: a conversation on one image, then a turn adding
	// AddedTokens tokens.
	ImageWidth   int     `json:"image_width,omitempty"`
	ImageHeight  int     `json:"image_height,omitempty"`
	VisionDepth  int     `json:"vision_depth,omitempty"`
	VisionTokens int     `json:"vision_tokens,omitempty"`
	AddedTokens  int     `json:"turn2_added_tokens,omitempty"`
	ReusedTokens int     `json:"turn2_reused_tokens,omitempty"`
	Turn1TTFTMs  float64 `json:"turn1_ttft_ms,omitempty"`
	Turn2TTFTMs  float64 `json:"turn2_ttft_ms,omitempty"`
	Turn2Ratio   float64 `json:"turn2_over_turn1,omitempty"`
}

// streamRun is one request's timing in an engine benchmark.
type streamRun struct {
	tokens []int
	ttft   time.Duration
	stamps []time.Time // arrival of each token
	info   *engine.Info
}

// benchStream submits one greedy request and reads it to the end.
func benchStream(ctx context.Context, e *engine.Engine, req engine.Request) (*streamRun, error) {
	req.Sample = model.Argmax
	start := time.Now()
	st, err := e.Submit(ctx, req)
	if err != nil {
		return nil, err
	}
	r := &streamRun{}
	for {
		ev, err := st.Next(ctx)
		if err != nil {
			return nil, err
		}
		if ev.Done {
			if ev.Err != nil {
				return nil, ev.Err
			}
			r.info = ev.Info
			return r, nil
		}
		now := time.Now()
		if len(r.tokens) == 0 {
			r.ttft = now.Sub(start)
		}
		r.tokens = append(r.tokens, ev.Token)
		r.stamps = append(r.stamps, now)
	}
}

// decodeRate is the tokens per second of runs between the moment every
// run has its first token and the end of the last one.
func decodeRate(runs []*streamRun) float64 {
	var from, to time.Time
	for _, r := range runs {
		if len(r.stamps) == 0 {
			continue
		}
		if r.stamps[0].After(from) {
			from = r.stamps[0]
		}
		if l := r.stamps[len(r.stamps)-1]; l.After(to) {
			to = l
		}
	}
	n := 0
	for _, r := range runs {
		for _, t := range r.stamps {
			if t.After(from) {
				n++
			}
		}
	}
	if !to.After(from) {
		return 0
	}
	return float64(n) / to.Sub(from).Seconds()
}

// randomText draws n token ids that are not vision markers.
func randomText(rng *rand.Rand, cfg *model.Config, n int) []int {
	ids := make([]int, n)
	special := []int{cfg.ImageTokenID, cfg.VideoTokenID, cfg.ImageStartID, cfg.ImageEndID, cfg.VideoStartID, cfg.VideoEndID}
	for i := range ids {
		for {
			ids[i] = rng.IntN(cfg.Text.Vocab)
			if !slices.Contains(special, ids[i]) {
				break
			}
		}
	}
	return ids
}

// benchEngine runs the --parallel and --second-turn measurements on net.
func benchEngine(ctx context.Context, net *model.Model, res *engineBenchResult, kv compute.DType, parallel int,
	secondTurn bool, imgW, imgH int, logf func(string, ...any)) error {
	cfg := net.Config
	rng := rand.New(rand.NewPCG(4, 5))
	if parallel > 0 {
		res.Parallel = parallel
		prompts := make([][]int, parallel)
		for i := range prompts {
			prompts[i] = randomText(rng, cfg, res.PromptTokens)
		}
		e, err := engine.New(net, engine.Options{KVType: kv, Parallel: parallel, CacheBytes: -1})
		if err != nil {
			return err
		}
		defer e.Close()
		logf("one stream: %d prompt tokens, %d decoded…", res.PromptTokens, res.DecodeTokens)
		one, err := benchStream(ctx, e, engine.Request{IDs: prompts[0], MaxNew: res.DecodeTokens})
		if err != nil {
			return err
		}
		res.DecodeTokSSingle = decodeRate([]*streamRun{one})
		logf("%d streams at once…", parallel)
		runs := make([]*streamRun, parallel)
		errs := make([]error, parallel)
		var wg sync.WaitGroup
		for i := range parallel {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runs[i], errs[i] = benchStream(ctx, e, engine.Request{IDs: prompts[i], MaxNew: res.DecodeTokens})
			}()
		}
		wg.Wait()
		var ttfts []float64
		for i, err := range errs {
			if err != nil {
				return err
			}
			ttfts = append(ttfts, runs[i].ttft.Seconds()*1e3)
		}
		slices.Sort(ttfts)
		res.TTFTMsP50, res.TTFTMsMax = ttfts[(len(ttfts)-1)/2], ttfts[len(ttfts)-1]
		res.DecodeTokS = decodeRate(runs)
		if res.DecodeTokSSingle > 0 {
			res.Speedup = res.DecodeTokS / res.DecodeTokSSingle
		}
	}
	if secondTurn {
		if cfg.Vision.Depth == 0 {
			return fmt.Errorf("--second-turn needs the vision tower (--vision-depth > 0)")
		}
		mc := media.DefaultConfig()
		rh, rw, err := media.SmartResize(mc.TemporalPatchSize, imgH, imgW, mc.TemporalPatchSize, mc.Factor(), mc.MinPixels, mc.MaxPixels)
		if err != nil {
			return err
		}
		gh, gw := rh/cfg.Vision.PatchSize, rw/cfg.Vision.PatchSize
		pix := make([]float32, gh*gw*cfg.Vision.PatchDim())
		for i := range pix {
			pix[i] = 2*rng.Float32() - 1
		}
		img := model.PixelInput{Values: pix, Grid: [3]int{1, gh, gw}}
		m := cfg.Vision.SpatialMerge
		res.ImageWidth, res.ImageHeight, res.VisionDepth, res.VisionTokens = imgW, imgH, cfg.Vision.Depth, gh*gw/(m*m)
		ids := randomText(rng, cfg, 16)
		ids = append(ids, cfg.ImageStartID)
		for range res.VisionTokens {
			ids = append(ids, cfg.ImageTokenID)
		}
		ids = append(ids, cfg.ImageEndID)
		ids = append(ids, randomText(rng, cfg, res.PromptTokens)...)
		e, err := engine.New(net, engine.Options{KVType: kv})
		if err != nil {
			return err
		}
		defer e.Close()
		logf("turn 1: %d×%d image (%d vision tokens, %d blocks) and %d text tokens…", imgW, imgH, res.VisionTokens, cfg.Vision.Depth, res.PromptTokens+18)
		t1, err := benchStream(ctx, e, engine.Request{IDs: ids, Images: []model.PixelInput{img}, MaxNew: res.DecodeTokens})
		if err != nil {
			return err
		}
		// Turn 2: the whole conversation again (as an OpenAI client sends
		// it, the image included) with the answer and 20 new tokens.
		res.AddedTokens = 20
		ids2 := append(slices.Clone(ids), t1.tokens...)
		ids2 = append(ids2, randomText(rng, cfg, res.AddedTokens)...)
		pix2 := slices.Clone(pix) // a fresh copy, as a new request decodes it
		logf("turn 2: +%d tokens…", len(ids2)-len(ids))
		t2, err := benchStream(ctx, e, engine.Request{IDs: ids2, Images: []model.PixelInput{{Values: pix2, Grid: img.Grid}}, MaxNew: res.DecodeTokens})
		if err != nil {
			return err
		}
		res.Turn1TTFTMs, res.Turn2TTFTMs = t1.ttft.Seconds()*1e3, t2.ttft.Seconds()*1e3
		res.Turn2Ratio = res.Turn2TTFTMs / res.Turn1TTFTMs
		res.ReusedTokens = t2.info.ReusedTokens
	}
	return nil
}

// printEngineBench writes the table form of an engine benchmark.
func printEngineBench(w io.Writer, r *engineBenchResult) {
	fmt.Fprintf(w, "glmv bench: %s shape, %d layers, %s weights, %s KV cache, %d threads, kernels %s\n", r.Shape, r.Layers, r.Weights, r.KVType, r.Threads, r.Kernel)
	if r.Parallel > 0 {
		fmt.Fprintf(w, "  decode, 1 stream           %8.2f tok/s (%d prompt tokens, %d decoded)\n", r.DecodeTokSSingle, r.PromptTokens, r.DecodeTokens)
		fmt.Fprintf(w, "  decode, %d streams          %8.2f tok/s in all (%.2f× one stream)\n", r.Parallel, r.DecodeTokS, r.Speedup)
		fmt.Fprintf(w, "  time to first token        p50 %.0f ms, max %.0f ms\n", r.TTFTMsP50, r.TTFTMsMax)
	}
	if r.Turn1TTFTMs > 0 {
		fmt.Fprintf(w, "  turn 1 first token         %8.0f ms (%d×%d image, %d vision tokens, %d vision blocks)\n", r.Turn1TTFTMs, r.ImageWidth, r.ImageHeight, r.VisionTokens, r.VisionDepth)
		fmt.Fprintf(w, "  turn 2 first token         %8.0f ms (%.1f%% of turn 1; %d tokens reused, %d new)\n", r.Turn2TTFTMs, 100*r.Turn2Ratio, r.ReusedTokens, r.AddedTokens)
	}
}
