package compute

import "time"

// ReadBandwidth measures how fast the pool's workers stream memory: it
// allocates and fills a buffer of size bytes (make it several times the
// last-level cache), reads it reps times with the dot-product kernel split
// over the workers as MatMul splits weight rows, and returns the best pass
// in bytes per second. It is the ceiling for decode, which streams weights.
func (p *Pool) ReadBandwidth(size int64, reps int) float64 {
	n := int(size / 4)
	if n <= 0 || reps <= 0 {
		return 0
	}
	buf := make([]float32, n)
	p.For(n, 1<<16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			buf[i] = 1
		}
	})
	best := time.Duration(1<<63 - 1)
	for range reps {
		start := time.Now()
		p.For(n, 1<<16, func(lo, hi int) {
			kern.dot(buf[lo:hi], buf[lo:hi])
		})
		best = min(best, time.Since(start))
	}
	return float64(n*4) / best.Seconds()
}
