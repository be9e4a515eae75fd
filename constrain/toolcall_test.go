package constrain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
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

// FuzzToolCalls compiles arbitrary parameter schemas into tool-call
// grammars: random calls through them must come out of GLM's reply
// parser as tool calls, with arguments valid against the schema when it
// was followed.
func FuzzToolCalls(f *testing.F) {
	for _, tt := range testTools {
		f.Add([]byte(tt.params))
	}
	f.Add([]byte(`{"type":"object","properties":{"a":{"type":["integer","string"]},"b":{"$ref":"#/$defs/s"},"c":{"type":"string","enum":["","x y"]}},"$defs":{"s":{"type":"string"}},"required":["a","b","c"]}`))
	f.Add([]byte(`{"type":"object","properties":{"o":{"type":"object","properties":{"k":{"const":"<v>"}},"required":["k"]}},"additionalProperties":false}`))
	// Names are written as they are, so the vocabulary must spell every
	// byte (byte-level BPE vocabularies do; the demo's alone does not).
	v := byteVocab(f)
	f.Fuzz(func(t *testing.T, params []byte) {
		if len(params) > 2048 {
			return
		}
		g, notes, err := ToolCalls([]Function{{Name: "f", Parameters: params}}, 2, Options{Avoid: markers, MaxWhitespace: 2})
		if err != nil {
			return
		}
		def, _ := json.Marshal(map[string]any{"type": "function", "function": map[string]any{"name": "f", "parameters": json.RawMessage(params)}})
		if !json.Valid(params) {
			def = []byte(`{"type":"function","function":{"name":"f"}}`)
		}
		var schema *jval
		if notes["f"] == nil && len(bytes.TrimSpace(params)) > 0 {
			if schema, err = parseJSON(params); err != nil {
				t.Fatal(err)
			}
		}
		h := fnv.New64a()
		h.Write(params)
		rng := rand.New(rand.NewPCG(h.Sum64(), 2))
		for range 2 {
			out, ok := randomRun(t, g, v, rng, 150)
			if !ok {
				continue
			}
			p := chat.NewParser(chat.ParserOptions{Tools: []json.RawMessage{def}})
			for _, ev := range append(p.Add(out), p.Close()...) {
				switch ev.Kind {
				case chat.ToolCallEvent:
					if ev.ToolCall.Function.Name != "f" {
						t.Fatalf("call %q in %q", ev.ToolCall.Function.Name, out)
					}
					if schema == nil {
						continue
					}
					doc, err := parseJSONLoose(ev.ToolCall.Function.Arguments)
					if err != nil {
						t.Fatalf("arguments %s of %q: %v", ev.ToolCall.Function.Arguments, out, err)
					}
					if err := validate(schema, schema, doc, "#"); err != nil {
						t.Fatalf("arguments %s of %q: %v", ev.ToolCall.Function.Arguments, out, err)
					}
				case chat.AnswerText:
					if trimWS(ev.Text) != "" {
						t.Fatalf("text %q outside calls in %q", ev.Text, out)
					}
				default:
					t.Fatalf("event %v (%q, %v) in %q", ev.Kind, ev.Text, ev.Err, out)
				}
			}
		}
	})
}

// byteVocab is the demo vocabulary plus a token for each of the 256
// bytes.
func byteVocab(tb testing.TB) *Vocab {
	d, _ := demoVocab(tb)
	tokens := make([][]byte, d.Size()+256)
	for i := 0; i < d.Size(); i++ {
		tokens[i] = d.TokenBytes(i)
	}
	for b := 0; b < 256; b++ {
		tokens[d.Size()+b] = []byte{byte(b)}
	}
	v, err := NewVocab(tokens, d.EOS())
	if err != nil {
		tb.Fatal(err)
	}
	return v
}
