package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type goldenCase struct {
	Context  Context `json:"context"`
	Rendered *string `json:"rendered"`
	Error    string  `json:"error"`
}

func readGoldenCases(t *testing.T, path string) map[string]goldenCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases map[string]goldenCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cases
}

func checkGoldens(t *testing.T, tmpl *Template, cases map[string]goldenCase) {
	t.Helper()
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := tmpl.Render(c.Context)
			if c.Rendered == nil {
				// Python jinja2 raised an error; so must we.
				if err == nil {
					t.Fatalf("rendered %q, want an error like %q", got, c.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got != *c.Rendered {
				t.Errorf("rendered\n%q\nwant\n%q", got, *c.Rendered)
			}
		})
	}
}

// The reference renderings made with Python jinja2 by the reference
// pipeline (the GLM-OCR / GLM-4.6V family template).
func TestReferenceGoldens(t *testing.T) {
	dir := "../testdata/reference/chat_template"
	src, err := os.ReadFile(filepath.Join(dir, "glm_ocr_family.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := Compile(string(src))
	if err != nil {
		t.Fatal(err)
	}
	cases := readGoldenCases(t, filepath.Join(dir, "chat_template_goldens.json"))
	if len(cases) < 10 {
		t.Fatalf("only %d cases", len(cases))
	}
	checkGoldens(t, tmpl, cases)
}

func TestEnableThinkingUnsetDiffersFromFalse(t *testing.T) {
	tmpl := loadOCRTemplate(t)
	msgs := []Message{{Role: "user", Content: TextContent("Hi")}}
	off := false
	on := true
	unset, err := tmpl.Render(Context{Messages: msgs, AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	disabled, err := tmpl.Render(Context{Messages: msgs, AddGenerationPrompt: true, EnableThinking: &off})
	if err != nil {
		t.Fatal(err)
	}
	enabled, err := tmpl.Render(Context{Messages: msgs, AddGenerationPrompt: true, EnableThinking: &on})
	if err != nil {
		t.Fatal(err)
	}
	if want := "[gMASK]<sop><|user|>\nHi<|assistant|>\n"; unset != want || enabled != want {
		t.Errorf("unset/true rendered %q / %q, want %q", unset, enabled, want)
	}
	if want := "[gMASK]<sop><|user|>\nHi/nothink<|assistant|>\n<think></think>\n"; disabled != want {
		t.Errorf("false rendered %q, want %q", disabled, want)
	}
}

func loadOCRTemplate(t *testing.T) *Template {
	t.Helper()
	src, err := os.ReadFile("../testdata/reference/chat_template/glm_ocr_family.jinja")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := Compile(string(src))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestTemplateErrors(t *testing.T) {
	if _, err := Compile("{% if x %}unclosed"); err == nil {
		t.Error("Compile accepted an unclosed if")
	}
	tmpl, err := Compile(`{{ raise_exception("no system role here") }}`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tmpl.Render(Context{})
	if err == nil || !strings.Contains(err.Error(), "no system role here") {
		t.Errorf("raise_exception gave %v, want its message", err)
	}
}

// Our own cases, rendered by testdata/chat/render.py with Debian's
// python3-jinja2 set up as transformers sets it up.
func TestOwnGoldens(t *testing.T) {
	data, err := os.ReadFile("../testdata/chat/goldens.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases map[string]struct {
		Template string `json:"template"`
		goldenCase
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	byTemplate := map[string]map[string]goldenCase{}
	for name, c := range cases {
		if byTemplate[c.Template] == nil {
			byTemplate[c.Template] = map[string]goldenCase{}
		}
		byTemplate[c.Template][name] = c.goldenCase
	}
	for file, cs := range byTemplate {
		src, err := os.ReadFile(filepath.Join("../testdata/chat", file))
		if err != nil {
			t.Fatal(err)
		}
		tmpl, err := Compile(string(src))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		checkGoldens(t, tmpl, cs)
	}
}
