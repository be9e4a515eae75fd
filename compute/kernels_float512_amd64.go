//go:build amd64 && !purego

package compute

// useFloat512 swaps the AVX-512 f32, bf16 and f16 weight kernels of
// kernels_float512_amd64.s into k. The assembly runs on a multiple of 16
// columns; the generic code finishes the rest.
func useFloat512(k *kernels) {
	k.dot = dot16(dotF32AVX512, dotGeneric)
	k.dotBF16 = dot16(dotBF16AVX512, dotBF16Generic)
	k.dotF16 = dot16(dotF16AVX512, dotF16Generic)
	k.dot4 = dot4x16(dot4F32AVX512, dotGeneric)
	k.dot4BF16 = dot4x16(dot4BF16AVX512, dotBF16Generic)
	k.dot4F16 = dot4x16(dot4F16AVX512, dotF16Generic)
	k.widenBF16 = widen16(widenBF16AVX512, widenBF16Generic)
	k.widenF16 = widen16(widenF16AVX512, widenF16Generic)
}

// dot16 wraps a dot-product routine that takes a multiple of 16 columns,
// finishing the rest with tail.
func dot16[W float32 | uint16](asm func(x *float32, w *W, n int) float32, tail func([]float32, []W) float32) func([]float32, []W) float32 {
	return func(x []float32, w []W) float32 {
		n := len(x)
		n16 := n &^ 15
		var s float32
		if n16 > 0 {
			_ = w[n16-1]
			s = asm(&x[0], &w[0], n16)
		}
		return s + tail(x[n16:], w[n16:n])
	}
}

// dot4x16 is dot16 for the four-row routines.
func dot4x16[W float32 | uint16](asm func(x *float32, w *W, stride, n int, out *float32), tail func([]float32, []W) float32) func([]float32, []W, int, *[4]float32) {
	return func(x []float32, w []W, stride int, out *[4]float32) {
		n := len(x)
		n16 := n &^ 15
		*out = [4]float32{}
		if n16 > 0 {
			_ = w[3*stride+n16-1]
			asm(&x[0], &w[0], stride, n16, &out[0])
		}
		if n16 < n {
			for i := range out {
				out[i] += tail(x[n16:], w[i*stride+n16:i*stride+n])
			}
		}
	}
}

// widen16 is dot16 for the widening routines.
func widen16(asm func(dst *float32, src *uint16, n int), tail func([]float32, []uint16)) func([]float32, []uint16) {
	return func(dst []float32, src []uint16) {
		n := len(dst)
		n16 := n &^ 15
		if n16 > 0 {
			_ = src[n16-1]
			asm(&dst[0], &src[0], n16)
		}
		tail(dst[n16:], src[n16:n])
	}
}

//go:noescape
func dotF32AVX512(x *float32, w *float32, n int) float32

//go:noescape
func dotBF16AVX512(x *float32, w *uint16, n int) float32

//go:noescape
func dotF16AVX512(x *float32, w *uint16, n int) float32

//go:noescape
func dot4F32AVX512(x *float32, w *float32, stride, n int, out *float32)

//go:noescape
func dot4BF16AVX512(x *float32, w *uint16, stride, n int, out *float32)

//go:noescape
func dot4F16AVX512(x *float32, w *uint16, stride, n int, out *float32)

//go:noescape
func widenBF16AVX512(dst *float32, src *uint16, n int)

//go:noescape
func widenF16AVX512(dst *float32, src *uint16, n int)
