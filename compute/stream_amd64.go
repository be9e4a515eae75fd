//go:build amd64 && !purego

package compute

import "golang.org/x/sys/cpu"

// streamLoopSets returns the probe loops this CPU can run, slowest first.
func streamLoopSets() []*streamLoops {
	sets := []*streamLoops{genericStream}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		sets = append(sets, &streamLoops{name: "avx2", sum: sumAVX2Go, triad: triadAVX2Go})
	}
	if cpu.X86.HasAVX512F {
		sets = append(sets, &streamLoops{name: "avx512", sum: sumAVX512Go, triad: triadAVX512Go})
	}
	return sets
}

// The assembly loops take whole units of 512 bytes (sum) or 128 floats
// (triad); the Go wrappers finish the rest.
const (
	sumUnit   = 512 / 8
	triadUnit = 128
)

func sumAVX2Go(p []uint64) uint64                { return sumWith(sumAVX2, p) }
func sumAVX512Go(p []uint64) uint64              { return sumWith(sumAVX512, p) }
func triadAVX2Go(a, b, c []float32, s float32)   { triadWith(triadAVX2, a, b, c, s) }
func triadAVX512Go(a, b, c []float32, s float32) { triadWith(triadAVX512, a, b, c, s) }

func sumWith(f func(p *uint64, n int) uint64, p []uint64) uint64 {
	full := len(p) / sumUnit * sumUnit
	var s uint64
	if full > 0 {
		s = f(&p[0], full)
	}
	return s + sumGeneric(p[full:])
}

func triadWith(f func(a, b, c *float32, n int, s float32), a, b, c []float32, s float32) {
	b, c = b[:len(a)], c[:len(a)]
	full := len(a) / triadUnit * triadUnit
	if full > 0 {
		f(&a[0], &b[0], &c[0], full, s)
	}
	triadGeneric(a[full:], b[full:], c[full:], s)
}

// sumAVX2 and sumAVX512 return the wrapping sum of n 64-bit words (n a
// positive multiple of 64) with 8 independent vector accumulators.
//
//go:noescape
func sumAVX2(p *uint64, n int) uint64

//go:noescape
func sumAVX512(p *uint64, n int) uint64

// triadAVX2 and triadAVX512 set a[i] = b[i] + s·c[i] for n values (a
// positive multiple of 128).
//
//go:noescape
func triadAVX2(a, b, c *float32, n int, s float32)

//go:noescape
func triadAVX512(a, b, c *float32, n int, s float32)
