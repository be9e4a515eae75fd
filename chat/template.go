// Package chat renders a checkpoint's chat template into a prompt and parses
// what the model writes back: thinking, the answer, grounding boxes and tool
// calls.
//
// Templates render as transformers renders them with Python's jinja2
// (trim_blocks, lstrip_blocks, loop controls, its tojson and
// raise_exception): each template is recompiled by a jinja2 front end
// (pylex.go, pyexpr.go) that applies jinja2's whitespace rules and gives
// expressions Python's semantics, and github.com/ardanlabs/jinja runs the
// result. Messages decoded from JSON reach the template exactly as given.
// The renderings in testdata/reference/chat_template, testdata/chat and the
// jinja2 conformance suite in testdata/chat/conformance are matched byte for
// byte.
package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ardanlabs/jinja"
)

// Context is what a chat template sees.
type Context struct {
	Messages []Message `json:"messages"`
	// Tools are the tool definitions (JSON schema objects, usually
	// {"type": "function", "function": {...}}), passed through verbatim.
	Tools []json.RawMessage `json:"tools,omitempty"`
	// AddGenerationPrompt ends the prompt with the assistant's turn opener.
	AddGenerationPrompt bool `json:"add_generation_prompt"`
	// EnableThinking is the hybrid-thinking switch. Nil leaves the variable
	// undefined, which GLM templates treat differently from false (false
	// appends /nothink and pre-fills an empty think block).
	EnableThinking *bool `json:"enable_thinking,omitempty"`
	// Extra holds any other template variables.
	Extra map[string]any `json:"-"`
}

// Message is one turn of the conversation. A message decoded from JSON
// keeps the JSON object exactly as given (Raw), and that is what the
// template sees, as transformers passes the caller's dicts through.
type Message struct {
	Role    string  `json:"role"`
	Content Content `json:"content,omitzero"`
	// ReasoningContent is the thinking of an assistant turn. Nil means
	// absent: templates then look for <think>…</think> in Content.
	ReasoningContent *string    `json:"reasoning_content,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID       string     `json:"tool_call_id,omitempty"`
	Name             string     `json:"name,omitempty"`
	// Raw, when not nil, is the whole message as a JSON object in the
	// shape transformers' apply_chat_template takes: the template sees
	// exactly it (every field, key order, nulls) and the typed fields
	// above are ignored. UnmarshalJSON sets it.
	Raw json.RawMessage `json:"-"`
}

// Content is a message's content: a plain string, or (when Parts is not
// nil) a list of parts. The zero Content is absent content (the key is left
// out, so templates see it undefined); build one with TextContent or
// PartsContent, or decode it from JSON.
type Content struct {
	Text  string
	Parts []Part
	set   bool
}

// IsZero reports whether the content is absent.
func (c Content) IsZero() bool { return !c.set && c.Parts == nil && c.Text == "" }

// Part is one element of list content.
type Part struct {
	// Type is "text", "image" or "video".
	Type  string `json:"type"`
	Text  string `json:"text,omitempty"`
	Image string `json:"image,omitempty"`
	Video string `json:"video,omitempty"`
	URL   string `json:"url,omitempty"`
}

// ToolCall is a call an assistant turn made.
type ToolCall struct {
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function and its arguments: normally a JSON
// object (templates iterate over it), kept verbatim so key order survives.
type FunctionCall struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

// TextContent returns string content.
func TextContent(s string) Content { return Content{Text: s, set: true} }

// PartsContent returns list content.
func PartsContent(parts ...Part) Content {
	if parts == nil {
		parts = []Part{}
	}
	return Content{Parts: parts, set: true}
}

// MarshalJSON writes a string or a list.
func (c Content) MarshalJSON() ([]byte, error) {
	if c.Parts != nil {
		return json.Marshal(c.Parts)
	}
	return json.Marshal(c.Text)
}

// UnmarshalJSON reads a string, a list of parts or null.
func (c *Content) UnmarshalJSON(b []byte) error {
	*c = Content{}
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		c.set = true
		return json.Unmarshal(b, &c.Text)
	}
	var parts []Part
	if err := json.Unmarshal(b, &parts); err != nil {
		return fmt.Errorf("content: want a string or a list of parts: %w", err)
	}
	if parts == nil {
		parts = []Part{}
	}
	c.Parts, c.set = parts, true
	return nil
}

// Template is a compiled chat template.
type Template struct {
	// Source is the template text (of the default template).
	Source string

	main  *compiled
	named map[string]*compiled
	vars  map[string]string // bos_token etc. from tokenizer_config.json
}

// compiled is a template recompiled for the engine (see pylex.go) with
// the literal texts and constants it refers to.
type compiled struct {
	tp     *jinja.Template
	texts  jinja.Value
	consts jinja.Value
}

func compileSource(source string) (*compiled, error) {
	out, texts, consts, err := recompile(source)
	if err != nil {
		return nil, err
	}
	tp, err := jinja.Compile(out)
	if err != nil {
		return nil, err
	}
	tv := make([]jinja.Value, len(texts))
	for i, t := range texts {
		tv[i] = jinja.NewString(t)
	}
	return &compiled{tp: tp, texts: listOf(tv), consts: listOf(consts)}, nil
}

// Compile compiles template source.
func Compile(source string) (*Template, error) {
	c, err := compileSource(source)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	return &Template{Source: source, main: c}, nil
}

// LoadTemplate loads the chat template of a checkpoint folder: the file
// chat_template.jinja when present, otherwise the chat_template field of
// tokenizer_config.json (a string, or a list of {"name", "template"}
// objects). The special tokens of tokenizer_config.json (bos_token,
// eos_token, pad_token, unk_token) are made available to the template.
func LoadTemplate(dir string) (*Template, error) {
	var cfg struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
		BOS          json.RawMessage `json:"bos_token"`
		EOS          json.RawMessage `json:"eos_token"`
		PAD          json.RawMessage `json:"pad_token"`
		UNK          json.RawMessage `json:"unk_token"`
	}
	cfgPath := filepath.Join(dir, "tokenizer_config.json")
	cfgData, err := os.ReadFile(cfgPath)
	haveCfg := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	if haveCfg {
		if err := json.Unmarshal(cfgData, &cfg); err != nil {
			return nil, fmt.Errorf("chat template: %s: %w", cfgPath, err)
		}
	}
	vars := map[string]string{}
	for name, raw := range map[string]json.RawMessage{"bos_token": cfg.BOS, "eos_token": cfg.EOS, "pad_token": cfg.PAD, "unk_token": cfg.UNK} {
		if s, ok := tokenContent(raw); ok {
			vars[name] = s
		}
	}

	jinjaPath := filepath.Join(dir, "chat_template.jinja")
	src, err := os.ReadFile(jinjaPath)
	if err == nil {
		t, err := Compile(string(src))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", jinjaPath, err)
		}
		t.vars = vars
		return t, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	if !haveCfg || len(cfg.ChatTemplate) == 0 || string(cfg.ChatTemplate) == "null" {
		return nil, fmt.Errorf("chat template: %s has neither chat_template.jinja nor a chat_template in tokenizer_config.json", dir)
	}
	t, err := parseTemplateField(cfg.ChatTemplate)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	t.vars = vars
	return t, nil
}

// parseTemplateField reads tokenizer_config.json's chat_template value.
func parseTemplateField(raw json.RawMessage) (*Template, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return Compile(s)
	}
	var list []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("chat_template: want a string or a list of {name, template}: %w", err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("chat_template: empty list")
	}
	t := &Template{named: map[string]*compiled{}}
	for _, e := range list {
		tp, err := compileSource(e.Template)
		if err != nil {
			return nil, fmt.Errorf("chat template %q: %w", e.Name, err)
		}
		t.named[e.Name] = tp
		if e.Name == "default" {
			t.main, t.Source = tp, e.Template
		}
	}
	if t.main == nil {
		return nil, fmt.Errorf("chat_template: the list has no template named \"default\"")
	}
	return t, nil
}

func tokenContent(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Content != nil {
		return *obj.Content, true
	}
	return "", false
}

// Render renders the template for ctx. When the template came as a named
// list, the "tool_use" template is used if tools are given and it exists
// (as transformers does), else "default".
func (t *Template) Render(ctx Context) (string, error) {
	tp := t.main
	if len(ctx.Tools) > 0 {
		if tu, ok := t.named["tool_use"]; ok {
			tp = tu
		}
	}
	data, err := ctx.values()
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	for k, v := range t.vars {
		if _, set := data[k]; !set {
			data[k] = jinja.NewString(v)
		}
	}
	return t.renderValues(tp, data)
}

// renderValues renders c with the template variables data.
func (t *Template) renderValues(c *compiled, data map[string]jinja.Value) (out string, err error) {
	defer func() {
		// The engine has panicked on odd input before; a template must
		// never take the process down.
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("chat template: the template engine failed: %v", r)
		}
	}()
	for k, v := range runtimeFuncs() {
		data[k] = v
	}
	data[textVar], data[constVar] = c.texts, c.consts
	out, err = c.tp.RenderValues(data)
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	return out, nil
}

// values converts the context to template values, keeping the key order of
// every JSON object (tojson output depends on it).
func (ctx Context) values() (map[string]jinja.Value, error) {
	data := map[string]jinja.Value{}
	for k, v := range ctx.Extra {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", k, err)
		}
		if data[k], err = jsonToValue(b); err != nil {
			return nil, fmt.Errorf("variable %s: %w", k, err)
		}
	}
	b, err := json.Marshal(ctx.Messages)
	if err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	if data["messages"], err = jsonToValue(b); err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	if ctx.Tools != nil {
		b, err := json.Marshal(ctx.Tools)
		if err != nil {
			return nil, fmt.Errorf("tools: %w", err)
		}
		if data["tools"], err = jsonToValue(b); err != nil {
			return nil, fmt.Errorf("tools: %w", err)
		}
	} else if _, set := data["tools"]; !set {
		data["tools"] = jinja.None() // transformers always passes tools, None when absent
	}
	if _, set := data["documents"]; !set {
		data["documents"] = jinja.None() // and documents
	}
	data["add_generation_prompt"] = jinja.NewBool(ctx.AddGenerationPrompt)
	if ctx.EnableThinking != nil {
		data["enable_thinking"] = jinja.NewBool(*ctx.EnableThinking)
	}
	return data, nil
}

// jsonToValue decodes one JSON document into a jinja value, objects as
// ordered dicts and integers as ints.
func jsonToValue(b []byte) (jinja.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return jinja.Undefined(), err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jinja.Undefined(), fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (jinja.Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return jinja.Undefined(), err
	}
	switch tok := tok.(type) {
	case json.Delim:
		switch tok {
		case '{':
			d := jinja.NewDict()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return jinja.Undefined(), err
				}
				k, ok := kt.(string)
				if !ok {
					return jinja.Undefined(), fmt.Errorf("object key is %T", kt)
				}
				v, err := decodeValue(dec)
				if err != nil {
					return jinja.Undefined(), err
				}
				d.AsDict().Set(k, v)
			}
			_, err := dec.Token() // '}'
			return d, err
		case '[':
			var items []jinja.Value
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return jinja.Undefined(), err
				}
				items = append(items, v)
			}
			if items == nil {
				items = []jinja.Value{}
			}
			_, err := dec.Token() // ']'
			return jinja.NewList(items), err
		}
		return jinja.Undefined(), fmt.Errorf("unexpected %v", tok)
	case json.Number:
		if !strings.ContainsAny(string(tok), ".eE") {
			if _, err := tok.Int64(); err != nil {
				return jinja.Undefined(), fmt.Errorf("integer %s is outside the 64-bit range the template engine supports", tok)
			}
		}
		return jinja.FromGoValue(tok), nil
	default:
		return jinja.FromGoValue(tok), nil
	}
}
