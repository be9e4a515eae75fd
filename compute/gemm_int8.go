package compute

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// The integer GEMM for Q8_0 and Q4_0 weights (kernels.q8; split or ggml
// layout): activations quantized to 8 bits per 32-column block as on the
// row path, weights unpacked to signed int8, and a register-tiled
// micro-kernel that multiplies a tile of qtRows weight rows by qtTokens
// tokens with 4-byte integer dot products (VPDPBUSD) instead of dot
// products with horizontal sums.
//
// Packed weights (packQPanel): a panel is qtRows consecutive weight rows
// over a range of blocks. Per block, 8 groups of 4 columns; per group the 4
// int8 values of each of 16 rows side by side make one 64-byte line, and a
// group holds qtRows/16 such lines (rows 0-15, then 16-31):
//
//	line(b, g, h) = panel[b*qtRows*qBlock + g*qtRows*4 + h*64 :][:64]
//	line[4*l+e]   = W[row 16h+l, column 32b+4g+e]
//
// One line is also a row of an AMX B tile (16 columns × 4 bytes), so the
// 16 lines of rows 16h..16h+15 of one block form a 16×64-byte B tile read
// with a stride of qtRows*4 bytes. Per (block, row) the panel keeps the
// weight scale (f32) and -128·Σw over the block's 32 values: the
// activations are stored unsigned (x+128) because VPDPBUSD multiplies
// unsigned by signed bytes, and starting each block's int32 sum at
// -128·Σw removes the offset exactly.
//
// Packed activations (packActPanel): a panel is qtTokens tokens over all
// blocks; per block and group of 4 columns, the 4 bytes x+128 of each token
// side by side (qtTokens*4 bytes), and per block the tokens' scales.
//
// Both integer sums of a block are exact, so the result equals the row
// path's (dotQ8x4, dotQ4x4) up to the order of the float additions.
const (
	qtRows   = 32 // weight rows per tile and panel
	qtTokens = 6  // tokens per tile and activation panel
	qtGroups = qBlock / 4

	qtKcBlocks = 16 // blocks of 32 columns per packed weight chunk
	qtNcPanels = 8  // weight panels packed together per worker
	qtMcPanels = 16 // token panels run against a packed chunk at a time
)

// intGEMM is a kernel set's integer GEMM: its micro-kernel, the number of
// tokens from which MatMul uses it, and optional fast packing routines.
type intGEMM struct {
	// tile adds to the qtTokens × qtRows tile c (row stride ldc) the
	// product over nb blocks of an activation panel (a, ad; packActPanel)
	// and a weight panel (w, off, ws; packQPanel). q8TileGeneric is the
	// reference.
	tile func(nb int, a []byte, ad []float32, w []byte, off []int32, ws []float32, c []float32, ldc int)
	// minT is the smallest number of tokens for which MatMul takes the
	// integer GEMM rather than the row kernels; minT1Q8 and minT1Q4, when
	// set, replace it for split Q8_0 and Q4_0 weights (whose panels pack
	// fastest) on a pool of one worker, as the MoE block runs most
	// experts, where the GEMM was measured to win from fewer tokens.
	minT, minT1Q8, minT1Q4 int
	// packLines, when set, packs the lines and offsets of a whole panel as
	// packQPanel does, from qtRows rows stride bytes apart of nbk blocks
	// step bytes apart, each 32 int8 values or (q4) 16 bytes of Q4_0
	// nibbles, into dst and off.
	packLines func(q4 bool, src []byte, stride, step, nbk int, dst []byte, off []int32)
	// packAct, when set, packs the bytes of a whole activation panel as
	// packActPanel does: qtTokens rows stride bytes apart of nb blocks.
	packAct func(xq []int8, stride, nb int, dst []byte)
}

// minTokens is the smallest number of tokens for which MatMul takes the
// integer GEMM for weights in dt on a pool of the given number of workers.
func (g *intGEMM) minTokens(workers int, dt DType) int {
	if workers == 1 {
		switch {
		case dt == Q8_0 && g.minT1Q8 > 0:
			return g.minT1Q8
		case dt == Q4_0 && g.minT1Q4 > 0:
			return g.minT1Q4
		}
	}
	return g.minT
}

// The tile 32 rows × 6 tokens fills the register file: 12 f32 and 12 int32
// accumulators (zmm), 2 weight lines, 2 broadcast activations, 2 weight
// scale vectors and a temporary; per group of 4 columns it does 12
// VPDPBUSD for 2 line loads and 6 broadcast loads. A packed weight chunk of
// one panel (32 rows × 16 blocks = 16 KiB) stays in L1 while the token
// panels of a 96-token block (48 KiB) stream from L2.
//
// Measured on a Zen 5 (BenchmarkQ8TileMicroKernel, CPU time, panels in
// L1): 32×6 runs at ~400 GMAC/s per core, a 16×12 tile (1 line load and
// 12 broadcasts per 12 VPDPBUSD) at ~387; the same loop without the
// per-block scale step (convert, scale product, FMA) reaches ~500, so that
// step, 24 FMA-pipe operations per 96 VPDPBUSD whatever the tile shape,
// costs the remaining 20%. Chunks of 8 or 32 blocks instead of 16 were
// 5-15% slower in the whole GEMM; the panel counts per chunk (4-8 weight,
// 8-48 token) made no difference above the noise. Packing a worker's
// panels over all columns at once, each weight row copied in one run,
// made the GEMM at 64 tokens 25% cheaper on one thread than packing them
// chunk by chunk (32 short runs per panel, which the prefetchers do not
// follow).

// intGEMMFormat reports whether the integer GEMM takes weights in dt:
// the split Q8_0 and Q4_0 layouts and ggml's interleaved ones (GGMLQ8_0,
// GGMLQ4_0), whose values and scales are the same.
func intGEMMFormat(dt DType) bool {
	return dt == Q8_0 || dt == Q4_0 || dt == GGMLQ8_0 || dt == GGMLQ4_0
}

// qBlockAt returns the quantized bytes (32 for Q8_0, 16 nibble pairs for
// Q4_0) and the f16 scale of block bi (counting row by row) of w, in any
// intGEMMFormat, and whether they are 4-bit.
func qBlockAt(w *Matrix, bi int) (q []byte, d uint16, q4 bool) {
	switch w.DType {
	case Q8_0:
		return w.Q[bi*qBlock : (bi+1)*qBlock], w.Scales[bi], false
	case Q4_0:
		return w.Q[bi*qBlock/2 : (bi+1)*qBlock/2], w.Scales[bi], true
	case GGMLQ8_0:
		b := w.Q[bi*(2+qBlock) : (bi+1)*(2+qBlock)]
		return b[2:], binary.LittleEndian.Uint16(b), false
	case GGMLQ4_0:
		b := w.Q[bi*(2+qBlock/2) : (bi+1)*(2+qBlock/2)]
		return b[2:], binary.LittleEndian.Uint16(b), true
	}
	panic("compute: integer GEMM: unsupported dtype " + w.DType.String())
}

// qBlockBytes returns the bytes per block of w (an intGEMMFormat) and how
// many of them precede the quantized values (the ggml layouts' scale).
func qBlockBytes(dt DType) (ts, hdr int) {
	switch dt {
	case Q4_0:
		return qBlock / 2, 0
	case GGMLQ8_0:
		return 2 + qBlock, 2
	case GGMLQ4_0:
		return 2 + qBlock/2, 2
	}
	return qBlock, 0
}

// packStageLen is the length of the stage packQPanel needs for nbk blocks
// of w.
func packStageLen(w *Matrix, nbk int) int {
	ts, _ := qBlockBytes(w.DType)
	return qtRows * (nbk*(ts+2) + stagePad) // the rows, then the scales
}

// stagePad is added to the stride of staged rows so that rows whose length
// is a multiple of 4 KiB do not all fall into the same L1 set.
const stagePad = 64

// packQPanel packs weight rows [n0, n0+qtRows) and blocks [b0, b0+nbk) of
// w (an intGEMMFormat; with k.q8.packLines where set and the panel is
// whole, staging the rows in stage, len >= packStageLen(w, nbk)): dst gets
// nbk*qtRows*qBlock bytes of lines, off and ws nbk*qtRows values (index
// b*qtRows+j). Rows past w.Rows are zero.
func packQPanel(k *kernels, w *Matrix, n0, b0, nbk int, dst []byte, off []int32, ws []float32, stage []byte) {
	nb := w.BlocksPerRow()
	dst = dst[:nbk*qtRows*qBlock]
	off, ws = off[:nbk*qtRows], ws[:nbk*qtRows]
	ts, hdr := qBlockBytes(w.DType)
	stride := nbk*ts + stagePad
	if k.q8 != nil && k.q8.packLines != nil && n0+qtRows <= w.Rows && (qtRows-1)*stride < 1<<31 {
		// The rows are first copied, each in one run (which the hardware
		// prefetchers follow), next to each other; the lines are then
		// gathered from there (from the weights in place, rows whose
		// length is a multiple of 4 KiB would fall into one L1 set).
		_, _, q4 := qBlockAt(w, 0)
		stage = stage[:qtRows*(stride+2*nbk)]
		for j := range qtRows {
			bi := (n0+j)*nb + b0
			copy(stage[j*stride:j*stride+nbk*ts], w.Q[bi*ts:])
		}
		// The f16 scales, transposed to ws's order behind the staged
		// rows, then widened in one call.
		d := unsafe.Slice((*uint16)(unsafe.Pointer(&stage[qtRows*stride])), nbk*qtRows)
		for j := range qtRows {
			if hdr == 0 {
				bi := (n0+j)*nb + b0
				for b, v := range w.Scales[bi : bi+nbk] {
					d[b*qtRows+j] = v
				}
				continue
			}
			row := stage[j*stride : j*stride+nbk*ts]
			for b := range nbk {
				d[b*qtRows+j] = binary.LittleEndian.Uint16(row[b*ts:])
			}
		}
		k.widenF16(ws, d)
		k.q8.packLines(q4, stage[hdr:], stride, ts, nbk, dst, off)
		return
	}
	var blk [qBlock]byte
	for j := range qtRows {
		n := n0 + j
		base := (j/16)*64 + (j%16)*4
		for b := range nbk {
			line := dst[b*qtRows*qBlock+base:]
			if n >= w.Rows {
				for g := range qtGroups {
					binary.LittleEndian.PutUint32(line[g*qtRows*4:], 0)
				}
				off[b*qtRows+j], ws[b*qtRows+j] = 0, 0
				continue
			}
			src, d, q4 := qBlockAt(w, n*nb+b0+b)
			if q4 {
				unpackQ4(&blk, src)
				src = blk[:]
			}
			for g := range qtGroups {
				v := binary.LittleEndian.Uint32(src[4*g:])
				binary.LittleEndian.PutUint32(line[g*qtRows*4:], v)
			}
			off[b*qtRows+j] = -128 * sumInt8(src)
			ws[b*qtRows+j] = F16ToF32(d)
		}
	}
}

// unpackQ4 writes the 32 signed values (nibble - 8) of the Q4_0 block q
// (byte i: value i in the low nibble, value i+16 in the high one) into dst.
func unpackQ4(dst *[qBlock]byte, q []byte) {
	for i := 0; i < qBlock/2; i += 4 {
		u := binary.LittleEndian.Uint32(q[i:])
		binary.LittleEndian.PutUint32(dst[i:], nibblesToInt8(u&0x0f0f0f0f))
		binary.LittleEndian.PutUint32(dst[i+qBlock/2:], nibblesToInt8(u>>4&0x0f0f0f0f))
	}
}

// nibblesToInt8 maps four bytes v (each 0..15) to the int8 bytes v-8:
// v^8 is v-8 as a 4-bit two's complement number, widened by setting the
// top bits where its sign bit (8) is set.
func nibblesToInt8(v uint32) uint32 {
	t := v ^ 0x08080808
	return t | (t&0x08080808)*0x1e
}

// sumInt8 returns the sum of the 32 bytes of b as int8 values: the
// unsigned sum of b XOR 0x80 (8 bytes at a time, in 16-bit lanes) minus
// 128 per byte.
func sumInt8(b []byte) int32 {
	const lo = 0x00ff00ff00ff00ff
	var s uint64
	for i := 0; i < qBlock; i += 8 {
		u := binary.LittleEndian.Uint64(b[i:]) ^ 0x8080808080808080
		s += u&lo + u>>8&lo
	}
	return int32(s*0x0001000100010001>>48) - 128*qBlock
}

// packActPanel packs the quantized activations of qtTokens tokens (xq:
// token i's nb blocks at xq[i*nb*qBlock:], scales xd[i*nb:]) into dst
// (nb*qtTokens*qBlock bytes) and dd (nb*qtTokens scales) in the layout of
// intGEMM.tile. Tokens i >= n are padding: zero activations with scale 0.
func packActPanel(dst []byte, dd []float32, xq []int8, xd []float32, nb, n int) {
	dst, dd = dst[:nb*qtTokens*qBlock], dd[:nb*qtTokens]
	for i := range qtTokens {
		if i >= n {
			for b := range nb {
				for g := range qtGroups {
					binary.LittleEndian.PutUint32(dst[(b*qtGroups+g)*qtTokens*4+4*i:], 0x80808080)
				}
				dd[b*qtTokens+i] = 0
			}
			continue
		}
		src := bytesOf(xq[i*nb*qBlock : (i+1)*nb*qBlock])
		for b := range nb {
			for g := range qtGroups {
				v := binary.LittleEndian.Uint32(src[b*qBlock+4*g:]) ^ 0x80808080
				binary.LittleEndian.PutUint32(dst[(b*qtGroups+g)*qtTokens*4+4*i:], v)
			}
			dd[b*qtTokens+i] = xd[i*nb+b]
		}
	}
}

// q8TileGeneric is the portable intGEMM.tile: c[i*ldc+j] += Σ_b f32(isum)·(ws·ad)
// with isum = off + Σ_k a·w over block b, the f32 accumulation fused as in
// the assembly (so the two agree exactly).
func q8TileGeneric(nb int, a []byte, ad []float32, w []byte, off []int32, ws []float32, c []float32, ldc int) {
	var acc [qtTokens][qtRows]float32
	for b := range nb {
		ab := a[b*qtTokens*qBlock : (b+1)*qtTokens*qBlock]
		wb := w[b*qtRows*qBlock : (b+1)*qtRows*qBlock]
		for i := range qtTokens {
			s := ad[b*qtTokens+i]
			for j := range qtRows {
				isum := off[b*qtRows+j]
				wl := wb[(j/16)*64+(j%16)*4:]
				for g := range qtGroups {
					x := ab[g*qtTokens*4+4*i:][:4]
					wg := wl[g*qtRows*4:][:4]
					for e := range 4 {
						isum += int32(x[e]) * int32(int8(wg[e]))
					}
				}
				acc[i][j] = float32(math.FMA(float64(float32(isum)), float64(ws[b*qtRows+j]*s), float64(acc[i][j])))
			}
		}
	}
	for i := range qtTokens {
		cr := c[i*ldc : i*ldc+qtRows]
		for j := range cr {
			cr[j] += acc[i][j]
		}
	}
}

// gemmQ is MatMul for weights in an intGEMMFormat through k.q8.tile: quantize
// and pack the activations once, then each worker packs chunks of its
// weight panels (qtNcPanels panels × qtKcBlocks blocks) and runs every
// token panel against them.
func (p *Pool) gemmQ(k *kernels, out, x []float32, T int, w *Matrix) {
	N, K := w.Rows, w.Cols
	nb := w.BlocksPerRow()
	mp := (T + qtTokens - 1) / qtTokens
	np := (N + qtRows - 1) / qtRows
	const apb = qtTokens * qBlock // packed activation bytes per block
	ap := make([]byte, mp*nb*apb)
	ad := make([]float32, mp*nb*qtTokens)
	p.For(mp, 1, func(lo, hi int) {
		xq := make([]int8, qtTokens*nb*qBlock)
		xd, xs := make([]float32, qtTokens*nb), make([]float32, qtTokens*nb)
		for i := lo; i < hi; i++ {
			n := min(qtTokens, T-i*qtTokens)
			for t := range n {
				tt := i*qtTokens + t
				k.quantQ8(xq[t*nb*qBlock:(t+1)*nb*qBlock], xd[t*nb:(t+1)*nb], xs[t*nb:(t+1)*nb], x[tt*K:(tt+1)*K])
			}
			dst, dd := ap[i*nb*apb:(i+1)*nb*apb], ad[i*nb*qtTokens:(i+1)*nb*qtTokens]
			if n < qtTokens || k.q8.packAct == nil {
				packActPanel(dst, dd, xq, xd, nb, n)
				continue
			}
			k.q8.packAct(xq, nb*qBlock, nb, dst)
			for t := range qtTokens {
				for b, v := range xd[t*nb : (t+1)*nb] {
					dd[b*qtTokens+t] = v
				}
			}
		}
	})

	const wpb = qtRows * qBlock // packed weight bytes per block
	p.For(np, 1, func(lo, hi int) {
		// A worker packs qtNcPanels weight panels over all columns at once
		// (each row read in one run), then runs them chunk by chunk.
		bw := make([]byte, qtNcPanels*nb*wpb)
		bo := make([]int32, qtNcPanels*nb*qtRows)
		bs := make([]float32, qtNcPanels*nb*qtRows)
		stage := make([]byte, packStageLen(w, nb))
		var ctmp [qtTokens * qtRows]float32
		for jc := lo; jc < hi; jc += qtNcPanels {
			jce := min(hi, jc+qtNcPanels)
			for t := range T {
				clear(out[t*N+jc*qtRows : t*N+min(jce*qtRows, N)])
			}
			for jr := jc; jr < jce; jr++ {
				o := (jr - jc) * nb
				packQPanel(k, w, jr*qtRows, 0, nb, bw[o*wpb:], bo[o*qtRows:], bs[o*qtRows:], stage)
			}
			for b0 := 0; b0 < nb; b0 += qtKcBlocks {
				nbk := min(qtKcBlocks, nb-b0)
				for ic := 0; ic < mp; ic += qtMcPanels {
					ice := min(mp, ic+qtMcPanels)
					for jr := jc; jr < jce; jr++ {
						o := (jr-jc)*nb + b0
						pw, po, ps := bw[o*wpb:(o+nbk)*wpb], bo[o*qtRows:(o+nbk)*qtRows], bs[o*qtRows:(o+nbk)*qtRows]
						n0 := jr * qtRows
						for ir := ic; ir < ice; ir++ {
							a := ap[(ir*nb+b0)*apb : (ir*nb+b0+nbk)*apb]
							as := ad[(ir*nb+b0)*qtTokens : (ir*nb+b0+nbk)*qtTokens]
							m0 := ir * qtTokens
							if m0+qtTokens <= T && n0+qtRows <= N {
								k.q8.tile(nbk, a, as, pw, po, ps, out[m0*N+n0:], N)
								continue
							}
							clear(ctmp[:])
							k.q8.tile(nbk, a, as, pw, po, ps, ctmp[:], qtRows)
							for i := range min(qtTokens, T-m0) {
								orow := out[(m0+i)*N+n0 : (m0+i)*N+min(n0+qtRows, N)]
								for j := range orow {
									orow[j] += ctmp[i*qtRows+j]
								}
							}
						}
					}
				}
			}
		}
	})
}
