package compute

// Register and cache blocking of the GEMM. The micro-kernel computes an
// mr×nr tile of out from a kc×mr panel of x and a kc×nr panel of Wᵀ, both
// packed k-major. A worker packs a kc×nc block of Wᵀ (nc/nr panels, read
// from L2) and runs it against mc-row blocks of the packed x.
const (
	mr      = 6   // micro-tile rows (tokens)
	nr      = 16  // micro-tile columns (weight rows)
	kcBlock = 256 // k depth of packed panels; a multiple of qBlock
	mcBlock = 96  // token rows per L2 block; a multiple of mr
	ncBlock = 256 // weight rows per packed block; a multiple of nr
)

// longRow is the row length (columns) above which the one-token bf16, f16
// and quantized row kernels take four weight rows at a time: the
// activation row no longer stays in L1 next to the weight stream, and
// sharing its loads wins. Below it the single-row kernels stream faster
// (measured at 4096 and 13696 columns).
const longRow = 8192

// quadRows is the number of weight rows the quantized row path takes past
// each group of 4 tokens (see matVecBlock).
const quadRows = 8

// rowsMaxT is the most tokens for which matVecBlock takes the row-range
// kernels (rowsQ8, rowsQ4) where the set has them, and rowsStep the rows
// each call covers for more than one token (the whole range for one), so
// that the later tokens find those rows in L1/L2. Measured with
// BenchmarkDecodeVsStream (Zen 5, one thread, by CPU time, fraction of the
// read-sum probe), against the one-row and 4-row kernels before: avx2
// Q8_0 2 tokens 0.44 -> 0.58-0.63, 3 tokens 0.34 -> 0.40-0.46; Q4_0 0.33 ->
// 0.50-0.53, 0.26 -> 0.33-0.37; avx512 (VNNI) Q8_0 0.59-0.62 -> 0.67-0.70,
// 0.49-0.57 -> 0.56-0.57, Q4_0 0.49-0.57 -> 0.62-0.64, 0.38-0.44 -> 0.47.
// The step hardly matters from 4 to 64 rows.
const (
	rowsMaxT = 3
	rowsStep = 16
)

// gemmMinT returns the smallest number of token rows for which MatMul
// packs and runs the GEMM for weights in dt; below it, the weight-streaming
// row kernels are faster (they avoid widening or dequantizing the whole
// weight per call, and for Q8_0/Q4_0 use integer dot products). The
// crossovers were measured with BenchmarkMatMulPaths on the target machine
// (AMD Zen, 2 cores, AVX2). With the VNNI kernels (q8RowsOnly) the Q8_0
// row kernels beat the GEMM at every T (measured on a Zen 5 at T=512:
// 1.3x). A kernel set may give its own points for the ggml block formats
// (kernels.blockGemmMinT; the avx512 set's VNNI block dots move them up).
func gemmMinT(k *kernels, dt DType) int {
	switch dt {
	case F32:
		return 32
	case BF16, F16:
		return 96
	case Q8_0:
		if k.q8RowsOnly {
			return 1 << 30
		}
		return 256
	case Q4_0:
		return 1 << 30
	}
	if dt.IsBlock() {
		if t := k.blockGemmMinT[dt]; t > 0 {
			return t
		}
		return blockFormats[dt].gemmMinT
	}
	return 32
}

// MatMul computes out[t, r] = Σ_c x[t, c] · W[r, c] for t < T, i.e. the
// PyTorch Linear product x·Wᵀ without bias. x is [T, W.Cols] and out is
// [T, W.Rows], both row-major. W may be in any DType. For Q8_0 and Q4_0 the
// row-kernel path (always for Q4_0; for Q8_0 below 256 rows, or always
// with the VNNI kernels) and the integer GEMM (kernel sets with one, from
// their minimum T; also for GGMLQ8_0 and GGMLQ4_0) quantize x to 8 bits
// per block of 32 and use integer dot products, so their result differs
// from the f32 product of the dequantized weights by the activation
// rounding: at most Σ_blocks max|x|/254·Σ|w| per output. Float weights
// are multiplied in f32, or in bf16 where the pool's Precision asks for
// it (see PrecisionBF16). With the amx kernel set the AMX tiles (amx.go)
// take the bf16 products, and BF16, F16, Q8_0 and Q4_0 (split or ggml
// layout) weights at 32 tokens or more otherwise, with the same accuracy
// as the paths they replace.
func (p *Pool) MatMul(out, x []float32, T int, w *Matrix) {
	p.matMul(kern, out, x, T, w)
}

func (p *Pool) matMul(k *kernels, out, x []float32, T int, w *Matrix) {
	rows, cols := w.Rows, w.Cols
	if len(x) < T*cols || len(out) < T*rows {
		panic("compute: MatMul buffer too small")
	}
	if T <= 0 || rows == 0 {
		return
	}
	if cols == 0 {
		clear(out[:T*rows])
		return
	}
	// The AMX tiles first: they follow the precision as the bf16 GEMM
	// would (useBF16), f32-accurate where it would not be taken.
	if k.tileMatMul != nil && k.tileMatMul(p, out, x, T, w) {
		return
	}
	if p.useBF16(k, w.DType, T) {
		p.gemmBF16(k, out, x, T, w)
		return
	}
	if k.q8 != nil && intGEMMFormat(w.DType) && T >= k.q8.minTokens(p.Workers(), w.DType) {
		p.gemmQ(k, out, x, T, w)
		return
	}
	if T >= gemmMinT(k, w.DType) {
		p.gemm(k, out, x, T, w)
		return
	}
	if w.DType.IsBlock() {
		p.matVecBlocks(k, out, x, T, w)
		return
	}
	p.matVec(k, out, x, T, w)
}

// matVec streams the weights row by row and dots each row with the
// activation rows, taken in blocks of about 256 KiB (so they stay in L2
// while the weights stream past once per block). Quantized weights use
// 8-bit activations and integer dot products.
func (p *Pool) matVec(k *kernels, out, x []float32, T int, w *Matrix) {
	cols := w.Cols
	var xq []int8
	var xd, xs []float32
	nb := w.BlocksPerRow()
	rowBytes := cols * 4
	if w.DType == Q8_0 || w.DType == Q4_0 {
		rowBytes = nb * qBlock
		a := p.getScratch(T*nb*qBlock, T*nb)
		defer p.putScratch(a)
		xq, xd, xs = a.q, a.d, a.s
		if T < 16 {
			// Few rows: no closure to allocate, nothing to split.
			quantActs(k, w.DType, xq, xd, xs, x, cols, nb, 0, T)
		} else {
			p.For(T, 8, func(lo, hi int) { quantActs(k, w.DType, xq, xd, xs, x, cols, nb, lo, hi) })
		}
	}
	tb := max(1, (256<<10)/rowBytes)
	for t0 := 0; t0 < T; t0 += tb {
		p.matVecBlock(k, out, x, xq, xd, xs, t0, min(T, t0+tb), w)
	}
}

// quantActs quantizes the activation rows [lo, hi) of x (cols wide) into
// xq, xd, xs (nb blocks a row), in the layout the row kernels for dt take.
func quantActs(k *kernels, dt DType, xq []int8, xd, xs, x []float32, cols, nb, lo, hi int) {
	for t := lo; t < hi; t++ {
		k.quantQ8(xq[t*nb*qBlock:(t+1)*nb*qBlock], xd[t*nb:(t+1)*nb], xs[t*nb:(t+1)*nb], x[t*cols:(t+1)*cols])
		if dt == Q4_0 && k.permQ4 != nil {
			k.permQ4(xq[t*nb*qBlock : (t+1)*nb*qBlock])
		}
	}
}

// matVecBlock is matVec for the token rows [t0, t1).
func (p *Pool) matVecBlock(k *kernels, out, x []float32, xq []int8, xd, xs []float32, t0, t1 int, w *Matrix) {
	rows, cols := w.Rows, w.Cols
	nb := w.BlocksPerRow()
	p.For(rows, 64, func(lo, hi int) {
		// The 4-row kernels write into out directly; o4 and o8 (for 4
		// tokens, whose results are rows apart) are declared only where
		// needed, as they escape to the heap.
		switch w.DType {
		case F32:
			r := lo
			for ; r+4 <= hi; r += 4 {
				for t := t0; t < t1; t++ {
					k.dot4(x[t*cols:(t+1)*cols], w.F32[r*cols:(r+4)*cols], cols, (*[4]float32)(out[t*rows+r:]))
				}
			}
			for ; r < hi; r++ {
				wr := w.F32[r*cols : (r+1)*cols]
				for t := t0; t < t1; t++ {
					out[t*rows+r] = k.dot(x[t*cols:(t+1)*cols], wr)
				}
			}
		case BF16, F16:
			dot, dot4 := k.dotBF16, k.dot4BF16
			if w.DType == F16 {
				dot, dot4 = k.dotF16, k.dot4F16
			}
			r := lo
			// Four rows at a time share the loads of x; for one token
			// and short rows the single-row kernel streams faster.
			for ; r+4 <= hi && (t1-t0 > 1 || cols > longRow); r += 4 {
				for t := t0; t < t1; t++ {
					dot4(x[t*cols:(t+1)*cols], w.U16[r*cols:(r+4)*cols], cols, (*[4]float32)(out[t*rows+r:]))
				}
			}
			for ; r < hi; r++ {
				wr := w.U16[r*cols : (r+1)*cols]
				for t := t0; t < t1; t++ {
					out[t*rows+r] = dot(x[t*cols:(t+1)*cols], wr)
				}
			}
		case Q8_0, Q4_0:
			dot, bb := k.dotQ8, qBlock
			if w.DType == Q4_0 {
				dot, bb = k.dotQ4, qBlock/2
			}
			if rowsDot := k.rowsQ8; t1-t0 <= rowsMaxT && rowsDot != nil {
				// One token: the row-range kernel streams [lo, hi) in
				// one call, prefetching ahead across the rows. Two or
				// three: stepRows rows at a time, so that the later
				// tokens read them from cache.
				if w.DType == Q4_0 {
					rowsDot = k.rowsQ4
				}
				step := hi - lo
				if t1-t0 > 1 {
					step = rowsStep
				}
				for r0 := lo; r0 < hi; r0 += step {
					r1 := min(hi, r0+step)
					for t := t0; t < t1; t++ {
						rowsDot(xq[t*nb*qBlock:(t+1)*nb*qBlock], xd[t*nb:(t+1)*nb], xs[t*nb:(t+1)*nb], nb,
							w.Q[r0*nb*bb:r1*nb*bb], w.Scales[r0*nb:r1*nb], out[t*rows+r0:t*rows+r1])
					}
				}
				return
			}
			r := lo
			if t1-t0 < 4 && cols > longRow {
				// Few tokens and long rows: 4 weight rows at a time share
				// the activation loads, which no longer stay in L1 next
				// to the weight stream. (On short rows the single-row
				// kernel streams faster.)
				for ; r+4 <= hi; r += 4 {
					wq4 := w.Q[r*nb*bb : (r+4)*nb*bb]
					wd4 := w.Scales[r*nb : (r+4)*nb]
					for t := t0; t < t1; t++ {
						xqt, xdt, xst := xq[t*nb*qBlock:(t+1)*nb*qBlock], xd[t*nb:(t+1)*nb], xs[t*nb:(t+1)*nb]
						o4 := (*[4]float32)(out[t*rows+r:])
						if w.DType == Q4_0 {
							k.dotQ4r4(xqt, xdt, xst, nb, wq4, wd4, o4)
						} else {
							k.dotQ8r4(xqt, xdt, xst, nb, wq4, wd4, o4)
						}
					}
				}
			}
			// quadRows weight rows at a time go past each group of 4
			// tokens, so the tokens' activations are read from L2 once
			// per quadRows rows rather than once per row.
			var o4 *[4]float32
			var o8 *[8]float32
			if t1-t0 >= 4 {
				o4, o8 = new([4]float32), new([8]float32)
			}
			for r0 := r; r0 < hi; r0 += quadRows {
				r1 := min(hi, r0+quadRows)
				t := t0
				for ; t+4 <= t1; t += 4 {
					xq4, xd4, xs4 := xq[t*nb*qBlock:(t+4)*nb*qBlock], xd[t*nb:(t+4)*nb], xs[t*nb:(t+4)*nb]
					r := r0
					if w.DType == Q8_0 && k.dotQ8x4r2 != nil {
						// Two rows at a time share the tokens' loads.
						for ; r+2 <= r1; r += 2 {
							k.dotQ8x4r2(xq4, xd4, xs4, nb, w.Q[r*nb*bb:(r+2)*nb*bb], w.Scales[r*nb:(r+2)*nb], o8)
							for i, v := range o8 {
								out[(t+i%4)*rows+r+i/4] = v
							}
						}
					}
					for ; r < r1; r++ {
						wq, wd := w.Q[r*nb*bb:(r+1)*nb*bb], w.Scales[r*nb:(r+1)*nb]
						if w.DType == Q4_0 {
							k.dotQ4x4(xq4, xd4, xs4, nb, wq, wd, o4)
						} else {
							k.dotQ8x4(xq4, xd4, xs4, nb, wq, wd, o4)
						}
						for i, v := range o4 {
							out[(t+i)*rows+r] = v
						}
					}
				}
				for ; t < t1; t++ {
					for r := r0; r < r1; r++ {
						wq, wd := w.Q[r*nb*bb:(r+1)*nb*bb], w.Scales[r*nb:(r+1)*nb]
						out[t*rows+r] = dot(xq[t*nb*qBlock:(t+1)*nb*qBlock], xd[t*nb:(t+1)*nb], xs[t*nb:(t+1)*nb], wq, wd)
					}
				}
			}
		default:
			panic("compute: MatMul: unknown dtype " + w.DType.String())
		}
	})
}

// gemm is the packed, cache-blocked product for many token rows. Weights in
// any format are widened to f32 while packing, one kc×nr panel at a time.
func (p *Pool) gemm(k *kernels, out, x []float32, T int, w *Matrix) {
	N, K := w.Rows, w.Cols
	mp := (T + mr - 1) / mr // token panels
	np := (N + nr - 1) / nr // weight panels

	// Packed x: for each kc block starting at k0, mp panels of kcl×mr
	// values; the block starts at k0·mp·mr.
	ap := make([]float32, mp*mr*K)
	p.For(mp, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			for k0 := 0; k0 < K; k0 += kcBlock {
				kcl := min(kcBlock, K-k0)
				dst := ap[k0*mp*mr+i*mr*kcl:][:kcl*mr]
				for r := range mr {
					t := i*mr + r
					if t >= T {
						for kk := range kcl {
							dst[kk*mr+r] = 0
						}
						continue
					}
					src := x[t*K+k0:][:kcl]
					for kk, v := range src {
						dst[kk*mr+r] = v
					}
				}
			}
		}
	})

	const ncp, mcp = ncBlock / nr, mcBlock / mr
	p.For(np, 1, func(lo, hi int) {
		bp := make([]float32, ncBlock*kcBlock)
		tmp := make([]float32, kcBlock+qBlock)
		var ctmp [mr * nr]float32
		for jc := lo; jc < hi; jc += ncp {
			jce := min(hi, jc+ncp)
			for t := range T {
				clear(out[t*N+jc*nr : t*N+min(jce*nr, N)])
			}
			for k0 := 0; k0 < K; k0 += kcBlock {
				kcl := min(kcBlock, K-k0)
				for jr := jc; jr < jce; jr++ {
					packB(k, w, bp[(jr-jc)*kcl*nr:][:kcl*nr], tmp, jr*nr, k0, kcl)
				}
				apk := ap[k0*mp*mr:]
				for ic := 0; ic < mp; ic += mcp {
					ice := min(mp, ic+mcp)
					for jr := jc; jr < jce; jr++ {
						bpan := bp[(jr-jc)*kcl*nr:][:kcl*nr]
						n0 := jr * nr
						for ir := ic; ir < ice; ir++ {
							apan := apk[ir*mr*kcl:][:kcl*mr]
							m0 := ir * mr
							if m0+mr <= T && n0+nr <= N {
								k.gemm6x16(kcl, apan, bpan, out[m0*N+n0:], N)
								continue
							}
							clear(ctmp[:])
							k.gemm6x16(kcl, apan, bpan, ctmp[:], nr)
							for i := range min(mr, T-m0) {
								orow := out[(m0+i)*N+n0 : (m0+i)*N+min(n0+nr, N)]
								for j := range orow {
									orow[j] += ctmp[i*nr+j]
								}
							}
						}
					}
				}
			}
		}
	})
}

// packB writes the kcl×nr panel of Wᵀ for weight rows [n0, n0+nr) and
// columns [k0, k0+kcl) into dst, k-major, widening the weights to f32
// (through tmp, len >= kcl). Rows past the end of W are zero.
func packB(k *kernels, w *Matrix, dst, tmp []float32, n0, k0, kcl int) {
	K := w.Cols
	nb := w.BlocksPerRow()
	for j := range nr {
		n := n0 + j
		if n >= w.Rows {
			for kk := range kcl {
				dst[kk*nr+j] = 0
			}
			continue
		}
		var seg []float32
		switch w.DType {
		case F32:
			seg = w.F32[n*K+k0:][:kcl]
		case BF16:
			seg = tmp[:kcl]
			k.widenBF16(seg, w.U16[n*K+k0:][:kcl])
		case F16:
			seg = tmp[:kcl]
			k.widenF16(seg, w.U16[n*K+k0:][:kcl])
		case Q8_0, Q4_0:
			// k0 is a multiple of qBlock: whole blocks, the last one
			// possibly running past Cols into the zero padding.
			nbk := (kcl + qBlock - 1) / qBlock
			b0 := n*nb + k0/qBlock
			full := tmp[:nbk*qBlock]
			if w.DType == Q8_0 {
				k.dequantQ8(full, w.Q[b0*qBlock:(b0+nbk)*qBlock], w.Scales[b0:b0+nbk])
			} else {
				k.dequantQ4(full, w.Q[b0*qBlock/2:(b0+nbk)*qBlock/2], w.Scales[b0:b0+nbk])
			}
			seg = full[:kcl]
		default:
			if !w.DType.IsBlock() {
				panic("compute: MatMul: unknown dtype " + w.DType.String())
			}
			// k0 and kcl are whole blocks (kcBlock is a multiple of 256
			// and Cols of the block size).
			f := &blockFormats[w.DType]
			rb := K / f.bs * f.ts
			b0 := n*rb + k0/f.bs*f.ts
			seg = tmp[:kcl]
			k.dequantBlk[w.DType](seg, w.Q[b0:b0+kcl/f.bs*f.ts])
		}
		if seg != nil {
			d := dst[j:]
			for kk, v := range seg {
				d[kk*nr] = v
			}
		}
	}
}

// Dot returns Σ a[i]·b[i] over len(a) elements; b must be at least as long.
func Dot(a, b []float32) float32 {
	return kern.dot(a, b)
}

// AddBias adds bias (len n) to each of the T rows of x ([T, n]).
func AddBias(x []float32, T int, bias []float32) {
	n := len(bias)
	for t := 0; t < T; t++ {
		kern.add(x[t*n:(t+1)*n], bias)
	}
}
