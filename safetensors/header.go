// Package safetensors reads Hugging Face safetensors files through a
// read-only memory map, one file or a sharded set described by a
// model.safetensors.index.json, and validates every header before any
// tensor is used.
package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
)

// DType is a tensor element type as spelled in safetensors headers.
type DType string

// Element types defined by the safetensors format.
const (
	F64     DType = "F64"
	F32     DType = "F32"
	F16     DType = "F16"
	BF16    DType = "BF16"
	I64     DType = "I64"
	I32     DType = "I32"
	I16     DType = "I16"
	I8      DType = "I8"
	U8      DType = "U8"
	Bool    DType = "BOOL"
	F8E4M3  DType = "F8_E4M3"
	F8E5M2  DType = "F8_E5M2"
	U16     DType = "U16"
	U32     DType = "U32"
	U64     DType = "U64"
	F8E8M0  DType = "F8_E8M0"
	F4      DType = "F4"
	F6E2M3  DType = "F6_E2M3"
	F6E3M2  DType = "F6_E3M2"
	C64     DType = "C64"
	unknown DType = ""
)

// Size returns the element size in bytes, or 0 for types this package
// cannot address (sub-byte formats and unknown names).
func (d DType) Size() int {
	switch d {
	case F64, I64, U64, C64:
		return 8
	case F32, I32, U32:
		return 4
	case F16, BF16, I16, U16:
		return 2
	case I8, U8, Bool, F8E4M3, F8E5M2, F8E8M0:
		return 1
	}
	return 0
}

// TensorInfo describes one tensor of a file. Begin and End are byte
// offsets relative to the start of the data section.
type TensorInfo struct {
	Name       string
	DType      DType
	Shape      []int
	Begin, End int64
}

// NumElements is the product of the shape (1 for a scalar).
func (t *TensorInfo) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

// MaxHeaderSize bounds the JSON header; real checkpoints use well under 1 MB.
const MaxHeaderSize = 100 << 20

// Header is a parsed and validated safetensors header.
type Header struct {
	// Tensors in data order.
	Tensors []TensorInfo
	// Metadata is the optional "__metadata__" string map.
	Metadata map[string]string
	// DataStart is the file offset of the data section (8 + header length).
	DataStart int64
}

// ParseHeader parses the header at the start of a safetensors file of
// fileSize bytes. prefix must hold at least the first 8 bytes and, once the
// length is known, the whole header (callers of a mapped file pass all of
// it). Every tensor is checked: known dtype, non-negative shape, byte length
// equal to elements × element size, range inside the data section and no
// two tensors overlapping.
func ParseHeader(prefix []byte, fileSize int64) (*Header, error) {
	if fileSize < 8 || len(prefix) < 8 {
		return nil, fmt.Errorf("file is %d bytes, too short for a safetensors header", fileSize)
	}
	n := uint64(prefix[0]) | uint64(prefix[1])<<8 | uint64(prefix[2])<<16 | uint64(prefix[3])<<24 |
		uint64(prefix[4])<<32 | uint64(prefix[5])<<40 | uint64(prefix[6])<<48 | uint64(prefix[7])<<56
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("header length %d exceeds the %d-byte limit (not a safetensors file?)", n, MaxHeaderSize)
	}
	if int64(n) > fileSize-8 {
		return nil, fmt.Errorf("header length %d runs past the end of the %d-byte file (truncated?)", n, fileSize)
	}
	if uint64(len(prefix)) < 8+n {
		return nil, fmt.Errorf("header needs %d bytes, only %d given", 8+n, len(prefix))
	}
	raw := prefix[8 : 8+n]
	dataLen := fileSize - 8 - int64(n)

	var entries map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("header is not a JSON object: %w", err)
	}
	if entries == nil {
		return nil, errors.New("header is not a JSON object")
	}
	h := &Header{DataStart: 8 + int64(n)}
	// Visit the entries in name order so that a broken file gets the same
	// error on every run.
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		msg := entries[name]
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &h.Metadata); err != nil {
				return nil, fmt.Errorf("__metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var e struct {
			DType   *string  `json:"dtype"`
			Shape   *[]int64 `json:"shape"`
			Offsets *[]int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("tensor %q: bad header entry: %w", name, err)
		}
		if e.DType == nil || e.Shape == nil || e.Offsets == nil {
			return nil, fmt.Errorf("tensor %q: header entry needs dtype, shape and data_offsets", name)
		}
		ti := TensorInfo{Name: name, DType: DType(*e.DType)}
		size := ti.DType.Size()
		if size == 0 {
			return nil, fmt.Errorf("tensor %q: unsupported dtype %q", name, *e.DType)
		}
		elems := int64(1)
		for _, d := range *e.Shape {
			if d < 0 || d > math.MaxInt32 {
				return nil, fmt.Errorf("tensor %q: bad dimension %d in shape %v", name, d, *e.Shape)
			}
			if d != 0 && elems > math.MaxInt64/8/d {
				return nil, fmt.Errorf("tensor %q: shape %v is too large", name, *e.Shape)
			}
			elems *= d
			ti.Shape = append(ti.Shape, int(d))
		}
		if len(*e.Offsets) != 2 {
			return nil, fmt.Errorf("tensor %q: data_offsets must have 2 entries, has %d", name, len(*e.Offsets))
		}
		ti.Begin, ti.End = (*e.Offsets)[0], (*e.Offsets)[1]
		if ti.Begin < 0 || ti.End < ti.Begin {
			return nil, fmt.Errorf("tensor %q: bad data_offsets [%d, %d]", name, ti.Begin, ti.End)
		}
		if want := elems * int64(size); ti.End-ti.Begin != want {
			return nil, fmt.Errorf("tensor %q: %s %v needs %d bytes but data_offsets span %d", name, ti.DType, ti.Shape, want, ti.End-ti.Begin)
		}
		h.Tensors = append(h.Tensors, ti)
	}
	sort.Slice(h.Tensors, func(i, j int) bool {
		a, b := h.Tensors[i], h.Tensors[j]
		if a.Begin != b.Begin {
			return a.Begin < b.Begin
		}
		return a.Name < b.Name
	})
	// The first tensor (in file order) that runs past the end is the one a
	// truncated file lost.
	for _, ti := range h.Tensors {
		if ti.End > dataLen {
			return nil, fmt.Errorf("tensor %q: data [%d, %d) runs past the end of the data section (%d bytes; file truncated?)", ti.Name, ti.Begin, ti.End, dataLen)
		}
	}
	for i := 1; i < len(h.Tensors); i++ {
		a, b := h.Tensors[i-1], h.Tensors[i]
		if b.Begin < a.End {
			return nil, fmt.Errorf("tensors %q and %q overlap ([%d, %d) and [%d, %d))", a.Name, b.Name, a.Begin, a.End, b.Begin, b.End)
		}
	}
	return h, nil
}
