package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// argType is the set of JSON types a tool's schema allows for one argument.
type argType struct {
	types map[string]bool // "string", "integer", "number", "boolean", "object", "array", "null"
}

func (a argType) only(t string) bool { return len(a.types) == 1 && a.types[t] }

// toolSchemas maps tool name → argument name → allowed types, read from
// tool definitions in the OpenAI style ({"type": "function", "function":
// {"name", "parameters": {"properties": {...}}}}) or bare ({"name",
// "parameters"}). Definitions it cannot read are skipped.
func toolSchemas(tools []json.RawMessage) map[string]map[string]argType {
	out := map[string]map[string]argType{}
	type prop struct {
		Type  json.RawMessage   `json:"type"`
		AnyOf []json.RawMessage `json:"anyOf"`
		OneOf []json.RawMessage `json:"oneOf"`
	}
	type fn struct {
		Name       string `json:"name"`
		Parameters struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"parameters"`
	}
	var collect func(raw json.RawMessage, into map[string]bool)
	collect = func(raw json.RawMessage, into map[string]bool) {
		var p prop
		if json.Unmarshal(raw, &p) != nil {
			return
		}
		var one string
		var many []string
		if json.Unmarshal(p.Type, &one) == nil && one != "" {
			into[one] = true
		} else if json.Unmarshal(p.Type, &many) == nil {
			for _, t := range many {
				into[t] = true
			}
		}
		for _, sub := range append(p.AnyOf, p.OneOf...) {
			collect(sub, into)
		}
	}
	for _, raw := range tools {
		var wrapper struct {
			Function *fn `json:"function"`
		}
		var f fn
		if json.Unmarshal(raw, &wrapper) == nil && wrapper.Function != nil {
			f = *wrapper.Function
		} else if json.Unmarshal(raw, &f) != nil {
			continue
		}
		if f.Name == "" {
			continue
		}
		args := map[string]argType{}
		for name, p := range f.Parameters.Properties {
			t := argType{types: map[string]bool{}}
			collect(p, t.types)
			args[name] = t
		}
		out[f.Name] = args
	}
	return out
}

// parseToolCall reads the body of <tool_call>…</tool_call>:
//
//	name
//	<arg_key>k</arg_key>
//	<arg_value>v</arg_value>
//	…
//
// Values are typed by the tool's schema: a string argument keeps its text;
// any other argument is decoded as JSON when it is valid JSON (of an allowed
// type), and kept as a string otherwise. Without a schema, values that are
// valid JSON are decoded. Keys and values are trimmed of surrounding
// whitespace. A body that is a JSON object {"name", "arguments"} (older GLM
// output) is accepted too.
func parseToolCall(body string, schemas map[string]map[string]argType) (*ToolCall, error) {
	trimmed := strings.TrimSpace(body)
	if strings.HasPrefix(trimmed, "{") {
		var obj struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if err := json.Unmarshal([]byte(trimmed), &obj); err == nil && obj.Name != "" {
			args := obj.Arguments
			var s string
			if json.Unmarshal(args, &s) == nil { // arguments given as a JSON string
				args = json.RawMessage(s)
			}
			if len(args) == 0 || !json.Valid(args) || bytes.TrimSpace(args)[0] != '{' {
				args = json.RawMessage("{}")
			}
			return &ToolCall{Type: "function", Function: FunctionCall{Name: obj.Name, Arguments: args}}, nil
		}
	}
	name, rest, _ := strings.Cut(body, "<arg_key>")
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, errors.New("tool call without a function name")
	}
	if strings.ContainsAny(name, "<>\n") {
		return nil, fmt.Errorf("tool call name %.40q is not a name", name)
	}
	schema := schemas[name]
	type kv struct {
		key string
		val json.RawMessage
	}
	var args []kv
	if strings.Contains(body, "<arg_key>") {
		rest = "<arg_key>" + rest
	}
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		key, after, ok := between(rest, "<arg_key>", "</arg_key>")
		if !ok {
			return nil, fmt.Errorf("tool call %s: expected <arg_key>…</arg_key> at %.40q", name, rest)
		}
		val, after2, ok := between(strings.TrimSpace(after), "<arg_value>", "</arg_value>")
		if !ok {
			return nil, fmt.Errorf("tool call %s: argument %q has no <arg_value>…</arg_value>", name, key)
		}
		rest = after2
		key = strings.TrimSpace(key)
		v := typedValue(strings.TrimSpace(val), schema[key])
		replaced := false
		for i := range args {
			if args[i].key == key {
				args[i].val, replaced = v, true
			}
		}
		if !replaced {
			args = append(args, kv{key, v})
		}
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, a := range args {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(a.key)
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(a.val)
	}
	buf.WriteByte('}')
	return &ToolCall{Type: "function", Function: FunctionCall{Name: name, Arguments: buf.Bytes()}}, nil
}

// between expects s to start with open and returns the text up to close and
// what follows close.
func between(s, open, close string) (inner, after string, ok bool) {
	if !strings.HasPrefix(s, open) {
		return "", "", false
	}
	inner, after, ok = strings.Cut(s[len(open):], close)
	return inner, after, ok
}

// typedValue encodes one argument value as JSON.
func typedValue(v string, t argType) json.RawMessage {
	str, _ := json.Marshal(v)
	if t.only("string") {
		return str
	}
	if !json.Valid([]byte(v)) {
		return str
	}
	var compact bytes.Buffer
	if json.Compact(&compact, []byte(v)) != nil {
		return str
	}
	if len(t.types) == 0 { // no schema for this argument: JSON when it parses
		return compact.Bytes()
	}
	k := jsonKind(v)
	if t.types[k] || (k == "integer" && t.types["number"]) {
		return compact.Bytes()
	}
	if t.types["string"] {
		return str
	}
	return compact.Bytes() // schema and value disagree: keep the model's value
}

// jsonKind names the JSON schema type of a valid JSON text.
func jsonKind(v string) string {
	switch c := v[0]; {
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case strings.ContainsAny(v, ".eE"):
		return "number"
	default:
		return "integer"
	}
}
