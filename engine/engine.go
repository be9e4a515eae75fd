// Package engine is the scheduler between the glmv front door and the
// model: it owns the running sequences and their KV caches, a prefix cache
// of finished sequences (token prefixes and the images in them, keyed by a
// hash of the processed pixels), an image-embedding cache, and the
// batching loop that runs every active sequence through the decoder in one
// pass per step.
//
// One goroutine (the loop) runs the decoder. Each step it admits waiting
// requests up to Options.Parallel running sequences, drops sequences
// whose context ended, gives prefilling sequences a chunk of their prompt
// (at most Options.ChunkTokens rows per step in all, so running decodes
// keep streaming) and every decoding sequence its last token, and makes
// one ForwardBatch over the weights for all those rows. A request's
// sequence reuses the longest prefix any cached sequence shares with it
// (recomputing from the first differing token) and the cached vision
// embeddings of its images; the vision tower for new images runs on the
// submitting goroutine, concurrently with the loop.
//
// An Engine and its Streams are safe for concurrent use.
package engine

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/model"
)

// DefaultCacheBytes is the prefix and image cache budget when
// Options.CacheBytes is 0.
const DefaultCacheBytes = 2 << 30

// Options configure an Engine. The zero value is usable.
type Options struct {
	// KVType is the KV cache format: compute.F32 (the zero value), F16
	// or Q8_0.
	KVType compute.DType
	// Parallel is the most sequences decoded together; 0 means 4.
	Parallel int
	// CacheBytes bounds the memory of the prefix and image caches
	// (finished sequences' KV caches and vision embeddings); 0 means
	// DefaultCacheBytes, a negative value disables caching.
	CacheBytes int64
	// ChunkTokens is the most prompt tokens prefilled per step over all
	// sequences; 0 means 256 (or the whole remaining prompt when nothing
	// else is running, see loop). Smaller chunks keep running streams
	// smoother while a long prompt is prefilled.
	ChunkTokens int
	// ContextLimit is the most tokens per sequence; 0 means the model's.
	ContextLimit int
	// Logger receives cache statistics and errors; nil discards them.
	Logger *slog.Logger
}

// Engine schedules generation requests on one model. It is safe for
// concurrent use; every method may be called from any goroutine.
type Engine struct {
	net   *model.Model
	opts  Options
	cache *cache
	log   *slog.Logger

	mu      sync.Mutex
	waiting []*seq
	running int
	steps   int64
	closed  bool
	wake    chan struct{}
	stop    context.CancelFunc
	ctx     context.Context
	done    chan struct{}
}

// ErrClosed is the error of requests that end because the engine closed.
var ErrClosed = errors.New("engine: closed")

// New starts an engine on net. Close stops it.
func New(net *model.Model, opts Options) (*Engine, error) {
	if _, err := compute.NewKVMatrix(opts.KVType, 0, 0); err != nil {
		return nil, err
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	if opts.ChunkTokens <= 0 {
		opts.ChunkTokens = 256
	}
	if opts.ContextLimit <= 0 || opts.ContextLimit > net.Config.Text.MaxPositions {
		opts.ContextLimit = net.Config.Text.MaxPositions
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	e := &Engine{net: net, opts: opts, cache: newCache(opts.CacheBytes), log: log,
		wake: make(chan struct{}, 1), ctx: ctx, stop: stop, done: make(chan struct{})}
	go e.loop()
	return e, nil
}

// Close stops the loop; running and waiting requests end with ErrClosed.
// It waits for the loop to exit.
func (e *Engine) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		<-e.done
		return
	}
	e.closed = true
	e.mu.Unlock()
	e.stop()
	<-e.done
}

// Request is one sequence to generate.
type Request struct {
	// IDs is the expanded prompt (one image token per vision row).
	IDs []int
	// Images and Videos are the processed pixels of the prompt's images
	// and videos, in order.
	Images, Videos []model.PixelInput
	// MaxNew is the most tokens to generate (at least 1).
	MaxNew int
	// Sample turns the logits of the next position into a token id. The
	// engine calls it on its loop goroutine, once per generated token, in
	// order; it must not block. Whatever it records before returning is
	// visible to the Stream's reader once the token's event is read.
	Sample func(logits []float32) int
	// EOS lists the ids that end the sequence; they are not emitted.
	EOS []int
}

// Event is what a Stream delivers: a generated token, or the end.
type Event struct {
	// Token is the generated id (when Done is false).
	Token int
	// Done ends the stream; Finish says why: "stop" (an EOS id),
	// "length" (MaxNew tokens), "cancelled" (the context ended or the
	// stream was closed) or "error" (Err says which).
	Done   bool
	Finish string
	Err    error
	// Info describes the sequence; set on the first token and on Done.
	Info *Info
}

// Info describes how a sequence was run.
type Info struct {
	PromptTokens int
	// ReusedTokens were taken from the prefix cache instead of computed.
	ReusedTokens int
	// VisionItems images and videos needed embeddings beyond the reused
	// prefix; VisionCached of them came from the image cache.
	VisionItems, VisionCached int
	// Vision is the time spent in the vision tower for this request,
	// Queue the time waiting for a slot, Prefill the time from admission
	// to the first token's logits.
	Vision, Queue, Prefill time.Duration
}

// Stats is a snapshot of the engine's state and counters, for logs and
// metrics.
type Stats struct {
	// Waiting requests have not been admitted yet; Running sequences
	// are prefilling or decoding.
	Waiting, Running int
	// Steps is the number of batched forward passes so far.
	Steps int64
	// PrefixHits and PrefixMisses count requests that did or did not
	// reuse a cached prefix; ReusedTokens sums the reused tokens.
	PrefixHits, PrefixMisses, ReusedTokens int64
	// ImageHits and ImageMisses count image and video embeddings found
	// in or added to the image cache.
	ImageHits, ImageMisses int64
	// CacheBytes of CacheLimit are held by CachedSequences prefix entries
	// and CachedImages embeddings; Evictions counts LRU evictions.
	CacheBytes, CacheLimit        int64
	CachedSequences, CachedImages int
	Evictions                     int64
}

// Parallel is the most sequences run together.
func (e *Engine) Parallel() int { return e.opts.Parallel }

// Stats returns a snapshot of the counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	s := Stats{Waiting: len(e.waiting), Running: e.running, Steps: e.steps}
	e.mu.Unlock()
	c := e.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	s.PrefixHits, s.PrefixMisses, s.ReusedTokens = c.stats.prefixHits, c.stats.prefixMisses, c.stats.reusedTokens
	s.ImageHits, s.ImageMisses, s.Evictions = c.stats.imageHits, c.stats.imageMisses, c.stats.evictions
	s.CacheBytes, s.CacheLimit = c.bytes, c.limit
	s.CachedSequences, s.CachedImages = len(c.prefix), len(c.images)
	return s
}

// Stream delivers the events of one request. Next and Close may be
// called from any goroutine.
type Stream struct {
	mu     sync.Mutex
	queue  []Event
	notify chan struct{}
	cancel context.CancelFunc
}

// Next returns the next event, waiting for it; it returns ctx's error if
// ctx ends first. After the Done event it returns that event again.
func (s *Stream) Next(ctx context.Context) (Event, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			ev := s.queue[0]
			if !ev.Done {
				s.queue = s.queue[1:]
			}
			s.mu.Unlock()
			return ev, nil
		}
		s.mu.Unlock()
		select {
		case <-s.notify:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// Close stops the sequence: the engine drops it before its next step.
func (s *Stream) Close() { s.cancel() }

func (s *Stream) push(ev Event) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// seq is a request being run.
type seq struct {
	ctx              context.Context
	stream           *Stream
	req              Request
	keys             []uint64 // one per prompt token, then per fed generated token
	kv               *model.KVCache
	embeds           []float32 // input rows of prompt tokens [reused, S)
	pos              [3][]int  // rope positions of the whole prompt
	delta            int
	start            int // first prompt token to compute (= reused)
	info             Info
	eos              map[int]bool
	last             int // last sampled token, fed at the next step
	made             int // tokens generated
	queued, admitted time.Time
	first            bool
}

// Submit validates and prepares req (prefix lookup, vision embeddings for
// the images not in the cache) on the calling goroutine and queues it.
// The sequence runs until it finishes, ctx ends, or the Stream is closed.
func (e *Engine) Submit(ctx context.Context, req Request) (*Stream, error) {
	cfg := e.net.Config
	S := len(req.IDs)
	switch {
	case S == 0:
		return nil, fmt.Errorf("engine: empty prompt")
	case req.MaxNew < 1:
		return nil, fmt.Errorf("engine: MaxNew is %d, want at least 1", req.MaxNew)
	case req.Sample == nil:
		return nil, fmt.Errorf("engine: no Sample function")
	case S+req.MaxNew > e.opts.ContextLimit:
		return nil, fmt.Errorf("engine: %d prompt tokens + %d new exceed the context of %d", S, req.MaxNew, e.opts.ContextLimit)
	}
	for i, id := range req.IDs {
		if id < 0 || id >= cfg.Text.Vocab {
			return nil, fmt.Errorf("engine: token id %d at position %d is outside the vocabulary [0, %d)", id, i, cfg.Text.Vocab)
		}
	}
	var ig, vg [][3]int
	for _, in := range req.Images {
		ig = append(ig, in.Grid)
	}
	for _, in := range req.Videos {
		vg = append(vg, in.Grid)
	}
	pos, delta, err := model.RopeIndex(cfg, req.IDs, ig, vg)
	if err != nil {
		return nil, err
	}
	items, spans, err := e.visionItems(req)
	if err != nil {
		return nil, err
	}
	keys := positionKeys(req.IDs, items, spans)

	s := &seq{req: req, keys: keys, pos: pos, delta: delta, eos: map[int]bool{}, first: true}
	for _, id := range req.EOS {
		s.eos[id] = true
	}
	s.info.PromptTokens = S
	limit := S + req.MaxNew
	entry, reuse := e.cache.lookup(keys, S-1)
	if entry != nil {
		if s.kv, err = entry.kv.Clone(reuse, limit); err != nil {
			return nil, err
		}
	} else if s.kv, err = model.NewKVCacheOf(&cfg.Text, limit, e.opts.KVType); err != nil {
		return nil, err
	}
	s.start = reuse
	s.info.ReusedTokens = reuse
	if s.embeds, err = e.inputRows(ctx, s, items, spans); err != nil {
		return nil, err
	}
	st := e.Stats()
	e.log.Info("prefix cache", "prompt_tokens", S, "reused_tokens", reuse, "vision_items", s.info.VisionItems,
		"vision_cached", s.info.VisionCached, "hits", st.PrefixHits, "misses", st.PrefixMisses,
		"cache_bytes", st.CacheBytes, "cache_limit", st.CacheLimit, "evictions", st.Evictions)
	sctx, cancel := context.WithCancel(ctx)
	s.ctx = sctx
	s.stream = &Stream{notify: make(chan struct{}, 1), cancel: cancel}
	s.queued = time.Now()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		cancel()
		return nil, ErrClosed
	}
	e.waiting = append(e.waiting, s)
	e.mu.Unlock()
	e.signal()
	return s.stream, nil
}

func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// visionItem is one image or video of a request.
type visionItem struct {
	in   model.PixelInput
	hash [32]byte
	rows int // embedding rows (vision tokens)
}

// visionSpan places vision rows in the prompt: token i (an image token)
// holds row r of item it.
type visionSpan struct{ item, row int }

// visionItems hashes the request's images and videos and assigns every
// image token of the prompt to its item and row, as BuildPrompt does
// (tokens inside <|begin_of_video|>…<|end_of_video|> belong to videos).
func (e *Engine) visionItems(req Request) ([]visionItem, map[int]visionSpan, error) {
	cfg := e.net.Config
	m := cfg.Vision.SpatialMerge
	var items []visionItem
	add := func(in model.PixelInput, kind byte) error {
		g := in.Grid
		if g[0] <= 0 || g[1] <= 0 || g[2] <= 0 || g[1]%m != 0 || g[2]%m != 0 {
			return fmt.Errorf("engine: bad grid %v", g)
		}
		if want := g[0] * g[1] * g[2] * cfg.Vision.PatchDim(); len(in.Values) != want {
			return fmt.Errorf("engine: %d pixel values for grid %v, want %d", len(in.Values), g, want)
		}
		items = append(items, visionItem{in: in, hash: pixelHash(in, kind), rows: g[0] * g[1] * g[2] / (m * m)})
		return nil
	}
	for _, in := range req.Images {
		if err := add(in, 'i'); err != nil {
			return nil, nil, err
		}
	}
	nImg := len(items)
	for _, in := range req.Videos {
		if err := add(in, 'v'); err != nil {
			return nil, nil, err
		}
	}
	spans := map[int]visionSpan{}
	cur := [2]int{0, nImg} // next item: images, videos
	row := [2]int{}        // next row within it
	_, _, err := model.WalkVisionTokens(cfg, req.IDs, func(i int, video bool, _ int) error {
		k, end := 0, nImg
		if video {
			k, end = 1, len(items)
		}
		if cur[k] >= end {
			return fmt.Errorf("engine: the prompt has more image tokens than its images and videos have rows (at position %d)", i)
		}
		spans[i] = visionSpan{cur[k], row[k]}
		if row[k]++; row[k] == items[cur[k]].rows {
			cur[k], row[k] = cur[k]+1, 0
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if cur[0] != nImg || cur[1] != len(items) || row != [2]int{} {
		return nil, nil, fmt.Errorf("engine: the prompt's image tokens do not match its images and videos")
	}
	return items, spans, nil
}

// pixelHash identifies processed pixels: a SHA-256 of the kind, the grid
// and the values.
func pixelHash(in model.PixelInput, kind byte) [32]byte {
	h := sha256.New()
	var b [25]byte
	b[0] = kind
	for i, g := range in.Grid {
		binary.LittleEndian.PutUint64(b[1+8*i:], uint64(g))
	}
	h.Write(b[:])
	buf := make([]byte, 0, 1<<16)
	for i, v := range in.Values {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		if len(buf) == cap(buf) || i == len(in.Values)-1 {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// positionKeys gives every prompt token a key for prefix matching: text
// tokens their id, vision tokens a hash of their item and row (so the
// same placeholder ids with different images never match).
func positionKeys(ids []int, items []visionItem, spans map[int]visionSpan) []uint64 {
	keys := make([]uint64, len(ids), len(ids)+64)
	for i, id := range ids {
		sp, ok := spans[i]
		if !ok {
			keys[i] = uint64(id)
			continue
		}
		h := binary.LittleEndian.Uint64(items[sp.item].hash[:8])
		keys[i] = (h ^ uint64(sp.row)*0x9e3779b97f4a7c15) | 1<<63
	}
	return keys
}

// inputRows builds the input embeddings of the prompt tokens from s.start
// on: text rows from the embedding table, vision rows from the image
// cache or the vision tower (one pass for every missing item).
func (e *Engine) inputRows(ctx context.Context, s *seq, items []visionItem, spans map[int]visionSpan) ([]float32, error) {
	H := e.net.Config.Text.Hidden
	ids := s.req.IDs[s.start:]
	out := make([]float32, len(ids)*H)
	need := map[int]bool{}
	for i, id := range ids {
		if sp, ok := spans[s.start+i]; ok {
			need[sp.item] = true
			continue
		}
		e.net.Weights.Text.Embed.Row(id, out[i*H:(i+1)*H])
	}
	rows := make([][]float32, len(items))
	for it := range items {
		if !need[it] {
			continue
		}
		s.info.VisionItems++
		start := time.Now()
		r, hit, err := e.cache.image(items[it].hash, func() ([]float32, error) {
			in := items[it].in
			return e.net.Vision.Forward(ctx, in.Values, model.Segments([][3]int{in.Grid}))
		})
		if err != nil {
			return nil, fmt.Errorf("engine: vision: %w", err)
		}
		if len(r) != items[it].rows*H {
			return nil, fmt.Errorf("engine: vision tower gave %d values for %d rows of %d", len(r), items[it].rows, H)
		}
		if hit {
			s.info.VisionCached++
		} else {
			s.info.Vision += time.Since(start)
		}
		rows[it] = r
	}
	for i := range ids {
		if sp, ok := spans[s.start+i]; ok {
			copy(out[i*H:(i+1)*H], rows[sp.item][sp.row*H:(sp.row+1)*H])
		}
	}
	return out, nil
}
