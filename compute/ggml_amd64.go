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
		_, _, _ = a.q[nb*qkBlock-1], a.d[nb-1], a.bsum[nb*16-1]
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
