package compute

import (
	"fmt"
	"math"
	"os"
	"strings"
)

// kernels is one implementation of the inner loops every public operation is
// built from. genericKernels is plain Go and runs everywhere; an
// architecture file may provide a SIMD set (archKernels), chosen once at
// start-up from the CPU's features. Tests run both sets against each other.
type kernels struct {
	name string

	// dot returns Σ a[i]·b[i] over len(a); len(b) >= len(a).
	dot func(a, b []float32) float32
	// dotBF16 and dotF16 return Σ x[i]·w[i] with w widened from bfloat16
	// or IEEE half bit patterns; len(w) >= len(x).
	dotBF16, dotF16 func(x []float32, w []uint16) float32
	// dot4, dot4BF16 and dot4F16 set out[i] = Σ_c x[c]·w[i*stride+c] for
	// four weight rows i < 4, sharing the loads of x.
	dot4              func(x, w []float32, stride int, out *[4]float32)
	dot4BF16, dot4F16 func(x []float32, w []uint16, stride int, out *[4]float32)
	// widenBF16 and widenF16 set dst[i] = src[i] as float32, len(dst)
	// values.
	widenBF16, widenF16 func(dst []float32, src []uint16)
	// quantW8 and quantW4 quantize len(d) whole blocks of weights x into
	// Q8_0 or Q4_0 (q, d), as quantBlockQ8 and quantBlockQ4 do.
	quantW8, quantW4 func(q []byte, d []uint16, x []float32)
	// dequantQ8 and dequantQ4 expand len(d) whole blocks of Q8_0 or Q4_0
	// weights (q, d) into dst (32 values per block).
	dequantQ8, dequantQ4 func(dst []float32, q []byte, d []uint16)
	// dotQ8 and dotQ4 return Σ over len(xd) blocks of 32 of the integer
	// dot product of an activation quantized by quantizeRowQ8 (xq, xd, xs)
	// with a Q8_0 or Q4_0 weight row (wq, wd), scaled by both block scales.
	dotQ8, dotQ4 func(xq []int8, xd, xs []float32, wq []byte, wd []uint16) float32
	// dotQ8r4 and dotQ4r4 are dotQ8 and dotQ4 for one activation row
	// against 4 weight rows nb blocks apart (wq, wd start at the first).
	dotQ8r4 func(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out *[4]float32)
	dotQ4r4 func(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out *[4]float32)
	// dotQ8x4 is dotQ8 for 4 tokens whose quantized activations are nb
	// blocks apart, against one weight row; it writes the 4 results.
	dotQ8x4 func(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out *[4]float32)
	// dotQ4x4 is dotQ4 for 4 tokens whose quantized activations are nb
	// blocks apart, against one weight row; it writes the 4 results.
	dotQ4x4 func(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out *[4]float32)
	// dotQ8x4r2, when set, is dotQ8x4 for 2 weight rows nb blocks apart
	// (wq, wd start at the first): out[4*i+t] is row i against token t.
	// Without it MatMul calls dotQ8x4 once per row.
	dotQ8x4r2 func(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out *[8]float32)
	// rowsQ8 and rowsQ4, when set, are dotQ8 and dotQ4 for one activation
	// row against len(out) consecutive weight rows of nb blocks (wq, wd
	// start at the first): out[r] is row r's result, equal to dotQ8's.
	// MatMul uses them for up to rowsMaxT tokens.
	rowsQ8, rowsQ4 func(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out []float32)
	// permQ4, when set, rearranges a row quantized by quantQ8 in place into
	// the layout dotQ4 expects (dotQ8 still takes the plain one).
	permQ4 func(xq []int8)
	// q8RowsOnly makes MatMul take the row kernels (dotQ8x4) for Q8_0
	// weights at any number of tokens, as it does for Q4_0: set where they
	// beat the f32 GEMM on dequantized panels (the VNNI kernels).
	q8RowsOnly bool
	// q8, when set, is the integer GEMM for Q8_0 and Q4_0 weights
	// (gemm_int8.go) that MatMul takes from q8.minT tokens on; without it,
	// the row kernels.
	q8 *intGEMM
	// quantQ8 quantizes an activation row to 8-bit blocks; see
	// quantizeRowQ8.
	quantQ8 func(xq []int8, xd, xs, x []float32)
	// gemm6x16 adds a·b to the 6×16 tile c (row stride ldc), where a is
	// kc×6 and b is kc×16, both packed k-major.
	gemm6x16 func(kc int, a, b, c []float32, ldc int)
	// gemm6x16s is gemm6x16 with b unpacked: row k of b starts at
	// b[k*bstride].
	gemm6x16s func(kc int, a, b []float32, bstride int, c []float32, ldc int)
	// gemmBF16, when set, is the bf16 GEMM micro-kernel (see
	// gemmBF16Generic); sets without bf16 dot products leave it nil and
	// MatMul computes in f32 whatever the precision.
	gemmBF16 func(kp int, a []uint32, rs, ps int, b []uint32, c []float32, ldc int, add bool)
	// roundBF16, when set, is roundBF16Generic in SIMD (the bf16 GEMM
	// falls back to the Go one).
	roundBF16 func(dst []uint32, src []float32)
	// rowMax, when set, returns the largest of m and x[i] (scores, never
	// NaN); softmaxRow loops in Go without it.
	rowMax func(x []float32, m float32) float32
	// packPairs16, when set, packs 16 whole rows of bf16 (or, with f16,
	// half) weights, stride values apart from src, for kp whole column
	// pairs into dst as PackPanelBF16 does (lines width words apart).
	packPairs16 func(dst []uint32, src []uint16, stride, kp, width int, f16 bool)
	// scores3x4 sets s[r*sstride+j] = q[r*qstride:][:d]·k[j*kstride:][:d]
	// for 3 query rows r and 4 keys j.
	scores3x4 func(s []float32, sstride int, q []float32, qstride int, k []float32, kstride, d int)
	// scores sets s[j] = q·k[j*kstride:][:len(q)] for j < len(s).
	scores func(s, q, k []float32, kstride int)
	// attnT, when set, holds the kernels of the transposed decode
	// attention (attentionGQAT); without it attentionGQA takes the
	// scores3x4 / gemm6x16s path.
	attnT *attnTKernels
	// accum adds Σ_j p[j]·v[j*vstride:][:len(acc)] to acc.
	accum func(acc, p, v []float32, vstride int)
	// expSum sets s[j] = e^(s[j]-m) and returns Σ s[j].
	expSum func(s []float32, m float32) float32
	// scaleMul sets out[i] = w[i]·(x[i]·s) for i < len(out).
	scaleMul func(out, x, w []float32, s float32)
	// siluMul sets out[i] = silu(g[i])·u[i] for i < len(out).
	siluMul func(out, g, u []float32)
	// add sets dst[i] += src[i].
	add func(dst, src []float32)

	// tileMatMul, when set, computes MatMul for the weight formats and
	// token counts its tile kernels (AMX) handle and reports whether it
	// did.
	tileMatMul func(p *Pool, out, x []float32, T int, w *Matrix) bool

	// blockDot[dt] is the dot product of a quantized activation row with
	// one row of raw ggml blocks of format dt (nil for other formats).
	blockDot [numDTypes]blockDot
	// dequantBlk[dt] expands whole raw blocks of format dt into dst.
	dequantBlk [numDTypes]func(dst []float32, w []byte)
	// blockDotX4[dt], where set, is blockDot[dt] for 4 activation rows
	// against one weight row: out[i] = blockDot[dt](&a[i], w).
	blockDotX4 [numDTypes]blockDotX4
	// blockGemmMinT[dt], where not zero, is this set's GEMM switch point
	// for block format dt in place of blockFormats[dt].gemmMinT (see
	// gemmMinT).
	blockGemmMinT [numDTypes]int
}

// genericKernels is the portable reference implementation.
var genericKernels = &kernels{
	name:    "go",
	dot:     dotGeneric,
	dotBF16: dotBF16Generic,
	dotF16:  dotF16Generic,
	dot4: func(x, w []float32, stride int, out *[4]float32) {
		for i := range out {
			out[i] = dotGeneric(x, w[i*stride:])
		}
	},
	dot4BF16: func(x []float32, w []uint16, stride int, out *[4]float32) {
		for i := range out {
			out[i] = dotBF16Generic(x, w[i*stride:])
		}
	},
	dot4F16: func(x []float32, w []uint16, stride int, out *[4]float32) {
		for i := range out {
			out[i] = dotF16Generic(x, w[i*stride:])
		}
	},
	widenBF16: widenBF16Generic,
	widenF16:  widenF16Generic,
	quantW8: func(q []byte, d []uint16, x []float32) {
		for b := range d {
			d[b] = quantBlockQ8(q[b*qBlock:(b+1)*qBlock], x[b*qBlock:(b+1)*qBlock])
		}
	},
	quantW4: func(q []byte, d []uint16, x []float32) {
		for b := range d {
			d[b] = quantBlockQ4(q[b*qBlock/2:(b+1)*qBlock/2], x[b*qBlock:(b+1)*qBlock])
		}
	},
	dequantQ8: dequantQ8Generic,
	dequantQ4: dequantQ4Generic,
	dotQ8:     dotQ8Generic,
	dotQ4:     dotQ4Generic,
	dotQ8r4: func(xq []int8, xd, _ []float32, nb int, wq []byte, wd []uint16, out *[4]float32) {
		for i := range out {
			out[i] = dotQ8Generic(xq, xd[:nb], nil, wq[i*nb*qBlock:], wd[i*nb:(i+1)*nb])
		}
	},
	dotQ4r4: func(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out *[4]float32) {
		for i := range out {
			out[i] = dotQ4Generic(xq, xd[:nb], nil, wq[i*nb*qBlock/2:], wd[i*nb:(i+1)*nb])
		}
	},
	dotQ8x4: func(xq []int8, xd, _ []float32, nb int, wq []byte, wd []uint16, out *[4]float32) {
		for t := range out {
			out[t] = dotQ8Generic(xq[t*nb*qBlock:], xd[t*nb:(t+1)*nb], nil, wq, wd)
		}
	},
	dotQ4x4: func(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out *[4]float32) {
		for t := range out {
			out[t] = dotQ4Generic(xq[t*nb*qBlock:], xd[t*nb:(t+1)*nb], nil, wq, wd)
		}
	},
	quantQ8:    quantizeRowQ8,
	gemm6x16:   gemm6x16Generic,
	gemm6x16s:  gemm6x16sGeneric,
	scores3x4:  scores3x4Generic,
	scores:     scoresGeneric,
	accum:      accumGeneric,
	expSum:     expSumGeneric,
	scaleMul:   scaleMulGeneric,
	siluMul:    siluMulGeneric,
	add:        addGeneric,
	blockDot:   genericBlockDots(),
	dequantBlk: genericDequantBlks(),
}

// kern is the kernel set used by the public functions, chosen once at
// start-up by selectKernels from the CPU's features and GLMV_KERNELS.
var kern, kernNote = selectKernels(os.Getenv(KernelsEnv))

// KernelsEnv names the environment variable that forces a lower kernel set:
// generic, avx2, avx512 or amx (from slowest to fastest). A set the CPU or
// this build lacks falls back to the best lower one.
const KernelsEnv = "GLMV_KERNELS"

// kernelRanks orders the kernel set names from the most portable to the
// fastest; "go" is the generic set's own name.
var kernelRanks = map[string]int{"generic": 0, "go": 0, "avx2": 1, "avx512": 2, "amx": 3}

// availableKernels lists the kernel sets this CPU and build can run, slowest
// first: always the generic one, then the architecture's.
func availableKernels() []*kernels {
	return append([]*kernels{genericKernels}, archKernelSets()...)
}

// selectKernels picks the fastest available set no faster than request (""
// means no limit) and, when that is not the set asked for, a note saying
// why.
func selectKernels(request string) (*kernels, string) {
	sets := availableKernels()
	best := sets[len(sets)-1]
	if request == "" {
		return best, ""
	}
	want, ok := kernelRanks[strings.ToLower(request)]
	if !ok {
		return best, fmt.Sprintf("%s=%q is not a kernel set (generic, avx2, avx512, amx); using %s", KernelsEnv, request, best.name)
	}
	pick := genericKernels
	for _, k := range sets {
		if kernelRanks[k.name] <= want {
			pick = k
		}
	}
	if kernelRanks[pick.name] != want {
		return pick, fmt.Sprintf("%s=%s is not available on this CPU or build; using %s", KernelsEnv, request, pick.name)
	}
	return pick, ""
}

// KernelName reports which kernel set is in use: "go" (the generic one),
// or "avx2" when the CPU has AVX2, FMA and F16C and the purego build tag
// is absent.
func KernelName() string { return kern.name }

// KernelNote explains, when GLMV_KERNELS asked for a set that could not be
// used or the CPU has AMX that cannot be used (refused by the OS, or the
// start-up self-test failed), which set runs instead; it is empty
// otherwise.
func KernelNote() string {
	if n := archKernelNote(); n != "" && kernNote != "" {
		return kernNote + "; " + n
	} else if n != "" {
		return n
	}
	return kernNote
}

// KernelSets lists the names of the kernel sets this CPU and build can run,
// slowest first.
func KernelSets() []string {
	var names []string
	for _, k := range availableKernels() {
		names = append(names, k.name)
	}
	return names
}

func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func dotBF16Generic(x []float32, w []uint16) float32 {
	w = w[:len(x)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(x); i += 2 {
		s0 += x[i] * math.Float32frombits(uint32(w[i])<<16)
		s1 += x[i+1] * math.Float32frombits(uint32(w[i+1])<<16)
	}
	for ; i < len(x); i++ {
		s0 += x[i] * math.Float32frombits(uint32(w[i])<<16)
	}
	return s0 + s1
}

func dotF16Generic(x []float32, w []uint16) float32 {
	w = w[:len(x)]
	var s float32
	for i, v := range x {
		s += v * F16ToF32(w[i])
	}
	return s
}

func widenBF16Generic(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = math.Float32frombits(uint32(v) << 16)
	}
}

func widenF16Generic(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = F16ToF32(v)
	}
}

func dequantQ8Generic(dst []float32, q []byte, d []uint16) {
	nb := len(d)
	dst, q = dst[:nb*qBlock], q[:nb*qBlock]
	for b, db := range d {
		s := F16ToF32(db)
		for i, v := range q[b*qBlock : (b+1)*qBlock] {
			dst[b*qBlock+i] = s * float32(int8(v))
		}
	}
}

func dequantQ4Generic(dst []float32, q []byte, d []uint16) {
	nb := len(d)
	dst, q = dst[:nb*qBlock], q[:nb*qBlock/2]
	for b, db := range d {
		s := F16ToF32(db)
		o := dst[b*qBlock : (b+1)*qBlock]
		for j, v := range q[b*qBlock/2 : (b+1)*qBlock/2] {
			o[j] = s * float32(int(v&15)-8)
			o[j+qBlock/2] = s * float32(int(v>>4)-8)
		}
	}
}

func dotQ8Generic(xq []int8, xd, _ []float32, wq []byte, wd []uint16) float32 {
	nb := len(xd)
	xq, wq, wd = xq[:nb*qBlock], wq[:nb*qBlock], wd[:nb]
	var s float32
	for b := range nb {
		var is int32
		xb, wb := xq[b*qBlock:(b+1)*qBlock], wq[b*qBlock:(b+1)*qBlock]
		for i, x := range xb {
			is += int32(x) * int32(int8(wb[i]))
		}
		s += float32(is) * (xd[b] * F16ToF32(wd[b]))
	}
	return s
}

func dotQ4Generic(xq []int8, xd, _ []float32, wq []byte, wd []uint16) float32 {
	nb := len(xd)
	xq, wq, wd = xq[:nb*qBlock], wq[:nb*qBlock/2], wd[:nb]
	var s float32
	for b := range nb {
		var is int32
		xb, wb := xq[b*qBlock:(b+1)*qBlock], wq[b*qBlock/2:(b+1)*qBlock/2]
		for j, w := range wb {
			is += int32(xb[j])*(int32(w&15)-8) + int32(xb[j+qBlock/2])*(int32(w>>4)-8)
		}
		s += float32(is) * (xd[b] * F16ToF32(wd[b]))
	}
	return s
}

func gemm6x16Generic(kc int, a, b, c []float32, ldc int) {
	gemm6x16sGeneric(kc, a[:kc*mr], b[:kc*nr], nr, c, ldc)
}

func gemm6x16sGeneric(kc int, a, b []float32, bstride int, c []float32, ldc int) {
	var acc [mr][nr]float32
	for k := range kc {
		bk := (*[nr]float32)(b[k*bstride:])
		for i := range mr {
			av := a[k*mr+i]
			row := &acc[i]
			for j := range nr {
				row[j] += av * bk[j]
			}
		}
	}
	for i := range mr {
		cr := c[i*ldc : i*ldc+nr]
		for j := range nr {
			cr[j] += acc[i][j]
		}
	}
}

func scores3x4Generic(s []float32, sstride int, q []float32, qstride int, k []float32, kstride, d int) {
	for r := range 3 {
		for j := range 4 {
			s[r*sstride+j] = dotGeneric(q[r*qstride:][:d], k[j*kstride:])
		}
	}
}

func scoresGeneric(s, q, k []float32, kstride int) {
	for j := range s {
		s[j] = dotGeneric(q, k[j*kstride:])
	}
}

func accumGeneric(acc, p, v []float32, vstride int) {
	for j, pj := range p {
		vj := v[j*vstride : j*vstride+len(acc)]
		for i, x := range vj {
			acc[i] += pj * x
		}
	}
}

func expSumGeneric(s []float32, m float32) float32 {
	var sum float32
	for j, x := range s {
		e := float32(math.Exp(float64(x - m)))
		s[j] = e
		sum += e
	}
	return sum
}

func scaleMulGeneric(out, x, w []float32, s float32) {
	x, w = x[:len(out)], w[:len(out)]
	for i := range out {
		out[i] = w[i] * (x[i] * s)
	}
}

func siluMulGeneric(out, g, u []float32) {
	g, u = g[:len(out)], u[:len(out)]
	for i := range out {
		out[i] = g[i] * Sigmoid(g[i]) * u[i]
	}
}

func addGeneric(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}
