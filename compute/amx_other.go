//go:build !amd64 || purego

package compute

// amxSplitRow is amxSplitRowGo: this build has no SIMD version.
func amxSplitRow(dst []uint16, x []float32) { amxSplitRowGo(dst, x) }
