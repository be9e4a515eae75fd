package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/glmv/glmv"
)

// UnmarshalJSON decodes a request message and keeps its JSON, so that the
// chat template sees every field in the shape the client sent.
func (m *chatMessage) UnmarshalJSON(b []byte) error {
	type fields chatMessage
	var f fields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*m = chatMessage(f)
	m.raw = bytes.Clone(b)
	return nil
}

// withTemplateJSON makes msg (converted from the request message raw)
// carry raw as the JSON its chat template sees, changed only the way an
// OpenAI-compatible server (vLLM, SGLang) changes it before templating:
// the role developer becomes system, image_url parts become {"type":
// "image"} placeholders whose pixels msg carries, and tool-call arguments
// sent as a JSON string become the object (an empty string, {}).
// Everything else — content null, text parts, extra fields such as name,
// tool_call_id and reasoning_content, key order — reaches the template
// unchanged.
func withTemplateJSON(msg glmv.Message, raw json.RawMessage) (glmv.Message, error) {
	obj, err := decodeOrdered(raw)
	if err != nil {
		return msg, err
	}
	for i := range obj {
		kv := &obj[i]
		switch kv.key {
		case "role":
			kv.val, _ = json.Marshal(msg.Role)
		case "content":
			if kv.val, err = templateContent(kv.val); err != nil {
				return msg, err
			}
		case "tool_calls":
			if kv.val, err = templateToolCalls(kv.val); err != nil {
				return msg, err
			}
		}
	}
	out := glmv.Message{JSON: obj.encode()}
	for _, p := range msg.Content {
		if p.Image != nil || p.Video != nil {
			out.Content = append(out.Content, p)
		}
	}
	return out, nil
}

func templateContent(val json.RawMessage) (json.RawMessage, error) {
	if t := bytes.TrimSpace(val); len(t) == 0 || t[0] != '[' {
		return val, nil
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(val, &parts); err != nil {
		return nil, err
	}
	for i, p := range parts {
		var head struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(p, &head) == nil {
			switch head.Type {
			case "image_url":
				parts[i] = json.RawMessage(`{"type": "image"}`)
			case "video_url":
				parts[i] = json.RawMessage(`{"type": "video"}`)
			}
		}
	}
	return encodeList(parts), nil
}

func templateToolCalls(val json.RawMessage) (json.RawMessage, error) {
	if t := bytes.TrimSpace(val); len(t) == 0 || t[0] != '[' {
		return val, nil
	}
	var calls []json.RawMessage
	if err := json.Unmarshal(val, &calls); err != nil {
		return nil, err
	}
	for i, c := range calls {
		call, err := decodeOrdered(c)
		if err != nil {
			return nil, fmt.Errorf("tool_calls[%d]: %w", i, err)
		}
		for j := range call {
			if call[j].key != "function" {
				continue
			}
			fn, err := decodeOrdered(call[j].val)
			if err != nil {
				return nil, fmt.Errorf("tool_calls[%d].function: %w", i, err)
			}
			for k := range fn {
				var s string
				if fn[k].key != "arguments" || json.Unmarshal(fn[k].val, &s) != nil {
					continue
				}
				if strings.TrimSpace(s) == "" {
					s = "{}"
				}
				if !json.Valid([]byte(s)) {
					return nil, fmt.Errorf("tool_calls[%d]: arguments are not valid JSON", i)
				}
				fn[k].val = json.RawMessage(s)
			}
			call[j].val = fn.encode()
		}
		calls[i] = call.encode()
	}
	return encodeList(calls), nil
}

type keyVal struct {
	key string
	val json.RawMessage
}

// orderedObject is a JSON object with its keys in order.
type orderedObject []keyVal

func decodeOrdered(raw json.RawMessage) (orderedObject, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("want a JSON object")
	}
	var obj orderedObject
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, err
		}
		obj = append(obj, keyVal{key: tok.(string), val: val})
	}
	return obj, nil
}

func (o orderedObject) encode() json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(kv.val)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func encodeList(items []json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteByte(']')
	return b.Bytes()
}
