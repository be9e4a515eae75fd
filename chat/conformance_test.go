package chat

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/ardanlabs/jinja"
)

// conformanceCase is one template rendered by Python's jinja2 (set up as
// transformers sets it up) by testdata/chat/conformance/generate.py.
type conformanceCase struct {
	Template string                     `json:"template"`
	Context  map[string]json.RawMessage `json:"context"`
	Rendered *string                    `json:"rendered"`
	Error    string                     `json:"error"`
}

// knownDifferences are cases where glmv's output still differs from
// Python's, with the reason; they are reported as skipped.
var knownDifferences = map[string]string{}

// refused are cases Python renders that glmv refuses with an error (a
// feature it does not implement) rather than render differently.
var refused = map[string]string{
	"engine_groupby":     "the groupby filter",
	"loop_changed_depth": "loop.changed and loop.depth",
	"gen_print_refused":  "printing a generator (Python prints its memory address)",
}

// TestJinjaConformance renders every case and compares byte for byte with
// Python's output; where Python raised an error, rendering must fail too.
func TestJinjaConformance(t *testing.T) {
	data, err := os.ReadFile("../testdata/chat/conformance/goldens.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases map[string]conformanceCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 50 {
		t.Fatalf("only %d cases", len(cases))
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if why, ok := knownDifferences[name]; ok {
				t.Skip("known difference: " + why)
			}
			tmpl, err := Compile(c.Template)
			if why, ok := refused[name]; ok {
				if err == nil {
					var out string
					if out, err = tmpl.renderValues(tmpl.main, contextValues(t, c.Context)); err == nil {
						t.Fatalf("rendered %q; glmv does not implement %s and must refuse it", out, why)
					}
				}
				t.Logf("refused (%s): %v", why, err)
				return
			}
			if err != nil {
				if c.Rendered == nil {
					return // Python could not compile it either
				}
				t.Fatalf("Compile: %v", err)
			}
			got, err := tmpl.renderValues(tmpl.main, contextValues(t, c.Context))
			if c.Rendered == nil {
				if err == nil {
					t.Fatalf("rendered %q, want an error like Python's %q", got, c.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v (Python rendered %q)", err, *c.Rendered)
			}
			if got != *c.Rendered {
				t.Errorf("rendered\n%q\nwant\n%q", got, *c.Rendered)
			}
		})
	}
}

func contextValues(t *testing.T, ctx map[string]json.RawMessage) map[string]jinja.Value {
	t.Helper()
	vars := map[string]jinja.Value{}
	for k, raw := range ctx {
		v, err := jsonToValue(bytes.Clone(raw))
		if err != nil {
			t.Fatalf("variable %s: %v", k, err)
		}
		vars[k] = v
	}
	return vars
}

// BenchmarkRenderGLM renders the GLM family template for a conversation
// with tools, tool calls and an image.
func BenchmarkRenderGLM(b *testing.B) {
	data, err := os.ReadFile("../testdata/chat/goldens.json")
	if err != nil {
		b.Fatal(err)
	}
	var cases map[string]struct {
		Context Context `json:"context"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		b.Fatal(err)
	}
	src, err := os.ReadFile("../testdata/reference/chat_template/glm_ocr_family.jinja")
	if err != nil {
		b.Fatal(err)
	}
	tmpl, err := Compile(string(src))
	if err != nil {
		b.Fatal(err)
	}
	ctx := cases["shape_tool_calls_unwrapped"].Context
	for b.Loop() {
		if _, err := tmpl.Render(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
