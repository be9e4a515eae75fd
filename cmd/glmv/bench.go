package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/internal/cputime"
	"github.com/glmv/glmv/media"
	"github.com/glmv/glmv/model"
)

// benchResult is what `glmv bench --json` prints.
type benchResult struct {
	Shape                      string   `json:"shape"`
	Layers                     int      `json:"layers"`
	Weights                    string   `json:"weights"`
	KVType                     string   `json:"kv_type"`
	Threads                    int      `json:"threads"`
	Kernel                     string   `json:"kernel"`
	KernelSet                  string   `json:"kernel_set"`
	KernelSets                 []string `json:"kernel_sets_available"`
	CPUModel                   string   `json:"cpu_model"`
	CPUFeatures                []string `json:"cpu_features"`
	Precision                  string   `json:"precision"`
	PrecisionInEffect          string   `json:"precision_in_effect"`
	PromptTokens               int      `json:"prompt_tokens"`
	DecodeTokens               int      `json:"decode_tokens"`
	PrefillTokS                float64  `json:"prefill_tok_s"`
	DecodeTokS                 float64  `json:"decode_tok_s"`
	DecodeMedianMs             float64  `json:"decode_median_ms"`
	DecodeWeightBytesPerToken  int64    `json:"decode_weight_bytes_per_token"`
	DecodeGBs                  float64  `json:"decode_gbs"`
	BandwidthGBs               float64  `json:"bandwidth_gbs"`
	BandwidthBufferGBs         float64  `json:"bandwidth_1buffer_gbs"`
	DecodeFractionOfBandwidth  float64  `json:"decode_fraction_of_bandwidth"`
	StreamLoops                string   `json:"stream_loops"`
	StreamReadGBs              float64  `json:"stream_read_gbs"`
	StreamTriadGBs             float64  `json:"stream_triad_gbs"`
	DecodeFractionOfStream     float64  `json:"decode_fraction_of_stream"`
	VisionMs                   float64  `json:"vision_ms"`
	VisionGFLOP                float64  `json:"vision_gflop"`
	VisionGFLOPs               float64  `json:"vision_gflops"`
	VisionPatches              int      `json:"vision_patches"`
	VisionDepth                int      `json:"vision_depth"`
	PeakRSSBytes               int64    `json:"peak_rss_bytes"`
	BuildSeconds               float64  `json:"build_seconds"`
	EstimatedFullModelDecodeTS float64  `json:"estimated_full_model_decode_tok_s"`
	weightProbeResult
}

// weightProbeResult holds the fields of benchResult that pair each decoded
// token with a read-sum pass over its weights just before it (see
// weightProbeStats); zero, and left out, with --weight-probe=false.
type weightProbeResult struct {
	WeightProbeGBs                 float64 `json:"weight_probe_gbs,omitempty"`
	WeightProbeBestGBs             float64 `json:"weight_probe_best_gbs,omitempty"`
	DecodeFractionOfWeightProbe    float64 `json:"decode_fraction_of_weight_probe,omitempty"`
	DecodeFractionOfWeightProbeCPU float64 `json:"decode_fraction_of_weight_probe_cpu,omitempty"`
	DecodeCoresUsed                float64 `json:"decode_cores_used,omitempty"`
	WeightProbeCoresUsed           float64 `json:"weight_probe_cores_used,omitempty"`
}

func benchCommand() command {
	return command{name: "bench", summary: "measure prefill, decode and vision speed on random weights at real model shapes", run: runBench}
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	shape := fs.String("shape", "glm4.1v", "model shape: glm4.1v (GLM-4.1V-9B) or glm4.5v (GLM-4.5V)")
	layers := fs.Int("layers", 2, "number of text decoder layers to build (the real models have 40 / 46)")
	weights := fs.String("weights", "bf16", "weight format: f32, bf16, f16, q8 (Q8_0) or q4 (Q4_0)")
	kvType := fs.String("kv-type", "f16", "KV cache format: f16, f32 or q8_0")
	precision := fs.String("precision", "auto", precisionHelp)
	threads := fs.Int("threads", 0, "worker threads (0 = all cores)")
	prompt := fs.Int("prompt", 512, "prompt tokens for the prefill measurement")
	decode := fs.Int("decode", 64, "tokens to decode after the prompt")
	visionDepth := fs.Int("vision-depth", 24, "vision tower blocks (the real tower has 24); 0 skips the vision measurement")
	imgW := fs.Int("image-width", 1024, "width of the image for the vision measurement")
	imgH := fs.Int("image-height", 768, "height of the image for the vision measurement")
	bwMiB := fs.Int("bandwidth-mib", 1024, "size of the buffer read to measure memory bandwidth, in MiB")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	parallel := fs.Int("parallel", 0, "measure continuous batching instead: N streams at once against one stream alone (decode tok/s, time to first token)")
	secondTurn := fs.Bool("second-turn", false, "measure prefix reuse instead: the first-token time of a conversation's second turn on one image against its first")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the decode phase (with --parallel or --second-turn: of the whole measurement) to this file (for go tool pprof); it includes the weight probe's passes unless --weight-probe=false")
	weightProbe := fs.Bool("weight-probe", true, "before each decoded token, time a read-sum pass over the weight bytes that token reads (not counted in the token's time) and report decode against it")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glmv bench [options]\n\nBuilds random weights in memory at the shapes of a real model and measures\nprefill and decode speed, the vision tower on one image, and this machine's\nmemory bandwidth in the same run.\n\nOptions:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *layers <= 0 || *prompt <= 0 || *decode <= 0 || *visionDepth < 0 || *bwMiB <= 0 {
		return fmt.Errorf("--layers, --prompt, --decode and --bandwidth-mib must be positive, --vision-depth ≥ 0")
	}
	dt, err := model.ParseWeightFormat(*weights)
	if err != nil {
		return err
	}
	kvDT, err := model.ParseKVType(*kvType)
	if err != nil {
		return err
	}
	cfg, err := model.Preset(*shape, *layers)
	if err != nil {
		return err
	}
	if *prompt+*decode > cfg.Text.MaxPositions {
		return fmt.Errorf("--prompt + --decode = %d exceeds the context of %d", *prompt+*decode, cfg.Text.MaxPositions)
	}
	prec, err := compute.ParsePrecision(*precision)
	if err != nil {
		return err
	}
	cfg.Vision.Depth = *visionDepth
	pool := compute.NewPool(*threads)
	defer pool.Close()
	pool.SetPrecision(prec)
	res := benchResult{Shape: *shape, Layers: *layers, Weights: *weights, Threads: pool.Workers(), Kernel: compute.KernelName(),
		KernelSet: compute.KernelName(), KernelSets: compute.KernelSets(), CPUModel: compute.CPUModel(), CPUFeatures: compute.CPUFeatures(),
		KVType: *kvType, PromptTokens: *prompt, DecodeTokens: *decode, VisionDepth: *visionDepth,
		Precision: prec.String(), PrecisionInEffect: compute.PrecisionNote(prec)}
	logf := func(format string, a ...any) {
		if !*asJSON {
			fmt.Fprintf(stderr, format+"\n", a...)
		}
	}

	if *parallel > 0 || *secondTurn {
		if *parallel < 0 {
			return fmt.Errorf("--parallel must be positive")
		}
		logf("building random %s weights: %s, %d layers…", *weights, *shape, *layers)
		w := model.RandomWeights(cfg, dt, 1, *secondTurn && *visionDepth > 0)
		net := &model.Model{Config: cfg, Weights: w, Pool: pool,
			Text: model.NewText(&cfg.Text, &w.Text, pool), Vision: model.NewVision(&cfg.Vision, &w.Vision, pool)}
		er := &engineBenchResult{Shape: *shape, Layers: *layers, Weights: *weights, KVType: *kvType, Threads: pool.Workers(),
			Kernel: compute.KernelName(), PromptTokens: *prompt, DecodeTokens: *decode}
		if *cpuProfile != "" {
			stop, err := startCPUProfile(*cpuProfile)
			if err != nil {
				return err
			}
			defer stop()
		}
		if err := benchEngine(ctx, net, er, kvDT, *parallel, *secondTurn, *imgW, *imgH, logf); err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(er)
		}
		printEngineBench(stdout, er)
		return nil
	}

	logf("measuring memory bandwidth (%d MiB read, %d threads)…", *bwMiB, pool.Workers())
	res.BandwidthBufferGBs = pool.ReadBandwidth(int64(*bwMiB)<<20, 3) / 1e9
	res.StreamLoops = compute.StreamLoopsName()
	streamProbes(pool, &res, int64(*bwMiB)<<20)

	logf("building random %s weights: %s, %d layers…", *weights, *shape, *layers)
	start := time.Now()
	// Collect the bf16 drafts of quantized matrices as they are replaced,
	// so peak memory stays near the weights' own size.
	old := debug.SetGCPercent(10)
	w := model.RandomWeights(cfg, dt, 1, *visionDepth > 0)
	debug.SetGCPercent(old)
	debug.FreeOSMemory()
	res.BuildSeconds = time.Since(start).Seconds()
	// The bandwidth decode can reach is that of streaming the weights
	// themselves: on this kind of machine it falls as the working set
	// grows (e.g. 47 GB/s over 1 GiB, 35 GB/s over 8 GiB).
	logf("measuring the bandwidth of reading the weights…")
	res.BandwidthGBs = weightReadBandwidth(pool, &cfg.Text, &w.Text) / 1e9
	text := model.NewText(&cfg.Text, &w.Text, pool)
	res.DecodeWeightBytesPerToken = model.DecodeWeightBytes(&cfg.Text, &w.Text)

	// Prefill: one pass over a random prompt.
	rng := rand.New(rand.NewPCG(2, 3))
	ids := make([]int, *prompt)
	for i := range ids {
		ids[i] = rng.IntN(cfg.Text.Vocab)
	}
	h, err := text.Embed(ids)
	if err != nil {
		return err
	}
	pos := [3][]int{make([]int, *prompt), make([]int, *prompt), make([]int, *prompt)}
	for a := range pos {
		for i := range pos[a] {
			pos[a][i] = i
		}
	}
	cache, err := model.NewKVCacheOf(&cfg.Text, *prompt+*decode, kvDT)
	if err != nil {
		return err
	}
	logf("prefill: %d tokens…", *prompt)
	start = time.Now()
	hidden, err := text.Forward(ctx, h, &pos, *prompt, cache, nil)
	if err != nil {
		return err
	}
	last := text.Logits(hidden[(*prompt-1)*cfg.Text.Hidden:], 1)
	res.PrefillTokS = float64(*prompt) / time.Since(start).Seconds()

	logf("decode: %d tokens…", *decode)
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	var probe *compute.ReadProbe
	if *weightProbe {
		probe = compute.NewReadProbe(model.DecodeWeightData(&cfg.Text, &w.Text))
	}
	times, err := decodeSteps(ctx, text, pool, probe, cache, last, *decode)
	if err != nil {
		return err
	}
	var total float64
	for _, s := range times.steps {
		total += s
	}
	res.DecodeTokS = float64(*decode) / total
	med := median(times.steps)
	res.DecodeMedianMs = med * 1e3
	res.DecodeGBs = float64(res.DecodeWeightBytesPerToken) / med / 1e9
	if probe != nil {
		wp := weightProbeStats(times, res.DecodeWeightBytesPerToken, probe.Bytes())
		res.WeightProbeGBs, res.WeightProbeBestGBs, res.DecodeFractionOfWeightProbe = wp.medianGBs, wp.bestGBs, wp.fraction
		res.DecodeFractionOfWeightProbeCPU, res.DecodeCoresUsed, res.WeightProbeCoresUsed = wp.fractionCPU, wp.decodeCores, wp.probeCores
	}
	res.DecodeFractionOfBandwidth = res.DecodeGBs / res.BandwidthGBs
	// The probes again, right after decode: this machine's bandwidth
	// drifts over minutes, and the target is the best probe of the run.
	logf("measuring the streaming probes again…")
	streamProbes(pool, &res, int64(*bwMiB)<<20)
	res.DecodeFractionOfStream = res.DecodeGBs / max(res.StreamReadGBs, res.StreamTriadGBs)
	full, _ := model.Preset(*shape, 0)
	if full != nil {
		// Scale the measured per-token time by the bytes the full model reads.
		fw := float64(res.DecodeWeightBytesPerToken) * estimateFullScale(cfg, full, w)
		res.EstimatedFullModelDecodeTS = res.DecodeGBs * 1e9 / fw
	}

	if *visionDepth > 0 {
		mc := media.DefaultConfig()
		rh, rw, err := media.SmartResize(mc.TemporalPatchSize, *imgH, *imgW, mc.TemporalPatchSize, mc.Factor(), mc.MinPixels, mc.MaxPixels)
		if err != nil {
			return err
		}
		gh, gw := rh/cfg.Vision.PatchSize, rw/cfg.Vision.PatchSize
		res.VisionPatches = gh * gw
		pix := make([]float32, res.VisionPatches*cfg.Vision.PatchDim())
		for i := range pix {
			pix[i] = 2*rng.Float32() - 1
		}
		vis := model.NewVision(&cfg.Vision, &w.Vision, pool)
		logf("vision: %d×%d image → %d×%d patches, %d blocks…", *imgW, *imgH, gw, gh, *visionDepth)
		start = time.Now()
		if _, err := vis.Forward(ctx, pix, []model.Segment{{H: gh, W: gw}}); err != nil {
			return err
		}
		res.VisionMs = time.Since(start).Seconds() * 1e3
		res.VisionGFLOP = visionFLOPs(&w.Vision, []model.Segment{{H: gh, W: gw}}, cfg.Vision.SpatialMerge) / 1e9
		res.VisionGFLOPs = res.VisionGFLOP / (res.VisionMs / 1e3)
	}
	res.PeakRSSBytes = peakRSS()

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(stdout, "glmv bench: %s shape, %d layers, %s weights, %d threads, kernels %s\n", res.Shape, res.Layers, res.Weights, res.Threads, res.Kernel)
	fmt.Fprintf(stdout, "  cpu                        %s\n", cmp.Or(res.CPUModel, "(model unknown)"))
	fmt.Fprintf(stdout, "  cpu features               %s (kernel sets here: %s)\n", strings.Join(res.CPUFeatures, " "), strings.Join(res.KernelSets, ", "))
	if note := compute.KernelNote(); note != "" {
		fmt.Fprintf(stdout, "  note                       %s\n", note)
	}
	fmt.Fprintf(stdout, "  precision                  %s: %s\n", res.Precision, res.PrecisionInEffect)
	fmt.Fprintf(stdout, "  memory bandwidth (read)    %8.1f GB/s streaming the weights (%.1f GB/s over a %d MiB buffer)\n", res.BandwidthGBs, res.BandwidthBufferGBs, *bwMiB)
	fmt.Fprintf(stdout, "  %-26s %8.1f GB/s read-sum, %.1f GB/s triad (best of the passes before and after decode)\n", "streaming probes ("+res.StreamLoops+")", res.StreamReadGBs, res.StreamTriadGBs)
	fmt.Fprintf(stdout, "  prefill (%d tokens)       %8.2f tok/s\n", res.PromptTokens, res.PrefillTokS)
	fmt.Fprintf(stdout, "  decode (%d tokens)          %8.2f tok/s (median %.1f ms/token)\n", res.DecodeTokens, res.DecodeTokS, res.DecodeMedianMs)
	fmt.Fprintf(stdout, "  weights read per token     %8.1f MB → %.1f GB/s = %.0f%% of bandwidth, %.0f%% of the best streaming probe\n", float64(res.DecodeWeightBytesPerToken)/1e6, res.DecodeGBs, 100*res.DecodeFractionOfBandwidth, 100*res.DecodeFractionOfStream)
	if res.WeightProbeGBs > 0 {
		fmt.Fprintf(stdout, "  weight probe (per token)   %8.1f GB/s median, %.1f best → decode at %.0f%% of it by wall time, %.0f%% by CPU time (medians over tokens)\n", res.WeightProbeGBs, res.WeightProbeBestGBs, 100*res.DecodeFractionOfWeightProbe, 100*res.DecodeFractionOfWeightProbeCPU)
		fmt.Fprintf(stdout, "  cores used (CPU/wall)      %8.2f decoding, %.2f in the probe, of %d threads\n", res.DecodeCoresUsed, res.WeightProbeCoresUsed, res.Threads)
	}
	if res.EstimatedFullModelDecodeTS > 0 {
		fmt.Fprintf(stdout, "  full-model decode estimate %8.2f tok/s (same GB/s over all layers)\n", res.EstimatedFullModelDecodeTS)
	}
	if *visionDepth > 0 {
		fmt.Fprintf(stdout, "  vision tower (%d patches, %d blocks) %.0f ms, %.1f GFLOP → %.1f GFLOP/s\n", res.VisionPatches, res.VisionDepth, res.VisionMs, res.VisionGFLOP, res.VisionGFLOPs)
	}
	fmt.Fprintf(stdout, "  peak memory (RSS)          %8.2f GiB\n", float64(res.PeakRSSBytes)/(1<<30))
	return nil
}

// decodeTimes holds decodeSteps' measurements in seconds: the wall and
// process CPU time of each step, and of the probe pass just before it.
type decodeTimes struct {
	steps, stepsCPU   []float64
	probes, probesCPU []float64
}

// decodeSteps decodes n tokens greedily after the logits last, appending
// to cache, and times each step. With probe set, a read-sum pass over the
// weights runs before each step and is timed apart (probes[i] just before
// steps[i]); the steps' times do not include it, and the tokens decoded
// are the same either way.
func decodeSteps(ctx context.Context, text *model.Text, pool *compute.Pool, probe *compute.ReadProbe, cache *model.KVCache, last []float32, n int) (decodeTimes, error) {
	var dt decodeTimes
	timed := func(wall, cpu *[]float64, f func() error) error {
		c0, t0 := cputime.Process(), time.Now()
		err := f()
		*wall = append(*wall, time.Since(t0).Seconds())
		*cpu = append(*cpu, (cputime.Process() - c0).Seconds())
		return err
	}
	for range n {
		if probe != nil {
			timed(&dt.probes, &dt.probesCPU, func() error { probe.Pass(pool); return nil })
		}
		if err := timed(&dt.steps, &dt.stepsCPU, func() error {
			return text.StepInto(ctx, last, model.Argmax(last), 0, cache)
		}); err != nil {
			return decodeTimes{}, err
		}
	}
	return dt, nil
}

// weightProbe summarises the weight probe timed next to decode.
type weightProbe struct {
	// fraction is the median over tokens i of decode's rate over the
	// probe's just before it, (bytes/steps[i]) / (probeBytes/probes[i]);
	// fractionCPU the same by process CPU time (zero where the platform
	// does not report it).
	fraction, fractionCPU float64
	// medianGBs and bestGBs are the median and best probe rates, GB/s.
	medianGBs, bestGBs float64
	// decodeCores and probeCores are the CPU time over the wall time of
	// all steps, and of all probe passes: how many cores each had on
	// average (a worker spinning for work counts, one blocked does not).
	decodeCores, probeCores float64
}

// weightProbeStats pairs each decode step (bytes weight bytes) with the
// probe pass before it (probeBytes); the pairing cancels the machine's
// bandwidth drifting from one token to the next. It returns the zero
// value without pairs.
func weightProbeStats(t decodeTimes, bytes, probeBytes int64) weightProbe {
	n := min(len(t.steps), len(t.probes), len(t.stepsCPU), len(t.probesCPU))
	if n == 0 || bytes <= 0 || probeBytes <= 0 {
		return weightProbe{}
	}
	frac, fracCPU, rates := make([]float64, n), make([]float64, 0, n), make([]float64, n)
	var sw, sc, pw, pc float64
	for i := range n {
		rates[i] = float64(probeBytes) / t.probes[i] / 1e9
		frac[i] = float64(bytes) / t.steps[i] / 1e9 / rates[i]
		if t.stepsCPU[i] > 0 && t.probesCPU[i] > 0 {
			fracCPU = append(fracCPU, float64(bytes)/t.stepsCPU[i]/(float64(probeBytes)/t.probesCPU[i]))
		}
		sw, sc, pw, pc = sw+t.steps[i], sc+t.stepsCPU[i], pw+t.probes[i], pc+t.probesCPU[i]
	}
	wp := weightProbe{fraction: median(frac), medianGBs: median(rates), bestGBs: slices.Max(rates),
		decodeCores: sc / sw, probeCores: pc / pw}
	if len(fracCPU) == n {
		wp.fractionCPU = median(fracCPU)
	}
	return wp
}

// median returns the middle value of v (the upper one of an even count)
// and leaves v as it was.
func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// estimateFullScale is the ratio of the full model's decode weight bytes
// to the benchmarked model's: lm_head is shared, the layers scale with
// their count (dense and MoE layers counted apart).
func estimateFullScale(cfg, full *model.Config, w *model.Weights) float64 {
	head := w.Text.LMHead.Bytes()
	total := model.DecodeWeightBytes(&cfg.Text, &w.Text)
	// Bytes per layer kind, from the layers that were built.
	var dense, moe, nd, nm float64
	for i := range w.Text.Layers {
		b := float64(model.LayerDecodeBytes(&cfg.Text, &w.Text.Layers[i]))
		if cfg.Text.IsMoELayer(i) {
			moe, nm = moe+b, nm+1
		} else {
			dense, nd = dense+b, nd+1
		}
	}
	var fullLayers float64
	for i := 0; i < full.Text.Layers; i++ {
		switch {
		case full.Text.IsMoELayer(i) && nm > 0:
			fullLayers += moe / nm
		case !full.Text.IsMoELayer(i) && nd > 0:
			fullLayers += dense / nd
		case nm > 0:
			fullLayers += moe / nm
		default:
			fullLayers += dense / nd
		}
	}
	return (fullLayers + float64(head)) / float64(total)
}

// weightReadBandwidth streams every byte a decoded token reads (all text
// matrices; for MoE every expert, which bounds the per-token set from
// above) through the dot-product kernel on all workers and returns the
// best of two passes in bytes per second.
func weightReadBandwidth(pool *compute.Pool, cfg *model.TextConfig, w *model.TextWeights) float64 {
	var chunks [][]float32
	add := func(b []byte) {
		const chunk = 256 << 10
		for len(b) >= 4 {
			n := min(len(b), chunk) &^ 3
			chunks = append(chunks, unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n/4))
			b = b[n:]
		}
	}
	for _, m := range model.DecodeMatrices(cfg, w, true) {
		for _, b := range m.Storage() {
			add(b)
		}
	}
	var total int64
	for _, c := range chunks {
		total += 4 * int64(len(c))
	}
	best := 0.0
	sums := make([]float32, len(chunks))
	for pass := 0; pass < 2; pass++ {
		start := time.Now()
		pool.For(len(chunks), 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				sums[i] = compute.Dot(chunks[i], chunks[i])
			}
		})
		best = max(best, float64(total)/time.Since(start).Seconds())
	}
	return best
}

// streamProbeReps is how many passes each streaming probe makes; the best
// one counts.
const streamProbeReps = 5

// streamProbes runs the read-sum and triad probes over size bytes and
// keeps the best of their results so far in res.
func streamProbes(pool *compute.Pool, res *benchResult, size int64) {
	res.StreamReadGBs = max(res.StreamReadGBs, pool.StreamRead(size, streamProbeReps)/1e9)
	res.StreamTriadGBs = max(res.StreamTriadGBs, pool.StreamTriad(size, streamProbeReps)/1e9)
}

// visionFLOPs counts the floating-point operations of one vision tower
// pass over segs, from the shapes of its weights: 2·T·rows·cols for every
// matrix product of T rows (patch embedding, each block's QKV, output
// projection and SwiGLU gate, up and down; the merger's downsample,
// projection and SwiGLU on T/m² rows), plus 4·n²·hidden per block and
// segment of n patches for attention (Q·Kᵀ and P·V, full and
// non-causal). Norms, rope, softmax and the element-wise operations are
// left out (under 1% at the real shapes).
func visionFLOPs(w *model.VisionWeights, segs []model.Segment, merge int) float64 {
	S := 0
	for _, s := range segs {
		S += s.H * s.W
	}
	mm := func(T int, m *compute.Matrix) float64 {
		if m == nil {
			return 0
		}
		return 2 * float64(T) * float64(m.Rows) * float64(m.Cols)
	}
	mlp := func(T int, p *model.MLP) float64 {
		return mm(T, p.Gate) + mm(T, p.Up) + mm(T, p.GateUp) + mm(T, p.Down)
	}
	f := mm(S, w.PatchEmbed.W)
	for i := range w.Blocks {
		b := &w.Blocks[i]
		f += mm(S, b.QKV) + mm(S, b.Proj) + mlp(S, &b.MLP)
		for _, s := range segs {
			n := float64(s.H * s.W)
			f += 4 * n * n * float64(b.QKV.Cols)
		}
	}
	N := S / (merge * merge)
	return f + mm(N, w.Downsample.W) + mm(N, w.MergerProj) + mlp(N, &w.MergerMLP)
}

// startCPUProfile starts a CPU profile written to path and returns the
// function that stops it and closes the file.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
