package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkpointDir makes a folder with the reference GLM-family template,
// either as chat_template.jinja or inside tokenizer_config.json.
func checkpointDir(t *testing.T, inConfig bool) string {
	t.Helper()
	src, err := os.ReadFile("../../testdata/reference/chat_template/glm_ocr_family.jinja")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if inConfig {
		cfg := `{"eos_token": "<|endoftext|>", "chat_template": [{"name": "default", "template": ` + jsonString(string(src)) + `}]}`
		err = os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644)
	} else {
		err = os.WriteFile(filepath.Join(dir, "chat_template.jinja"), src, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrompt(t *testing.T) {
	msgs := `[{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Hello! Who are you?"}]`
	tools := `[{"type": "function", "function": {"name": "f", "parameters": {}}}]`
	for _, inConfig := range []bool{false, true} {
		dir := checkpointDir(t, inConfig)
		mf := writeFile(t, t.TempDir(), "m.json", msgs)
		tf := writeFile(t, t.TempDir(), "t.json", tools)

		out, errOut, code := runWithStdin(t, "", "prompt", "-m", dir, "--messages", mf)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		// The reference rendering of this conversation (system_user_text).
		if want := "[gMASK]<sop><|system|>\nYou are a helpful assistant.<|user|>\nHello! Who are you?<|assistant|>\n"; out != want {
			t.Errorf("inConfig=%v: prompt %q, want %q", inConfig, out, want)
		}

		out, _, _ = runWithStdin(t, "", "prompt", "-m", dir, "--messages", mf, "--no-think", "--tools", tf)
		if !strings.HasPrefix(out, "[gMASK]<sop><|system|>\n# Tools") || !strings.Contains(out, `{"type": "function", "function": {"name": "f", "parameters": {}}}`) ||
			!strings.HasSuffix(out, "Who are you?/nothink<|assistant|>\n<think></think>\n") {
			t.Errorf("with --no-think --tools: %q", out)
		}
	}
}

func TestPromptContextObjectFromStdin(t *testing.T) {
	dir := checkpointDir(t, false)
	ctx := `{"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": false}`
	out, errOut, code := runWithStdin(t, ctx, "prompt", "-m", dir, "--messages", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if want := "[gMASK]<sop><|user|>\nHi"; out != want {
		t.Errorf("prompt %q, want %q", out, want)
	}
}

func TestPromptErrors(t *testing.T) {
	empty := t.TempDir()
	mf := writeFile(t, t.TempDir(), "m.json", `[]`)
	if _, errOut, code := runWithStdin(t, "", "prompt", "-m", empty, "--messages", mf); code != 1 || !strings.Contains(errOut, "chat_template") {
		t.Errorf("no template: exit %d, stderr %q", code, errOut)
	}
	bad := writeFile(t, t.TempDir(), "chat_template.jinja", `{{ raise_exception("only user turns") }}`)
	if _, errOut, code := runWithStdin(t, "", "prompt", "-m", filepath.Dir(bad), "--messages", mf); code != 1 || !strings.Contains(errOut, "only user turns") {
		t.Errorf("raise_exception: exit %d, stderr %q", code, errOut)
	}
}
