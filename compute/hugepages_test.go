package compute

import "testing"

// Advising huge pages on a fresh buffer keeps it zero and writable, at
// sizes and offsets that are not whole huge pages, and in reused heap
// memory (whose old contents were zeroed by make).
func TestHugeSlice(t *testing.T) {
	for round := range 3 {
		for _, n := range []int{1, 1 << 20, 5<<20 + 3, 17 << 20} {
			s := make([]uint32, n)
			hugeSlice(s)
			for i, v := range s {
				if v != 0 {
					t.Fatalf("round %d, n %d: s[%d] = %d after advising", round, n, i, v)
				}
			}
			for i := range s {
				s[i] = uint32(i) ^ 0x5a5a5a5a
			}
			for i, v := range s {
				if v != uint32(i)^0x5a5a5a5a {
					t.Fatalf("round %d, n %d: s[%d] = %#x", round, n, i, v)
				}
			}
		}
	}
}
