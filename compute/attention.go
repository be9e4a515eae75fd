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
