package compute

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkPoolForShort measures For's hand-off as decode sees it: two
// chunks of 20 µs of work on a 2-worker pool, with 30 µs of work on the
// caller alone between calls (a layer's norms and attention between its
// matrix products), and with 300 µs (longer than poolSpin, so the worker
// has blocked). The ideal is 50 and 320 µs/op; each microsecond above is
// the hand-off's cost (a parked worker's wake-up, the caller's wait).
func BenchmarkPoolForShort(b *testing.B) {
	p := NewPool(2)
	defer p.Close()
	busy := func(d time.Duration) {
		for t0 := time.Now(); time.Since(t0) < d; {
		}
	}
	for _, gap := range []int{30, 300} {
		b.Run(fmt.Sprintf("gap%dus", gap), func(b *testing.B) {
			for b.Loop() {
				p.For(2, 1, func(lo, hi int) { busy(20 * time.Microsecond) })
				busy(time.Duration(gap) * time.Microsecond)
			}
		})
	}
}
