package glmv

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"slices"
	"strings"
	"testing"

	"github.com/glmv/glmv/demo"
)

// generateTokens runs req and returns the generated ids and the logprobs
// the events carried.
func generateTokens(t *testing.T, m *Model, req Request) ([]int, []TokenLogprob, *Usage) {
	t.Helper()
	var lps []TokenLogprob
	var usage *Usage
	for ev, err := range m.Generate(context.Background(), req) {
		if err != nil {
			t.Fatal(err)
		}
		lps = append(lps, ev.Logprobs...)
		if ev.Kind == EventDone {
			usage = ev.Usage
		}
	}
	return usage.Tokens, lps, usage
}

// Logprobs come with the events, one per generated token, and the greedy
// choice is the most likely alternative.
func TestGenerateLogprobs(t *testing.T) {
	m, img := loadDemo(t)
	req := demoRequest(img)
	req.Logprobs, req.TopLogprobs = true, 3
	toks, lps, _ := generateTokens(t, m, req)
	if !slices.Equal(toks, demo.ExpectedTokens) || len(lps) != len(toks) {
		t.Fatalf("tokens %v, %d logprobs", toks, len(lps))
	}
	for i, lp := range lps {
		if lp.ID != toks[i] || len(lp.Top) != 3 || lp.Top[0].ID != lp.ID || lp.Logprob != lp.Top[0].Logprob || lp.Logprob > 0 || lp.Top[1].Logprob > lp.Logprob {
			t.Errorf("token %d: %+v", i, lp)
		}
	}
	if lps[1].Token != "<|unused_298|>" {
		t.Errorf("token text %q", lps[1].Token)
	}
	req.TopLogprobs = 21
	if _, _, err := collect(t, m, context.Background(), req); err == nil || !strings.Contains(err.Error(), "top_logprobs") {
		t.Errorf("top_logprobs 21: %v", err)
	}
}

// Logit bias and the presence and frequency penalties change greedy output.
func TestGeneratePenaltiesAndBias(t *testing.T) {
	m, img := loadDemo(t)
	req := demoRequest(img)
	req.LogitBias = map[int]float64{63: -100}
	toks, _, _ := generateTokens(t, m, req)
	if toks[0] == 63 || slices.Contains(toks, 63) {
		t.Errorf("banned token 63 generated: %v", toks)
	}
	req.LogitBias = map[int]float64{m.Config.Text.Vocab: 1}
	if _, _, err := collect(t, m, context.Background(), req); err == nil || !strings.Contains(err.Error(), "logit_bias") {
		t.Errorf("out-of-vocabulary bias: %v", err)
	}
	for _, name := range []string{"presence", "frequency"} {
		req := demoRequest(img)
		p := 2.0
		if name == "presence" {
			req.PresencePenalty = &p
		} else {
			req.FrequencyPenalty = &p
		}
		toks, _, _ := generateTokens(t, m, req)
		if slices.Equal(toks, demo.ExpectedTokens) {
			t.Errorf("%s penalty 2 left the output unchanged", name)
		}
	}
}

// Stop strings match the text, never inside a special token's spelling.
func TestStopIgnoresSpecialTokens(t *testing.T) {
	m, img := loadDemo(t)
	req := demoRequest(img)
	req.Stop = []string{"unused_298"} // spelled only by special token 298
	text, usage, err := collect(t, m, context.Background(), req)
	if err != nil || usage.FinishReason != "length" || !strings.Contains(text, "<|unused_298|>") {
		t.Errorf("text %q, finish %q, err %v", text, usage.FinishReason, err)
	}
}

// A raw prompt skips the chat template.
func TestGenerateRawPrompt(t *testing.T) {
	m, _ := loadDemo(t)
	_, _, usage := generateTokens(t, m, Request{Prompt: "hello", MaxTokens: 3})
	if usage.PromptTokens != len(m.Tokenizer.Encode("hello")) || usage.CompletionTokens != 3 {
		t.Errorf("usage %+v", usage)
	}
}

// Detail "low" caps the image's tokens; an unknown detail is refused.
func TestImageDetail(t *testing.T) {
	m, _ := loadDemo(t)
	big := image.NewRGBA(image.Rect(0, 0, 1200, 900))
	for y := range 900 {
		for x := range 1200 {
			big.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, big)
	count := func(detail string) (int, error) {
		req := Request{Messages: []Message{{Role: "user", Content: []Part{{Image: &Image{Data: buf.Bytes(), Detail: detail}}, Text("hi")}}}}
		pp, err := m.Prepare(context.Background(), &req)
		if err != nil {
			return 0, err
		}
		g := pp.Images[0].Grid
		return g[1] * g[2] / 4, nil
	}
	high, err := count("high")
	if err != nil {
		t.Fatal(err)
	}
	low, err := count("low")
	if err != nil {
		t.Fatal(err)
	}
	if low > LowDetailPixels/(28*28) || low >= high || low == 0 {
		t.Errorf("tokens: low %d, high %d", low, high)
	}
	if _, err := count("medium"); err == nil || !strings.Contains(err.Error(), "detail") {
		t.Errorf("detail medium: %v", err)
	}
}

// Preprocessing stops when the request's context ends.
func TestPrepareCancelled(t *testing.T) {
	m, img := loadDemo(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := demoRequest(img)
	if _, err := m.Prepare(ctx, &req); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
