// Package glmv runs the GLM-4.xV vision-language models (GLM-4.5V,
// GLM-4.6V, GLM-4.1V-9B) from a Hugging Face checkpoint folder: load a
// checkpoint once with Load, then stream answers about images and videos
// with (*Model).Generate.
//
//	m, err := glmv.Load("zai-org/GLM-4.5V", glmv.Options{})
//	...
//	req := glmv.Request{Messages: []glmv.Message{
//		glmv.User(glmv.ImageFile("cat.jpg"), glmv.Text("What is in the image?")),
//	}}
//	for ev, err := range m.Generate(ctx, req) {
//		...
//	}
package glmv

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/glmv/glmv/chat"
	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/hub"
	"github.com/glmv/glmv/media"
	"github.com/glmv/glmv/model"
	"github.com/glmv/glmv/prompt"
	"github.com/glmv/glmv/tokenizer"
)

// Options configure Load. The zero value is a sensible default.
type Options struct {
	// Threads is the number of worker threads; 0 uses every core.
	Threads int
	// Weights converts the weights in memory after loading: "" keeps the
	// stored format; "f32", "bf16", "f16", "q8" (Q8_0) or "q4" (Q4_0).
	Weights string
	// Resampler chooses the image resize implementation; the zero value is
	// torchvision's (what the reference processor uses by default).
	Resampler media.Resampler
	// ContextLimit caps the context below the model's own length; 0 keeps
	// the model's max_position_embeddings.
	ContextLimit int
	// KVType is the KV cache format: "f16" (the default when empty),
	// "f32" or "q8_0". See model.KVCache for the accuracy of each.
	KVType string
	// Logger receives progress and diagnostics; nil discards them.
	Logger *slog.Logger
	// Progress, when set, is called while loading with a stage name and
	// how much of it is done.
	Progress func(stage string, done, total int)
	// Getenv looks up environment variables for the Hugging Face cache;
	// nil means os.Getenv.
	Getenv func(string) string
}

// Model is a loaded checkpoint with its tokenizer, chat template and
// processors. Generate may be called from one goroutine at a time.
type Model struct {
	// Dir is the checkpoint folder.
	Dir string
	// Config is the parsed config.json.
	Config *model.Config
	// Generation holds the generation_config.json defaults.
	Generation GenerationConfig
	// Tokenizer is the checkpoint's tokenizer.
	Tokenizer *tokenizer.Tokenizer
	// Template is the chat template.
	Template *chat.Template

	net       *model.Model
	proc      *media.Processor
	pool      *compute.Pool
	log       *slog.Logger
	markers   prompt.Markers
	timestamp prompt.TimestampStyle
	limit     int
	kvType    compute.DType
	ff        *media.FFmpeg
	ffErr     error
}

// Load opens the checkpoint named by nameOrDir: a folder, or a Hugging
// Face repo id already in the local Hugging Face cache.
func Load(nameOrDir string, opts Options) (*Model, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, int, int) {}
	}
	dir, err := hub.Resolve(nameOrDir, getenv)
	if err != nil {
		return nil, err
	}
	for _, f := range []string{"config.json", "tokenizer.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return nil, fmt.Errorf("%s is not a complete checkpoint folder: %s is missing", dir, f)
		}
	}
	pool := compute.NewPool(opts.Threads)
	progress("weights", 0, 1)
	// An FP8 checkpoint converts straight to the asked-for format (Q8_0
	// by default) while binding.
	net, err := model.LoadWith(dir, pool, model.LoadOptions{FP8Target: opts.Weights})
	if err != nil {
		pool.Close()
		return nil, err
	}
	m := &Model{Dir: dir, Config: net.Config, net: net, pool: pool, log: log}
	fail := func(err error) (*Model, error) {
		m.Close()
		return nil, err
	}
	progress("weights", 1, 1)
	if opts.Weights != "" {
		dt, err := model.ParseWeightFormat(opts.Weights)
		if err != nil {
			return fail(err)
		}
		if err := net.ConvertWeights(dt, func(done, total int) { progress("convert", done, total) }); err != nil {
			return fail(err)
		}
	}
	if m.Tokenizer, err = tokenizer.LoadDir(dir); err != nil {
		return fail(err)
	}
	if m.Template, err = chat.LoadTemplate(dir); err != nil {
		return fail(err)
	}
	if m.Generation, err = loadGenerationConfig(dir, m.Config.Text.EOS); err != nil {
		return fail(err)
	}
	pc := media.DefaultConfig()
	if p := filepath.Join(dir, "preprocessor_config.json"); fileExists(p) {
		if pc, err = media.LoadConfig(p); err != nil {
			return fail(err)
		}
	}
	if m.proc, err = media.NewProcessor(pc, opts.Resampler); err != nil {
		return fail(err)
	}
	m.markers = prompt.DefaultMarkers
	if err := m.checkSpecialTokens(); err != nil {
		return fail(err)
	}
	if m.kvType, err = model.ParseKVType(opts.KVType); err != nil {
		return fail(err)
	}
	m.limit = m.Config.Text.MaxPositions
	if opts.ContextLimit > 0 && opts.ContextLimit < m.limit {
		m.limit = opts.ContextLimit
	}
	log.Info("model loaded", "dir", dir, "family", m.Config.ModelType, "layers", m.Config.Text.Layers, "context", m.limit)
	return m, nil
}

// checkSpecialTokens verifies that the tokenizer's placeholder tokens are
// the ids config.json names.
func (m *Model) checkSpecialTokens() error {
	c := m.Config
	for _, s := range []struct {
		text string
		id   int
	}{
		{m.markers.Image, c.ImageTokenID}, {m.markers.ImageStart, c.ImageStartID}, {m.markers.ImageEnd, c.ImageEndID},
	} {
		got, ok := m.Tokenizer.TokenID(s.text)
		if !ok {
			return fmt.Errorf("tokenizer has no %s token", s.text)
		}
		if got != s.id {
			return fmt.Errorf("tokenizer maps %s to %d but config.json says %d", s.text, got, s.id)
		}
	}
	return nil
}

// Close releases the weights and worker threads.
func (m *Model) Close() error {
	var err error
	if m.net != nil {
		err = m.net.Close()
	}
	m.pool.Close()
	return err
}

// ContextLimit is the most tokens (prompt plus generated) a request may use.
func (m *Model) ContextLimit() int { return m.limit }

// Network is the underlying decoder and vision tower, for advanced use.
func (m *Model) Network() *model.Model { return m.net }

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ffmpeg finds the ffmpeg tools once.
func (m *Model) ffmpeg() (*media.FFmpeg, error) {
	if m.ff == nil && m.ffErr == nil {
		m.ff, m.ffErr = media.FindFFmpeg()
	}
	return m.ff, m.ffErr
}

// ErrContextFull reports a prompt that does not fit the context.
var ErrContextFull = errors.New("prompt does not fit the context")

// endsWithOpenThink reports whether the rendered prompt leaves a <think>
// block open, so the output starts inside the thinking.
func endsWithOpenThink(p string) bool {
	i := strings.LastIndex(p, "<think>")
	return i >= 0 && !strings.Contains(p[i:], "</think>")
}
