package main

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/model"
)

// TestVisionFLOPs checks the vision tower's operation count against the
// formula written out from the config: matrix products 2·T·rows·cols,
// attention 4·n²·hidden per block and segment.
func TestVisionFLOPs(t *testing.T) {
	v := model.VisionConfig{Depth: 2, Hidden: 8, Heads: 2, OutHidden: 16, Intermediate: 24, PatchSize: 2,
		TemporalPatch: 2, SpatialMerge: 2, ImageSize: 8, InChannels: 3, RMSNormEps: 1e-5, RopeTheta: 10000}
	w := model.RandomVisionWeights(&v, compute.F32, 1)
	segs := []model.Segment{{H: 4, W: 6}, {H: 2, W: 2}}
	S, C, O, I := 28.0, 8.0, 16.0, 24.0
	N := S / 4
	block := 2*S*C*3*C + 2*S*C*C + 3*2*S*C*O + 4*(24*24+4*4)*C
	want := 2*S*24*C + 2*block + 2*N*4*C*O + 2*N*O*O + 3*2*N*O*I
	if got := visionFLOPs(w, segs, 2); got != want {
		t.Errorf("visionFLOPs = %v, want %v", got, want)
	}
}

// TestWeightProbeStats checks the pairing of decode steps with the probe
// passes before them: each pair's ratio of rates by wall and by CPU time,
// their medians, the probe's median and best rate and the cores used, on
// numbers worked out by hand.
func TestWeightProbeStats(t *testing.T) {
	// 1 GB per token; the probe reads 2 GB. Token rates 10, 5, 8, 4 GB/s
	// against probe rates 20, 5, 10, 8: fractions 0.5, 1, 0.8, 0.5. By
	// CPU time (steps 0.2, 0.4, 0.25, 0.5 s: 5, 2.5, 4, 2 GB per CPU
	// second; passes 0.2, 0.4, 0.4, 0.5: 10, 5, 5, 4) 0.5, 0.5, 0.8, 0.5.
	times := decodeTimes{
		steps: []float64{0.1, 0.2, 0.125, 0.25}, stepsCPU: []float64{0.2, 0.4, 0.25, 0.5},
		probes: []float64{0.1, 0.4, 0.2, 0.25}, probesCPU: []float64{0.2, 0.4, 0.4, 0.5},
	}
	got := weightProbeStats(times, 1e9, 2e9)
	const eps = 1e-12
	near := func(a, b float64) bool { return math.Abs(a-b) <= eps }
	if !near(got.fraction, 0.8) || !near(got.fractionCPU, 0.5) || !near(got.medianGBs, 10) || !near(got.bestGBs, 20) {
		t.Errorf("weightProbeStats = %+v, want fraction 0.8 (upper median of 0.5, 0.5, 0.8, 1), by CPU 0.5, median 10 GB/s, best 20", got)
	}
	// Cores: 1.35 CPU s over 0.675 s of steps, 1.5 over 0.95 of passes.
	if !near(got.decodeCores, 2) || !near(got.probeCores, 1.5/0.95) {
		t.Errorf("cores used %v decoding, %v probing; want 2 and %v", got.decodeCores, got.probeCores, 1.5/0.95)
	}
	if times.steps[0] != 0.1 || times.probes[1] != 0.4 {
		t.Error("weightProbeStats reordered its inputs")
	}
	// A token as fast as its probe is at 1 whatever the drift between
	// tokens; without CPU times the CPU fraction is left out.
	flat := decodeTimes{steps: []float64{1, 3, 2}, probes: []float64{2, 6, 4}, stepsCPU: []float64{0, 0, 0}, probesCPU: []float64{0, 0, 0}}
	if got := weightProbeStats(flat, 1e9, 2e9); !near(got.fraction, 1) || got.fractionCPU != 0 {
		t.Errorf("fraction %v, by CPU %v; want 1 and 0", got.fraction, got.fractionCPU)
	}
	if got := weightProbeStats(decodeTimes{}, 1e9, 1e9); got != (weightProbe{}) {
		t.Errorf("no pairs: %+v", got)
	}
}

// TestDecodeStepsProbe decodes a small model with and without the weight
// probe between the steps: the logits must be bit-identical, every step
// and pass timed, and the probe must read the bytes decode reads.
func TestDecodeStepsProbe(t *testing.T) {
	cfg, _ := model.Preset("glm4.1v", 2)
	tc := &cfg.Text
	tc.Hidden, tc.Heads, tc.KVHeads, tc.HeadDim, tc.Intermediate, tc.Vocab = 128, 4, 2, 32, 256, 512
	tc.MRopeSection = []int{2, 3, 3}
	w := model.RandomWeights(cfg, compute.Q8_0, 1, false)
	pool := compute.NewPool(2)
	defer pool.Close()
	text := model.NewText(tc, &w.Text, pool)
	run := func(probe *compute.ReadProbe) ([]float32, decodeTimes) {
		cache := model.NewKVCache(tc, 16)
		h, _ := text.Embed([]int{1, 2, 3})
		pos := [3][]int{{0, 1, 2}, {0, 1, 2}, {0, 1, 2}}
		hidden, err := text.Forward(context.Background(), h, &pos, 3, cache, nil)
		if err != nil {
			t.Fatal(err)
		}
		last := text.Logits(hidden[2*tc.Hidden:], 1)
		times, err := decodeSteps(context.Background(), text, pool, probe, cache, last, 5)
		if err != nil {
			t.Fatal(err)
		}
		return last, times
	}
	want, times := run(nil)
	if len(times.steps) != 5 || len(times.stepsCPU) != 5 || times.probes != nil {
		t.Fatalf("without probe: %d steps, %d probe passes", len(times.steps), len(times.probes))
	}
	probe := compute.NewReadProbe(model.DecodeWeightData(tc, &w.Text))
	if probe.Bytes() != model.DecodeWeightBytes(tc, &w.Text) {
		t.Errorf("probe reads %d bytes, decode %d", probe.Bytes(), model.DecodeWeightBytes(tc, &w.Text))
	}
	got, times := run(probe)
	if len(times.steps) != 5 || len(times.probes) != 5 || len(times.probesCPU) != 5 {
		t.Fatalf("with probe: %d steps, %d probe passes", len(times.steps), len(times.probes))
	}
	for i := range times.steps {
		if !(times.steps[i] > 0 && times.probes[i] > 0 && times.stepsCPU[i] >= 0 && times.probesCPU[i] >= 0) {
			t.Errorf("pair %d: step %v s (%v CPU), probe %v s (%v CPU)", i, times.steps[i], times.stepsCPU[i], times.probes[i], times.probesCPU[i])
		}
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("logit %d after the probed decode is %v, without the probe %v", i, got[i], want[i])
		}
	}
	wp := weightProbeStats(times, model.DecodeWeightBytes(tc, &w.Text), probe.Bytes())
	if !(wp.fraction > 0 && wp.medianGBs > 0 && wp.bestGBs >= wp.medianGBs && wp.decodeCores >= 0) {
		t.Errorf("stats %+v", wp)
	}
}

// TestBenchJSONWeightProbe checks that the weight probe's fields appear in
// `glmv bench --json` under their documented names, and are left out when
// the probe was not run.
func TestBenchJSONWeightProbe(t *testing.T) {
	var r benchResult
	r.DecodeFractionOfWeightProbe, r.DecodeFractionOfWeightProbeCPU, r.WeightProbeGBs = 0.5, 0.25, 40
	r.WeightProbeBestGBs, r.DecodeCoresUsed, r.WeightProbeCoresUsed = 45, 1.5, 2
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"decode_fraction_of_weight_probe":0.5`, `"decode_fraction_of_weight_probe_cpu":0.25`,
		`"weight_probe_gbs":40`, `"weight_probe_best_gbs":45`, `"decode_cores_used":1.5`, `"weight_probe_cores_used":2`,
		`"decode_fraction_of_stream":0`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("bench JSON lacks %s: %s", want, b)
		}
	}
	b, _ = json.Marshal(benchResult{})
	if strings.Contains(string(b), "weight_probe") {
		t.Errorf("bench JSON without the probe has its fields: %s", b)
	}
}
