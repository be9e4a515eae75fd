package ggufmodel

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/gguf"
	"github.com/glmv/glmv/internal/reftest"
	"github.com/glmv/glmv/model"
	"github.com/glmv/glmv/safetensors"
)

func fixturePath(model, name string) string {
	return filepath.Join(reftest.Root(), "models", model, "gguf", name+".gguf")
}

func fixture(t *testing.T, model, name string) string {
	t.Helper()
	p := fixturePath(model, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("fixture %s not present", p)
	}
	return p
}

// rewrite copies src to dir/name with edit applied to its metadata and
// retype choosing a new type for a tensor (its data then is zeros).
func rewrite(t *testing.T, src, dst string, edit func(kv []gguf.KV) []gguf.KV, retype func(name string) (gguf.Type, bool)) {
	t.Helper()
	in, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := gguf.NewWriter(f)
	kvs := in.KV
	if edit != nil {
		kvs = edit(append([]gguf.KV(nil), kvs...))
	}
	for _, kv := range kvs {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	types := map[string]gguf.Type{}
	for _, ti := range in.Tensors {
		typ := ti.Type
		if retype != nil {
			if nt, ok := retype(ti.Name); ok {
				typ = nt
			}
		}
		types[ti.Name] = typ
		if err := w.AddTensor(ti.Name, typ, ti.Dims...); err != nil {
			t.Fatal(err)
		}
	}
	for i := range in.Tensors {
		ti := &in.Tensors[i]
		data := in.TensorData(ti)
		if nt := types[ti.Name]; nt != ti.Type {
			n := ti.Elements()
			data = make([]byte, n/uint64(nt.BlockSize())*uint64(nt.BlockBytes()))
			// An F32 tensor retyped to a type compute quantizes to gets
			// real data; others stay zeros.
			if info, ok := compute.GGMLType(uint32(nt)); ok && ti.Type == gguf.TypeF32 && info.DType.IsBlock() {
				x := safetensors.AsFloat32(in.TensorData(ti))
				if err := compute.QuantizeBlocks(info.DType, data, x); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.WriteTensor(ti.Name, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func setKV(key string, v any) func([]gguf.KV) []gguf.KV {
	return func(kvs []gguf.KV) []gguf.KV {
		for i := range kvs {
			if kvs[i].Key == key {
				kvs[i].Value = gguf.MustValue(v)
			}
		}
		return kvs
	}
}

func TestLoadErrors(t *testing.T) {
	text := fixture(t, "dense_a", "dense_a-F32")
	mmproj := fixture(t, "dense_a", "mmproj-dense_a-F32")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.gguf")
	cases := []struct {
		name    string
		edit    func([]gguf.KV) []gguf.KV
		retype  func(string) (gguf.Type, bool)
		want    []string
		wantErr error
	}{
		{"unknown architecture", setKV("general.architecture", "llama"), nil, []string{`"llama"`}, ErrUnknownArchitecture},
		{"unsupported type", nil, func(n string) (gguf.Type, bool) { return gguf.TypeIQ4_NL, n == "blk.1.attn_q.weight" },
			[]string{"blk.1.attn_q.weight", "IQ4_NL", "F32, F16, BF16, Q8_0, Q4_0"}, nil},
		{"metadata disagrees with tensors", setKV("glm4.feed_forward_length", uint32(96)), nil,
			[]string{"does not match", "blk.0.ffn_up.weight", "[192 128]"}, nil},
		{"more blocks than tensors", setKV("glm4.block_count", uint32(4)), nil,
			[]string{"missing tensors", "layers.3."}, nil},
		{"non-glm rope sections", setKV("glm4.rope.dimension_sections", []int32{2, 3, 2, 1}), nil,
			[]string{"fourth section"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rewrite(t, text, bad, c.edit, c.retype)
			m, err := Load(bad, mmproj, nil)
			if err == nil {
				m.Close()
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Errorf("error %v is not %v", err, c.wantErr)
			}
		})
	}
	t.Run("mmproj as text", func(t *testing.T) {
		if _, err := Load(mmproj, mmproj, nil); err == nil || !strings.Contains(err.Error(), "vision projector") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("wrong projector", func(t *testing.T) {
		rewrite(t, mmproj, bad, setKV("clip.projector_type", "qwen2vl"), nil)
		if _, err := Load(text, bad, nil); !errors.Is(err, ErrUnknownArchitecture) {
			t.Errorf("error %v", err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		b, err := os.ReadFile(text)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bad, b[:len(b)-100], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(bad, mmproj, nil); !errors.Is(err, gguf.ErrFormat) || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("error %v", err)
		}
	})
}

func TestFindMMProj(t *testing.T) {
	dir := t.TempDir()
	touch := func(names ...string) {
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	text := filepath.Join(dir, "m-Q8_0.gguf")
	if _, err := FindMMProj(text); err == nil {
		t.Error("no mmproj: no error")
	}
	touch("mmproj-m-F32.gguf")
	if p, _ := FindMMProj(text); filepath.Base(p) != "mmproj-m-F32.gguf" {
		t.Errorf("one candidate: %s", p)
	}
	touch("mmproj-m-F16.gguf")
	if p, _ := FindMMProj(text); filepath.Base(p) != "mmproj-m-F16.gguf" {
		t.Errorf("F16 preferred: %s", p)
	}
	touch("mmproj-m-Q8_0.gguf")
	if p, _ := FindMMProj(text); filepath.Base(p) != "mmproj-m-Q8_0.gguf" {
		t.Errorf("same type preferred: %s", p)
	}
	touch("mmproj-x.gguf", "mmproj-y.gguf")
	if _, err := FindMMProj(filepath.Join(dir, "z.gguf")); err == nil {
		t.Error("ambiguous: no error")
	}
}

// Converting a GGUF model's weights (glmv --weights) releases each source
// matrix's pages; the converted model still matches the unconverted one.
func TestConvertReleasesGGUFPages(t *testing.T) {
	text := fixture(t, "dense_a", "dense_a-F32")
	m, err := Load(text, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, ok := any(&Source{}).(model.Releaser); !ok {
		t.Fatal("Source does not implement model.Releaser")
	}
	ids := []int{5, 9, 77, 120}
	before := logits(t, m.Config, &m.Weights.Text, ids)
	if err := m.ConvertWeights(compute.F16, nil); err != nil {
		t.Fatal(err)
	}
	after := logits(t, m.Config, &m.Weights.Text, ids)
	if rel := relRMS(after, before); rel > 0.005 {
		t.Errorf("f16-converted logits differ by %.3f%% RMS", 100*rel)
	}
}

// An mmproj whose matrices are Q8_0 gives the vision embeddings of the
// F32 one within Q8_0 rounding. (Convolution weights stay F16/F32 in
// ggml: their rows are the kernel width.)
func TestQuantizedMMProj(t *testing.T) {
	text := fixture(t, "dense_a", "dense_a-F32")
	mmproj := fixture(t, "dense_a", "mmproj-dense_a-F32")
	q8 := filepath.Join(t.TempDir(), "mmproj-q8.gguf")
	rewrite(t, mmproj, q8, nil, func(n string) (gguf.Type, bool) {
		return gguf.TypeQ8_0, n == "mm.model.fc.weight" || n == "mm.up.weight" || n == "mm.gate.weight" || strings.HasSuffix(n, "attn_qkv.weight")
	})
	ref, err := Load(text, mmproj, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	m, err := Load(text, q8, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if dt := m.Weights.Vision.MergerProj.DType; dt != compute.GGMLQ8_0 {
		t.Fatalf("merger projection bound as %v", dt)
	}
	grid := [][3]int{{1, 4, 6}}
	pix := make([]float32, 24*m.Config.Vision.PatchDim())
	for i := range pix {
		pix[i] = float32(i%97)/48 - 1
	}
	a, err := ref.Vision.Forward(t.Context(), pix, model.Segments(grid))
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Vision.Forward(t.Context(), pix, model.Segments(grid))
	if err != nil {
		t.Fatal(err)
	}
	if rel := relRMS(b, a); !(rel < 0.04) { // observed 1.8%
		t.Errorf("Q8_0 mmproj embeddings differ by %.2f%% RMS", 100*rel)
	} else {
		t.Logf("Q8_0 mmproj embeddings within %.3f%% RMS of F32", 100*rel)
	}
}

// GLM-4.5V GGUFs from llama.cpp carry the multi-token-prediction layer as
// one more block (block_count = layers + nextn_predict_layers); glmv
// skips it.
func TestNextNLayersIgnored(t *testing.T) {
	src := fixture(t, "moe_g", "moe_g-F32")
	mmproj := fixture(t, "moe_g", "mmproj-moe_g-F32")
	in, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	path := filepath.Join(t.TempDir(), "nextn.gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := gguf.NewWriter(f)
	for _, kv := range in.KV {
		v := kv.Value
		if kv.Key == "glm4moe.block_count" {
			v = gguf.MustValue(uint32(4))
		}
		if err := w.Set(kv.Key, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.SetAny("glm4moe.nextn_predict_layers", uint32(1)); err != nil {
		t.Fatal(err)
	}
	extra := map[string][]uint64{"blk.3.attn_norm.weight": {64}, "blk.3.nextn.eh_proj.weight": {128, 64}, "blk.3.nextn.enorm.weight": {64}}
	for _, ti := range in.Tensors {
		if err := w.AddTensor(ti.Name, ti.Type, ti.Dims...); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"blk.3.attn_norm.weight", "blk.3.nextn.eh_proj.weight", "blk.3.nextn.enorm.weight"} {
		if err := w.AddTensor(n, gguf.TypeF32, extra[n]...); err != nil {
			t.Fatal(err)
		}
	}
	for i := range in.Tensors {
		if err := w.WriteTensor(in.Tensors[i].Name, in.TensorData(&in.Tensors[i])); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"blk.3.attn_norm.weight", "blk.3.nextn.eh_proj.weight", "blk.3.nextn.enorm.weight"} {
		size := uint64(4)
		for _, d := range extra[n] {
			size *= d
		}
		if err := w.WriteTensor(n, make([]byte, size)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	m, err := Load(path, mmproj, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Config.Text.Layers != 3 {
		t.Errorf("%d text layers, want 3", m.Config.Text.Layers)
	}
}
