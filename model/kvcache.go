package model

import "fmt"

// KVCache holds the keys (after rope) and values of every decoder layer
// for the tokens seen so far, as float32 rows of KVHeads·HeadDim.
type KVCache struct {
	K, V   [][]float32
	Len    int // tokens stored
	width  int
	limit  int
	layers int
}

// NewKVCache makes an empty cache for cfg, holding at most limit tokens
// (the context length when limit <= 0).
func NewKVCache(cfg *TextConfig, limit int) *KVCache {
	if limit <= 0 {
		limit = cfg.MaxPositions
	}
	return &KVCache{
		K: make([][]float32, cfg.Layers), V: make([][]float32, cfg.Layers),
		width: cfg.KVHeads * cfg.HeadDim, limit: limit, layers: cfg.Layers,
	}
}

// Reset forgets every stored token, keeping the memory.
func (c *KVCache) Reset() { c.Len = 0 }

// reserve makes room for n more tokens in every layer.
func (c *KVCache) reserve(n int) error {
	need := c.Len + n
	if need > c.limit {
		return fmt.Errorf("context is full: %d tokens would exceed the limit of %d by %d", need, c.limit, need-c.limit)
	}
	if have := len(c.K[0]) / max(c.width, 1); need <= have {
		return nil
	}
	size := max(need, 2*len(c.K[0])/max(c.width, 1), 64)
	size = min(size, c.limit)
	for l := 0; l < c.layers; l++ {
		k := make([]float32, size*c.width)
		v := make([]float32, size*c.width)
		copy(k, c.K[l][:c.Len*c.width])
		copy(v, c.V[l][:c.Len*c.width])
		c.K[l], c.V[l] = k, v
	}
	return nil
}
