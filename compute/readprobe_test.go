package compute

import (
	"encoding/binary"
	"fmt"
	"testing"
)

// TestReadProbe checks that a pass reads every byte of every segment
// exactly once, whatever the segment lengths (whole words or not, empty,
// shorter than a word, longer than a chunk) and the number of workers, for
// every probe loop set.
func TestReadProbe(t *testing.T) {
	lens := []int{0, 3, 8, 4100, 1 << 20, 5, 3<<20 + 7, 64, 0, 2<<20 + 512}
	segs := make([][]byte, len(lens))
	var want uint64
	var bytes int64
	for i, n := range lens {
		s := make([]byte, n)
		for j := range s {
			s[j] = byte(j*7 + i*13 + 1)
		}
		segs[i] = s
		bytes += int64(n)
		for j := 0; j+8 <= n; j += 8 {
			want += binary.LittleEndian.Uint64(s[j:])
		}
		for _, b := range s[n/8*8:] {
			want += uint64(b)
		}
	}
	for _, workers := range []int{1, 2, 3} {
		p := NewPool(workers)
		for _, sl := range streamLoopSets() {
			t.Run(fmt.Sprintf("%s/%d", sl.name, workers), func(t *testing.T) {
				r := newReadProbe(sl, segs)
				if r.Bytes() != bytes {
					t.Errorf("Bytes = %d, want %d", r.Bytes(), bytes)
				}
				for pass := range 2 {
					if got := r.Pass(p); got != want {
						t.Fatalf("pass %d: sum %#x, want %#x", pass, got, want)
					}
				}
			})
		}
		p.Close()
	}
	if got := NewReadProbe(nil).Pass(nil); got != 0 {
		t.Errorf("empty probe sum %d", got)
	}
}

// TestMatrixStorage checks that Storage covers exactly the bytes Bytes
// counts, for a float and a quantized matrix.
func TestMatrixStorage(t *testing.T) {
	f := &Matrix{DType: F32, Rows: 3, Cols: 40, F32: make([]float32, 120)}
	q, err := Quantize(f, Q8_0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Matrix{f, q} {
		var n int64
		for _, s := range m.Storage() {
			n += int64(len(s))
		}
		if n != m.Bytes() || n == 0 {
			t.Errorf("%v: Storage covers %d bytes, Bytes is %d", m.DType, n, m.Bytes())
		}
	}
	if got := len(q.Storage()); got != 2 {
		t.Errorf("Q8_0 storage has %d slices, want 2 (quants, scales)", got)
	}
}
