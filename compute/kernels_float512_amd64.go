//go:build amd64 && !purego

package compute

// useFloat512 swaps the AVX-512 f32, bf16 and f16 weight kernels of
// kernels_float512_amd64.s into k. The assembly runs on a multiple of 16
// columns; the generic code finishes the rest.
func useFloat512(k *kernels) {
	k.dot = func(a, b []float32) float32 {
		n := len(a)
		n16 := n &^ 15
		var s float32
		if n16 > 0 {
			_ = b[n16-1]
			s = dotF32AVX512(&a[0], &b[0], n16)
		}
		return s + dotGeneric(a[n16:], b[n16:n])
	}
	k.dotBF16 = func(x []float32, w []uint16) float32 {
		n := len(x)
		n16 := n &^ 15
		var s float32
		if n16 > 0 {
			_ = w[n16-1]
			s = dotBF16AVX512(&x[0], &w[0], n16)
		}
		return s + dotBF16Generic(x[n16:], w[n16:n])
	}
	k.dotF16 = func(x []float32, w []uint16) float32 {
		n := len(x)
		n16 := n &^ 15
		var s float32
		if n16 > 0 {
			_ = w[n16-1]
			s = dotF16AVX512(&x[0], &w[0], n16)
		}
		return s + dotF16Generic(x[n16:], w[n16:n])
	}
	k.dot4 = func(x, w []float32, stride int, out *[4]float32) {
		n := len(x)
		n16 := n &^ 15
		*out = [4]float32{}
		if n16 > 0 {
			_ = w[3*stride+n16-1]
			dot4F32AVX512(&x[0], &w[0], stride, n16, &out[0])
		}
		if n16 < n {
			for i := range out {
				out[i] += dotGeneric(x[n16:], w[i*stride+n16:i*stride+n])
			}
		}
	}
	k.dot4BF16 = func(x []float32, w []uint16, stride int, out *[4]float32) {
		n := len(x)
		n16 := n &^ 15
		*out = [4]float32{}
		if n16 > 0 {
			_ = w[3*stride+n16-1]
			dot4BF16AVX512(&x[0], &w[0], stride, n16, &out[0])
		}
		if n16 < n {
			for i := range out {
				out[i] += dotBF16Generic(x[n16:], w[i*stride+n16:i*stride+n])
			}
		}
	}
	k.dot4F16 = func(x []float32, w []uint16, stride int, out *[4]float32) {
		n := len(x)
		n16 := n &^ 15
		*out = [4]float32{}
		if n16 > 0 {
			_ = w[3*stride+n16-1]
			dot4F16AVX512(&x[0], &w[0], stride, n16, &out[0])
		}
		if n16 < n {
			for i := range out {
				out[i] += dotF16Generic(x[n16:], w[i*stride+n16:i*stride+n])
			}
		}
	}
	k.widenBF16 = func(dst []float32, src []uint16) {
		n := len(dst)
		n16 := n &^ 15
		if n16 > 0 {
			_ = src[n16-1]
			widenBF16AVX512(&dst[0], &src[0], n16)
		}
		widenBF16Generic(dst[n16:], src[n16:n])
	}
	k.widenF16 = func(dst []float32, src []uint16) {
		n := len(dst)
		n16 := n &^ 15
		if n16 > 0 {
			_ = src[n16-1]
			widenF16AVX512(&dst[0], &src[0], n16)
		}
		widenF16Generic(dst[n16:], src[n16:n])
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
