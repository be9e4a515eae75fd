// Package server serves a loaded model over an OpenAI-compatible HTTP API:
// POST /v1/chat/completions (streamed as server-sent events or whole),
// GET /v1/models and GET /health. Thinking is returned in
// reasoning_content, tool calls in tool_calls, and grounding boxes in an
// extra "boxes" field with pixel coordinates.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/glmv/glmv"
	"github.com/glmv/glmv/chat"
)

// MaxBodyBytes bounds a request body (images arrive base64-encoded).
const MaxBodyBytes = 96 << 20

// Server answers chat-completion requests with one model, one request at
// a time (others wait their turn, or give up when the client leaves).
type Server struct {
	model *glmv.Model
	gen   generator // s.model, or a test's stand-in
	name  string
	log   *slog.Logger
	turn  chan struct{}
	ids   atomic.Uint64
	now   func() time.Time
}

// New makes a server for m, announced under name; log may be nil.
func New(m *glmv.Model, name string, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{model: m, gen: m, name: name, log: log, turn: make(chan struct{}, 1), now: time.Now}
}

// generator streams the answer to a request; *glmv.Model is the one used
// outside tests.
type generator interface {
	Generate(ctx context.Context, req glmv.Request) iter.Seq2[glmv.Event, error]
}

// Handler routes the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /v1/models", s.models)
	mux.HandleFunc("POST /v1/chat/completions", s.chatCompletions)
	s.routeWeb(mux)
	return mux
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data": []map[string]any{{
			"id": s.name, "object": "model", "owned_by": "glmv", "created": 0,
			"max_model_len": s.model.ContextLimit(),
		}},
	})
}

type apiError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	var e apiError
	e.Error.Message = msg
	e.Error.Type = "invalid_request_error"
	if status >= 500 {
		e.Error.Type = "server_error"
	}
	writeJSON(w, status, e)
}

// marshal encodes v without HTML escaping, so "<think>" stays readable.
func marshal(v any) []byte {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return []byte(strings.TrimSuffix(b.String(), "\n"))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// message is the assistant message of a response (whole or delta).
type message struct {
	Role             string        `json:"role,omitempty"`
	Content          *string       `json:"content,omitempty"`
	ReasoningContent string        `json:"reasoning_content,omitempty"`
	ToolCalls        []apiToolCall `json:"tool_calls,omitempty"`
	Boxes            []box         `json:"boxes,omitempty"`
}

// box is a grounding box: the text the model wrote and its shapes in
// pixels of the last input image (0–1000 model space in "norm").
type box struct {
	Text   string     `json:"text"`
	Shapes []boxShape `json:"shapes"`
}

type boxShape struct {
	Norm   []float64 `json:"norm"`
	Pixels []float64 `json:"pixels,omitempty"`
}

type choice struct {
	Index        int      `json:"index"`
	Message      *message `json:"message,omitempty"`
	Delta        *message `json:"delta,omitempty"`
	FinishReason *string  `json:"finish_reason"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type completion struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []choice `json:"choices"`
	Usage   *usage   `json:"usage,omitempty"`
}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body: %v", err))
		return
	}
	cr, req, err := decodeRequest(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx := r.Context()
	select {
	case s.turn <- struct{}{}:
		defer func() { <-s.turn }()
	case <-ctx.Done():
		return
	}
	id := fmt.Sprintf("chatcmpl-%d-%d", s.now().Unix(), s.ids.Add(1))
	base := completion{ID: id, Created: s.now().Unix(), Model: s.name}
	var flusher http.Flusher
	if cr.Stream {
		f, ok := w.(http.Flusher)
		if !ok {
			writeError(w, http.StatusInternalServerError, "streaming is not supported by this connection")
			return
		}
		flusher = f
	}
	started := false
	send := func(m *message, finish *string) {
		c := base
		c.Object = "chat.completion.chunk"
		c.Choices = []choice{{Delta: m, FinishReason: finish}}
		if !started {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		b := marshal(c)
		fmt.Fprintf(w, "data: %s\n\n", b)
		flusher.Flush()
	}
	var whole message
	var content strings.Builder
	var u *glmv.Usage
	for ev, err := range s.gen.Generate(ctx, *req) {
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			status := http.StatusInternalServerError
			var in *glmv.InputError
			if errors.As(err, &in) {
				status = http.StatusBadRequest
			}
			if started {
				b := marshal(apiError{Error: struct {
					Message string `json:"message"`
					Type    string `json:"type"`
				}{err.Error(), "server_error"}})
				fmt.Fprintf(w, "data: %s\n\n", b)
				return
			}
			s.log.Warn("request failed", "id", id, "err", err)
			writeError(w, status, err.Error())
			return
		}
		var delta message
		switch ev.Kind {
		case glmv.EventThinking:
			delta.ReasoningContent = ev.Text
			whole.ReasoningContent += ev.Text
		case glmv.EventAnswer, glmv.EventRaw:
			t := ev.Text
			delta.Content = &t
			content.WriteString(t)
		case glmv.EventBox:
			b := convertBox(ev.Box)
			delta.Boxes = []box{b}
			whole.Boxes = append(whole.Boxes, b)
			if ev.InThinking {
				delta.ReasoningContent = ev.Text
				whole.ReasoningContent += ev.Text
			} else {
				t := ev.Text
				delta.Content = &t
				content.WriteString(t)
			}
		case glmv.EventToolCall:
			tc := convertToolCall(ev.ToolCall, len(whole.ToolCalls), id)
			delta.ToolCalls = []apiToolCall{tc}
			whole.ToolCalls = append(whole.ToolCalls, tc)
		case glmv.EventDone:
			u = ev.Usage
			continue
		}
		if cr.Stream {
			if !started {
				send(&message{Role: "assistant"}, nil)
			}
			send(&delta, nil)
		}
	}
	if u == nil {
		return
	}
	finish := u.FinishReason
	if finish == "cancelled" {
		return
	}
	if len(whole.ToolCalls) > 0 && finish == "stop" {
		finish = "tool_calls"
	}
	use := &usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.PromptTokens + u.CompletionTokens}
	s.log.Info("completion", "id", id, "prompt_tokens", u.PromptTokens, "completion_tokens", u.CompletionTokens,
		"finish", finish, "ttft_ms", u.TimeToFirstToken.Milliseconds())
	if cr.Stream {
		if !started {
			send(&message{Role: "assistant"}, nil)
		}
		send(&message{}, &finish)
		if cr.StreamOptions != nil && cr.StreamOptions.IncludeUsage {
			c := base
			c.Object = "chat.completion.chunk"
			c.Choices = []choice{}
			c.Usage = use
			b := marshal(c)
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
		flusher.Flush()
		return
	}
	whole.Role = "assistant"
	text := strings.TrimSpace(content.String())
	whole.Content = &text
	whole.ReasoningContent = strings.TrimSpace(whole.ReasoningContent)
	c := base
	c.Object = "chat.completion"
	c.Choices = []choice{{Message: &whole, FinishReason: &finish}}
	c.Usage = use
	writeJSON(w, http.StatusOK, c)
}

func convertBox(b *chat.Box) box {
	out := box{Text: b.Text, Shapes: []boxShape{}}
	for _, s := range b.Shapes {
		out.Shapes = append(out.Shapes, boxShape{Norm: s.Norm, Pixels: s.Pixels})
	}
	return out
}

func convertToolCall(tc *chat.ToolCall, index int, id string) apiToolCall {
	var out apiToolCall
	out.ID = fmt.Sprintf("call_%s_%d", strings.TrimPrefix(id, "chatcmpl-"), index)
	out.Type = "function"
	out.Index = &index
	out.Function.Name = tc.Function.Name
	args := string(tc.Function.Arguments)
	if args == "" {
		args = "{}"
	}
	out.Function.Arguments = args
	return out
}
