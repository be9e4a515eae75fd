package glmv

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/glmv/glmv/chat"
	"github.com/glmv/glmv/internal/jsonobj"
)

// jsonMessage checks a message given as JSON (Message.JSON) and returns it
// as the template will see it.
func jsonMessage(msg Message) (chat.Message, error) {
	if msg.Role != "" || msg.Reasoning != "" || msg.ToolCalls != nil || msg.ToolCallID != "" || msg.Name != "" {
		return chat.Message{}, errors.New("a message given as JSON must leave Role, Reasoning, ToolCalls, ToolCallID and Name empty (put them in the JSON)")
	}
	raw, err := normalizeImageURL(msg.JSON)
	if err != nil {
		return chat.Message{}, err
	}
	var cm chat.Message
	if err := json.Unmarshal(raw, &cm); err != nil {
		return chat.Message{}, err
	}
	want, err := mediaKinds(raw)
	if err != nil {
		return chat.Message{}, err
	}
	var got []string
	for i, p := range msg.Content {
		switch {
		case p.Image != nil:
			got = append(got, "image")
		case p.Video != nil:
			got = append(got, "video")
		default:
			return chat.Message{}, fmt.Errorf("part %d: with JSON, Content carries only images and videos (text goes in the JSON)", i+1)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		return chat.Message{}, fmt.Errorf("the JSON content has media parts [%s] but Content carries [%s]; they must match in kind and order", strings.Join(want, ", "), strings.Join(got, ", "))
	}
	return cm, nil
}

// normalizeImageURL rewrites OpenAI-style image parts, {"type":
// "image_url", "image_url": {"url": U}} (or "image_url": U), as
// transformers' processor apply_chat_template does before templating:
// {"type": "image", "url": U}. The rest of the message is kept as written.
func normalizeImageURL(raw json.RawMessage) (json.RawMessage, error) {
	obj, err := jsonobj.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	for i := range obj {
		if obj[i].Key != "content" {
			continue
		}
		parts, ok, err := jsonobj.List(obj[i].Value)
		if err != nil {
			return nil, fmt.Errorf("message content: %w", err)
		}
		if !ok {
			return raw, nil
		}
		changed := false
		for j, p := range parts {
			part, err := jsonobj.Decode(p)
			if err != nil || partType(p) != "image_url" || part.Get("image_url") == nil {
				continue
			}
			var url any = ""
			var inner struct {
				URL *any `json:"url"`
			}
			iu := part.Get("image_url")
			if json.Unmarshal(iu, &inner) == nil {
				if inner.URL != nil {
					url = *inner.URL
				}
			} else if err := json.Unmarshal(iu, &url); err != nil {
				return nil, fmt.Errorf("message content[%d]: %w", j, err)
			}
			u, err := json.Marshal(url)
			if err != nil {
				return nil, err
			}
			parts[j] = jsonobj.Object{{Key: "type", Value: json.RawMessage(`"image"`)}, {Key: "url", Value: u}}.Encode()
			changed = true
		}
		if !changed {
			return raw, nil
		}
		obj[i].Value = jsonobj.EncodeList(parts)
		return obj.Encode(), nil
	}
	return raw, nil
}

// mediaKinds lists the "image" and "video" parts of a JSON message's
// content, in order (the parts transformers' processor loads pixels for).
func mediaKinds(raw json.RawMessage) ([]string, error) {
	parts, err := contentParts(raw)
	if err != nil {
		return nil, err
	}
	var kinds []string
	for _, p := range parts {
		if t := partType(p); t == "image" || t == "video" {
			kinds = append(kinds, t)
		}
	}
	return kinds, nil
}

// contentParts returns the parts of a list content (nil for any other).
func contentParts(raw json.RawMessage) ([]json.RawMessage, error) {
	var m struct {
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	if c := bytes.TrimSpace(m.Content); len(c) == 0 || c[0] != '[' {
		return nil, nil
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(m.Content, &parts); err != nil {
		return nil, fmt.Errorf("message content: %w", err)
	}
	return parts, nil
}

func partType(p json.RawMessage) string {
	var t struct {
		Type any `json:"type"`
	}
	if json.Unmarshal(p, &t) != nil {
		return ""
	}
	s, _ := t.Type.(string)
	return s
}

// MessageFromJSON makes a Message from one message in the shape
// transformers' apply_chat_template takes. The template sees the JSON as
// transformers' processor passes it (unchanged but for OpenAI-style
// image_url parts, normalized to {"type": "image", "url": …}); the pixels
// of each part of type "image" or "video" are read from the local file its
// "image"/"video", "url" or "path" field names, an image also from a
// base64 data: URL or "base64" field, a video also from a list of frame
// images (taken at its fps, 2 when it has none). Remote URLs are not
// fetched.
func MessageFromJSON(raw json.RawMessage) (Message, error) {
	msg := Message{JSON: bytes.Clone(raw)}
	norm, err := normalizeImageURL(raw)
	if err != nil {
		return Message{}, err
	}
	var cm chat.Message
	if err := json.Unmarshal(norm, &cm); err != nil {
		return Message{}, err
	}
	parts, err := contentParts(norm)
	if err != nil {
		return Message{}, err
	}
	for i, p := range parts {
		t := partType(p)
		if t != "image" && t != "video" {
			continue
		}
		part, err := mediaPart(t, p)
		if err != nil {
			return Message{}, fmt.Errorf("content[%d]: %w", i, err)
		}
		msg.Content = append(msg.Content, part)
	}
	return msg, nil
}

// mediaPart reads the source of an "image" or "video" part: a local file
// named by its "image"/"video", "url" or "path" field, an image as a
// base64 data: URL or a "base64" field, or a video as a list of frames.
func mediaPart(t string, p json.RawMessage) (Part, error) {
	var src struct {
		Image, URL, Path, Base64 string
		Video                    json.RawMessage
		FPS                      float64 `json:"fps"`
	}
	if err := json.Unmarshal(p, &src); err != nil {
		return Part{}, err
	}
	if t == "image" && src.Base64 != "" {
		data, err := base64.StdEncoding.DecodeString(src.Base64)
		if err != nil {
			return Part{}, fmt.Errorf("base64: %w", err)
		}
		return ImageBytes(data), nil
	}
	path := src.Path
	for _, s := range []string{src.URL, src.Image} {
		if s != "" {
			path = s
		}
	}
	var frames []string
	if t == "video" && len(src.Video) > 0 {
		if err := json.Unmarshal(src.Video, &path); err != nil {
			if err := json.Unmarshal(src.Video, &frames); err != nil {
				return Part{}, fmt.Errorf("video must be a file name or a list of frame files")
			}
			return Part{Video: &Video{Frames: frames, FPS: src.FPS}}, nil
		}
	}
	path = strings.TrimPrefix(path, "file://")
	if rest, ok := strings.CutPrefix(path, "data:"); ok && t == "image" {
		meta, payload, ok := strings.Cut(rest, ",")
		if !ok || !strings.HasSuffix(meta, ";base64") {
			return Part{}, fmt.Errorf("a data: URL must be base64-encoded")
		}
		data, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			return Part{}, fmt.Errorf("data: URL: %w", err)
		}
		return ImageBytes(data), nil
	}
	switch {
	case path == "":
		return Part{}, fmt.Errorf("%s part names no file (image, video, url or path)", t)
	case strings.Contains(path, "://") || strings.HasPrefix(path, "data:"):
		return Part{}, fmt.Errorf("only local files and base64 images are read, not %.40q", path)
	case t == "image":
		return ImageFile(path), nil
	}
	return VideoFile(path), nil
}

// MessagesFromJSON reads a JSON list of messages (see MessageFromJSON).
func MessagesFromJSON(data []byte) ([]Message, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, fmt.Errorf("want a JSON list of messages: %w", err)
	}
	msgs := make([]Message, len(raws))
	for i, r := range raws {
		m, err := MessageFromJSON(r)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i+1, err)
		}
		msgs[i] = m
	}
	return msgs, nil
}
