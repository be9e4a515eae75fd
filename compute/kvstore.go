package compute

import (
	"fmt"

	"github.com/glmv/glmv/internal/half"
)

// NewKVMatrix allocates a zeroed [rows, cols] matrix in dt (F32, F16 or
// Q8_0), the storage of one layer's keys or values in a KV cache.
func NewKVMatrix(dt DType, rows, cols int) (*Matrix, error) {
	m := &Matrix{DType: dt, Rows: rows, Cols: cols}
	switch dt {
	case F32:
		m.F32 = make([]float32, rows*cols)
	case F16:
		m.U16 = make([]uint16, rows*cols)
	case Q8_0:
		nb := m.BlocksPerRow()
		m.Q = make([]byte, rows*nb*qBlock)
		m.Scales = make([]uint16, rows*nb)
	default:
		return nil, fmt.Errorf("compute: %v is not a KV cache format (f32, f16 or q8_0)", dt)
	}
	return m, nil
}

// CopyRows copies rows [0, n) of src into dst; both must have the same
// DType and Cols.
func CopyRows(dst, src *Matrix, n int) {
	if dst.DType != src.DType || dst.Cols != src.Cols {
		panic("compute: CopyRows between different layouts")
	}
	switch src.DType {
	case F32:
		copy(dst.F32[:n*src.Cols], src.F32[:n*src.Cols])
	case BF16, F16:
		copy(dst.U16[:n*src.Cols], src.U16[:n*src.Cols])
	case Q8_0, Q4_0:
		nb := src.BlocksPerRow()
		bb := qBlock
		if src.DType == Q4_0 {
			bb = qBlock / 2
		}
		copy(dst.Q[:n*nb*bb], src.Q[:n*nb*bb])
		copy(dst.Scales[:n*nb], src.Scales[:n*nb])
	}
}

// SetRows stores the float32 rows x ([n, Cols]) as rows [r0, r0+n) of m,
// rounding to m's format (F32, BF16, F16 or Q8_0, rounding to nearest).
func (m *Matrix) SetRows(r0 int, x []float32) {
	cols := m.Cols
	n := len(x) / cols
	if r0 < 0 || r0+n > m.Rows {
		panic("compute: SetRows out of range")
	}
	switch m.DType {
	case F32:
		copy(m.F32[r0*cols:], x[:n*cols])
	case BF16:
		for i, v := range x[:n*cols] {
			m.U16[r0*cols+i] = half.F32ToBF16(v)
		}
	case F16:
		for i, v := range x[:n*cols] {
			m.U16[r0*cols+i] = half.F32ToF16(v)
		}
	case Q8_0:
		nb := m.BlocksPerRow()
		var buf []float32
		if cols%qBlock != 0 {
			buf = make([]float32, nb*qBlock)
		}
		for r := range n {
			row := x[r*cols : (r+1)*cols]
			if buf != nil {
				copy(buf, row)
				row = buf
			}
			o := (r0 + r) * nb
			kern.quantW8(m.Q[o*qBlock:(o+nb)*qBlock], m.Scales[o:o+nb], row)
		}
	default:
		panic("compute: SetRows on " + m.DType.String())
	}
}

// seg writes columns [c0, c0+len(dst)) of row r of m as float32 into dst.
// It is how attention reads a KV cache in any format.
func (kn *kernels) seg(m *Matrix, r, c0 int, dst []float32) {
	n := len(dst)
	o := r*m.Cols + c0
	switch m.DType {
	case F32:
		copy(dst, m.F32[o:o+n])
	case F16:
		kn.widenF16(dst, m.U16[o:o+n])
	case BF16:
		kn.widenBF16(dst, m.U16[o:o+n])
	case Q8_0:
		if c0%qBlock == 0 && n%qBlock == 0 {
			b := r*m.BlocksPerRow() + c0/qBlock
			kn.dequantQ8(dst, m.Q[b*qBlock:(b+n/qBlock)*qBlock], m.Scales[b:b+n/qBlock])
			return
		}
		m.dequantRow(r, c0, c0+n, dst)
	default:
		m.dequantRow(r, c0, c0+n, dst)
	}
}

// RowBytes is the memory of one row of width cols in dt.
func RowBytes(dt DType, cols int) int64 {
	m := Matrix{DType: dt, Cols: cols}
	switch dt {
	case F32:
		return int64(cols) * 4
	case BF16, F16:
		return int64(cols) * 2
	case Q8_0:
		return int64(m.BlocksPerRow()) * (qBlock + 2)
	case Q4_0:
		return int64(m.BlocksPerRow()) * (qBlock/2 + 2)
	}
	return 0
}
