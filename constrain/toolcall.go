package constrain

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Function is a tool the model may call: its name and the JSON Schema of
// its parameters (nil or unsupported: any arguments).
type Function struct {
	Name       string
	Parameters []byte
}

// ToolCalls compiles a grammar for an answer made only of GLM tool calls,
// between 1 and maxCalls of them (maxCalls <= 0: any number), separated
// by whitespace:
//
//	<tool_call>NAME
//	<arg_key>KEY</arg_key>
//	<arg_value>VALUE</arg_value>
//	…</tool_call>
//
// NAME is one of funcs. When a function's parameters are an object
// schema within the supported subset, its arguments are its properties
// in schema order (required ones always, optional ones possibly left
// out), a string argument's value is raw text (as GLM's template writes
// it) and any other value JSON valid against the property's schema.
// Otherwise the arguments are free: any keys, raw-text values. No text
// contains a tool-call tag or an Options.Avoid string. The Vocab must
// keep the ToolCallTokens.
//
// The second result says, for each function (by name) whose parameters
// could not be followed, why: its arguments are then free.
func ToolCalls(funcs []Function, maxCalls int, opts Options) (*Grammar, map[string]error, error) {
	if len(funcs) == 0 {
		return nil, nil, errors.New("constrain: tool calls need at least one function")
	}
	opts.Avoid = append(slices.Clone(opts.Avoid), ToolCallTokens()...)
	b, err := newJSONBuilder(opts)
	if err != nil {
		return nil, nil, err
	}
	var calls []frag
	notes := map[string]error{}
	seen := map[string]bool{}
	for i, f := range funcs {
		if f.Name == "" || strings.ContainsAny(f.Name, "<>\n\r\t ") {
			return nil, nil, fmt.Errorf("constrain: function name %q cannot be written in a tool call", f.Name)
		}
		if seen[f.Name] {
			return nil, nil, fmt.Errorf("constrain: function %q is listed twice", f.Name)
		}
		seen[f.Name] = true
		args, err := b.toolArgs("f"+strconv.Itoa(i)+":", f.Parameters)
		if err != nil {
			notes[f.Name] = err
			args = b.freeArgs()
		}
		calls = append(calls, b.seq(b.lit("<tool_call>"+f.Name+"\n"), args, b.lit("</tool_call>")))
	}
	one := func() frag { return b.rule("call", func() frag { return b.alt(calls...) }) }
	var seq frag
	next := func() frag { return b.seq(b.ws(), one()) }
	if maxCalls <= 0 {
		seq = b.seq(one(), b.star(next()))
	} else {
		seq = b.seq(one(), b.rep(next, 0, maxCalls-1))
	}
	g, err := b.finish(b.seq(b.ws(), seq, b.ws()))
	return g, notes, err
}

// argument writes one <arg_key>/<arg_value> pair.
func (b *jsonBuilder) argument(key, value frag) frag {
	return b.seq(b.lit("<arg_key>"), key, b.lit("</arg_key>\n<arg_value>"), value, b.lit("</arg_value>\n"))
}

// freeArgs matches any number of arguments with raw-text keys and values.
func (b *jsonBuilder) freeArgs() frag {
	return b.star(b.argument(b.rawText(), b.rawText()))
}

// toolArgs compiles the arguments of a function from its parameters
// schema, or fails when the schema is outside what it can follow.
func (b *jsonBuilder) toolArgs(ns string, params []byte) (frag, error) {
	if len(strings.TrimSpace(string(params))) == 0 {
		return b.empty(), nil // no parameters: no arguments
	}
	root, err := parseJSON(params)
	if err != nil {
		return frag{}, fmt.Errorf("parameters: %w", err)
	}
	if root.kind != 'o' {
		return frag{}, errors.New("parameters is not an object schema")
	}
	for _, m := range root.obj {
		switch {
		case slices.Contains(annotations, m.key), m.key == "$defs", m.key == "definitions",
			m.key == "properties", m.key == "required", m.key == "additionalProperties":
		case m.key == "type":
			if m.val.kind != 's' || m.val.str != "object" {
				return frag{}, errors.New(`parameters type is not "object"`)
			}
		default:
			return frag{}, &UnsupportedError{Keyword: m.key, Path: "#"}
		}
	}
	props := root.get("properties")
	if props == nil || len(props.obj) == 0 {
		if a := root.get("additionalProperties"); a != nil && a.kind == 'b' && !a.b {
			return b.empty(), nil
		}
		return frag{}, errors.New("parameters list no properties, so any arguments are allowed")
	}
	if props.kind != 'o' {
		return frag{}, unsupported("#", "properties", "must be an object")
	}
	required := map[string]bool{}
	if r := root.get("required"); r != nil {
		if r.kind != 'a' {
			return frag{}, unsupported("#", "required", "must be an array of strings")
		}
		for _, e := range r.arr {
			if e.kind != 's' || props.get(e.str) == nil {
				return frag{}, unsupported("#", "required", "names a property not in properties")
			}
			required[e.str] = true
		}
	}
	sc := &schemaCompiler{b: b, root: root, ns: ns}
	var parts []frag
	for _, m := range props.obj {
		if strings.Contains(m.key, "<") || strings.TrimSpace(m.key) != m.key || m.key == "" {
			return frag{}, fmt.Errorf("property name %q cannot be written as an argument key", m.key)
		}
		path := "#/properties/" + escapePointer(m.key)
		var val frag
		strs, isString, err := stringArg(m.val, path)
		if err != nil {
			return frag{}, err
		}
		if isString {
			if strs == nil {
				val = b.rawText()
			} else {
				var alts []frag
				for _, s := range strs {
					alts = append(alts, b.lit(s))
				}
				val = b.alt(alts...)
			}
		} else {
			val = sc.value(m.val, path)
		}
		if sc.err != nil {
			return frag{}, sc.err
		}
		arg := b.argument(b.lit(m.key), val)
		if !required[m.key] {
			arg = b.opt(arg)
		}
		parts = append(parts, arg)
	}
	return b.seq(parts...), nil
}

// stringArg reports whether a parameter schema allows only strings, so
// GLM writes its value as raw text (the reply parser reads it the same
// way, gathering the types from "type" and the branches of anyOf/oneOf).
// strs lists the allowed values of a string enum or const (nil: any
// text); err says why a string schema cannot be followed as raw text.
func stringArg(s *jval, path string) (strs []string, isString bool, err error) {
	if s.kind != 'o' {
		return nil, false, nil
	}
	types := map[string]bool{}
	var collect func(*jval)
	collect = func(s *jval) {
		if t := s.get("type"); t != nil {
			if t.kind == 's' {
				types[t.str] = true
			}
			for _, e := range t.arr {
				if e.kind == 's' {
					types[e.str] = true
				}
			}
		}
		for _, kw := range []string{"anyOf", "oneOf"} {
			if a := s.get(kw); a != nil {
				for _, sub := range a.arr {
					collect(sub)
				}
			}
		}
	}
	collect(s)
	if len(types) != 1 || !types["string"] {
		return nil, false, nil
	}
	for _, m := range s.obj {
		switch {
		case slices.Contains(annotations, m.key), m.key == "type", m.key == "enum", m.key == "const":
		default:
			return nil, true, &UnsupportedError{Keyword: m.key, Path: path}
		}
	}
	var vals []*jval
	if c := s.get("const"); c != nil {
		vals = []*jval{c}
	} else if e := s.get("enum"); e != nil {
		vals = e.arr
	} else {
		return nil, true, nil
	}
	for _, v := range vals {
		if v.kind != 's' {
			continue // not a string: cannot match type string
		}
		if v.str != strings.TrimSpace(v.str) || strings.Contains(v.str, "<") {
			return nil, true, unsupported(path, "enum", "value %q cannot be written as raw argument text", v.str)
		}
		strs = append(strs, v.str)
	}
	if len(strs) == 0 {
		return nil, true, unsupported(path, "enum", "no string value")
	}
	return strs, true, nil
}
