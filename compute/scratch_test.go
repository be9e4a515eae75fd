package compute

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkScratchQ(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := randF32(rng, 4096)
	nb := 128
	xq, xd, xs := make([]int8, 4096), make([]float32, nb), make([]float32, nb)
	k := avx2Kernels
	b.Run("quant", func(b *testing.B) {
		for b.Loop() {
			k.quantQ8(xq, xd, xs, x)
		}
	})
	w, _ := Quantize(&Matrix{DType: F32, Rows: 1, Cols: 4096, F32: x}, Q8_0)
	w4, _ := Quantize(&Matrix{DType: F32, Rows: 1, Cols: 4096, F32: x}, Q4_0)
	b.Run("dotq8", func(b *testing.B) {
		for b.Loop() {
			k.dotQ8(xq, xd, xs, w.Q, w.Scales)
		}
	})
	b.Run("dotq4", func(b *testing.B) {
		for b.Loop() {
			k.dotQ4(xq, xd, xs, w4.Q, w4.Scales)
		}
	})
}
