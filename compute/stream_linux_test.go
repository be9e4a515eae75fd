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
// round the best of 3 passes of each, alternated). The -T2 and -T3 cases
// multiply 2 and 3 tokens (the rate counts the weight bytes once).
func BenchmarkDecodeVsStream(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dt := range []DType{Q8_0, Q4_0} {
		for _, tokens := range []int{1, 2, 3} {
			name := dt.String()
			if tokens > 1 {
				name += fmt.Sprintf("-T%d", tokens)
			}
			b.Run(name, func(b *testing.B) {
				var ms []*Matrix
				for _, sh := range layerShapes {
					f := &Matrix{DType: F32, Rows: sh[0], Cols: sh[1], F32: randF32(rng, sh[0]*sh[1])}
					m, err := Quantize(f, dt)
					if err != nil {
						b.Fatal(err)
					}
					ms = append(ms, m)
				}
				decodeVsStream(b, rng, ms, tokens)
			})
		}
	}
}

// BenchmarkDecodeVsStreamGGUF is BenchmarkDecodeVsStream for the same
// layer in the ggml block formats as a GGUF file holds them: Q4_K_M
// (Q4_K, with Q6_K for V and Q8_0 for the down projection, whose 13696
// columns are no whole number of 256-blocks: llama-quantize's fallback)
// and Q8_0, for one and three tokens. The weights repeat 64 quantized rows (the reference
// quantizers are slow), which changes nothing for streaming.
func BenchmarkDecodeVsStreamGGUF(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	mixes := []struct {
		name string
		dts  []DType
	}{
		{"Q4_K_M", []DType{Q4_K, Q4_K, Q6_K, Q4_K, Q4_K, GGMLQ8_0}},
		{"Q8_0", []DType{GGMLQ8_0, GGMLQ8_0, GGMLQ8_0, GGMLQ8_0, GGMLQ8_0, GGMLQ8_0}},
	}
	for _, mix := range mixes {
		for _, tokens := range []int{1, 3} {
			name := mix.name
			if tokens > 1 {
				name += fmt.Sprintf("-T%d", tokens)
			}
			b.Run(name, func(b *testing.B) {
				var ms []*Matrix
				for i, sh := range layerShapes {
					dt, rows, cols := mix.dts[i], sh[0], sh[1]
					const rep = 64
					f := &Matrix{DType: F32, Rows: rep, Cols: cols, F32: randF32(rng, rep*cols)}
					one := make([]byte, rep*cols/dt.BlockSize()*blockFormats[dt].ts)
					if err := QuantizeBlocks(dt, one, f.F32); err != nil {
						b.Fatal(err)
					}
					data := make([]byte, rows/rep*len(one))
					hugeSlice(data)
					for j := 0; j < len(data); j += len(one) {
						copy(data[j:], one)
					}
					m, err := NewBlockMatrix(dt, rows, cols, data)
					if err != nil {
						b.Fatal(err)
					}
					ms = append(ms, m)
				}
				decodeVsStream(b, rng, ms, tokens)
			})
		}
	}
}

// layerShapes are the [rows, cols] of a GLM-4.1V-9B decoder layer's
// weights: Q, K, V, O, gate-up, down.
var layerShapes = [][2]int{{4096, 4096}, {256, 4096}, {256, 4096}, {4096, 4096}, {27392, 4096}, {4096, 13696}}

// decodeVsStream runs BenchmarkDecodeVsStream's measurement over ms.
func decodeVsStream(b *testing.B, rng *rand.Rand, ms []*Matrix, tokens int) {
	// Thread CPU time needs the goroutine to stay on its thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var bytes int64
	maxRows, maxCols := 0, 0
	for _, m := range ms {
		bytes += m.Bytes()
		maxRows, maxCols = max(maxRows, m.Rows), max(maxCols, m.Cols)
	}
	x, out := randF32(rng, tokens*maxCols), make([]float32, tokens*maxRows)
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
}
