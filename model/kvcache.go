package model

import (
	"fmt"
	"strings"

	"github.com/glmv/glmv/compute"
)

// KVCache holds the keys (after rope) and values of every decoder layer
// for the tokens seen so far, one row of KVHeads·HeadDim per token, in the
// cache's Type: F32, F16 (half the memory, the default of the engine) or
// Q8_0 (blocks of 32 int8 with an f16 scale, about a quarter). Attention
// reads the compact forms directly, widening a block of keys at a time.
//
// A KVCache is not safe for concurrent use.
type KVCache struct {
	Type   compute.DType
	K, V   []*compute.Matrix // per layer, [capacity, KVHeads·HeadDim]
	Len    int               // tokens stored
	width  int
	limit  int
	layers int
}

// KVTypes lists the accepted KV cache formats by name.
var KVTypes = []string{"f16", "f32", "q8_0"}

// ParseKVType reads a KV cache format name: "f32", "f16" or "q8_0" ("" is
// f16).
func ParseKVType(s string) (compute.DType, error) {
	switch strings.ToLower(s) {
	case "", "f16":
		return compute.F16, nil
	case "f32":
		return compute.F32, nil
	case "q8_0", "q8":
		return compute.Q8_0, nil
	}
	return 0, fmt.Errorf("unknown KV cache type %q (want one of %s)", s, strings.Join(KVTypes, ", "))
}

// KVBytesPerToken is the KV cache memory one token takes in format dt,
// over all layers.
func KVBytesPerToken(cfg *TextConfig, dt compute.DType) int64 {
	return 2 * int64(cfg.Layers) * compute.RowBytes(dt, cfg.KVHeads*cfg.HeadDim)
}

// NewKVCache makes an empty float32 cache for cfg, holding at most limit
// tokens (the context length when limit <= 0).
func NewKVCache(cfg *TextConfig, limit int) *KVCache {
	c, _ := NewKVCacheOf(cfg, limit, compute.F32)
	return c
}

// NewKVCacheOf makes an empty cache in format dt (F32, F16 or Q8_0).
func NewKVCacheOf(cfg *TextConfig, limit int, dt compute.DType) (*KVCache, error) {
	if limit <= 0 {
		limit = cfg.MaxPositions
	}
	if _, err := compute.NewKVMatrix(dt, 0, 0); err != nil {
		return nil, err
	}
	return &KVCache{
		Type: dt, K: make([]*compute.Matrix, cfg.Layers), V: make([]*compute.Matrix, cfg.Layers),
		width: cfg.KVHeads * cfg.HeadDim, limit: limit, layers: cfg.Layers,
	}, nil
}

// Limit is the most tokens the cache may hold.
func (c *KVCache) Limit() int { return c.limit }

// Capacity is the number of tokens the allocated memory holds.
func (c *KVCache) Capacity() int {
	if c.layers == 0 || c.K[0] == nil {
		return 0
	}
	return c.K[0].Rows
}

// Bytes is the memory allocated for keys and values.
func (c *KVCache) Bytes() int64 {
	return 2 * int64(c.layers) * int64(c.Capacity()) * compute.RowBytes(c.Type, c.width)
}

// Reset forgets every stored token, keeping the memory.
func (c *KVCache) Reset() { c.Len = 0 }

// Truncate forgets the tokens from n on.
func (c *KVCache) Truncate(n int) {
	if n < c.Len {
		c.Len = max(n, 0)
	}
}

// Clone returns a new cache, with room for limit tokens (c's limit when
// limit <= 0), holding a copy of the first n tokens of c.
func (c *KVCache) Clone(n, limit int) (*KVCache, error) {
	if limit <= 0 {
		limit = c.limit
	}
	n = min(n, c.Len)
	d := &KVCache{
		Type: c.Type, K: make([]*compute.Matrix, c.layers), V: make([]*compute.Matrix, c.layers),
		width: c.width, limit: limit, layers: c.layers,
	}
	if n > limit {
		return nil, fmt.Errorf("clone: %d tokens exceed the limit of %d", n, limit)
	}
	if err := d.resize(n); err != nil {
		return nil, err
	}
	for l := range c.layers {
		compute.CopyRows(d.K[l], c.K[l], n)
		compute.CopyRows(d.V[l], c.V[l], n)
	}
	d.Len = n
	return d, nil
}

// Compact shrinks the memory to the stored tokens.
func (c *KVCache) Compact() {
	if c.Capacity() > c.Len {
		c.resize(c.Len)
	}
}

// reserve makes room for n more tokens in every layer.
func (c *KVCache) reserve(n int) error {
	need := c.Len + n
	if need > c.limit {
		return fmt.Errorf("context is full: %d tokens would exceed the limit of %d by %d", need, c.limit, need-c.limit)
	}
	have := c.Capacity()
	if need <= have {
		return nil
	}
	return c.resize(min(max(need, 2*have, 64), c.limit))
}

// resize reallocates every layer to size tokens, keeping the stored ones.
func (c *KVCache) resize(size int) error {
	for l := range c.layers {
		k, err := compute.NewKVMatrix(c.Type, size, c.width)
		if err != nil {
			return err
		}
		v, _ := compute.NewKVMatrix(c.Type, size, c.width)
		if c.K[l] != nil {
			keep := min(c.Len, size)
			compute.CopyRows(k, c.K[l], keep)
			compute.CopyRows(v, c.V[l], keep)
		}
		c.K[l], c.V[l] = k, v
	}
	return nil
}
