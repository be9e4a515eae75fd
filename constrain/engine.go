package constrain

import (
	"encoding/binary"
	"slices"
)

// cfg is one configuration of the pushdown automaton: a node with byte
// edges and a call stack (an interned frame id, -1 for the empty stack).
type cfg struct{ node, stack int32 }

// frame is one entry of a call stack: where to continue when the called
// rule ends, over the rest of the stack.
type frame struct{ parent, ret int32 }

// stateSet is a set of configurations (the automaton is
// nondeterministic) after the epsilon closure: only configurations at
// nodes with byte edges are kept, and end records that a path reached
// the end of the outermost rule.
type stateSet struct {
	cfgs []cfg
	end  bool
	next *[256]int32 // memoised steps: 0 unknown, -1 dead, else id+1
}

// engine interns call stacks and configuration sets, so equal states
// have equal ids and steps between them are computed once. The empty
// stack means the top of the document for a Matcher and "somewhere
// unknown" for the per-node analysis, where reaching its end means the
// token's fate depends on the context.
type engine struct {
	g        *Grammar
	frames   []frame
	frameIdx map[frame]int32
	sets     []stateSet
	setIdx   map[string]int32
	memos    int // allocated next tables

	seen  map[cfg]struct{}
	work  []cfg
	out   []cfg
	seeds []cfg
	key   []byte
}

// maxMemos bounds the memo tables of an engine (1 KiB each); when
// exceeded they are dropped and rebuilt on demand.
const maxMemos = 8192

func newEngine(g *Grammar) *engine {
	return &engine{g: g, frameIdx: map[frame]int32{}, setIdx: map[string]int32{}, seen: map[cfg]struct{}{}}
}

func (e *engine) push(stack, ret int32) int32 {
	f := frame{stack, ret}
	if id, ok := e.frameIdx[f]; ok {
		return id
	}
	e.frames = append(e.frames, f)
	id := int32(len(e.frames) - 1)
	e.frameIdx[f] = id
	return id
}

// intern returns the id of the set of cfgs (sorted in place) and end.
func (e *engine) intern(cfgs []cfg, end bool) int32 {
	slices.SortFunc(cfgs, func(a, b cfg) int {
		if a.node != b.node {
			return int(a.node - b.node)
		}
		return int(a.stack - b.stack)
	})
	k := e.key[:0]
	if end {
		k = append(k, 1)
	} else {
		k = append(k, 0)
	}
	for _, c := range cfgs {
		k = binary.LittleEndian.AppendUint32(k, uint32(c.node))
		k = binary.LittleEndian.AppendUint32(k, uint32(c.stack))
	}
	e.key = k
	if id, ok := e.setIdx[string(k)]; ok {
		return id
	}
	e.sets = append(e.sets, stateSet{cfgs: slices.Clone(cfgs), end: end})
	id := int32(len(e.sets) - 1)
	e.setIdx[string(k)] = id
	return id
}

// closure follows epsilon edges, calls and rule ends from seeds and
// interns the result; -1 when nothing survives.
func (e *engine) closure(seeds []cfg) int32 {
	if len(e.seen) > 1024 {
		e.seen = map[cfg]struct{}{} // clearing a grown map costs its size every time
	} else {
		clear(e.seen)
	}
	e.work = append(e.work[:0], seeds...)
	e.out = e.out[:0]
	end := false
	nodes := e.g.nodes
	for len(e.work) > 0 {
		c := e.work[len(e.work)-1]
		e.work = e.work[:len(e.work)-1]
		if _, ok := e.seen[c]; ok {
			continue
		}
		e.seen[c] = struct{}{}
		nd := &nodes[c.node]
		if len(nd.edges) > 0 {
			e.out = append(e.out, c)
		}
		for _, m := range nd.eps {
			e.work = append(e.work, cfg{m, c.stack})
		}
		for _, cl := range nd.calls {
			e.work = append(e.work, cfg{cl.rule, e.push(c.stack, cl.ret)})
		}
		if nd.final {
			if c.stack < 0 {
				end = true
			} else {
				f := e.frames[c.stack]
				e.work = append(e.work, cfg{f.ret, f.parent})
			}
		}
	}
	if len(e.out) == 0 && !end {
		return -1
	}
	return e.intern(e.out, end)
}

// step is the set after consuming byte b from set s, or -1 when no
// configuration can take it.
func (e *engine) step(s int32, b byte) int32 {
	st := &e.sets[s]
	if st.next != nil {
		if v := st.next[b]; v != 0 {
			if v < 0 {
				return -1
			}
			return v - 1
		}
	}
	seeds := e.seeds[:0]
	nodes := e.g.nodes
	for _, c := range st.cfgs {
		for _, ed := range nodes[c.node].edges {
			if ed.lo <= b && b <= ed.hi {
				seeds = append(seeds, cfg{ed.to, c.stack})
			}
		}
	}
	e.seeds = seeds
	r := int32(-1)
	if len(seeds) > 0 {
		r = e.closure(seeds)
	}
	st = &e.sets[s] // closure may have grown e.sets
	if st.next == nil {
		if e.memos >= maxMemos {
			for i := range e.sets {
				e.sets[i].next = nil
			}
			e.memos = 0
		}
		st.next = new([256]int32)
		e.memos++
	}
	if r < 0 {
		st.next[b] = -1
	} else {
		st.next[b] = r + 1
	}
	return r
}

// start is the closed set of the grammar's start.
func (e *engine) start() int32 {
	return e.closure([]cfg{{e.g.start, -1}})
}

// rebuild moves set s into a fresh engine (dropping every other set and
// frame) and returns its new id there.
func (e *engine) rebuild(s int32) (*engine, int32) {
	ne := newEngine(e.g)
	var copyStack func(st int32) int32
	memo := map[int32]int32{-1: -1}
	copyStack = func(st int32) int32 {
		if v, ok := memo[st]; ok {
			return v
		}
		f := e.frames[st]
		v := ne.push(copyStack(f.parent), f.ret)
		memo[st] = v
		return v
	}
	old := e.sets[s]
	cfgs := make([]cfg, len(old.cfgs))
	for i, c := range old.cfgs {
		cfgs[i] = cfg{c.node, copyStack(c.stack)}
	}
	return ne, ne.intern(cfgs, old.end)
}
