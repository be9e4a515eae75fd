package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/glmv/glmv"
	"github.com/glmv/glmv/chat"
)

// chatRequest is the subset of OpenAI's chat-completions request that
// glmv understands; fields it cannot honour are refused (see
// refusedChatFields), other unknown fields are ignored.
type chatRequest struct {
	Model               string             `json:"model"`
	Messages            []chatMessage      `json:"messages"`
	Stream              bool               `json:"stream"`
	StreamOptions       *streamOptions     `json:"stream_options"`
	MaxTokens           *int               `json:"max_tokens"`
	MaxCompletionTokens *int               `json:"max_completion_tokens"`
	Temperature         *float64           `json:"temperature"`
	TopP                *float64           `json:"top_p"`
	TopK                *int               `json:"top_k"`
	MinP                *float64           `json:"min_p"`
	RepetitionPenalty   *float64           `json:"repetition_penalty"`
	Seed                *int64             `json:"seed"`
	Stop                json.RawMessage    `json:"stop"`
	Tools               []json.RawMessage  `json:"tools"`
	N                   *int               `json:"n"`
	PresencePenalty     *float64           `json:"presence_penalty"`
	FrequencyPenalty    *float64           `json:"frequency_penalty"`
	LogitBias           map[string]float64 `json:"logit_bias"`
	Logprobs            *bool              `json:"logprobs"`
	TopLogprobs         *int               `json:"top_logprobs"`
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
		URL    string `json:"url"`
		Detail string `json:"detail"`
	} `json:"image_url"`
	VideoURL *struct {
		URL string `json:"url"`
	} `json:"video_url"`
}

// MaxImageBytes bounds one decoded data: URL image.
const MaxImageBytes = 64 << 20

// refusedChatFields are OpenAI request fields glmv cannot honour; a request
// that sets one (to anything but null) is refused rather than silently
// answered differently from what it asked.
var refusedChatFields = map[string]string{
	"functions":          "use tools",
	"function_call":      "use tools",
	"audio":              "glmv has no audio output",
	"modalities":         "glmv answers in text only",
	"prediction":         "predicted outputs are not implemented",
	"web_search_options": "glmv does not search the web",
	"best_of":            "glmv generates one sequence",
	"echo":               "the prompt is not echoed",
	"suffix":             "glmv does not fill in the middle",
	"reasoning_effort":   "thinking is on or off: use chat_template_kwargs.enable_thinking",
	"verbosity":          "glmv has no verbosity control",
}

// decodeJSON decodes exactly one JSON object from body into v: trailing
// bytes other than white space are refused, and a field of refused
// (set to anything but null) is refused naming it. It reads the body in
// place (no copy of it), since a body can be tens of megabytes of images.
func decodeJSON(body []byte, v any, what string, refused map[string]string) error {
	if err := json.Unmarshal(body, v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) && strings.Contains(err.Error(), "after top-level value") {
			return badRequest("request body has data after the JSON object")
		}
		return badRequest("request body is not a valid %s JSON object: %v", what, err)
	}
	if len(refused) > 0 {
		var fields map[string]present
		if err := json.Unmarshal(body, &fields); err != nil {
			return badRequest("request body is not a JSON object")
		}
		for k, set := range fields {
			if why, ok := refused[k]; ok && bool(set) {
				return unsupported(k, why)
			}
		}
	}
	return nil
}

// present records whether a JSON value is set (not null) without keeping
// a copy of it.
type present bool

func (p *present) UnmarshalJSON(b []byte) error {
	*p = string(b) != "null"
	return nil
}

// samplingFields are what chat and text completions share.
type samplingFields struct {
	maxTokens           *int
	maxTokensParam      string
	seed                *int64
	stop                json.RawMessage
	presence, frequency *float64
	logitBias           map[string]float64
	n                   *int
}

// apply validates the shared fields and sets them on req.
func (f samplingFields) apply(req *glmv.Request) error {
	if f.n != nil && *f.n != 1 {
		return badParam("n", "n must be 1 (glmv generates one choice)")
	}
	if f.maxTokens != nil {
		if *f.maxTokens < 1 {
			return badParam(f.maxTokensParam, "%s must be at least 1, is %d", f.maxTokensParam, *f.maxTokens)
		}
		req.MaxTokens = *f.maxTokens
	}
	if f.seed != nil {
		req.Seed = uint64(*f.seed)
	}
	if len(f.stop) > 0 && string(f.stop) != "null" {
		var one string
		if err := json.Unmarshal(f.stop, &one); err == nil {
			req.Stop = []string{one}
		} else if err := json.Unmarshal(f.stop, &req.Stop); err != nil {
			return badParam("stop", "stop must be a string or a list of strings")
		}
		if len(req.Stop) > 4 {
			return badParam("stop", "at most 4 stop strings, got %d", len(req.Stop))
		}
	}
	for name, p := range map[string]*float64{"presence_penalty": f.presence, "frequency_penalty": f.frequency} {
		if p != nil && !(*p >= -2 && *p <= 2) {
			return badParam(name, "%s must be in [-2, 2], is %g", name, *p)
		}
	}
	req.PresencePenalty, req.FrequencyPenalty = f.presence, f.frequency
	if len(f.logitBias) > 0 {
		req.LogitBias = make(map[int]float64, len(f.logitBias))
		for k, v := range f.logitBias {
			id, err := strconv.Atoi(k)
			if err != nil || id < 0 {
				return badParam("logit_bias", "logit_bias keys must be token ids, not %q", k)
			}
			if !(v >= -100 && v <= 100) {
				return badParam("logit_bias", "logit_bias values must be in [-100, 100], token %d has %g", id, v)
			}
			req.LogitBias[id] = v
		}
	}
	return nil
}

// decodeRequest validates an OpenAI chat request and turns it into a glmv
// one.
func decodeRequest(body []byte) (*chatRequest, *glmv.Request, error) {
	var cr chatRequest
	if err := decodeJSON(body, &cr, "chat-completions", refusedChatFields); err != nil {
		return nil, nil, err
	}
	if len(cr.Messages) == 0 {
		return nil, nil, badParam("messages", "messages must be a non-empty list")
	}
	req := &glmv.Request{
		Temperature: cr.Temperature, TopP: cr.TopP, TopK: cr.TopK, MinP: cr.MinP,
		RepetitionPenalty: cr.RepetitionPenalty, Tools: cr.Tools,
		Thinking: cr.ChatTemplateKwargs.EnableThinking,
	}
	f := samplingFields{maxTokens: cr.MaxTokens, maxTokensParam: "max_tokens", seed: cr.Seed, stop: cr.Stop,
		presence: cr.PresencePenalty, frequency: cr.FrequencyPenalty, logitBias: cr.LogitBias, n: cr.N}
	if cr.MaxCompletionTokens != nil {
		f.maxTokens, f.maxTokensParam = cr.MaxCompletionTokens, "max_completion_tokens"
	}
	if err := f.apply(req); err != nil {
		return nil, nil, err
	}
	req.Logprobs = cr.Logprobs != nil && *cr.Logprobs
	if cr.TopLogprobs != nil {
		if !req.Logprobs {
			return nil, nil, badParam("top_logprobs", "top_logprobs needs logprobs: true")
		}
		if *cr.TopLogprobs < 0 || *cr.TopLogprobs > glmv.MaxTopLogprobs {
			return nil, nil, badParam("top_logprobs", "top_logprobs must be in [0, %d], is %d", glmv.MaxTopLogprobs, *cr.TopLogprobs)
		}
		req.TopLogprobs = *cr.TopLogprobs
	}
	var err error
	if req.Messages, err = convertMessages(cr.Messages); err != nil {
		return nil, nil, err
	}
	if err := applyConstraint(body, req); err != nil {
		return nil, nil, err
	}
	return &cr, req, nil
}

// convertMessages turns the request's messages into glmv ones, each
// carrying its JSON for the chat template.
func convertMessages(in []chatMessage) ([]glmv.Message, error) {
	var out []glmv.Message
	for i, m := range in {
		msg, err := convertMessage(m)
		if err == nil {
			msg, err = withTemplateJSON(msg, m.raw)
		}
		if err != nil {
			return nil, badParam(fmt.Sprintf("messages[%d]", i), "messages[%d]: %v", i, err)
		}
		out = append(out, msg)
	}
	return out, nil
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
			switch p.ImageURL.Detail {
			case "", "auto", "low", "high":
			default:
				return msg, fmt.Errorf("content[%d]: image_url.detail must be \"low\", \"high\" or \"auto\", not %q", j, p.ImageURL.Detail)
			}
			msg.Content = append(msg.Content, glmv.Part{Image: &glmv.Image{Data: data, Detail: p.ImageURL.Detail}})
		case "video_url":
			if p.VideoURL == nil {
				return msg, fmt.Errorf("content[%d]: video_url part without video_url", j)
			}
			data, err := decodeDataURL(p.VideoURL.URL)
			if err != nil {
				return msg, fmt.Errorf("content[%d]: %v", j, err)
			}
			msg.Content = append(msg.Content, glmv.Part{Video: &glmv.Video{Data: data}})
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
		return nil, errors.New("only data: URLs (base64-encoded images or videos) are accepted; glmv does not fetch remote images or videos")
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok || !strings.HasSuffix(meta, ";base64") {
		return nil, errors.New("data: URL must be base64-encoded (data:image/png;base64,...)")
	}
	if base64.StdEncoding.DecodedLen(len(payload)) > MaxImageBytes {
		return nil, fmt.Errorf("data: URL is larger than %d bytes", MaxImageBytes)
	}
	data, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return nil, fmt.Errorf("data: URL is not valid base64: %v", err)
	}
	return data, nil
}
