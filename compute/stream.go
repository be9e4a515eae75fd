package compute

import "time"

// The streaming probes measure the memory bandwidth that decode (which
// streams every weight once per token) can reach on this machine, with the
// loops a C compiler makes of
//
//	for (i = 0; i < n; i++) sum += a[i];         // read-sum
//	for (i = 0; i < n; i++) a[i] = b[i] + s*c[i]; // triad (STREAM)
//
// at -O3 -march=native: the widest vector loads the CPU has, unrolled,
// with independent accumulators, and nothing else in the loop. Their
// buffers are on transparent huge pages where the kernel allows, as the
// weights are (see adviseHuge), so the probes measure the memory, not the
// page size. They are
// the reference decode is measured against ("decode at the memory limit"),
// so they do not depend on the kernel set GLMV_KERNELS picks: they always
// use the widest loads available (see streamLoops).

// streamLoops is one implementation of the probe's inner loops.
type streamLoops struct {
	name string
	// sum returns the wrapping sum of the 64-bit words of p.
	sum func(p []uint64) uint64
	// triad sets a[i] = b[i] + s·c[i] for i < len(a); b and c are at
	// least as long as a.
	triad func(a, b, c []float32, s float32)
}

// genericStream is the pure-Go form of the probes.
var genericStream = &streamLoops{name: "go", sum: sumGeneric, triad: triadGeneric}

func sumGeneric(p []uint64) uint64 {
	var s0, s1, s2, s3 uint64
	i := 0
	for ; i+4 <= len(p); i += 4 {
		s0 += p[i]
		s1 += p[i+1]
		s2 += p[i+2]
		s3 += p[i+3]
	}
	for ; i < len(p); i++ {
		s0 += p[i]
	}
	return s0 + s1 + s2 + s3
}

func triadGeneric(a, b, c []float32, s float32) {
	b, c = b[:len(a)], c[:len(a)]
	for i := range a {
		a[i] = b[i] + s*c[i]
	}
}

// streamGrain is the smallest share of a probe buffer a worker takes, in
// bytes.
const streamGrain = 1 << 20

// StreamRead measures the read bandwidth of the machine with the read-sum
// probe: it fills a buffer of size bytes (make it many times the
// last-level cache), sums it reps times split over the pool's workers as
// MatMul splits weight rows, and returns the best pass in bytes per second.
func (p *Pool) StreamRead(size int64, reps int) float64 {
	return p.streamRead(bestStream(), size, reps)
}

func (p *Pool) streamRead(sl *streamLoops, size int64, reps int) float64 {
	n := int(size / 8)
	if n <= 0 || reps <= 0 {
		return 0
	}
	buf := make([]uint64, n)
	hugeSlice(buf)
	p.For(n, streamGrain/8, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			buf[i] = uint64(i)
		}
	})
	sums := make([]uint64, p.Workers()*forChunksPerWorker+1)
	return float64(n*8) / bestPass(reps, func() {
		p.For(n, streamGrain/8, func(lo, hi int) {
			// One slot per chunk start keeps the sums live.
			sums[lo*(len(sums)-1)/n] += sl.sum(buf[lo:hi])
		})
	})
}

// StreamTriad measures the bandwidth of the STREAM triad a[i] = b[i] +
// s·c[i] over three float32 arrays of size/3 bytes each, split over the
// pool's workers, and returns the best of reps passes in bytes per second,
// counted as STREAM does: the bytes of a, b and c (12 per element; the
// write-allocate read of a is not counted).
func (p *Pool) StreamTriad(size int64, reps int) float64 {
	return p.streamTriad(bestStream(), size, reps)
}

func (p *Pool) streamTriad(sl *streamLoops, size int64, reps int) float64 {
	n := int(size / 12)
	if n <= 0 || reps <= 0 {
		return 0
	}
	a, b, c := make([]float32, n), make([]float32, n), make([]float32, n)
	for _, s := range [][]float32{a, b, c} {
		hugeSlice(s)
	}
	p.For(n, streamGrain/4, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			a[i], b[i], c[i] = 0, 1, 2
		}
	})
	return float64(n*12) / bestPass(reps, func() {
		p.For(n, streamGrain/4, func(lo, hi int) {
			sl.triad(a[lo:hi], b[lo:hi], c[lo:hi], 3)
		})
	})
}

// bestPass runs pass reps times and returns the shortest time in seconds.
func bestPass(reps int, pass func()) float64 {
	best := time.Duration(1<<63 - 1)
	for range reps {
		start := time.Now()
		pass()
		best = min(best, time.Since(start))
	}
	return best.Seconds()
}

// bestStream is the widest probe loop set this CPU runs.
func bestStream() *streamLoops {
	sets := streamLoopSets()
	return sets[len(sets)-1]
}

// StreamLoopsName names the loops the streaming probes use on this CPU
// ("avx512", "avx2" or "go").
func StreamLoopsName() string { return bestStream().name }
