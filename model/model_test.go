package model

import (
	"context"
	"errors"
	"fmt"
	"github.com/glmv/glmv/safetensors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/internal/reftest"
)

func refModelDirs(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(reftest.Root(), "models", "*", "config.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no reference models under %s (%v)", reftest.Root(), err)
	}
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	return dirs
}

// Both spellings of the rope settings (transformers 5 rope_parameters and
// the Hub's rope_scaling + rope_theta) must give the same config.
func TestConfigSpellings(t *testing.T) {
	for _, dir := range refModelDirs(t) {
		v4 := filepath.Join(dir, "config.transformers4.json")
		if _, err := os.Stat(v4); err != nil {
			continue
		}
		a, err := LoadConfig(dir)
		if err != nil {
			t.Fatal(err)
		}
		b4, err := os.ReadFile(v4)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseConfig(b4)
		if err != nil {
			t.Fatalf("%s: %v", v4, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: configs differ:\n%+v\n%+v", dir, a.Text, b.Text)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct{ json, want string }{
		{`{"model_type":"llama"}`, `unknown model_type "llama"`},
		{`{}`, "no model_type"},
		{`not json`, "not valid JSON"},
		{`{"model_type":"glm4v","vision_config":{}}`, "missing text_config"},
		{`{"model_type":"glm4v","text_config":{"hidden_size":64},"vision_config":{"depth":1,"hidden_size":8,"num_heads":2,"intermediate_size":8,"out_hidden_size":64}}`, "missing text_config.vocab_size"},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseConfig(%s) error = %v, want %q", c.json, err, c.want)
		}
	}
	if _, err := ParseConfig([]byte(`{"model_type":"qwen2_vl"}`)); !errors.Is(err, ErrUnknownModelType) {
		t.Errorf("unknown model type error is not ErrUnknownModelType: %v", err)
	}
}

// copyModel copies a reference checkpoint folder so a test can break it.
func copyModel(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, name := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestLoadErrors(t *testing.T) {
	src := filepath.Join(reftest.Root(), "models", "moe_a")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("fixture moe_a not under %s", reftest.Root())
	}
	edit := func(t *testing.T, dir, name string, f func([]byte) []byte) {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("config does not match weights", func(t *testing.T) {
		dir := copyModel(t, src)
		edit(t, dir, "config.json", func(b []byte) []byte {
			s := strings.Replace(string(b), `"moe_intermediate_size": 32`, `"moe_intermediate_size": 48`, 1)
			s = strings.Replace(s, `"num_hidden_layers": 4`, `"num_hidden_layers": 5`, 1)
			return []byte(s)
		})
		_, err := Load(dir, nil)
		if err == nil {
			t.Fatal("Load accepted a config that does not match the weights")
		}
		for _, want := range []string{"missing tensors", "layers.4.input_layernorm.weight", "wrong shape", "experts.0.gate_proj.weight: file has [32 64], config implies [48 64]"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not mention %q:\n%v", want, err)
			}
		}
	})
	t.Run("fewer layers leaves unexpected tensors", func(t *testing.T) {
		dir := copyModel(t, src)
		edit(t, dir, "config.json", func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"depth": 2`, `"depth": 1`, 1))
		})
		_, err := Load(dir, nil)
		if err == nil || !strings.Contains(err.Error(), "unexpected tensors") || !strings.Contains(err.Error(), "model.visual.blocks.1.") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("truncated weights", func(t *testing.T) {
		dir := copyModel(t, src)
		edit(t, dir, "model.safetensors", func(b []byte) []byte { return b[:len(b)/2] })
		_, err := Load(dir, nil)
		if err == nil || !strings.Contains(err.Error(), "model.safetensors") || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("unknown model type", func(t *testing.T) {
		dir := copyModel(t, src)
		edit(t, dir, "config.json", func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"model_type": "glm4v_moe",`, `"model_type": "mllama",`, 1))
		})
		_, err := Load(dir, nil)
		if !errors.Is(err, ErrUnknownModelType) || !strings.Contains(err.Error(), "mllama") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("missing folder", func(t *testing.T) {
		_, err := Load(filepath.Join(t.TempDir(), "nope"), nil)
		if err == nil || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("err = %v", err)
		}
	})
}

// The context limit is enforced with a message that says by how much.
func TestContextLimit(t *testing.T) {
	cfg, _ := Preset("glm4.1v", 1)
	cfg.Text.Hidden, cfg.Text.Heads, cfg.Text.KVHeads, cfg.Text.HeadDim, cfg.Text.Intermediate, cfg.Text.Vocab = 32, 2, 1, 16, 16, 50
	cfg.Text.MRopeSection = []int{1, 1, 2}
	w := RandomWeights(cfg, compute.F32, 1, false)
	m := NewText(&cfg.Text, &w.Text, nil)
	cache := NewKVCache(&cfg.Text, 8)
	h, _ := m.Embed(make([]int, 10))
	pos := [3][]int{make([]int, 10), make([]int, 10), make([]int, 10)}
	_, err := m.Forward(context.Background(), h, &pos, 10, cache, nil)
	if err == nil || !strings.Contains(err.Error(), "by 2") {
		t.Errorf("err = %v", err)
	}
}

// BenchmarkDecoderLayer times one GLM-4.1V decoder layer (hidden 4096, 32
// heads / 2 KV, MLP 13696) with bf16 weights: one decode step after a
// 512-token context, and a 64-token prefill chunk.
func BenchmarkDecoderLayer(b *testing.B) {
	cfg, _ := Preset("glm4.1v", 1)
	cfg.Text.Vocab = 16
	w := RandomWeights(cfg, compute.BF16, 1, false)
	pool := compute.NewPool(0)
	defer pool.Close()
	m := NewText(&cfg.Text, &w.Text, pool)
	weightBytes := int64(0)
	L := w.Text.Layers[0]
	for _, mat := range []*compute.Matrix{L.Q.W, L.K.W, L.V.W, L.O, L.MLP.GateUp, L.MLP.Down} {
		weightBytes += int64(2 * mat.Rows * mat.Cols)
	}
	ctx := context.Background()
	run := func(b *testing.B, past, T int) {
		cache := NewKVCache(&cfg.Text, past+T)
		if past > 0 {
			h := make([]float32, past*cfg.Text.Hidden)
			pos := seqPositions(0, past)
			if _, err := m.Forward(ctx, h, &pos, past, cache, nil); err != nil {
				b.Fatal(err)
			}
		}
		h := make([]float32, T*cfg.Text.Hidden)
		pos := seqPositions(past, T)
		b.SetBytes(weightBytes)
		b.ResetTimer()
		for b.Loop() {
			cache.Len = past
			if _, err := m.Forward(ctx, h, &pos, T, cache, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(T)*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
	}
	b.Run("decode/ctx512", func(b *testing.B) { run(b, 512, 1) })
	b.Run("prefill/T64", func(b *testing.B) { run(b, 0, 64) })
}

func seqPositions(start, n int) [3][]int {
	var p [3][]int
	for a := range p {
		p[a] = make([]int, n)
		for i := range p[a] {
			p[a][i] = start + i
		}
	}
	return p
}

// Parameter counts of the real shapes agree with the hand-checked totals
// in the specification (§10.1), and the tiny models' counts with the
// number of values in their weight files.
func TestParams(t *testing.T) {
	c45, _ := Preset("glm4.5v", 0)
	p := c45.Params()
	// The spec's active count leaves out the final norm (4096) and the 45
	// router correction biases (128 each), which every token also uses.
	const active = 12_803_362_816 + 4096 + 45*128
	if p.Total != 107_710_933_120 || p.Vision != 858_681_856 || p.Active != active {
		t.Errorf("GLM-4.5V params %+v, want total 107710933120, vision 858681856, active %d", p, active)
	}
	c41, _ := Preset("glm4.1v", 0)
	if p := c41.Params(); p.Total != 10_292_777_472 || p.Vision != 892_498_432 {
		t.Errorf("GLM-4.1V params %+v, want total 10292777472, vision 892498432", p)
	}
	for _, dir := range refModelDirs(t) {
		m, err := Load(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		set := m.files.(*SafetensorsSource).Set
		for _, name := range set.Names() {
			ti, _ := set.Info(name)
			n += ti.NumElements()
		}
		m.Close()
		if got := m.Config.Params().Total; got != n {
			t.Errorf("%s: config implies %d parameters, files hold %d", dir, got, n)
		}
	}
}

// BenchmarkVisionTower times the GLM-4.5V vision tower (24 blocks × 1536,
// merger 10944) on one 1024×768 image (54×74 patches after smart_resize,
// 999 merged tokens), with bf16 weights. Slow: run it with -benchtime 1x.
func BenchmarkVisionTower(b *testing.B) {
	cfg, _ := Preset("glm4.5v", 1)
	w := RandomVisionWeights(&cfg.Vision, compute.BF16, 1)
	pool := compute.NewPool(0)
	defer pool.Close()
	v := NewVision(&cfg.Vision, w, pool)
	seg := []Segment{{H: 54, W: 74}}
	pix := make([]float32, 54*74*cfg.Vision.PatchDim())
	for i := range pix {
		pix[i] = float32(i%255)/127 - 1
	}
	for b.Loop() {
		if _, err := v.Forward(context.Background(), pix, seg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/image")
}

// permuteDownsample reorders a block-quantized convolution weight through
// f32 (block rows cannot be reordered in place).
func TestPermuteDownsampleQuantized(t *testing.T) {
	const out, C, m = 3, 16, 2
	w := &compute.Matrix{DType: compute.F32, Rows: out, Cols: C * m * m, F32: make([]float32, out*C*m*m)}
	for i := range w.F32 {
		w.F32[i] = float32(i%13) / 7
	}
	q, err := compute.Quantize(w, compute.Q8_0)
	if err != nil {
		t.Fatal(err)
	}
	wide, err := compute.Quantize(q, compute.F32)
	if err != nil {
		t.Fatal(err)
	}
	got, want := permuteDownsample(q, C, m), permuteDownsample(wide, C, m)
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.F32, want.F32) {
		t.Error("quantized downsample permuted differently from its f32 widening")
	}
}

// ExpectedTensors lists exactly the tensors of each reference checkpoint,
// with their shapes.
func TestExpectedTensors(t *testing.T) {
	for _, name := range []string{"moe_a", "moe_g", "dense_a"} {
		dir := filepath.Join(reftest.Root(), "models", name)
		cfg, err := LoadConfig(dir)
		if err != nil {
			t.Fatal(err)
		}
		set, err := safetensors.OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]int{}
		for _, n := range set.Names() {
			ti, _ := set.Info(n)
			want[n] = ti.Shape
		}
		set.Close()
		got := ExpectedTensors(cfg)
		if len(got) != len(want) {
			t.Errorf("%s: %d expected tensors, the checkpoint has %d", name, len(got), len(want))
		}
		for _, s := range got {
			if w, ok := want[s.Name]; !ok || !slices.Equal(w, s.Shape) {
				t.Errorf("%s: %s %v, checkpoint has %v (present %v)", name, s.Name, s.Shape, w, ok)
			}
		}
	}
}

// BenchmarkDecodeBatch times one batched decode step of a GLM-4.1V decoder
// layer with Q8_0 weights for N sequences (each with its own f16 KV cache
// holding 512 tokens): the weights are read once for all N rows, so the
// tokens per second should grow almost N-fold while decode is
// memory-bound.
func BenchmarkDecodeBatch(b *testing.B) {
	cfg, _ := Preset("glm4.1v", 1)
	cfg.Text.Vocab = 16
	w := RandomWeights(cfg, compute.Q8_0, 1, false)
	pool := compute.NewPool(0)
	defer pool.Close()
	m := NewText(&cfg.Text, &w.Text, pool)
	ctx := context.Background()
	const past = 512
	H := cfg.Text.Hidden
	for _, n := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("seqs%d", n), func(b *testing.B) {
			seqs := make([]Seq, n)
			for i := range seqs {
				c, _ := NewKVCacheOf(&cfg.Text, past+1, compute.F16)
				pos := seqPositions(0, past)
				if _, err := m.Forward(ctx, make([]float32, past*H), &pos, past, c, nil); err != nil {
					b.Fatal(err)
				}
				seqs[i] = Seq{Cache: c, T: 1}
			}
			pos := seqPositions(past, n)
			for a := range pos {
				for i := range pos[a] {
					pos[a][i] = past
				}
			}
			h := make([]float32, n*H)
			for b.Loop() {
				for _, s := range seqs {
					s.Cache.Len = past
				}
				if _, err := m.ForwardBatch(ctx, h, &pos, seqs, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

// Block formats whose blocks do not divide a matrix's rows fall back to
// Q8_0, for weights converted at load and for benchmark weights alike.
func TestBlockFormatFallback(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join(reftest.Root(), "models", "dense_a"))
	if err != nil {
		t.Fatal(err)
	}
	w := RandomWeights(cfg, compute.Q4_K, 1, true) // 128-column rows: not whole 256-column blocks
	if dt := w.Text.Layers[0].Q.W.DType; dt != compute.Q8_0 {
		t.Errorf("random Q4_K weights with 128-column rows are %v, want Q8_0", dt)
	}
	if got := formatFor(compute.Q4_K, 512); got != compute.Q4_K {
		t.Errorf("formatFor(Q4_K, 512) = %v", got)
	}
	if got := formatFor(compute.Q5_0, 48); got != compute.Q8_0 {
		t.Errorf("formatFor(Q5_0, 48) = %v", got)
	}
}
