package glmv

import (
	"context"
	"errors"
	"os"
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

func TestStopMatcher(t *testing.T) {
	s := newStopMatcher([]string{"END", "xy"})
	var out strings.Builder
	for _, chunk := range []string{"ab", "cE", "N", "x", "D?"} {
		o, hit := s.add(chunk)
		out.WriteString(o)
		if hit {
			break
		}
	}
	// "E" and "EN" are held back as a possible start of "END", "x" as a
	// possible "xy"; neither completes, so all the text comes out in order.
	if got := out.String() + s.flush(); got != "abcENxD?" {
		t.Errorf("no stop: got %q", got)
	}
	s = newStopMatcher([]string{"END"})
	out.Reset()
	for _, chunk := range []string{"one E", "ND two"} {
		o, hit := s.add(chunk)
		out.WriteString(o)
		if hit {
			break
		}
	}
	if out.String() != "one " || !s.hit {
		t.Errorf("stop: got %q, hit %v", out.String(), s.hit)
	}
}

func collect(t *testing.T, m *Model, ctx context.Context, req Request) (string, *Usage, error) {
	t.Helper()
	var sb strings.Builder
	var usage *Usage
	for ev, err := range m.Generate(ctx, req) {
		if err != nil {
			return sb.String(), usage, err
		}
		switch ev.Kind {
		case EventAnswer, EventThinking, EventRaw:
			sb.WriteString(ev.Text)
		case EventDone:
			usage = ev.Usage
		}
	}
	return sb.String(), usage, nil
}

// A stop string ends generation and is not returned.
func TestGenerateStopString(t *testing.T) {
	m, img := loadDemo(t)
	req := demoRequest(img)
	req.Stop = []string{"M_"} // the reference output starts "_<|unused_298|>M_"
	text, usage, err := collect(t, m, context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if text != "_<|unused_298|>" || usage.FinishReason != "stop" {
		t.Errorf("text %q, finish %q", text, usage.FinishReason)
	}
}

// A cancelled context stops generation.
func TestGenerateCancelled(t *testing.T) {
	m, img := loadDemo(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, usage, err := collect(t, m, ctx, demoRequest(img))
	if err == nil && (usage == nil || usage.FinishReason != "cancelled") {
		t.Errorf("cancelled request finished normally: %+v", usage)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

// Sampling options reach the sampler: a seeded draw is repeatable and an
// invalid option is an error.
func TestGenerateSampling(t *testing.T) {
	m, img := loadDemo(t)
	temp, topP := 1.5, 0.9
	req := demoRequest(img)
	req.Temperature, req.TopP, req.Seed = &temp, &topP, 7
	a, _, err := collect(t, m, context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := collect(t, m, context.Background(), req)
	if a != b {
		t.Errorf("same seed, different text: %q vs %q", a, b)
	}
	bad := -1.0
	req.Temperature = &bad
	if _, _, err := collect(t, m, context.Background(), req); err == nil || !strings.Contains(err.Error(), "temperature") {
		t.Errorf("negative temperature: err = %v", err)
	}
}

// Image bytes work like an image file, and an undecodable image is a
// clear error.
func TestGenerateImageBytes(t *testing.T) {
	m, img := loadDemo(t)
	data, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	req := demoRequest(img)
	req.Messages[1] = User(ImageBytes(data), Text(demo.Question))
	_, usage, err := collect(t, m, context.Background(), req)
	if err != nil || !slices.Equal(usage.Tokens, demo.ExpectedTokens) {
		t.Errorf("image bytes: %v, %+v", err, usage)
	}
	req.Messages[1] = User(ImageBytes([]byte("GIF89a broken")), Text(demo.Question))
	if _, _, err := collect(t, m, context.Background(), req); err == nil || !strings.Contains(err.Error(), "message 2 part 1") {
		t.Errorf("broken image: err = %v", err)
	}
}
