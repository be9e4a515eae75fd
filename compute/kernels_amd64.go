//go:build amd64 && !purego

package compute

import (
	"golang.org/x/sys/cpu"
)

// archKernelSets returns the SIMD kernel sets the CPU (and OS) support,
// slowest first: the AVX2/FMA/F16C set, then the AVX-512 one, then the
// AMX one (once the OS has granted the tile state and its self-test has
// passed).
func archKernelSets() []*kernels {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA || !cpu.X86.HasF16C {
		return nil
	}
	sets := []*kernels{avx2Kernels}
	if hasAVX512() {
		sets = append(sets, avx512Kernels)
		if amx, _ := amxSet(); amx != nil {
			sets = append(sets, amx)
		}
	}
	return sets
}

// CPUFeatures lists the CPU features that matter to the kernels and that
// this CPU (with the OS's support) has.
func CPUFeatures() []string {
	x := cpu.X86
	tile, i8, bf, osAMX := amxCPU()
	var fs []string
	for _, f := range []struct {
		name string
		has  bool
	}{
		{"avx", x.HasAVX}, {"avx2", x.HasAVX2}, {"fma", x.HasFMA}, {"f16c", x.HasF16C},
		{"avx-vnni", x.HasAVXVNNI},
		{"avx512f", x.HasAVX512F}, {"avx512bw", x.HasAVX512BW}, {"avx512vl", x.HasAVX512VL},
		{"avx512vnni", x.HasAVX512VNNI}, {"avx512bf16", x.HasAVX512BF16},
		{"amx-tile", tile && osAMX}, {"amx-int8", i8 && osAMX}, {"amx-bf16", bf && osAMX},
	} {
		if f.has {
			fs = append(fs, f.name)
		}
	}
	return fs
}

// avx2Kernels wraps the assembly routines of kernels_amd64.s. Each wrapper
// checks lengths (so a bad call panics in Go, not in assembly) and falls
// back to the generic code where the assembly has a precondition.
var avx2Kernels = &kernels{
	name: "avx2",
	dot: func(a, b []float32) float32 {
		if len(a) == 0 {
			return 0
		}
		_ = b[len(a)-1]
		return dotAVX2(&a[0], &b[0], len(a))
	},
	dotBF16: func(x []float32, w []uint16) float32 {
		if len(x) == 0 {
			return 0
		}
		_ = w[len(x)-1]
		return dotBF16AVX2(&x[0], &w[0], len(x))
	},
	dotF16: func(x []float32, w []uint16) float32 {
		if len(x) == 0 {
			return 0
		}
		_ = w[len(x)-1]
		return dotF16AVX2(&x[0], &w[0], len(x))
	},
	dot4: func(x, w []float32, stride int, out *[4]float32) {
		n := len(x)
		if n == 0 {
			*out = [4]float32{}
			return
		}
		_ = w[3*stride+n-1]
		dot4F32AVX2(&x[0], &w[0], stride, n, &out[0])
	},
	dot4BF16: func(x []float32, w []uint16, stride int, out *[4]float32) {
		n := len(x)
		if n == 0 {
			*out = [4]float32{}
			return
		}
		_ = w[3*stride+n-1]
		dot4BF16AVX2(&x[0], &w[0], stride, n, &out[0])
	},
	dot4F16: func(x []float32, w []uint16, stride int, out *[4]float32) {
		n := len(x)
		if n == 0 {
			*out = [4]float32{}
			return
		}
		_ = w[3*stride+n-1]
		dot4F16AVX2(&x[0], &w[0], stride, n, &out[0])
	},
	widenBF16: func(dst []float32, src []uint16) {
		n := len(dst)
		n8 := n &^ 7
		if n8 > 0 {
			_ = src[n8-1]
			widenBF16AVX2(&dst[0], &src[0], n8)
		}
		widenBF16Generic(dst[n8:], src[n8:n])
	},
	widenF16: func(dst []float32, src []uint16) {
		n := len(dst)
		n8 := n &^ 7
		if n8 > 0 {
			_ = src[n8-1]
			widenF16AVX2(&dst[0], &src[0], n8)
		}
		widenF16Generic(dst[n8:], src[n8:n])
	},
	quantW8: func(q []byte, d []uint16, x []float32) {
		nb := len(d)
		if nb == 0 {
			return
		}
		_, _ = q[nb*qBlock-1], x[nb*qBlock-1]
		quantWQ8AVX2(&q[0], &d[0], &x[0], nb)
	},
	quantW4: func(q []byte, d []uint16, x []float32) {
		nb := len(d)
		if nb == 0 {
			return
		}
		_, _ = q[nb*qBlock/2-1], x[nb*qBlock-1]
		quantWQ4AVX2(&q[0], &d[0], &x[0], nb)
	},
	dequantQ8: func(dst []float32, q []byte, d []uint16) {
		nb := len(d)
		if nb == 0 {
			return
		}
		_, _ = dst[nb*qBlock-1], q[nb*qBlock-1]
		dequantQ8AVX2(&dst[0], &q[0], &d[0], nb)
	},
	dequantQ4: func(dst []float32, q []byte, d []uint16) {
		nb := len(d)
		if nb == 0 {
			return
		}
		_, _ = dst[nb*qBlock-1], q[nb*qBlock/2-1]
		dequantQ4AVX2(&dst[0], &q[0], &d[0], nb)
	},
	dotQ8:  dotQ8Asm,
	dotQ4:  dotQ4Asm,
	rowsQ8: rowsQ8AVX2,
	rowsQ4: rowsQ4AVX2,
	dotQ8r4: func(xq []int8, xd, _ []float32, nb int, wq []byte, wd []uint16, out *[4]float32) {
		full := nb &^ 7
		if full > 0 {
			_, _ = xq[full*qBlock-1], xd[full-1]
			_, _ = wq[(3*nb+full)*qBlock-1], wd[3*nb+full-1]
			dotQ8r4AVX2(&xq[0], &xd[0], nb, full, &wq[0], &wd[0], &out[0])
		} else {
			*out = [4]float32{}
		}
		if full < nb {
			for i := range out {
				o := i * nb
				out[i] += dotQ8Asm(xq[full*qBlock:nb*qBlock], xd[full:nb], nil, wq[(o+full)*qBlock:], wd[o+full:o+nb])
			}
		}
	},
	dotQ4r4: func(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out *[4]float32) {
		full := nb &^ 7
		if full > 0 {
			_, _, _ = xq[full*qBlock-1], xd[full-1], xs[full-1]
			_, _ = wq[(3*nb+full)*qBlock/2-1], wd[3*nb+full-1]
			dotQ4r4AVX2(&xq[0], &xd[0], &xs[0], nb, full, &wq[0], &wd[0], &out[0])
		} else {
			*out = [4]float32{}
		}
		if full < nb {
			for i := range out {
				o := i * nb
				out[i] += dotQ4Asm(xq[full*qBlock:nb*qBlock], xd[full:nb], xs[full:nb], wq[(o+full)*qBlock/2:], wd[o+full:o+nb])
			}
		}
	},
	dotQ8x4: func(xq []int8, xd, _ []float32, nb int, wq []byte, wd []uint16, out *[4]float32) {
		full := nb &^ 7
		if full > 0 {
			_, _ = xq[(3*nb+full)*qBlock-1], xd[3*nb+full-1]
			_, _ = wq[full*qBlock-1], wd[full-1]
			dotQ8x4AVX2(&xq[0], &xd[0], nb, full, &wq[0], &wd[0], &out[0])
		} else {
			*out = [4]float32{}
		}
		if full < nb {
			for t := range out {
				o := t * nb
				out[t] += dotQ8Asm(xq[(o+full)*qBlock:(o+nb)*qBlock], xd[o+full:o+nb], nil, wq[full*qBlock:], wd[full:nb])
			}
		}
	},
	dotQ4x4: func(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out *[4]float32) {
		full := nb &^ 7
		if full > 0 {
			_, _, _ = xq[(3*nb+full)*qBlock-1], xd[3*nb+full-1], xs[3*nb+full-1]
			_, _ = wq[full*qBlock/2-1], wd[full-1]
			dotQ4x4AVX2(&xq[0], &xd[0], &xs[0], nb, full, &wq[0], &wd[0], &out[0])
		} else {
			*out = [4]float32{}
		}
		if full < nb {
			for t := range out {
				o := t * nb
				out[t] += dotQ4Asm(xq[(o+full)*qBlock:(o+nb)*qBlock], xd[o+full:o+nb], xs[o+full:o+nb],
					wq[full*qBlock/2:], wd[full:nb])
			}
		}
	},
	permQ4: permQ4Pairs,
	quantQ8: func(xq []int8, xd, xs, x []float32) {
		nb := len(xd)
		full := min(nb, len(x)/qBlock)
		if full > 0 {
			_, _ = xq[full*qBlock-1], xs[full-1]
			quantQ8AVX2(&xq[0], &xd[0], &xs[0], &x[0], full)
		}
		quantizeRowQ8(xq[full*qBlock:nb*qBlock], xd[full:nb], xs[full:nb], x[full*qBlock:])
	},
	gemm6x16: func(kc int, a, b, c []float32, ldc int) {
		_, _, _ = a[kc*mr-1], b[kc*nr-1], c[(mr-1)*ldc+nr-1]
		gemm6x16AVX2(kc, &a[0], &b[0], &c[0], ldc)
	},
	gemm6x16s: func(kc int, a, b []float32, bstride int, c []float32, ldc int) {
		if kc <= 0 {
			return
		}
		_, _, _ = a[kc*mr-1], b[(kc-1)*bstride+nr-1], c[(mr-1)*ldc+nr-1]
		gemm6x16sAVX2(kc, &a[0], &b[0], bstride, &c[0], ldc)
	},
	scores3x4: func(s []float32, sstride int, q []float32, qstride int, k []float32, kstride, d int) {
		if d <= 0 || d%8 != 0 {
			scores3x4Generic(s, sstride, q, qstride, k, kstride, d)
			return
		}
		_, _, _ = s[2*sstride+3], q[2*qstride+d-1], k[3*kstride+d-1]
		scores3x4AVX2(&s[0], sstride, &q[0], qstride, &k[0], kstride, d)
	},
	scores: func(s, q, k []float32, kstride int) {
		d := len(q)
		if len(s) == 0 || d == 0 {
			clear(s)
			return
		}
		if d%8 != 0 {
			scoresGeneric(s, q, k, kstride)
			return
		}
		_ = k[(len(s)-1)*kstride+d-1]
		scoresAVX2(&s[0], &q[0], &k[0], len(s), d, kstride)
	},
	accum: func(acc, p, v []float32, vstride int) {
		d := len(acc)
		if len(p) == 0 || d == 0 {
			return
		}
		if d%8 != 0 {
			accumGeneric(acc, p, v, vstride)
			return
		}
		_ = v[(len(p)-1)*vstride+d-1]
		accumAVX2(&acc[0], &p[0], &v[0], len(p), d, vstride)
	},
	expSum: func(s []float32, m float32) float32 {
		n8 := len(s) &^ 7
		var sum float32
		if n8 > 0 {
			sum = expSumAVX2(&s[0], n8, m)
		}
		return sum + expSumGeneric(s[n8:], m)
	},
	scaleMul: func(out, x, w []float32, s float32) {
		n := len(out)
		if n == 0 {
			return
		}
		_, _ = x[n-1], w[n-1]
		scaleMulAVX2(&out[0], &x[0], &w[0], n, s)
	},
	siluMul: func(out, g, u []float32) {
		n := len(out)
		if n == 0 {
			return
		}
		_, _ = g[n-1], u[n-1]
		n8 := n &^ 7
		if n8 > 0 {
			siluMulAVX2(&out[0], &g[0], &u[0], n8)
		}
		siluMulGeneric(out[n8:], g[n8:n], u[n8:n])
	},
	add: func(dst, src []float32) {
		n := len(dst)
		if n == 0 {
			return
		}
		_ = src[n-1]
		addAVX2(&dst[0], &src[0], n)
	},
	blockDot:   avx2BlockDots(),
	dequantBlk: avx2DequantBlks(),
}

// dotQ8Asm is the avx2 dotQ8.
func dotQ8Asm(xq []int8, xd, _ []float32, wq []byte, wd []uint16) float32 {
	nb := len(xd)
	if nb == 0 {
		return 0
	}
	_, _, _ = xq[nb*qBlock-1], wq[nb*qBlock-1], wd[nb-1]
	return dotQ8AVX2(&xq[0], &xd[0], &wq[0], &wd[0], nb)
}

// dotQ4Asm is the avx2 dotQ4.
func dotQ4Asm(xq []int8, xd, xs []float32, wq []byte, wd []uint16) float32 {
	nb := len(xd)
	if nb == 0 {
		return 0
	}
	_, _, _, _ = xq[nb*qBlock-1], xs[nb-1], wq[nb*qBlock/2-1], wd[nb-1]
	return dotQ4AVX2(&xq[0], &xd[0], &xs[0], &wq[0], &wd[0], nb)
}

// permQ4Pairs puts each whole group of 8 activation blocks into the pair
// layout of dotQ4AVX2: within blocks A, B (0-1, 2-3, ...) the order becomes
// A[0:16] B[0:16] A[16:32] B[16:32], matching the low and high nibbles of a
// 32-byte load of A's and B's Q4_0 weights.
func permQ4Pairs(xq []int8) {
	n := len(xq) / (8 * qBlock) * (8 * qBlock)
	for i := 0; i < n; i += 2 * qBlock {
		p := (*[2 * qBlock]int8)(xq[i:])
		var t [16]int8
		copy(t[:], p[16:32])
		copy(p[16:32], p[32:48])
		copy(p[32:48], t[:])
	}
}

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func dotBF16AVX2(x *float32, w *uint16, n int) float32

//go:noescape
func dotF16AVX2(x *float32, w *uint16, n int) float32

//go:noescape
func dotQ8AVX2(xq *int8, xd *float32, wq *byte, wd *uint16, nb int) float32

//go:noescape
func dotQ4AVX2(xq *int8, xd, xs *float32, wq *byte, wd *uint16, nb int) float32

//go:noescape
func quantQ8AVX2(xq *int8, xd, xs, x *float32, nb int)

//go:noescape
func gemm6x16AVX2(kc int, a, b, c *float32, ldc int)

//go:noescape
func scoresAVX2(s, q, k *float32, n, d, kstride int)

//go:noescape
func accumAVX2(acc, p, v *float32, n, d, vstride int)

//go:noescape
func expSumAVX2(s *float32, n int, m float32) float32

//go:noescape
func siluMulAVX2(out, gate, up *float32, n int)

//go:noescape
func scaleMulAVX2(out, x, w *float32, n int, s float32)

//go:noescape
func addAVX2(dst, src *float32, n int)

//go:noescape
func dot4F32AVX2(x *float32, w *float32, stride, n int, out *float32)

//go:noescape
func dot4BF16AVX2(x *float32, w *uint16, stride, n int, out *float32)

//go:noescape
func dot4F16AVX2(x *float32, w *uint16, stride, n int, out *float32)

//go:noescape
func widenBF16AVX2(dst *float32, src *uint16, n int)

//go:noescape
func widenF16AVX2(dst *float32, src *uint16, n int)

//go:noescape
func gemm6x16sAVX2(kc int, a, b *float32, bstride int, c *float32, ldc int)

//go:noescape
func scores3x4AVX2(s *float32, sstride int, q *float32, qstride int, k *float32, kstride, d int)

//go:noescape
func dequantQ8AVX2(dst *float32, q *byte, d *uint16, nb int)

//go:noescape
func dequantQ4AVX2(dst *float32, q *byte, d *uint16, nb int)

//go:noescape
func dotQ4x4AVX2(xq *int8, xd, xs *float32, nb, n int, wq *byte, wd *uint16, out *float32)

//go:noescape
func dotQ8x4AVX2(xq *int8, xd *float32, nb, n int, wq *byte, wd *uint16, out *float32)

//go:noescape
func quantWQ8AVX2(q *byte, d *uint16, x *float32, nb int)

//go:noescape
func quantWQ4AVX2(q *byte, d *uint16, x *float32, nb int)

//go:noescape
func dotQ8r4AVX2(xq *int8, xd *float32, nb, n int, wq *byte, wd *uint16, out *float32)

//go:noescape
func dotQ4r4AVX2(xq *int8, xd, xs *float32, nb, n int, wq *byte, wd *uint16, out *float32)
