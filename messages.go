package glmv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/glmv/glmv/chat"
)

// jsonMessage checks a message given as JSON (Message.JSON) and returns it
// as the template will see it.
func jsonMessage(msg Message) (chat.Message, error) {
	if msg.Role != "" || msg.Reasoning != "" || msg.ToolCalls != nil || msg.ToolCallID != "" || msg.Name != "" {
		return chat.Message{}, errors.New("a message given as JSON must leave Role, Reasoning, ToolCalls, ToolCallID and Name empty (put them in the JSON)")
	}
	var cm chat.Message
	if err := json.Unmarshal(msg.JSON, &cm); err != nil {
		return chat.Message{}, err
	}
	want, err := mediaKinds(msg.JSON)
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
// transformers' apply_chat_template takes. The template sees the JSON
// unchanged; the pixels of each part of type "image" or "video" are read
// from the local file its "image"/"video", "url" or "path" field names
// (a "video" field may also be a list of frame images, taken at fps, 2
// when the part has none). Remote URLs are not fetched.
func MessageFromJSON(raw json.RawMessage) (Message, error) {
	msg := Message{JSON: bytes.Clone(raw)}
	var cm chat.Message
	if err := json.Unmarshal(raw, &cm); err != nil {
		return Message{}, err
	}
	parts, err := contentParts(raw)
	if err != nil {
		return Message{}, err
	}
	for i, p := range parts {
		t := partType(p)
		if t != "image" && t != "video" {
			continue
		}
		var src struct {
			Image, URL, Path string
			Video            json.RawMessage
			FPS              float64 `json:"fps"`
		}
		if err := json.Unmarshal(p, &src); err != nil {
			return Message{}, fmt.Errorf("content[%d]: %w", i, err)
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
					return Message{}, fmt.Errorf("content[%d]: video must be a file name or a list of frame files", i)
				}
				path = ""
			}
		}
		path = strings.TrimPrefix(path, "file://")
		switch {
		case len(frames) > 0:
			msg.Content = append(msg.Content, Part{Video: &Video{Frames: frames, FPS: src.FPS}})
		case path == "":
			return Message{}, fmt.Errorf("content[%d]: %s part names no file (image, video, url or path)", i, t)
		case strings.Contains(path, "://") || strings.HasPrefix(path, "data:"):
			return Message{}, fmt.Errorf("content[%d]: only local files are read, not %.40q", i, path)
		case t == "image":
			msg.Content = append(msg.Content, ImageFile(path))
		default:
			msg.Content = append(msg.Content, VideoFile(path))
		}
	}
	return msg, nil
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
