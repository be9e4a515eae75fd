//go:build amd64 && !purego

package compute

// useAttn512 swaps the AVX-512 attention kernels of kernels_attn512_amd64.s
// into k, keeping k's previous (AVX2) routines for head sizes that are not
// a multiple of 16 and the generic code for the last len(s)%16 scores of
// expSum. (accum only serves such head sizes, so it stays AVX2.)
func useAttn512(k *kernels) {
	scores, scores3x4 := k.scores, k.scores3x4
	k.scores3x4 = func(s []float32, sstride int, q []float32, qstride int, kk []float32, kstride, d int) {
		if d <= 0 || d%16 != 0 {
			scores3x4(s, sstride, q, qstride, kk, kstride, d)
			return
		}
		_, _, _ = s[2*sstride+3], q[2*qstride+d-1], kk[3*kstride+d-1]
		scores3x4AVX512(&s[0], sstride, &q[0], qstride, &kk[0], kstride, d)
	}
	k.scores = func(s, q, kk []float32, kstride int) {
		d := len(q)
		if len(s) == 0 || d == 0 || d%16 != 0 {
			scores(s, q, kk, kstride)
			return
		}
		_ = kk[(len(s)-1)*kstride+d-1]
		scoresAVX512(&s[0], &q[0], &kk[0], len(s), d, kstride)
	}
	k.attnT = &attnTKernels{
		qk: func(s, qt, kk []float32, kstride, n, d int) {
			_, _, _ = s[n*16-1], qt[d*16-1], kk[(n-1)*kstride+d-1]
			qkT16AVX512(&s[0], &qt[0], &kk[0], kstride, n, d)
		},
		softmax: func(s []float32, n int, m, l, acc []float32, d int) {
			_, _, _, _ = s[n*16-1], m[15], l[15], acc[d*16-1]
			softmaxT16AVX512(&s[0], n, &m[0], &l[0], &acc[0], d)
		},
		pv: func(acc, pp, v []float32, vstride, n, d int) {
			_, _, _ = acc[d*16-1], pp[n*16-1], v[(n-1)*vstride+d-1]
			pvT16AVX512(&acc[0], &pp[0], &v[0], vstride, n, d)
		},
		scaleAdd: func(dst, src, f []float32, d int) {
			_, _, _ = dst[d*16-1], src[d*16-1], f[15]
			scaleAddT16AVX512(&dst[0], &src[0], &f[0], d)
		},
	}
	k.expSum = func(s []float32, m float32) float32 {
		n16 := len(s) &^ 15
		var sum float32
		if n16 > 0 {
			sum = expSumAVX512(&s[0], n16, m)
		}
		return sum + expSumGeneric(s[n16:], m)
	}
}

//go:noescape
func expSumAVX512(s *float32, n int, m float32) float32

//go:noescape
func scoresAVX512(s, q, k *float32, n, d, kstride int)

//go:noescape
func scores3x4AVX512(s *float32, sstride int, q *float32, qstride int, k *float32, kstride, d int)

//go:noescape
func qkT16AVX512(s, qt, k *float32, kstride, n, d int)

//go:noescape
func softmaxT16AVX512(s *float32, n int, m, l, acc *float32, d int)

//go:noescape
func pvT16AVX512(acc, p, v *float32, vstride, n, d int)

//go:noescape
func scaleAddT16AVX512(dst, src, f *float32, d int)
