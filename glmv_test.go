package glmv

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/glmv/glmv/demo"
)

func loadDemo(t *testing.T) (*Model, string) {
	t.Helper()
	dir, img, err := demo.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, img
}

func demoRequest(img string) Request {
	off := false
	return Request{
		Messages:  []Message{System(demo.SystemPrompt), User(ImageFile(img), Text(demo.Question))},
		Thinking:  &off,
		MaxTokens: len(demo.ExpectedTokens),
	}
}

// From the raw image and the messages, the whole pipeline reproduces the
// reference prompt ids and greedy tokens.
func TestDemoPipelineMatchesReference(t *testing.T) {
	m, img := loadDemo(t)
	req := demoRequest(img)
	pp, err := m.Prepare(context.Background(), &req)
	if err != nil {
		t.Fatal(err)
	}
	if len(pp.IDs) != demo.ExpectedPromptTokens {
		t.Fatalf("prompt has %d tokens, want %d:\n%s", len(pp.IDs), demo.ExpectedPromptTokens, pp.Text)
	}
	if len(pp.Images) != 1 || pp.Images[0].Grid != demo.ExpectedGrid {
		t.Fatalf("image grids %v", pp.Images)
	}
	var usage *Usage
	for ev, err := range m.Generate(context.Background(), req) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == EventDone {
			usage = ev.Usage
		}
	}
	if usage == nil {
		t.Fatal("no done event")
	}
	if usage.CompletionTokens != len(demo.ExpectedTokens) || usage.FinishReason != "length" {
		t.Errorf("usage %+v", usage)
	}
	if !slices.Equal(usage.Tokens, demo.ExpectedTokens) {
		t.Errorf("generated %v, reference %v", usage.Tokens, demo.ExpectedTokens)
	}
}

func TestPromptTooLong(t *testing.T) {
	m, _ := loadDemo(t)
	req := Request{Messages: []Message{User(Text(strings.Repeat("a", 5000)))}}
	var err error
	for _, e := range m.Generate(context.Background(), req) {
		if e != nil {
			err = e
		}
	}
	if !errors.Is(err, ErrContextFull) || !strings.Contains(err.Error(), "the context holds 4096; shorten it by at least") {
		t.Errorf("err = %v", err)
	}
}
