package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/glmv/glmv"
	"github.com/glmv/glmv/chat"
)

func runCommand() command {
	return command{name: "run", summary: "answer a prompt about images or videos, or chat interactively", run: runRun}
}

// runFlags are the options shared by run and demo.
type runFlags struct {
	model, mmproj, system, weights, drawBoxes, video string
	images, stops                                    multiFlag
	noThink, hideThinking, asJSON                    bool
	maxTokens, threads, topK, contextLen             int
	temperature, topP, minP, repPenalty              float64
	seed                                             uint64
	engine                                           engineFlags
	format                                           formatFlag
	set                                              map[string]bool
}

func (f *runFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.model, "m", "", "checkpoint folder, Hugging Face repo id in the local cache, or GGUF text model file (required)")
	fs.StringVar(&f.mmproj, "mmproj", "", "vision projector GGUF of a GGUF model (default: the mmproj*.gguf beside it)")
	fs.Var(&f.images, "image", "image file to attach (repeatable; JPEG, PNG, GIF, WebP, BMP, TIFF)")
	fs.StringVar(&f.video, "video", "", "video file to attach (decoded with ffmpeg)")
	fs.StringVar(&f.system, "system", "", "system prompt")
	fs.BoolVar(&f.noThink, "no-think", false, "switch the model's thinking off")
	fs.BoolVar(&f.hideThinking, "hide-thinking", false, "do not print the thinking")
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object per event instead of text")
	fs.Var(&f.format, "format", `constrain the answer: "json" (any JSON object) or a JSON Schema file`)
	fs.StringVar(&f.drawBoxes, "draw-boxes", "", "write the (last) input image with the answer's grounding boxes drawn to this PNG file")
	fs.IntVar(&f.maxTokens, "max-tokens", 0, "most tokens to generate (default: generation_config.json's, else 1024)")
	fs.Float64Var(&f.temperature, "temperature", 0, "sampling temperature; 0 is greedy (default: generation_config.json's)")
	fs.IntVar(&f.topK, "top-k", 0, "keep the k most likely tokens (0: off)")
	fs.Float64Var(&f.topP, "top-p", 0, "nucleus sampling mass (0 or 1: off)")
	fs.Float64Var(&f.minP, "min-p", 0, "drop tokens below min-p times the top probability (0: off)")
	fs.Float64Var(&f.repPenalty, "repeat-penalty", 0, "repetition penalty (1: off; default: generation_config.json's)")
	fs.Uint64Var(&f.seed, "seed", 0, "random seed for sampling (default: a fresh one per answer, shown after it)")
	fs.Var(&f.stops, "stop", "stop when the output contains this string (repeatable)")
	fs.IntVar(&f.threads, "threads", 0, "worker threads (0: all cores)")
	fs.StringVar(&f.weights, "weights", "", "convert weights in memory while loading: f32, bf16, f16, q8, q4, q4_1, q5_0, q5_1, q4_k, q5_k or q6_k (default: as stored; FP8 checkpoints: q8)")
	fs.IntVar(&f.contextLen, "context", 0, "cap the context length in tokens (0: the model's)")
	f.engine.register(fs)
}

// request builds the sampling part of a request from the flags that were
// set on the command line (unset ones keep the checkpoint defaults).
func (f *runFlags) request() glmv.Request {
	var r glmv.Request
	r.MaxTokens = f.maxTokens
	r.Stop = f.stops
	r.Seed = f.seed
	r.Constraint = f.format.constraint
	if !f.set["seed"] {
		r.Seed = rand.Uint64N(1 << 53)
	}
	if f.noThink {
		off := false
		r.Thinking = &off
	}
	if f.set["temperature"] {
		r.Temperature = &f.temperature
	}
	if f.set["top-k"] {
		r.TopK = &f.topK
	}
	if f.set["top-p"] {
		r.TopP = &f.topP
	}
	if f.set["min-p"] {
		r.MinP = &f.minP
	}
	if f.set["repeat-penalty"] {
		r.RepetitionPenalty = &f.repPenalty
	}
	return r
}

func (f *runFlags) load(stderr io.Writer) (*glmv.Model, error) {
	if f.model == "" {
		return nil, errors.New("no model: pass -m with a checkpoint folder or a Hugging Face repo id")
	}
	bar := newProgressBar(stderr)
	opts := glmv.Options{Threads: f.threads, Weights: f.weights, ContextLimit: f.contextLen, MMProj: f.mmproj, Progress: bar.update}
	f.engine.apply(&opts)
	return glmv.Load(f.model, opts)
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f runFlags
	f.register(fs)
	messagesPath := fs.String("messages", "", "JSON file (- reads stdin): the conversation so far, a list of messages as transformers'\napply_chat_template takes them (media parts name local files); the prompt, if any, is added as a user turn")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: glmv run -m MODEL [--image FILE]… [--video FILE] [--messages FILE] [options] [prompt]\n\nStreams the answer to the prompt, thinking shown apart from the answer,\nthen tokens/s and time to first token. With no prompt on a terminal, starts\nan interactive chat (/image PATH attaches an image, /reset clears the\nhistory, /exit leaves).\n\nOptions:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	text := strings.Join(fs.Args(), " ")
	if text == "" && *messagesPath == "" && !isTerminal(os.Stdin) {
		// A pipe or a file on standard input is the prompt:
		// echo "Describe it" | glmv run -m M --image cat.jpg
		var err error
		if text, err = readPrompt(os.Stdin); err != nil {
			return err
		}
	}
	for _, p := range f.images {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("image: %w", err)
		}
	}
	if f.video != "" {
		if _, err := os.Stat(f.video); err != nil {
			return fmt.Errorf("video: %w", err)
		}
	}
	conv, err := loadConversation(*messagesPath)
	if err != nil {
		return err
	}
	m, err := f.load(stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	out := &printer{w: stdout, stats: stderr, color: isTerminal(stdout), hideThinking: f.hideThinking, asJSON: f.asJSON}
	var history []glmv.Message
	if f.system != "" {
		history = append(history, glmv.System(f.system))
	}
	attach := func() []glmv.Part {
		var parts []glmv.Part
		for _, p := range f.images {
			parts = append(parts, glmv.ImageFile(p))
		}
		if f.video != "" {
			parts = append(parts, glmv.VideoFile(f.video))
		}
		return parts
	}
	if conv != nil {
		return runConversation(ctx, m, &f, out, append(history, conv...), text, attach(), stderr)
	}
	if text != "" {
		return answerOnce(ctx, m, &f, out, append(history, glmv.User(append(attach(), glmv.Text(text))...)), stderr)
	}
	return chatLoop(ctx, m, &f, history, attach(), out, os.Stdin, stdout)
}

// maxPipedPrompt bounds the prompt read from standard input.
const maxPipedPrompt = 16 << 20

// readPrompt reads the whole prompt from a non-terminal standard input.
func readPrompt(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxPipedPrompt+1))
	if err != nil {
		return "", fmt.Errorf("reading the prompt from standard input: %w", err)
	}
	if len(b) > maxPipedPrompt {
		return "", fmt.Errorf("the prompt on standard input is longer than %d MiB", maxPipedPrompt>>20)
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return "", errors.New("no prompt: give it as an argument, pipe it on standard input, or run on a terminal for an interactive chat")
	}
	return text, nil
}

// answerOnce streams the answer to msgs and, with --draw-boxes, draws its
// boxes on the last input image.
func answerOnce(ctx context.Context, m *glmv.Model, f *runFlags, out *printer, msgs []glmv.Message, stderr io.Writer) error {
	req := f.request()
	req.Messages = msgs
	res, err := out.stream(ctx, m, req)
	if err != nil {
		return err
	}
	if f.drawBoxes != "" {
		return drawBoxesFile(f.drawBoxes, lastImage(f.images), res.boxes, stderr)
	}
	return nil
}

func lastImage(images []string) string {
	if len(images) == 0 {
		return ""
	}
	return images[len(images)-1]
}

// chatLoop runs the interactive chat.
func chatLoop(ctx context.Context, m *glmv.Model, f *runFlags, history []glmv.Message, pending []glmv.Part, out *printer, in io.Reader, stdout io.Writer) error {
	fmt.Fprintln(stdout, "glmv chat — /image PATH attaches an image, /reset clears the history, /exit leaves.")
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	base := len(history)
	for {
		fmt.Fprint(stdout, "\n> ")
		if !sc.Scan() {
			fmt.Fprintln(stdout)
			return sc.Err()
		}
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			continue
		case line == "/exit" || line == "/quit":
			return nil
		case line == "/reset":
			history, pending = history[:base], nil
			fmt.Fprintln(stdout, "(history cleared)")
			continue
		case strings.HasPrefix(line, "/image"):
			p := strings.TrimSpace(strings.TrimPrefix(line, "/image"))
			if _, err := os.Stat(p); err != nil || p == "" {
				fmt.Fprintf(stdout, "cannot attach %q: %v\n", p, err)
				continue
			}
			pending = append(pending, glmv.ImageFile(p))
			fmt.Fprintf(stdout, "(attached %s to your next message)\n", p)
			continue
		case strings.HasPrefix(line, "/"):
			fmt.Fprintln(stdout, "commands: /image PATH, /reset, /exit")
			continue
		}
		user := glmv.User(append(pending, glmv.Text(line))...)
		pending = nil
		req := f.request()
		req.Messages = append(append([]glmv.Message(nil), history...), user)
		res, err := out.stream(ctx, m, req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(stdout, "error: %v\n", err)
			continue
		}
		history = append(history, user, glmv.Assistant(res.answer))
	}
}

// printer writes a streamed answer.
type printer struct {
	w, stats     io.Writer
	color        bool
	hideThinking bool
	asJSON       bool
}

type streamResult struct {
	answer string
	boxes  []chat.Box
	usage  *glmv.Usage
}

// jsonEvent is the --json form of an event.
type jsonEvent struct {
	Type       string         `json:"type"`
	Text       string         `json:"text,omitempty"`
	InThinking bool           `json:"in_thinking,omitempty"`
	Box        *chat.Box      `json:"box,omitempty"`
	ToolCall   *chat.ToolCall `json:"tool_call,omitempty"`
	Usage      *jsonUsage     `json:"usage,omitempty"`
}

type jsonUsage struct {
	PromptTokens     int     `json:"prompt_tokens"`
	VisionTokens     int     `json:"vision_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	FinishReason     string  `json:"finish_reason"`
	TTFTMs           float64 `json:"time_to_first_token_ms"`
	PrefillMs        float64 `json:"prefill_ms"`
	VisionMs         float64 `json:"vision_ms"`
	DecodeTokS       float64 `json:"decode_tok_s"`
	Tokens           []int   `json:"tokens"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

func (p *printer) stream(ctx context.Context, m *glmv.Model, req glmv.Request) (*streamResult, error) {
	res := &streamResult{}
	var sb strings.Builder
	enc := json.NewEncoder(p.w)
	enc.SetEscapeHTML(false)
	inThinking := false
	for ev, err := range m.Generate(ctx, req) {
		if err != nil {
			if inThinking && p.color {
				fmt.Fprint(p.w, "\x1b[0m")
			}
			return nil, err
		}
		if ev.Kind == glmv.EventBox {
			res.boxes = append(res.boxes, *ev.Box)
		}
		if ev.Kind == glmv.EventAnswer || (ev.Kind == glmv.EventBox && !ev.InThinking) {
			sb.WriteString(ev.Text)
		}
		if p.asJSON {
			je := jsonEvent{Type: ev.Kind.String(), Text: ev.Text, InThinking: ev.InThinking, Box: ev.Box, ToolCall: ev.ToolCall}
			if u := ev.Usage; u != nil {
				je.Usage = &jsonUsage{u.PromptTokens, u.VisionTokens, u.CompletionTokens, u.FinishReason,
					ms(u.TimeToFirstToken), ms(u.Prefill), ms(u.Vision), u.DecodeTokensPerSecond(), u.Tokens}
			}
			if err := enc.Encode(je); err != nil {
				return nil, err
			}
			if u := ev.Usage; u != nil {
				res.usage = u
			}
			continue
		}
		thinkingPart := ev.Kind == glmv.EventThinking || (ev.InThinking && ev.Kind != glmv.EventAnswer)
		if ev.Kind != glmv.EventDone {
			if thinkingPart && p.hideThinking {
				continue
			}
			if thinkingPart != inThinking {
				if thinkingPart {
					p.startThinking()
				} else {
					p.endThinking()
				}
				inThinking = thinkingPart
			}
		}
		switch ev.Kind {
		case glmv.EventThinking, glmv.EventAnswer, glmv.EventRaw:
			fmt.Fprint(p.w, ev.Text)
		case glmv.EventBox:
			fmt.Fprint(p.w, boxLabel(ev.Box))
		case glmv.EventToolCall:
			b, _ := json.Marshal(ev.ToolCall.Function)
			fmt.Fprintf(p.w, "[tool call %s]", b)
		case glmv.EventDone:
			if inThinking {
				p.endThinking()
			}
			res.usage = ev.Usage
			u := ev.Usage
			fmt.Fprintln(p.w)
			fmt.Fprintf(p.stats, "\n[%d prompt tokens (%d vision, %d reused from the cache), %d generated, %s; time to first token %.0f ms, prefill %.1f tok/s, decode %.2f tok/s; seed %d]\n",
				u.PromptTokens, u.VisionTokens, u.CachedTokens, u.CompletionTokens, u.FinishReason, ms(u.TimeToFirstToken),
				float64(u.PromptTokens-u.CachedTokens)/max(u.Prefill.Seconds(), 1e-9), u.DecodeTokensPerSecond(), u.Seed)
		}
	}
	res.answer = strings.TrimSpace(sb.String())
	return res, nil
}

func (p *printer) startThinking() {
	if p.color {
		fmt.Fprint(p.w, "\x1b[2m")
	} else {
		fmt.Fprintln(p.w, "--- thinking ---")
	}
}

func (p *printer) endThinking() {
	if p.color {
		fmt.Fprint(p.w, "\x1b[0m\n")
	} else {
		fmt.Fprintln(p.w, "\n--- answer ---")
	}
}

// boxLabel renders a box for the terminal: its text, and the pixel
// coordinates when known.
func boxLabel(b *chat.Box) string {
	var px []string
	for _, s := range b.Shapes {
		if s.Pixels != nil {
			var v []string
			for _, x := range s.Pixels {
				v = append(v, fmt.Sprintf("%.0f", x))
			}
			px = append(px, "("+strings.Join(v, ",")+")")
		}
	}
	if len(px) == 0 {
		return "[box " + b.Text + "]"
	}
	return "[box " + b.Text + " = px " + strings.Join(px, " ") + "]"
}
