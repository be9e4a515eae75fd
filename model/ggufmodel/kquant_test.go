package ggufmodel

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/gguf"
	"github.com/glmv/glmv/internal/reftest"
	"github.com/glmv/glmv/model"
	"github.com/glmv/glmv/tokenizer"
)

// kquantTolerance bounds the RMS logit difference, relative to the RMS of
// the logits, between a K-quant GGUF run with the packed-block kernels and
// the same weights dequantized to f32: the kernels' own error, from
// rounding the activations to 8 bits with one scale per 32 columns. This
// synthetic model has outlier rows (×8, ×30, spikes), so its hidden states
// carry outlier channels that dominate a block's scale; observed 4.1%
// (Q4_K_M), 5.5% (Q5_K_M), 3.5% (Q6_K). A wrong layout or scale gives
// errors of order 100%.
const kquantTolerance = 0.08

// TestKQuantFiles loads the text models llama-quantize wrote in the
// Q4_K_M, Q5_K_M and Q6_K mixes (glm4, hidden 512; found beside the
// reference root as ../gguf/kquant_model, i.e. only with
// GLMV_REFERENCE_DIR pointing at the shared fixtures): every tensor binds
// zero-copy in its stored type, and the decoder's logits on a few tokens
// agree with the dequantized weights.
func TestKQuantFiles(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(reftest.Root(), "..", "gguf", "kquant_model", "*.gguf"))
	if len(paths) == 0 {
		t.Skip("no kquant_model GGUFs beside the reference root (set GLMV_REFERENCE_DIR to the shared fixtures)")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cfg, err := Config(f.Header, nil)
			if err != nil {
				t.Fatal(err)
			}
			src, err := NewSource(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			w, err := model.BindText(cfg, src)
			if err != nil {
				t.Fatal(err)
			}
			types := map[string]int{}
			for _, ti := range f.Tensors {
				types[ti.Type.String()]++
			}
			t.Logf("tensor types %v", types)
			wide, err := model.BindText(cfg, src)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []**compute.Matrix{&wide.Embed, &wide.LMHead} {
				*m = widen(t, *m)
			}
			for i := range wide.Layers {
				L := &wide.Layers[i]
				for _, m := range []**compute.Matrix{&L.Q.W, &L.K.W, &L.V.W, &L.O, &L.MLP.GateUp, &L.MLP.Down} {
					*m = widen(t, *m)
				}
			}
			ids := make([]int, 9)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range ids {
				ids[i] = r.IntN(cfg.Text.Vocab)
			}
			a, b := logits(t, cfg, w, ids), logits(t, cfg, wide, ids)
			d, _ := reftest.MaxAbsDiff(a, b)
			rel := relRMS(a, b)
			t.Logf("packed kernels vs dequantized f32: RMS error %.2f%% of the logits' RMS, max |Δ logits| %.3g", 100*rel, d)
			if !(rel <= kquantTolerance) {
				t.Errorf("RMS error %.2f%% exceeds %.0f%%", 100*rel, 100*kquantTolerance)
			}

			// glmv's mix of the same name picks llama-quantize's type for
			// every tensor.
			ft, _ := f.Get("general.file_type")
			var mix Mix
			for _, m := range Mixes {
				if v, _ := ft.Int(); int64(m.FileType) == v {
					mix = m
				}
			}
			if mix.Name == "" {
				t.Fatalf("no mix for general.file_type %v", ft)
			}
			tok, err := tokenizer.FromGGUF(f.Header)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			es := &ExportSource{Config: cfg, Weights: src, Tokenizer: tok, TextOnly: true}
			if err := Export(context.Background(), es, mix, &buf, nil, nil); err != nil {
				t.Fatal(err)
			}
			h, err := gguf.ParseHeader(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range f.Tensors {
				got, ok := h.Tensor(want.Name)
				if !ok || got.Type != want.Type || !slices.Equal(got.Dims, want.Dims) {
					t.Errorf("%s mix: %s written as %+v, llama-quantize %v %v", mix.Name, want.Name, got, want.Type, want.Dims)
				}
			}
			if len(h.Tensors) != len(f.Tensors) {
				t.Errorf("%d tensors written, llama-quantize %d", len(h.Tensors), len(f.Tensors))
			}
		})
	}
}

func widen(t *testing.T, m *compute.Matrix) *compute.Matrix {
	t.Helper()
	out, err := compute.Quantize(m, compute.F32)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func logits(t *testing.T, cfg *model.Config, w *model.TextWeights, ids []int) []float32 {
	t.Helper()
	text := model.NewText(&cfg.Text, w, nil)
	h, err := text.Embed(ids)
	if err != nil {
		t.Fatal(err)
	}
	S := len(ids)
	var pos [3][]int
	for a := range pos {
		pos[a] = make([]int, S)
		for i := range S {
			pos[a][i] = i
		}
	}
	out, err := text.Forward(context.Background(), h, &pos, S, model.NewKVCache(&cfg.Text, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	return text.Logits(out, S)
}

// relRMS is the RMS of a-b relative to the RMS of b.
func relRMS(a, b []float32) float64 {
	var se, sb float64
	for i := range a {
		e := float64(a[i]) - float64(b[i])
		se += e * e
		sb += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(se / sb)
}
