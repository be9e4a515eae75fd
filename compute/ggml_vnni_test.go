package compute

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkGGMLBlockDot measures each kernel set's block dot product on one
// cached 4096-column weight row (SetBytes is the row's size, so MB/s is
// the kernel's weight throughput when memory is not the limit).
func BenchmarkGGMLBlockDot(b *testing.B) {
	for _, dt := range blockTypes() {
		for _, k := range kernelSets() {
			b.Run(fmt.Sprintf("%v/%s", dt, k.name), func(b *testing.B) {
				const cols = 4096
				rng := rand.New(rand.NewPCG(3, 4))
				w := randomBlockMatrix(b, rng, dt, 1, cols)
				x := randF32(rng, cols)
				var p *Pool
				acts := p.quantizeActs(k, dt, x, 1, cols)
				dot := k.blockDot[dt]
				b.SetBytes(int64(len(w.Q)))
				var s float32
				for b.Loop() {
					s += dot(&acts[0], w.Q)
				}
				_ = s
			})
		}
	}
}
