package compute

import (
	"fmt"
	"testing"
)

// TestStreamLoops checks every probe loop set against the generic one on
// lengths around the assembly's unit sizes.
func TestStreamLoops(t *testing.T) {
	for _, sl := range streamLoopSets() {
		for _, n := range []int{0, 1, 63, 64, 65, 127, 128, 129, 1000, 4096 + 77} {
			t.Run(fmt.Sprintf("%s/%d", sl.name, n), func(t *testing.T) {
				p := make([]uint64, n)
				var want uint64
				for i := range p {
					p[i] = uint64(i)*0x9e3779b97f4a7c15 + 1
					want += p[i]
				}
				if got := sl.sum(p); got != want {
					t.Fatalf("sum = %#x, want %#x", got, want)
				}
				a, b, c := make([]float32, n), make([]float32, n+3), make([]float32, n+5)
				for i := range b {
					b[i] = float32(i%97) - 40
				}
				for i := range c {
					c[i] = float32(i%13) * 0.25
				}
				sl.triad(a, b, c, 1.5)
				for i := range a {
					// b + 1.5c is exact in float32 for these values, fused or not.
					if want := b[i] + 1.5*c[i]; a[i] != want {
						t.Fatalf("triad a[%d] = %v, want %v", i, a[i], want)
					}
				}
			})
		}
	}
}

// TestStreamProbes runs the probes on a small buffer with and without a
// pool: they must report a positive, finite bandwidth, and zero for an
// empty request.
func TestStreamProbes(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	for _, pool := range []*Pool{nil, p} {
		for _, sl := range streamLoopSets() {
			if bw := pool.streamRead(sl, 8<<20, 2); !(bw > 0 && bw < 1e15) {
				t.Errorf("%s: read bandwidth %v", sl.name, bw)
			}
			if bw := pool.streamTriad(sl, 12<<20, 2); !(bw > 0 && bw < 1e15) {
				t.Errorf("%s: triad bandwidth %v", sl.name, bw)
			}
		}
		if pool.StreamRead(0, 3) != 0 || pool.StreamTriad(1<<20, 0) != 0 {
			t.Error("empty probe did not return 0")
		}
	}
}

// BenchmarkStream reports the probes' bandwidth over 512 MiB per loop set.
func BenchmarkStream(b *testing.B) {
	p := NewPool(0)
	defer p.Close()
	for _, sl := range streamLoopSets() {
		b.Run("read/"+sl.name, func(b *testing.B) {
			for range b.N {
				b.ReportMetric(p.streamRead(sl, 512<<20, 3)/1e9, "GB/s")
			}
		})
		b.Run("triad/"+sl.name, func(b *testing.B) {
			for range b.N {
				b.ReportMetric(p.streamTriad(sl, 512<<20, 3)/1e9, "GB/s")
			}
		})
	}
}
