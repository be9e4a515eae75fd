package compute

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/glmv/glmv/safetensors"
)

// ggml block formats. A Matrix in one of these types holds llama.cpp's
// blocks byte for byte in Q (Scales is nil): each row is Cols/BlockSize
// consecutive blocks of TypeSize bytes, so a GGUF tensor binds without a
// copy. Cols must be a multiple of the block size.
const (
	// GGMLQ8_0 is ggml's Q8_0 layout: per 32 columns an f16 scale d and
	// 32 int8 values, w = d·q (34 bytes).
	GGMLQ8_0 DType = iota + Q4_0 + 1
	// GGMLQ4_0 is ggml's Q4_0 layout: per 32 columns an f16 scale d and 16
	// bytes of nibbles (column j low, j+16 high), w = d·(q-8) (18 bytes).
	GGMLQ4_0
	// Q4_1: f16 d, f16 m, 16 bytes of nibbles; w = d·q + m (20 bytes per 32).
	Q4_1
	// Q5_0: f16 d, 32 high bits, 16 bytes of low nibbles; w = d·(q-16)
	// (22 bytes per 32).
	Q5_0
	// Q5_1: f16 d, f16 m, 32 high bits, 16 bytes of low nibbles;
	// w = d·q + m (24 bytes per 32).
	Q5_1
	// Q2_K: 256-column super-blocks of 16×16 with 4-bit scales and mins
	// and 2-bit values (84 bytes).
	Q2_K
	// Q3_K: 256-column super-blocks of 16×16 with 6-bit signed scales and
	// 3-bit values (110 bytes).
	Q3_K
	// Q4_K: 256-column super-blocks of 8×32 with 6-bit scales and mins and
	// 4-bit values (144 bytes).
	Q4_K
	// Q5_K: Q4_K with a fifth bit per value (176 bytes).
	Q5_K
	// Q6_K: 256-column super-blocks of 16×16 with int8 scales and 6-bit
	// values (210 bytes).
	Q6_K

	numDTypes
)

// blockFormat describes one ggml block format.
type blockFormat struct {
	name       string
	ggml       uint32 // ggml_type id
	bs, ts     int    // columns and bytes per block
	kquant     bool   // 256-column super-blocks (activations also need sums per 16)
	dequant    func(dst []float32, blk []byte)
	quant      func(blk []byte, x []float32) // nil: no quantizer
	gemmMinT   int                           // see gemmMinT
	dotGeneric blockDot
}

// blockDot returns the dot product of one quantized activation row with
// one weight row of raw blocks (len(w) = whole blocks).
type blockDot func(a *actRow, w []byte) float32

// blockDotX4 sets out[i] to the blockDot of activation row a[i] with one
// weight row of raw blocks, for 4 rows at once.
type blockDotX4 func(a *[4]actRow, w []byte, out *[4]float32)

// blockFormats is indexed by DType; entries for the other types are zero.
var blockFormats = [numDTypes]blockFormat{
	GGMLQ8_0: {name: "Q8_0", ggml: 8, bs: 32, ts: 34, dequant: dequantBlockQ8_0, dotGeneric: dotQ8_0G, quant: quantBlockQ8_0, gemmMinT: 64},
	GGMLQ4_0: {name: "Q4_0", ggml: 2, bs: 32, ts: 18, dequant: dequantBlockQ4_0, dotGeneric: dotQ4_0G, quant: quantBlockQ4_0, gemmMinT: 48},
	Q4_1:     {name: "Q4_1", ggml: 3, bs: 32, ts: 20, dequant: dequantBlockQ4_1, dotGeneric: dotQ4_1G, quant: quantBlockQ4_1, gemmMinT: 32},
	Q5_0:     {name: "Q5_0", ggml: 6, bs: 32, ts: 22, dequant: dequantBlockQ5_0, dotGeneric: dotQ5_0G, quant: quantBlockQ5_0, gemmMinT: 32},
	Q5_1:     {name: "Q5_1", ggml: 7, bs: 32, ts: 24, dequant: dequantBlockQ5_1, dotGeneric: dotQ5_1G, quant: quantBlockQ5_1, gemmMinT: 32},
	Q2_K:     {name: "Q2_K", ggml: 10, bs: 256, ts: 84, kquant: true, dequant: dequantBlockQ2_K, dotGeneric: dotQ2_KG, gemmMinT: 64},
	Q3_K:     {name: "Q3_K", ggml: 11, bs: 256, ts: 110, kquant: true, dequant: dequantBlockQ3_K, dotGeneric: dotQ3_KG, gemmMinT: 32},
	Q4_K:     {name: "Q4_K", ggml: 12, bs: 256, ts: 144, kquant: true, dequant: dequantBlockQ4_K, dotGeneric: dotQ4_KG, quant: quantBlockQ4_K, gemmMinT: 64},
	Q5_K:     {name: "Q5_K", ggml: 13, bs: 256, ts: 176, kquant: true, dequant: dequantBlockQ5_K, dotGeneric: dotQ5_KG, quant: quantBlockQ5_K, gemmMinT: 48},
	Q6_K:     {name: "Q6_K", ggml: 14, bs: 256, ts: 210, kquant: true, dequant: dequantBlockQ6_K, dotGeneric: dotQ6_KG, quant: quantBlockQ6_K, gemmMinT: 48},
}

// IsBlock reports whether d is one of the ggml block formats (held as raw
// ggml blocks in Matrix.Q).
func (d DType) IsBlock() bool { return d < numDTypes && blockFormats[d].ts != 0 }

// BlockSize is the number of columns per block of a ggml block format (32
// or 256), and 1 for F32, BF16 and F16. It is 32 for the split Q8_0 and
// Q4_0.
func (d DType) BlockSize() int {
	switch {
	case d.IsBlock():
		return blockFormats[d].bs
	case d == Q8_0 || d == Q4_0:
		return qBlock
	}
	return 1
}

// GGMLTypeInfo describes a ggml tensor type that a Matrix can hold.
type GGMLTypeInfo struct {
	// DType is the Matrix storage format for the type. ggml's Q8_0 and
	// Q4_0 map to GGMLQ8_0 and GGMLQ4_0 (raw blocks, zero-copy).
	DType DType
	// Name is ggml's name of the type ("Q4_K", "F16", ...).
	Name string
	// BlockSize is the number of values per block (1 for F32/F16/BF16).
	BlockSize int
	// TypeSize is the number of bytes per block.
	TypeSize int
}

// RowBytes is the size in bytes of a row of cols values, or an error when
// cols is not a whole number of blocks.
func (t GGMLTypeInfo) RowBytes(cols int) (int, error) {
	if cols < 0 || cols%t.BlockSize != 0 {
		return 0, fmt.Errorf("compute: %s rows need a multiple of %d columns, got %d", t.Name, t.BlockSize, cols)
	}
	return cols / t.BlockSize * t.TypeSize, nil
}

// GGMLType maps a ggml_type id (as stored in GGUF tensor infos) to the
// Matrix format that holds it. ok is false for types glmv cannot run (IQ*,
// TQ*, Q8_1, Q8_K, integer types, ...); see SupportedGGMLTypes.
func GGMLType(id uint32) (info GGMLTypeInfo, ok bool) {
	switch id {
	case 0:
		return GGMLTypeInfo{F32, "F32", 1, 4}, true
	case 1:
		return GGMLTypeInfo{F16, "F16", 1, 2}, true
	case 30:
		return GGMLTypeInfo{BF16, "BF16", 1, 2}, true
	}
	for d := DType(0); d < numDTypes; d++ {
		if f := &blockFormats[d]; f.ts != 0 && f.ggml == id {
			return GGMLTypeInfo{d, f.name, f.bs, f.ts}, true
		}
	}
	return GGMLTypeInfo{}, false
}

// SupportedGGMLTypes lists the names of the ggml types GGMLType accepts,
// for error messages.
func SupportedGGMLTypes() string {
	names := []string{"F32", "F16", "BF16"}
	for d := DType(0); d < numDTypes; d++ {
		if f := &blockFormats[d]; f.ts != 0 {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, ", ")
}

// GGMLTypeID returns the ggml_type id that stores d (the split Q8_0 and
// Q4_0 map to ggml's Q8_0 and Q4_0; GGMLBytes converts their layout).
func (d DType) GGMLTypeID() (uint32, bool) {
	switch d {
	case F32:
		return 0, true
	case F16:
		return 1, true
	case BF16:
		return 30, true
	case Q8_0:
		return 8, true
	case Q4_0:
		return 2, true
	}
	if d.IsBlock() {
		return blockFormats[d].ggml, true
	}
	return 0, false
}

// NewBlockMatrix binds data, the row-major tensor bytes of a [rows, cols]
// matrix in ggml type dt's layout (a ggml block format, or F32, F16, BF16
// little-endian), without copying it where alignment allows. It checks that
// cols is a whole number of blocks and that len(data) is exactly the
// tensor's size.
func NewBlockMatrix(dt DType, rows, cols int, data []byte) (*Matrix, error) {
	if rows < 0 || cols < 0 {
		return nil, fmt.Errorf("compute: bad matrix shape [%d,%d]", rows, cols)
	}
	var bs, ts int
	switch {
	case dt.IsBlock():
		bs, ts = blockFormats[dt].bs, blockFormats[dt].ts
	case dt == F32:
		bs, ts = 1, 4
	case dt == F16 || dt == BF16:
		bs, ts = 1, 2
	default:
		return nil, fmt.Errorf("compute: NewBlockMatrix: %v is not a ggml layout", dt)
	}
	if cols%bs != 0 {
		return nil, fmt.Errorf("compute: %v matrix [%d,%d]: columns are not a multiple of the block size %d", dt, rows, cols, bs)
	}
	if cols > 1<<40 {
		return nil, fmt.Errorf("compute: %v matrix [%d,%d] is too large", dt, rows, cols)
	}
	rowBytes := cols / bs * ts
	if rows > 0 && rowBytes > 0 && rows > (1<<62)/rowBytes {
		return nil, fmt.Errorf("compute: %v matrix [%d,%d] is too large", dt, rows, cols)
	}
	if len(data) != rows*rowBytes {
		return nil, fmt.Errorf("compute: %v matrix [%d,%d] needs %d bytes, got %d", dt, rows, cols, rows*rowBytes, len(data))
	}
	m := &Matrix{DType: dt, Rows: rows, Cols: cols}
	switch dt {
	case F32:
		m.F32 = safetensors.AsFloat32(data)
	case F16, BF16:
		m.U16 = safetensors.AsUint16(data)
	default:
		m.Q = data
	}
	return m, nil
}

// GGMLBytes returns m's data in the ggml layout of m.DType.GGMLTypeID():
// the backing bytes themselves for F32, F16, BF16 and the block formats, a
// converted copy for the split Q8_0 and Q4_0 (which need Cols%32 == 0).
func (m *Matrix) GGMLBytes() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	switch m.DType {
	case F32:
		return bytesOf(m.F32), nil
	case F16, BF16:
		return bytesOf(m.U16), nil
	case Q8_0, Q4_0:
		if m.Cols%qBlock != 0 {
			return nil, fmt.Errorf("compute: %v matrix [%d,%d]: ggml needs a multiple of 32 columns", m.DType, m.Rows, m.Cols)
		}
		nb := m.Rows * m.BlocksPerRow()
		bb, ts := qBlock, 34
		if m.DType == Q4_0 {
			bb, ts = qBlock/2, 18
		}
		out := make([]byte, nb*ts)
		for b := range nb {
			o := out[b*ts:]
			binary.LittleEndian.PutUint16(o, m.Scales[b])
			copy(o[2:ts], m.Q[b*bb:(b+1)*bb])
		}
		return out, nil
	}
	if m.DType.IsBlock() {
		return m.Q, nil
	}
	return nil, fmt.Errorf("compute: unknown dtype %v", m.DType)
}

// SplitGGML converts a GGMLQ8_0 or GGMLQ4_0 matrix to the split Q8_0 or
// Q4_0 layout (a copy), for callers that want the split kernels.
func SplitGGML(m *Matrix) (*Matrix, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var dt DType
	bb := qBlock
	switch m.DType {
	case GGMLQ8_0:
		dt = Q8_0
	case GGMLQ4_0:
		dt, bb = Q4_0, qBlock/2
	default:
		return nil, fmt.Errorf("compute: SplitGGML: %v is not GGMLQ8_0 or GGMLQ4_0", m.DType)
	}
	ts := 2 + bb
	nb := m.Rows * m.Cols / qBlock
	out := &Matrix{DType: dt, Rows: m.Rows, Cols: m.Cols, Q: make([]byte, nb*bb), Scales: make([]uint16, nb)}
	for b := range nb {
		blk := m.Q[b*ts:]
		out.Scales[b] = binary.LittleEndian.Uint16(blk)
		copy(out.Q[b*bb:(b+1)*bb], blk[2:ts])
	}
	return out, nil
}

// blockRowBytes is the size of one row of a block-format matrix.
func (m *Matrix) blockRowBytes() int {
	f := &blockFormats[m.DType]
	return m.Cols / f.bs * f.ts
}

// dequantBlocks expands the whole blocks in w (a slice of one row's raw
// blocks of format dt) into dst.
func dequantBlocks(dt DType, dst []float32, w []byte) {
	f := &blockFormats[dt]
	n := len(w) / f.ts
	dst = dst[:n*f.bs]
	for b := range n {
		f.dequant(dst[b*f.bs:(b+1)*f.bs], w[b*f.ts:(b+1)*f.ts])
	}
}

// RowRange returns rows [r0, r1) of m as a matrix that shares m's data
// (for example one expert of a stacked GGUF tensor).
func (m *Matrix) RowRange(r0, r1 int) (*Matrix, error) {
	if r0 < 0 || r1 < r0 || r1 > m.Rows {
		return nil, fmt.Errorf("compute: rows [%d,%d) of a %d-row matrix", r0, r1, m.Rows)
	}
	out := &Matrix{DType: m.DType, Rows: r1 - r0, Cols: m.Cols}
	c := m.Cols
	switch m.DType {
	case F32:
		out.F32 = m.F32[r0*c : r1*c]
	case BF16, F16:
		out.U16 = m.U16[r0*c : r1*c]
	case Q8_0, Q4_0:
		nb, bb := m.BlocksPerRow(), qBlock
		if m.DType == Q4_0 {
			bb = qBlock / 2
		}
		out.Q = m.Q[r0*nb*bb : r1*nb*bb]
		out.Scales = m.Scales[r0*nb : r1*nb]
	default:
		if !m.DType.IsBlock() {
			return nil, fmt.Errorf("compute: unknown dtype %v", m.DType)
		}
		rb := m.blockRowBytes()
		out.Q = m.Q[r0*rb : r1*rb]
	}
	return out, nil
}

// ggmlTypeNames are ggml's names of its type ids (for error messages about
// the ones glmv does not run); ids without a name were removed from ggml.
var ggmlTypeNames = [...]string{
	0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
	10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K",
	16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S",
	22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64",
	29: "IQ1_M", 30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4", 40: "NVFP4", 41: "Q1_0", 42: "Q2_0",
}

// GGMLTypeName returns ggml's name for a type id, or "type <id>" when it
// has none.
func GGMLTypeName(id uint32) string {
	if int(id) < len(ggmlTypeNames) && ggmlTypeNames[id] != "" {
		return ggmlTypeNames[id]
	}
	return fmt.Sprintf("type %d", id)
}
