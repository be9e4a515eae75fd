// Package server serves a loaded model over an OpenAI-compatible HTTP API:
// POST /v1/chat/completions and /v1/completions (streamed as server-sent
// events or whole), GET /v1/models and /v1/models/{id}, POST /tokenize
// and /detokenize (as vLLM names them), GET /health and GET /metrics
// (Prometheus), and a chat page at /. Thinking is returned in reasoning_content, tool calls in
// tool_calls, and grounding boxes in an extra "boxes" field with pixel
// coordinates. Errors come back in OpenAI's shape with param and code
// where they apply.
package server

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/glmv/glmv"
	"github.com/glmv/glmv/chat"
)

// MaxBodyBytes is the default bound on a request body (images arrive
// base64-encoded).
const MaxBodyBytes = 96 << 20

// Options configure a Server. The zero value is usable.
type Options struct {
	// Log receives access logs and diagnostics; nil discards them.
	Log *slog.Logger
	// APIKey, when set, is required as "Authorization: Bearer KEY" on the
	// API routes (not on /health and /metrics).
	APIKey string
	// CORSOrigins lists the origins browsers may call from ("*" for any);
	// empty disables CORS headers.
	CORSOrigins []string
	// Limits bound the work one request may ask for.
	Limits Limits
}

// Server answers OpenAI-style requests with one model, as many at a time
// as the model's engine batches together (glmv.Options.Parallel); others
// wait their turn in a bounded queue, or give up when the client leaves.
type Server struct {
	opts    Options
	log     *slog.Logger
	model   atomic.Pointer[loaded]
	waiting atomic.Int64
	ids     atomic.Uint64
	now     func() time.Time
	metrics *metrics
	mem     memoryReturner
	large   *slots // large requests in flight
	// avgMillis is a moving average of request durations.
	avgMillis atomic.Int64
	// gen, when set, generates instead of the model (a test's stand-in).
	gen generator
}

// generator streams the answer to a request, as *glmv.Model does.
type generator interface {
	Generate(ctx context.Context, req glmv.Request) iter.Seq2[glmv.Event, error]
}

// loaded is the model once it is ready.
type loaded struct {
	m    *glmv.Model
	name string
	// turn holds one slot per sequence the model's engine runs at once.
	turn chan struct{}
}

// New makes a server for m, announced under name; log may be nil.
func New(m *glmv.Model, name string, log *slog.Logger) *Server {
	s := NewServer(Options{Log: log})
	s.SetModel(m, name)
	return s
}

// NewServer makes a server without a model: /health answers "loading" and
// the API 503 until SetModel is called.
func NewServer(opts Options) *Server {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	opts.Limits = opts.Limits.withDefaults()
	return &Server{opts: opts, log: opts.Log, now: time.Now, metrics: newMetrics(), large: newSlots(opts.Limits.MaxLargeRequests)}
}

// SetModel makes the server ready to answer with m under name.
func (s *Server) SetModel(m *glmv.Model, name string) {
	s.model.Store(&loaded{m: m, name: name, turn: make(chan struct{}, m.Parallel())})
	s.SetCacheStats(engineCacheStats(m))
}

// Handler routes the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("GET /v1/models", s.ready(s.models))
	mux.HandleFunc("GET /v1/models/{id...}", s.ready(s.modelByID))
	mux.HandleFunc("POST /v1/chat/completions", s.ready(s.chatCompletions))
	mux.HandleFunc("POST /v1/completions", s.ready(s.completions))
	mux.HandleFunc("POST /tokenize", s.ready(s.tokenize))
	mux.HandleFunc("POST /detokenize", s.ready(s.detokenize))
	s.routeWeb(mux)
	return s.middleware(openAIErrors(mux))
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if s.model.Load() == nil {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "loading"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// ready answers 503 while the model is loading.
func (s *Server) ready(h func(http.ResponseWriter, *http.Request, *loaded)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l := s.model.Load()
		if l == nil {
			writeErr(w, &httpError{status: http.StatusServiceUnavailable, msg: "the model is still loading", code: "model_loading", retryAfter: 5})
			return
		}
		h(w, r, l)
	}
}

func (l *loaded) modelCard() map[string]any {
	return map[string]any{"id": l.name, "object": "model", "owned_by": "glmv", "created": 0, "max_model_len": l.m.ContextLimit()}
}

func (s *Server) models(w http.ResponseWriter, r *http.Request, l *loaded) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []map[string]any{l.modelCard()}})
}

func (s *Server) modelByID(w http.ResponseWriter, r *http.Request, l *loaded) {
	if id := r.PathValue("id"); id != l.name {
		writeErr(w, modelNotFound(id))
		return
	}
	writeJSON(w, http.StatusOK, l.modelCard())
}

func modelNotFound(id string) *httpError {
	return &httpError{status: http.StatusNotFound, msg: fmt.Sprintf("the model %q does not exist", id), param: "model", code: "model_not_found"}
}

// checkModel refuses a request for another model than the one served (an
// empty name means the served one).
func (l *loaded) checkModel(name string) error {
	if name != "" && name != l.name {
		return modelNotFound(name)
	}
	return nil
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
	Index        int           `json:"index"`
	Message      *message      `json:"message,omitempty"`
	Delta        *message      `json:"delta,omitempty"`
	Logprobs     *chatLogprobs `json:"logprobs,omitempty"`
	FinishReason *string       `json:"finish_reason"`
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

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request, l *loaded) {
	body, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	cr, req, err := decodeRequest(body)
	if err == nil {
		err = l.checkModel(cr.Model)
	}
	if err == nil {
		err = s.check(r.Context(), req, l.m)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	id := fmt.Sprintf("chatcmpl-%d-%d", s.now().Unix(), s.ids.Add(1))
	base := completion{ID: id, Created: s.now().Unix(), Model: l.name}
	if cr.Seed == nil {
		req.Seed = randomSeed()
	}
	out := &chatOutput{base: base, id: id, stream: cr.Stream,
		includeUsage: cr.StreamOptions != nil && cr.StreamOptions.IncludeUsage, logprobs: req.Logprobs}
	s.run(w, r, l, req, out)
}

// chatOutput turns events into chat.completion(.chunk) objects.
type chatOutput struct {
	base                           completion
	id                             string
	stream, includeUsage, logprobs bool
	whole                          message
	content                        strings.Builder
	lps                            []logprobContent
}

func (o *chatOutput) streaming() bool { return o.stream }

func (o *chatOutput) chunk(m *message, lps []logprobContent, finish *string) completion {
	c := o.base
	c.Object = "chat.completion.chunk"
	ch := choice{Delta: m, FinishReason: finish}
	if o.logprobs && len(lps) > 0 {
		ch.Logprobs = &chatLogprobs{Content: lps}
	}
	c.Choices = []choice{ch}
	return c
}

func (o *chatOutput) first() any { return o.chunk(&message{Role: "assistant"}, nil, nil) }

func (o *chatOutput) event(ev glmv.Event) any {
	var delta message
	lps := convertLogprobs(ev.Logprobs)
	o.lps = append(o.lps, lps...)
	switch ev.Kind {
	case glmv.EventThinking:
		delta.ReasoningContent = ev.Text
		o.whole.ReasoningContent += ev.Text
	case glmv.EventAnswer, glmv.EventRaw:
		t := ev.Text
		delta.Content = &t
		o.content.WriteString(t)
	case glmv.EventBox:
		b := convertBox(ev.Box)
		delta.Boxes = []box{b}
		o.whole.Boxes = append(o.whole.Boxes, b)
		if ev.InThinking {
			delta.ReasoningContent = ev.Text
			o.whole.ReasoningContent += ev.Text
		} else {
			t := ev.Text
			delta.Content = &t
			o.content.WriteString(t)
		}
	case glmv.EventToolCall:
		tc := convertToolCall(ev.ToolCall, len(o.whole.ToolCalls), o.id)
		delta.ToolCalls = []apiToolCall{tc}
		o.whole.ToolCalls = append(o.whole.ToolCalls, tc)
	case glmv.EventDone:
		if len(lps) == 0 {
			return nil
		}
	}
	return o.chunk(&delta, lps, nil)
}

func (o *chatOutput) finish(u *glmv.Usage) (finish string, last []any) {
	finish = u.FinishReason
	if len(o.whole.ToolCalls) > 0 && finish == "stop" {
		finish = "tool_calls"
	}
	use := &usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.PromptTokens + u.CompletionTokens}
	if o.stream {
		last = append(last, o.chunk(&message{}, nil, &finish))
		if o.includeUsage {
			c := o.base
			c.Object = "chat.completion.chunk"
			c.Choices = []choice{}
			c.Usage = use
			last = append(last, c)
		}
		return finish, last
	}
	o.whole.Role = "assistant"
	text := strings.TrimSpace(o.content.String())
	o.whole.Content = &text
	o.whole.ReasoningContent = strings.TrimSpace(o.whole.ReasoningContent)
	c := o.base
	c.Object = "chat.completion"
	ch := choice{Message: &o.whole, FinishReason: &finish}
	if o.logprobs {
		ch.Logprobs = &chatLogprobs{Content: o.lps}
		if ch.Logprobs.Content == nil {
			ch.Logprobs.Content = []logprobContent{}
		}
	}
	c.Choices = []choice{ch}
	c.Usage = use
	return finish, []any{c}
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
