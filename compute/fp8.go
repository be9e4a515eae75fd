package compute

import (
	"fmt"
	"math"

	"github.com/glmv/glmv/internal/half"
)

// FP8E4M3ToF32 decodes an OCP FP8 E4M3 value (the "E4M3FN" of
// safetensors' F8_E4M3): 1 sign bit, 4 exponent bits with bias 7, 3
// mantissa bits; exponent 0 holds the subnormals m·2⁻⁹, there are no
// infinities, and S.1111.111 (0x7f, 0xff) is NaN. The largest finite
// magnitude is 448. Every value is exact in float32.
func FP8E4M3ToF32(b byte) float32 {
	sign := uint32(b>>7) << 31
	e := uint32(b>>3) & 15
	m := uint32(b) & 7
	switch {
	case e == 15 && m == 7:
		return math.Float32frombits(sign | 0x7fc00000)
	case e == 0:
		// m·2⁻⁹ is exact; the sign is applied to the bits so that 0x80
		// is -0.
		return math.Float32frombits(sign | math.Float32bits(float32(m)/512))
	}
	return math.Float32frombits(sign | (e+120)<<23 | m<<20)
}

// FP8Weight is an F8_E4M3 weight matrix with the scales of an FP8
// checkpoint; the real weight is w[r,c] = e4m3(Data[r·Cols+c]) · scale.
//
// The scale layout follows Scales' length:
//   - BlockRows, BlockCols > 0: one scale per BlockRows×BlockCols block,
//     row-major over ⌈Rows/BlockRows⌉×⌈Cols/BlockCols⌉ (GLM-4.5V-FP8's and
//     DeepSeek's weight_scale_inv, 128×128 blocks; the name notwithstanding
//     it multiplies);
//   - otherwise len(Scales) == Rows: one scale per output channel
//     (compressed-tensors' "channel" strategy, weight_scale [Rows, 1]);
//   - otherwise len(Scales) == 1: one scale for the tensor
//     (compressed-tensors' "tensor" strategy).
type FP8Weight struct {
	Rows, Cols           int
	Data                 []byte
	Scales               []float32
	BlockRows, BlockCols int
}

// Validate checks the data and scale sizes against the shape.
func (w *FP8Weight) Validate() error {
	if w.Rows < 0 || w.Cols < 0 {
		return fmt.Errorf("compute: fp8 weight has bad shape [%d,%d]", w.Rows, w.Cols)
	}
	if len(w.Data) != w.Rows*w.Cols {
		return fmt.Errorf("compute: fp8 weight [%d,%d] has %d bytes", w.Rows, w.Cols, len(w.Data))
	}
	switch {
	case w.BlockRows < 0 || w.BlockCols < 0 || (w.BlockRows > 0) != (w.BlockCols > 0):
		return fmt.Errorf("compute: fp8 weight: bad scale block %d×%d", w.BlockRows, w.BlockCols)
	case w.BlockRows > 0:
		br, bc := ceilDiv(w.Rows, w.BlockRows), ceilDiv(w.Cols, w.BlockCols)
		if len(w.Scales) != br*bc {
			return fmt.Errorf("compute: fp8 weight [%d,%d] with %d×%d scale blocks needs %d×%d scales, got %d",
				w.Rows, w.Cols, w.BlockRows, w.BlockCols, br, bc, len(w.Scales))
		}
	case len(w.Scales) == w.Rows || len(w.Scales) == 1:
	default:
		return fmt.Errorf("compute: fp8 weight [%d,%d] has %d scales: want 1 (per tensor), %d (per channel) or a block size",
			w.Rows, w.Cols, len(w.Scales), w.Rows)
	}
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// Row writes row r of the scaled weight into dst (len Cols) as float32:
// the e4m3 value times its scale, rounded once to float32.
func (w *FP8Weight) Row(r int, dst []float32) []float32 {
	dst = dst[:w.Cols]
	src := w.Data[r*w.Cols : (r+1)*w.Cols]
	switch {
	case w.BlockRows > 0:
		srow := w.Scales[r/w.BlockRows*ceilDiv(w.Cols, w.BlockCols):]
		for c0 := 0; c0 < w.Cols; c0 += w.BlockCols {
			s := srow[c0/w.BlockCols]
			for c := c0; c < min(w.Cols, c0+w.BlockCols); c++ {
				dst[c] = FP8E4M3ToF32(src[c]) * s
			}
		}
	default:
		s := w.Scales[0]
		if len(w.Scales) == w.Rows && w.Rows != 1 {
			s = w.Scales[r]
		}
		for c, b := range src {
			dst[c] = FP8E4M3ToF32(b) * s
		}
	}
	return dst
}

// RowBF16 writes row r of the scaled weight into dst (len Cols) as
// bfloat16 bits, rounding the float32 product to nearest even.
func (w *FP8Weight) RowBF16(r int, dst []uint16, tmp []float32) []uint16 {
	row := w.Row(r, tmp)
	dst = dst[:w.Cols]
	for c, v := range row {
		dst[c] = half.F32ToBF16(v)
	}
	return dst
}

// ConvertFP8 turns the weight into a Matrix in dt (F32, BF16, F16, Q8_0, Q4_0
// or a ggml format with a quantizer), one row at a time so that no full
// f32 copy is made.
func (p *Pool) ConvertFP8(w *FP8Weight, dt DType) (*Matrix, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	out, err := newMatrix(dt, w.Rows, w.Cols)
	if err != nil {
		return nil, fmt.Errorf("compute: convert fp8: %w", err)
	}
	p.For(w.Rows, 16, func(lo, hi int) {
		buf := make([]float32, out.rowBuf())
		for r := lo; r < hi; r++ {
			w.Row(r, buf)
			out.setRow(r, buf)
		}
	})
	return out, nil
}
