package server

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// The template sees each message as the client sent it, changed only as
// vLLM changes it: developer → system, image_url → {"type": "image"},
// video_url → {"type": "video"}, string arguments → the object.
func TestTemplateJSON(t *testing.T) {
	body := `{"messages": [
		{"role": "developer", "content": "Be brief.", "name": "ops"},
		{"role": "user", "content": [{"type": "text", "text": "What is it?"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVsbG8="}}], "name": "al"},
		{"role": "assistant", "content": null, "reasoning_content": "think", "tool_calls": [
			{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"z\": 1, \"a\": [2.0, null]}"}},
			{"id": "c2", "type": "function", "function": {"arguments": "", "name": "g"}}]},
		{"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "r"}], "x-extra": {"k": true}}]}`
	_, req, err := decodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"role":"system","content": "Be brief.","name": "ops"}`,
		`{"role":"user","content":[{"type": "text", "text": "What is it?"},{"type": "image"}],"name": "al"}`,
		`{"role":"assistant","content": null,"reasoning_content": "think","tool_calls":[{"id": "c1","type": "function","function":{"name": "f","arguments":{"z": 1, "a": [2.0, null]}}},{"id": "c2","type": "function","function":{"arguments":{},"name": "g"}}]}`,
		`{"role":"tool","tool_call_id": "c1","content":[{"type": "text", "text": "r"}],"x-extra": {"k": true}}`,
	}
	compact := func(s string) string {
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(s)); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for i, m := range req.Messages {
		// Compared compact: the key order must be the client's.
		if got := compact(string(m.JSON)); got != compact(want[i]) {
			t.Errorf("message %d:\n%s\nwant\n%s", i, got, want[i])
		}
		if m.Role != "" || m.Reasoning != "" || m.ToolCalls != nil {
			t.Errorf("message %d keeps typed fields: %+v", i, m)
		}
	}
	if c := req.Messages[1].Content; len(c) != 1 || c[0].Image == nil || string(c[0].Image.Data) != "hello" {
		t.Errorf("image pixels: %+v", c)
	}
	// /tokenize renders the same messages the same way.
	_, treq, err := decodeTokenizeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range treq.Messages {
		if string(m.JSON) != string(req.Messages[i].JSON) {
			t.Errorf("tokenize message %d: %s, chat: %s", i, m.JSON, req.Messages[i].JSON)
		}
	}
	// A video part becomes a video placeholder whose bytes the message carries.
	_, vreq, err := decodeRequest([]byte(`{"messages": [{"role": "user", "content": [{"type": "video_url", "video_url": {"url": "data:video/mp4;base64,aGVsbG8="}}, {"type": "text", "text": "?"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := compact(string(vreq.Messages[0].JSON)); got != compact(`{"role":"user","content":[{"type":"video"},{"type":"text","text":"?"}]}`) || len(vreq.Messages[0].Content) != 1 || vreq.Messages[0].Content[0].Video == nil {
		t.Errorf("video message: %s %+v", got, vreq.Messages[0].Content)
	}
	_, _, err = decodeRequest([]byte(`{"messages": [{"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{bad"}}]}]}`))
	if err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("bad arguments: %v", err)
	}
}
