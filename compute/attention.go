package compute

import "math"

// AttnShape describes a multi-head attention with grouped key/value heads:
// query head h reads KV head h/(Heads/KVHeads).
type AttnShape struct {
	Heads, KVHeads, HeadDim int
	Scale                   float32 // usually 1/sqrt(HeadDim)
}

// Attention computes softmax(q·kᵀ·scale)·v for T query rows.
//
// q and out are [T, Heads·HeadDim]; k and v are [nKeys, KVHeads·HeadDim].
// When causal is true, query row t may see keys [0, past+t] (past is the
// number of keys before the first query); otherwise every query sees all
// nKeys keys. The softmax is computed online, so no T×nKeys buffer exists.
func (p *Pool) Attention(out, q, k, v []float32, T, nKeys int, s AttnShape, causal bool, past int) {
	D := s.HeadDim
	group := s.Heads / s.KVHeads
	qStride, kvStride := s.Heads*D, s.KVHeads*D
	p.For(T*s.Heads, 1, func(lo, hi int) {
		acc := make([]float32, D)
		for job := lo; job < hi; job++ {
			t, h := job/s.Heads, job%s.Heads
			kvh := h / group
			qv := q[t*qStride+h*D : t*qStride+(h+1)*D]
			n := nKeys
			if causal {
				n = min(nKeys, past+t+1)
			}
			clear(acc)
			m := float32(math.Inf(-1))
			var l float32
			for j := 0; j < n; j++ {
				kj := k[j*kvStride+kvh*D : j*kvStride+(kvh+1)*D]
				sc := Dot(qv, kj) * s.Scale
				vj := v[j*kvStride+kvh*D : j*kvStride+(kvh+1)*D]
				if sc > m {
					c := float32(math.Exp(float64(m - sc)))
					l *= c
					for i := range acc {
						acc[i] *= c
					}
					m = sc
				}
				e := float32(math.Exp(float64(sc - m)))
				l += e
				for i, x := range vj {
					acc[i] += e * x
				}
			}
			o := out[t*qStride+h*D : t*qStride+(h+1)*D]
			inv := 1 / l
			for i := range o {
				o[i] = acc[i] * inv
			}
		}
	})
}
