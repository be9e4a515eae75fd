package model

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/glmv/glmv/compute"
)

// The MoE block runs in one of two ways, chosen by how many tokens each
// expert gets:
//
//   - by expert (prompts): the tokens are grouped by expert and each
//     expert runs as one small matrix product over its gathered rows
//     (MatMul picks the kernel path for that many rows), whole experts
//     spread over the pool's workers, each on its own goroutine with no
//     barrier between experts. An expert with a large share of the tokens
//     (and the shared expert, which has them all) runs on the whole pool
//     instead, before the others.
//   - by rows (decode, small batches): every active expert's gate and up
//     rows, cut in a few chunks per worker, are one parallel step, and the
//     down rows, cut likewise along the hidden width, a second one that
//     also sums the experts' outputs; two barriers for the whole block
//     rather than three matrix products per expert, each split over the
//     workers.
//
// Either way each token's output is Σ_k w_k·y_k in ascending expert-id
// order (the order of its chosen experts), then plus the shared expert's
// output, as the reference accumulates (spec §6.4), so the result does not
// depend on the path, the number of workers or the other tokens of the
// pass.

const (
	// moeChunkTokens is the most tokens one pass of the block takes at a
	// time: its work buffers grow with the tokens times the top-k.
	moeChunkTokens = 1024
	// moeKeepBytes is the largest work space kept for the next call (one
	// of a 512-token pass at the GLM-4.5V shape is about 75 MiB).
	moeKeepBytes = 96 << 20
	// moeSplitRows is the granule of the row chunks of the by-rows path:
	// the chunks keep the kernels' 4- and 8-row groups whole.
	moeSplitRows = 16
	// moeInnerChunks and moeOuterChunks are how many row chunks per
	// worker the gate/up (inner width) and down (hidden width) projections
	// are cut into for the by-rows path: few enough that each streams a
	// long run of rows, enough to keep the workers evenly busy.
	moeInnerChunks = 2
	moeOuterChunks = 4
)

// moeByRows reports whether a pass with the given number of active
// experts (routed, with tokens) takes the by-rows path on workers workers:
// when there are too few experts to keep every worker busy with whole
// ones.
func moeByRows(active, workers int) bool {
	return active < 8*workers
}

// moeBigExpert reports whether an expert with n of a pass's pairs
// (token, expert) runs on the whole pool rather than on one worker: when
// it has more than 1/(4·workers) of them, and enough rows to split.
func moeBigExpert(n, pairs, workers int) bool {
	return workers > 1 && n*4*workers > pairs && n >= 64
}

// moePath forces one of the MoE block's paths (for tests); the zero value
// chooses by the pass.
type moePath uint8

const (
	moePathAuto moePath = iota
	moePathExperts
	moePathRows
)

// mlpRows holds row views of an MLP's matrices, for the by-rows path:
// Gate[c] and Up[c] are rows [c·inner, (c+1)·inner) of the gate and up
// projections, Down[c] rows [c·outer, ...) of the down projection.
type mlpRows struct {
	Gate, Up, Down []*compute.Matrix
}

// moeRows is the lazily built set of row views of a MoE block's experts
// (index Experts is the shared expert).
type moeRows struct {
	once         sync.Once
	inner, outer int // rows per chunk
	mlps         []mlpRows
}

// splitRows returns the row views of p, building them on first use for
// a pool of the given number of workers.
func (p *MoE) splitRows(workers int) *moeRows {
	r := &p.rows
	r.once.Do(func() {
		mlps := slices.Clone(p.Experts)
		if p.Shared != nil {
			mlps = append(mlps, *p.Shared)
		}
		if len(mlps) == 0 {
			return
		}
		I, H := mlps[0].Width(), mlps[0].Down.Rows
		r.inner = chunkRows(I, moeInnerChunks*workers)
		r.outer = chunkRows(H, moeOuterChunks*workers)
		r.mlps = make([]mlpRows, len(mlps))
		for i := range mlps {
			e := &mlps[i]
			v := &r.mlps[i]
			for a := 0; a < e.Width(); a += r.inner {
				b := min(e.Width(), a+r.inner)
				if e.GateUp != nil {
					v.Gate = append(v.Gate, mustRows(e.GateUp, a, b))
					v.Up = append(v.Up, mustRows(e.GateUp, e.Width()+a, e.Width()+b))
				} else {
					v.Gate = append(v.Gate, mustRows(e.Gate, a, b))
					v.Up = append(v.Up, mustRows(e.Up, a, b))
				}
			}
			for a := 0; a < e.Down.Rows; a += r.outer {
				v.Down = append(v.Down, mustRows(e.Down, a, min(e.Down.Rows, a+r.outer)))
			}
		}
	})
	return r
}

// chunkRows is the row count of about n/chunks, rounded up to the granule.
func chunkRows(n, chunks int) int {
	c := (n + chunks - 1) / chunks
	return max(moeSplitRows, (c+moeSplitRows-1)/moeSplitRows*moeSplitRows)
}

// mustRows is RowRange for ranges that are valid by construction.
func mustRows(m *compute.Matrix, a, b int) *compute.Matrix {
	v, err := m.RowRange(a, b)
	if err != nil {
		panic(err) // a, b come from m's own row count
	}
	return v
}

// moeWorker is one worker's share of the work space: a single-worker pool
// (so its matrix products run on the calling goroutine and keep their
// scratch between calls) and buffers for one expert.
type moeWorker struct {
	pool              *compute.Pool
	xs, act, up, down []float32
}

// moeJob is one expert's part of a pass: its n tokens, whose pairs are the
// slots [first, first+n) in by-expert order, their input rows x (gathered
// from the slots' tokens when nil), activations act ([n, I]) and outputs y
// ([n, H]).
type moeJob struct {
	mlp      *MLP
	e        int // expert id; Experts for the shared expert
	n, first int
	x        []float32
	act, y   []float32
}

// moeWork is the work space of one call of the block, kept between calls.
type moeWork struct {
	logits, wts, scores, sel, groups []float32
	idx, count, start, fill, queue   []int
	slotTok, slotOf                  []int32
	xs, ys, shared, act              []float32
	jobs                             []moeJob
	workers                          []moeWorker
	next                             atomic.Int64
}

// bytes is the size of w's buffers.
func (w *moeWork) bytes() int {
	n := 4 * (cap(w.logits) + cap(w.wts) + cap(w.xs) + cap(w.ys) + cap(w.shared) + cap(w.act) + cap(w.slotTok) + cap(w.slotOf))
	n += 8 * (cap(w.idx) + cap(w.queue))
	for _, ws := range w.workers {
		n += 4 * (cap(ws.xs) + cap(ws.act) + cap(ws.up) + cap(ws.down))
	}
	return n
}

// grow returns (*b)[:n], reallocating when it is too short; the contents
// are not kept.
func grow[T any](b *[]T, n int) []T {
	if cap(*b) < n {
		*b = make([]T, n)
	}
	return (*b)[:n]
}

// moeFree is a Text's list of MoE work spaces for reuse.
type moeFree struct {
	mu   sync.Mutex
	list []*moeWork
}

func (f *moeFree) get() *moeWork {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k := len(f.list); k > 0 {
		w := f.list[k-1]
		f.list = f.list[:k-1]
		return w
	}
	return new(moeWork)
}

func (f *moeFree) put(w *moeWork) {
	if w.bytes() > moeKeepBytes {
		return
	}
	f.mu.Lock()
	f.list = append(f.list, w)
	f.mu.Unlock()
}

// moe computes the routed experts plus the shared experts for T rows of x
// into out ([T, H]).
func (m *Text) moe(out, x []float32, T int, p *MoE, tr *Trace) {
	H, E, K := m.Cfg.Hidden, m.Cfg.MoE.Experts, m.Cfg.MoE.TopK
	var forced []int
	if tr != nil && len(tr.ForceExperts) > 0 {
		forced, tr.ForceExperts = tr.ForceExperts[0], tr.ForceExperts[1:]
	}
	var rl, rw []float32
	var ri []int
	record := tr != nil && tr.Record
	if record {
		rl, ri, rw = make([]float32, 0, T*E), make([]int, 0, T*K), make([]float32, 0, T*K)
	}
	w := m.moeFree.get()
	defer m.moeFree.put(w)
	for t0 := 0; t0 < T; t0 += moeChunkTokens {
		n := min(T, t0+moeChunkTokens) - t0
		var f []int
		if forced != nil {
			f = forced[t0*K : (t0+n)*K]
		}
		m.moeChunk(w, out[t0*H:(t0+n)*H], x[t0*H:(t0+n)*H], n, p, f)
		if record {
			rl = append(rl, w.logits[:n*E]...)
			ri = append(ri, w.idx[:n*K]...)
			rw = append(rw, w.wts[:n*K]...)
		}
	}
	if record {
		tr.RouterLogits = append(tr.RouterLogits, rl)
		tr.RouterIndices = append(tr.RouterIndices, ri)
		tr.RouterWeights = append(tr.RouterWeights, rw)
	}
}

// moeChunk is moe for at most moeChunkTokens tokens, with the work space
// w; forced, when set, replaces the routing choice ([T, k] expert ids).
func (m *Text) moeChunk(w *moeWork, out, x []float32, T int, p *MoE, forced []int) {
	mc := m.Cfg.MoE
	H, E, K := m.Cfg.Hidden, mc.Experts, mc.TopK
	logits := grow(&w.logits, T*E)
	m.Pool.MatMul(logits, x, T, p.Router)
	idx := grow(&w.idx, T*K)
	wts := grow(&w.wts, T*K)
	scores := grow(&w.scores, E)
	sel := grow(&w.sel, E)
	groups := grow(&w.groups, max(mc.NGroup, 1))
	for t := 0; t < T; t++ {
		ti, tw := idx[t*K:(t+1)*K], wts[t*K:(t+1)*K]
		route(logits[t*E:(t+1)*E], p.CorrectionBias, mc, ti, tw, scores, sel, groups)
		if forced != nil {
			copy(ti, forced[t*K:(t+1)*K])
			expertWeights(ti, tw, scores, mc)
		}
	}

	// Group the (token, expert) pairs by expert, tokens in order (a
	// counting sort): slot s holds token slotTok[s], and pair (t, k) is
	// slot slotOf[t·K+k].
	count := grow(&w.count, E)
	start := grow(&w.start, E+1)
	fill := grow(&w.fill, E)
	clear(count)
	for _, e := range idx {
		count[e]++
	}
	for e := range E {
		start[e+1] = start[e] + count[e]
	}
	copy(fill, start[:E])
	slotTok := grow(&w.slotTok, T*K)
	slotOf := grow(&w.slotOf, T*K)
	for i, e := range idx {
		s := fill[e]
		fill[e]++
		slotTok[s] = int32(i / K)
		slotOf[i] = int32(s)
	}

	workers := m.Pool.Workers()
	if len(w.workers) < workers {
		w.workers = make([]moeWorker, workers)
		for i := range w.workers {
			w.workers[i].pool = compute.NewPool(1)
		}
	}
	ys := grow(&w.ys, T*K*H)
	jobs := w.jobs[:0]
	for e := range E {
		if n := count[e]; n > 0 {
			jobs = append(jobs, moeJob{mlp: &p.Experts[e], e: e, n: n, first: start[e], y: ys[start[e]*H : (start[e]+n)*H]})
		}
	}
	active := len(jobs)
	var shared []float32
	if p.Shared != nil {
		shared = grow(&w.shared, T*H)
		jobs = append(jobs, moeJob{mlp: p.Shared, e: E, n: T, x: x[:T*H], y: shared})
	}
	w.jobs = jobs
	byRows := moeByRows(active, workers)
	switch m.moePath {
	case moePathExperts:
		byRows = false
	case moePathRows:
		byRows = true
	}
	if byRows {
		m.moeByRows(w, jobs, out, x, T, p, shared)
		return
	}
	m.moeByExpert(w, jobs, x, T)
	m.Pool.For(T, 4, func(lo, hi int) {
		m.moeCombine(w, out, shared, lo, hi, 0, H)
	})
}

// gather sets j.x, when not set, to its tokens' rows of x: x's own row
// for one token, else the rows copied into xs (len ≥ n·H).
func (m *Text) gather(w *moeWork, j *moeJob, x, xs []float32) {
	if j.x != nil {
		return
	}
	H := m.Cfg.Hidden
	if j.n == 1 {
		t := int(w.slotTok[j.first])
		j.x = x[t*H : (t+1)*H]
		return
	}
	xs = xs[:j.n*H]
	for i := range j.n {
		t := int(w.slotTok[j.first+i])
		copy(xs[i*H:(i+1)*H], x[t*H:(t+1)*H])
	}
	j.x = xs
}

// spread calls fn(ws, i) for every i < n, over the pool's workers, each
// with its own part ws of the work space; items go to whichever worker is
// free, in order.
func (m *Text) spread(w *moeWork, n int, fn func(ws *moeWorker, i int)) {
	w.next.Store(0)
	m.Pool.For(min(m.Pool.Workers(), n), 1, func(lo, _ int) {
		ws := &w.workers[lo]
		for {
			i := int(w.next.Add(1)) - 1
			if i >= n {
				return
			}
			fn(ws, i)
		}
	})
}

// moeByExpert runs each job as matrix products over its gathered rows:
// the shared expert and experts with a big share of the tokens on the
// whole pool, one after the other, then the others each on one worker,
// the largest first.
func (m *Text) moeByExpert(w *moeWork, jobs []moeJob, x []float32, T int) {
	workers, pairs := m.Pool.Workers(), T*m.Cfg.MoE.TopK
	queue := w.queue[:0]
	for i := range jobs {
		j := &jobs[i]
		if j.e == m.Cfg.MoE.Experts || moeBigExpert(j.n, pairs, workers) {
			m.gather(w, j, x, grow(&w.xs, j.n*m.Cfg.Hidden))
			m.runMLP(m.Pool, &w.workers[0], j)
			continue
		}
		queue = append(queue, i)
	}
	w.queue = queue
	slices.SortStableFunc(queue, func(a, b int) int { return jobs[b].n - jobs[a].n })
	m.spread(w, len(queue), func(ws *moeWorker, i int) {
		j := &jobs[queue[i]]
		m.gather(w, j, x, grow(&ws.xs, j.n*m.Cfg.Hidden))
		m.runMLP(ws.pool, ws, j)
	})
}

// runMLP computes j.y = down(silu(gate(j.x)) ⊙ up(j.x)) on pool, with the
// buffers of ws.
func (m *Text) runMLP(pool *compute.Pool, ws *moeWorker, j *moeJob) {
	p, n := j.mlp, j.n
	I := p.Width()
	act := grow(&ws.act, n*I)
	if p.GateUp != nil {
		gu := grow(&ws.up, n*2*I)
		pool.MatMul(gu, j.x, n, p.GateUp)
		for t := range n {
			row := gu[t*2*I : (t+1)*2*I]
			compute.SiLUMul(act[t*I:(t+1)*I], row[:I], row[I:])
		}
	} else {
		up := grow(&ws.up, n*I)
		pool.MatMul(act, j.x, n, p.Gate)
		pool.MatMul(up, j.x, n, p.Up)
		compute.SiLUMul(act, act, up)
	}
	pool.MatMul(j.y, act, n, p.Down)
}

// moeByRows runs the jobs in two parallel steps over row chunks of their
// weights: gate and up (with the SwiGLU), then down, each chunk of the
// hidden width also summed into out.
func (m *Text) moeByRows(w *moeWork, jobs []moeJob, out, x []float32, T int, p *MoE, shared []float32) {
	rows := p.splitRows(m.Pool.Workers())
	H, TK := m.Cfg.Hidden, T*m.Cfg.MoE.TopK
	// Activations: the routed experts' rows in slot order, then the
	// shared expert's (whose width may differ).
	nIn, off := 0, 0
	for i := range jobs {
		nIn = max(nIn, len(rows.mlps[jobs[i].e].Gate))
		off += jobs[i].n * jobs[i].mlp.Width()
	}
	act := grow(&w.act, off)
	off = 0
	for i := range jobs {
		j := &jobs[i]
		n := j.n * j.mlp.Width()
		j.act, off = act[off:off+n], off+n
	}
	xs := grow(&w.xs, TK*H)
	for i := range jobs {
		j := &jobs[i]
		m.gather(w, j, x, xs[j.first*H:])
	}
	m.spread(w, len(jobs)*nIn, func(ws *moeWorker, i int) {
		j, c := &jobs[i/nIn], i%nIn
		v := &rows.mlps[j.e]
		if c >= len(v.Gate) {
			return
		}
		g, u := v.Gate[c], v.Up[c]
		I, a, r, n := j.mlp.Width(), c*rows.inner, g.Rows, j.n
		gb := grow(&ws.act, n*r)
		ub := grow(&ws.up, n*r)
		ws.pool.MatMul(gb, j.x, n, g)
		ws.pool.MatMul(ub, j.x, n, u)
		for t := range n {
			compute.SiLUMul(j.act[t*I+a:t*I+a+r], gb[t*r:(t+1)*r], ub[t*r:(t+1)*r])
		}
	})
	nOut := len(rows.mlps[0].Down)
	m.spread(w, nOut, func(ws *moeWorker, c int) {
		a := c * rows.outer
		var r int
		for i := range jobs {
			j := &jobs[i]
			d := rows.mlps[j.e].Down[c]
			r = d.Rows
			if j.n == 1 {
				ws.pool.MatMul(j.y[a:a+r], j.act, 1, d)
				continue
			}
			yb := grow(&ws.down, j.n*r)
			ws.pool.MatMul(yb, j.act, j.n, d)
			for t := range j.n {
				copy(j.y[t*H+a:t*H+a+r], yb[t*r:(t+1)*r])
			}
		}
		m.moeCombine(w, out, shared, 0, T, a, a+r)
	})
}

// moeCombine sets the columns [a, b) of the rows [t0, t1) of out ([T, H])
// to the sum over each token's experts, in their order, of the weighted
// expert outputs, plus the shared expert's output (shared [T, H], nil for
// none).
func (m *Text) moeCombine(w *moeWork, out, shared []float32, t0, t1, a, b int) {
	H, K := m.Cfg.Hidden, m.Cfg.MoE.TopK
	for t := t0; t < t1; t++ {
		o := out[t*H+a : t*H+b]
		clear(o)
		for k := range K {
			wt := w.wts[t*K+k]
			s := int(w.slotOf[t*K+k])
			y := w.ys[s*H+a : s*H+b]
			for i, v := range y {
				o[i] += wt * v
			}
		}
		if shared != nil {
			for i, v := range shared[t*H+a : t*H+b] {
				o[i] += v
			}
		}
	}
}

// route picks the experts of one token from its router logits, exactly as
// the reference does: sigmoid scores, correction bias for selection only,
// group-limited top-k (other groups masked to 0), weights from the
// uncorrected scores, normalised and scaled. idx and wts have length k and
// come back sorted by expert id; scores and sel (len E) and groups (len
// n_group) are work space.
func route(logits, bias []float32, mc *MoEConfig, idx []int, wts []float32, scores, sel, groups []float32) {
	E := len(logits)
	for e, x := range logits {
		scores[e] = compute.Sigmoid(x)
		sel[e] = scores[e] + bias[e]
	}
	if mc.NGroup > 1 {
		per := E / mc.NGroup
		for g := range mc.NGroup {
			a, b := float32(math.Inf(-1)), float32(math.Inf(-1))
			for _, v := range sel[g*per : (g+1)*per] {
				if v > a {
					a, b = v, a
				} else if v > b {
					b = v
				}
			}
			if per == 1 {
				b = 0
			}
			groups[g] = a + b
		}
		// A group is kept when fewer than topk_group groups rank before
		// it: a higher score, or an equal one and a lower index (a stable
		// sort by score).
		for g, s := range groups[:mc.NGroup] {
			rank := 0
			for h, o := range groups[:mc.NGroup] {
				if o > s || (o == s && h < g) {
					rank++
				}
			}
			if rank >= mc.TopKGroup {
				clear(sel[g*per : (g+1)*per])
			}
		}
	}
	// Top-k by selection score, ties to the lower expert id: insertion
	// into the k best so far, a later expert passing only a strictly
	// lower score. (A NaN score passes nothing and is passed by nothing.)
	K, n := len(idx), 0
	for e, v := range sel[:E] {
		p := n
		for p > 0 && v > sel[idx[p-1]] {
			p--
		}
		if p >= K {
			continue
		}
		if n < K {
			n++
		}
		copy(idx[p+1:n], idx[p:n-1])
		idx[p] = e
	}
	slices.Sort(idx)
	expertWeights(idx, wts, scores, mc)
}
