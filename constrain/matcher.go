package constrain

import (
	"fmt"
	"math/bits"
	"sync"
)

// analysis holds, for one grammar and one vocabulary, what each node
// allows regardless of the call stack below it. It is filled lazily, as
// matchers meet nodes, and shared by all matchers of the pair.
type analysis struct {
	mu    sync.Mutex
	v     *Vocab
	eng   *engine
	masks map[int32]*nodeMask
}

// nodeMask splits the vocabulary for a configuration at one node: the
// tokens accepted without leaving the node's rule (whatever the stack),
// and the uncertain ones, which leave it (reach the end of the rule) and
// so depend on the stack; the rest are rejected everywhere.
type nodeMask struct {
	accepted  []uint64 // by token id (read-only: may be shared)
	uncertain []uint64 // by position in Vocab.order (read-only: may be shared)
	anyUnc    bool
}

func (g *Grammar) analysisFor(v *Vocab) *analysis {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.analyses == nil {
		g.analyses = map[*Vocab]*analysis{}
	}
	a, ok := g.analyses[v]
	if !ok {
		a = &analysis{v: v, eng: newEngine(g), masks: map[int32]*nodeMask{}}
		g.analyses[v] = a
	}
	return a
}

func words(n int) int { return (n + 63) / 64 }

func setBit(b []uint64, i int32)      { b[i>>6] |= 1 << (uint(i) & 63) }
func hasBit(b []uint64, i int32) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }

func setRange(b []uint64, lo, hi int32) {
	for i := lo; i < hi; i++ {
		setBit(b, i)
	}
}

// anyInRange reports whether a bit in [lo, hi) is set.
func anyInRange(b []uint64, lo, hi int32) bool {
	if lo >= hi {
		return false
	}
	wl, wh := lo>>6, (hi-1)>>6
	ml := ^uint64(0) << (uint(lo) & 63)
	mh := ^uint64(0) >> (63 - (uint(hi-1) & 63))
	if wl == wh {
		return b[wl]&ml&mh != 0
	}
	if b[wl]&ml != 0 || b[wh]&mh != 0 {
		return true
	}
	for w := wl + 1; w < wh; w++ {
		if b[w] != 0 {
			return true
		}
	}
	return false
}

// mask returns the analysis of node n, computing it on first use.
func (a *analysis) mask(n int32) *nodeMask {
	a.mu.Lock()
	defer a.mu.Unlock()
	if m, ok := a.masks[n]; ok {
		return m
	}
	v := a.v
	if nd := &a.eng.g.nodes[n]; nd.counted {
		// A position in a length-bounded string: plain tokens short
		// enough stay inside it; the others are left to the walk. The
		// bitsets are the vocabulary's, shared.
		pt := v.plainTokens()
		m := &nodeMask{accepted: pt.acceptedUpTo(nd.remaining, v.size), uncertain: pt.nonPlain, anyUnc: true}
		a.masks[n] = m
		return m
	}
	m := &nodeMask{accepted: make([]uint64, words(v.size)), uncertain: make([]uint64, words(len(v.order)))}
	e := a.eng
	s0 := e.intern([]cfg{{n, -1}}, false)
	var visit func(t, s int32, esc bool)
	visit = func(t, s int32, esc bool) {
		tn := &v.trie[t]
		end := t + tn.size
		for c := t + 1; c < end; c += v.trie[c].size {
			cn := &v.trie[c]
			s2 := e.step(s, cn.b)
			if s2 < 0 {
				if esc {
					setRange(m.uncertain, cn.tokLo, cn.tokHi)
				}
				continue
			}
			st := &e.sets[s2]
			esc2 := esc || st.end
			if len(st.cfgs) == 0 {
				setRange(m.uncertain, cn.tokLo, cn.tokHi)
				continue
			}
			for k := cn.tokLo; k < cn.tokLo+cn.nEnd; k++ {
				setBit(m.accepted, v.order[k])
			}
			if cn.size > 1 {
				visit(c, s2, esc2)
			}
		}
	}
	visit(0, s0, false)
	for _, w := range m.uncertain {
		if w != 0 {
			m.anyUnc = true
			break
		}
	}
	a.masks[n] = m
	return m
}

// Matcher follows one generation through a grammar and says, before each
// token, which tokens may come next. It is not safe for concurrent use;
// make one per sequence (they share the grammar's per-vocabulary tables).
type Matcher struct {
	g    *Grammar
	v    *Vocab
	an   *analysis
	eng  *engine
	cur  int32
	done bool // an end-of-sequence token was accepted

	unc     []uint64
	cacheID int32
	cache   []uint64
}

// maxSets bounds a matcher's interned sets before it starts afresh.
const maxSets = 1 << 15

// NewMatcher starts matching g's language with v's tokens.
func NewMatcher(g *Grammar, v *Vocab) *Matcher {
	m := &Matcher{g: g, v: v, an: g.analysisFor(v), eng: newEngine(g), cacheID: -1}
	m.cur = m.eng.start()
	return m
}

// MaskWords is the length of the bitsets Mask fills.
func (m *Matcher) MaskWords() int { return words(m.v.size) }

// CanEnd reports whether the text so far is complete, so an
// end-of-sequence token is allowed.
func (m *Matcher) CanEnd() bool { return m.done || m.eng.sets[m.cur].end }

// Done reports whether an end-of-sequence token was accepted.
func (m *Matcher) Done() bool { return m.done }

// Mask sets in dst (MaskWords long, bit i for token i) exactly the tokens
// allowed next: those whose bytes continue the text within the grammar,
// and the end-of-sequence tokens when the text is complete. It returns
// dst. Nothing is allowed after an end-of-sequence token.
func (m *Matcher) Mask(dst []uint64) []uint64 {
	if len(dst) < m.MaskWords() {
		dst = make([]uint64, m.MaskWords())
	}
	dst = dst[:m.MaskWords()]
	if m.done {
		clear(dst)
		return dst
	}
	if m.cacheID == m.cur && m.cache != nil {
		copy(dst, m.cache)
		return dst
	}
	clear(dst)
	v := m.v
	if m.unc == nil {
		m.unc = make([]uint64, words(len(v.order)))
	}
	clear(m.unc)
	cur := m.eng.sets[m.cur]
	anyUnc := false
	for _, c := range cur.cfgs {
		nm := m.an.mask(c.node)
		for i, w := range nm.accepted {
			dst[i] |= w
		}
		if nm.anyUnc {
			anyUnc = true
			for i, w := range nm.uncertain {
				m.unc[i] |= w
			}
		}
	}
	if anyUnc {
		m.walk(dst, 0, m.cur)
	}
	if cur.end {
		for _, id := range v.eos {
			setBit(dst, int32(id))
		}
	}
	m.cacheID = m.cur
	m.cache = append(m.cache[:0], dst...)
	return dst
}

// walk visits the trie below node t in state s, only where uncertain
// tokens lie, and allows the uncertain tokens the state accepts.
func (m *Matcher) walk(dst []uint64, t, s int32) {
	v := m.v
	end := t + v.trie[t].size
	for c := t + 1; c < end; c += v.trie[c].size {
		cn := &v.trie[c]
		if !anyInRange(m.unc, cn.tokLo, cn.tokHi) {
			continue
		}
		s2 := m.eng.step(s, cn.b)
		if s2 < 0 {
			continue
		}
		for k := cn.tokLo; k < cn.tokLo+cn.nEnd; k++ {
			if hasBit(m.unc, k) {
				setBit(dst, v.order[k])
			}
		}
		if cn.size > 1 {
			m.walk(dst, c, s2)
		}
	}
}

// Accept advances past token id; it fails, leaving the matcher as it
// was, when the token is not allowed.
func (m *Matcher) Accept(id int) error {
	if m.done {
		return fmt.Errorf("constrain: token %d after the end of the sequence", id)
	}
	for _, e := range m.v.eos {
		if e == id {
			if !m.eng.sets[m.cur].end {
				return fmt.Errorf("constrain: end of sequence before the text is complete")
			}
			m.done = true
			return nil
		}
	}
	b := m.v.TokenBytes(id)
	if len(b) == 0 {
		return fmt.Errorf("constrain: token %d is not allowed here (not usable in constrained text)", id)
	}
	s := m.cur
	for i, c := range b {
		if s = m.eng.step(s, c); s < 0 {
			return fmt.Errorf("constrain: token %d (%q) is not allowed here (byte %d)", id, b, i)
		}
	}
	m.cur = s
	if len(m.eng.sets) > maxSets {
		m.eng, m.cur = m.eng.rebuild(m.cur)
		m.cacheID = -1
	}
	return nil
}

// AcceptBytes advances past text given as bytes, whatever tokens would
// spell it (for forcing a known prefix, and for tests).
func (m *Matcher) AcceptBytes(text []byte) error {
	if m.done {
		return fmt.Errorf("constrain: text after the end of the sequence")
	}
	s := m.cur
	for i, c := range text {
		if s = m.eng.step(s, c); s < 0 {
			return fmt.Errorf("constrain: text %q is not allowed here (byte %d)", text, i)
		}
	}
	m.cur = s
	return nil
}

// Allowed reports whether token id is allowed next (a slow check of one
// token, for tests and assertions).
func (m *Matcher) Allowed(id int) bool {
	for _, e := range m.v.eos {
		if e == id {
			return !m.done && m.eng.sets[m.cur].end
		}
	}
	b := m.v.TokenBytes(id)
	if m.done || len(b) == 0 {
		return false
	}
	s := m.cur
	for _, c := range b {
		if s = m.eng.step(s, c); s < 0 {
			return false
		}
	}
	return true
}

// CountBits returns the number of set bits of a mask.
func CountBits(mask []uint64) int {
	n := 0
	for _, w := range mask {
		n += bits.OnesCount64(w)
	}
	return n
}
