package compute

import (
	"fmt"

	"github.com/glmv/glmv/internal/half"
)

// DType is the storage format of a weight matrix.
type DType uint8

// Storage formats a Matrix can hold.
const (
	F32 DType = iota
	BF16
	F16
	// Q8_0 holds blocks of 32 int8 values with one f16 scale per block
	// (8.5 bits per weight): w = d·q.
	Q8_0
	// Q4_0 holds blocks of 32 4-bit values with one f16 scale per block
	// (4.5 bits per weight): w = d·(q-8).
	Q4_0
)

func (d DType) String() string {
	switch d {
	case F32:
		return "F32"
	case BF16:
		return "BF16"
	case F16:
		return "F16"
	case Q8_0:
		return "Q8_0"
	case Q4_0:
		return "Q4_0"
	case GGMLQ8_0:
		return "GGMLQ8_0"
	case GGMLQ4_0:
		return "GGMLQ4_0"
	}
	if d.IsBlock() {
		return blockFormats[d].name
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Matrix is a row-major [Rows, Cols] weight in its stored format. Exactly
// one of F32 or U16 (bf16 or f16 bit patterns) holds the data, usually a
// zero-copy view of a memory-mapped checkpoint; the block-quantized formats
// (made by Quantize) use Q and Scales instead.
//
// The ggml block formats (GGMLQ8_0, GGMLQ4_0, Q4_1, Q5_0, Q5_1, Q2_K ..
// Q6_K; see IsBlock) hold llama.cpp's blocks unchanged in Q, row after row,
// each row Cols/BlockSize() blocks, and have no Scales; NewBlockMatrix
// binds them.
//
// In Q8_0 and Q4_0 each row is split into BlocksPerRow() blocks of 32
// columns, the last one padded with zeros. Scales holds one f16 bit pattern
// per block, row-major. Q holds, per block, 32 int8 values (Q8_0) or 16 bytes
// (Q4_0) whose byte j carries column j in its low nibble and column j+16 in
// its high nibble.
type Matrix struct {
	DType      DType
	Rows, Cols int
	F32        []float32
	U16        []uint16
	Q          []byte
	Scales     []uint16
}

// Row converts row r to float32 into dst (len Cols) and returns dst.
func (m *Matrix) Row(r int, dst []float32) []float32 {
	dst = dst[:m.Cols]
	off := r * m.Cols
	switch m.DType {
	case F32:
		copy(dst, m.F32[off:off+m.Cols])
	case BF16:
		for i, b := range m.U16[off : off+m.Cols] {
			dst[i] = BF16ToF32(b)
		}
	case F16:
		for i, b := range m.U16[off : off+m.Cols] {
			dst[i] = F16ToF32(b)
		}
	case Q8_0, Q4_0:
		m.dequantRow(r, 0, m.Cols, dst)
	default:
		if m.DType.IsBlock() {
			rb := m.blockRowBytes()
			dequantBlocks(m.DType, dst, m.Q[r*rb:(r+1)*rb])
		}
	}
	return dst
}

// Validate reports whether the backing slice matches the declared shape.
func (m *Matrix) Validate() error {
	n := m.Rows * m.Cols
	switch m.DType {
	case F32:
		if len(m.F32) != n {
			return fmt.Errorf("f32 matrix [%d,%d] has %d values", m.Rows, m.Cols, len(m.F32))
		}
	case BF16, F16:
		if len(m.U16) != n {
			return fmt.Errorf("%v matrix [%d,%d] has %d values", m.DType, m.Rows, m.Cols, len(m.U16))
		}
	case Q8_0, Q4_0:
		nb := m.Rows * m.BlocksPerRow()
		bb := qBlock
		if m.DType == Q4_0 {
			bb = qBlock / 2
		}
		if len(m.Q) != nb*bb || len(m.Scales) != nb {
			return fmt.Errorf("%v matrix [%d,%d] has %d bytes and %d scales, want %d and %d",
				m.DType, m.Rows, m.Cols, len(m.Q), len(m.Scales), nb*bb, nb)
		}
	default:
		if !m.DType.IsBlock() {
			return fmt.Errorf("unknown dtype %v", m.DType)
		}
		if m.Rows < 0 || m.Cols < 0 || m.Cols%blockFormats[m.DType].bs != 0 {
			return fmt.Errorf("%v matrix [%d,%d]: columns are not a multiple of %d", m.DType, m.Rows, m.Cols, blockFormats[m.DType].bs)
		}
		if want := m.Rows * m.blockRowBytes(); len(m.Q) != want || len(m.Scales) != 0 {
			return fmt.Errorf("%v matrix [%d,%d] has %d bytes, want %d", m.DType, m.Rows, m.Cols, len(m.Q), want)
		}
	}
	return nil
}

// BF16ToF32 widens a bfloat16 bit pattern exactly.
func BF16ToF32(b uint16) float32 { return half.BF16ToF32(b) }

// F16ToF32 widens an IEEE half-precision bit pattern exactly.
func F16ToF32(h uint16) float32 { return half.F16ToF32(h) }
