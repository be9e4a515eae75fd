package engine

import (
	"container/list"
	"sync"

	"github.com/glmv/glmv/model"
)

// prefixEntry is a finished (or cancelled) sequence's KV cache with the
// keys of the tokens it holds. It is immutable once in the cache, so
// requests clone from it without holding the lock.
type prefixEntry struct {
	keys  []uint64
	kv    *model.KVCache
	bytes int64
	elem  *list.Element
}

// imageEntry is the vision tower output of one image or video, keyed by
// the hash of its processed pixels and grid.
type imageEntry struct {
	key   [32]byte
	rows  []float32
	bytes int64
	elem  *list.Element
}

// cache holds the prefix and image-embedding caches under one memory
// budget with least-recently-used eviction. It is safe for concurrent use.
type cache struct {
	mu     sync.Mutex
	limit  int64
	bytes  int64
	lru    *list.List // front = most recent; values *prefixEntry or *imageEntry
	prefix map[*prefixEntry]struct{}
	images map[[32]byte]*imageEntry
	// inflight tracks images being embedded, so concurrent requests
	// with the same image run the vision tower once.
	inflight map[[32]byte]*flight
	stats    cacheStats
}

type flight struct {
	done chan struct{}
	rows []float32
	err  error
}

type cacheStats struct {
	prefixHits, prefixMisses, reusedTokens int64
	imageHits, imageMisses, evictions      int64
}

func newCache(limit int64) *cache {
	return &cache{limit: limit, lru: list.New(), prefix: map[*prefixEntry]struct{}{},
		images: map[[32]byte]*imageEntry{}, inflight: map[[32]byte]*flight{}}
}

// commonPrefix is the length of the common prefix of a and b.
func commonPrefix(a, b []uint64) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// lookup finds the cached sequence sharing the longest prefix with keys,
// capped at max tokens, marks it used and counts the hit or miss.
func (c *cache) lookup(keys []uint64, max int) (*prefixEntry, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *prefixEntry
	n := 0
	for e := range c.prefix {
		if k := min(commonPrefix(e.keys, keys), e.kv.Len, max); k > n {
			best, n = e, k
		}
	}
	if best == nil {
		c.stats.prefixMisses++
		return nil, 0
	}
	c.stats.prefixHits++
	c.stats.reusedTokens += int64(n)
	c.lru.MoveToFront(best.elem)
	return best, n
}

// addPrefix stores a sequence's KV cache under keys (one per stored
// token). Entries whose keys are a prefix of the new keys are dropped (the
// new entry serves every request they could), and a sequence that an
// entry already covers is not stored again.
func (c *cache) addPrefix(keys []uint64, kv *model.KVCache) {
	if kv.Len == 0 || c.limit <= 0 {
		return
	}
	if kv.Capacity() > kv.Len+64 {
		kv.Compact()
	}
	e := &prefixEntry{keys: keys[:kv.Len:kv.Len], kv: kv, bytes: kv.Bytes() + int64(8*len(keys))}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.bytes > c.limit {
		return
	}
	for o := range c.prefix {
		switch common := commonPrefix(o.keys, e.keys); {
		case common == len(e.keys):
			// An entry already holds all of it.
			c.lru.MoveToFront(o.elem)
			return
		case common == len(o.keys):
			c.remove(o)
		}
	}
	c.prefix[e] = struct{}{}
	e.elem = c.lru.PushFront(e)
	c.bytes += e.bytes
	c.evict()
}

// image returns the embedding rows of the image or video with key,
// computing them with compute (outside the lock, once for concurrent
// callers) on a miss.
func (c *cache) image(key [32]byte, compute func() ([]float32, error)) ([]float32, bool, error) {
	c.mu.Lock()
	if e, ok := c.images[key]; ok {
		c.stats.imageHits++
		c.lru.MoveToFront(e.elem)
		c.mu.Unlock()
		return e.rows, true, nil
	}
	if f, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		<-f.done
		if f.err != nil {
			// The other caller failed (perhaps cancelled): try ourselves.
			return c.image(key, compute)
		}
		c.mu.Lock()
		c.stats.imageHits++
		c.mu.Unlock()
		return f.rows, true, nil
	}
	f := &flight{done: make(chan struct{})}
	c.inflight[key] = f
	c.stats.imageMisses++
	c.mu.Unlock()

	f.rows, f.err = compute()
	c.mu.Lock()
	delete(c.inflight, key)
	if f.err == nil && c.limit > 0 {
		e := &imageEntry{key: key, rows: f.rows, bytes: 4 * int64(len(f.rows))}
		if e.bytes <= c.limit {
			c.images[key] = e
			e.elem = c.lru.PushFront(e)
			c.bytes += e.bytes
			c.evict()
		}
	}
	c.mu.Unlock()
	close(f.done)
	return f.rows, false, f.err
}

// evict drops least recently used entries until the budget holds.
func (c *cache) evict() {
	for c.bytes > c.limit && c.lru.Len() > 0 {
		switch e := c.lru.Back().Value.(type) {
		case *prefixEntry:
			c.remove(e)
		case *imageEntry:
			c.lru.Remove(e.elem)
			delete(c.images, e.key)
			c.bytes -= e.bytes
		}
		c.stats.evictions++
	}
}

func (c *cache) remove(e *prefixEntry) {
	c.lru.Remove(e.elem)
	delete(c.prefix, e)
	c.bytes -= e.bytes
}
