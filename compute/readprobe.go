package compute

import (
	"sort"
	"unsafe"
)

// ReadProbe is the read-sum streaming probe (see StreamRead) over a fixed
// set of byte slices rather than a buffer of its own: over a model's
// weights it reads exactly the memory a decoded token reads, on the same
// pages, so that a pass timed next to a token measures what the machine's
// bandwidth is at that moment for those bytes.
type ReadProbe struct {
	segs  [][]byte
	start []int // start[i] is the first 8-byte word of segs[i] in the stream
	words int   // whole 8-byte words in all segments
	bytes int64
	sl    *streamLoops
	sums  []uint64 // one slot per chunk, to keep the sums live
}

// NewReadProbe returns a probe over segs (empty slices are skipped), read
// in order with the widest read-sum loop the CPU has.
func NewReadProbe(segs [][]byte) *ReadProbe {
	return newReadProbe(bestStream(), segs)
}

func newReadProbe(sl *streamLoops, segs [][]byte) *ReadProbe {
	r := &ReadProbe{sl: sl}
	for _, s := range segs {
		if len(s) == 0 {
			continue
		}
		r.segs = append(r.segs, s)
		r.start = append(r.start, r.words)
		r.words += len(s) / 8
		r.bytes += int64(len(s))
	}
	return r
}

// Bytes is the number of bytes one pass reads.
func (r *ReadProbe) Bytes() int64 { return r.bytes }

// Pass reads every byte once. The segments are one stream of 8-byte
// words, cut over the pool's workers into the chunks For makes, as
// StreamRead cuts its buffer (so a worker's share runs across segment
// boundaries with no wait between them); the few bytes at the end of each
// segment past its last whole word are summed by the caller afterwards.
// It returns the wrapping sum of everything read.
func (r *ReadProbe) Pass(p *Pool) uint64 {
	if r.words > 0 {
		if n := p.Workers()*forChunksPerWorker + 1; len(r.sums) != n {
			r.sums = make([]uint64, n)
		}
		p.For(r.words, streamGrain/8, func(lo, hi int) {
			// The segment holding word lo.
			i := sort.Search(len(r.start), func(i int) bool { return r.start[i] > lo }) - 1
			var s uint64
			for ; i < len(r.segs) && r.start[i] < hi; i++ {
				w := len(r.segs[i]) / 8
				a, b := max(lo-r.start[i], 0), min(hi-r.start[i], w)
				if a < b {
					s += r.sl.sum(wordsOf(r.segs[i])[a:b])
				}
			}
			r.sums[lo*(len(r.sums)-1)/r.words] += s
		})
	}
	var total uint64
	for _, s := range r.segs {
		for _, b := range s[len(s)/8*8:] {
			total += uint64(b)
		}
	}
	for _, s := range r.sums {
		total += s
	}
	clear(r.sums)
	return total
}

// wordsOf views the whole 8-byte words of b as uint64s (unaligned loads
// are fine on the CPUs the probe loops run on).
func wordsOf(b []byte) []uint64 {
	if len(b) < 8 {
		return nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
}

// Storage returns the slices of m's stored data as bytes, the memory a
// matrix product with m reads: F32, U16, Q and Scales, those not empty.
func (m *Matrix) Storage() [][]byte {
	var out [][]byte
	for _, b := range [][]byte{bytesOf(m.F32), bytesOf(m.U16), m.Q, bytesOf(m.Scales)} {
		if len(b) > 0 {
			out = append(out, b)
		}
	}
	return out
}
