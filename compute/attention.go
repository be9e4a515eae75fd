package compute

import "math"

// AttnShape describes a multi-head attention with grouped key/value heads:
// query head h reads KV head h/(Heads/KVHeads).
type AttnShape struct {
	Heads, KVHeads, HeadDim int
	Scale                   float32 // usually 1/sqrt(HeadDim)
}

// Attention blocking: a task handles one KV head for up to attnQBlock query
// rows (all query heads of the KV head's group), streaming the keys and
// values in blocks of attnKeyBlock so each block is read from memory once
// for the whole group and then served from cache.
const (
	attnQBlock   = 16
	attnKeyBlock = 64
)

// Attention computes softmax(q·kᵀ·scale)·v for T query rows.
//
// q and out are [T, Heads·HeadDim]; k and v are [nKeys, KVHeads·HeadDim].
// When causal is true, query row t may see keys [0, past+t] (past is the
// number of keys before the first query); otherwise every query sees all
// nKeys keys. The softmax is computed online, so no T×nKeys buffer exists.
// A query row that sees no key gets zeros.
func (p *Pool) Attention(out, q, k, v []float32, T, nKeys int, s AttnShape, causal bool, past int) {
	kvW := s.KVHeads * s.HeadDim
	km := &Matrix{DType: F32, Rows: nKeys, Cols: kvW, F32: k}
	vm := &Matrix{DType: F32, Rows: nKeys, Cols: kvW, F32: v}
	p.attention(kern, out, q, km, vm, T, nKeys, s, causal, past)
}

// AttentionKV is Attention with the keys and values read from KV cache
// matrices k and v ([≥nKeys, KVHeads·HeadDim]) stored in F32, F16 or Q8_0.
// Compact formats are widened to float32 a block of keys at a time, inside
// the tasks that consume them, so the cache is read once in its stored
// size.
func (p *Pool) AttentionKV(out, q []float32, k, v *Matrix, T, nKeys int, s AttnShape, causal bool, past int) {
	p.attention(kern, out, q, k, v, T, nKeys, s, causal, past)
}

func (p *Pool) attention(kn *kernels, out, q []float32, k, v *Matrix, T, nKeys int, s AttnShape, causal bool, past int) {
	if T <= 0 || s.Heads <= 0 || s.KVHeads <= 0 || s.HeadDim <= 0 {
		return
	}
	if nKeys <= 0 {
		clear(out[:T*s.Heads*s.HeadDim])
		return
	}
	if s.HeadDim%nr == 0 {
		if T > tiledTokens(s) {
			p.attentionTiled(kn, out, q, k, v, T, nKeys, s, causal, past)
		} else if kn.attnT != nil && s.HeadDim%16 == 0 {
			p.attentionGQAT(kn.attnT, kn, out, q, k, v, T, nKeys, s, causal, past)
		} else {
			p.attentionGQA(kn, out, q, k, v, T, nKeys, s, causal, past)
		}
		return
	}
	kf, vf := k.F32, v.F32
	if k.DType != F32 || v.DType != F32 {
		// Rare head sizes: widen the whole cache once.
		kvW := s.KVHeads * s.HeadDim
		kf, vf = make([]float32, nKeys*kvW), make([]float32, nKeys*kvW)
		for j := range nKeys {
			kn.seg(k, j, 0, kf[j*kvW:(j+1)*kvW])
			kn.seg(v, j, 0, vf[j*kvW:(j+1)*kvW])
		}
	}
	p.attentionRows(kn, out, q, kf, vf, T, nKeys, s, causal, past)
}

// attentionRows is the row-at-a-time form, for head sizes the tiled form
// does not cover: one query row against a block of keys at a time.
func (p *Pool) attentionRows(kn *kernels, out, q, k, v []float32, T, nKeys int, s AttnShape, causal bool, past int) {
	D := s.HeadDim
	group := s.Heads / s.KVHeads
	qStride, kvStride := s.Heads*D, s.KVHeads*D
	nqb := (T + attnQBlock - 1) / attnQBlock
	p.For(s.KVHeads*nqb, 1, func(lo, hi int) {
		rows := attnQBlock * group
		acc := make([]float32, rows*D)
		m := make([]float32, rows)
		l := make([]float32, rows)
		sc := make([]float32, attnKeyBlock)
		for u := lo; u < hi; u++ {
			kvh, t0 := u%s.KVHeads, (u/s.KVHeads)*attnQBlock
			t1 := min(T, t0+attnQBlock)
			nMax := nKeys
			if causal {
				nMax = min(nKeys, past+t1)
			}
			clear(acc)
			clear(l)
			for i := range m {
				m[i] = float32(math.Inf(-1))
			}
			kb, vb := k[kvh*D:], v[kvh*D:]
			for j0 := 0; j0 < nMax; j0 += attnKeyBlock {
				j1 := min(nMax, j0+attnKeyBlock)
				for t := t0; t < t1; t++ {
					nt := j1
					if causal {
						nt = min(j1, past+t+1)
					}
					if nt <= j0 {
						continue
					}
					sj := sc[:nt-j0]
					for g := range group {
						h := kvh*group + g
						r := (t-t0)*group + g
						kn.scores(sj, q[t*qStride+h*D:][:D], kb[j0*kvStride:], kvStride)
						mx := m[r]
						for i, x := range sj {
							x *= s.Scale
							sj[i] = x
							mx = max(mx, x)
						}
						ar := acc[r*D : (r+1)*D]
						if mx > m[r] {
							c := float32(math.Exp(float64(m[r] - mx)))
							l[r] *= c
							for i := range ar {
								ar[i] *= c
							}
							m[r] = mx
						}
						l[r] += kn.expSum(sj, mx)
						kn.accum(ar, sj, vb[j0*kvStride:], kvStride)
					}
				}
			}
			for t := t0; t < t1; t++ {
				for g := range group {
					h := kvh*group + g
					r := (t-t0)*group + g
					normalizeRow(out[t*qStride+h*D:t*qStride+(h+1)*D], acc[r*D:(r+1)*D], l[r])
				}
			}
		}
	})
}

// tileKeys is the number of keys per block in attentionTiled, a multiple
// of nr.
const tileKeys = 128

// tiledTokens is the number of query tokens per task in attentionTiled:
// about 96 query rows (tokens × the heads of a GQA group).
func tiledTokens(s AttnShape) int {
	group := s.Heads / s.KVHeads
	return max(1, (96+group-1)/group)
}

// attentionTiled runs attention as small matrix products on the GEMM
// micro-kernel, for prefill. Keys and values are first packed once per KV
// head (keys transposed into D×nr panels). A task then takes one KV head
// and R = tq·group query rows (tq tokens × the query heads sharing the KV
// head, packed as mr-row panels of q·scale); for each block of tileKeys
// keys it forms the R×tileKeys scores with the micro-kernel, updates the
// online softmax per row, and adds P·V into the R×D accumulator, again with
// the micro-kernel. HeadDim must be a multiple of nr.
func (p *Pool) attentionTiled(kn *kernels, out, q []float32, k, v *Matrix, T, nKeys int, s AttnShape, causal bool, past int) {
	D := s.HeadDim
	group := s.Heads / s.KVHeads
	qStride := s.Heads * D
	tq := min(tiledTokens(s), T)
	R := tq * group
	rp := (R + mr - 1) / mr // row panels
	nqb := (T + tq - 1) / tq
	nMaxAll := nKeys
	if causal {
		nMaxAll = min(nKeys, past+T)
	}
	nkb := (nMaxAll + tileKeys - 1) / tileKeys
	blk := tileKeys * D
	// Packed keys: block (kvh, jb) at (kvh·nkb+jb)·blk holds panels of D×nr
	// (keys past the end are zero). Packed values: the same block holds
	// D/nr panels of kb×nr.
	kpAll := make([]float32, s.KVHeads*nkb*blk)
	vpAll := make([]float32, s.KVHeads*nkb*blk)
	p.For(s.KVHeads*nkb, 1, func(lo, hi int) {
		src := make([]float32, D)
		for u := lo; u < hi; u++ {
			kvh, jb := u/nkb, u%nkb
			j0 := jb * tileKeys
			kb := min(tileKeys, nMaxAll-j0)
			kp := kpAll[u*blk : (u+1)*blk]
			vp := vpAll[u*blk : (u+1)*blk]
			for j := range kb {
				c, jj := j/nr, j%nr
				pan := kp[c*D*nr : (c+1)*D*nr]
				kn.seg(k, j0+j, kvh*D, src)
				for d, x := range src {
					pan[d*nr+jj] = x
				}
				kn.seg(v, j0+j, kvh*D, src)
				for c := range D / nr {
					copy(vp[c*kb*nr+j*nr:c*kb*nr+(j+1)*nr], src[c*nr:(c+1)*nr])
				}
			}
		}
	})
	p.For(s.KVHeads*nqb, 1, func(lo, hi int) {
		qp := make([]float32, rp*mr*D)        // packed q: rp panels of D×mr
		pp := make([]float32, rp*mr*tileKeys) // packed probabilities: panels of kb×mr
		sc := make([]float32, rp*mr*tileKeys) // scores, row stride tileKeys
		acc := make([]float32, rp*mr*D)       // output accumulator, row stride D
		m := make([]float32, rp*mr)
		l := make([]float32, rp*mr)
		for u := lo; u < hi; u++ {
			kvh, t0 := u%s.KVHeads, (u/s.KVHeads)*tq
			t1 := min(T, t0+tq)
			rows := (t1 - t0) * group
			nMax := nKeys
			if causal {
				nMax = min(nKeys, past+t1)
			}
			// Pack q·scale: row r is token t0+r/group, head kvh·group+r%group.
			clear(qp)
			for r := range rows {
				pan := qp[(r/mr)*mr*D : (r/mr+1)*mr*D]
				t, h := t0+r/group, kvh*group+r%group
				for d, x := range q[t*qStride+h*D : t*qStride+(h+1)*D] {
					pan[d*mr+r%mr] = x * s.Scale
				}
			}
			clear(acc)
			clear(l)
			for i := range m {
				m[i] = float32(math.Inf(-1))
			}
			for j0 := 0; j0 < nMax; j0 += tileKeys {
				kb := min(tileKeys, nMax-j0)
				kpn := (kb + nr - 1) / nr
				ub := kvh*nkb + j0/tileKeys
				kp := kpAll[ub*blk : (ub+1)*blk]
				vp := vpAll[ub*blk : (ub+1)*blk]
				// Within a block, the full-block value panels have
				// stride tileKeys·nr; the last, partial block kb·nr.
				vkb := min(tileKeys, nMaxAll-j0)
				clear(sc)
				for i := range rp {
					for c := range kpn {
						kn.gemm6x16(D, qp[i*mr*D:(i+1)*mr*D], kp[c*D*nr:(c+1)*D*nr], sc[i*mr*tileKeys+c*nr:], tileKeys)
					}
				}
				// Online softmax per row; probabilities go to pp, packed.
				for r := range rp * mr {
					valid := 0
					if r < rows {
						valid = kb
						if causal {
							valid = max(0, min(kb, past+t0+r/group+1-j0))
						}
					}
					kn.softmaxPackRow(sc[r*tileKeys:r*tileKeys+kb], valid, &m[r], &l[r], acc[r*D:(r+1)*D], pp[(r/mr)*mr*kb+r%mr:(r/mr+1)*mr*kb])
				}
				// acc += P·V, over the first kb keys of the block.
				for i := range rp {
					for c := range D / nr {
						kn.gemm6x16(kb, pp[i*mr*kb:(i+1)*mr*kb], vp[c*vkb*nr:c*vkb*nr+kb*nr], acc[i*mr*D+c*nr:], D)
					}
				}
			}
			for r := range rows {
				t, h := t0+r/group, kvh*group+r%group
				normalizeRow(out[t*qStride+h*D:t*qStride+(h+1)*D], acc[r*D:(r+1)*D], l[r])
			}
		}
	})
}

// attentionGQA is the decode form (at most tiledTokens(s) query tokens).
// The keys are split into contiguous chunks, one task each (split-K), so
// every task streams whole cache rows (all KV heads of a key are adjacent)
// and all cores stay busy even with few KV heads. A task copies a block of
// gqaKeys keys into a padded per-head layout, then for each KV head forms
// the scores of all query rows sharing it with a kernel that dots 3 query
// rows with 4 keys at a time, updates its online softmax, and adds P·V with
// the GEMM micro-kernel. The chunks' partial softmax states are merged at
// the end. HeadDim must be a multiple of nr. Sets with attnT kernels
// (avx512 and up) take attentionGQAT instead for head sizes that are a
// multiple of 16.
func (p *Pool) attentionGQA(kn *kernels, out, q []float32, k, v *Matrix, T, nKeys int, s AttnShape, causal bool, past int) {
	D := s.HeadDim
	group := s.Heads / s.KVHeads
	qStride := s.Heads * D
	rows := T * group // query rows per KV head
	rp := (rows + mr - 1) / mr
	all := s.KVHeads * rp * mr // padded rows of all heads
	nMax := nKeys
	if causal {
		nMax = min(nKeys, past+T)
	}
	nkb := (nMax + gqaKeys - 1) / gqaKeys
	nch := max(1, min(nkb, 2*p.Workers()))
	// Per-chunk softmax state for every (KV head, row): running max m,
	// sum l and unnormalized output acc (row stride D).
	// (Zeroed buffers reused from the pool, as decode calls this per layer.)
	state := p.getFloats(nch * all * (D + 2))
	defer p.putFloats(state)
	ms, ls, accs := state.f[:nch*all], state.f[nch*all:2*nch*all], state.f[2*nch*all:]
	dp := D + nr // padded row stride of the copied keys and values
	p.For(nch, 1, func(lo, hi int) {
		nkv, nsc := s.KVHeads*gqaKeys*dp, rp*mr*gqaKeys
		work := p.getFloats(2*nkv + 2*nsc)
		defer p.putFloats(work)
		kc, vc := work.f[:nkv], work.f[nkv:2*nkv]
		sc := work.f[2*nkv : 2*nkv+nsc] // scores, row stride gqaKeys
		pp := work.f[2*nkv+nsc:]        // probabilities, panels of kb×mr
		for c := lo; c < hi; c++ {
			m, l, acc := ms[c*all:(c+1)*all], ls[c*all:(c+1)*all], accs[c*all*D:(c+1)*all*D]
			for i := range m {
				m[i] = float32(math.Inf(-1))
			}
			for jb := c * nkb / nch; jb < (c+1)*nkb/nch; jb++ {
				j0 := jb * gqaKeys
				kb := min(gqaKeys, nMax-j0)
				// Copy (widening compact caches): rows are read whole
				// and in order.
				for j := range kb {
					for h := range s.KVHeads {
						o := (h*gqaKeys + j) * dp
						kn.seg(k, j0+j, h*D, kc[o:o+D])
						kn.seg(v, j0+j, h*D, vc[o:o+D])
					}
				}
				for kvh := range s.KVHeads {
					kh := kc[kvh*gqaKeys*dp : (kvh+1)*gqaKeys*dp]
					vh := vc[kvh*gqaKeys*dp : (kvh+1)*gqaKeys*dp]
					base := kvh * rp * mr
					gqaBlock(kn, s, q, kh, vh, sc, pp, m[base:base+rp*mr], l[base:base+rp*mr], acc[base*D:(base+rp*mr)*D],
						T, kvh, j0, kb, causal, past)
				}
			}
		}
	})
	// Merge the chunks: o = Σ_c e^(m_c-M)·acc_c / Σ_c e^(m_c-M)·l_c.
	p.For(s.KVHeads*rows, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			kvh, r := i/rows, i%rows
			row := kvh*rp*mr + r
			t, h := r/group, kvh*group+r%group
			o := out[t*qStride+h*D : t*qStride+(h+1)*D]
			M := float32(math.Inf(-1))
			for c := range nch {
				M = max(M, ms[c*all+row])
			}
			clear(o)
			var L float32
			for c := range nch {
				mc := ms[c*all+row]
				if mc == float32(math.Inf(-1)) {
					continue
				}
				f := float32(math.Exp(float64(mc - M)))
				L += f * ls[c*all+row]
				for d, a := range accs[(c*all+row)*D : (c*all+row+1)*D] {
					o[d] += f * a
				}
			}
			if L == 0 {
				clear(o)
				continue
			}
			inv := 1 / L
			for d := range o {
				o[d] *= inv
			}
		}
	})
}

// gqaKeys is the number of keys per block in attentionGQA.
const gqaKeys = 64

// gqaBlock folds keys [j0, j0+kb) of KV head kvh (copied to kh, vh with row
// stride HeadDim+nr) into the softmax state m, l, acc of the head's T·group
// query rows. sc and pp are scratch.
func gqaBlock(kn *kernels, s AttnShape, q, kh, vh, sc, pp, m, l, acc []float32, T, kvh, j0, kb int, causal bool, past int) {
	D := s.HeadDim
	group := s.Heads / s.KVHeads
	qStride := s.Heads * D
	rows := T * group
	rp := (rows + mr - 1) / mr
	dp := D + nr
	// Scores for row r = t·group+g.
	for t := range T {
		qt := q[t*qStride+kvh*group*D:]
		st := sc[t*group*gqaKeys:]
		g := 0
		for ; g+3 <= group; g += 3 {
			j := 0
			for ; j+4 <= kb; j += 4 {
				kn.scores3x4(st[g*gqaKeys+j:], gqaKeys, qt[g*D:], D, kh[j*dp:], dp, D)
			}
			for r := g; r < g+3 && j < kb; r++ {
				kn.scores(st[r*gqaKeys+j:r*gqaKeys+kb], qt[r*D:(r+1)*D], kh[j*dp:], dp)
			}
		}
		for ; g < group; g++ {
			kn.scores(st[g*gqaKeys:g*gqaKeys+kb], qt[g*D:(g+1)*D], kh, dp)
		}
	}
	// Online softmax per row; probabilities go to pp, packed.
	for r := range rp * mr {
		valid := 0
		if r < rows {
			valid = kb
			if causal {
				valid = max(0, min(kb, past+r/group+1-j0))
			}
		}
		row := sc[r*gqaKeys : r*gqaKeys+kb]
		for i := range row[:valid] {
			row[i] *= s.Scale
		}
		kn.softmaxPackRow(row, valid, &m[r], &l[r], acc[r*D:(r+1)*D], pp[(r/mr)*mr*kb+r%mr:(r/mr+1)*mr*kb])
	}
	// acc += P·V.
	for i := range rp {
		for c := range D / nr {
			kn.gemm6x16s(kb, pp[i*mr*kb:(i+1)*mr*kb], vh[c*nr:], dp, acc[i*mr*D+c*nr:], D)
		}
	}
}

// softmaxPackRow folds one row of attention scores into the online
// softmax of its query: row[:valid] are the scores of the keys it may see.
// When their maximum exceeds the running maximum *m, the running sum *l
// and the accumulator acc are rescaled. The row becomes e^(score - max),
// zero past valid, and is written into pan with stride mr (the packed
// left operand of the P·V micro-kernel).
func (kn *kernels) softmaxPackRow(row []float32, valid int, m, l *float32, acc, pan []float32) {
	kn.softmaxRow(row, valid, m, l, acc)
	for j, x := range row {
		pan[j*mr] = x
	}
}

// softmaxRow is softmaxPackRow without the packing: row becomes
// e^(score - max), zero past valid.
func (kn *kernels) softmaxRow(row []float32, valid int, m, l *float32, acc []float32) {
	if valid > 0 {
		mx := *m
		if kn.rowMax != nil {
			mx = kn.rowMax(row[:valid], mx)
		} else {
			for _, x := range row[:valid] {
				if x > mx {
					mx = x
				}
			}
		}
		if mx > *m {
			c := float32(math.Exp(float64(*m - mx)))
			*l *= c
			for i := range acc {
				acc[i] *= c
			}
			*m = mx
		}
		*l += kn.expSum(row[:valid], mx)
	}
	clear(row[valid:])
}

// normalizeRow writes the finished output of one query, acc/l, into o; a
// query that saw no key (l = 0) gets zeros.
func normalizeRow(o, acc []float32, l float32) {
	if l == 0 {
		clear(o)
		return
	}
	inv := 1 / l
	for i, a := range acc {
		o[i] = a * inv
	}
}
