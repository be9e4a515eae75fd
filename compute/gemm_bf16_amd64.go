//go:build amd64 && !purego

package compute

import "golang.org/x/sys/cpu"

// useBF16GEMM gives the avx512 set k the bf16 GEMM micro-kernel of
// gemm_bf16_amd64.s when the CPU has AVX512_BF16 (VDPBF16PS).
func useBF16GEMM(k *kernels) {
	if !cpu.X86.HasAVX512BF16 {
		return
	}
	k.gemmBF16 = func(kp int, a []uint32, rs, ps int, b []uint32, c []float32, ldc int, add bool) {
		if kp <= 0 {
			gemmBF16Generic(kp, a, rs, ps, b, c, ldc, add)
			return
		}
		_, _, _ = a[(bfTokens-1)*rs+(kp-1)*ps], b[kp*bfRows-1], c[(bfTokens-1)*ldc+bfRows-1]
		gemmBF16AVX512(kp, &a[0], 4*rs, 4*ps, &b[0], &c[0], ldc, add)
	}
	k.roundBF16 = func(dst []uint32, src []float32) {
		n := len(src)
		n16 := n &^ 15
		if n16 > 0 {
			_ = dst[n16/2-1]
			roundBF16AVX512(&dst[0], &src[0], n16)
		}
		roundBF16Generic(dst[n16/2:], src[n16:])
	}
	k.packPairs16 = func(dst []uint32, src []uint16, stride, kp, width int, f16 bool) {
		if kp <= 0 {
			return
		}
		_, _ = dst[(kp-1)*width+15], src[15*stride+2*kp-1]
		if f16 {
			packPairsF16AVX512(&dst[0], &src[0], 2*stride, kp, 4*width)
		} else {
			packPairsBF16AVX512(&dst[0], &src[0], 2*stride, kp, 4*width)
		}
	}
}

//go:noescape
func gemmBF16AVX512(kp int, a *uint32, rs, ps int, b *uint32, c *float32, ldc int, add bool)

//go:noescape
func roundBF16AVX512(dst *uint32, src *float32, n int)

//go:noescape
func packPairsBF16AVX512(dst *uint32, src *uint16, stride, kp, dstride int)

//go:noescape
func packPairsF16AVX512(dst *uint32, src *uint16, stride, kp, dstride int)

//go:noescape
func maxAVX512(x *float32, n int) float32

// rowMaxAVX512 is the avx512 set's rowMax.
func rowMaxAVX512(x []float32, m float32) float32 {
	n16 := len(x) &^ 15
	if n16 > 0 {
		m = max(m, maxAVX512(&x[0], n16))
	}
	for _, v := range x[n16:] {
		m = max(m, v)
	}
	return m
}
