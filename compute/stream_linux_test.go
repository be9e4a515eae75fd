package compute

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU is the CPU time of the calling thread.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return time.Duration(ts.Nano())
}

// BenchmarkDecodeVsStream compares one-token matrix products over the
// weights of a GLM-4.1V-9B decoder layer (Q, K, V, O, gate-up, down;
// about 220 MB in Q8_0) with the read-sum probe over a buffer of the same
// size, on one thread, by the CPU time each takes: on a machine shared with
// other work the wall time of either swings by 2× from minute to minute,
// while CPU time counts only the time the thread ran. It reports both
// rates and decode's fraction of the probe (median of the rounds, each
// round the best of 3 passes of each, alternated).
func BenchmarkDecodeVsStream(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dt := range []DType{Q8_0, Q4_0} {
		for _, tokens := range []int{1, 2, 3} {
			name := dt.String()
			if tokens > 1 {
				name += fmt.Sprintf("-T%d", tokens)
			}
			b.Run(name, func(b *testing.B) {
				// Thread CPU time needs the goroutine to stay on its thread.
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				var ms []*Matrix
				var bytes int64
				for _, sh := range [][2]int{{4096, 4096}, {256, 4096}, {256, 4096}, {4096, 4096}, {27392, 4096}, {4096, 13696}} {
					f := &Matrix{DType: F32, Rows: sh[0], Cols: sh[1], F32: randF32(rng, sh[0]*sh[1])}
					m, err := Quantize(f, dt)
					if err != nil {
						b.Fatal(err)
					}
					ms = append(ms, m)
					bytes += m.Bytes()
				}
				x, out := randF32(rng, tokens*13696), make([]float32, tokens*27392)
				buf := make([]uint64, bytes/8)
				hugeSlice(buf)
				for i := range buf {
					buf[i] = uint64(i)
				}
				sl := bestStream()
				best := func(f func()) float64 {
					t := time.Duration(1<<63 - 1)
					for range 3 {
						s := threadCPU()
						f()
						t = min(t, threadCPU()-s)
					}
					return float64(bytes) / t.Seconds() / 1e9
				}
				var dec, probe, frac []float64
				var sink uint64
				for b.Loop() {
					d := best(func() {
						for _, m := range ms {
							(*Pool)(nil).MatMul(out[:tokens*m.Rows], x[:tokens*m.Cols], tokens, m)
						}
					})
					p := best(func() { sink += sl.sum(buf) })
					dec, probe, frac = append(dec, d), append(probe, p), append(frac, d/p)
				}
				med := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
				b.ReportMetric(med(dec), "decode-GB/s")
				b.ReportMetric(med(probe), "probe-GB/s")
				b.ReportMetric(med(frac), "fraction")
				if sink == 1 { // keeps the sums live
					b.Log(sink)
				}
			})
		}
	}
}
