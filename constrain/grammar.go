package constrain

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

// A Grammar is a compiled byte-level language: a set of rules, each a
// small automaton over bytes whose edges may also call other rules (a
// recursive transition network, which is a pushdown automaton). It does
// not depend on a vocabulary; NewMatcher pairs it with one. A Grammar is
// immutable once built and safe for concurrent use.
type Grammar struct {
	nodes []node
	start int32 // entry node of the top rule

	mu       sync.Mutex
	analyses map[*Vocab]*analysis
}

// edge consumes one byte in [lo, hi].
type edge struct {
	lo, hi byte
	to     int32
}

// call enters the rule whose entry node is rule and continues at ret when
// that rule ends.
type call struct{ rule, ret int32 }

type node struct {
	edges []edge
	eps   []int32
	calls []call
	final bool // the rule this node belongs to may end here
	// counted marks a position in a length-bounded string: every
	// plain-character token (see Vocab.plain) of at most remaining
	// characters (-1: any number) continues inside the string, so its
	// analysis needs no trie walk.
	counted   bool
	remaining int32
}

// Limits of a grammar build: they keep a hostile schema from making a
// grammar that exhausts memory.
const (
	maxNodes = 1 << 18
)

// builder assembles a Grammar. Fragments are Thompson-style pieces with
// one entry and one exit node, joined by epsilon edges.
type builder struct {
	nodes []node
	err   error
	rules map[string]int32 // rule entry nodes by key, for sharing and recursion
}

type frag struct{ in, out int32 }

func newBuilder() *builder { return &builder{rules: map[string]int32{}} }

func (b *builder) node() int32 {
	if len(b.nodes) >= maxNodes {
		if b.err == nil {
			b.err = fmt.Errorf("grammar too large (over %d states)", maxNodes)
		}
		// Keep returning a valid index so callers need no checks; the
		// error is reported at the end.
		return 0
	}
	b.nodes = append(b.nodes, node{})
	return int32(len(b.nodes) - 1)
}

func (b *builder) eps(from, to int32) { b.nodes[from].eps = append(b.nodes[from].eps, to) }

func (b *builder) byteRange(from, to int32, lo, hi byte) {
	b.nodes[from].edges = append(b.nodes[from].edges, edge{lo, hi, to})
}

// empty matches the empty string.
func (b *builder) empty() frag {
	n := b.node()
	return frag{n, n}
}

// lit matches s exactly.
func (b *builder) lit(s string) frag {
	in := b.node()
	cur := in
	for i := 0; i < len(s); i++ {
		n := b.node()
		b.byteRange(cur, n, s[i], s[i])
		cur = n
	}
	return frag{in, cur}
}

// class matches one byte in any of the ranges (pairs lo, hi).
func (b *builder) class(ranges ...byte) frag {
	in, out := b.node(), b.node()
	for i := 0; i+1 < len(ranges); i += 2 {
		b.byteRange(in, out, ranges[i], ranges[i+1])
	}
	return frag{in, out}
}

func (b *builder) seq(fs ...frag) frag {
	if len(fs) == 0 {
		return b.empty()
	}
	for i := 1; i < len(fs); i++ {
		b.eps(fs[i-1].out, fs[i].in)
	}
	return frag{fs[0].in, fs[len(fs)-1].out}
}

func (b *builder) alt(fs ...frag) frag {
	in, out := b.node(), b.node()
	for _, f := range fs {
		b.eps(in, f.in)
		b.eps(f.out, out)
	}
	return frag{in, out}
}

func (b *builder) opt(f frag) frag {
	b.eps(f.in, f.out)
	return f
}

// star matches f zero or more times; f must not match the empty string
// (the closure would still terminate, but the language is the same
// without it).
func (b *builder) star(f frag) frag {
	in, out := b.node(), b.node()
	b.eps(in, f.in)
	b.eps(in, out)
	b.eps(f.out, in)
	return frag{in, out}
}

// rep matches between min and max copies of the fragment that mk builds
// (max < 0: unbounded).
func (b *builder) rep(mk func() frag, min, max int) frag {
	var parts []frag
	for i := 0; i < min; i++ {
		parts = append(parts, mk())
	}
	switch {
	case max < 0:
		parts = append(parts, b.star(mk()))
	case max > min:
		// Nested optionals: (x (x (x)?)?)? keeps it linear.
		var tail frag
		for i := max - min - 1; i >= 0; i-- {
			x := mk()
			if i < max-min-1 {
				x = b.seq(x, tail)
			}
			tail = b.opt(x)
		}
		parts = append(parts, tail)
	}
	return b.seq(parts...)
}

// rule returns a fragment calling the rule named key, defining it with
// body the first time. body may call the rule itself (recursion); the
// entry is registered before body runs.
func (b *builder) rule(key string, body func() frag) frag {
	entry, ok := b.rules[key]
	if !ok {
		entry = b.node()
		b.rules[key] = entry
		f := body()
		end := b.node()
		b.nodes[end].final = true
		b.eps(entry, f.in)
		b.eps(f.out, end)
	}
	in, out := b.node(), b.node()
	b.nodes[in].calls = append(b.nodes[in].calls, call{entry, out})
	return frag{in, out}
}

// finish makes the grammar whose top rule is f.
func (b *builder) finish(f frag) (*Grammar, error) {
	if b.err != nil {
		return nil, b.err
	}
	entry := b.node()
	end := b.node()
	b.nodes[end].final = true
	b.eps(entry, f.in)
	b.eps(f.out, end)
	if b.err != nil {
		return nil, b.err
	}
	g := &Grammar{nodes: b.nodes, start: entry}
	if err := g.checkLeftRecursion(); err != nil {
		return nil, err
	}
	if err := g.prune(); err != nil {
		return nil, err
	}
	return g, nil
}

// prune removes the transitions into nodes from which the end of their
// rule cannot be reached (an array that must contain itself, a branch
// whose schema has no finite document), so every state a matcher
// reaches can still complete the text. It fails when the whole grammar
// has no finite text.
func (g *Grammar) prune() error {
	n := len(g.nodes)
	prod := make([]bool, n)
	pred := make([][]int32, n)
	for i, nd := range g.nodes {
		for _, e := range nd.edges {
			pred[e.to] = append(pred[e.to], int32(i))
		}
		for _, m := range nd.eps {
			pred[m] = append(pred[m], int32(i))
		}
		for _, c := range nd.calls {
			pred[c.rule] = append(pred[c.rule], int32(i))
			pred[c.ret] = append(pred[c.ret], int32(i))
		}
	}
	ok := func(i int32) bool {
		nd := &g.nodes[i]
		if nd.final {
			return true
		}
		for _, e := range nd.edges {
			if prod[e.to] {
				return true
			}
		}
		for _, m := range nd.eps {
			if prod[m] {
				return true
			}
		}
		for _, c := range nd.calls {
			if prod[c.rule] && prod[c.ret] {
				return true
			}
		}
		return false
	}
	var work []int32
	for i := range g.nodes {
		if g.nodes[i].final {
			prod[i] = true
			work = append(work, int32(i))
		}
	}
	for len(work) > 0 {
		m := work[len(work)-1]
		work = work[:len(work)-1]
		for _, p := range pred[m] {
			if !prod[p] && ok(p) {
				prod[p] = true
				work = append(work, p)
			}
		}
	}
	if !prod[g.start] {
		return errors.New("json schema: no finite document satisfies it (a value that must contain itself?)")
	}
	for i := range g.nodes {
		nd := &g.nodes[i]
		nd.edges = slices.DeleteFunc(nd.edges, func(e edge) bool { return !prod[e.to] })
		nd.eps = slices.DeleteFunc(nd.eps, func(m int32) bool { return !prod[m] })
		nd.calls = slices.DeleteFunc(nd.calls, func(c call) bool { return !prod[c.rule] || !prod[c.ret] })
	}
	return nil
}

// checkLeftRecursion refuses grammars in which a rule can call itself
// without consuming a byte: their closure would push frames forever.
// Schemas produce them with $ref cycles such as {"anyOf": [{"$ref": "#"}]}.
func (g *Grammar) checkLeftRecursion() error {
	// nullable[r]: rule with entry r matches the empty string. Computed by
	// fixpoint over the rules' entry nodes.
	entries := map[int32]bool{}
	for _, n := range g.nodes {
		for _, c := range n.calls {
			entries[c.rule] = true
		}
	}
	nullable := map[int32]bool{}
	// reach walks from n without consuming bytes (epsilons, and calls to
	// nullable rules), calling visit on every call met.
	reach := func(from int32, visit func(call)) bool {
		seen := map[int32]bool{from: true}
		stack := []int32{from}
		ends := false
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			nd := &g.nodes[n]
			if nd.final {
				ends = true
			}
			next := append([]int32(nil), nd.eps...)
			for _, c := range nd.calls {
				if visit != nil {
					visit(c)
				}
				if nullable[c.rule] {
					next = append(next, c.ret)
				}
			}
			for _, m := range next {
				if !seen[m] {
					seen[m] = true
					stack = append(stack, m)
				}
			}
		}
		return ends
	}
	for changed := true; changed; {
		changed = false
		for r := range entries {
			if !nullable[r] && reach(r, nil) {
				nullable[r], changed = true, true
			}
		}
	}
	calls := map[int32][]int32{}
	for r := range entries {
		reach(r, func(c call) { calls[r] = append(calls[r], c.rule) })
	}
	// Cycle detection over the left-call graph.
	const (
		white = iota
		grey
		black
	)
	color := map[int32]int{}
	var visit func(r int32) bool
	visit = func(r int32) bool {
		color[r] = grey
		for _, q := range calls[r] {
			switch color[q] {
			case grey:
				return true
			case white:
				if visit(q) {
					return true
				}
			}
		}
		color[r] = black
		return false
	}
	for r := range entries {
		if color[r] == white && visit(r) {
			return fmt.Errorf("recursive definition that can repeat without writing anything (a $ref cycle not inside an object or array)")
		}
	}
	return nil
}

// Either is the grammar whose texts are those of a or those of b (for
// example a JSON answer or tool calls).
func Either(a, b *Grammar) *Grammar {
	nodes := make([]node, 0, len(a.nodes)+len(b.nodes)+1)
	nodes = append(nodes, a.nodes...)
	off := int32(len(a.nodes))
	for _, n := range b.nodes {
		c := node{final: n.final, counted: n.counted, remaining: n.remaining}
		for _, e := range n.edges {
			c.edges = append(c.edges, edge{e.lo, e.hi, e.to + off})
		}
		for _, e := range n.eps {
			c.eps = append(c.eps, e+off)
		}
		for _, cl := range n.calls {
			c.calls = append(c.calls, call{cl.rule + off, cl.ret + off})
		}
		nodes = append(nodes, c)
	}
	start := int32(len(nodes))
	nodes = append(nodes, node{eps: []int32{a.start, b.start + off}})
	return &Grammar{nodes: nodes, start: start}
}
