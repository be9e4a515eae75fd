package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Markers the parser recognises in model output. They are special tokens of
// the GLM vocabulary, so plain text rarely contains them.
const (
	thinkOpen   = "<think>"
	thinkClose  = "</think>"
	boxOpen     = "<|begin_of_box|>"
	boxClose    = "<|end_of_box|>"
	toolOpen    = "<tool_call>"
	toolClose   = "</tool_call>"
	answerOpen  = "<answer>" // GLM-4.1V-Thinking wraps its answer in these
	answerClose = "</answer>"
)

var markers = []string{thinkOpen, thinkClose, boxOpen, boxClose, toolOpen, toolClose, answerOpen, answerClose}

// EventKind says what an Event carries.
type EventKind int

const (
	// ThinkingText is text of the model's reasoning.
	ThinkingText EventKind = iota
	// AnswerText is text of the answer (markers removed).
	AnswerText
	// BoxEvent is one <|begin_of_box|>…<|end_of_box|> span. Its Text is part of
	// the answer (or of the thinking when InThinking is set) at this place.
	BoxEvent
	// ToolCallEvent is one complete, well-formed tool call.
	ToolCallEvent
	// RawText is output that could not be parsed: a malformed tool call, or
	// a box or tool call cut off by the end of the output. Text holds it
	// verbatim, markers included, and Err says what was wrong.
	RawText
)

// Event is one piece of parsed output.
type Event struct {
	Kind EventKind
	// Text is the text of ThinkingText, AnswerText and RawText events and
	// the inner text of a box.
	Text string
	// InThinking is set for boxes and tool calls inside the thinking.
	InThinking bool
	Box        *Box      // BoxEvent
	ToolCall   *ToolCall // ToolCallEvent (the parsed call)
	Err        error     // RawText
}

// ParserOptions configure a Parser.
type ParserOptions struct {
	// StartInThinking is for prompts that end with an open <think> (the
	// template pre-opened it): the output starts inside the thinking.
	StartInThinking bool
	// ImageWidth and ImageHeight are the size in pixels of the ORIGINAL image
	// (before any resizing) that boxes refer to. When zero, boxes carry only
	// the model's 0–1000 coordinates.
	ImageWidth, ImageHeight int
	// Tools are the tool definitions given to the template; their JSON
	// schemas type the arguments of tool calls.
	Tools []json.RawMessage
}

// PromptOpensThinking reports whether a rendered prompt ends inside an open
// <think> block (some templates pre-open it), in which case the model's
// output starts with thinking: pass the result as StartInThinking.
func PromptOpensThinking(prompt string) bool {
	p := strings.TrimRight(prompt, " \t\r\n")
	return strings.HasSuffix(p, thinkOpen)
}

// MaxBoxBytes bounds how much text the parser holds back inside an open
// <|begin_of_box|>: a box is a few coordinates, so past this the opening
// marker and the text so far are released as a RawText event and the
// output is read as ordinary text again.
const MaxBoxBytes = 1024

// Parser splits streamed model output into events. Feed it text as it is
// decoded with Add, then call Close. It never panics, whatever the input.
type Parser struct {
	opts     ParserOptions
	schemas  map[string]map[string]argType
	thinking bool   // the current text is thinking
	trimNL   bool   // drop newlines at the start of the answer
	block    string // "" (text), boxOpen or toolOpen
	body     strings.Builder
	pending  string // unprocessed text (may start with part of a marker)
	out      []Event
}

// NewParser returns a parser for one model reply.
func NewParser(opts ParserOptions) *Parser {
	return &Parser{opts: opts, schemas: toolSchemas(opts.Tools), thinking: opts.StartInThinking, trimNL: true}
}

// Add consumes the next piece of output and returns the events it completed.
// Text that might be the start of a marker is held back until it is known.
func (p *Parser) Add(text string) []Event {
	p.pending += text
	p.process()
	return p.take()
}

// Close ends the output and returns the remaining events. A box or tool call
// left open becomes a RawText event.
func (p *Parser) Close() []Event {
	p.process()
	switch p.block {
	case "":
		p.emitText(p.pending)
	default:
		p.emit(Event{Kind: RawText, Text: p.block + p.body.String() + p.pending, InThinking: p.thinking,
			Err: errTruncated})
		p.block = ""
		p.body.Reset()
	}
	p.pending = ""
	return p.take()
}

// Truncated reports whether, so far, the output is inside the thinking, a
// box or a tool call, that is whether it would be cut off if it ended here.
func (p *Parser) Truncated() bool { return p.thinking || p.block != "" }

var errTruncated = errors.New("output ended before the closing marker")

func (p *Parser) take() []Event {
	ev := p.out
	p.out = nil
	return ev
}

func (p *Parser) process() {
	for p.pending != "" {
		if p.block != "" {
			if !p.processBlock() {
				return
			}
			continue
		}
		i := strings.IndexByte(p.pending, '<')
		if i < 0 {
			p.emitText(p.pending)
			p.pending = ""
			return
		}
		if i > 0 {
			p.emitText(p.pending[:i])
			p.pending = p.pending[i:]
		}
		m, partial := matchMarker(p.pending)
		if m != "" {
			p.pending = p.pending[len(m):]
			p.onMarker(m)
			continue
		}
		if partial {
			return // wait for more text
		}
		p.emitText("<")
		p.pending = p.pending[1:]
	}
}

// matchMarker reports the marker s starts with, or whether s is a proper
// prefix of some marker.
func matchMarker(s string) (marker string, partial bool) {
	for _, m := range markers {
		if strings.HasPrefix(s, m) {
			return m, false
		}
		if len(s) < len(m) && strings.HasPrefix(m, s) {
			partial = true
		}
	}
	return "", partial
}

// processBlock moves text into the open box or tool call; it reports false
// when it needs more text.
func (p *Parser) processBlock() bool {
	end := boxClose
	if p.block == toolOpen {
		end = toolClose
	}
	i := strings.Index(p.pending, end)
	if p.block == toolOpen {
		// A new <tool_call> before the end: the open one is malformed.
		if j := strings.Index(p.pending, toolOpen); j >= 0 && (i < 0 || j < i) {
			p.body.WriteString(p.pending[:j])
			p.emit(Event{Kind: RawText, Text: toolOpen + p.body.String(), InThinking: p.thinking,
				Err: errors.New("tool call not closed before the next <tool_call>")})
			p.body.Reset()
			p.pending = p.pending[j+len(toolOpen):]
			return true
		}
	}
	if i < 0 && p.block == boxOpen && p.body.Len()+len(p.pending) > MaxBoxBytes {
		// Not a box after all (or a runaway one): release what was held
		// back so the stream goes on, and read the rest as text.
		p.emit(Event{Kind: RawText, Text: boxOpen + p.body.String(), InThinking: p.thinking,
			Err: fmt.Errorf("box not closed within %d bytes", MaxBoxBytes)})
		p.body.Reset()
		p.block = ""
		return true
	}
	if i < 0 {
		keep := partialSuffix(p.pending, end)
		if p.block == toolOpen {
			keep = max(keep, partialSuffix(p.pending, toolOpen))
		}
		p.body.WriteString(p.pending[:len(p.pending)-keep])
		p.pending = p.pending[len(p.pending)-keep:]
		return false
	}
	p.body.WriteString(p.pending[:i])
	p.pending = p.pending[i+len(end):]
	body := p.body.String()
	p.body.Reset()
	block := p.block
	p.block = ""
	if block == boxOpen {
		p.emit(Event{Kind: BoxEvent, Text: body, InThinking: p.thinking, Box: parseBox(body, p.opts.ImageWidth, p.opts.ImageHeight)})
		p.trimNL = false
		return true
	}
	call, err := parseToolCall(body, p.schemas)
	if err != nil {
		p.emit(Event{Kind: RawText, Text: toolOpen + body + toolClose, InThinking: p.thinking, Err: err})
		return true
	}
	p.emit(Event{Kind: ToolCallEvent, InThinking: p.thinking, ToolCall: call})
	return true
}

// partialSuffix is the length of the longest proper prefix of marker that s
// ends with.
func partialSuffix(s, marker string) int {
	for n := min(len(marker)-1, len(s)); n > 0; n-- {
		if strings.HasSuffix(s, marker[:n]) {
			return n
		}
	}
	return 0
}

func (p *Parser) onMarker(m string) {
	switch m {
	case thinkOpen:
		p.thinking = true
	case thinkClose:
		p.thinking = false
		p.trimNL = true
	case answerOpen:
		p.thinking = false
		p.trimNL = true
	case answerClose:
		// dropped
	case boxOpen, toolOpen:
		p.block = m
	case boxClose, toolClose:
		p.emit(Event{Kind: RawText, Text: m, InThinking: p.thinking, Err: errors.New("closing marker without an opening one")})
	}
}

func (p *Parser) emitText(s string) {
	if s == "" {
		return
	}
	kind := ThinkingText
	if !p.thinking {
		kind = AnswerText
		if p.trimNL {
			s = strings.TrimLeft(s, "\n")
			if s == "" {
				return
			}
			p.trimNL = false
		}
	}
	p.emit(Event{Kind: kind, Text: s, InThinking: p.thinking})
}

func (p *Parser) emit(e Event) {
	if n := len(p.out); n > 0 && (e.Kind == ThinkingText || e.Kind == AnswerText) && p.out[n-1].Kind == e.Kind {
		p.out[n-1].Text += e.Text
		return
	}
	p.out = append(p.out, e)
}

// Result is a whole reply, parsed.
type Result struct {
	// Thinking is the reasoning, without the think markers and surrounding
	// whitespace.
	Thinking string
	// Answer is the answer text with markers removed; the text of boxes
	// stays in place.
	Answer    string
	Boxes     []Box
	ToolCalls []ToolCall
	// Raw collects the output that could not be parsed (see RawText).
	Raw string
	// Truncated is set when the output ended inside the thinking, a box or
	// a tool call.
	Truncated bool
}

// Parse parses a complete reply. When StartInThinking is not set but the
// text has a </think> and no <think>, the template must have pre-opened the
// thinking, and the text before </think> is taken as thinking.
func Parse(text string, opts ParserOptions) Result {
	if !opts.StartInThinking && strings.Contains(text, thinkClose) && !strings.Contains(text, thinkOpen) {
		opts.StartInThinking = true
	}
	p := NewParser(opts)
	events := p.Add(text)
	truncated := p.Truncated()
	events = append(events, p.Close()...)
	var r Result
	var thinking, answer, raw strings.Builder
	for _, e := range events {
		switch e.Kind {
		case ThinkingText:
			thinking.WriteString(e.Text)
		case AnswerText:
			answer.WriteString(e.Text)
		case BoxEvent:
			r.Boxes = append(r.Boxes, *e.Box)
			if e.InThinking {
				thinking.WriteString(e.Text)
			} else {
				answer.WriteString(e.Text)
			}
		case ToolCallEvent:
			r.ToolCalls = append(r.ToolCalls, *e.ToolCall)
		case RawText:
			raw.WriteString(e.Text)
		}
	}
	r.Thinking = strings.TrimSpace(thinking.String())
	r.Answer = answer.String()
	r.Raw = raw.String()
	r.Truncated = truncated
	return r
}
