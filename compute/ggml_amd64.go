//go:build amd64 && !purego

package compute

// avx2BlockDots is the avx2 set's table of ggml block dot products: the
// assembly kernels where they exist, the generic ones otherwise.
func avx2BlockDots() [numDTypes]blockDot {
	t := genericBlockDots()
	t[Q4_K] = kquantAsm(dotQ4KAVX2, 144)
	t[Q5_K] = kquantAsm(dotQ5KAVX2, 176)
	t[Q6_K] = kquantAsm(dotQ6KAVX2, 210)
	t[Q2_K] = kquantAsm(dotQ2KAVX2, 84)
	t[Q3_K] = kquantAsm(dotQ3KAVX2, 110)
	t[GGMLQ8_0] = block32Asm(dotQ8_0GAVX2, 34)
	t[GGMLQ4_0] = block32Asm(dotQ4_0GAVX2, 18)
	t[Q4_1] = block32Asm(dotQ4_1AVX2, 20)
	t[Q5_0] = block32Asm(dotQ5_0AVX2, 22)
	t[Q5_1] = block32Asm(dotQ5_1AVX2, 24)
	return t
}

// kquantAsm wraps a K-quant assembly dot product (block size ts bytes)
// with the bounds checks that keep it inside its slices.
func kquantAsm(f func(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32, ts int) blockDot {
	return func(a *actRow, w []byte) float32 {
		nb := len(w) / ts
		if nb == 0 {
			return 0
		}
		_, _, _ = a.q[nb*qkBlock-1], a.d[nb*qkBlock/qBlock-1], a.bsum[nb*16-1]
		return f(&a.q[0], &a.d[0], &a.bsum[0], &w[0], nb)
	}
}

//go:noescape
func dotQ4KAVX2(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32

//go:noescape
func dotQ5KAVX2(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32

//go:noescape
func dotQ2KAVX2(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32

//go:noescape
func dotQ3KAVX2(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32

//go:noescape
func dotQ6KAVX2(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32

// block32Asm wraps an assembly dot product for a 32-column format (block
// size ts bytes) with the bounds checks that keep it inside its slices.
func block32Asm(f func(xq *int8, xd, xs *float32, w *byte, nb int) float32, ts int) blockDot {
	return func(a *actRow, w []byte) float32 {
		nb := len(w) / ts
		if nb == 0 {
			return 0
		}
		_, _, _ = a.q[nb*qBlock-1], a.d[nb-1], a.s[nb-1]
		return f(&a.q[0], &a.d[0], &a.s[0], &w[0], nb)
	}
}

//go:noescape
func dotQ8_0GAVX2(xq *int8, xd, xs *float32, w *byte, nb int) float32

//go:noescape
func dotQ4_0GAVX2(xq *int8, xd, xs *float32, w *byte, nb int) float32

//go:noescape
func dotQ4_1AVX2(xq *int8, xd, xs *float32, w *byte, nb int) float32

//go:noescape
func dotQ5_0AVX2(xq *int8, xd, xs *float32, w *byte, nb int) float32

//go:noescape
func dotQ5_1AVX2(xq *int8, xd, xs *float32, w *byte, nb int) float32

// avx2DequantBlks is the avx2 set's table of whole-block dequantizers.
func avx2DequantBlks() [numDTypes]func(dst []float32, w []byte) {
	t := genericDequantBlks()
	asm := func(f func(dst *float32, w *byte, nb int), dt DType) func(dst []float32, w []byte) {
		bs, ts := blockFormats[dt].bs, blockFormats[dt].ts
		return func(dst []float32, w []byte) {
			nb := len(w) / ts
			if nb == 0 {
				return
			}
			_ = dst[nb*bs-1]
			f(&dst[0], &w[0], nb)
		}
	}
	t[Q4_K] = asm(dequantQ4KAVX2, Q4_K)
	t[Q5_K] = asm(dequantQ5KAVX2, Q5_K)
	t[Q6_K] = asm(dequantQ6KAVX2, Q6_K)
	t[GGMLQ8_0] = asm(dequantQ8_0GAVX2, GGMLQ8_0)
	t[GGMLQ4_0] = asm(dequantQ4_0GAVX2, GGMLQ4_0)
	t[Q4_1] = asm(dequantQ4_1AVX2, Q4_1)
	t[Q5_0] = asm(dequantQ5_0AVX2, Q5_0)
	t[Q5_1] = asm(dequantQ5_1AVX2, Q5_1)
	t[Q2_K] = asm(dequantQ2KAVX2, Q2_K)
	t[Q3_K] = asm(dequantQ3KAVX2, Q3_K)
	return t
}

//go:noescape
func dequantQ4KAVX2(dst *float32, w *byte, nb int)

//go:noescape
func dequantQ5KAVX2(dst *float32, w *byte, nb int)

//go:noescape
func dequantQ6KAVX2(dst *float32, w *byte, nb int)

//go:noescape
func dequantQ8_0GAVX2(dst *float32, w *byte, nb int)

//go:noescape
func dequantQ4_0GAVX2(dst *float32, w *byte, nb int)

//go:noescape
func dequantQ4_1AVX2(dst *float32, w *byte, nb int)

//go:noescape
func dequantQ5_0AVX2(dst *float32, w *byte, nb int)

//go:noescape
func dequantQ5_1AVX2(dst *float32, w *byte, nb int)

//go:noescape
func dequantQ2KAVX2(dst *float32, w *byte, nb int)

//go:noescape
func dequantQ3KAVX2(dst *float32, w *byte, nb int)
