//go:build amd64 && !purego

package compute

import "golang.org/x/sys/cpu"

// hasAVX512 reports whether the CPU and OS support the AVX-512 subsets the
// avx512 kernel set uses (F, BW, VL), on top of what the AVX2 set needs.
func hasAVX512() bool {
	x := cpu.X86
	return x.HasAVX2 && x.HasFMA && x.HasF16C && x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL
}

// newAVX512Kernels returns the AVX-512 set: the AVX2 set with the routines
// that gain from 512-bit registers replaced (the float and attention ones
// of kernels_float512/attn512_amd64.s, and the VNNI quantized dots where
// the CPU has AVX512_VNNI, for the split Q8_0/Q4_0 and every ggml block
// format).
func newAVX512Kernels() *kernels {
	k := *avx2Kernels
	k.name = "avx512"
	k.gemm6x16 = func(kc int, a, b, c []float32, ldc int) {
		_, _, _ = a[kc*mr-1], b[kc*nr-1], c[(mr-1)*ldc+nr-1]
		gemm6x16AVX512(kc, &a[0], &b[0], &c[0], ldc)
	}
	k.gemm6x16s = func(kc int, a, b []float32, bstride int, c []float32, ldc int) {
		if kc <= 0 {
			return
		}
		_, _, _ = a[kc*mr-1], b[(kc-1)*bstride+nr-1], c[(mr-1)*ldc+nr-1]
		gemm6x16sAVX512(kc, &a[0], &b[0], bstride, &c[0], ldc)
	}
	useFloat512(&k)
	useAttn512(&k)
	useVNNI(&k)
	useVNNIBlocks(&k)
	useBF16GEMM(&k)
	k.rowMax = rowMaxAVX512
	useInt8GEMM(&k)
	return &k
}

var avx512Kernels = newAVX512Kernels()

//go:noescape
func gemm6x16AVX512(kc int, a, b, c *float32, ldc int)

//go:noescape
func gemm6x16sAVX512(kc int, a, b *float32, bstride int, c *float32, ldc int)
