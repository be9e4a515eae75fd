package chat

import (
	"strings"
	"testing"
)

// A box that is opened and never closed does not stop the stream: past
// MaxBoxBytes the held-back text is released and the rest streams as text.
func TestUnclosedBoxStillStreams(t *testing.T) {
	p := NewParser(ParserOptions{})
	var got strings.Builder
	released := false
	for _, e := range p.Add("see <|begin_of_box|>") {
		got.WriteString(e.Text)
	}
	for i := range 400 {
		for _, e := range p.Add("word ") {
			got.WriteString(e.Text)
			if e.Kind == RawText {
				released = true
				if i*5 > MaxBoxBytes+16 {
					t.Errorf("held back %d bytes before releasing", i*5)
				}
			}
		}
	}
	for _, e := range p.Close() {
		got.WriteString(e.Text)
	}
	if !released || !strings.HasPrefix(got.String(), "see <|begin_of_box|>word ") || strings.Count(got.String(), "word ") != 400 {
		t.Errorf("released %v, text %q", released, got.String())
	}
	// A normal box still parses.
	evs := NewParser(ParserOptions{}).Add("<|begin_of_box|>[[1,2,3,4]]<|end_of_box|>")
	if len(evs) != 1 || evs[0].Kind != BoxEvent {
		t.Errorf("box events %+v", evs)
	}
}
