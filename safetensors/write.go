package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// Tensor is a named tensor to write: its dtype, shape and little-endian
// bytes.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// Entry describes a tensor to write without its data.
type Entry struct {
	Name  string
	DType DType
	Shape []int
}

// Size is the number of data bytes of the entry.
func (e Entry) Size() int64 {
	n := int64(e.DType.Size())
	for _, d := range e.Shape {
		n *= int64(d)
	}
	return n
}

// Write writes tensors (sorted by name) and optional metadata as a
// safetensors file. The header is padded with spaces to a multiple of 8
// bytes so every tensor starts aligned.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	entries := make([]Entry, len(tensors))
	data := make(map[string][]byte, len(tensors))
	for i, t := range tensors {
		entries[i] = Entry{Name: t.Name, DType: t.DType, Shape: t.Shape}
		if n := entries[i].Size(); n != int64(len(t.Data)) {
			return fmt.Errorf("safetensors: write %q: %s %v needs %d bytes, have %d", t.Name, t.DType, t.Shape, n, len(t.Data))
		}
		data[t.Name] = t.Data
	}
	return WriteFunc(w, entries, metadata, func(e Entry, w io.Writer) error {
		_, err := w.Write(data[e.Name])
		return err
	})
}

// WriteFunc writes a safetensors file whose tensors' data is produced one
// tensor at a time by fill, in name order, so a file larger than memory
// can be written. fill must write exactly e.Size() bytes.
func WriteFunc(w io.Writer, entries []Entry, metadata map[string]string, fill func(e Entry, w io.Writer) error) error {
	es := append([]Entry(nil), entries...)
	sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for _, e := range es {
		n := e.Size()
		shape := e.Shape
		if shape == nil {
			shape = []int{}
		}
		header[e.Name] = map[string]any{"dtype": e.DType, "shape": shape, "data_offsets": []int64{off, off + n}}
		off += n
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("safetensors: write header: %w", err)
	}
	hb = append(hb, bytes.Repeat([]byte{' '}, (8-len(hb)%8)%8)...)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(hb)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(hb); err != nil {
		return err
	}
	for _, e := range es {
		cw := &countingWriter{w: w}
		if err := fill(e, cw); err != nil {
			return fmt.Errorf("safetensors: write %q: %w", e.Name, err)
		}
		if cw.n != e.Size() {
			return fmt.Errorf("safetensors: write %q: %s %v needs %d bytes, got %d", e.Name, e.DType, e.Shape, e.Size(), cw.n)
		}
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
