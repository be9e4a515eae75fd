package compute

import "unsafe"

// hugePages advises transparent huge pages for m's data (see adviseHuge):
// before the matrix is filled, and with collapse after.
func (m *Matrix) hugePages(collapse bool) {
	if len(m.F32) > 0 {
		adviseHuge(unsafe.Pointer(&m.F32[0]), 4*len(m.F32), collapse)
	}
	if len(m.U16) > 0 {
		adviseHuge(unsafe.Pointer(&m.U16[0]), 2*len(m.U16), collapse)
	}
	if len(m.Q) > 0 {
		adviseHuge(unsafe.Pointer(&m.Q[0]), len(m.Q), collapse)
	}
	if len(m.Scales) > 0 {
		adviseHuge(unsafe.Pointer(&m.Scales[0]), 2*len(m.Scales), collapse)
	}
}

// hugeSlice advises transparent huge pages for s (see adviseHuge).
func hugeSlice[T any](s []T, collapse bool) {
	if len(s) > 0 {
		adviseHuge(unsafe.Pointer(&s[0]), len(s)*int(unsafe.Sizeof(s[0])), collapse)
	}
}
