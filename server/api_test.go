package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/glmv/glmv"
	"github.com/glmv/glmv/demo"
)

// loadDemo loads the bundled tiny model and returns it with the demo image
// as a data: URL.
func loadDemo(t *testing.T) (*glmv.Model, string) {
	t.Helper()
	dir, img, err := demo.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := glmv.Load(dir, glmv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	return m, "data:image/png;base64," + base64.StdEncoding.EncodeToString(b)
}

// serveWith starts s on loopback.
func serveWith(t *testing.T, s *Server) *httptest.Server {
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func do(t *testing.T, ts *httptest.Server, method, path, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func decodeInto[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("bad JSON %q: %v", b, err)
	}
	return v
}

// wantError checks an OpenAI-shaped error with status, param and code.
func wantError(t *testing.T, what string, resp *http.Response, b []byte, status int, param, code string) {
	t.Helper()
	e := decodeInto[apiError](t, b)
	gotParam, gotCode := "", ""
	if e.Error.Param != nil {
		gotParam = *e.Error.Param
	}
	if e.Error.Code != nil {
		gotCode = *e.Error.Code
	}
	if resp.StatusCode != status || e.Error.Message == "" || e.Error.Type == "" || gotParam != param || (code != "" && gotCode != code) {
		t.Errorf("%s: status %d, error %+v (param %q, code %q); want %d, param %q, code %q", what, resp.StatusCode, e.Error, gotParam, gotCode, status, param, code)
	}
}

func chatText(t *testing.T, b []byte) string {
	t.Helper()
	c := decodeInto[completion](t, b)
	if len(c.Choices) != 1 || c.Choices[0].Message == nil || c.Choices[0].Message.Content == nil {
		t.Fatalf("response %s", b)
	}
	return *c.Choices[0].Message.Content
}

const hot = `"temperature":1.5,`

// Without a seed every request draws a fresh one, reported in X-Glmv-Seed;
// sending it back replays the answer.
func TestSeedDrawnAndReplayable(t *testing.T) {
	m, img := loadDemo(t)
	ts := serveWith(t, New(m, "tiny", nil))
	texts := map[string]bool{}
	var seed, first string
	for range 4 {
		resp, b := do(t, ts, "POST", "/v1/chat/completions", demoBody(img, hot))
		if resp.StatusCode != 200 || resp.Header.Get(SeedHeader) == "" {
			t.Fatalf("status %d, seed header %q: %s", resp.StatusCode, resp.Header.Get(SeedHeader), b)
		}
		if seed == "" {
			seed, first = resp.Header.Get(SeedHeader), chatText(t, b)
		}
		texts[chatText(t, b)] = true
	}
	if len(texts) < 2 {
		t.Errorf("4 unseeded requests at temperature 1.5 gave one text: %v", texts)
	}
	resp, b := do(t, ts, "POST", "/v1/chat/completions", demoBody(img, hot+`"seed":`+seed+`,`))
	if resp.Header.Get(SeedHeader) != seed || chatText(t, b) != first {
		t.Errorf("replay with seed %s: header %q, text %q, want %q", seed, resp.Header.Get(SeedHeader), chatText(t, b), first)
	}
}

// Each sampling field changes the greedy output, or is refused naming it.
func TestSamplingFieldsChangeOutput(t *testing.T) {
	m, img := loadDemo(t)
	ts := serveWith(t, New(m, "tiny", nil))
	_, b := do(t, ts, "POST", "/v1/chat/completions", demoBody(img, ""))
	base := chatText(t, b)
	for _, extra := range []string{`"presence_penalty":2,`, `"frequency_penalty":2,`, `"logit_bias":{"63":-100},`} {
		resp, b := do(t, ts, "POST", "/v1/chat/completions", demoBody(img, extra))
		if resp.StatusCode != 200 || chatText(t, b) == base {
			t.Errorf("%s: status %d, text unchanged %q", extra, resp.StatusCode, b)
		}
	}
	bad := []struct{ extra, param string }{
		{`"presence_penalty":3,`, "presence_penalty"},
		{`"frequency_penalty":-2.5,`, "frequency_penalty"},
		{`"logit_bias":{"x":1},`, "logit_bias"},
		{`"logit_bias":{"1":150},`, "logit_bias"},
		{`"top_logprobs":3,`, "top_logprobs"},
		{`"logprobs":true,"top_logprobs":21,`, "top_logprobs"},
		{`"max_tokens":0,`, "max_tokens"},
		{`"max_completion_tokens":0,`, "max_completion_tokens"},
		{`"max_tokens":100000,`, "max_tokens"},
		{`"n":2,`, "n"},
		{`"functions":[{"name":"f"}],`, "functions"},
		{`"stop":["a","b","c","d","e"],`, "stop"},
	}
	for _, c := range bad {
		resp, b := do(t, ts, "POST", "/v1/chat/completions", demoBody(img, c.extra))
		wantError(t, c.extra, resp, b, 400, c.param, "")
	}
	resp, b := do(t, ts, "POST", "/v1/chat/completions", demoBody(img, `"logit_bias":{"300":1},`))
	if resp.StatusCode != 400 || !strings.Contains(string(b), "outside the vocabulary") {
		t.Errorf("bias outside the vocabulary: %d %s", resp.StatusCode, b)
	}
	resp, b = do(t, ts, "POST", "/v1/chat/completions", demoBody(img, "")+` {}`)
	wantError(t, "trailing JSON", resp, b, 400, "", "")
	resp, b = do(t, ts, "POST", "/v1/chat/completions", strings.Replace(demoBody(img, ""), `"image_url":{"url"`, `"image_url":{"detail":"medium","url"`, 1))
	wantError(t, "detail medium", resp, b, 400, "messages[1]", "")
	resp, _ = do(t, ts, "POST", "/v1/chat/completions", strings.Replace(demoBody(img, ""), `"image_url":{"url"`, `"image_url":{"detail":"low","url"`, 1))
	if resp.StatusCode != 200 {
		t.Errorf("detail low: %d", resp.StatusCode)
	}
}

// Logprobs come back whole and streamed in OpenAI's shape, one entry per
// generated token.
func TestLogprobs(t *testing.T) {
	m, img := loadDemo(t)
	ts := serveWith(t, New(m, "tiny", nil))
	_, b := do(t, ts, "POST", "/v1/chat/completions", demoBody(img, `"logprobs":true,"top_logprobs":2,`))
	c := decodeInto[completion](t, b)
	lp := c.Choices[0].Logprobs
	if lp == nil || len(lp.Content) != 12 || len(lp.Content[0].TopLogprobs) != 2 || lp.Content[1].Token != "<|unused_298|>" ||
		lp.Content[0].Logprob > 0 || lp.Content[0].TopLogprobs[0].Logprob != lp.Content[0].Logprob || len(lp.Content[0].Bytes) == 0 {
		t.Fatalf("logprobs %s", b)
	}
	_, b = do(t, ts, "POST", "/v1/chat/completions", demoBody(img, `"stream":true,"logprobs":true,`))
	n := 0
	for _, c := range sseChunks(t, b) {
		for _, ch := range c.Choices {
			if ch.Logprobs != nil {
				n += len(ch.Logprobs.Content)
			}
		}
	}
	if n != 12 {
		t.Errorf("streamed %d logprob entries, want 12", n)
	}
	_, b = do(t, ts, "POST", "/v1/chat/completions", demoBody(img, ""))
	if strings.Contains(string(b), "logprobs") {
		t.Errorf("logprobs without asking: %s", b)
	}
}

func sseChunks(t *testing.T, b []byte) []completion {
	t.Helper()
	var out []completion
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		out = append(out, decodeInto[completion](t, []byte(data)))
	}
	return out
}

// The legacy completions endpoint takes a raw prompt (no template).
func TestCompletions(t *testing.T) {
	m, _ := loadDemo(t)
	ts := serveWith(t, New(m, "tiny", nil))
	resp, b := do(t, ts, "POST", "/v1/completions", `{"model":"tiny","prompt":"hello world","max_tokens":5,"logprobs":2,"seed":1,"logit_bias":{"256":-100,"263":-100,"265":-100}}`)
	var c textCompletion
	if err := json.Unmarshal(b, &c); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if c.Object != "text_completion" || c.Usage == nil || c.Usage.PromptTokens != len(m.Tokenizer.Encode("hello world")) ||
		c.Usage.CompletionTokens != 5 || c.Choices[0].Logprobs == nil || len(c.Choices[0].Logprobs.Tokens) != 5 {
		t.Errorf("completion %s", b)
	}
	whole := c.Choices[0].Text
	_, b = do(t, ts, "POST", "/v1/completions", `{"prompt":"hello world","max_tokens":5,"stream":true,"seed":1,"stream_options":{"include_usage":true},"logit_bias":{"256":-100,"263":-100,"265":-100}}`)
	var text strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ch textCompletion
		json.Unmarshal([]byte(data), &ch)
		for _, x := range ch.Choices {
			text.WriteString(x.Text)
		}
	}
	if text.String() != whole || !strings.HasSuffix(string(b), "data: [DONE]\n\n") {
		t.Errorf("streamed %q, whole %q", text.String(), whole)
	}
	for _, c := range []struct{ body, param string }{
		{`{"prompt":""}`, "prompt"},
		{`{"prompt":[1,2,3]}`, "prompt"},
		{`{"prompt":"x","echo":true}`, "echo"},
		{`{"prompt":"x","best_of":2}`, "best_of"},
		{`{"prompt":"x","logprobs":6}`, "logprobs"},
		{`{"prompt":"x","max_tokens":0}`, "max_tokens"},
		{`{"prompt":"x","model":"gpt-4"}`, "model"},
	} {
		resp, b := do(t, ts, "POST", "/v1/completions", c.body)
		want := 400
		if c.param == "model" {
			want = 404
		}
		wantError(t, c.body, resp, b, want, c.param, "")
	}
}

func TestTokenizeDetokenize(t *testing.T) {
	m, img := loadDemo(t)
	ts := serveWith(t, New(m, "tiny", nil))
	_, b := do(t, ts, "POST", "/tokenize", `{"model":"tiny","prompt":"hello world","return_token_strs":true}`)
	tr := decodeInto[tokenizeResponse](t, b)
	if tr.Count != len(tr.Tokens) || tr.Count == 0 || tr.MaxModelLen != 4096 || len(tr.TokenStrs) != tr.Count {
		t.Fatalf("tokenize %s", b)
	}
	ids, _ := json.Marshal(tr.Tokens)
	_, b = do(t, ts, "POST", "/detokenize", `{"tokens":`+string(ids)+`}`)
	if decodeInto[map[string]string](t, b)["prompt"] != "hello world" {
		t.Errorf("detokenize %s", b)
	}
	_, b = do(t, ts, "POST", "/tokenize", demoBody(img, ""))
	if tr := decodeInto[tokenizeResponse](t, b); tr.Count != demo.ExpectedPromptTokens {
		t.Errorf("chat tokenize: %s", b)
	}
	resp, b := do(t, ts, "POST", "/detokenize", `{"tokens":[5000]}`)
	wantError(t, "detokenize 5000", resp, b, 400, "tokens", "")
	resp, b = do(t, ts, "POST", "/tokenize", `{"prompt":"x","add_special_tokens":true}`)
	wantError(t, "add_special_tokens", resp, b, 400, "add_special_tokens", "unsupported_parameter")
}

func TestRoutesAndModels(t *testing.T) {
	m, _ := loadDemo(t)
	ts := serveWith(t, New(m, "tiny", nil))
	resp, b := do(t, ts, "GET", "/v1/models/tiny", "")
	if resp.StatusCode != 200 || decodeInto[map[string]any](t, b)["id"] != "tiny" {
		t.Errorf("model card: %d %s", resp.StatusCode, b)
	}
	resp, b = do(t, ts, "GET", "/v1/models/gpt-4o", "")
	wantError(t, "other model", resp, b, 404, "model", "model_not_found")
	resp, b = do(t, ts, "GET", "/v1/nothing", "")
	wantError(t, "unknown route", resp, b, 404, "", "not_found")
	resp, b = do(t, ts, "GET", "/v1/chat/completions", "")
	wantError(t, "GET chat", resp, b, 405, "", "method_not_allowed")
	if resp.Header.Get("Allow") == "" {
		t.Error("405 without Allow")
	}
	if resp.Header.Get(RequestIDHeader) == "" {
		t.Error("no request id")
	}
	resp, _ = do(t, ts, "GET", "/health", "", RequestIDHeader, "abc-123")
	if resp.Header.Get(RequestIDHeader) != "abc-123" {
		t.Errorf("request id %q", resp.Header.Get(RequestIDHeader))
	}
}

func TestAuthAndCORS(t *testing.T) {
	m, img := loadDemo(t)
	s := NewServer(Options{APIKey: "sekrit", CORSOrigins: []string{"https://app.example"}})
	s.SetModel(m, "tiny")
	ts := serveWith(t, s)
	resp, b := do(t, ts, "POST", "/v1/chat/completions", demoBody(img, ""))
	wantError(t, "no key", resp, b, 401, "", "invalid_api_key")
	resp, b = do(t, ts, "POST", "/v1/chat/completions", demoBody(img, ""), "Authorization", "Bearer sekrit!")
	wantError(t, "wrong key", resp, b, 401, "", "invalid_api_key")
	resp, _ = do(t, ts, "POST", "/v1/chat/completions", demoBody(img, ""), "Authorization", "Bearer sekrit", "Origin", "https://app.example")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("with key: %d, ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	if resp, _ := do(t, ts, "GET", "/health", ""); resp.StatusCode != 200 {
		t.Errorf("health needs no key: %d", resp.StatusCode)
	}
	resp, _ = do(t, ts, "OPTIONS", "/v1/chat/completions", "", "Origin", "https://app.example", "Access-Control-Request-Method", "POST")
	if resp.StatusCode != 204 || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = do(t, ts, "OPTIONS", "/v1/chat/completions", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin allowed")
	}
}

// bigPNG is a PNG declaring w×h pixels (one color, so a few KB).
func bigPNG(t *testing.T, w, h int) string {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestLimits(t *testing.T) {
	m, img := loadDemo(t)
	s := NewServer(Options{Limits: Limits{MaxImages: 2, MaxPixels: 1_000_000, MaxBodyBytes: 400_000, MaxQueue: 1, MaxTokens: 50}})
	s.SetModel(m, "tiny")
	ts := serveWith(t, s)
	three := strings.Replace(demoBody(img, ""), `{"type":"text"`, `{"type":"image_url","image_url":{"url":"`+img+`"}},{"type":"image_url","image_url":{"url":"`+img+`"}},{"type":"text"`, 1)
	resp, b := do(t, ts, "POST", "/v1/chat/completions", three)
	wantError(t, "3 images", resp, b, 400, "messages[1].content[2]", "too_many_images")
	resp, b = do(t, ts, "POST", "/v1/chat/completions", demoBody(bigPNG(t, 1200, 1000), ""))
	wantError(t, "1.2 Mpx", resp, b, 400, "messages[1].content[0]", "too_many_pixels")
	resp, b = do(t, ts, "POST", "/v1/chat/completions", demoBody(img, `"max_tokens":51,`))
	wantError(t, "max_tokens 51", resp, b, 400, "max_tokens", "max_tokens_too_large")
	resp, b = do(t, ts, "POST", "/v1/chat/completions", demoBody(img, `"pad":"`+strings.Repeat("x", 400_000)+`",`))
	wantError(t, "big body", resp, b, 413, "", "request_too_large")

	// Requests hold every turn the engine has and one waits: the next is
	// refused.
	turn := s.model.Load().turn
	for range cap(turn) {
		turn <- struct{}{}
	}
	waiting := make(chan *http.Response, 1)
	go func() {
		r, _ := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(demoBody(img, "")))
		waiting <- r
	}()
	for s.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	resp, b = do(t, ts, "POST", "/v1/chat/completions", demoBody(img, ""))
	wantError(t, "queue full", resp, b, 429, "", "queue_full")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	for range cap(turn) {
		<-turn
	}
	if r := <-waiting; r.StatusCode != 200 {
		t.Errorf("queued request: %d", r.StatusCode)
	}
}

func TestTimeout(t *testing.T) {
	m, img := loadDemo(t)
	s := NewServer(Options{Limits: Limits{RequestTimeout: time.Nanosecond}})
	s.SetModel(m, "tiny")
	ts := serveWith(t, s)
	resp, b := do(t, ts, "POST", "/v1/chat/completions", demoBody(img, ""))
	wantError(t, "timeout", resp, b, 504, "", "timeout")
}

func TestHealthLoadingAndMetrics(t *testing.T) {
	s := NewServer(Options{})
	ts := serveWith(t, s)
	resp, b := do(t, ts, "GET", "/health", "")
	if resp.StatusCode != 503 || !strings.Contains(string(b), "loading") {
		t.Errorf("health while loading: %d %s", resp.StatusCode, b)
	}
	resp, b = do(t, ts, "POST", "/v1/chat/completions", `{}`)
	wantError(t, "chat while loading", resp, b, 503, "", "model_loading")
	m, img := loadDemo(t)
	s.SetModel(m, "tiny")
	if resp, _ := do(t, ts, "GET", "/health", ""); resp.StatusCode != 200 {
		t.Errorf("health when ready: %d", resp.StatusCode)
	}
	do(t, ts, "POST", "/v1/chat/completions", demoBody(img, ""))
	s.SetCacheStats(func() CacheStats { return CacheStats{Hits: 3, Lookups: 4, Bytes: 1234} })
	_, b = do(t, ts, "GET", "/metrics", "")
	for _, want := range []string{
		`glmv_requests_total{code="200",route="POST /v1/chat/completions"} 1`,
		`glmv_requests_total{code="503",route="POST /v1/chat/completions"} 1`,
		"glmv_generated_tokens_total 12", "glmv_prompt_tokens_total 95",
		"glmv_time_to_first_token_seconds_count 1", "glmv_time_per_output_token_seconds_count 1",
		"glmv_vision_seconds_count 1", "glmv_queue_depth 0", "glmv_running_sequences 0",
		"glmv_cache_hit_ratio 0.75", "glmv_cache_bytes 1234", "process_resident_memory_bytes",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// An image whose tokens cannot fit the context is refused from its header,
// before it is decoded.
func TestImageTooLargeForContext(t *testing.T) {
	m, _ := loadDemo(t)
	ts := serveWith(t, New(m, "tiny", nil))
	resp, b := do(t, ts, "POST", "/v1/chat/completions", demoBody(bigPNG(t, 4000, 3000), ""))
	wantError(t, "4000×3000", resp, b, 400, "messages[1].content[0]", "context_length_exceeded")
	if n, err := m.ImageTokens(4000, 3000, "low"); err != nil || n > glmv.LowDetailPixels/(28*28) {
		t.Errorf("low detail tokens %d, %v", n, err)
	}
}

// The older sampling fields reach the sampler through the API: at a high
// temperature, top_k 1, a tiny top_p or min_p near 1 give the greedy text;
// a strong repetition penalty and a stop string change it.
func TestOlderSamplingFields(t *testing.T) {
	m, img := loadDemo(t)
	ts := serveWith(t, New(m, "tiny", nil))
	_, b := do(t, ts, "POST", "/v1/chat/completions", demoBody(img, ""))
	greedy := chatText(t, b)
	for _, extra := range []string{`"top_k":1,`, `"top_p":0.000001,`, `"min_p":0.999,`} {
		_, b := do(t, ts, "POST", "/v1/chat/completions", demoBody(img, `"temperature":5,"seed":3,`+extra))
		if got := chatText(t, b); got != greedy {
			t.Errorf("%s at temperature 5: %q, want the greedy %q", extra, got, greedy)
		}
	}
	_, b = do(t, ts, "POST", "/v1/chat/completions", demoBody(img, `"temperature":5,"seed":3,`))
	if chatText(t, b) == greedy {
		t.Error("temperature 5 gave the greedy text")
	}
	_, b = do(t, ts, "POST", "/v1/chat/completions", demoBody(img, `"repetition_penalty":3,`))
	if chatText(t, b) == greedy {
		t.Error("repetition_penalty 3 left the text unchanged")
	}
	_, b = do(t, ts, "POST", "/v1/chat/completions", demoBody(img, `"stop":"M_",`))
	if got := chatText(t, b); got != "_<|unused_298|>" {
		t.Errorf("stop: %q", got)
	}
	for _, f := range []string{"reasoning_effort", "verbosity"} {
		resp, b := do(t, ts, "POST", "/v1/chat/completions", demoBody(img, `"`+f+`":"low",`))
		wantError(t, f, resp, b, 400, f, "unsupported_parameter")
	}
}

// Text that cannot fit the context whatever its tokens is refused before
// it is tokenized.
func TestTextTooLongForContext(t *testing.T) {
	m, _ := loadDemo(t)
	ts := serveWith(t, New(m, "tiny", nil))
	n := m.MaxPromptBytes() + 1
	resp, b := do(t, ts, "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"`+strings.Repeat("a", n)+`"}]}`)
	wantError(t, "long text", resp, b, 400, "", "context_length_exceeded")
	resp, b = do(t, ts, "POST", "/v1/completions", `{"prompt":"`+strings.Repeat("a", n)+`"}`)
	wantError(t, "long prompt", resp, b, 400, "", "context_length_exceeded")
}

// Large bodies wait for one of MaxLargeRequests slots before they are read.
func TestLargeRequestsBounded(t *testing.T) {
	m, img := loadDemo(t)
	s := NewServer(Options{Limits: Limits{MaxLargeRequests: 1}})
	s.SetModel(m, "tiny")
	ts := serveWith(t, s)
	s.large.ch <- struct{}{} // another large request is in flight
	body := demoBody(img, `"pad":"`+strings.Repeat("x", bigRequestBytes)+`",`)
	answered := make(chan int, 1)
	go func() {
		r, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			answered <- 0
			return
		}
		r.Body.Close()
		answered <- r.StatusCode
	}()
	for s.large.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// Small requests are not held up.
	if resp, _ := do(t, ts, "POST", "/v1/chat/completions", demoBody(img, "")); resp.StatusCode != 200 {
		t.Errorf("small request: %d", resp.StatusCode)
	}
	select {
	case code := <-answered:
		t.Fatalf("large request answered (%d) while the slot was taken", code)
	default:
	}
	s.large.release()
	if code := <-answered; code != 200 {
		t.Errorf("large request: %d", code)
	}
}

// Every large request's end is followed by a pass that returns memory,
// even when it ends during another request's pass.
func TestMemoryReturner(t *testing.T) {
	var m memoryReturner
	for range 50 {
		ctx, cancel := context.WithCancel(context.Background())
		m.after(ctx)
		cancel()
	}
	for m.busy.Load() || m.pending.Load() {
		time.Sleep(time.Millisecond)
	}
}
