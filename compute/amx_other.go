//go:build !amd64 || purego

package compute

// amxSplitRow is amxSplitRowGo: this build has no SIMD version.
func amxSplitRow(dst []uint16, x []float32) { amxSplitRowGo(dst, x) }

// amxAddBlock reports false: amxAddOut adds every block in Go here.
func amxAddBlock(out []float32, acc []uint32, rowMajor bool, t0, n0, T, N int) bool {
	return false
}
