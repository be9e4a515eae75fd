package compute

import (
	"fmt"
	"strings"

	"github.com/glmv/glmv/internal/half"
)

// Precision chooses the arithmetic of MatMul's many-token products (the
// GEMM of prefill and of the vision tower). The zero value is
// PrecisionAuto. The amx set follows it alike: where the bf16 GEMM would
// be taken it runs the same bf16 arithmetic on the AMX tiles (one bf16
// part per value, rounded as here); elsewhere its tiles keep f32 accuracy
// for the formats they handle (bf16, f16, Q8_0, Q4_0 at 32+ tokens).
type Precision uint8

const (
	// PrecisionAuto runs bf16 and f16 weights through the bf16 GEMM (see
	// PrecisionBF16) when the kernel set has bf16 dot products and the
	// product has at least bf16MinT token rows, and everything else in
	// f32. f32 weights are always multiplied in f32.
	PrecisionAuto Precision = iota
	// PrecisionF32 multiplies in f32 everywhere: bf16 and f16 weights are
	// widened exactly, activations are not rounded.
	PrecisionF32
	// PrecisionBF16 is PrecisionAuto for f32 weights too: the activations
	// and the weights are rounded to bfloat16 (nearest even) and their
	// products summed in f32, as PyTorch's bf16 matmul and llama.cpp's
	// BF16 path do. The result differs from the f32 product by the
	// rounding of both operands: about 2⁻⁸·Σ|x·w| per output at most.
	PrecisionBF16
)

// String returns the name ParsePrecision accepts.
func (p Precision) String() string {
	switch p {
	case PrecisionAuto:
		return "auto"
	case PrecisionF32:
		return "f32"
	case PrecisionBF16:
		return "bf16"
	}
	return fmt.Sprintf("Precision(%d)", uint8(p))
}

// ParsePrecision parses "auto" (or ""), "f32" or "bf16".
func ParsePrecision(s string) (Precision, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return PrecisionAuto, nil
	case "f32":
		return PrecisionF32, nil
	case "bf16":
		return PrecisionBF16, nil
	}
	return 0, fmt.Errorf("precision %q: want auto, f32 or bf16", s)
}

// HasBF16Dot reports whether the kernel set in use has the bf16 GEMM, so
// that PrecisionAuto and PrecisionBF16 can take it; without it every
// precision computes in f32.
func HasBF16Dot() bool { return kern.gemmBF16 != nil }

// PrecisionNote describes the arithmetic MatMul uses under pr with the
// kernel set in use, for bench and inspect.
func PrecisionNote(pr Precision) string { return precisionNote(kern, pr) }

// precisionNote is PrecisionNote for the kernel set k.
func precisionNote(k *kernels, pr Precision) string {
	gemm := "bf16 GEMM"
	if k.tileMatMul != nil {
		gemm = "bf16 GEMM on the AMX tiles (one bf16 part)"
	}
	// The formats the f32-accurate AMX tiles take outside the bf16 GEMM.
	rest := fmt.Sprintf("bf16 and f16 below %d tokens, Q8_0 and Q4_0", bf16MinT)
	switch {
	case pr == PrecisionF32:
		return "f32" + amxF32Note(k, "bf16, f16, Q8_0 and Q4_0")
	case k.gemmBF16 == nil:
		return fmt.Sprintf("f32 (%s asked; the %s kernels have no bf16 dot products)", pr, k.name) +
			amxF32Note(k, "bf16, f16, Q8_0 and Q4_0")
	case pr == PrecisionBF16:
		return fmt.Sprintf("%s (and attention) for f32/bf16/f16 weights at ≥ %d tokens, f32 otherwise", gemm, bf16MinT) +
			amxF32Note(k, rest)
	}
	return fmt.Sprintf("%s (and attention) for bf16/f16 weights at ≥ %d tokens, f32 otherwise", gemm, bf16MinT) +
		amxF32Note(k, rest)
}

// amxF32Note notes, for precisionNote, the weight formats the amx set's
// f32-accurate tiles take.
func amxF32Note(k *kernels, formats string) string {
	if k.tileMatMul == nil {
		return ""
	}
	return fmt.Sprintf("; the AMX tiles (f32-accurate) take %s weights from %d tokens", formats, amxMinT)
}

// Register and cache blocking of the bf16 GEMM. The micro-kernel sets or
// adds to a bfTokens×bfRows tile of out (bfTokens token rows, bfRows
// weight rows) the products of bfTokens activation rows (rounded to bf16
// pairs, read in place) and a packed weight panel (PackPanelBF16), bfKC
// columns deep.
//
// The tile is 14 tokens × 32 weight rows: 28 zmm accumulators (two per
// token), two zmm of weights and two for the broadcast token pairs use all
// 32 registers. Each column pair then costs 2 weight loads and 14
// broadcast loads for 28 VDPBF16PS, about one load per two dot products;
// a 16-row tile (one weight register) would need a broadcast per dot
// product. Measured (BenchmarkGEMMBF16Micro, one Zen 5 core, from L1):
// 494–520 GFLOP/s, 2.8× the f32 6×16 kernel. A 12-token × 32-row tile
// measured the same from L1 (485–496) and within the noise of this shared
// machine in the GEMM (cpu-GFLOP/s, one thread, vision QKV shape: 391–419
// against 348–396; down shape: 348–405 against 366–379), so the larger
// tile stays. bfKC 512 measured the same as 256 at the vision shapes.
const (
	bfRows   = 32  // weight rows per micro-tile (two zmm)
	bfTokens = 14  // token rows per micro-tile
	bfKC     = 256 // k depth of packed panels (even)
	bfMC     = 224 // token rows per L2 block; a multiple of bfTokens
	bfNC     = 256 // weight rows per packed block; a multiple of bfRows
)

// bf16MinT is the smallest number of token rows for which MatMul takes
// the bf16 GEMM (when the precision asks for it); below it the
// weight-streaming row kernels (f32 math) are as fast. Measured with
// BenchmarkGEMMBF16 by CPU time on a Zen 5 (bf16 weights, 4096×4096, one
// thread): at 16 rows the row kernels took 8 ms and the bf16 GEMM 11, at
// 32 rows 11–12 ms and 8–12 (a tie within the noise of a shared machine),
// at 64 rows 19 and 15; so the bf16 GEMM starts where it clearly wins.
const bf16MinT = 64

// useBF16 reports whether MatMul of T token rows with weights of type dt
// takes the bf16 GEMM under the pool's precision and kernel set k.
func (p *Pool) useBF16(k *kernels, dt DType, T int) bool {
	if k.gemmBF16 == nil || T < bf16MinT {
		return false
	}
	switch p.Precision() {
	case PrecisionAuto:
		return dt == BF16 || dt == F16
	case PrecisionBF16:
		return dt == BF16 || dt == F16 || dt == F32
	}
	return false
}

// bf16Pair packs two values, each rounded to bfloat16 as half.F32ToBF16
// does (nearest even, NaN kept), into the 32 bits VDPBF16PS takes: lo in
// the low half.
func bf16Pair(lo, hi float32) uint32 {
	return uint32(half.F32ToBF16(lo)) | uint32(half.F32ToBF16(hi))<<16
}

// PackPanelBF16 writes the weight panel for rows [n0, n0+width) and
// columns [k0, k0+kc) of w into dst in the pairwise (VNNI) layout of
// VDPBF16PS and of AMX's TDPBF16PS B tiles: for each pair of columns
// k0+2p, k0+2p+1 (p < (kc+1)/2) one line of width 32-bit words, word j
// holding row n0+j's two values (the first in the low half). With width
// 16 a line is one 64-byte zmm register or AMX tile row; with width 32 it
// is two, and an AMX B tile loads every other half-line with a 128-byte
// stride. Values are rounded to bfloat16 (nearest even): bf16 weights
// are copied, f16 and f32 ones rounded. Rows past w.Rows and the column
// past an odd end are zero. w must be F32, BF16 or F16; dst needs
// (kc+1)/2·width words.
func PackPanelBF16(dst []uint32, w *Matrix, n0, k0, kc, width int) {
	packPanelBF16(kern, dst, make([]float32, kc), make([]uint32, (kc+1)/2), w, n0, k0, kc, width)
}

func packPanelBF16(k *kernels, dst []uint32, tmp []float32, tmpw []uint32, w *Matrix, n0, k0, kc, width int) {
	K := w.Cols
	round := k.roundBF16
	if round == nil {
		round = roundBF16Generic
	}

	kp := (kc + 1) / 2
	dst = dst[:kp*width]
	j0 := 0
	if k.packPairs16 != nil && (w.DType == BF16 || w.DType == F16) {
		// Whole groups of 16 rows in SIMD, the column past an odd end in
		// Go.
		for ; j0+16 <= width && n0+j0+16 <= w.Rows; j0 += 16 {
			k.packPairs16(dst[j0:], w.U16[(n0+j0)*K+k0:], K, kc/2, width, w.DType == F16)
			if kc%2 == 1 {
				for j := j0; j < j0+16; j++ {
					v := w.U16[(n0+j)*K+k0+kc-1]
					if w.DType == F16 {
						v = half.F32ToBF16(F16ToF32(v))
					}
					dst[(kp-1)*width+j] = uint32(v)
				}
			}
		}
	}
	for j := j0; j < width; j++ {
		n := n0 + j
		if n >= w.Rows {
			for p := range kp {
				dst[p*width+j] = 0
			}
			continue
		}
		switch w.DType {
		case BF16:
			src := w.U16[n*K+k0:][:kc]
			p := 0
			for ; 2*p+1 < kc; p++ {
				dst[p*width+j] = uint32(src[2*p]) | uint32(src[2*p+1])<<16
			}
			if 2*p < kc {
				dst[p*width+j] = uint32(src[2*p])
			}
		case F16, F32:
			seg := tmp[:kc]
			if w.DType == F16 {
				k.widenF16(seg, w.U16[n*K+k0:][:kc])
			} else {
				seg = w.F32[n*K+k0:][:kc]
			}
			pairs := tmpw[:kp]
			round(pairs, seg)
			for p, v := range pairs {
				dst[p*width+j] = v
			}
		default:
			panic("compute: PackPanelBF16: weights are " + w.DType.String() + ", want f32, bf16 or f16")
		}
	}
}

// roundBF16Generic sets dst[p] to the pair src[2p], src[2p+1], each
// rounded to bfloat16 as bf16Pair does, for 2p < len(src); after an odd
// length the last word's high half is zero.
func roundBF16Generic(dst []uint32, src []float32) {
	n := len(src)
	dst = dst[:(n+1)/2]
	p := 0
	for ; 2*p+1 < n; p++ {
		dst[p] = bf16Pair(src[2*p], src[2*p+1])
	}
	if 2*p < n {
		dst[p] = bf16Pair(src[2*p], 0)
	}
}

// gemmBF16Generic is the micro-kernel in Go, the reference of the assembly
// ones: c[i*ldc+j] += Σ_p a[i*rs+p*ps] · b[p*bfRows+j] for i < bfTokens
// token rows, j < bfRows weight rows and p < kp column pairs, where each
// word holds two bfloat16 (the first column in the low half) and the
// product of two words is hi·hi then lo·lo added to an f32 accumulator that
// starts at zero (the products of two bfloat16 are exact in f32), as
// VDPBF16PS does. b is a weight panel of PackPanelBF16 (width bfRows); a
// is rows of pairs (ps = 1, rs the row stride) or a packed panel (rs = 1,
// ps = bfTokens), both in words. Without add the sums replace the tile.
func gemmBF16Generic(kp int, a []uint32, rs, ps int, b []uint32, c []float32, ldc int, add bool) {
	var acc [bfTokens][bfRows]float32
	if kp <= 0 {
		kp = 0
	} else {
		a, b = a[:(bfTokens-1)*rs+(kp-1)*ps+1], b[:kp*bfRows]
	}
	for p := range kp {
		bp := (*[bfRows]uint32)(b[p*bfRows:])
		for i := range bfTokens {
			av := a[i*rs+p*ps]
			alo, ahi := half.BF16ToF32(uint16(av)), half.BF16ToF32(uint16(av>>16))
			row := &acc[i]
			for j, bv := range bp {
				s := row[j] + ahi*half.BF16ToF32(uint16(bv>>16))
				row[j] = s + alo*half.BF16ToF32(uint16(bv))
			}
		}
	}
	for i := range bfTokens {
		cr := c[i*ldc : i*ldc+bfRows]
		if !add {
			copy(cr, acc[i][:])
			continue
		}
		for j := range cr {
			cr[j] += acc[i][j]
		}
	}
}

// roundRowsBF16 returns the T rows of x (K columns each) rounded to
// bfloat16 pairs as bf16Pair does (k's SIMD rounding where it has one),
// as rows xs words apart: at least minWords words (zero past (K+1)/2) and
// padded so that the rows a kernel reads together do not share L1 sets,
// with zero rows up to rows. The bf16 GEMM and the AMX one-part kernel
// (which loads its A tiles from these rows) share it, so they round alike.
func (p *Pool) roundRowsBF16(k *kernels, x []float32, T, K, rows, minWords int) (xb []uint32, xs int) {
	round := k.roundBF16
	if round == nil {
		round = roundBF16Generic
	}
	xs = max(minWords, (K+1)/2)
	if xs >= 256 {
		xs += 16
	}
	xb = make([]uint32, rows*xs)
	p.For(T, 16, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			round(xb[t*xs:], x[t*K:(t+1)*K])
		}
	})
	return xb, xs
}

// gemmBF16 is the cache-blocked product of MatMul in bf16 (see
// PrecisionBF16): the activations are rounded once, the weights packed one
// panel at a time by the worker that uses it, and the products of each
// bfKC-deep block are summed in f32 registers and then added to out.
func (p *Pool) gemmBF16(k *kernels, out, x []float32, T int, w *Matrix) {
	N, K := w.Rows, w.Cols
	mp := (T + bfTokens - 1) / bfTokens // token panels (tiles)
	np := (N + bfRows - 1) / bfRows     // weight panels
	KP := (K + 1) / 2                   // column pairs

	// The micro-kernel reads its token rows in place.
	xb, xs := p.roundRowsBF16(k, x, T, K, mp*bfTokens, KP)

	const ncp, mcp = bfNC / bfRows, bfMC / bfTokens
	p.For(np, 1, func(lo, hi int) {
		bp := make([]uint32, bfNC*bfKC/2)
		tmp := make([]float32, bfKC)
		tmpw := make([]uint32, bfKC/2)
		var ctmp [bfTokens * bfRows]float32
		for jc := lo; jc < hi; jc += ncp {
			jce := min(hi, jc+ncp)
			for k0 := 0; k0 < K; k0 += bfKC {
				kcl := min(bfKC, K-k0)
				kpl := (kcl + 1) / 2
				for jr := jc; jr < jce; jr++ {
					packPanelBF16(k, bp[(jr-jc)*kpl*bfRows:], tmp, tmpw, w, jr*bfRows, k0, kcl, bfRows)
				}
				for ic := 0; ic < mp; ic += mcp {
					ice := min(mp, ic+mcp)
					for jr := jc; jr < jce; jr++ {
						bpan := bp[(jr-jc)*kpl*bfRows:][:kpl*bfRows]
						n0 := jr * bfRows
						for ir := ic; ir < ice; ir++ {
							m0 := ir * bfTokens
							apan := xb[m0*xs+k0/2:]
							// The first block of columns sets out, the
							// others add to it.
							if m0+bfTokens <= T && n0+bfRows <= N {
								k.gemmBF16(kpl, apan, xs, 1, bpan, out[m0*N+n0:], N, k0 > 0)
								continue
							}
							k.gemmBF16(kpl, apan, xs, 1, bpan, ctmp[:], bfRows, false)
							for i := range min(bfTokens, T-m0) {
								orow := out[(m0+i)*N+n0 : (m0+i)*N+min(n0+bfRows, N)]
								if k0 == 0 {
									copy(orow, ctmp[i*bfRows:])
									continue
								}
								for j := range orow {
									orow[j] += ctmp[i*bfRows+j]
								}
							}
						}
					}
				}
			}
		}
	})
}
