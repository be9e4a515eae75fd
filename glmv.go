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
	"sync"

	"github.com/glmv/glmv/chat"
	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/engine"
	"github.com/glmv/glmv/hub"
	"github.com/glmv/glmv/media"
	"github.com/glmv/glmv/model"
	"github.com/glmv/glmv/model/ggufmodel"
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
	// Parallel is the most requests decoded together (continuous
	// batching); 0 means 4.
	Parallel int
	// CacheMiB bounds the prefix and image-embedding caches that let a
	// conversation's next turn reuse what earlier turns computed; 0 means
	// engine.DefaultCacheBytes, a negative value disables them.
	CacheMiB int
	// Logger receives progress and diagnostics; nil discards them.
	Logger *slog.Logger
	// Progress, when set, is called while loading with a stage name and
	// how much of it is done.
	Progress func(stage string, done, total int)
	// Getenv looks up environment variables for the Hugging Face cache;
	// nil means os.Getenv.
	Getenv func(string) string
	// MMProj is the vision projector GGUF of a GGUF text model; "" looks
	// for mmproj*.gguf beside the text file.
	MMProj string
	// Precision is the arithmetic of the many-token matrix products
	// (prefill and the vision tower): "auto" (the default when empty)
	// multiplies bf16 and f16 weights with bf16 activations and f32 sums
	// where the CPU has bf16 dot products (AVX512_BF16) and the product has
	// enough tokens, and in f32 otherwise; "f32" computes in f32
	// everywhere; "bf16" also rounds f32 weights to bf16. Without bf16 dot
	// products every setting computes in f32. See compute.Precision.
	Precision string
}

// Model is a loaded checkpoint with its tokenizer, chat template and
// processors. A Model is safe for concurrent use: Generate, Prepare and
// Stats may be called from many goroutines at once, and concurrent
// Generate calls are batched together by the engine (up to
// Options.Parallel at a time, the rest wait their turn). The exported
// fields must not be changed after Load. Close must not race with other
// calls.
type Model struct {
	// Dir is the checkpoint folder (for a GGUF, the folder holding it).
	Dir string
	// Config is the parsed config.json (or the GGUF metadata).
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
	eng       *engine.Engine
	ffOnce    sync.Once
	ff        *media.FFmpeg
	ffErr     error
	cvocab    constraintVocab

	// longestToken is the byte length of the longest token, computed once.
	longestToken func() int
}

// Load opens the checkpoint named by nameOrDir: a folder, a Hugging Face
// repo id already in the local Hugging Face cache, or a llama.cpp GGUF
// text model file (its vision projector is opts.MMProj or the
// mmproj*.gguf beside it).
func Load(nameOrDir string, opts Options) (*Model, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, int, int) {}
	}
	prec, perr := compute.ParsePrecision(opts.Precision)
	if perr != nil {
		return nil, perr
	}
	m := &Model{pool: compute.NewPool(opts.Threads), log: log}
	m.pool.SetPrecision(prec)
	fail := func(err error) (*Model, error) {
		m.Close()
		return nil, err
	}
	pc := media.DefaultConfig()
	progress("weights", 0, 1)
	st, statErr := os.Stat(nameOrDir)
	if statErr != nil && strings.HasSuffix(strings.ToLower(nameOrDir), ".gguf") {
		return fail(fmt.Errorf("GGUF model: %w", statErr))
	}
	if statErr == nil && !st.IsDir() && ggufmodel.IsGGUF(nameOrDir) {
		if err := m.openGGUF(nameOrDir, opts.MMProj, &pc); err != nil {
			return fail(err)
		}
	} else {
		if opts.MMProj != "" {
			return fail(fmt.Errorf("an mmproj file goes with a GGUF text model, and %s is not one", nameOrDir))
		}
		if err := m.openCheckpoint(nameOrDir, opts.Getenv, opts.Weights); err != nil {
			return fail(err)
		}
	}
	progress("weights", 1, 1)
	dir, net := m.Dir, m.net
	var err error
	if opts.Weights != "" {
		dt, err := model.ParseWeightFormat(opts.Weights)
		if err != nil {
			return fail(err)
		}
		if err := net.ConvertWeights(dt, func(done, total int) { progress("convert", done, total) }); err != nil {
			return fail(err)
		}
	}
	if m.Generation, err = loadGenerationConfig(dir, m.Config.Text.EOS); err != nil {
		return fail(err)
	}
	if p := filepath.Join(dir, "preprocessor_config.json"); fileExists(p) {
		if pc, err = media.LoadConfig(p); err != nil {
			return fail(err)
		}
	}
	if m.proc, err = media.NewProcessor(pc, opts.Resampler); err != nil {
		return fail(err)
	}
	m.markers = prompt.DefaultMarkers
	m.initLongestToken()
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
	cacheBytes := int64(opts.CacheMiB) << 20
	if opts.CacheMiB < 0 {
		cacheBytes = -1
	}
	if m.eng, err = engine.New(net, engine.Options{KVType: m.kvType, Parallel: opts.Parallel, CacheBytes: cacheBytes, ContextLimit: m.limit, Logger: log}); err != nil {
		return fail(err)
	}
	log.Info("model loaded", "dir", dir, "family", m.Config.ModelType, "layers", m.Config.Text.Layers, "context", m.limit,
		"kernels", compute.KernelName(), "precision", compute.PrecisionNote(prec))
	return m, nil
}

// openCheckpoint loads a Hugging Face checkpoint folder (or cached repo).
// An FP8 checkpoint converts straight to the weights format (Q8_0 by
// default) while binding.
func (m *Model) openCheckpoint(nameOrDir string, getenv func(string) string, weights string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	dir, err := hub.Resolve(nameOrDir, getenv)
	if err != nil {
		return err
	}
	for _, f := range []string{"config.json", "tokenizer.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("%s is not a complete checkpoint folder: %s is missing", dir, f)
		}
	}
	m.Dir = dir
	if m.net, err = model.LoadWith(dir, m.pool, model.LoadOptions{FP8Target: weights}); err != nil {
		return err
	}
	m.Config = m.net.Config
	if m.Tokenizer, err = tokenizer.LoadDir(dir); err != nil {
		return err
	}
	m.Template, err = chat.LoadTemplate(dir)
	return err
}

// openGGUF loads a GGUF pair. The tokenizer and chat template come from
// a tokenizer.json beside the file when there is one, else from the GGUF
// metadata; images are normalised with the mmproj's mean and std.
func (m *Model) openGGUF(path, mmproj string, pc *media.Config) error {
	pair, err := ggufmodel.Open(path, mmproj)
	if err != nil {
		return err
	}
	m.Dir = filepath.Dir(path)
	if mean, std, ok := ggufmodel.ImageNorm(pair.Vision.Header); ok {
		pc.ImageMean, pc.ImageStd = mean, std
	}
	text := pair.Text.Header
	if m.net, err = pair.Model(m.pool); err != nil {
		return err
	}
	m.Config = m.net.Config
	if fileExists(filepath.Join(m.Dir, "tokenizer.json")) {
		if m.Tokenizer, err = tokenizer.LoadDir(m.Dir); err != nil {
			return err
		}
		m.Template, err = chat.LoadTemplate(m.Dir)
		return err
	}
	if m.Tokenizer, err = tokenizer.FromGGUF(text); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	v, _ := text.Get(tokenizer.KeyChatTemplate)
	src, ok := v.Str()
	if !ok || src == "" {
		return fmt.Errorf("%s has no %s and no tokenizer.json sits beside it", path, tokenizer.KeyChatTemplate)
	}
	m.Template, err = chat.Compile(src)
	return err
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
	if m.eng != nil {
		m.eng.Close()
	}
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
	m.ffOnce.Do(func() { m.ff, m.ffErr = media.FindFFmpeg() })
	return m.ff, m.ffErr
}

// Parallel is the most requests the engine decodes together.
func (m *Model) Parallel() int { return m.eng.Parallel() }

// Stats reports the engine's queue, running sequences and cache numbers,
// for logs and metrics.
func (m *Model) Stats() engine.Stats { return m.eng.Stats() }

// ErrContextFull reports a prompt that does not fit the context.
var ErrContextFull = errors.New("prompt does not fit the context")

// endsWithOpenThink reports whether the rendered prompt leaves a <think>
// block open, so the output starts inside the thinking.
func endsWithOpenThink(p string) bool {
	i := strings.LastIndex(p, "<think>")
	return i >= 0 && !strings.Contains(p[i:], "</think>")
}
