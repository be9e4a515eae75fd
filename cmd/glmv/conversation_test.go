package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmv/glmv/demo"
)

// A conversation given as a JSON file gives the same prompt and answer as
// the same conversation built from flags; the prompt argument becomes a
// last user turn.
func TestRunWithMessages(t *testing.T) {
	dir, img := demoFiles(t)
	tmp := t.TempDir()
	write := func(name string, v any) string {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	whole := write("whole.json", []any{
		map[string]any{"role": "system", "content": demo.SystemPrompt},
		map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "image", "image": img}, map[string]any{"type": "text", "text": demo.Question}}},
	})
	code, out, errs := glmvCLI(t, "run", "-m", dir, "--messages", whole, "--no-think", "--max-tokens", "12")
	if code != 0 {
		t.Fatalf("run exited %d: %s", code, errs)
	}
	if !strings.HasPrefix(out, "_<|unused_298|>M_") || !strings.Contains(errs, "95 prompt tokens (35 vision") || !strings.Contains(errs, "12 generated") {
		t.Errorf("answer %q / %q, want the reference's", out, errs)
	}
	// The system turn from the file, the question from the command line.
	sys := write("sys.json", []any{map[string]any{"role": "system", "content": demo.SystemPrompt}})
	code, out2, errs := glmvCLI(t, "run", "-m", dir, "--messages", sys, "--image", img, "--no-think", "--max-tokens", "12", demo.Question)
	if code != 0 || out2 != out {
		t.Errorf("file + prompt: exit %d, %q, want %q (%s)", code, out2, out, errs)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--messages", sys, "--image", img}, "attach to the prompt"},
		{[]string{"--messages", write("empty.json", []any{})}, "the conversation is empty"},
		{[]string{"--messages", write("bad.json", map[string]any{"role": "user"})}, "want a JSON list of messages"},
		{[]string{"--messages", filepath.Join(tmp, "missing.json")}, "--messages"},
		{[]string{"--messages", write("nofile.json", []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "image"}}}})}, "names no file"},
	} {
		code, _, errs := glmvCLI(t, append([]string{"run", "-m", dir, "--max-tokens", "1"}, c.args...)...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errs, c.want)
		}
	}
}
