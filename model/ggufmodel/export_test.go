package ggufmodel

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/gguf"
	"github.com/glmv/glmv/internal/reftest"
	"github.com/glmv/glmv/media"
	"github.com/glmv/glmv/model"
	"github.com/glmv/glmv/safetensors"
	"github.com/glmv/glmv/tokenizer"
)

// demoDir holds the toy tokenizer, template and preprocessor settings the
// llama.cpp fixtures were converted with.
const demoDir = "../../demo/testmodel"

// exportSource opens a reference checkpoint folder for Export.
func exportSource(t *testing.T, dir string) *ExportSource {
	t.Helper()
	cfg, err := model.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	tok, err := tokenizer.Load(filepath.Join(demoDir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := os.ReadFile(filepath.Join(demoDir, "chat_template.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := media.LoadConfig(filepath.Join(demoDir, "preprocessor_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	pool := compute.NewPool(3)
	t.Cleanup(pool.Close)
	return &ExportSource{Config: cfg, Weights: &model.SafetensorsSource{Set: set}, Tokenizer: tok, Template: string(tpl),
		ImageMean: pc.ImageMean, ImageStd: pc.ImageStd, Name: filepath.Base(dir), Pool: pool}
}

func export(t *testing.T, s *ExportSource, mix string) (text, vision []byte) {
	t.Helper()
	m, err := ParseMix(mix)
	if err != nil {
		t.Fatal(err)
	}
	var tb, vb bytes.Buffer
	if err := Export(context.Background(), s, m, &tb, &vb, nil); err != nil {
		t.Fatal(err)
	}
	return tb.Bytes(), vb.Bytes()
}

// TestExportMatchesLlamaCpp converts each reference checkpoint to F32,
// F16 and Q8_0 and compares the pair with the files llama.cpp's converter
// wrote (the fixtures): the same metadata (but general.name and
// general.size_label), the same tensors in the same order with the same
// types and dimensions, and the same bytes (Q8_0 included).
func TestExportMatchesLlamaCpp(t *testing.T) {
	for _, name := range []string{"dense_a", "moe_a", "moe_g"} {
		dir := filepath.Join(reftest.Root(), "models", name)
		for _, typ := range []string{"F32", "F16", "Q8_0"} {
			for _, vision := range []bool{false, true} {
				want := filepath.Join(dir, "gguf", name+"-"+typ+".gguf")
				if vision {
					want = filepath.Join(dir, "gguf", "mmproj-"+name+"-"+typ+".gguf")
				}
				if _, err := os.Stat(want); err != nil {
					continue
				}
				t.Run(filepath.Base(want), func(t *testing.T) {
					text, vis := export(t, exportSource(t, dir), typ)
					got := text
					if vision {
						got = vis
					}
					compareGGUF(t, got, want)
				})
			}
		}
	}
}

func compareGGUF(t *testing.T, got []byte, wantPath string) {
	g, err := gguf.ParseHeader(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := gguf.Open(wantPath)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	skip := map[string]bool{"general.name": true, "general.size_label": true}
	var gk, wk []string
	for _, kv := range w.KV {
		if skip[kv.Key] {
			continue
		}
		wk = append(wk, kv.Key)
		v, ok := g.Get(kv.Key)
		if !ok {
			t.Errorf("metadata %s missing", kv.Key)
		} else if !reflect.DeepEqual(v, kv.Value) {
			t.Errorf("metadata %s = %v, llama.cpp %v", kv.Key, v, kv.Value)
		}
	}
	for _, kv := range g.KV {
		if !skip[kv.Key] {
			gk = append(gk, kv.Key)
		}
	}
	if !reflect.DeepEqual(gk, wk) {
		t.Errorf("metadata keys\n got %v\nwant %v", gk, wk)
	}
	if len(g.Tensors) != len(w.Tensors) {
		t.Fatalf("%d tensors, llama.cpp %d", len(g.Tensors), len(w.Tensors))
	}
	var same, total int
	for i, wt := range w.Tensors {
		gt := g.Tensors[i]
		if gt.Name != wt.Name || gt.Type != wt.Type || !reflect.DeepEqual(gt.Dims, wt.Dims) {
			t.Errorf("tensor %d: %s %v %v, llama.cpp %s %v %v", i, gt.Name, gt.Type, gt.Dims, wt.Name, wt.Type, wt.Dims)
			continue
		}
		a := got[g.DataOffset+int64(gt.Offset):][:gt.Size]
		b := w.TensorData(&w.Tensors[i])
		n := 0
		for j := range a {
			if a[j] == b[j] {
				n++
			}
		}
		same += n
		total += len(a)
		if n != len(a) {
			t.Errorf("%s: %d of %d bytes differ", gt.Name, len(a)-n, len(a))
		}
	}
	t.Logf("%d of %d data bytes identical", same, total)
}
