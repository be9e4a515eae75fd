package model

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/glmv/glmv/compute"
)

// Text is the GLM text decoder of either family, bound to its weights.
// Passes over different KV caches may run on many goroutines at once (a
// KVCache itself is used by one at a time); between passes it keeps only
// the work buffers of short ones (decode steps, small batches) for reuse,
// so decoding a token allocates nothing in the model.
type Text struct {
	Cfg  *TextConfig
	W    *TextWeights
	Pool *compute.Pool
	rope *textRope

	moeFree moeFree // work spaces of the MoE block
	moePath moePath // the MoE path to take (tests); auto when zero

	mu   sync.Mutex
	free []*textScratch
}

// Work buffers of a forward pass (slots of textScratch).
const (
	bufEmbed = iota
	bufCos
	bufSin
	bufXN
	bufQ
	bufK
	bufV
	bufAttn
	bufO
	bufHidden
	bufAct
	bufGU
	numBufs
)

// scratchKeepRows is the most tokens a pass may have for its work buffers
// to be kept for the next one; longer passes (prompts) allocate theirs.
const scratchKeepRows = 64

// textScratch holds the work buffers of one forward pass.
type textScratch struct {
	bufs [numBufs][]float32
	rows int // the most tokens a pass using it had
}

// get returns work buffer i with n values, growing it when needed. Its
// contents are whatever the last pass left.
func (s *textScratch) get(i, n int) []float32 {
	if cap(s.bufs[i]) < n {
		s.bufs[i] = make([]float32, n)
	}
	return s.bufs[i][:n]
}

// getScratch returns work buffers for a pass of T tokens.
func (m *Text) getScratch(T int) *textScratch {
	m.mu.Lock()
	defer m.mu.Unlock()
	var s *textScratch
	if k := len(m.free); k > 0 && T <= scratchKeepRows {
		s, m.free = m.free[k-1], m.free[:k-1]
	} else {
		s = new(textScratch)
	}
	s.rows = max(s.rows, T)
	return s
}

// putScratch keeps s for a later pass unless it grew for a long one.
func (m *Text) putScratch(s *textScratch) {
	if s.rows > scratchKeepRows {
		return
	}
	m.mu.Lock()
	m.free = append(m.free, s)
	m.mu.Unlock()
}

// NewText prepares the decoder; pool may be nil (single-threaded).
func NewText(cfg *TextConfig, w *TextWeights, pool *compute.Pool) *Text {
	return &Text{Cfg: cfg, W: w, Pool: pool, rope: newTextRope(cfg)}
}

// Trace receives intermediate results of a forward pass, for tests and
// debugging. Nil fields are not filled.
type Trace struct {
	// LayerOutputs[l] is the residual stream after layer l, [T, H].
	LayerOutputs [][]float32
	// Router holds, per MoE layer in order, the raw router logits [T, E],
	// and the chosen experts sorted by id with their final weights [T, k].
	RouterLogits  [][]float32
	RouterIndices [][]int
	RouterWeights [][]float32
	// Record enables filling the fields above.
	Record bool
	// ForceExperts, when set, replaces the top-k choice of MoE layer i
	// with ForceExperts[i] ([T, k] expert ids); the weights still come from
	// the model's own router scores. Tests use it to separate numeric
	// error from routing flips.
	ForceExperts [][]int
}

// Embed writes the embedding rows of ids into a new [len(ids), H] slice.
func (m *Text) Embed(ids []int) ([]float32, error) {
	H := m.Cfg.Hidden
	out := make([]float32, len(ids)*H)
	for i, id := range ids {
		if id < 0 || id >= m.Cfg.Vocab {
			return nil, fmt.Errorf("token id %d at position %d is outside the vocabulary [0, %d)", id, i, m.Cfg.Vocab)
		}
		m.W.Embed.Row(id, out[i*H:(i+1)*H])
	}
	return out, nil
}

// Forward runs T tokens whose input embeddings are h ([T, H]) and whose
// 3-D rope positions are pos[axis][t] through every layer, appending their
// keys and values to cache, and returns the hidden states after the final
// norm ([T, H]). h is overwritten with the residual stream.
func (m *Text) Forward(ctx context.Context, h []float32, pos *[3][]int, T int, cache *KVCache, tr *Trace) ([]float32, error) {
	return m.ForwardBatch(ctx, h, pos, []Seq{{Cache: cache, T: T}}, tr)
}

// Seq is one sequence's share of a batched forward pass: T consecutive
// rows of the batch, whose keys and values are appended to Cache.
type Seq struct {
	Cache *KVCache
	T     int
}

// ForwardBatch is Forward for several sequences at once: the rows of h
// ([ΣT, H]) and pos are the sequences' rows in order. Every weight is read
// once for all rows (one matrix product per projection); attention runs
// per sequence against its own cache. Each row keeps its own 3-D rope
// position, so sequences at different offsets, with or without images,
// share a pass. A sequence's rows may be a whole prompt, a chunk of one, or
// one decoded token.
func (m *Text) ForwardBatch(ctx context.Context, h []float32, pos *[3][]int, seqs []Seq, tr *Trace) ([]float32, error) {
	out := make([]float32, len(h))
	if err := m.forward(ctx, out, h, pos, seqs, tr); err != nil {
		return nil, err
	}
	return out, nil
}

// forward is ForwardBatch writing the final hidden states into out
// ([ΣT, H]).
func (m *Text) forward(ctx context.Context, out, h []float32, pos *[3][]int, seqs []Seq, tr *Trace) error {
	cfg := m.Cfg
	H, D := cfg.Hidden, cfg.HeadDim
	T := 0
	for i, s := range seqs {
		if s.T <= 0 || s.Cache == nil {
			return fmt.Errorf("forward: sequence %d has %d rows and cache %v", i, s.T, s.Cache != nil)
		}
		for _, o := range seqs[:i] {
			if o.Cache == s.Cache {
				return fmt.Errorf("forward: sequences share a KV cache")
			}
		}
		T += s.T
	}
	if len(h) != T*H {
		return fmt.Errorf("forward: %d input values for %d tokens of width %d", len(h), T, H)
	}
	for a := range pos {
		if len(pos[a]) < T {
			return fmt.Errorf("forward: %d positions on axis %d for %d tokens", len(pos[a]), a, T)
		}
	}
	for _, s := range seqs {
		if err := s.Cache.reserve(s.T); err != nil {
			return err
		}
	}
	sc := m.getScratch(T)
	defer m.putScratch(sc)
	half := m.rope.rot / 2
	cos := sc.get(bufCos, T*half)
	sin := sc.get(bufSin, T*half)
	m.rope.tables(cos, sin, pos, T)

	qW, kvW := cfg.Heads*D, cfg.KVHeads*D
	xn := sc.get(bufXN, T*H)
	q := sc.get(bufQ, T*qW)
	k := sc.get(bufK, T*kvW)
	v := sc.get(bufV, T*kvW)
	attn := sc.get(bufAttn, T*qW)
	o := sc.get(bufO, T*H)
	shape := compute.AttnShape{Heads: cfg.Heads, KVHeads: cfg.KVHeads, HeadDim: D, Scale: float32(1 / math.Sqrt(float64(D)))}
	for l := range m.W.Layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		L := &m.W.Layers[l]
		compute.RMSNorm(xn, h, T, L.InputNorm, cfg.RMSNormEps)
		m.linear(q, xn, T, L.Q)
		m.linear(k, xn, T, L.K)
		m.linear(v, xn, T, L.V)
		m.rope.apply(q, T, cfg.Heads, D, cos, sin)
		m.rope.apply(k, T, cfg.KVHeads, D, cos, sin)
		r := 0
		for _, s := range seqs {
			c, past := s.Cache, s.Cache.Len
			c.K[l].SetRows(past, k[r*kvW:(r+s.T)*kvW])
			c.V[l].SetRows(past, v[r*kvW:(r+s.T)*kvW])
			// A prompt's attention is in bf16 where the layer's products
			// are (see compute.Precision).
			attend := m.Pool.AttentionKV
			if m.Pool.BF16For(L.Q.W.DType, s.T) {
				attend = m.Pool.AttentionKVBF16
			}
			attend(attn[r*qW:(r+s.T)*qW], q[r*qW:(r+s.T)*qW], c.K[l], c.V[l], s.T, past+s.T, shape, true, past)
			r += s.T
		}
		m.Pool.MatMul(o, attn, T, L.O)
		if L.PostSelfAttnNorm != nil {
			compute.RMSNorm(o, o, T, L.PostSelfAttnNorm, cfg.RMSNormEps)
		}
		compute.Add(h, o)
		compute.RMSNorm(xn, h, T, L.PostAttentionNorm, cfg.RMSNormEps)
		if L.MoE != nil {
			m.moe(o, xn, T, L.MoE, tr)
		} else {
			m.mlp(o, xn, T, L.MLP, sc)
		}
		if L.PostMLPNorm != nil {
			compute.RMSNorm(o, o, T, L.PostMLPNorm, cfg.RMSNormEps)
		}
		compute.Add(h, o)
		if tr != nil && tr.Record {
			tr.LayerOutputs = append(tr.LayerOutputs, append([]float32(nil), h...))
		}
	}
	for _, s := range seqs {
		s.Cache.Len += s.T
	}
	compute.RMSNorm(out, h, T, m.W.Norm, cfg.RMSNormEps)
	return nil
}

// Logits returns hidden·lm_headᵀ for T rows of final hidden states.
func (m *Text) Logits(hidden []float32, T int) []float32 {
	out := make([]float32, T*m.Cfg.Vocab)
	m.Pool.MatMul(out, hidden, T, m.W.LMHead)
	return out
}

func (m *Text) linear(out, x []float32, T int, l Linear) {
	m.Pool.MatMul(out, x, T, l.W)
	if l.B != nil {
		compute.AddBias(out, T, l.B)
	}
}

// mlp computes the SwiGLU block for T rows of x into out ([T, H]), with
// its work buffers from sc (new ones when sc is nil).
func (m *Text) mlp(out, x []float32, T int, p *MLP, sc *textScratch) {
	if sc == nil {
		sc = new(textScratch)
	}
	I := p.Width()
	act := sc.get(bufAct, T*I)
	if p.GateUp != nil {
		gu := sc.get(bufGU, T*2*I)
		m.Pool.MatMul(gu, x, T, p.GateUp)
		for t := 0; t < T; t++ {
			row := gu[t*2*I : (t+1)*2*I]
			compute.SiLUMul(act[t*I:(t+1)*I], row[:I], row[I:])
		}
		m.Pool.MatMul(out, act, T, p.Down)
		return
	}
	swigluInto(m.Pool, out, x, T, p, act, sc.get(bufGU, T*I))
}

// expertWeights sets the weights of the chosen experts idx from their
// uncorrected sigmoid scores: normalised to sum to one when norm_topk_prob
// is set, then scaled by routed_scaling_factor.
func expertWeights(idx []int, wts []float32, scores []float32, mc *MoEConfig) {
	var sum float32
	for i, e := range idx {
		wts[i] = scores[e]
		sum += wts[i]
	}
	for i := range wts {
		if mc.NormTopKProb {
			wts[i] /= sum + 1e-20
		}
		wts[i] *= mc.RoutedScaling
	}
}
