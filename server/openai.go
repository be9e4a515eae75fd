package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/glmv/glmv"
	"github.com/glmv/glmv/chat"
)

// chatRequest is the subset of OpenAI's chat-completions request that
// glmv understands; unknown fields are ignored.
type chatRequest struct {
	Model               string            `json:"model"`
	Messages            []chatMessage     `json:"messages"`
	Stream              bool              `json:"stream"`
	StreamOptions       *streamOptions    `json:"stream_options"`
	MaxTokens           *int              `json:"max_tokens"`
	MaxCompletionTokens *int              `json:"max_completion_tokens"`
	Temperature         *float64          `json:"temperature"`
	TopP                *float64          `json:"top_p"`
	TopK                *int              `json:"top_k"`
	MinP                *float64          `json:"min_p"`
	RepetitionPenalty   *float64          `json:"repetition_penalty"`
	Seed                *int64            `json:"seed"`
	Stop                json.RawMessage   `json:"stop"`
	Tools               []json.RawMessage `json:"tools"`
	N                   *int              `json:"n"`
	// ChatTemplateKwargs carries enable_thinking, as vLLM and SGLang
	// accept it.
	ChatTemplateKwargs struct {
		EnableThinking *bool `json:"enable_thinking"`
	} `json:"chat_template_kwargs"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role             string          `json:"role"`
	Content          json.RawMessage `json:"content"`
	ReasoningContent string          `json:"reasoning_content,omitempty"`
	ToolCalls        []apiToolCall   `json:"tool_calls,omitempty"`
	ToolCallID       string          `json:"tool_call_id,omitempty"`
	Name             string          `json:"name,omitempty"`
	raw              json.RawMessage // the message as sent (rawmessage.go)
}

type apiToolCall struct {
	ID       string `json:"id,omitempty"`
	Type     string `json:"type"`
	Index    *int   `json:"index,omitempty"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type contentPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url"`
	VideoURL *struct {
		URL string `json:"url"`
	} `json:"video_url"`
}

// requestError is a client error, answered with 400.
type requestError struct{ msg string }

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, a ...any) error { return &requestError{fmt.Sprintf(format, a...)} }

// MaxImageBytes bounds one decoded data: URL image.
const MaxImageBytes = 64 << 20

// decodeRequest validates an OpenAI request and turns it into a glmv one.
func decodeRequest(body []byte) (*chatRequest, *glmv.Request, error) {
	var cr chatRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if err := dec.Decode(&cr); err != nil {
		return nil, nil, badRequest("request body is not a valid chat-completions JSON object: %v", err)
	}
	if len(cr.Messages) == 0 {
		return nil, nil, badRequest("messages must be a non-empty list")
	}
	if cr.N != nil && *cr.N != 1 {
		return nil, nil, badRequest("n must be 1 (glmv generates one choice)")
	}
	req := &glmv.Request{
		Temperature: cr.Temperature, TopP: cr.TopP, TopK: cr.TopK, MinP: cr.MinP,
		RepetitionPenalty: cr.RepetitionPenalty, Tools: cr.Tools,
		Thinking: cr.ChatTemplateKwargs.EnableThinking,
	}
	switch {
	case cr.MaxCompletionTokens != nil:
		req.MaxTokens = *cr.MaxCompletionTokens
	case cr.MaxTokens != nil:
		req.MaxTokens = *cr.MaxTokens
	}
	if req.MaxTokens < 0 {
		return nil, nil, badRequest("max_tokens must not be negative")
	}
	if cr.Seed != nil {
		req.Seed = uint64(*cr.Seed)
	}
	if len(cr.Stop) > 0 && string(cr.Stop) != "null" {
		var one string
		if err := json.Unmarshal(cr.Stop, &one); err == nil {
			req.Stop = []string{one}
		} else if err := json.Unmarshal(cr.Stop, &req.Stop); err != nil {
			return nil, nil, badRequest("stop must be a string or a list of strings")
		}
	}
	for i, m := range cr.Messages {
		msg, err := convertMessage(m)
		if err == nil {
			msg, err = withTemplateJSON(msg, m.raw)
		}
		if err != nil {
			return nil, nil, badRequest("messages[%d]: %v", i, err)
		}
		req.Messages = append(req.Messages, msg)
	}
	return &cr, req, nil
}

func convertMessage(m chatMessage) (glmv.Message, error) {
	switch m.Role {
	case "system", "user", "assistant", "tool":
	case "developer":
		m.Role = "system"
	default:
		return glmv.Message{}, fmt.Errorf("unknown role %q", m.Role)
	}
	msg := glmv.Message{Role: m.Role, Reasoning: m.ReasoningContent, ToolCallID: m.ToolCallID, Name: m.Name}
	for _, tc := range m.ToolCalls {
		if tc.Function.Name == "" {
			return msg, errors.New("a tool call has no function name")
		}
		args := json.RawMessage(tc.Function.Arguments)
		if strings.TrimSpace(tc.Function.Arguments) == "" {
			args = json.RawMessage("{}")
		} else if !json.Valid(args) {
			return msg, fmt.Errorf("tool call %q: arguments are not valid JSON", tc.Function.Name)
		}
		msg.ToolCalls = append(msg.ToolCalls, chat.ToolCall{ID: tc.ID, Type: "function", Function: chat.FunctionCall{Name: tc.Function.Name, Arguments: args}})
	}
	if len(m.Content) == 0 || string(m.Content) == "null" {
		return msg, nil
	}
	var text string
	if err := json.Unmarshal(m.Content, &text); err == nil {
		msg.Content = []glmv.Part{glmv.Text(text)}
		return msg, nil
	}
	var parts []contentPart
	if err := json.Unmarshal(m.Content, &parts); err != nil {
		return msg, errors.New("content must be a string or a list of parts")
	}
	for j, p := range parts {
		switch p.Type {
		case "text":
			msg.Content = append(msg.Content, glmv.Text(p.Text))
		case "image_url":
			if p.ImageURL == nil {
				return msg, fmt.Errorf("content[%d]: image_url part without image_url", j)
			}
			data, err := decodeDataURL(p.ImageURL.URL)
			if err != nil {
				return msg, fmt.Errorf("content[%d]: %v", j, err)
			}
			msg.Content = append(msg.Content, glmv.ImageBytes(data))
		case "video_url":
			return msg, fmt.Errorf("content[%d]: video input is not supported over HTTP yet; use `glmv run --video`", j)
		default:
			return msg, fmt.Errorf("content[%d]: unknown part type %q", j, p.Type)
		}
	}
	return msg, nil
}

// decodeDataURL decodes a base64 data: URL. glmv never fetches remote
// URLs (the server may have no network, and fetching for a client is a
// security risk), so anything else is refused.
func decodeDataURL(u string) ([]byte, error) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return nil, errors.New("only data: URLs (base64-encoded images) are accepted; glmv does not fetch remote images")
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok || !strings.HasSuffix(meta, ";base64") {
		return nil, errors.New("data: URL must be base64-encoded (data:image/png;base64,...)")
	}
	if base64.StdEncoding.DecodedLen(len(payload)) > MaxImageBytes {
		return nil, fmt.Errorf("image is larger than %d bytes", MaxImageBytes)
	}
	data, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return nil, fmt.Errorf("data: URL is not valid base64: %v", err)
	}
	return data, nil
}
