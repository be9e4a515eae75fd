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
	p.attention(kern, out, q, k, v, T, nKeys, s, causal, past)
}

func (p *Pool) attention(kn *kernels, out, q, k, v []float32, T, nKeys int, s AttnShape, causal bool, past int) {
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
		} else {
			p.attentionGQA(kn, out, q, k, v, T, nKeys, s, causal, past)
		}
		return
	}
	p.attentionRows(kn, out, q, k, v, T, nKeys, s, causal, past)
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
					o := out[t*qStride+h*D : t*qStride+(h+1)*D]
					if l[r] == 0 {
						clear(o)
						continue
					}
					inv := 1 / l[r]
					for i, a := range acc[r*D : (r+1)*D] {
						o[i] = a * inv
					}
				}
			}
		}
	})
}

// tileKeys is the number of keys per block in attentionTiled, a multiple
// of nr.
const tileKeys = 64

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
func (p *Pool) attentionTiled(kn *kernels, out, q, k, v []float32, T, nKeys int, s AttnShape, causal bool, past int) {
	D := s.HeadDim
	group := s.Heads / s.KVHeads
	qStride, kvStride := s.Heads*D, s.KVHeads*D
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
		for u := lo; u < hi; u++ {
			kvh, jb := u/nkb, u%nkb
			j0 := jb * tileKeys
			kb := min(tileKeys, nMaxAll-j0)
			kp := kpAll[u*blk : (u+1)*blk]
			for j := range kb {
				c, jj := j/nr, j%nr
				pan := kp[c*D*nr : (c+1)*D*nr]
				src := k[(j0+j)*kvStride+kvh*D:][:D]
				for d, x := range src {
					pan[d*nr+jj] = x
				}
			}
			vp := vpAll[u*blk : (u+1)*blk]
			for c := range D / nr {
				pan := vp[c*kb*nr : (c+1)*kb*nr]
				for j := range kb {
					o := (j0+j)*kvStride + kvh*D + c*nr
					copy(pan[j*nr:(j+1)*nr], v[o:o+nr])
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
					row := sc[r*tileKeys : r*tileKeys+kb]
					if valid > 0 {
						mx := m[r]
						for _, x := range row[:valid] {
							if x > mx {
								mx = x
							}
						}
						if mx > m[r] {
							c := float32(math.Exp(float64(m[r] - mx)))
							l[r] *= c
							ar := acc[r*D : (r+1)*D]
							for i := range ar {
								ar[i] *= c
							}
							m[r] = mx
						}
						l[r] += kn.expSum(row[:valid], mx)
					}
					clear(row[valid:])
					pan := pp[(r/mr)*mr*kb+r%mr : (r/mr+1)*mr*kb]
					for j, x := range row {
						pan[j*mr] = x
					}
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
				o := out[t*qStride+h*D : t*qStride+(h+1)*D]
				if l[r] == 0 {
					clear(o)
					continue
				}
				inv := 1 / l[r]
				for i, a := range acc[r*D : (r+1)*D] {
					o[i] = a * inv
				}
			}
		}
	})
}

// attentionGQA is the decode form (at most tiledTokens(s) query tokens): a
// task takes one KV head and all query rows that share it, and streams the
// keys and values once, in blocks of tileKeys copied to a padded buffer.
// Scores come from a kernel that dots 3 query rows with 4 keys at a time;
// P·V uses the GEMM micro-kernel on the copied values (row stride D+nr).
// HeadDim must be a multiple of nr.
func (p *Pool) attentionGQA(kn *kernels, out, q, k, v []float32, T, nKeys int, s AttnShape, causal bool, past int) {
	D := s.HeadDim
	group := s.Heads / s.KVHeads
	qStride, kvStride := s.Heads*D, s.KVHeads*D
	rows := T * group
	rp := (rows + mr - 1) / mr
	nMax := nKeys
	if causal {
		nMax = min(nKeys, past+T)
	}
	p.For(s.KVHeads, 1, func(lo, hi int) {
		sc := make([]float32, rp*mr*tileKeys) // scores, row stride tileKeys
		pp := make([]float32, rp*mr*tileKeys) // probabilities, panels of kb×mr
		acc := make([]float32, rp*mr*D)       // accumulator, row stride D
		m := make([]float32, rows)
		l := make([]float32, rows)
		// The block's keys and values are first copied to a padded,
		// contiguous layout: in the cache, rows of one KV head are
		// kvStride apart, often a power of two like 4 KiB, which maps
		// them all to the same L1 sets.
		dp := D + nr
		kc := make([]float32, tileKeys*dp)
		vc := make([]float32, tileKeys*dp)
		for kvh := lo; kvh < hi; kvh++ {
			clear(acc)
			clear(l)
			for i := range m {
				m[i] = float32(math.Inf(-1))
			}
			kb0, vb0 := k[kvh*D:], v[kvh*D:]
			for j0 := 0; j0 < nMax; j0 += tileKeys {
				kb := min(tileKeys, nMax-j0)
				for j := range kb {
					o := (j0 + j) * kvStride
					copy(kc[j*dp:j*dp+D], kb0[o:o+D])
					copy(vc[j*dp:j*dp+D], vb0[o:o+D])
				}
				// Scores for row r = t·group+g.
				for t := range T {
					qt := q[t*qStride+kvh*group*D:]
					st := sc[t*group*tileKeys:]
					g := 0
					for ; g+3 <= group; g += 3 {
						j := 0
						for ; j+4 <= kb; j += 4 {
							kn.scores3x4(st[g*tileKeys+j:], tileKeys, qt[g*D:], D, kc[j*dp:], dp, D)
						}
						for r := g; r < g+3 && j < kb; r++ {
							kn.scores(st[r*tileKeys+j:r*tileKeys+kb], qt[r*D:(r+1)*D], kc[j*dp:], dp)
						}
					}
					for ; g < group; g++ {
						kn.scores(st[g*tileKeys:g*tileKeys+kb], qt[g*D:(g+1)*D], kc, dp)
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
					row := sc[r*tileKeys : r*tileKeys+kb]
					if valid > 0 {
						for i := range row[:valid] {
							row[i] *= s.Scale
						}
						mx := m[r]
						for _, x := range row[:valid] {
							if x > mx {
								mx = x
							}
						}
						if mx > m[r] {
							c := float32(math.Exp(float64(m[r] - mx)))
							l[r] *= c
							ar := acc[r*D : (r+1)*D]
							for i := range ar {
								ar[i] *= c
							}
							m[r] = mx
						}
						l[r] += kn.expSum(row[:valid], mx)
					}
					clear(row[valid:])
					pan := pp[(r/mr)*mr*kb+r%mr : (r/mr+1)*mr*kb]
					for j, x := range row {
						pan[j*mr] = x
					}
				}
				// acc += P·V, the values read in their copied layout.
				for i := range rp {
					for c := range D / nr {
						kn.gemm6x16s(kb, pp[i*mr*kb:(i+1)*mr*kb], vc[c*nr:], dp, acc[i*mr*D+c*nr:], D)
					}
				}
			}
			for r := range rows {
				t, h := r/group, kvh*group+r%group
				o := out[t*qStride+h*D : t*qStride+(h+1)*D]
				if l[r] == 0 {
					clear(o)
					continue
				}
				inv := 1 / l[r]
				for i, a := range acc[r*D : (r+1)*D] {
					o[i] = a * inv
				}
			}
		}
	})
}
