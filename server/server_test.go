package server

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/glmv/glmv"
	"github.com/glmv/glmv/demo"
)

func testServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	dir, img, err := demo.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := glmv.Load(dir, glmv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(New(m, "tiny", nil).Handler())
	t.Cleanup(func() { ts.Close(); m.Close() })
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	return ts, "data:image/png;base64," + base64.StdEncoding.EncodeToString(b)
}

func demoBody(image string, extra string) string {
	return `{"model":"tiny","max_tokens":12,"chat_template_kwargs":{"enable_thinking":false},` + extra + `"messages":[
		{"role":"system","content":"` + demo.SystemPrompt + `"},
		{"role":"user","content":[{"type":"image_url","image_url":{"url":"` + image + `"}},{"type":"text","text":"` + demo.Question + `"}]}]}`
}

func post(t *testing.T, ts *httptest.Server, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// The demo conversation over the API gives the reference tokens' text.
func TestChatCompletion(t *testing.T) {
	ts, img := testServer(t)
	resp := post(t, ts, demoBody(img, ""))
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var c completion
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.Object != "chat.completion" || len(c.Choices) != 1 || c.Usage == nil {
		t.Fatalf("response %+v", c)
	}
	msg := c.Choices[0].Message
	if msg.Role != "assistant" || msg.Content == nil || !strings.HasPrefix(*msg.Content, "_<|unused_298|>M_") {
		t.Errorf("message %+v", msg)
	}
	if *c.Choices[0].FinishReason != "length" || c.Usage.PromptTokens != 95 || c.Usage.CompletionTokens != 12 {
		t.Errorf("finish %s, usage %+v", *c.Choices[0].FinishReason, c.Usage)
	}
}

// Streaming sends a role chunk, content deltas, a finish chunk, usage on
// request and [DONE]; the deltas add up to the whole answer.
func TestChatCompletionStream(t *testing.T) {
	ts, img := testServer(t)
	resp := post(t, ts, demoBody(img, `"stream":true,"stream_options":{"include_usage":true},`))
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var text strings.Builder
	var events []completion
	done := false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("not an SSE data line: %q", line)
		}
		if data == "[DONE]" {
			done = true
			break
		}
		var c completion
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("bad chunk %q: %v", data, err)
		}
		events = append(events, c)
		if len(c.Choices) > 0 && c.Choices[0].Delta != nil && c.Choices[0].Delta.Content != nil {
			text.WriteString(*c.Choices[0].Delta.Content)
		}
	}
	if !done || len(events) < 4 {
		t.Fatalf("stream ended early: done=%v, %d chunks", done, len(events))
	}
	if events[0].Choices[0].Delta.Role != "assistant" {
		t.Errorf("first chunk %+v", events[0])
	}
	last := events[len(events)-1]
	fin := events[len(events)-2]
	if last.Usage == nil || last.Usage.CompletionTokens != 12 || fin.Choices[0].FinishReason == nil || *fin.Choices[0].FinishReason != "length" {
		t.Errorf("finish chunk %+v, usage chunk %+v", fin, last)
	}
	if !strings.HasPrefix(text.String(), "_<|unused_298|>M_") {
		t.Errorf("streamed text %q", text.String())
	}
}

func TestBadRequests(t *testing.T) {
	ts, img := testServer(t)
	cases := []struct{ body, want string }{
		{`not json`, "not a valid chat-completions JSON"},
		{`{"messages":[]}`, "non-empty"},
		{`{"messages":[{"role":"wizard","content":"hi"}]}`, `unknown role "wizard"`},
		{`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`, "does not fetch remote images"},
		{`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,%%%"}}]}]}`, "not valid base64"},
		{`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,aGVsbG8="}}]}]}`, "not a readable"},
		{`{"messages":[{"role":"user","content":"hi"}],"temperature":-1}`, "temperature"},
		{`{"messages":[{"role":"user","content":"hi"}],"n":3}`, "n must be 1"},
		{`{"messages":[{"role":"user","content":"hi"}],"stop":5}`, "stop must be"},
		{`{"messages":[{"role":"assistant","content":"x","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`, "not valid JSON"},
		{demoBody(img, `"max_tokens":-3,`), "max_tokens"},
		{`{"messages":[{"role":"user","content":"` + strings.Repeat("a", 5000) + `"}]}`, "context holds 4096"},
	}
	for _, c := range cases {
		resp := post(t, ts, c.body)
		var e apiError
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(e.Error.Message, c.want) {
			t.Errorf("body %.60q: status %d, error %q; want 400 mentioning %q", c.body, resp.StatusCode, e.Error.Message, c.want)
		}
	}
}

func TestModelsAndHealth(t *testing.T) {
	ts, _ := testServer(t)
	resp, err := http.Get(ts.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Data []struct {
			ID     string `json:"id"`
			MaxLen int    `json:"max_model_len"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Data) != 1 || list.Data[0].ID != "tiny" || list.Data[0].MaxLen != 4096 {
		t.Errorf("models %+v", list)
	}
	resp, err = http.Get(ts.URL + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("health: %v %v", err, resp)
	}
	resp, _ = http.Get(ts.URL + "/v1/chat/completions")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET on chat completions: %d", resp.StatusCode)
	}
}

// FuzzDecodeRequest checks that no request body makes the decoder panic.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(demoBody("data:image/png;base64,aGVsbG8=", `"stream":true,"stop":["x"],`)))
	f.Add([]byte(`{"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":2,"presence_penalty":1,"logit_bias":{"5":2},"max_tokens":0} `))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"video_url","video_url":{"url":"data:video/webm;base64,AAAA"}},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]}],"functions":[]}`))
	f.Add([]byte(`{"messages":[{"role":"assistant","content":null,"tool_calls":[{"type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","content":"ok","tool_call_id":"1"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, req, err := decodeRequest(body)
		if err == nil && len(req.Messages) == 0 {
			t.Fatal("accepted a request without messages")
		}
		if err == nil && (req.MaxTokens < 0 || req.TopLogprobs > 20 || (req.TopLogprobs > 0 && !req.Logprobs)) {
			t.Fatalf("accepted %+v", req)
		}
	})
}
