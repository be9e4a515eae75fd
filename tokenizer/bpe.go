package tokenizer

import (
	"container/heap"
	"fmt"
	"sync"
	"unicode/utf8"
)

// byteToRune is GPT-2's reversible map from bytes to printable characters:
// printable Latin-1 bytes stand for themselves, the rest are shifted to
// U+0100 and up, in byte order.
var byteToRune, runeToByte = func() ([256]rune, map[rune]byte) {
	var b2r [256]rune
	r2b := make(map[rune]byte, 256)
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			b2r[b] = rune(b)
		} else {
			b2r[b] = 256 + n
			n++
		}
		r2b[b2r[b]] = byte(b)
	}
	return b2r, r2b
}()

// byteLevel maps raw bytes to the byte-level alphabet the vocabulary uses.
func byteLevel(s string) string {
	buf := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		buf = utf8.AppendRune(buf, byteToRune[s[i]])
	}
	return string(buf)
}

// mergeKey packs a pair of token ids.
func mergeKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

type merge struct {
	rank int32
	id   int32 // id of the merged token
}

// bpe is the byte-level BPE model.
type bpe struct {
	vocab        map[string]int
	merges       map[uint64]merge
	byteID       [256]int32 // id of each single-byte token, -1 if absent
	ignoreMerges bool

	mu    sync.RWMutex
	cache map[string][]int
}

const (
	maxCacheEntries = 1 << 16
	maxCachedWord   = 256
)

func newBPE(m *modelJSON) (*bpe, error) {
	if m.Type != "" && m.Type != "BPE" {
		return nil, fmt.Errorf("model: unsupported type %q (only BPE)", m.Type)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, fmt.Errorf("model: BPE dropout %v is not supported", *m.Dropout)
	}
	if m.ByteFallback {
		return nil, fmt.Errorf("model: BPE byte_fallback is not supported (only byte-level BPE)")
	}
	if p := m.ContinuingSubwordPrefix; p != nil && *p != "" {
		return nil, fmt.Errorf("model: BPE continuing_subword_prefix %q is not supported", *p)
	}
	if p := m.EndOfWordSuffix; p != nil && *p != "" {
		return nil, fmt.Errorf("model: BPE end_of_word_suffix %q is not supported", *p)
	}
	if len(m.Vocab) == 0 {
		return nil, fmt.Errorf("model: empty vocab")
	}
	b := &bpe{vocab: m.Vocab, ignoreMerges: m.IgnoreMerges, cache: make(map[string][]int)}
	for i := range b.byteID {
		id, ok := m.Vocab[string(byteToRune[i])]
		if !ok {
			id = -1
		}
		b.byteID[i] = int32(id)
	}
	pairs, err := parseMerges(m.Merges)
	if err != nil {
		return nil, err
	}
	if m.mergeList != nil {
		if pairs, err = splitMerges(m.mergeList); err != nil {
			return nil, err
		}
	}
	b.merges = make(map[uint64]merge, len(pairs))
	for rank, p := range pairs {
		a, ok1 := m.Vocab[p[0]]
		c, ok2 := m.Vocab[p[1]]
		id, ok3 := m.Vocab[p[0]+p[1]]
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("model.merges[%d]: %q + %q uses a token missing from the vocab", rank, p[0], p[1])
		}
		k := mergeKey(int32(a), int32(c))
		if _, dup := b.merges[k]; !dup { // the first (lowest) rank wins
			b.merges[k] = merge{rank: int32(rank), id: int32(id)}
		}
	}
	return b, nil
}

// encodeWord appends the ids of one pre-tokenized piece (raw bytes, before
// the byte-level mapping) to dst.
func (b *bpe) encodeWord(dst []int, word string) []int {
	if len(word) == 0 {
		return dst
	}
	if len(word) == 1 {
		if id := b.byteID[word[0]]; id >= 0 {
			dst = append(dst, int(id))
		}
		return dst
	}
	cacheable := len(word) <= maxCachedWord
	if cacheable {
		b.mu.RLock()
		ids, ok := b.cache[word]
		b.mu.RUnlock()
		if ok {
			return append(dst, ids...)
		}
	}
	var ids []int
	if b.ignoreMerges {
		if id, ok := b.vocab[byteLevel(word)]; ok {
			ids = []int{id}
		}
	}
	if ids == nil {
		if len(word) <= smallWord {
			ids = b.mergeSmall(word)
		} else {
			ids = b.merge(word)
		}
	}
	if cacheable {
		b.mu.Lock()
		if len(b.cache) >= maxCacheEntries {
			clear(b.cache)
		}
		b.cache[word] = ids
		b.mu.Unlock()
	}
	return append(dst, ids...)
}

// smallWord is the length up to which mergeSmall is used: for short words
// a linear scan for the best pair beats the heap.
const smallWord = 32

const noMerge = int32(1<<31 - 1)

// mergeSmall is merge for words of at most smallWord bytes: it keeps the
// rank of every adjacent pair and repeatedly merges the lowest-ranked,
// leftmost pair, which is the order merge follows.
func (b *bpe) mergeSmall(word string) []int {
	var idBuf [smallWord]int32
	var rankBuf [smallWord]int32
	ids := idBuf[:0]
	for i := 0; i < len(word); i++ {
		if id := b.byteID[word[i]]; id >= 0 {
			ids = append(ids, id)
		}
	}
	ranks := rankBuf[:0]
	for i := 0; i+1 < len(ids); i++ {
		ranks = append(ranks, b.rank(ids[i], ids[i+1]))
	}
	for {
		best := -1
		for i, r := range ranks {
			if r != noMerge && (best < 0 || r < ranks[best]) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		ids[best] = b.merges[mergeKey(ids[best], ids[best+1])].id
		ids = append(ids[:best+1], ids[best+2:]...)
		ranks = append(ranks[:best], ranks[best+1:]...)
		if best > 0 {
			ranks[best-1] = b.rank(ids[best-1], ids[best])
		}
		if best < len(ranks) {
			ranks[best] = b.rank(ids[best], ids[best+1])
		}
	}
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

func (b *bpe) rank(a, c int32) int32 {
	if m, ok := b.merges[mergeKey(a, c)]; ok {
		return m.rank
	}
	return noMerge
}

// symbol is one node of the doubly linked list of parts of a word.
type symbol struct {
	id         int32
	prev, next int32 // indexes into the symbol slice, -1 at the ends
}

// candidate is a possible merge of symbol pos with its right neighbour.
type candidate struct {
	rank, pos   int32
	left, right int32 // ids expected at pos and at its neighbour
	rightPos    int32
}

type candidateHeap []candidate

func (h candidateHeap) Len() int { return len(h) }
func (h candidateHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h candidateHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candidateHeap) Push(x any)   { *h = append(*h, x.(candidate)) }
func (h *candidateHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// merge applies the merges to word, lowest rank first and, among equal
// ranks, leftmost first, the order the tokenizers library uses.
func (b *bpe) merge(word string) []int {
	syms := make([]symbol, 0, len(word))
	for i := 0; i < len(word); i++ {
		id := b.byteID[word[i]]
		if id < 0 {
			continue // a byte missing from the vocab is dropped, as upstream does without unk
		}
		n := int32(len(syms))
		syms = append(syms, symbol{id: id, prev: n - 1, next: n + 1})
	}
	if len(syms) == 0 {
		return []int{}
	}
	syms[len(syms)-1].next = -1
	h := make(candidateHeap, 0, len(syms))
	push := func(pos int32) {
		next := syms[pos].next
		if next < 0 {
			return
		}
		if m, ok := b.merges[mergeKey(syms[pos].id, syms[next].id)]; ok {
			h = append(h, candidate{rank: m.rank, pos: pos, left: syms[pos].id, right: syms[next].id, rightPos: next})
		}
	}
	for i := range syms {
		push(int32(i))
	}
	heap.Init(&h)
	for h.Len() > 0 {
		c := heap.Pop(&h).(candidate)
		s := &syms[c.pos]
		if s.id != c.left || s.next != c.rightPos || syms[c.rightPos].id != c.right {
			continue // stale: one side changed since this candidate was made
		}
		m := b.merges[mergeKey(c.left, c.right)]
		r := syms[c.rightPos]
		s.id = m.id
		s.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = c.pos
		}
		syms[c.rightPos].id = -1 // dead
		if s.prev >= 0 {
			pushHeap(&h, b, syms, s.prev)
		}
		pushHeap(&h, b, syms, c.pos)
	}
	out := make([]int, 0, len(syms))
	for i := int32(0); i >= 0; i = syms[i].next {
		out = append(out, int(syms[i].id))
	}
	return out
}

func pushHeap(h *candidateHeap, b *bpe, syms []symbol, pos int32) {
	next := syms[pos].next
	if next < 0 {
		return
	}
	if m, ok := b.merges[mergeKey(syms[pos].id, syms[next].id)]; ok {
		heap.Push(h, candidate{rank: m.rank, pos: pos, left: syms[pos].id, right: syms[next].id, rightPos: next})
	}
}
