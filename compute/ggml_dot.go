package compute

import "encoding/binary"

// actRow is one activation row quantized to 8 bits for the integer dot
// products with ggml block weights: quantizeRowQ8's output, q holds 32
// int8 per block of 32 columns, d the f32 block scales (max|x|/127) and s
// 8× each block's sum of q. For the K-quants bsum also holds the sums of q
// over each 16 columns (llama.cpp's q8_K has these too, but one scale per
// 256 columns; a scale per 32 keeps an outlier channel from flattening the
// other 255 activations of its super-block, which cut the logit error of
// the K-quant test models 2-5 fold).
type actRow struct {
	q    []int8
	d, s []float32
	bsum []int16
}

// qkBlock is the number of columns of a K-quant super-block.
const qkBlock = 256

// Generic (pure Go) dot products of an actRow with one row of raw blocks.

func dotQ8_0G(a *actRow, w []byte) float32 {
	var s float32
	for b := range len(w) / 34 {
		blk := w[b*34 : (b+1)*34]
		x := a.q[b*32 : (b+1)*32]
		var is int32
		for i, v := range blk[2:34] {
			is += int32(int8(v)) * int32(x[i])
		}
		s += float32(is) * (a.d[b] * f16le(blk))
	}
	return s
}

// nib32 returns Σ x[j]·lo(q[j]) + x[j+16]·hi(q[j]) over a 16-byte nibble
// array q.
func nib32(q []byte, x []int8) int32 {
	q, x = q[:16], x[:32]
	var is int32
	for j, v := range q {
		is += int32(v&15)*int32(x[j]) + int32(v>>4)*int32(x[j+16])
	}
	return is
}

func dotQ4_0G(a *actRow, w []byte) float32 {
	var s float32
	for b := range len(w) / 18 {
		blk := w[b*18 : (b+1)*18]
		// Σ (q-8)·x = Σ q·x - 8·Σx, and a.s holds 8·Σx.
		is := float32(nib32(blk[2:], a.q[b*32:])) - a.s[b]
		s += is * (a.d[b] * f16le(blk))
	}
	return s
}

func dotQ4_1G(a *actRow, w []byte) float32 {
	var s float32
	for b := range len(w) / 20 {
		blk := w[b*20 : (b+1)*20]
		is := float32(nib32(blk[4:], a.q[b*32:]))
		s += a.d[b] * (is*f16le(blk) + a.s[b]/8*f16le(blk[2:]))
	}
	return s
}

// nib32h is nib32 for 5-bit values whose fifth bits are the 32 bits of qh
// (bit j for column j).
func nib32h(q []byte, qh uint32, x []int8) int32 {
	q, x = q[:16], x[:32]
	var is int32
	for j, v := range q {
		lo := int32(v&15) | int32(qh>>j&1)<<4
		hi := int32(v>>4) | int32(qh>>(j+16)&1)<<4
		is += lo*int32(x[j]) + hi*int32(x[j+16])
	}
	return is
}

func dotQ5_0G(a *actRow, w []byte) float32 {
	var s float32
	for b := range len(w) / 22 {
		blk := w[b*22 : (b+1)*22]
		// Σ (q-16)·x = Σ q·x - 2·(8·Σx).
		is := float32(nib32h(blk[6:], binary.LittleEndian.Uint32(blk[2:]), a.q[b*32:])) - 2*a.s[b]
		s += is * (a.d[b] * f16le(blk))
	}
	return s
}

func dotQ5_1G(a *actRow, w []byte) float32 {
	var s float32
	for b := range len(w) / 24 {
		blk := w[b*24 : (b+1)*24]
		is := float32(nib32h(blk[8:], binary.LittleEndian.Uint32(blk[4:]), a.q[b*32:]))
		s += a.d[b] * (is*f16le(blk) + a.s[b]/8*f16le(blk[2:]))
	}
	return s
}

func dotQ2_KG(a *actRow, w []byte) float32 {
	var s float32
	for b := range len(w) / 84 {
		blk := w[b*84 : (b+1)*84]
		sc, qs := blk[0:16], blk[16:80]
		x := a.q[b*qkBlock : (b+1)*qkBlock]
		bs := a.bsum[b*16 : (b+1)*16]
		d, dmin := f16le(blk[80:]), f16le(blk[82:])
		xd := a.d[b*8 : (b+1)*8]
		var isum, msum int32
		for k := range 16 {
			q := qs[32*(k/8)+16*(k%2):][:16]
			shift := uint(2 * ((k / 2) % 4))
			xk := x[16*k : 16*k+16]
			var t int32
			for l, v := range q {
				t += int32((v>>shift)&3) * int32(xk[l])
			}
			isum += t * int32(sc[k]&15)
			msum += int32(bs[k]) * int32(sc[k]>>4)
			if k%2 == 1 {
				s += xd[k/2] * (d*float32(isum) - dmin*float32(msum))
				isum, msum = 0, 0
			}
		}
	}
	return s
}

func dotQ3_KG(a *actRow, w []byte) float32 {
	var s float32
	for b := range len(w) / 110 {
		blk := w[b*110 : (b+1)*110]
		hm, qs := blk[0:32], blk[32:96]
		sc := q3kScales(blk[96:108])
		d := f16le(blk[108:])
		x := a.q[b*qkBlock : (b+1)*qkBlock]
		var isum int32
		for k := range 16 {
			n, j, h := k/8, (k/2)%4, k%2
			q := qs[32*n+16*h:][:16]
			hmk := hm[16*h:][:16]
			shift := uint(2 * j)
			m := byte(1) << uint(4*n+j)
			xk := x[16*k : 16*k+16]
			var t int32
			for l, v := range q {
				v3 := int32((v >> shift) & 3)
				if hmk[l]&m == 0 {
					v3 -= 4
				}
				t += v3 * int32(xk[l])
			}
			isum += t * (int32(sc[k]) - 32)
			if k%2 == 1 {
				s += a.d[b*8+k/2] * d * float32(isum)
				isum = 0
			}
		}
	}
	return s
}

func dotQ4_KG(a *actRow, w []byte) float32 { return dotQ45K(a, w, 144, 16) }

func dotQ5_KG(a *actRow, w []byte) float32 { return dotQ45K(a, w, 176, 48) }

// dotQ45K is the Q4_K (ts 144) and Q5_K (ts 176, fifth bits in bytes
// 16..47) dot product; the 128 bytes of nibbles start at qsOff.
func dotQ45K(a *actRow, w []byte, ts, qsOff int) float32 {
	var s float32
	for b := range len(w) / ts {
		blk := w[b*ts : (b+1)*ts]
		scales, qh, qs := blk[4:16], blk[16:qsOff], blk[qsOff:ts]
		x := a.q[b*qkBlock : (b+1)*qkBlock]
		bs := a.bsum[b*16 : (b+1)*16]
		d, dmin := f16le(blk), f16le(blk[2:])
		xd := a.d[b*8 : (b+1)*8]
		for j := range 4 {
			q := qs[32*j:][:32]
			x0, x1 := x[64*j:][:32], x[64*j+32:][:32]
			var t0, t1 int32
			if len(qh) == 0 {
				for l, v := range q {
					t0 += int32(v&15) * int32(x0[l])
					t1 += int32(v>>4) * int32(x1[l])
				}
			} else {
				sh := uint(2 * j)
				for l, v := range q {
					t0 += (int32(v&15) | int32(qh[l]>>sh&1)<<4) * int32(x0[l])
					t1 += (int32(v>>4) | int32(qh[l]>>(sh+1)&1)<<4) * int32(x1[l])
				}
			}
			sc0, m0 := scaleMinK4(2*j, scales)
			sc1, m1 := scaleMinK4(2*j+1, scales)
			s += xd[2*j]*(d*float32(t0*int32(sc0))-dmin*float32(int32(m0)*int32(bs[4*j]+bs[4*j+1]))) +
				xd[2*j+1]*(d*float32(t1*int32(sc1))-dmin*float32(int32(m1)*int32(bs[4*j+2]+bs[4*j+3])))
		}
	}
	return s
}

func dotQ6_KG(a *actRow, w []byte) float32 {
	var s float32
	for b := range len(w) / 210 {
		blk := w[b*210 : (b+1)*210]
		ql, qh, sc := blk[0:128], blk[128:192], blk[192:208]
		x := a.q[b*qkBlock : (b+1)*qkBlock]
		var sub [16]int32
		for n := range 2 {
			xn := x[128*n:][:128]
			for l := range 32 {
				q1, q2, q3, q4 := q6k(ql, qh, n, l)
				is := 8*n + l/16
				sub[is] += q1 * int32(xn[l])
				sub[is+2] += q2 * int32(xn[32+l])
				sub[is+4] += q3 * int32(xn[64+l])
				sub[is+6] += q4 * int32(xn[96+l])
			}
		}
		d := f16le(blk[208:])
		for g := range 8 {
			isum := sub[2*g]*int32(int8(sc[2*g])) + sub[2*g+1]*int32(int8(sc[2*g+1]))
			s += a.d[b*8+g] * d * float32(isum)
		}
	}
	return s
}

// The GEMM crossovers of the block formats (blockFormat.gemmMinT) were
// measured as CPU time per MatMul, one thread, on 4096×4096 weights (Zen
// 3; wall-clock benchmarks were unusable on the shared machine, and even
// CPU time moved the GEMM's figures by a third between runs). The integer
// row kernels run at 50-90 GFLOP/s whatever T; the GEMM on dequantized
// panels (AVX2 for every format) reaches 105-150 GFLOP/s from T=96 but
// pays the dequantization once per call, so it wins from about T=32 (Q3_K,
// Q4_1, Q5_0, Q5_1), 48 (Q4_0, Q5_K, Q6_K) or 64 (Q2_K, Q4_K, Q8_0).
// Near a crossover the GEMM is preferred: it does not round the
// activations. These are the avx2 set's points; the avx512 set's VNNI
// block dots are faster and have their own (vnniGemmMinT).

func genericBlockDots() (t [numDTypes]blockDot) {
	for d := range t {
		t[d] = blockFormats[d].dotGeneric
	}
	return t
}

func genericDequantBlks() (t [numDTypes]func(dst []float32, w []byte)) {
	for d := range t {
		if blockFormats[d].ts != 0 {
			dt := DType(d)
			t[d] = func(dst []float32, w []byte) { dequantBlocks(dt, dst, w) }
		}
	}
	return t
}

// quantizeActs quantizes the T activation rows of x ([T, cols]) for dots
// with weights in block format dt and returns one actRow per token.
func (p *Pool) quantizeActs(k *kernels, dt DType, x []float32, T, cols int) []actRow {
	f := &blockFormats[dt]
	nb := cols / f.bs
	q := make([]int8, T*cols)
	acts := make([]actRow, T)
	if f.kquant {
		n32 := cols / qBlock
		d := make([]float32, 2*T*n32)
		bsum := make([]int16, T*cols/16)
		for t := range acts {
			acts[t] = actRow{q: q[t*cols : (t+1)*cols], d: d[2*t*n32 : (2*t+1)*n32], s: d[(2*t+1)*n32 : (2*t+2)*n32],
				bsum: bsum[t*cols/16 : (t+1)*cols/16]}
		}
	} else {
		d := make([]float32, 2*T*nb)
		for t := range acts {
			acts[t] = actRow{q: q[t*cols : (t+1)*cols], d: d[2*t*nb : (2*t+1)*nb], s: d[(2*t+1)*nb : (2*t+2)*nb]}
		}
	}
	p.For(T, 8, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			a, xr := &acts[t], x[t*cols:(t+1)*cols]
			k.quantQ8(a.q, a.d, a.s, xr)
			if f.kquant {
				sums16(a.bsum, a.q)
			}
		}
	})
	return acts
}

// matVecBlocks is matVec for ggml block weights: the activation rows are
// quantized to 8 bits once, then each weight row is dotted with blocks of
// them (about 256 KiB of activations at a time, which stay in L2 while the
// weights stream past), 4 at a time where the set has a blockDotX4.
func (p *Pool) matVecBlocks(k *kernels, out, x []float32, T int, w *Matrix) {
	rows, cols := w.Rows, w.Cols
	acts := p.quantizeActs(k, w.DType, x, T, cols)
	dot, dot4 := k.blockDot[w.DType], k.blockDotX4[w.DType]
	rb := w.blockRowBytes()
	tb := max(1, (256<<10)/cols)
	for t0 := 0; t0 < T; t0 += tb {
		t1 := min(T, t0+tb)
		p.For(rows, 64, func(lo, hi int) {
			var o [4]float32
			for r := lo; r < hi; r++ {
				wr := w.Q[r*rb : (r+1)*rb]
				t := t0
				if dot4 != nil {
					for ; t+4 <= t1; t += 4 {
						dot4((*[4]actRow)(acts[t:t+4]), wr, &o)
						out[t*rows+r], out[(t+1)*rows+r] = o[0], o[1]
						out[(t+2)*rows+r], out[(t+3)*rows+r] = o[2], o[3]
					}
				}
				for ; t < t1; t++ {
					out[t*rows+r] = dot(&acts[t], wr)
				}
			}
		})
	}
}

// sums16 sets bsum[g] to the sum of q[16g:16g+16].
func sums16(bsum []int16, q []int8) {
	for g := range bsum {
		var s int16
		for _, v := range q[16*g : 16*g+16] {
			s += int16(v)
		}
		bsum[g] = s
	}
}
