package compute

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/glmv/glmv/internal/cputime"
)

// BenchmarkDecodeVsWeightProbe runs the one-token products of 4
// GLM-4.1V-9B decoder layers (Q, K, V, O, gate-up, down: 870 MB in
// Q8_0, 460 MB in Q4_0) on a pool of 1 and 2 workers, each pass right
// after a ReadProbe pass over the same weight bytes, as glmv bench does
// per token. It reports the median over rounds of decode's rate over the
// probe's just before it, by wall time ("fraction") and by the process's
// CPU time ("cpu-fraction"; spinning and yielding count), and both rates.
// The weights are random bytes with small scales: the products' values do
// not matter here, only the streaming.
func BenchmarkDecodeVsWeightProbe(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, dt := range []DType{Q8_0, Q4_0} {
		var ms []*Matrix
		for range 4 {
			for _, sh := range layerShapes {
				ms = append(ms, randomQuantMatrix(rng, dt, sh[0], sh[1]))
			}
		}
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%v/%dthreads", dt, workers), func(b *testing.B) {
				p := NewPool(workers)
				defer p.Close()
				decodeVsWeightProbe(b, p, rng, ms)
			})
		}
	}
}

// randomQuantMatrix is a Q8_0 or Q4_0 matrix of random quants and scales
// between 2⁻¹⁰ and 2⁻⁹, on huge pages.
func randomQuantMatrix(rng *rand.Rand, dt DType, rows, cols int) *Matrix {
	m, err := newMatrix(dt, rows, cols)
	if err != nil {
		panic(err)
	}
	m.hugePages()
	for i := 0; i+8 <= len(m.Q); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			m.Q[i+j] = byte(v >> (8 * j))
		}
	}
	for i := range m.Scales {
		m.Scales[i] = 0x1400 | uint16(rng.IntN(0x400))
	}
	return m
}

func decodeVsWeightProbe(b *testing.B, p *Pool, rng *rand.Rand, ms []*Matrix) {
	var segs [][]byte
	var bytes int64
	maxRows, maxCols := 0, 0
	for _, m := range ms {
		segs = append(segs, m.Storage()...)
		bytes += m.Bytes()
		maxRows, maxCols = max(maxRows, m.Rows), max(maxCols, m.Cols)
	}
	probe := NewReadProbe(segs)
	x, out := randF32(rng, maxCols), make([]float32, maxRows)
	timed := func(f func()) (wall, cpu time.Duration) {
		c0, t0 := cputime.Process(), time.Now()
		f()
		return time.Since(t0), cputime.Process() - c0
	}
	var frac, cpuFrac, dec, pr []float64
	for b.Loop() {
		pw, pc := timed(func() { probe.Pass(p) })
		dw, dc := timed(func() {
			for _, m := range ms {
				p.MatMul(out[:m.Rows], x[:m.Cols], 1, m)
			}
		})
		frac = append(frac, pw.Seconds()/dw.Seconds())
		cpuFrac = append(cpuFrac, pc.Seconds()/dc.Seconds())
		dec = append(dec, float64(bytes)/dw.Seconds()/1e9)
		pr = append(pr, float64(bytes)/pw.Seconds()/1e9)
	}
	med := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
	b.ReportMetric(med(frac), "fraction")
	b.ReportMetric(med(cpuFrac), "cpu-fraction")
	b.ReportMetric(med(dec), "decode-GB/s")
	b.ReportMetric(med(pr), "probe-GB/s")
}
