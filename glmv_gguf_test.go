package glmv

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glmv/glmv/demo"
)

// The demo checkpoint is the reference model moe_a; its llama.cpp GGUF
// pair (F16 text + F16 mmproj, no tokenizer.json beside them) must give
// the same prompt (tokenizer and chat template from the GGUF metadata,
// image processor with the default GLM settings and the mmproj's mean
// and std) and the same greedy answer as the safetensors checkpoint.
func TestLoadGGUFMatchesCheckpoint(t *testing.T) {
	text := filepath.Join("testdata", "reference", "models", "moe_a", "gguf", "moe_a-F16.gguf")
	g, err := Load(text, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ref, img := loadDemo(t)
	req := demoRequest(img)
	want, err := ref.Prepare(context.Background(), &req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.Prepare(context.Background(), &req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != want.Text || !slices.Equal(got.IDs, want.IDs) {
		t.Fatalf("GGUF prompt differs:\n got %q %v\nwant %q %v", got.Text, got.IDs, want.Text, want.IDs)
	}
	if len(got.Images) != 1 || got.Images[0].Grid != want.Images[0].Grid || !slices.Equal(got.Images[0].Values, want.Images[0].Values) {
		t.Fatal("GGUF image patches differ from the checkpoint's")
	}
	var usage *Usage
	for ev, err := range g.Generate(context.Background(), req) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == EventDone {
			usage = ev.Usage
		}
	}
	if usage == nil || !slices.Equal(usage.Tokens, demo.ExpectedTokens) {
		t.Errorf("GGUF F16 greedy tokens %v, reference %v", usage, demo.ExpectedTokens)
	}
	if _, err := Load(text, Options{MMProj: text}); err == nil {
		t.Error("a text GGUF as --mmproj: no error")
	}
	if _, err := Load(filepath.Dir(text), Options{MMProj: "x.gguf"}); err == nil {
		t.Error("--mmproj with a folder: no error")
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.gguf"), Options{}); err == nil || !strings.Contains(err.Error(), "GGUF model") {
		t.Errorf("missing GGUF file: %v", err)
	}
}
