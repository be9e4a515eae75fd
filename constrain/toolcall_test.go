package constrain

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/glmv/glmv/chat"
)

var testTools = []struct{ name, params string }{
	{"get_weather", `{"type":"object","properties":{"city":{"type":"string","description":"a city"},"days":{"type":"integer"},"unit":{"type":"string","enum":["C","F"]},"detail":{"type":"boolean"}},"required":["city","unit"]}`},
	{"search", `{"type":"object","properties":{"query":{"type":"string"},"filters":{"type":"object","properties":{"lang":{"type":["string","null"]}},"required":["lang"],"additionalProperties":false},"limit":{"type":"number"}},"required":["query","filters"]}`},
	{"free", `{"type":"object","properties":{"x":{"type":"string","pattern":"^a"}}}`},
	{"noargs", ``},
}

func toolDefs() ([]Function, []json.RawMessage) {
	var fs []Function
	var defs []json.RawMessage
	for _, tt := range testTools {
		fs = append(fs, Function{Name: tt.name, Parameters: []byte(tt.params)})
		p := tt.params
		if p == "" {
			p = "{}"
		}
		defs = append(defs, json.RawMessage(fmt.Sprintf(`{"type":"function","function":{"name":%q,"parameters":%s}}`, tt.name, p)))
	}
	return fs, defs
}

func TestToolCallsParse(t *testing.T) {
	fs, defs := toolDefs()
	for _, maxCalls := range []int{1, 0} {
		g, notes, err := ToolCalls(fs, maxCalls, Options{Avoid: markers, MaxWhitespace: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(notes) != 1 || notes["free"] == nil { // "free" has a pattern
			t.Fatalf("notes: %v", notes)
		}
		for _, vocab := range []string{"demo", "qwen3"} {
			if vocab == "qwen3" && testing.Short() {
				continue
			}
			t.Run(fmt.Sprintf("%s/max%d", vocab, maxCalls), func(t *testing.T) {
				var v *Vocab
				if vocab == "demo" {
					v, _ = demoVocab(t)
				} else {
					v, _ = qwen3(t)
					var err error
					if v, err = FromTokenizer(qwenTok, v.EOS(), ToolCallTokens()...); err != nil {
						t.Fatal(err)
					}
				}
				rng := rand.New(rand.NewPCG(uint64(maxCalls), 3))
				ended := 0
				for run := 0; run < 30; run++ {
					out, ok := randomRun(t, g, v, rng, 300)
					if !ok {
						continue
					}
					ended++
					p := chat.NewParser(chat.ParserOptions{Tools: defs})
					evs := append(p.Add(out), p.Close()...)
					calls := 0
					for _, ev := range evs {
						switch ev.Kind {
						case chat.ToolCallEvent:
							calls++
							checkCall(t, ev.ToolCall, out)
						case chat.AnswerText:
							if len(ev.Text) > 0 && len(trimWS(ev.Text)) > 0 {
								t.Fatalf("answer text %q outside tool calls in %q", ev.Text, out)
							}
						default:
							t.Fatalf("unexpected event %v (%q, %v) in %q", ev.Kind, ev.Text, ev.Err, out)
						}
					}
					if calls == 0 || (maxCalls == 1 && calls != 1) {
						t.Fatalf("%d calls in %q", calls, out)
					}
				}
				if ended == 0 {
					t.Fatal("no run finished")
				}
			})
		}
	}
}

func trimWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\n' || s[0] == '\t' || s[0] == '\r') {
		s = s[1:]
	}
	return s
}

func checkCall(t *testing.T, tc *chat.ToolCall, out string) {
	t.Helper()
	var params string
	for _, tt := range testTools {
		if tt.name == tc.Function.Name {
			params = tt.params
		}
	}
	switch tc.Function.Name {
	case "free", "noargs":
		if !json.Valid(tc.Function.Arguments) {
			t.Fatalf("arguments %s of %q", tc.Function.Arguments, out)
		}
		return
	case "":
		t.Fatalf("no name in %q", out)
	}
	schema, err := parseJSON([]byte(params))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := parseJSONLoose(tc.Function.Arguments)
	if err != nil {
		t.Fatalf("arguments %s of %q: %v", tc.Function.Arguments, out, err)
	}
	if err := validate(schema, schema, doc, "#"); err != nil {
		t.Fatalf("arguments %s of %q: %v", tc.Function.Arguments, out, err)
	}
}

func TestToolCallsRefuse(t *testing.T) {
	for _, fs := range [][]Function{nil, {{Name: "a b"}}, {{Name: "x"}, {Name: "x"}}, {{Name: ""}}} {
		if _, _, err := ToolCalls(fs, 0, Options{}); err == nil {
			t.Errorf("%v: no error", fs)
		}
	}
}
