package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// glmv prompt renders every message shape of the GLM-template goldens
// (made by testdata/chat/render.py with Python's jinja2) byte for byte,
// from the JSON as written, and fails where Python failed.
func TestPromptMessageShapes(t *testing.T) {
	data, err := os.ReadFile("../../testdata/chat/goldens.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases map[string]struct {
		Template string          `json:"template"`
		Context  json.RawMessage `json:"context"`
		Rendered *string         `json:"rendered"`
		Error    string          `json:"error"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	dir := checkpointDir(t, false)
	n := 0
	for name, c := range cases {
		if c.Template != "../reference/chat_template/glm_ocr_family.jinja" {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "messages.json")
			if err := os.WriteFile(f, c.Context, 0o644); err != nil {
				t.Fatal(err)
			}
			out, errOut, code := runWithStdin(t, "", "prompt", "-m", dir, "--messages", f)
			if c.Rendered == nil {
				if code == 0 {
					t.Fatalf("rendered %q, Python failed with %s", out, c.Error)
				}
				return
			}
			if code != 0 || out != *c.Rendered {
				t.Fatalf("exit %d (%s):\n%q\nwant\n%q", code, errOut, out, *c.Rendered)
			}
		})
	}
	if n < 15 {
		t.Fatalf("only %d GLM-template cases", n)
	}
}
