package chat

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var weatherTool = json.RawMessage(`{"type": "function", "function": {"name": "get_weather",
 "parameters": {"type": "object", "properties": {
   "city": {"type": "string"}, "days": {"type": "integer"}, "zip": {"type": "string"},
   "detail": {"type": "boolean"}, "ratio": {"type": "number"}, "opts": {"type": "object"},
   "tags": {"type": "array"}, "maybe": {"type": ["integer", "string"]}}}}}`)

func call(name, args string) ToolCall {
	return ToolCall{Type: "function", Function: FunctionCall{Name: name, Arguments: json.RawMessage(args)}}
}

// cmpResult compares results, tool-call arguments as JSON text.
var cmpResult = cmp.Options{
	cmp.Transformer("rawJSON", func(r json.RawMessage) string { return string(r) }),
	cmpopts.EquateEmpty(),
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		text string
		opts ParserOptions
		want Result
	}{{
		name: "thinking on: think block then answer",
		text: "<think>The user asks 2+2.\nIt is 4.</think>\nThe answer is 4.",
		want: Result{Thinking: "The user asks 2+2.\nIt is 4.", Answer: "The answer is 4."},
	}, {
		name: "thinking off: the answer only",
		text: "Paris is the capital of France.",
		want: Result{Answer: "Paris is the capital of France."},
	}, {
		name: "thinking off with an empty think block",
		text: "<think></think>\nHello!",
		want: Result{Answer: "Hello!"},
	}, {
		name: "template pre-opened <think>: the output starts inside it",
		text: "reasoning here\n</think>\n\nanswer",
		opts: ParserOptions{StartInThinking: true},
		want: Result{Thinking: "reasoning here", Answer: "answer"},
	}, {
		name: "pre-opened think is detected from a lone </think>",
		text: "reasoning</think>answer",
		want: Result{Thinking: "reasoning", Answer: "answer"},
	}, {
		name: "GLM-4.1V-Thinking <answer> tags are removed",
		text: "<think>hmm</think><answer>It is a cat.</answer>",
		want: Result{Thinking: "hmm", Answer: "It is a cat."},
	}, {
		name: "thinking cut off by the token limit",
		text: "<think>Let me consider the",
		want: Result{Thinking: "Let me consider the", Truncated: true},
	}, {
		name: "a text that merely contains < and partial markers",
		text: "a < b and <thin <|x|> </tool",
		want: Result{Answer: "a < b and <thin <|x|> </tool"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Parse(tc.text, tc.opts)
			if diff := cmp.Diff(tc.want, got, cmpResult); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tc.text, diff)
			}
		})
	}
}

func TestParseBoxes(t *testing.T) {
	// A 1920×1080 original image: x scales by 1.92, y by 1.08.
	opts := ParserOptions{ImageWidth: 1920, ImageHeight: 1080}
	text := "<think>Two cats.</think>The cats are at <|begin_of_box|>[[100,200,300,400],[500,500,1000,1000]]<|end_of_box|>" +
		" and the nose at <|begin_of_box|>(250, 750)<|end_of_box|>; answer: <|begin_of_box|>2<|end_of_box|>."
	got := Parse(text, opts)
	want := Result{
		Thinking: "Two cats.",
		Answer:   "The cats are at [[100,200,300,400],[500,500,1000,1000]] and the nose at (250, 750); answer: 2.",
		Boxes: []Box{
			{Text: "[[100,200,300,400],[500,500,1000,1000]]", Shapes: []Shape{
				{Kind: Rect, Norm: []float64{100, 200, 300, 400}, Pixels: []float64{192, 216, 576, 432}},
				{Kind: Rect, Norm: []float64{500, 500, 1000, 1000}, Pixels: []float64{960, 540, 1920, 1080}},
			}},
			{Text: "(250, 750)", Shapes: []Shape{{Kind: Point, Norm: []float64{250, 750}, Pixels: []float64{480, 810}}}},
			{Text: "2"}, // a boxed final answer, no coordinates
		},
	}
	if diff := cmp.Diff(want, got, cmpResult, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestBoxSpellings(t *testing.T) {
	for text, want := range map[string][]float64{
		"[1,2,3,4]":        {1, 2, 3, 4},
		"[[1, 2, 3, 4]]":   {1, 2, 3, 4},
		"<1 2 3 4>":        {1, 2, 3, 4},
		"(1,2),(3,4)":      {1, 2, 3, 4}, // two points
		"1,2,3,4":          {1, 2, 3, 4},
		"[12.5,0,999,1e2]": {12.5, 0, 999, 100},
	} {
		b := parseBox(text, 0, 0)
		var got []float64
		for _, s := range b.Shapes {
			got = append(got, s.Norm...)
			if s.Pixels != nil {
				t.Errorf("%q: pixels without an image size", text)
			}
		}
		if !cmp.Equal(got, want) {
			t.Errorf("parseBox(%q) coordinates %v, want %v", text, got, want)
		}
	}
	if b := parseBox("[1,2,3]", 100, 100); len(b.Shapes) != 0 {
		t.Errorf("three numbers made shapes %v", b.Shapes)
	}
}

func TestParseToolCalls(t *testing.T) {
	opts := ParserOptions{Tools: []json.RawMessage{weatherTool}}
	text := "<think>Need the weather.</think>\n<tool_call>get_weather\n" +
		"<arg_key>city</arg_key>\n<arg_value>São Paulo</arg_value>\n" +
		"<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n" +
		"<arg_key>zip</arg_key>\n<arg_value>90210</arg_value>\n" + // valid JSON, but the schema says string
		"<arg_key>detail</arg_key>\n<arg_value>true</arg_value>\n" +
		"<arg_key>ratio</arg_key>\n<arg_value>0.5</arg_value>\n" +
		"<arg_key>opts</arg_key>\n<arg_value>{\"unit\": \"c\"}</arg_value>\n" +
		"<arg_key>tags</arg_key>\n<arg_value>[1, \"a\"]</arg_value>\n" +
		"<arg_key>maybe</arg_key>\n<arg_value>not a number</arg_value>\n" +
		"</tool_call><tool_call>lookup\n<arg_key>n</arg_key>\n<arg_value>42</arg_value>\n" +
		"<arg_key>q</arg_key>\n<arg_value>cats</arg_value>\n</tool_call>"
	got := Parse(text, opts)
	want := Result{
		Thinking: "Need the weather.",
		ToolCalls: []ToolCall{
			call("get_weather", `{"city":"São Paulo","days":3,"zip":"90210","detail":true,"ratio":0.5,"opts":{"unit":"c"},"tags":[1,"a"],"maybe":"not a number"}`),
			// No schema for lookup: JSON values are decoded, other text stays a string.
			call("lookup", `{"n":42,"q":"cats"}`),
		},
	}
	if diff := cmp.Diff(want, got, cmpResult); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	for _, c := range got.ToolCalls {
		if !json.Valid(c.Function.Arguments) {
			t.Errorf("%s: arguments %s are not JSON", c.Function.Name, c.Function.Arguments)
		}
	}
}

func TestParseMalformedAndTruncated(t *testing.T) {
	tests := []struct {
		name string
		text string
		want Result
	}{{
		name: "tool call cut off",
		text: "Checking.<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_val",
		want: Result{Answer: "Checking.", Raw: "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_val", Truncated: true},
	}, {
		name: "box cut off",
		text: "At <|begin_of_box|>[[1,2,",
		want: Result{Answer: "At ", Raw: "<|begin_of_box|>[[1,2,", Truncated: true},
	}, {
		name: "tool call without a name",
		text: "<tool_call>\n<arg_key>a</arg_key><arg_value>1</arg_value></tool_call>ok",
		want: Result{Answer: "ok", Raw: "<tool_call>\n<arg_key>a</arg_key><arg_value>1</arg_value></tool_call>"},
	}, {
		name: "argument key without value",
		text: "<tool_call>f\n<arg_key>a</arg_key>\n</tool_call>",
		want: Result{Raw: "<tool_call>f\n<arg_key>a</arg_key>\n</tool_call>"},
	}, {
		name: "unclosed tool call followed by a good one",
		text: "<tool_call>f\n<arg_key>a<tool_call>g\n</tool_call>",
		want: Result{Raw: "<tool_call>f\n<arg_key>a", ToolCalls: []ToolCall{call("g", `{}`)}},
	}, {
		name: "stray closing markers",
		text: "a</tool_call>b<|end_of_box|>c",
		want: Result{Answer: "abc", Raw: "</tool_call><|end_of_box|>"},
	}, {
		name: "older JSON tool call body",
		text: `<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>`,
		want: Result{ToolCalls: []ToolCall{call("f", `{"x": 1}`)}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Parse(tc.text, ParserOptions{})
			if diff := cmp.Diff(tc.want, got, cmpResult); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tc.text, diff)
			}
		})
	}
}

// Streaming gives the same result however the text is cut, including cuts
// inside markers.
func TestStreamingMatchesWhole(t *testing.T) {
	text := "<think>plan <b>bold</b></think>\n\nSee <|begin_of_box|>[10,20,30,40]<|end_of_box|> and" +
		" <tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Rome</arg_value>\n</tool_call>done <"
	opts := ParserOptions{Tools: []json.RawMessage{weatherTool}, ImageWidth: 100, ImageHeight: 50}
	whole := Parse(text, opts)
	for _, step := range []int{1, 2, 3, 5, 7, 16} {
		p := NewParser(opts)
		var events []Event
		for i := 0; i < len(text); i += step {
			events = append(events, p.Add(text[i:min(i+step, len(text))])...)
		}
		events = append(events, p.Close()...)
		got := collect(events)
		if diff := cmp.Diff(whole, got, cmpResult); diff != "" {
			t.Errorf("step %d: streamed result differs (-whole +streamed):\n%s", step, diff)
		}
	}
	if whole.Answer != "See [10,20,30,40] and done <" || len(whole.ToolCalls) != 1 || whole.Thinking != "plan <b>bold</b>" {
		t.Errorf("whole parse = %+v", whole)
	}
}

// The parser holds back a possible marker start and releases it as text
// once it cannot be one.
func TestStreamHoldsBackPartialMarkers(t *testing.T) {
	p := NewParser(ParserOptions{})
	if ev := p.Add("Hello <|begin_of"); len(ev) != 1 || ev[0].Text != "Hello " {
		t.Fatalf("Add = %+v, want just the text before the partial marker", ev)
	}
	if ev := p.Add("_sky"); len(ev) != 1 || ev[0].Text != "<|begin_of_sky" {
		t.Fatalf("Add = %+v, want the released text", ev)
	}
}

func collect(events []Event) Result {
	var r Result
	var th, an, raw strings.Builder
	for _, e := range events {
		switch e.Kind {
		case ThinkingText:
			th.WriteString(e.Text)
		case AnswerText:
			an.WriteString(e.Text)
		case BoxEvent:
			r.Boxes = append(r.Boxes, *e.Box)
			if e.InThinking {
				th.WriteString(e.Text)
			} else {
				an.WriteString(e.Text)
			}
		case ToolCallEvent:
			r.ToolCalls = append(r.ToolCalls, *e.ToolCall)
		case RawText:
			raw.WriteString(e.Text)
		}
	}
	r.Thinking, r.Answer, r.Raw = strings.TrimSpace(th.String()), an.String(), raw.String()
	return r
}

func TestPromptOpensThinking(t *testing.T) {
	for prompt, want := range map[string]bool{
		"<|assistant|>\n<think>":           true,
		"<|assistant|>\n<think>\n":         true,
		"<|assistant|>\n<think></think>\n": false,
		"<|assistant|>\n":                  false,
	} {
		if got := PromptOpensThinking(prompt); got != want {
			t.Errorf("PromptOpensThinking(%q) = %v, want %v", prompt, got, want)
		}
	}
}
