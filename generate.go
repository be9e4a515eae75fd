package glmv

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"strings"
	"sync"
	"time"

	"github.com/glmv/glmv/chat"
	"github.com/glmv/glmv/engine"
	"github.com/glmv/glmv/media"
	"github.com/glmv/glmv/model"
	"github.com/glmv/glmv/prompt"
	"github.com/glmv/glmv/sample"
)

// Message is one turn of a conversation.
type Message struct {
	// Role is "system", "user", "assistant" or "tool".
	Role string
	// Content is the text, images and videos of the turn, in order.
	Content []Part
	// Reasoning is the thinking of an earlier assistant turn, if kept.
	Reasoning string
	// ToolCalls are the calls an earlier assistant turn made.
	ToolCalls []chat.ToolCall
	// ToolCallID and Name identify a tool result.
	ToolCallID, Name string
	// JSON, when set, is the whole message as a JSON object in the shape
	// transformers' apply_chat_template takes, and the chat template sees
	// exactly it: content null or a list of parts of any type, tool_calls
	// with or without the function wrapper, arguments as an object or a
	// string, and any other field. Role, Reasoning, ToolCalls, ToolCallID
	// and Name must then be empty, and Content holds only the pixels: one
	// Image or Video part for each part of type "image" or "video" in the
	// JSON content, in the same order. See MessageFromJSON.
	JSON json.RawMessage
}

// Part is one piece of a message: exactly one of Text, Image or Video.
type Part struct {
	Text  string
	Image *Image
	Video *Video
}

// Image is an image from a file or from encoded bytes (JPEG, PNG, GIF,
// WebP, BMP or TIFF).
type Image struct {
	Path string
	Data []byte
	// Detail is "low" (resized to at most LowDetailPixels, fewer tokens),
	// "high" or "auto"/"" (the checkpoint's processor settings).
	Detail string
}

// Video is a video file (decoded with ffmpeg) or a list of frame images
// taken at FPS frames per second.
type Video struct {
	Path   string
	Frames []string
	// Data is an encoded video file (MP4, WebM, …) held in memory; it is
	// written to a temporary file for ffmpeg and removed afterwards.
	Data []byte
	FPS  float64
}

// Text is a text part.
func Text(s string) Part { return Part{Text: s} }

// ImageFile is an image part read from path.
func ImageFile(path string) Part { return Part{Image: &Image{Path: path}} }

// ImageBytes is an image part from encoded bytes.
func ImageBytes(data []byte) Part { return Part{Image: &Image{Data: data}} }

// VideoFile is a video part read from path with ffmpeg.
func VideoFile(path string) Part { return Part{Video: &Video{Path: path}} }

// User is a user turn.
func User(parts ...Part) Message { return Message{Role: "user", Content: parts} }

// System is a system turn.
func System(text string) Message { return Message{Role: "system", Content: []Part{Text(text)}} }

// Assistant is an earlier assistant turn.
func Assistant(text string) Message { return Message{Role: "assistant", Content: []Part{Text(text)}} }

// Request is one generation request. Nil sampling fields take the
// checkpoint's generation_config.json defaults (greedy when it has none).
type Request struct {
	Messages []Message
	// Tools are JSON tool definitions passed to the chat template.
	Tools []json.RawMessage
	// MaxTokens caps the generated tokens; 0 means generation_config's
	// max_new_tokens, else 1024.
	MaxTokens int
	// Thinking switches the hybrid thinking on or off; nil keeps the
	// template's default.
	Thinking *bool

	Temperature       *float64
	TopK              *int
	TopP              *float64
	MinP              *float64
	RepetitionPenalty *float64
	// PresencePenalty and FrequencyPenalty follow OpenAI's definitions over
	// the generated tokens (see sample.Options).
	PresencePenalty  *float64
	FrequencyPenalty *float64
	// LogitBias adds a value in [-100, 100] to the logits of token ids.
	LogitBias map[int]float64
	// Seed seeds the sampler; the same seed and request give the same
	// output. 0 is a seed like any other: callers that want fresh
	// randomness draw one (the server and the CLI do when none is given).
	Seed uint64
	// Logprobs asks for the log-probability of each generated token, and
	// TopLogprobs (0–20) for that many most likely alternatives, carried
	// by Event.Logprobs.
	Logprobs    bool
	TopLogprobs int
	// Prompt, when set, is used as the raw prompt text instead of
	// rendering Messages with the chat template (for /v1/completions).
	Prompt string
	// Stop ends generation when the output contains one of these strings
	// (the stop string itself is not returned).
	Stop []string
	// Constraint restricts the answer (JSON, a JSON Schema, tool calls);
	// nil leaves it free.
	Constraint *Constraint
}

// EventKind says what an Event carries.
type EventKind int

// Event kinds, in the order they may appear.
const (
	// EventThinking is reasoning text.
	EventThinking EventKind = iota
	// EventAnswer is answer text.
	EventAnswer
	// EventBox is a grounding box (its text is also part of the answer).
	EventBox
	// EventToolCall is a complete tool call.
	EventToolCall
	// EventRaw is output that could not be parsed (malformed or cut off).
	EventRaw
	// EventDone ends the stream and carries the usage.
	EventDone
)

func (k EventKind) String() string {
	switch k {
	case EventThinking:
		return "thinking"
	case EventAnswer:
		return "answer"
	case EventBox:
		return "box"
	case EventToolCall:
		return "tool_call"
	case EventRaw:
		return "raw"
	case EventDone:
		return "done"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one piece of a streamed answer.
type Event struct {
	Kind EventKind
	// Text of thinking, answer and raw events; inner text of a box.
	Text string
	// InThinking marks boxes and tool calls written inside the thinking.
	InThinking bool
	Box        *chat.Box
	ToolCall   *chat.ToolCall
	Usage      *Usage
	// Logprobs are the log-probabilities of the tokens generated since the
	// previous event (when Request.Logprobs is set). Tokens whose text is
	// still held back (a possible marker or stop string) come with a later
	// event, at the latest with EventDone.
	Logprobs []TokenLogprob
}

// TokenLogprob is a generated token with its log-probability under the
// model's raw distribution (before penalties and temperature) and, when
// asked for, the most likely alternatives at that position.
type TokenLogprob struct {
	ID      int
	Token   string // the token's text (may be part of a UTF-8 character)
	Bytes   []byte
	Logprob float64
	Top     []TokenLogprob
}

// Usage reports what a request cost.
type Usage struct {
	PromptTokens     int
	VisionTokens     int
	CompletionTokens int
	// FinishReason is "stop" (end-of-turn token or stop string), "length"
	// (MaxTokens reached) or "cancelled".
	FinishReason string
	// Time spent reading and preprocessing media, in the vision tower, in
	// the prompt prefill and decoding, and until the first token.
	Preprocess, Vision, Prefill, Decode, TimeToFirstToken time.Duration
	// ImageWidth and ImageHeight are the original size of the last image
	// (what boxes refer to).
	ImageWidth, ImageHeight int
	// Tokens are the generated token ids (without the end-of-turn token).
	Tokens []int
	// CachedTokens of the prompt were reused from the engine's prefix
	// cache instead of computed.
	CachedTokens int
	// Seed is the sampler's seed (Request.Seed), to replay the answer.
	Seed uint64
}

// DecodeTokensPerSecond is the decode speed after the first token.
func (u *Usage) DecodeTokensPerSecond() float64 {
	if u.CompletionTokens <= 1 || u.Decode <= 0 {
		return 0
	}
	return float64(u.CompletionTokens-1) / u.Decode.Seconds()
}

// InputError reports a request that cannot be served as given: an image
// or video that cannot be read, a template error, bad sampling options, a
// prompt longer than the context. Servers answer it as a client error.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }

func inputError(err error) error {
	if err == nil {
		return nil
	}
	return &InputError{Err: err}
}

// PreparedPrompt is a request turned into model input.
type PreparedPrompt struct {
	// Text is the rendered prompt before placeholder expansion.
	Text string
	// IDs are the expanded prompt's token ids.
	IDs    []int
	Images []model.PixelInput
	Videos []model.PixelInput
	// ImageWidth and ImageHeight are the original size of the last image.
	ImageWidth, ImageHeight int
	Preprocess              time.Duration
}

// Prepare renders the chat template, reads and preprocesses the media and
// tokenizes the expanded prompt.
func (m *Model) Prepare(ctx context.Context, req *Request) (*PreparedPrompt, error) {
	pp, err := m.prepare(ctx, req)
	return pp, inputError(err)
}

func (m *Model) prepare(ctx context.Context, req *Request) (*PreparedPrompt, error) {
	start := time.Now()
	cc := chat.Context{Tools: req.Tools, AddGenerationPrompt: true, EnableThinking: req.Thinking}
	pp := &PreparedPrompt{}
	if req.Prompt != "" {
		if len(req.Messages) > 0 {
			return nil, fmt.Errorf("a request has either a raw prompt or messages, not both")
		}
		pp.Text = req.Prompt
		pp.IDs = m.Tokenizer.Encode(req.Prompt)
		pp.Preprocess = time.Since(start)
		return pp, nil
	}
	var grids [][3]int
	var videos []prompt.Video
	load := func(mi, pi int, p Part) error {
		switch {
		case p.Image != nil:
			if err := ctx.Err(); err != nil {
				return err
			}
			proc, err := m.processorFor(p.Image.Detail)
			if err != nil {
				return fmt.Errorf("message %d part %d: %w", mi+1, pi+1, err)
			}
			img, err := m.loadImage(p.Image)
			if err != nil {
				return fmt.Errorf("message %d part %d: %w", mi+1, pi+1, err)
			}
			pat, err := proc.ProcessImage(img)
			if err != nil {
				return fmt.Errorf("message %d part %d: %w", mi+1, pi+1, err)
			}
			pp.Images = append(pp.Images, model.PixelInput{Values: pat.Values, Grid: pat.Grid})
			grids = append(grids, pat.Grid)
			pp.ImageWidth, pp.ImageHeight = pat.OrigW, pat.OrigH
		case p.Video != nil:
			pat, ts, err := m.loadVideo(ctx, p.Video)
			if err != nil {
				return fmt.Errorf("message %d part %d: %w", mi+1, pi+1, err)
			}
			pp.Videos = append(pp.Videos, model.PixelInput{Values: pat.Values, Grid: pat.Grid})
			videos = append(videos, prompt.Video{Grid: pat.Grid, Timestamps: ts})
		}
		return nil
	}
	for mi, msg := range req.Messages {
		if msg.JSON != nil {
			cm, err := jsonMessage(msg)
			if err != nil {
				return nil, fmt.Errorf("message %d: %w", mi+1, err)
			}
			for pi, p := range msg.Content {
				if err := load(mi, pi, p); err != nil {
					return nil, err
				}
			}
			cc.Messages = append(cc.Messages, cm)
			continue
		}
		cm := chat.Message{Role: msg.Role, ToolCalls: msg.ToolCalls, ToolCallID: msg.ToolCallID, Name: msg.Name}
		if msg.Reasoning != "" {
			r := msg.Reasoning
			cm.ReasoningContent = &r
		}
		var parts []chat.Part
		onlyText := true
		for pi, p := range msg.Content {
			if err := load(mi, pi, p); err != nil {
				return nil, err
			}
			switch {
			case p.Image != nil:
				onlyText = false
				parts = append(parts, chat.Part{Type: "image"})
			case p.Video != nil:
				onlyText = false
				parts = append(parts, chat.Part{Type: "video"})
			default:
				parts = append(parts, chat.Part{Type: "text", Text: p.Text})
			}
		}
		if onlyText {
			var sb strings.Builder
			for _, p := range msg.Content {
				sb.WriteString(p.Text)
			}
			cm.Content = chat.TextContent(sb.String())
		} else {
			cm.Content = chat.PartsContent(parts...)
		}
		cc.Messages = append(cc.Messages, cm)
	}
	text, err := m.Template.Render(cc)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	pp.Text = text
	expanded, err := prompt.Expand(text, m.markers, m.Config.Vision.SpatialMerge, grids, videos, m.timestamp)
	if err != nil {
		return nil, err
	}
	pp.IDs = m.Tokenizer.Encode(expanded)
	pp.Preprocess = time.Since(start)
	return pp, nil
}

func (m *Model) loadImage(im *Image) (*media.Image, error) {
	if im.Path != "" {
		return media.LoadImage(im.Path, nil)
	}
	if len(im.Data) == 0 {
		return nil, fmt.Errorf("image part has neither a path nor data")
	}
	return media.DecodeImage(im.Data, nil)
}

// loadVideo samples, decodes and preprocesses a video; it returns the
// patches and the timestamp of each temporal group.
func (m *Model) loadVideo(ctx context.Context, v *Video) (*media.Patches, []float64, error) {
	var vid *media.Video
	var err error
	switch {
	case v.Path != "":
		ff, ferr := m.ffmpeg()
		if ferr != nil {
			return nil, nil, ferr
		}
		vid, err = m.proc.LoadVideo(ctx, ff, v.Path)
	case len(v.Data) > 0:
		vid, err = m.loadVideoBytes(ctx, v.Data)
	case len(v.Frames) > 0:
		frames := make([]*media.Image, len(v.Frames))
		for i, f := range v.Frames {
			if frames[i], err = media.LoadImage(f, nil); err != nil {
				return nil, nil, fmt.Errorf("video frame %d: %w", i, err)
			}
		}
		fps := v.FPS
		if fps <= 0 {
			fps = 2
		}
		vid, err = m.proc.SampleVideo(media.VideoFromFrames(frames, fps))
	default:
		return nil, nil, fmt.Errorf("video part has neither a path nor frames")
	}
	if err != nil {
		return nil, nil, err
	}
	pat, err := m.proc.ProcessVideo(vid.Frames)
	if err != nil {
		return nil, nil, err
	}
	return pat, media.GroupTimestamps(vid.Timestamps, pat.Grid[0]), nil
}

// samplerOptions merges the request with the checkpoint defaults.
func (m *Model) samplerOptions(req *Request) sample.Options {
	g := m.Generation
	o := sample.Options{Seed: req.Seed}
	if g.DoSample {
		o.Temperature, o.TopK, o.TopP = g.Temperature, g.TopK, g.TopP
	}
	o.RepetitionPenalty = g.RepetitionPenalty
	if req.Temperature != nil {
		o.Temperature = *req.Temperature
	}
	if req.TopK != nil {
		o.TopK = *req.TopK
	}
	if req.TopP != nil {
		o.TopP = *req.TopP
	}
	if req.MinP != nil {
		o.MinP = *req.MinP
	}
	if req.RepetitionPenalty != nil {
		o.RepetitionPenalty = *req.RepetitionPenalty
	}
	if req.PresencePenalty != nil {
		o.PresencePenalty = *req.PresencePenalty
	}
	if req.FrequencyPenalty != nil {
		o.FrequencyPenalty = *req.FrequencyPenalty
	}
	o.LogitBias = req.LogitBias
	return o
}

// Generate streams the answer to req. The sequence ends with an EventDone
// carrying the usage, or with an error. Breaking out of the loop or
// cancelling ctx stops generation.
func (m *Model) Generate(ctx context.Context, req Request) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		if err := m.generate(ctx, &req, yield); err != nil {
			yield(Event{}, err)
		}
	}
}

func (m *Model) generate(ctx context.Context, req *Request, yield func(Event, error) bool) error {
	so := m.samplerOptions(req)
	smp, err := sample.New(so)
	if err != nil {
		return inputError(fmt.Errorf("sampling options: %w", err))
	}
	if err := m.checkLogprobOptions(req); err != nil {
		return inputError(err)
	}
	maxNew := req.MaxTokens
	if maxNew <= 0 {
		maxNew = m.Generation.MaxNewTokens
	}
	if maxNew <= 0 {
		maxNew = 1024
	}
	pp, err := m.Prepare(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	S := len(pp.IDs)
	if S == 0 {
		return inputError(fmt.Errorf("the prompt is empty"))
	}
	if S >= m.limit {
		return inputError(fmt.Errorf("%w: the prompt is %d tokens and the context holds %d; shorten it by at least %d tokens to leave room for an answer", ErrContextFull, S, m.limit, S-m.limit+1))
	}
	maxNew = min(maxNew, m.limit-S)
	usage := &Usage{Seed: req.Seed, PromptTokens: S, Preprocess: pp.Preprocess, ImageWidth: pp.ImageWidth, ImageHeight: pp.ImageHeight}
	for _, id := range pp.IDs {
		if id == m.Config.ImageTokenID {
			usage.VisionTokens++
		}
	}
	start := time.Now()
	// next turns the logits of the next position into a token (and its
	// logprobs when asked). The engine calls it on its loop goroutine,
	// once per token, in order; the logprobs reach this goroutine through
	// pending.
	var mu sync.Mutex
	var pending []*sample.Logprobs
	seen := append([]int(nil), pp.IDs...)
	// guard masks the answer to the request's constraint (nil without
	// one). When it fails, next ends the sequence with an end-of-turn id
	// and guardErr says why.
	guard, err := m.newGuard(req, pp.Text)
	if err != nil {
		return err
	}
	var guardErr error
	stop := func(err error) int {
		mu.Lock()
		guardErr = err
		mu.Unlock()
		if len(m.Generation.EOS) > 0 {
			return m.Generation.EOS[0]
		}
		return 0
	}
	next := func(logits []float32) int {
		if err := guard.apply(logits); err != nil {
			return stop(err)
		}
		var lp *sample.Logprobs
		if req.Logprobs {
			lp = sample.NewLogprobs(logits, req.TopLogprobs)
		}
		id := smp.Next(logits, seen)
		if err := guard.accept(id); err != nil {
			return stop(err)
		}
		seen = append(seen, id)
		if lp != nil {
			mu.Lock()
			pending = append(pending, lp)
			mu.Unlock()
		}
		return id
	}
	st, err := m.eng.Submit(ctx, engine.Request{IDs: pp.IDs, Images: pp.Images, Videos: pp.Videos, MaxNew: maxNew, Sample: next, EOS: m.Generation.EOS})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	defer st.Close()

	var parser outputParser = chat.NewParser(chat.ParserOptions{
		StartInThinking: endsWithOpenThink(pp.Text),
		ImageWidth:      pp.ImageWidth, ImageHeight: pp.ImageHeight, Tools: req.Tools,
	})
	if req.Prompt != "" {
		parser = rawParser{} // a raw completion is returned as decoded
	}
	var lps []TokenLogprob // logprobs not yet attached to an event
	emit := func(evs []chat.Event) bool {
		for i, e := range evs {
			ev := Event{Text: e.Text, InThinking: e.InThinking, Box: e.Box, ToolCall: e.ToolCall}
			switch e.Kind {
			case chat.ThinkingText:
				ev.Kind = EventThinking
			case chat.AnswerText:
				ev.Kind = EventAnswer
			case chat.BoxEvent:
				ev.Kind = EventBox
			case chat.ToolCallEvent:
				ev.Kind = EventToolCall
			default:
				ev.Kind = EventRaw
			}
			if i == 0 {
				ev.Logprobs, lps = lps, nil
			}
			if !yield(ev, nil) {
				return false
			}
		}
		return true
	}
	stream := m.Tokenizer.NewStreamDecoder()
	stops := newStopMatcher(req.Stop)
	decodeStart := time.Now()
	info := func(in *engine.Info) {
		if in != nil {
			usage.Vision, usage.Prefill, usage.CachedTokens = in.Vision, in.Prefill, in.ReusedTokens
		}
	}
	for {
		ev, err := st.Next(ctx)
		if err != nil {
			usage.FinishReason = "cancelled"
			break
		}
		info(ev.Info)
		if ev.Done {
			if ev.Err != nil {
				return ev.Err
			}
			mu.Lock()
			gerr := guardErr
			mu.Unlock()
			if gerr != nil {
				return gerr
			}
			usage.FinishReason = ev.Finish
			if usage.CompletionTokens == 0 {
				usage.TimeToFirstToken = time.Since(start) + pp.Preprocess
			}
			break
		}
		id := ev.Token
		if usage.CompletionTokens == 0 {
			usage.TimeToFirstToken = time.Since(start) + pp.Preprocess
			decodeStart = time.Now()
		}
		usage.CompletionTokens++
		usage.Tokens = append(usage.Tokens, id)
		if req.Logprobs {
			mu.Lock()
			lp := pending[0]
			pending = pending[1:]
			mu.Unlock()
			lps = append(lps, m.tokenLogprob(id, lp))
		}
		var out string
		var hit bool
		if m.Tokenizer.IsSpecial(id) {
			// Stop strings match text only, never a special token's spelling.
			out = stops.pass(stream.Add(id))
		} else {
			out, hit = stops.add(stream.Add(id))
		}
		if !emit(parser.Add(out)) {
			return nil
		}
		if hit {
			usage.FinishReason = "stop"
			break
		}
	}
	usage.Decode = time.Since(decodeStart)
	if !stops.hit {
		out, _ := stops.add(stream.Flush())
		if !emit(parser.Add(out + stops.flush())) {
			return nil
		}
	}
	if !emit(parser.Close()) {
		return nil
	}
	yield(Event{Kind: EventDone, Usage: usage, Logprobs: lps}, nil)
	return nil
}

// stopMatcher holds back streamed text that could be the start of a stop
// string, and cuts the output at the first stop string.
type stopMatcher struct {
	stops   []string
	pending string
	hit     bool
}

func newStopMatcher(stops []string) *stopMatcher {
	var s []string
	for _, x := range stops {
		if x != "" {
			s = append(s, x)
		}
	}
	return &stopMatcher{stops: s}
}

// add takes new text and returns what can be released, and whether a stop
// string was found (the text before it is released, the rest dropped).
func (s *stopMatcher) add(text string) (string, bool) {
	if s.hit {
		return "", true
	}
	if len(s.stops) == 0 {
		return text, false
	}
	s.pending += text
	cut := -1
	for _, st := range s.stops {
		if i := strings.Index(s.pending, st); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		out := s.pending[:cut]
		s.pending, s.hit = "", true
		return out, true
	}
	keep := 0
	for _, st := range s.stops {
		for k := min(len(st)-1, len(s.pending)); k > keep; k-- {
			if strings.HasSuffix(s.pending, st[:k]) {
				keep = k
				break
			}
		}
	}
	out := s.pending[:len(s.pending)-keep]
	s.pending = s.pending[len(s.pending)-keep:]
	return out, false
}

// pass releases the held-back text followed by text that must not take
// part in a match (a special token's spelling).
func (s *stopMatcher) pass(text string) string {
	if s.hit {
		return ""
	}
	return s.flush() + text
}

// flush releases the held-back text at the end of generation.
func (s *stopMatcher) flush() string {
	out := s.pending
	s.pending = ""
	return out
}

// outputParser splits decoded text into events.
type outputParser interface {
	Add(text string) []chat.Event
	Close() []chat.Event
}

// rawParser passes text through unparsed, as EventRaw.
type rawParser struct{}

func (rawParser) Add(text string) []chat.Event {
	if text == "" {
		return nil
	}
	return []chat.Event{{Kind: chat.RawText, Text: text}}
}

func (rawParser) Close() []chat.Event { return nil }
