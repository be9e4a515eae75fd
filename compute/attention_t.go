package compute

import "math"

// attnTKernels are the kernels of attentionGQAT. A panel holds 16 query
// rows in lanes: s[j*16+r] is the score (then probability) of row r for key
// j, qt[i*16+r] is dimension i of row r's query, acc[i*16+r] dimension i
// of its unnormalized output.
type attnTKernels struct {
	// qk sets s[j*16+r] = Σ_i k[j*kstride+i]·qt[i*16+r] for j < n, i < d.
	qk func(s, qt, k []float32, kstride, n, d int)
	// softmax folds s[:n*16] into the online softmax state m, l, acc
	// (d dimensions) of the 16 rows and turns s into e^(s-m).
	softmax func(s []float32, n int, m, l, acc []float32, d int)
	// pv adds Σ_j v[j*vstride+i]·p[j*16+r] to acc[i*16+r] for i < d.
	pv func(acc, p, v []float32, vstride, n, d int)
	// scaleAdd adds f[r]·src[i*16+r] to dst[i*16+r] for i < d.
	scaleAdd func(dst, src, f []float32, d int)
}

// attnTGeneric is attnTKernels in Go; the tests run attentionGQAT with it
// on every machine.
var attnTGeneric = attnTKernels{
	qk: func(s, qt, k []float32, kstride, n, d int) {
		for j := range n {
			sj := s[j*16 : j*16+16]
			clear(sj)
			for i, x := range k[j*kstride : j*kstride+d] {
				for r, q := range qt[i*16 : i*16+16] {
					sj[r] += x * q
				}
			}
		}
	},
	softmax: func(s []float32, n int, m, l, acc []float32, d int) {
		for r := range 16 {
			mx := m[r]
			for j := range n {
				mx = max(mx, s[j*16+r])
			}
			c := float32(math.Exp(float64(m[r] - mx)))
			m[r] = mx
			for i := range d {
				acc[i*16+r] *= c
			}
			sum := float32(0)
			for j := range n {
				e := float32(math.Exp(float64(s[j*16+r] - mx)))
				s[j*16+r] = e
				sum += e
			}
			l[r] = l[r]*c + sum
		}
	},
	pv: func(acc, p, v []float32, vstride, n, d int) {
		for j := range n {
			pj := p[j*16 : j*16+16]
			for i, x := range v[j*vstride : j*vstride+d] {
				for r, w := range pj {
					acc[i*16+r] += x * w
				}
			}
		}
	},
	scaleAdd: func(dst, src, f []float32, d int) {
		for i := range d {
			for r, x := range src[i*16 : i*16+16] {
				dst[i*16+r] += f[r] * x
			}
		}
	},
}

// attnTEmpty is the running maximum of a row that has seen no key, and the
// score of a key a row may not see: finite, so that e^(score - max) stays a
// number (0 or, for a row that has seen nothing yet, 1, whose sums the
// first visible key scales away). Real scores are taken to lie above it.
const attnTEmpty = -1e30

// attnTKeys is the number of keys per block in attentionGQAT.
const attnTKeys = 64

// attentionGQAT is attentionGQA in the transposed form of attnTKernels:
// query rows are taken 16 at a time (a panel: the T·group rows sharing a
// KV head, padded), with the scale folded into the transposed queries.
// The keys are split into contiguous chunks, one task each; a task widens
// a block of attnTKeys cache rows at once (F32 caches are read in place) and
// runs every (KV head, panel) over it. HeadDim must be a multiple of 16.
func (p *Pool) attentionGQAT(at *attnTKernels, kn *kernels, out, q []float32, k, v *Matrix, T, nKeys int, s AttnShape, causal bool, past int) {
	D := s.HeadDim
	group := s.Heads / s.KVHeads
	qStride := s.Heads * D
	kvW := s.KVHeads * D
	rows := T * group
	np := (rows + 15) / 16 // panels per KV head
	npan := s.KVHeads * np
	nMax := nKeys
	if causal {
		nMax = min(nKeys, past+T)
	}
	nkb := (nMax + attnTKeys - 1) / attnTKeys
	nch := max(1, min(nkb, 2*p.Workers()))
	// Transposed, scaled queries; then per chunk the state m, l (16 per
	// panel) and acc (16·D per panel).
	sz := npan * 16 * D
	buf := p.getFloats(sz + nch*npan*16*(D+2))
	defer p.putFloats(buf)
	qt, state := buf.f[:sz], buf.f[sz:]
	for pn := range npan {
		kvh, p0 := pn/np, pn%np*16
		for r := p0; r < min(rows, p0+16); r++ {
			t, h := r/group, kvh*group+r%group
			for i, x := range q[t*qStride+h*D : t*qStride+(h+1)*D] {
				qt[(pn*D+i)*16+r-p0] = x * s.Scale
			}
		}
	}
	ms, ls, accs := state[:nch*npan*16], state[nch*npan*16:2*nch*npan*16], state[2*nch*npan*16:]
	for i := range ms {
		ms[i] = attnTEmpty
	}
	p.For(nch, 1, func(lo, hi int) {
		nw := attnTKeys * 16
		if k.DType != F32 || v.DType != F32 {
			nw += 2 * attnTKeys * kvW
		}
		work := p.getFloatsDirty(nw)
		defer p.putFloats(work)
		sc, kw := work.f[:attnTKeys*16], work.f[attnTKeys*16:]
		var vw []float32
		if len(kw) > 0 {
			kw, vw = kw[:attnTKeys*kvW], kw[attnTKeys*kvW:]
		}
		for c := lo; c < hi; c++ {
			cs := c * npan * 16
			for jb := c * nkb / nch; jb < (c+1)*nkb/nch; jb++ {
				j0 := jb * attnTKeys
				kb := min(attnTKeys, nMax-j0)
				kf, vf := kn.blockRows(k, j0, kb, kw), kn.blockRows(v, j0, kb, vw)
				for pn := range npan {
					kvh, p0 := pn/np, pn%np*16
					m, l := ms[cs+pn*16:cs+pn*16+16], ls[cs+pn*16:cs+pn*16+16]
					acc := accs[(cs+pn*16)*D : (cs+pn*16+16)*D]
					at.qk(sc, qt[pn*16*D:(pn+1)*16*D], kf[kvh*D:], kvW, kb, D)
					if causal {
						// Row r may see keys up to past+t; mask the rest.
						for r := p0; r < min(rows, p0+16); r++ {
							for j := max(0, past+r/group+1-j0); j < kb; j++ {
								sc[j*16+r-p0] = attnTEmpty
							}
						}
					}
					at.softmax(sc, kb, m, l, acc, D)
					at.pv(acc, sc, vf[kvh*D:], kvW, kb, D)
				}
			}
		}
	})
	// Merge the chunks: o = Σ_c e^(m_c-M)·acc_c / Σ_c e^(m_c-M)·l_c, a
	// panel at a time in lanes, then transposed into out.
	p.For(npan, 1, func(lo, hi int) {
		tmp := p.getFloatsDirty(16*D + 32)
		defer p.putFloats(tmp)
		mt, f := tmp.f[:16], tmp.f[16:32]
		ot := tmp.f[32:]
		for pn := lo; pn < hi; pn++ {
			kvh := pn / np
			copy(mt, ms[pn*16:pn*16+16])
			for c := 1; c < nch; c++ {
				for r, x := range ms[(c*npan+pn)*16 : (c*npan+pn)*16+16] {
					mt[r] = max(mt[r], x)
				}
			}
			var L [16]float32
			for c := range nch {
				cs := (c*npan + pn) * 16
				for r, mc := range ms[cs : cs+16] {
					f[r] = 0
					if mc > attnTEmpty {
						f[r] = float32(math.Exp(float64(mc - mt[r])))
						L[r] += f[r] * ls[cs+r]
					}
				}
				if c == 0 {
					for i, x := range accs[cs*D : (cs+16)*D] {
						ot[i] = f[i%16] * x
					}
				} else {
					at.scaleAdd(ot, accs[cs*D:(cs+16)*D], f, D)
				}
			}
			for lane := range 16 {
				r := pn%np*16 + lane
				if r >= rows {
					break
				}
				t, h := r/group, kvh*group+r%group
				o := out[t*qStride+h*D : t*qStride+(h+1)*D]
				if L[lane] == 0 {
					clear(o)
					continue
				}
				inv := 1 / L[lane]
				for d := range o {
					o[d] = ot[d*16+lane] * inv
				}
			}
		}
	})
}

// blockRows returns rows [j0, j0+n) of the cache m as float32, row stride
// m.Cols: F32 caches in place, others widened into buf.
func (kn *kernels) blockRows(m *Matrix, j0, n int, buf []float32) []float32 {
	w := m.Cols
	if m.DType == F32 {
		return m.F32[j0*w : (j0+n)*w]
	}
	if m.DType == F16 || m.DType == BF16 || m.DType == Q8_0 && w%qBlock == 0 {
		// Whole rows are adjacent in every format, so one call widens them.
		kn.seg(m, j0, 0, buf[:n*w])
	} else {
		for j := range n {
			kn.seg(m, j0+j, 0, buf[j*w:(j+1)*w])
		}
	}
	return buf[:n*w]
}
