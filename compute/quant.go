package compute

import (
	"fmt"
	"math"

	"github.com/glmv/glmv/internal/half"
)

// qBlock is the number of columns that share one scale in Q8_0 and Q4_0.
const qBlock = 32

// BlocksPerRow is the number of 32-column quantization blocks per row,
// ⌈Cols/32⌉.
func (m *Matrix) BlocksPerRow() int { return (m.Cols + qBlock - 1) / qBlock }

// Bytes reports the size of the matrix's stored data.
func (m *Matrix) Bytes() int64 {
	return int64(len(m.F32))*4 + int64(len(m.U16))*2 + int64(len(m.Q)) + int64(len(m.Scales))*2
}

// Quantize converts m to dt (F32, BF16, F16, Q8_0 or Q4_0, rounding to
// nearest, or a ggml block format with a quantizer: GGMLQ8_0, GGMLQ4_0,
// Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, as llama.cpp's reference
// quantizers do; those need Cols to be a multiple of the block size). It
// returns a new matrix and never aliases m's data, except that
// converting to m's own dtype returns m. It runs on the calling goroutine;
// see (*Pool).Quantize for the parallel version.
func Quantize(m *Matrix, dt DType) (*Matrix, error) {
	var p *Pool
	return p.Quantize(m, dt)
}

// Quantize is the parallel form of the package-level Quantize.
func (p *Pool) Quantize(m *Matrix, dt DType) (*Matrix, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("compute: quantize: %w", err)
	}
	if m.DType == dt {
		return m, nil
	}
	out, err := newMatrix(dt, m.Rows, m.Cols)
	if err != nil {
		return nil, fmt.Errorf("compute: quantize: %w", err)
	}
	// Converted weights are streamed once per decoded token: on huge pages.
	out.hugePages()
	cols := m.Cols
	p.For(m.Rows, 16, func(lo, hi int) {
		buf := make([]float32, out.rowBuf())
		for r := lo; r < hi; r++ {
			switch m.DType {
			case BF16:
				kern.widenBF16(buf[:cols], m.U16[r*cols:(r+1)*cols])
			case F16:
				kern.widenF16(buf[:cols], m.U16[r*cols:(r+1)*cols])
			default:
				m.Row(r, buf)
			}
			out.setRow(r, buf)
		}
	})
	return out, nil
}

// newMatrix allocates a zero rows×cols matrix in dt (any format Quantize
// can produce).
func newMatrix(dt DType, rows, cols int) (*Matrix, error) {
	out := &Matrix{DType: dt, Rows: rows, Cols: cols}
	n := rows * cols
	nb := out.BlocksPerRow()
	switch dt {
	case F32:
		out.F32 = make([]float32, n)
	case BF16, F16:
		out.U16 = make([]uint16, n)
	case Q8_0:
		out.Q = make([]byte, rows*nb*qBlock)
		out.Scales = make([]uint16, rows*nb)
	case Q4_0:
		out.Q = make([]byte, rows*nb*qBlock/2)
		out.Scales = make([]uint16, rows*nb)
	default:
		if !dt.IsBlock() || blockFormats[dt].quant == nil {
			return nil, fmt.Errorf("no quantizer for %v", dt)
		}
		if cols%dt.BlockSize() != 0 {
			return nil, fmt.Errorf("%v needs a multiple of %d columns, got %d", dt, dt.BlockSize(), cols)
		}
		out.Q = make([]byte, rows*out.blockRowBytes())
	}
	return out, nil
}

// rowBuf is the length of the row buffer setRow takes: Cols rounded up to
// whole 32-column blocks.
func (m *Matrix) rowBuf() int { return m.BlocksPerRow() * qBlock }

// setRow stores buf[:Cols] as row r of m (made by newMatrix), rounding or
// quantizing it; buf has length m.rowBuf() and its tail is overwritten.
func (m *Matrix) setRow(r int, buf []float32) {
	cols, nb := m.Cols, m.BlocksPerRow()
	row := buf[:cols]
	switch m.DType {
	case F32:
		copy(m.F32[r*cols:], row)
	case BF16:
		for i, v := range row {
			m.U16[r*cols+i] = half.F32ToBF16(v)
		}
	case F16:
		for i, v := range row {
			m.U16[r*cols+i] = half.F32ToF16(v)
		}
	case Q8_0:
		clear(buf[cols:])
		kern.quantW8(m.Q[r*nb*qBlock:(r+1)*nb*qBlock], m.Scales[r*nb:(r+1)*nb], buf)
	case Q4_0:
		clear(buf[cols:])
		kern.quantW4(m.Q[r*nb*qBlock/2:(r+1)*nb*qBlock/2], m.Scales[r*nb:(r+1)*nb], buf)
	default:
		rb := m.blockRowBytes()
		// newMatrix checked the format and the sizes.
		_ = QuantizeBlocks(m.DType, m.Q[r*rb:(r+1)*rb], row)
	}
}

// quantBlockQ8 stores round(x/d) for the 32 values of x into q (as int8) and
// returns d = max|x|/127 as f16 bits; q uses the f16-rounded d.
func quantBlockQ8(q []byte, x []float32) uint16 {
	x, q = x[:qBlock], q[:qBlock]
	var amax float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax = a
		}
	}
	d := half.F32ToF16(amax / 127)
	df := F16ToF32(d)
	var id float32
	if df != 0 {
		id = 1 / df
	}
	for i, v := range x {
		q[i] = byte(int8(max(-127, min(127, roundEven(v*id)))))
	}
	return d
}

// quantBlockQ4 stores the 32 values of x as 4-bit q = round(x/d)+8 (clamped
// to [0, 15]) and returns d as f16 bits. d is chosen so that the value of
// largest magnitude maps exactly to -8, which gives the 16 levels their
// best use.
func quantBlockQ4(q []byte, x []float32) uint16 {
	x, q = x[:qBlock], q[:qBlock/2]
	var amax, mx float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, mx = a, v
		}
	}
	d := half.F32ToF16(mx / -8)
	df := F16ToF32(d)
	var id float32
	if df != 0 {
		id = 1 / df
	}
	for j := range qBlock / 2 {
		lo := max(0, min(15, roundEven(x[j]*id)+8))
		hi := max(0, min(15, roundEven(x[j+qBlock/2]*id)+8))
		q[j] = byte(lo) | byte(hi)<<4
	}
	return d
}

// roundEven rounds f to the nearest integer, ties to even, for |f| < 2^22
// (larger values are clamped by the callers anyway; NaN gives 0).
func roundEven(f float32) int32 {
	const magic = 1 << 23 * 1.5
	if !(f > -1<<22 && f < 1<<22) {
		if f > 0 {
			return 1 << 22
		} else if f < 0 {
			return -1 << 22
		}
		return 0
	}
	return int32((f + magic) - magic)
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// dequantRow writes columns [c0, c1) of row r of a Q8_0 or Q4_0 matrix into
// dst[:c1-c0].
func (m *Matrix) dequantRow(r, c0, c1 int, dst []float32) {
	nb := m.BlocksPerRow()
	dst = dst[:c1-c0]
	for c := c0; c < c1; {
		b := c / qBlock
		e := min(c1, (b+1)*qBlock)
		d := F16ToF32(m.Scales[r*nb+b])
		switch m.DType {
		case Q8_0:
			q := m.Q[(r*nb+b)*qBlock:][:qBlock]
			for i := c; i < e; i++ {
				dst[i-c0] = d * float32(int8(q[i-b*qBlock]))
			}
		case Q4_0:
			q := m.Q[(r*nb+b)*qBlock/2:][:qBlock/2]
			for i := c; i < e; i++ {
				j := i - b*qBlock
				v := q[j%(qBlock/2)]
				if j >= qBlock/2 {
					v >>= 4
				}
				dst[i-c0] = d * float32(int(v&15)-8)
			}
		}
		c = e
	}
}

// quantizeRowQ8 quantizes the activation row x into len(xd) blocks of 32
// int8 values (xq, zero-padded past len(x)) with f32 scales xd, for the
// integer dot products against Q8_0 and Q4_0 weights. xs[b] is set to 8
// times the sum of block b's int8 values (the Q4_0 offset correction).
func quantizeRowQ8(xq []int8, xd, xs []float32, x []float32) {
	for b := range xd {
		blk := x[min(len(x), b*qBlock):min(len(x), (b+1)*qBlock)]
		q := xq[b*qBlock : (b+1)*qBlock]
		xd[b] = quantActBlock(q, blk)
		clear(q[len(blk):])
		var sum int32
		for _, v := range q {
			sum += int32(v)
		}
		xs[b] = float32(8 * sum)
	}
}

// quantActBlock sets q[i] = round(x[i]/d) for d = max|x|/127, rounding half
// away from zero, and returns d.
func quantActBlock(q []int8, x []float32) float32 {
	var amax float32
	for _, v := range x {
		amax = max(amax, abs32(v))
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	q = q[:len(x)]
	for i, v := range x {
		// |v·id| <= 127; the clamps guard against rounding up past it.
		f := v * id
		if f >= 0 {
			q[i] = int8(min(127, f+0.5))
		} else {
			q[i] = int8(max(-127, f-0.5))
		}
	}
	return d
}
