package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/glmv/glmv"
	"github.com/glmv/glmv/internal/jsonobj"
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
// the role developer becomes system, image_url and video_url parts become
// {"type": "image"} and {"type": "video"} placeholders whose pixels msg
// carries, and tool-call arguments
// sent as a JSON string become the object (an empty string, {}).
// Everything else — content null, text parts, extra fields such as name,
// tool_call_id and reasoning_content, key order — reaches the template
// unchanged.
func withTemplateJSON(msg glmv.Message, raw json.RawMessage) (glmv.Message, error) {
	obj, err := jsonobj.Decode(raw)
	if err != nil {
		return msg, err
	}
	for i := range obj {
		f := &obj[i]
		switch f.Key {
		case "role":
			f.Value, _ = json.Marshal(msg.Role)
		case "content":
			if f.Value, err = templateContent(f.Value); err != nil {
				return msg, err
			}
		case "tool_calls":
			if f.Value, err = templateToolCalls(f.Value); err != nil {
				return msg, err
			}
		}
	}
	out := glmv.Message{JSON: obj.Encode()}
	for _, p := range msg.Content {
		if p.Image != nil || p.Video != nil {
			out.Content = append(out.Content, p)
		}
	}
	return out, nil
}

// templateContent turns image_url and video_url parts into placeholders.
// (transformers' processor would keep an image's URL as {"type": "image",
// "url": …}; here it is a base64 data: URL of up to 64 MiB, which no
// template prints, so it is left out of the template's context.)
func templateContent(val json.RawMessage) (json.RawMessage, error) {
	parts, ok, err := jsonobj.List(val)
	if !ok || err != nil {
		return val, err
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
	return jsonobj.EncodeList(parts), nil
}

func templateToolCalls(val json.RawMessage) (json.RawMessage, error) {
	calls, ok, err := jsonobj.List(val)
	if !ok || err != nil {
		return val, err
	}
	for i, c := range calls {
		call, err := jsonobj.Decode(c)
		if err != nil {
			return nil, fmt.Errorf("tool_calls[%d]: %w", i, err)
		}
		for j := range call {
			if call[j].Key != "function" {
				continue
			}
			fn, err := jsonobj.Decode(call[j].Value)
			if err != nil {
				return nil, fmt.Errorf("tool_calls[%d].function: %w", i, err)
			}
			for k := range fn {
				var s string
				if fn[k].Key != "arguments" || json.Unmarshal(fn[k].Value, &s) != nil {
					continue
				}
				if strings.TrimSpace(s) == "" {
					s = "{}"
				}
				if !json.Valid([]byte(s)) {
					return nil, fmt.Errorf("tool_calls[%d]: arguments are not valid JSON", i)
				}
				fn[k].Value = json.RawMessage(s)
			}
			call[j].Value = fn.Encode()
		}
		calls[i] = call.Encode()
	}
	return jsonobj.EncodeList(calls), nil
}
