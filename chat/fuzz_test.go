package chat

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// Whatever the model writes, parsing never panics, tool-call arguments are
// JSON objects, box coordinates come in twos and fours, and streaming the
// text in any cut gives the same result as parsing it whole.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"<think>a</think>b", "x</think>y", "<|begin_of_box|>[1,2,3,4]<|end_of_box|>",
		"<tool_call>f\n<arg_key>a</arg_key>\n<arg_value>1</arg_value>\n</tool_call>",
		"<tool_call>{\"name\":\"f\",\"arguments\":\"{}\"}</tool_call>", "<tool_call>f<tool_call>g</tool_call>",
		"<answer>x</answer>", "<<think", "</tool_call><|end_of_box|>", "<|begin_of_box|>((1,2),(3",
	}
	for _, s := range seeds {
		f.Add(s, uint8(3), false)
	}
	opts := ParserOptions{Tools: []json.RawMessage{weatherTool}, ImageWidth: 640, ImageHeight: 480}
	f.Fuzz(func(t *testing.T, text string, step uint8, startInThinking bool) {
		o := opts
		o.StartInThinking = startInThinking
		p := NewParser(o)
		var events []Event
		n := int(step%16) + 1
		for i := 0; i < len(text); i += n {
			events = append(events, p.Add(text[i:min(i+n, len(text))])...)
		}
		events = append(events, p.Close()...)
		streamed := collect(events)

		whole := NewParser(o)
		all := append(whole.Add(text), whole.Close()...)
		if diff := cmp.Diff(collect(all), streamed, cmpResult); diff != "" {
			t.Fatalf("step %d: streamed differs (-whole +streamed):\n%s", n, diff)
		}
		for _, e := range all {
			if e.Kind == ToolCallEvent {
				var m map[string]any
				if err := json.Unmarshal(e.ToolCall.Function.Arguments, &m); err != nil {
					t.Fatalf("arguments %s: %v", e.ToolCall.Function.Arguments, err)
				}
			}
			if e.Kind == BoxEvent {
				for _, s := range e.Box.Shapes {
					if len(s.Norm) != 2 && len(s.Norm) != 4 || len(s.Pixels) != len(s.Norm) {
						t.Fatalf("shape %+v", s)
					}
				}
			}
			if utf8.ValidString(text) && !utf8.ValidString(e.Text) {
				t.Fatalf("event text %q is not valid UTF-8", e.Text)
			}
		}
		_ = Parse(text, o)
	})
}
