//go:build amd64 && !purego

package compute

// avx2BlockDots is the avx2 set's table of ggml block dot products: the
// assembly kernels where they exist, the generic ones otherwise.
func avx2BlockDots() [numDTypes]blockDot {
	t := genericBlockDots()
	t[Q4_K] = kquantAsm(dotQ4KAVX2, 144)
	t[Q5_K] = kquantAsm(dotQ5KAVX2, 176)
	t[Q6_K] = kquantAsm(dotQ6KAVX2, 210)
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
func dotQ6KAVX2(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
