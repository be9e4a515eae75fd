package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"unsafe"

	"github.com/glmv/glmv/internal/half"
	"github.com/glmv/glmv/internal/mmap"
)

// File is one open safetensors file. Its tensor data is a read-only memory
// map (or, where mapping is unavailable, a copy in memory) that stays valid
// until Close.
type File struct {
	Path   string
	Header *Header
	data   []byte
	byName map[string]int
	unmap  func() error
}

// Open maps path and validates its header.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("safetensors: %s is a directory", path)
	}
	data, unmap, err := mmap.File(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("safetensors: map %s: %w", path, err)
	}
	h, err := ParseHeader(data, int64(len(data)))
	if err != nil {
		unmap()
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	sf := &File{Path: path, Header: h, data: data, unmap: unmap, byName: make(map[string]int, len(h.Tensors))}
	for i, t := range h.Tensors {
		sf.byName[t.Name] = i
	}
	return sf, nil
}

// Close releases the mapping; tensor data obtained from the file must not
// be used afterwards.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap = nil
	f.data = nil
	return err
}

// Info returns the description of the named tensor.
func (f *File) Info(name string) (TensorInfo, bool) {
	i, ok := f.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Header.Tensors[i], true
}

// Bytes returns the raw little-endian bytes of the named tensor.
func (f *File) Bytes(name string) ([]byte, error) {
	t, ok := f.Info(name)
	if !ok {
		return nil, fmt.Errorf("safetensors: %s: no tensor %q", f.Path, name)
	}
	s := f.Header.DataStart
	return f.data[s+t.Begin : s+t.End : s+t.End], nil
}

// Float32 returns the named tensor as float32 values, widening F16 and BF16
// and copying F32 (the copy is aligned and independent of the mapping).
func (f *File) Float32(name string) ([]float32, []int, error) {
	t, ok := f.Info(name)
	if !ok {
		return nil, nil, fmt.Errorf("safetensors: %s: no tensor %q", f.Path, name)
	}
	b, _ := f.Bytes(name)
	out, err := DecodeFloat32(t.DType, b)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %s: tensor %q: %w", f.Path, name, err)
	}
	return out, t.Shape, nil
}

// Int64 returns the named tensor as int64 values (I64 and I32 tensors).
func (f *File) Int64(name string) ([]int64, []int, error) {
	t, ok := f.Info(name)
	if !ok {
		return nil, nil, fmt.Errorf("safetensors: %s: no tensor %q", f.Path, name)
	}
	b, _ := f.Bytes(name)
	var out []int64
	switch t.DType {
	case I64:
		out = make([]int64, len(b)/8)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case I32:
		out = make([]int64, len(b)/4)
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	default:
		return nil, nil, fmt.Errorf("safetensors: %s: tensor %q is %s, not an integer type", f.Path, name, t.DType)
	}
	return out, t.Shape, nil
}

// DecodeFloat32 converts little-endian F32, F16 or BF16 bytes to float32.
func DecodeFloat32(dt DType, b []byte) ([]float32, error) {
	switch dt {
	case F32:
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out, nil
	case BF16:
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
		return out, nil
	case F16:
		u := AsUint16(b)
		out := make([]float32, len(u))
		for i, h := range u {
			out[i] = half.F16ToF32(h)
		}
		return out, nil
	}
	return nil, fmt.Errorf("dtype %s is not a float type glmv reads", dt)
}

// AsUint16 reinterprets little-endian bytes as uint16 values without
// copying when the slice is 2-byte aligned, and copies otherwise.
func AsUint16(b []byte) []uint16 {
	n := len(b) / 2
	if n == 0 {
		return nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%2 == 0 {
		return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]uint16, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return out
}

// AsFloat32 reinterprets little-endian F32 bytes as float32 values without
// copying when the slice is 4-byte aligned, and copies otherwise.
func AsFloat32(b []byte) []float32 {
	n := len(b) / 4
	if n == 0 {
		return nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
	}
	out, _ := DecodeFloat32(F32, b)
	return out
}
