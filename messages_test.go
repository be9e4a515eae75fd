package glmv

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glmv/glmv/demo"
)

// A conversation given as JSON renders and tokenizes exactly like the same
// conversation built from typed messages, and its image is read from the
// file the part names.
func TestJSONMessagesMatchTyped(t *testing.T) {
	m, img := loadDemo(t)
	typed := demoRequest(img)
	want, err := m.Prepare(context.Background(), &typed)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal([]any{
		map[string]any{"role": "system", "content": demo.SystemPrompt},
		map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "image", "image": img},
			map[string]any{"type": "text", "text": demo.Question}}},
	})
	msgs, err := MessagesFromJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	req := demoRequest(img)
	req.Messages = msgs
	got, err := m.Prepare(context.Background(), &req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != want.Text || !slices.Equal(got.IDs, want.IDs) || len(got.Images) != 1 {
		t.Errorf("JSON messages: %q (%d ids, %d images), want %q (%d ids)", got.Text, len(got.IDs), len(got.Images), want.Text, len(want.IDs))
	}
}

// OpenAI-style image parts are normalized as transformers' processor
// normalizes them, and their pixels can come from a base64 data: URL.
func TestJSONImageURL(t *testing.T) {
	for in, want := range map[string]string{
		`{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "a.png", "detail": "low"}}, {"type": "text", "text": "x"}]}`: `{"role":"user","content":[{"type":"image","url":"a.png"},{"type": "text", "text": "x"}]}`,
		`{"content": [{"type": "image_url", "image_url": "b.png"}], "role": "user"}`:                                                          `{"content":[{"type":"image","url":"b.png"}],"role":"user"}`,
		`{"role": "user", "content": [{"type": "image_url"}]}`:                                                                                `{"role": "user", "content": [{"type": "image_url"}]}`,
		`{"role": "user", "content": "image_url"}`:                                                                                            `{"role": "user", "content": "image_url"}`,
	} {
		got, err := normalizeImageURL(json.RawMessage(in))
		if err != nil || string(got) != want {
			t.Errorf("%s:\n%s (%v)\nwant\n%s", in, got, err, want)
		}
	}
	m, img := loadDemo(t)
	data, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	typed := demoRequest(img)
	want, err := m.Prepare(context.Background(), &typed)
	if err != nil {
		t.Fatal(err)
	}
	user, err := MessageFromJSON(json.RawMessage(`{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,` +
		base64.StdEncoding.EncodeToString(data) + `"}}, {"type": "text", "text": "` + demo.Question + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req := demoRequest(img)
	req.Messages[1] = user
	got, err := m.Prepare(context.Background(), &req)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.IDs, want.IDs) || len(got.Images) != 1 || !slices.Equal(got.Images[0].Values, want.Images[0].Values) {
		t.Errorf("image_url message: %q, want %q", got.Text, want.Text)
	}
}

// What the typed API cannot express reaches the template as given: parts
// of unknown types and extra fields pass through, and content null fails
// where Python's jinja2 fails (this template iterates it).
func TestJSONMessageShapes(t *testing.T) {
	m, _ := loadDemo(t)
	msg := func(s string) Message {
		t.Helper()
		mm, err := MessageFromJSON(json.RawMessage(s))
		if err != nil {
			t.Fatal(err)
		}
		return mm
	}
	req := Request{Messages: []Message{
		msg(`{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "audio", "x": 1}], "name": "al"}`),
		msg(`{"role": "assistant", "content": [{"type": "text", "text": "ok"}], "tool_calls": [{"name": "f", "arguments": "{}"}]}`),
	}}
	pp, err := m.Prepare(context.Background(), &req)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[gMASK]<sop><|user|>\nhi<|assistant|>\nok<|assistant|>\n"; pp.Text != want {
		t.Errorf("rendered %q, want %q", pp.Text, want)
	}
	req.Messages[1] = msg(`{"role": "assistant", "content": null}`)
	if _, err := m.Prepare(context.Background(), &req); err == nil || !strings.Contains(err.Error(), "'NoneType' object is not iterable") {
		t.Errorf("content null: err = %v", err)
	}
}

func TestJSONMessageErrors(t *testing.T) {
	m, img := loadDemo(t)
	for name, c := range map[string]struct {
		msg  Message
		want string
	}{
		"typed fields too":    {Message{Role: "user", JSON: json.RawMessage(`{"role": "user"}`)}, "must leave Role"},
		"not an object":       {Message{JSON: json.RawMessage(`["user"]`)}, "want a JSON object"},
		"missing pixels":      {Message{JSON: json.RawMessage(`{"role": "user", "content": [{"type": "image"}]}`)}, "media parts [image] but Content carries []"},
		"pixels out of order": {Message{JSON: json.RawMessage(`{"role": "user", "content": [{"type": "video"}, {"type": "image"}]}`), Content: []Part{ImageFile(img), VideoFile("x.mp4")}}, "must match in kind and order"},
		"text in Content":     {Message{JSON: json.RawMessage(`{"role": "user", "content": "x"}`), Content: []Part{Text("y")}}, "text goes in the JSON"},
	} {
		req := Request{Messages: []Message{c.msg}}
		if _, err := m.Prepare(context.Background(), &req); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
	for name, c := range map[string]string{
		"no file":     `{"role": "user", "content": [{"type": "image"}]}`,
		"remote":      `{"role": "user", "content": [{"type": "image", "url": "https://example.com/a.png"}]}`,
		"bad data":    `{"role": "user", "content": [{"type": "image", "url": "data:image/png,raw"}]}`,
		"bad base64":  `{"role": "user", "content": [{"type": "image", "base64": "%%%"}]}`,
		"bad video":   `{"role": "user", "content": [{"type": "video", "video": 3}]}`,
		"not object":  `"hello"`,
		"bad content": `{"role": "user", "content": [1, 2`,
	} {
		if _, err := MessageFromJSON(json.RawMessage(c)); err == nil {
			t.Errorf("%s: MessageFromJSON accepted %s", name, c)
		}
	}
	// Frames given as a list make a frame video.
	dir := t.TempDir()
	f := filepath.Join(dir, "f.png")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mm, err := MessageFromJSON(json.RawMessage(`{"role": "user", "content": [{"type": "video", "video": ["` + f + `", "` + f + `"], "fps": 4}]}`))
	if err != nil || len(mm.Content) != 1 || mm.Content[0].Video == nil || len(mm.Content[0].Video.Frames) != 2 || mm.Content[0].Video.FPS != 4 {
		t.Errorf("frame video: %+v, %v", mm, err)
	}
}

// Whatever JSON a caller passes, MessageFromJSON and the template-side
// check return a message or an error, never panic, and a message they
// accept keeps the caller's bytes.
func FuzzMessageFromJSON(f *testing.F) {
	for _, s := range []string{
		`{"role": "user", "content": [{"type": "image", "image": "a.png"}, {"type": "text", "text": "x"}]}`,
		`{"role": "assistant", "content": null, "tool_calls": [{"name": "f", "arguments": "{}"}]}`,
		`{"role": "user", "content": [{"type": "video", "video": ["a.png", "b.png"], "fps": 2}]}`,
		`{"content": {"a": 1}}`, `[]`, `{"role": 3}`, `{"role": "user", "content": [{"type": "image", "url": "data:x"}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := MessageFromJSON(json.RawMessage(s))
		if err != nil {
			return
		}
		if string(m.JSON) != s {
			t.Fatalf("JSON changed: %q → %q", s, m.JSON)
		}
		if _, err := jsonMessage(m); err != nil {
			t.Fatalf("MessageFromJSON accepted %q but the template side refuses it: %v", s, err)
		}
	})
}
