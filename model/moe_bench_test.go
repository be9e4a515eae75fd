package model

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/internal/cputime"
)

// BenchmarkMoE times one GLM-4.5V MoE block (hidden 4096, 128 experts of
// width 1408, 8 active, one shared expert) on random weights and inputs:
// a 512-token prefill (about 32 tokens per expert) and one decoded token.
func BenchmarkMoE(b *testing.B) {
	for _, wt := range []struct {
		name string
		dt   compute.DType
	}{{"q8", compute.Q8_0}, {"q4", compute.Q4_0}} {
		cfg, _ := Preset("glm4.5v", 1)
		cfg.Text.Vocab = 16
		cfg.Text.MoE.FirstDense = 0
		w := RandomWeights(cfg, wt.dt, 1, false)
		pool := compute.NewPool(0)
		m := NewText(&cfg.Text, &w.Text, pool)
		H := cfg.Text.Hidden
		p := w.Text.Layers[0].MoE
		rng := rand.New(rand.NewPCG(1, 2))
		for _, T := range []int{512, 1} {
			b.Run(fmt.Sprintf("%s/T%d", wt.name, T), func(b *testing.B) {
				x := make([]float32, T*H)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				out := make([]float32, T*H)
				m.moe(out, x, T, p, nil)
				b.ReportAllocs()
				c0 := cputime.Process()
				for b.Loop() {
					m.moe(out, x, T, p, nil)
				}
				b.ReportMetric(float64(T)*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
				if c := cputime.Process() - c0; c > 0 {
					b.ReportMetric(float64(c.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
					b.ReportMetric(float64(T)*float64(b.N)/c.Seconds(), "tok/cpu-s")
				}
			})
		}
		pool.Close()
	}
}
