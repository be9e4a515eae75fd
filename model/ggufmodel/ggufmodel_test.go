package ggufmodel

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmv/glmv/gguf"
	"github.com/glmv/glmv/internal/reftest"
)

func fixture(t *testing.T, model, name string) string {
	t.Helper()
	p := filepath.Join(reftest.Root(), "models", model, "gguf", name+".gguf")
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
		if types[ti.Name] != ti.Type {
			n := ti.Elements()
			data = make([]byte, n/uint64(types[ti.Name].BlockSize())*uint64(types[ti.Name].BlockBytes()))
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
