package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// messageFields is Message without its methods, for the typed JSON form.
type messageFields Message

// MarshalJSON writes Raw when it is set, else the typed fields.
func (m Message) MarshalJSON() ([]byte, error) {
	if m.Raw != nil {
		return m.Raw, nil
	}
	return json.Marshal(messageFields(m))
}

// UnmarshalJSON keeps the message object exactly as given in Raw (the
// template sees it unchanged) and reads Role from it; the other typed
// fields stay empty. Anything but a JSON object is refused.
func (m *Message) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("message: want a JSON object, got %.40s", b)
	}
	var head struct {
		Role json.RawMessage `json:"role"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return fmt.Errorf("message: %w", err)
	}
	*m = Message{Raw: bytes.Clone(b)}
	var role string
	if json.Unmarshal(head.Role, &role) == nil {
		m.Role = role
	}
	return nil
}

// contextFields is Context without its methods.
type contextFields Context

// UnmarshalJSON reads a template context; keys other than messages,
// tools, add_generation_prompt and enable_thinking become Extra
// variables, passed to the template verbatim as transformers passes
// extra keyword arguments.
func (c *Context) UnmarshalJSON(b []byte) error {
	var fields contextFields
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	*c = Context(fields)
	for k, v := range all {
		switch k {
		case "messages", "tools", "add_generation_prompt", "enable_thinking":
			continue
		}
		if c.Extra == nil {
			c.Extra = map[string]any{}
		}
		c.Extra[k] = v
	}
	return nil
}
