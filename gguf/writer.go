package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Writer streams a GGUF v3 file: declare the metadata and every tensor
// first, then write the tensors' data one at a time in declaration order.
// Only one tensor's data needs to be in memory at once.
type Writer struct {
	w        *bufio.Writer
	kv       []KV
	keys     map[string]bool
	tensors  []TensorInfo
	names    map[string]bool
	align    int
	started  bool
	next     int   // index of the next tensor whose data is due
	pos      int64 // bytes written to the data section
	finished bool
}

// NewWriter returns a writer to w with the default alignment.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 1<<20), keys: map[string]bool{}, names: map[string]bool{}, align: DefaultAlignment}
}

// Set adds a metadata entry; keys are written in the order first set.
// Setting general.alignment (a uint32 power of two) changes the alignment.
func (w *Writer) Set(key string, v Value) error {
	if w.started {
		return fmt.Errorf("gguf: Set(%q) after the header was written", key)
	}
	if key == "" {
		return fmt.Errorf("gguf: empty metadata key")
	}
	if v.v == nil {
		return fmt.Errorf("gguf: %s: zero Value", key)
	}
	if key == KeyAlignment {
		a, ok := v.Any().(uint32)
		if !ok || a == 0 || a&(a-1) != 0 {
			return fmt.Errorf("gguf: %s must be a uint32 power of two, is %v", key, v)
		}
		w.align = int(a)
	}
	if w.keys[key] {
		for i := range w.kv {
			if w.kv[i].Key == key {
				w.kv[i].Value = v
			}
		}
		return nil
	}
	w.keys[key] = true
	w.kv = append(w.kv, KV{Key: key, Value: v})
	return nil
}

// SetAny is Set(key, ValueOf(x)).
func (w *Writer) SetAny(key string, x any) error {
	v, err := ValueOf(x)
	if err != nil {
		return fmt.Errorf("gguf: %s: %w", key, err)
	}
	return w.Set(key, v)
}

// AddTensor declares a tensor with dims in ggml order (row length first).
func (w *Writer) AddTensor(name string, typ Type, dims ...uint64) error {
	if w.started {
		return fmt.Errorf("gguf: AddTensor(%q) after the header was written", name)
	}
	if w.names[name] {
		return fmt.Errorf("gguf: tensor %q declared twice", name)
	}
	if len(name) >= 64 {
		return fmt.Errorf("gguf: tensor name %q is longer than ggml's 63 bytes", name)
	}
	if len(dims) == 0 || len(dims) > MaxDims {
		return fmt.Errorf("gguf: tensor %q has %d dimensions (want 1 to %d)", name, len(dims), MaxDims)
	}
	t := TensorInfo{Name: name, Type: typ, Dims: append([]uint64(nil), dims...)}
	if err := sizeTensor(&t); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	w.names[name] = true
	w.tensors = append(w.tensors, t)
	return nil
}

func (w *Writer) writeHeader() error {
	w.started = true
	var off uint64
	for i := range w.tensors {
		w.tensors[i].Offset = off
		off = uint64(alignUp(int64(off+w.tensors[i].Size), int64(w.align)))
	}
	e := &enc{w: w.w}
	e.bytes([]byte(Magic))
	e.u32(3)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(len(w.kv)))
	for _, kv := range w.kv {
		e.str(kv.Key)
		e.u32(uint32(kv.Value.typ))
		e.value(kv.Value)
	}
	for _, t := range w.tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(t.Offset)
	}
	if e.err != nil {
		return fmt.Errorf("gguf: write header: %w", e.err)
	}
	e.pad(e.n, w.align)
	return e.err
}

// WriteTensor writes the data of the next declared tensor, which must be
// the one named. The first call writes the header.
func (w *Writer) WriteTensor(name string, data []byte) error {
	return w.WriteTensorParts(name, func(i int) ([]byte, error) {
		if i > 0 {
			return nil, nil
		}
		if data == nil {
			return []byte{}, nil
		}
		return data, nil
	})
}

// WriteTensorParts writes the data of the next declared tensor, which
// must be the one named, as consecutive parts: part(i) for i = 0, 1, …
// until it returns nil. Only one part needs to be in memory at a time;
// the parts together must be exactly the tensor's size.
func (w *Writer) WriteTensorParts(name string, part func(i int) ([]byte, error)) error {
	if !w.started {
		if err := w.writeHeader(); err != nil {
			return err
		}
	}
	if w.next >= len(w.tensors) {
		return fmt.Errorf("gguf: WriteTensorParts(%q): every declared tensor is written", name)
	}
	t := &w.tensors[w.next]
	if t.Name != name {
		return fmt.Errorf("gguf: WriteTensorParts(%q): tensor %q is due first", name, t.Name)
	}
	e := &enc{w: w.w}
	e.pad(w.pos, w.align)
	var n uint64
	for i := 0; ; i++ {
		b, err := part(i)
		if err != nil {
			return fmt.Errorf("gguf: %s: %w", name, err)
		}
		if b == nil {
			break
		}
		if n += uint64(len(b)); n > t.Size {
			return fmt.Errorf("gguf: tensor %q: parts exceed its %d bytes", name, t.Size)
		}
		e.bytes(b)
		if e.err != nil {
			return fmt.Errorf("gguf: write %s: %w", name, e.err)
		}
	}
	if n != t.Size {
		return fmt.Errorf("gguf: tensor %q: parts hold %d bytes, its %v %v shape needs %d", name, n, t.Type, t.Dims, t.Size)
	}
	w.pos = int64(t.Offset + t.Size)
	w.next++
	return nil
}

// Close writes the header if no tensor was written and flushes; every
// declared tensor must have been written. It does not close the
// underlying writer.
func (w *Writer) Close() error {
	if w.finished {
		return nil
	}
	if !w.started {
		if err := w.writeHeader(); err != nil {
			return err
		}
	}
	if w.next != len(w.tensors) {
		return fmt.Errorf("gguf: %d of %d tensors were written", w.next, len(w.tensors))
	}
	w.finished = true
	return w.w.Flush()
}

// enc writes little-endian values, remembering the first error.
type enc struct {
	w   io.Writer
	n   int64
	err error
	buf [8]byte
}

func (e *enc) bytes(p []byte) {
	if e.err != nil {
		return
	}
	n, err := e.w.Write(p)
	e.n += int64(n)
	e.err = err
}

func (e *enc) u8(v uint8) { e.buf[0] = v; e.bytes(e.buf[:1]) }
func (e *enc) u16(v uint16) {
	binary.LittleEndian.PutUint16(e.buf[:], v)
	e.bytes(e.buf[:2])
}
func (e *enc) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], v)
	e.bytes(e.buf[:4])
}
func (e *enc) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], v)
	e.bytes(e.buf[:8])
}
func (e *enc) str(s string) { e.u64(uint64(len(s))); e.bytes([]byte(s)) }

func (e *enc) pad(at int64, align int) {
	if n := alignUp(at, int64(align)) - at; n > 0 {
		e.bytes(make([]byte, n))
	}
}

func (e *enc) value(v Value) {
	switch x := v.v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	default:
		if v.typ != Array {
			if e.err == nil {
				e.err = fmt.Errorf("cannot encode %T", v.v)
			}
			return
		}
		e.u32(uint32(v.elem))
		n := v.Len()
		e.u64(uint64(n))
		for i := range n {
			e.value(v.Index(i))
		}
	}
}
