package model

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/internal/cputime"
)

// moeSequential is the MoE block as it ran before the grouped paths: the
// experts one after the other, each as three matrix products split over
// the whole pool, with fresh buffers. BenchmarkMoE compares against it in
// the same process.
func (m *Text) moeSequential(out, x []float32, T int, p *MoE) {
	mc := m.Cfg.MoE
	H, E, K := m.Cfg.Hidden, mc.Experts, mc.TopK
	logits := make([]float32, T*E)
	m.Pool.MatMul(logits, x, T, p.Router)
	idx, wts := make([]int, T*K), make([]float32, T*K)
	scores, sel, groups := make([]float32, E), make([]float32, E), make([]float32, max(1, mc.NGroup))
	for t := range T {
		route(logits[t*E:(t+1)*E], p.CorrectionBias, mc, idx[t*K:(t+1)*K], wts[t*K:(t+1)*K], scores, sel, groups)
	}
	mlp := func(out, x []float32, n int, e *MLP) {
		I := e.Width()
		act, up := make([]float32, n*I), make([]float32, n*I)
		m.Pool.MatMul(act, x, n, e.Gate)
		m.Pool.MatMul(up, x, n, e.Up)
		compute.SiLUMul(act, act, up)
		m.Pool.MatMul(out, act, n, e.Down)
	}
	mlp(out, x, T, p.Shared)
	for e := range E {
		var toks []int
		var ws []float32
		for i, ie := range idx {
			if ie == e {
				toks, ws = append(toks, i/K), append(ws, wts[i])
			}
		}
		n := len(toks)
		if n == 0 {
			continue
		}
		xs, ys := make([]float32, n*H), make([]float32, n*H)
		for i, t := range toks {
			copy(xs[i*H:(i+1)*H], x[t*H:(t+1)*H])
		}
		mlp(ys, xs, n, &p.Experts[e])
		for i, t := range toks {
			o := out[t*H : (t+1)*H]
			for j, v := range ys[i*H : (i+1)*H] {
				o[j] += ws[i] * v
			}
		}
	}
}

// BenchmarkMoE times one GLM-4.5V MoE block (hidden 4096, 128 experts of
// width 1408, 8 active, one shared expert) on random weights and inputs:
// a 512-token prefill (about 32 tokens per expert), one decoded token and
// a batch of 4, by the block's own paths ("grouped") and, for comparison,
// the experts one after the other on the whole pool ("sequential"). Each
// reports tokens per second of wall time and per CPU second (the machine
// may be shared).
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
		for _, T := range []int{512, 1, 4} {
			x := make([]float32, T*H)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			out := make([]float32, T*H)
			// Two rounds, alternating, as the machine's load changes.
			for _, way := range []string{"grouped", "sequential", "grouped", "sequential"} {
				run := func() { m.moe(out, x, T, p, nil) }
				if way == "sequential" {
					run = func() { m.moeSequential(out, x, T, p) }
				}
				b.Run(fmt.Sprintf("%s/T%d/%s", wt.name, T, way), func(b *testing.B) {
					run()
					b.ReportAllocs()
					c0 := cputime.Process()
					for b.Loop() {
						run()
					}
					b.ReportMetric(float64(T)*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
					if c := cputime.Process() - c0; c > 0 {
						b.ReportMetric(float64(c.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
						b.ReportMetric(float64(T)*float64(b.N)/c.Seconds(), "tok/cpu-s")
					}
				})
			}
		}
		pool.Close()
	}
}
