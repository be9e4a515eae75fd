package compute

import "unsafe"

// hugePages advises transparent huge pages for the data of m, a matrix
// just made and not yet filled (see adviseHuge).
func (m *Matrix) hugePages() {
	hugeSlice(m.F32)
	hugeSlice(m.U16)
	hugeSlice(m.Q)
	hugeSlice(m.Scales)
}

// hugeSlice advises transparent huge pages for s, just made and not yet
// written (see adviseHuge).
func hugeSlice[T any](s []T) {
	if len(s) > 0 {
		adviseHuge(unsafe.Pointer(&s[0]), len(s)*int(unsafe.Sizeof(s[0])))
	}
}
