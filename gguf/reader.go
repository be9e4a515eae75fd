package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"

	"github.com/glmv/glmv/internal/mmap"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the tensor data alignment when general.alignment is
// absent.
const DefaultAlignment = 32

// KeyAlignment is the metadata key that sets the data alignment.
const KeyAlignment = "general.alignment"

// MaxDims is the most dimensions a ggml tensor has.
const MaxDims = 4

// maxNesting bounds how deep arrays of arrays may nest.
const maxNesting = 8

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("malformed GGUF")

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// TensorInfo describes one tensor. Dims are in ggml order: Dims[0] is the
// length of a row (the fastest-moving index), so a numpy array of shape
// [a, b] has Dims [b, a].
type TensorInfo struct {
	Name   string
	Dims   []uint64
	Type   Type
	Offset uint64 // from the start of the data section
	Size   uint64 // bytes
}

// Elements is the number of elements of the tensor.
func (t *TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Shape is the tensor's shape outermost first (numpy / PyTorch order).
func (t *TensorInfo) Shape() []int {
	s := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		s[len(s)-1-i] = int(d)
	}
	return s
}

// Header is the parsed, validated front part of a GGUF file.
type Header struct {
	Version    uint32
	KV         []KV
	Tensors    []TensorInfo
	Alignment  int
	DataOffset int64 // file offset of the tensor data section
	kvIndex    map[string]int
	tIndex     map[string]int
}

// Get returns the metadata value under key.
func (h *Header) Get(key string) (Value, bool) {
	i, ok := h.kvIndex[key]
	if !ok {
		return Value{}, false
	}
	return h.KV[i].Value, true
}

// Tensor returns the description of the named tensor.
func (h *Header) Tensor(name string) (*TensorInfo, bool) {
	i, ok := h.tIndex[name]
	if !ok {
		return nil, false
	}
	return &h.Tensors[i], true
}

// reader decodes little-endian values from a byte slice, failing cleanly
// at its end.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: at byte %d: %s", ErrFormat, r.off, fmt.Sprintf(format, args...))
	}
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > r.left() {
		r.fail("file ends inside %s (need %d bytes, %d left)", what, n, r.left())
		return nil
	}
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p
}

func (r *reader) u8(what string) uint8 {
	if p := r.take(1, what); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u16(what string) uint16 {
	if p := r.take(2, what); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (r *reader) u32(what string) uint32 {
	if p := r.take(4, what); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *reader) u64(what string) uint64 {
	if p := r.take(8, what); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (r *reader) str(what string) string {
	n := r.u64(what + " length")
	if r.err != nil {
		return ""
	}
	if n > uint64(r.left()) {
		r.fail("%s of %d bytes runs past the end of the file", what, n)
		return ""
	}
	return string(r.take(int(n), what))
}

// count reads an element count and checks that the rest of the file can
// hold that many elements of at least minSize bytes each, so a corrupt
// count cannot make the reader allocate more than the file's size.
func (r *reader) count(what string, minSize int) int {
	n := r.u64(what)
	if r.err != nil {
		return 0
	}
	if minSize < 1 {
		minSize = 1
	}
	if n > uint64(r.left()/minSize) {
		r.fail("%s %d is more than the remaining %d bytes can hold", what, n, r.left())
		return 0
	}
	return int(n)
}

func (r *reader) scalar(t ValueType, what string) Value {
	switch t {
	case Uint8:
		return Value{typ: t, v: r.u8(what)}
	case Int8:
		return Value{typ: t, v: int8(r.u8(what))}
	case Uint16:
		return Value{typ: t, v: r.u16(what)}
	case Int16:
		return Value{typ: t, v: int16(r.u16(what))}
	case Uint32:
		return Value{typ: t, v: r.u32(what)}
	case Int32:
		return Value{typ: t, v: int32(r.u32(what))}
	case Float32:
		return Value{typ: t, v: math.Float32frombits(r.u32(what))}
	case Bool:
		b := r.u8(what)
		if b > 1 {
			r.fail("%s: bool byte is %d, not 0 or 1", what, b)
		}
		return Value{typ: t, v: b == 1}
	case String:
		return Value{typ: t, v: r.str(what)}
	case Uint64:
		return Value{typ: t, v: r.u64(what)}
	case Int64:
		return Value{typ: t, v: int64(r.u64(what))}
	case Float64:
		return Value{typ: t, v: math.Float64frombits(r.u64(what))}
	}
	r.fail("%s has unknown value type %d", what, uint32(t))
	return Value{}
}

func (r *reader) value(t ValueType, what string, depth int) Value {
	if t != Array {
		return r.scalar(t, what)
	}
	if depth >= maxNesting {
		r.fail("%s: arrays nest deeper than %d", what, maxNesting)
		return Value{}
	}
	et := ValueType(r.u32(what + " element type"))
	if r.err != nil {
		return Value{}
	}
	size := et.fixedSize()
	switch {
	case size < 0:
		r.fail("%s has unknown element type %d", what, uint32(et))
		return Value{}
	case et == String:
		size = 8
	case et == Array:
		size = 12
	}
	n := r.count(what+" length", size)
	if r.err != nil {
		return Value{}
	}
	out := Value{typ: Array, elem: et}
	switch et {
	case Uint8:
		out.v = readSlice(r, n, what, func(p []byte) uint8 { return p[0] }, 1)
	case Int8:
		out.v = readSlice(r, n, what, func(p []byte) int8 { return int8(p[0]) }, 1)
	case Uint16:
		out.v = readSlice(r, n, what, binary.LittleEndian.Uint16, 2)
	case Int16:
		out.v = readSlice(r, n, what, func(p []byte) int16 { return int16(binary.LittleEndian.Uint16(p)) }, 2)
	case Uint32:
		out.v = readSlice(r, n, what, binary.LittleEndian.Uint32, 4)
	case Int32:
		out.v = readSlice(r, n, what, func(p []byte) int32 { return int32(binary.LittleEndian.Uint32(p)) }, 4)
	case Float32:
		out.v = readSlice(r, n, what, func(p []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(p)) }, 4)
	case Uint64:
		out.v = readSlice(r, n, what, binary.LittleEndian.Uint64, 8)
	case Int64:
		out.v = readSlice(r, n, what, func(p []byte) int64 { return int64(binary.LittleEndian.Uint64(p)) }, 8)
	case Float64:
		out.v = readSlice(r, n, what, func(p []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(p)) }, 8)
	case Bool:
		v := make([]bool, n)
		for i := range v {
			b, _ := r.scalar(Bool, what).Bool()
			v[i] = b
		}
		out.v = v
	case String:
		v := make([]string, n)
		for i := range v {
			if r.err != nil {
				break
			}
			v[i] = r.str(what)
		}
		out.v = v
	case Array:
		v := make([]Value, n)
		for i := range v {
			if r.err != nil {
				break
			}
			v[i] = r.value(Array, what, depth+1)
		}
		out.v = v
	}
	return out
}

func readSlice[T any](r *reader, n int, what string, dec func([]byte) T, size int) []T {
	p := r.take(n*size, what)
	if p == nil {
		return nil
	}
	out := make([]T, n)
	for i := range out {
		out[i] = dec(p[i*size:])
	}
	return out
}

// ParseHeader parses and validates the header of a GGUF file whose full
// contents are data: metadata, tensor descriptions, and the placement of
// every tensor inside the data section (aligned, within the file, not
// overlapping, sized for its type and shape).
func ParseHeader(data []byte) (*Header, error) {
	r := &reader{b: data}
	magic := r.take(4, "magic")
	if r.err != nil {
		return nil, r.err
	}
	if string(magic) != Magic {
		return nil, fmt.Errorf("%w: bad magic %q (want %q)", ErrFormat, magic, Magic)
	}
	h := &Header{Version: r.u32("version")}
	if r.err != nil {
		return nil, r.err
	}
	switch {
	case h.Version == 2 || h.Version == 3:
	case h.Version&0xffff == 0 && h.Version != 0:
		return nil, fmt.Errorf("%w: version field %#x looks byte-swapped: big-endian GGUF files are not supported", ErrFormat, h.Version)
	default:
		return nil, fmt.Errorf("%w: version %d is not supported (want 2 or 3)", ErrFormat, h.Version)
	}
	nt := r.u64("tensor count")
	nkv := r.u64("metadata count")
	if r.err != nil {
		return nil, r.err
	}
	// A KV needs at least 8 (key length) + 4 (type) + 1 bytes; a tensor
	// description 8 + 4 + 8 + 4 + 8.
	if nkv > uint64(r.left()/13) {
		return nil, fmt.Errorf("%w: metadata count %d is more than the file can hold", ErrFormat, nkv)
	}
	if nt > uint64(r.left()/32) {
		return nil, fmt.Errorf("%w: tensor count %d is more than the file can hold", ErrFormat, nt)
	}
	h.KV = make([]KV, 0, nkv)
	h.kvIndex = make(map[string]int, nkv)
	for i := uint64(0); i < nkv && r.err == nil; i++ {
		key := r.str("metadata key")
		t := ValueType(r.u32("type of " + key))
		v := r.value(t, key, 0)
		if r.err != nil {
			break
		}
		if _, dup := h.kvIndex[key]; dup {
			return nil, fmt.Errorf("%w: metadata key %q appears twice", ErrFormat, key)
		}
		h.kvIndex[key] = len(h.KV)
		h.KV = append(h.KV, KV{Key: key, Value: v})
	}
	if r.err != nil {
		return nil, r.err
	}
	h.Alignment = DefaultAlignment
	if v, ok := h.Get(KeyAlignment); ok {
		a, isU32 := v.Any().(uint32)
		if !isU32 || a == 0 || a&(a-1) != 0 {
			return nil, fmt.Errorf("%w: %s = %v must be a uint32 power of two", ErrFormat, KeyAlignment, v)
		}
		h.Alignment = int(a)
	}
	h.Tensors = make([]TensorInfo, 0, nt)
	h.tIndex = make(map[string]int, nt)
	for i := uint64(0); i < nt && r.err == nil; i++ {
		t := TensorInfo{Name: r.str("tensor name")}
		nd := r.u32("dimension count of " + t.Name)
		if r.err != nil {
			break
		}
		if nd == 0 || nd > MaxDims {
			return nil, fmt.Errorf("%w: tensor %q has %d dimensions (want 1 to %d)", ErrFormat, t.Name, nd, MaxDims)
		}
		t.Dims = make([]uint64, nd)
		for d := range t.Dims {
			t.Dims[d] = r.u64("dimensions of " + t.Name)
		}
		t.Type = Type(r.u32("type of " + t.Name))
		t.Offset = r.u64("offset of " + t.Name)
		if r.err != nil {
			break
		}
		if err := sizeTensor(&t); err != nil {
			return nil, err
		}
		if _, dup := h.tIndex[t.Name]; dup {
			return nil, fmt.Errorf("%w: tensor %q appears twice", ErrFormat, t.Name)
		}
		h.tIndex[t.Name] = len(h.Tensors)
		h.Tensors = append(h.Tensors, t)
	}
	if r.err != nil {
		return nil, r.err
	}
	start := alignUp(int64(r.off), int64(h.Alignment))
	h.DataOffset = start
	if len(h.Tensors) > 0 && start > int64(len(data)) {
		return nil, fmt.Errorf("%w: file ends before its data section (at %d, file is %d bytes)", ErrFormat, start, len(data))
	}
	dataLen := uint64(max(int64(len(data))-start, 0))
	order := make([]int, len(h.Tensors))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return h.Tensors[order[a]].Offset < h.Tensors[order[b]].Offset })
	var prevEnd uint64
	prev := ""
	for _, i := range order {
		t := &h.Tensors[i]
		if t.Offset%uint64(h.Alignment) != 0 {
			return nil, fmt.Errorf("%w: tensor %q at data offset %d is not aligned to %d", ErrFormat, t.Name, t.Offset, h.Alignment)
		}
		if t.Offset > dataLen || t.Size > dataLen-t.Offset {
			return nil, fmt.Errorf("%w: tensor %q (%d bytes at data offset %d) runs past the end of the file (data section is %d bytes; truncated?)", ErrFormat, t.Name, t.Size, t.Offset, dataLen)
		}
		if prev != "" && t.Offset < prevEnd {
			return nil, fmt.Errorf("%w: tensors %q and %q overlap", ErrFormat, prev, t.Name)
		}
		prevEnd, prev = t.Offset+t.Size, t.Name
	}
	return h, nil
}

// sizeTensor checks a tensor's type and dimensions and sets its Size.
func sizeTensor(t *TensorInfo) error {
	if !t.Type.Known() {
		return fmt.Errorf("%w: tensor %q has unknown ggml type %d", ErrFormat, t.Name, uint32(t.Type))
	}
	n := uint64(1)
	for _, d := range t.Dims {
		if d > math.MaxInt64 || (d != 0 && n > math.MaxInt64/d) {
			return fmt.Errorf("%w: tensor %q dimensions %v overflow", ErrFormat, t.Name, t.Dims)
		}
		n *= d
	}
	bs := uint64(t.Type.BlockSize())
	if t.Dims[0]%bs != 0 {
		return fmt.Errorf("%w: tensor %q of type %v has rows of %d elements, not a multiple of the block size %d", ErrFormat, t.Name, t.Type, t.Dims[0], bs)
	}
	t.Size = n / bs * uint64(t.Type.BlockBytes())
	return nil
}

func alignUp(x, a int64) int64 { return (x + a - 1) / a * a }

// File is an open GGUF file: its header and a read-only mapping of its
// contents, valid until Close.
type File struct {
	Path string
	*Header
	data  []byte
	unmap func() error
}

// Open maps path and validates its header.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("gguf: %s is a directory", path)
	}
	data, unmap, err := mmap.File(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("gguf: map %s: %w", path, err)
	}
	h, err := ParseHeader(data)
	if err != nil {
		unmap()
		return nil, fmt.Errorf("gguf: %s: %w", path, err)
	}
	return &File{Path: path, Header: h, data: data, unmap: unmap}, nil
}

// Close releases the mapping; tensor data obtained from the file must not
// be used afterwards.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap, f.data = nil, nil
	return err
}

// Data returns the raw bytes of the named tensor, a view of the mapping.
func (f *File) Data(name string) ([]byte, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("gguf: %s: no tensor %q", f.Path, name)
	}
	return f.TensorData(t), nil
}

// TensorData returns the raw bytes of t, which must come from f's header.
func (f *File) TensorData(t *TensorInfo) []byte {
	s := uint64(f.DataOffset) + t.Offset
	return f.data[s : s+t.Size : s+t.Size]
}

// Names returns the tensor names in file order.
func (h *Header) Names() []string {
	out := make([]string, len(h.Tensors))
	for i, t := range h.Tensors {
		out[i] = t.Name
	}
	return out
}

// Keys returns the metadata keys in file order.
func (h *Header) Keys() []string {
	out := make([]string, len(h.KV))
	for i, kv := range h.KV {
		out[i] = kv.Key
	}
	return slices.Clip(out)
}

// Release tells the kernel that b, a slice of this file's mapping (tensor
// data from Data or TensorData), is not needed any more, so its pages
// leave resident memory; reading it again faults them back in from the
// file. It reports whether b lay inside the mapping.
func (f *File) Release(b []byte) bool {
	if !mmap.Within(f.data, b) {
		return false
	}
	return mmap.Release(b) == nil
}
