package chat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func render(t *testing.T, dir string, ctx Context) string {
	t.Helper()
	tmpl, err := LoadTemplate(dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tmpl.Render(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLoadTemplateSources(t *testing.T) {
	user := Context{Messages: []Message{{Role: "user", Content: TextContent("hi")}}}
	// chat_template.jinja wins over tokenizer_config.json; special tokens of
	// the config are template variables.
	dir := writeDir(t, map[string]string{
		"chat_template.jinja":   "{{ bos_token }}file:{{ messages[0].content }}",
		"tokenizer_config.json": `{"bos_token": {"content": "<s>"}, "chat_template": "config"}`,
	})
	if got := render(t, dir, user); got != "<s>file:hi" {
		t.Errorf("with both files: %q", got)
	}
	// The string form of chat_template.
	dir = writeDir(t, map[string]string{"tokenizer_config.json": `{"chat_template": "str:{{ messages | length }}"}`})
	if got := render(t, dir, user); got != "str:1" {
		t.Errorf("string form: %q", got)
	}
	// The list form: "default", or "tool_use" when tools are given.
	dir = writeDir(t, map[string]string{"tokenizer_config.json": `{"chat_template": [
		{"name": "tool_use", "template": "tools:{{ tools | length }}"},
		{"name": "default", "template": "default"}]}`})
	if got := render(t, dir, user); got != "default" {
		t.Errorf("list form without tools: %q", got)
	}
	withTools := user
	withTools.Tools = append(withTools.Tools, []byte(`{"name": "f"}`))
	if got := render(t, dir, withTools); got != "tools:1" {
		t.Errorf("list form with tools: %q", got)
	}
}

func TestLoadTemplateErrors(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"no template":          {},
		"config without one":   {"tokenizer_config.json": `{"eos_token": "x"}`},
		"list without default": {"tokenizer_config.json": `{"chat_template": [{"name": "other", "template": "x"}]}`},
		"syntax error":         {"chat_template.jinja": "{% for %}"},
		"bad config JSON":      {"tokenizer_config.json": `{"chat_template": `},
	} {
		_, err := LoadTemplate(writeDir(t, files))
		if err == nil || !strings.Contains(err.Error(), "chat") && !strings.Contains(err.Error(), "tokenizer_config.json") {
			t.Errorf("%s: error %v", name, err)
		}
	}
}
