package model

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/safetensors"
)

// Model is a loaded GLM-4.xV checkpoint: config, memory-mapped weights,
// the text decoder and the vision tower.
type Model struct {
	Config  *Config
	Weights *Weights
	Text    *Text
	Vision  *Vision
	Pool    *compute.Pool
	files   WeightSource
}

// Load reads config.json and the safetensors weights of the checkpoint
// folder dir and checks that they agree. pool may be nil. FP8 weights are
// converted to Q8_0; see LoadWith.
func Load(dir string, pool *compute.Pool) (*Model, error) {
	return LoadWith(dir, pool, LoadOptions{})
}

// LoadOptions adjust LoadWith.
type LoadOptions struct {
	// FP8Target is the weight format ("f32", "bf16", "f16", "q8", "q4")
	// that the F8_E4M3 weights of an FP8 checkpoint are converted to as
	// they are bound; "" means q8 (Q8_0).
	FP8Target string
}

// LoadWith is Load with options.
func LoadWith(dir string, pool *compute.Pool, opts LoadOptions) (*Model, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("load model: %s is not a folder", dir)
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	var src WeightSource = &SafetensorsSource{Set: set}
	fp8, err := LoadFP8Config(dir)
	if err != nil {
		set.Close()
		return nil, fmt.Errorf("load model: %w", err)
	}
	if fp8 != nil {
		target := opts.FP8Target
		if target == "" {
			target = "q8"
		}
		dt, err := ParseWeightFormat(target)
		if err != nil {
			set.Close()
			return nil, fmt.Errorf("load model: %w", err)
		}
		src = &FP8Source{SafetensorsSource: &SafetensorsSource{Set: set}, Config: *fp8, Target: dt, Pool: pool}
	}
	m, err := New(cfg, src, pool)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", dir, err)
	}
	return m, nil
}

// New binds the weights of src to cfg and builds the model. The model
// owns src from then on (Close closes it); on error src is closed.
// pool may be nil.
func New(cfg *Config, src WeightSource, pool *compute.Pool) (*Model, error) {
	w, err := BindWeights(cfg, src)
	if err != nil {
		src.Close()
		return nil, err
	}
	return &Model{
		Config: cfg, Weights: w, Pool: pool, files: src,
		Text:   NewText(&cfg.Text, &w.Text, pool),
		Vision: NewVision(&cfg.Vision, &w.Vision, pool),
	}, nil
}

// Close releases the memory-mapped weights; the model must not be used
// afterwards.
func (m *Model) Close() error { return m.files.Close() }

// GreedyOptions control Greedy.
type GreedyOptions struct {
	MaxNew   int
	Stop     []int // token ids that end generation (kept in the output)
	OnLogits func(step int, logits []float32)
}

// Greedy decodes with the KV cache from a prompt given as input embeddings
// h ([S, H]) with 3-D positions pos and the rope delta of the prompt
// (position of absolute index i after the prompt = i + delta on all axes).
// It returns the generated ids.
func (t *Text) Greedy(ctx context.Context, h []float32, pos *[3][]int, S, delta int, cache *KVCache, o GreedyOptions) ([]int, error) {
	hidden, err := t.Forward(ctx, h, pos, S, cache, nil)
	if err != nil {
		return nil, err
	}
	H := t.Cfg.Hidden
	logits := t.Logits(hidden[(S-1)*H:], 1)
	var out []int
	for step := 0; step < o.MaxNew; step++ {
		if o.OnLogits != nil {
			o.OnLogits(step, logits)
		}
		id := Argmax(logits)
		out = append(out, id)
		if slices.Contains(o.Stop, id) || step == o.MaxNew-1 {
			break
		}
		if logits, err = t.Step(ctx, id, delta, cache); err != nil {
			return out, err
		}
	}
	return out, nil
}

// Step feeds one generated token: it runs it through the decoder at
// position cache.Len + delta on all three rope axes (text continues the
// prompt's positions) and returns the logits for the next token.
func (t *Text) Step(ctx context.Context, id, delta int, cache *KVCache) ([]float32, error) {
	logits := make([]float32, t.Cfg.Vocab)
	if err := t.StepInto(ctx, logits, id, delta, cache); err != nil {
		return nil, err
	}
	return logits, nil
}

// StepInto is Step writing the logits into logits (len Vocab). With the
// work buffers reused from the previous step it allocates nothing in the
// model.
func (t *Text) StepInto(ctx context.Context, logits []float32, id, delta int, cache *KVCache) error {
	H := t.Cfg.Hidden
	if len(logits) != t.Cfg.Vocab {
		return fmt.Errorf("step: %d logits for a vocabulary of %d", len(logits), t.Cfg.Vocab)
	}
	if id < 0 || id >= t.Cfg.Vocab {
		return fmt.Errorf("token id %d is outside the vocabulary [0, %d)", id, t.Cfg.Vocab)
	}
	sc := t.getScratch(1)
	defer t.putScratch(sc)
	e := sc.get(bufEmbed, H)
	t.W.Embed.Row(id, e)
	p := [3]int{cache.Len + delta, cache.Len + delta, cache.Len + delta}
	next := [3][]int{p[0:1], p[1:2], p[2:3]}
	seqs := [1]Seq{{Cache: cache, T: 1}}
	h := sc.get(bufHidden, H)
	if err := t.forward(ctx, h, e, &next, seqs[:], nil); err != nil {
		return err
	}
	t.Pool.MatMul(logits, h, 1, t.W.LMHead)
	return nil
}

// Argmax returns the index of the largest value (the first one on ties).
func Argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
