//go:build amd64 && !purego

package compute

// avx2BlockDots is the avx2 set's table of ggml block dot products: the
// assembly kernels where they exist, the generic ones otherwise.
func avx2BlockDots() [numDTypes]blockDot {
	t := genericBlockDots()
	return t
}
