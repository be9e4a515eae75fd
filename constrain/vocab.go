package constrain

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/glmv/glmv/tokenizer"
)

// Vocab is a tokenizer's vocabulary as the matcher sees it: the bytes each
// token decodes to, arranged in a trie, and the end-of-sequence tokens.
// Build it once per tokenizer; it is immutable and safe for concurrent use.
//
// Masks are exact for the vocabulary: a token is allowed when its bytes
// continue a text of the grammar that can still be completed. With a
// vocabulary that can spell every byte (byte-level BPE ones have a token
// per byte) a mask is therefore never empty; a toy vocabulary missing
// bytes can meet a literal it cannot spell (a non-ASCII tool name), and
// the mask is then empty rather than wrong.
type Vocab struct {
	size  int
	eos   []int
	trie  []trieNode
	order []int32 // token ids sorted by their bytes (trie preorder)
	bytes [][]byte

	plainOnce sync.Once
	plain     plainTable
}

// plainTable classifies tokens for length-bounded strings: a plain token
// is a whole number of characters none of which needs an escape or is
// '<' (so it continues any such string by that many characters).
type plainTable struct {
	byChars  []int32  // plain token ids, fewest characters first
	chars    []int32  // character count of each of byChars
	nonPlain []uint64 // the other tokens, by position in order

	mu       sync.Mutex
	upTo     map[int32][]uint64 // plain tokens of at most n characters, by id
	maxChars int32              // the most characters of a plain token
}

// acceptedUpTo returns the bitset (by token id) of the plain tokens of at
// most n characters (n < 0: all), shared and read-only.
func (t *plainTable) acceptedUpTo(n int32, size int) []uint64 {
	if n < 0 || n > t.maxChars {
		n = t.maxChars
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if b, ok := t.upTo[n]; ok {
		return b
	}
	b := make([]uint64, words(size))
	for i, id := range t.byChars {
		if t.chars[i] > n {
			break
		}
		setBit(b, id)
	}
	if t.upTo == nil {
		t.upTo = map[int32][]uint64{}
	}
	t.upTo[n] = b
	return b
}

// plainTokens returns the vocabulary's plain-token table, built once.
func (v *Vocab) plainTokens() *plainTable {
	v.plainOnce.Do(func() {
		t := &v.plain
		t.nonPlain = make([]uint64, words(len(v.order)))
		type tc struct{ id, n int32 }
		var list []tc
		for pos, id := range v.order {
			if n := plainChars(v.bytes[id]); n > 0 {
				list = append(list, tc{id, int32(n)})
			} else {
				setBit(t.nonPlain, int32(pos))
			}
		}
		slices.SortStableFunc(list, func(a, b tc) int { return int(a.n - b.n) })
		for _, e := range list {
			t.byChars = append(t.byChars, e.id)
			t.chars = append(t.chars, e.n)
			t.maxChars = e.n
		}
	})
	return &v.plain
}

// plainChars counts the characters of b when it is plain, else 0.
func plainChars(b []byte) int {
	n := 0
	for len(b) > 0 {
		c := b[0]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' {
				return 0
			}
			b = b[1:]
			n++
			continue
		}
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return 0
		}
		b = b[size:]
		n++
	}
	return n
}

// trieNode is a node of the vocabulary trie, stored in preorder: the
// subtree of node i is trie[i : i+size], its first child (if any) is
// i+1 and the next sibling of a child c is c+trie[c].size. The tokens in
// the subtree are order[tokLo:tokHi]; the first nEnd of them end here.
type trieNode struct {
	b            byte
	size         int32
	tokLo, tokHi int32
	nEnd         int32
}

// NewVocab builds a vocabulary from the bytes of each token id; a nil or
// empty entry is a token the matcher never allows except through eos
// (special and unused ids). eos lists the end-of-sequence ids, allowed
// when the grammar's text is complete.
func NewVocab(tokens [][]byte, eos []int) (*Vocab, error) {
	v := &Vocab{size: len(tokens), bytes: tokens}
	for _, id := range eos {
		if id < 0 || id >= len(tokens) {
			return nil, fmt.Errorf("constrain: end-of-sequence id %d outside the vocabulary of %d", id, len(tokens))
		}
		v.eos = append(v.eos, id)
	}
	for id, b := range tokens {
		if len(b) > 0 && !slices.Contains(v.eos, id) {
			v.order = append(v.order, int32(id))
		}
	}
	slices.SortFunc(v.order, func(a, b int32) int { return bytes.Compare(tokens[a], tokens[b]) })
	v.trie = append(v.trie, trieNode{})
	v.build(0, 0, 0, int32(len(v.order)))
	return v, nil
}

// build fills node n (at byte depth d) for the sorted tokens order[lo:hi],
// which all share the node's prefix.
func (v *Vocab) build(n int32, d int, lo, hi int32) {
	v.trie[n].tokLo, v.trie[n].tokHi = lo, hi
	i := lo
	for i < hi && len(v.bytes[v.order[i]]) == d {
		i++
	}
	v.trie[n].nEnd = i - lo
	for i < hi {
		c := v.bytes[v.order[i]][d]
		j := i
		for j < hi && v.bytes[v.order[j]][d] == c {
			j++
		}
		child := int32(len(v.trie))
		v.trie = append(v.trie, trieNode{b: c})
		v.build(child, d+1, i, j)
		i = j
	}
	v.trie[n].size = int32(len(v.trie)) - n
}

// FromTokenizer builds the vocabulary of t. Special tokens are left out
// except those listed in keep (by content, e.g. "<tool_call>"), which
// stand for their text; eos lists the end-of-sequence ids.
func FromTokenizer(t *tokenizer.Tokenizer, eos []int, keep ...string) (*Vocab, error) {
	tokens := make([][]byte, t.VocabSize())
	for id := range tokens {
		s, ok := t.Token(id)
		if !ok {
			continue
		}
		if t.IsSpecial(id) && !slices.Contains(keep, s) {
			continue
		}
		tokens[id] = t.DecodeBytes([]int{id})
	}
	return NewVocab(tokens, eos)
}

// Size is the number of token ids (one more than the largest).
func (v *Vocab) Size() int { return v.size }

// EOS returns the end-of-sequence ids.
func (v *Vocab) EOS() []int { return v.eos }

// TokenBytes returns the bytes of token id (nil for excluded ids).
func (v *Vocab) TokenBytes(id int) []byte {
	if id < 0 || id >= v.size {
		return nil
	}
	return v.bytes[id]
}

// ToolCallTokens returns the special tokens of GLM's tool-call syntax,
// which a Vocab must keep (FromTokenizer's keep) for ToolCalls grammars
// to use them.
func ToolCallTokens() []string {
	return []string{"<tool_call>", "</tool_call>", "<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>"}
}
