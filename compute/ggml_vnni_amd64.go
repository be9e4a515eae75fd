//go:build amd64 && !purego

package compute

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useVNNIBlocks replaces the avx512 set's ggml block dot products with the
// AVX-512 VNNI ones of ggml_vnni_amd64.s where the CPU has AVX512_VNNI.
func useVNNIBlocks(k *kernels) {
	if !cpu.X86.HasAVX512VNNI {
		return
	}
	k.blockDot[Q4_K] = kquantAsm(dotQ4KVNNI, 144)
	k.blockDot[Q5_K] = kquantAsm(dotQ5KVNNI, 176)
	k.blockDot[Q6_K] = kquantAsm(dotQ6KVNNI, 210)
	k.blockDot[Q2_K] = kquantAsm(dotQ2KVNNI, 84)
	k.blockDot[Q3_K] = kquantAsm(dotQ3KVNNI, 110)
	k.blockDot[GGMLQ8_0] = block32VNNI(dotQ8_0GVNNI, dotQ8_0GAVX2, 34)
	k.blockDot[GGMLQ4_0] = block32VNNI(dotQ4_0GVNNI, dotQ4_0GAVX2, 18)
	k.blockDot[Q4_1] = block32VNNI(dotQ4_1GVNNI, dotQ4_1AVX2, 20)
	k.blockDot[Q5_0] = block32VNNI(dotQ5_0GVNNI, dotQ5_0AVX2, 22)
	k.blockDot[Q5_1] = block32VNNI(dotQ5_1GVNNI, dotQ5_1AVX2, 24)
	k.blockDotX4[GGMLQ8_0] = block32VNNIx4(dotQ8_0GVNNIx4, k.blockDot[GGMLQ8_0], 34)
	k.blockDotX4[GGMLQ4_0] = block32VNNIx4(dotQ4_0GVNNIx4, k.blockDot[GGMLQ4_0], 18)
	k.blockDotX4[Q4_1] = block32VNNIx4(dotQ4_1GVNNIx4, k.blockDot[Q4_1], 20)
	k.blockDotX4[Q5_0] = block32VNNIx4(dotQ5_0GVNNIx4, k.blockDot[Q5_0], 22)
	k.blockDotX4[Q5_1] = block32VNNIx4(dotQ5_1GVNNIx4, k.blockDot[Q5_1], 24)
	k.blockDotX4[Q4_K] = kquantVNNIx4(dotQ4KVNNIx4, k.blockDot[Q4_K], 144)
	k.blockDotX4[Q5_K] = kquantVNNIx4(dotQ5KVNNIx4, k.blockDot[Q5_K], 176)
	k.blockDotX4[Q6_K] = kquantVNNIx4(dotQ6KVNNIx4, k.blockDot[Q6_K], 210)
	k.blockDotX4[Q2_K] = kquantVNNIx4(dotQ2KVNNIx4, k.blockDot[Q2_K], 84)
	k.blockDotX4[Q3_K] = kquantVNNIx4(dotQ3KVNNIx4, k.blockDot[Q3_K], 110)
	k.blockGemmMinT = vnniGemmMinT
}

// stride returns the distance in bytes from p to q, elements of the same
// array.
func stride[E any](p, q *E) int {
	return int(uintptr(unsafe.Pointer(q)) - uintptr(unsafe.Pointer(p)))
}

// actStrides returns the distances in bytes between consecutive rows of
// a of their q, d and s (or, for the K-quants, bsum) slices, and whether
// each is the same for all 4 rows: the layout quantizeActs makes, which the
// 4-token kernels take as one pointer and a stride per slice.
func actStrides(a *[4]actRow, kquant bool) (xstride, dstride, sstride int, ok bool) {
	third := func(r *actRow) uintptr {
		if kquant {
			return uintptr(unsafe.Pointer(&r.bsum[0]))
		}
		return uintptr(unsafe.Pointer(&r.s[0]))
	}
	xstride = stride(&a[0].q[0], &a[1].q[0])
	dstride = stride(&a[0].d[0], &a[1].d[0])
	sstride = int(third(&a[1]) - third(&a[0]))
	for i := 1; i < 3; i++ {
		if stride(&a[i].q[0], &a[i+1].q[0]) != xstride || stride(&a[i].d[0], &a[i+1].d[0]) != dstride ||
			int(third(&a[i+1])-third(&a[i])) != sstride {
			return 0, 0, 0, false
		}
	}
	return xstride, dstride, sstride, true
}

// block32VNNIx4 wraps a 4-token VNNI dot product for a 32-column format
// (block size ts bytes; blocks in groups of 4; xd and xs with the same
// stride) with the one-token kernel one for the last nb%4 blocks, or for
// all where the rows are not laid out so.
func block32VNNIx4(vnni func(xq *int8, xd, xs *float32, w *byte, nb, xstride, dstride int, out *[4]float32),
	one blockDot, ts int) blockDotX4 {
	return func(a *[4]actRow, w []byte, out *[4]float32) {
		nb := len(w) / ts
		full := nb &^ 3
		if full == 0 {
			for i := range a {
				out[i] = one(&a[i], w)
			}
			return
		}
		for i := range a {
			_, _, _ = a[i].q[full*qBlock-1], a[i].d[full-1], a[i].s[full-1]
		}
		xstride, dstride, sstride, ok := actStrides(a, false)
		if !ok || sstride != dstride {
			for i := range a {
				out[i] = one(&a[i], w)
			}
			return
		}
		vnni(&a[0].q[0], &a[0].d[0], &a[0].s[0], &w[0], full, xstride, dstride, out)
		if full < nb {
			for i := range a {
				r := actRow{q: a[i].q[full*qBlock:], d: a[i].d[full:], s: a[i].s[full:]}
				out[i] += one(&r, w[full*ts:])
			}
		}
	}
}

// vnniGemmMinT are the GEMM switch points (gemmMinT) with the VNNI block
// dots, measured with BenchmarkGGMLPaths on a Zen 5 (one thread, CPU time
// per MatMul, 4096×4096 and 13696×4096 weights, T = 16..512). With the
// 4-token kernels the row path's CPU time over the GEMM's is 0.25-0.35 at
// T=16, 0.7-0.85 at T=128 and crosses 1 at about T = 265-290 (Q5_1, Q6_K,
// Q3_K), 300-400 (Q8_0, Q5_0, Q5_K), 410-500 (Q2_K, Q4_K, Q4_1, Q4_0),
// the same for both shapes. Each point is set at or a little below the
// lower crossover: near it the GEMM is preferred, as it does not round the
// activations.
var vnniGemmMinT = [numDTypes]int{
	GGMLQ8_0: 256, GGMLQ4_0: 384, Q4_1: 384, Q5_0: 256, Q5_1: 256,
	Q2_K: 384, Q3_K: 256, Q4_K: 384, Q5_K: 320, Q6_K: 256,
}

// block32VNNI wraps a VNNI dot product for a 32-column format (block size
// ts bytes), which takes the blocks in groups of 4, with the AVX2 one for
// the last nb%4 blocks.
func block32VNNI(vnni, tail func(xq *int8, xd, xs *float32, w *byte, nb int) float32, ts int) blockDot {
	return func(a *actRow, w []byte) float32 {
		nb := len(w) / ts
		full := nb &^ 3
		var s float32
		if full > 0 {
			_, _, _ = a.q[full*qBlock-1], a.d[full-1], a.s[full-1]
			s = vnni(&a.q[0], &a.d[0], &a.s[0], &w[0], full)
		}
		if full < nb {
			_, _, _ = a.q[nb*qBlock-1], a.d[nb-1], a.s[nb-1]
			s += tail(&a.q[full*qBlock], &a.d[full], &a.s[full], &w[full*ts], nb-full)
		}
		return s
	}
}

//go:noescape
func dotQ4KVNNI(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32

//go:noescape
func dotQ5KVNNI(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32

//go:noescape
func dotQ6KVNNI(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32

//go:noescape
func dotQ2KVNNI(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32

//go:noescape
func dotQ3KVNNI(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32

//go:noescape
func dotQ8_0GVNNI(xq *int8, xd, xs *float32, w *byte, nb int) float32

//go:noescape
func dotQ4_0GVNNI(xq *int8, xd, xs *float32, w *byte, nb int) float32

//go:noescape
func dotQ4_1GVNNI(xq *int8, xd, xs *float32, w *byte, nb int) float32

//go:noescape
func dotQ5_0GVNNI(xq *int8, xd, xs *float32, w *byte, nb int) float32

//go:noescape
func dotQ5_1GVNNI(xq *int8, xd, xs *float32, w *byte, nb int) float32

//go:noescape
func dotQ4_0GVNNIx4(xq *int8, xd, xs *float32, w *byte, nb, xstride, dstride int, out *[4]float32)

//go:noescape
func dotQ8_0GVNNIx4(xq *int8, xd, xs *float32, w *byte, nb, xstride, dstride int, out *[4]float32)

//go:noescape
func dotQ4_1GVNNIx4(xq *int8, xd, xs *float32, w *byte, nb, xstride, dstride int, out *[4]float32)

//go:noescape
func dotQ5_0GVNNIx4(xq *int8, xd, xs *float32, w *byte, nb, xstride, dstride int, out *[4]float32)

//go:noescape
func dotQ5_1GVNNIx4(xq *int8, xd, xs *float32, w *byte, nb, xstride, dstride int, out *[4]float32)

// kquantVNNIx4 wraps a 4-token K-quant VNNI dot product (block size ts
// bytes) with the bounds checks that keep it inside each row's slices; it
// falls back to the one-token kernel one where the rows are not evenly
// spaced.
func kquantVNNIx4(f func(xq *int8, xd *float32, bsum *int16, w *byte, nb, xstride, dstride, bstride int, out *[4]float32),
	one blockDot, ts int) blockDotX4 {
	return func(a *[4]actRow, w []byte, out *[4]float32) {
		nb := len(w) / ts
		if nb == 0 {
			*out = [4]float32{}
			return
		}
		for i := range a {
			_, _, _ = a[i].q[nb*qkBlock-1], a[i].d[nb*qkBlock/qBlock-1], a[i].bsum[nb*16-1]
		}
		xstride, dstride, bstride, ok := actStrides(a, true)
		if !ok {
			for i := range a {
				out[i] = one(&a[i], w)
			}
			return
		}
		f(&a[0].q[0], &a[0].d[0], &a[0].bsum[0], &w[0], nb, xstride, dstride, bstride, out)
	}
}

//go:noescape
func dotQ4KVNNIx4(xq *int8, xd *float32, bsum *int16, w *byte, nb, xstride, dstride, bstride int, out *[4]float32)

//go:noescape
func dotQ5KVNNIx4(xq *int8, xd *float32, bsum *int16, w *byte, nb, xstride, dstride, bstride int, out *[4]float32)

//go:noescape
func dotQ6KVNNIx4(xq *int8, xd *float32, bsum *int16, w *byte, nb, xstride, dstride, bstride int, out *[4]float32)

//go:noescape
func dotQ2KVNNIx4(xq *int8, xd *float32, bsum *int16, w *byte, nb, xstride, dstride, bstride int, out *[4]float32)

//go:noescape
func dotQ3KVNNIx4(xq *int8, xd *float32, bsum *int16, w *byte, nb, xstride, dstride, bstride int, out *[4]float32)
