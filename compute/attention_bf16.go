package compute

import "math"

// BF16For reports whether the pool's precision and the kernel set in use
// let MatMul compute in bf16 for T token rows of weights in dt (with the
// amx set, on its tiles in one bf16 part):
// the choice between Attention and AttentionBF16 (AttentionKV and
// AttentionKVBF16) for an attention that goes with those products: the
// vision tower's, and a prompt's in the text model.
func (p *Pool) BF16For(dt DType, T int) bool { return p.useBF16(kern, dt, T) }

// AttentionBF16 is Attention with Q·Kᵀ and P·V on the bf16 GEMM
// micro-kernel: q·Scale, k, v and the softmax probabilities are rounded to
// bfloat16 and the products summed in f32 (the softmax itself stays f32).
// Where the kernel set has no bf16 GEMM, HeadDim is not a multiple of 32
// or T is a decode-sized batch, it is Attention.
func (p *Pool) AttentionBF16(out, q, k, v []float32, T, nKeys int, s AttnShape, causal bool, past int) {
	p.attentionBF16(kern, out, q, k, v, T, nKeys, s, causal, past)
}

func (p *Pool) attentionBF16(kn *kernels, out, q, k, v []float32, T, nKeys int, s AttnShape, causal bool, past int) {
	kvW := s.KVHeads * s.HeadDim
	km := &Matrix{DType: F32, Rows: nKeys, Cols: kvW, F32: k}
	vm := &Matrix{DType: F32, Rows: nKeys, Cols: kvW, F32: v}
	p.attentionKVBF16(kn, out, q, km, vm, T, nKeys, s, causal, past)
}

// AttentionKVBF16 is AttentionKV (keys and values read from a KV cache in
// F32, F16 or Q8_0) with Q·Kᵀ and P·V on the bf16 GEMM micro-kernel, as
// in AttentionBF16: the attention of a long prompt whose products are in
// bf16. Where the kernel set has no bf16 GEMM, HeadDim is not a multiple
// of 32 or T is a decode-sized batch, it is AttentionKV.
func (p *Pool) AttentionKVBF16(out, q []float32, k, v *Matrix, T, nKeys int, s AttnShape, causal bool, past int) {
	p.attentionKVBF16(kern, out, q, k, v, T, nKeys, s, causal, past)
}

func (p *Pool) attentionKVBF16(kn *kernels, out, q []float32, km, vm *Matrix, T, nKeys int, s AttnShape, causal bool, past int) {
	if kn.gemmBF16 == nil || T <= 0 || nKeys <= 0 || s.Heads <= 0 || s.KVHeads <= 0 || s.HeadDim <= 0 ||
		s.HeadDim%bfRows != 0 || T <= tiledTokens(s) {
		p.attention(kn, out, q, km, vm, T, nKeys, s, causal, past)
		return
	}
	p.attentionTiledBF16(kn, out, q, km, vm, T, nKeys, s, causal, past)
}

// bfAttnRows is about the number of query rows per task of
// attentionTiledBF16 (7 micro-tiles of bfTokens rows).
const bfAttnRows = 7 * bfTokens

// attentionTiledBF16 is attentionTiled on the bf16 micro-kernel (see
// AttentionBF16). Per KV head and block of tileKeys keys, the keys are
// packed as bfRows-key panels of HeadDim/2 column pairs (the weight
// panels of the score product) and the values as bfRows-dim panels of
// key pairs (those of P·V). A task takes one KV head and up to
// bfAttnRows query rows: it rounds q·scale to rows of bf16 pairs, then
// per key block forms the scores, updates each row's online softmax (in
// f32) and rounds the probabilities to rows of key pairs for P·V; the
// micro-kernel reads both kinds of rows in place. HeadDim must be a
// multiple of bfRows.
func (p *Pool) attentionTiledBF16(kn *kernels, out, q []float32, k, v *Matrix, T, nKeys int, s AttnShape, causal bool, past int) {
	D := s.HeadDim
	DP := D / 2
	group := s.Heads / s.KVHeads
	qStride := s.Heads * D
	tq := min(max(1, bfAttnRows/group), T)
	R := tq * group
	rp := (R + bfTokens - 1) / bfTokens // row panels
	nqb := (T + tq - 1) / tq
	nMaxAll := nKeys
	if causal {
		nMaxAll = min(nKeys, past+T)
	}
	nkb := (nMaxAll + tileKeys - 1) / tileKeys
	const kbp = tileKeys / 2 // key pairs per block
	blk := tileKeys * DP     // words per packed block of keys or values
	round := kn.roundBF16
	if round == nil {
		round = roundBF16Generic
	}
	kpAll := make([]uint32, s.KVHeads*nkb*blk)
	vpAll := make([]uint32, s.KVHeads*nkb*blk)
	p.For(s.KVHeads*nkb, 1, func(lo, hi int) {
		src := make([]float32, D)
		kr := make([]uint32, DP)
		vr := make([]uint32, 2*DP) // two keys' values, rounded
		for u := lo; u < hi; u++ {
			kvh, jb := u/nkb, u%nkb
			j0 := jb * tileKeys
			kb := min(tileKeys, nMaxAll-j0)
			kp := kpAll[u*blk : (u+1)*blk]
			vp := vpAll[u*blk : (u+1)*blk]
			clear(kp)
			clear(vp)
			// Keys: panel c holds keys c·bfRows…; line p the pairs of
			// dims 2p, 2p+1.
			for j := range kb {
				c, jj := j/bfRows, j%bfRows
				pan := kp[c*DP*bfRows : (c+1)*DP*bfRows]
				kn.seg(k, j0+j, kvh*D, src)
				round(kr, src)
				for pi, w := range kr {
					pan[pi*bfRows+jj] = w
				}
			}
			// Values: panel c holds dims c·bfRows…; line p the pairs of
			// keys 2p, 2p+1 (zero past kb).
			for pk := range (kb + 1) / 2 {
				kn.seg(v, j0+2*pk, kvh*D, src)
				round(vr[:DP], src)
				if 2*pk+1 < kb {
					kn.seg(v, j0+2*pk+1, kvh*D, src)
					round(vr[DP:], src)
				} else {
					clear(vr[DP:])
				}
				for d := range D {
					c, dd := d/bfRows, d%bfRows
					sh := 16 * (d % 2)
					lo, hi := vr[d/2]>>sh&0xffff, vr[DP+d/2]>>sh&0xffff
					vp[c*kbp*bfRows+pk*bfRows+dd] = lo | hi<<16
				}
			}
		}
	})
	p.For(s.KVHeads*nqb, 1, func(lo, hi int) {
		qa := make([]uint32, rp*bfTokens*DP)        // q·scale rounded: rows of DP pairs
		pa := make([]uint32, rp*bfTokens*kbp)       // probabilities rounded: rows of kbp pairs
		sc := make([]float32, rp*bfTokens*tileKeys) // scores, row stride tileKeys
		acc := make([]float32, rp*bfTokens*D)       // output accumulator, row stride D
		m := make([]float32, rp*bfTokens)
		l := make([]float32, rp*bfTokens)
		qs := make([]float32, D)
		for u := lo; u < hi; u++ {
			kvh, t0 := u%s.KVHeads, (u/s.KVHeads)*tq
			t1 := min(T, t0+tq)
			rows := (t1 - t0) * group
			nMax := nKeys
			if causal {
				nMax = min(nKeys, past+t1)
			}
			// Row r is token t0+r/group, head kvh·group+r%group; rows past
			// the task's are zero.
			for r := range rows {
				t, h := t0+r/group, kvh*group+r%group
				for d, x := range q[t*qStride+h*D : t*qStride+(h+1)*D] {
					qs[d] = x * s.Scale
				}
				round(qa[r*DP:(r+1)*DP], qs)
			}
			clear(qa[rows*DP:])
			clear(acc)
			clear(l)
			for i := range m {
				m[i] = float32(math.Inf(-1))
			}
			for j0 := 0; j0 < nMax; j0 += tileKeys {
				kb := min(tileKeys, nMax-j0)
				kpn := (kb + bfRows - 1) / bfRows
				kbpl := (kb + 1) / 2
				ub := kvh*nkb + j0/tileKeys
				kp := kpAll[ub*blk : (ub+1)*blk]
				vp := vpAll[ub*blk : (ub+1)*blk]
				for i := range rp {
					for c := range kpn {
						kn.gemmBF16(DP, qa[i*bfTokens*DP:], DP, 1, kp[c*DP*bfRows:(c+1)*DP*bfRows], sc[i*bfTokens*tileKeys+c*bfRows:], tileKeys, false)
					}
				}
				for r := range rp * bfTokens {
					valid := 0
					if r < rows {
						valid = kb
						if causal {
							valid = max(0, min(kb, past+t0+r/group+1-j0))
						}
					}
					row := sc[r*tileKeys : r*tileKeys+kb]
					kn.softmaxRow(row, valid, &m[r], &l[r], acc[r*D:(r+1)*D])
					round(pa[r*kbp:], row)
				}
				// acc += P·V over the block's key pairs.
				for i := range rp {
					for c := range D / bfRows {
						kn.gemmBF16(kbpl, pa[i*bfTokens*kbp:], kbp, 1, vp[c*kbp*bfRows:c*kbp*bfRows+kbpl*bfRows], acc[i*bfTokens*D+c*bfRows:], D, true)
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
