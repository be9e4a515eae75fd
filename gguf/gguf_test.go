package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sample builds a small GGUF with every metadata type (nested and
// zero-length arrays included) and three tensors.
func sample(t testing.TB, align uint32) ([]byte, []KV) {
	t.Helper()
	nested := []Value{MustValue([]int32{1, 2}), MustValue([]string{}), MustValue([]Value{MustValue([]bool{true})})}
	kvs := []KV{
		{"general.architecture", MustValue("test")},
		{"u8", MustValue(uint8(200))}, {"i8", MustValue(int8(-100))},
		{"u16", MustValue(uint16(60000))}, {"i16", MustValue(int16(-30000))},
		{"u32", MustValue(uint32(4000000000))}, {"i32", MustValue(int32(-2000000000))},
		{"f32", MustValue(float32(1.5))}, {"bool", MustValue(true)}, {"str", MustValue("héllo")},
		{"u64", MustValue(uint64(1) << 63)}, {"i64", MustValue(int64(-1) << 62)}, {"f64", MustValue(2.25)},
		{"a.u8", MustValue([]uint8{1, 2, 3})}, {"a.i8", MustValue([]int8{-1})}, {"a.u16", MustValue([]uint16{7})},
		{"a.i16", MustValue([]int16{-7})}, {"a.u32", MustValue([]uint32{9})}, {"a.i32", MustValue([]int32{2, 3, 3, 0})},
		{"a.f32", MustValue([]float32{0.5, -0.25})}, {"a.bool", MustValue([]bool{true, false})},
		{"a.str", MustValue([]string{"a", "", "ccc"})}, {"a.u64", MustValue([]uint64{1 << 40})},
		{"a.i64", MustValue([]int64{-5})}, {"a.f64", MustValue([]float64{1e300})},
		{"a.empty", MustValue([]string{})}, {"a.nested", MustValue(nested)},
		{KeyAlignment, MustValue(align)},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, kv := range kvs {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	tensors := []struct {
		name string
		typ  Type
		dims []uint64
	}{{"a.weight", TypeF32, []uint64{3, 2}}, {"b.weight", TypeQ8_0, []uint64{64, 1}}, {"c", TypeF16, []uint64{5}}}
	for _, tt := range tensors {
		if err := w.AddTensor(tt.name, tt.typ, tt.dims...); err != nil {
			t.Fatal(err)
		}
	}
	for i, tt := range tensors {
		ti := TensorInfo{Name: tt.name, Type: tt.typ, Dims: tt.dims}
		if err := sizeTensor(&ti); err != nil {
			t.Fatal(err)
		}
		data := bytes.Repeat([]byte{byte(i + 1)}, int(ti.Size))
		if err := w.WriteTensor(tt.name, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), kvs
}

func TestRoundTrip(t *testing.T) {
	for _, align := range []uint32{32, 64, 1} {
		data, kvs := sample(t, align)
		h, err := ParseHeader(data)
		if err != nil {
			t.Fatal(err)
		}
		if h.Version != 3 || h.Alignment != int(align) || h.DataOffset%int64(align) != 0 {
			t.Errorf("version %d alignment %d data offset %d", h.Version, h.Alignment, h.DataOffset)
		}
		if !reflect.DeepEqual(h.KV, kvs) {
			t.Errorf("metadata differs:\n got %v\nwant %v", h.KV, kvs)
		}
		want := []struct {
			name string
			dims []uint64
			size uint64
		}{{"a.weight", []uint64{3, 2}, 24}, {"b.weight", []uint64{64, 1}, 68}, {"c", []uint64{5}, 10}}
		if len(h.Tensors) != len(want) {
			t.Fatalf("%d tensors", len(h.Tensors))
		}
		for i, w := range want {
			ti := h.Tensors[i]
			if ti.Name != w.name || !reflect.DeepEqual(ti.Dims, w.dims) || ti.Size != w.size || ti.Offset%uint64(align) != 0 {
				t.Errorf("tensor %d = %+v, want %+v", i, ti, w)
			}
			got := data[h.DataOffset+int64(ti.Offset):][:ti.Size]
			if !bytes.Equal(got, bytes.Repeat([]byte{byte(i + 1)}, int(ti.Size))) {
				t.Errorf("tensor %s data differs", ti.Name)
			}
		}
		if s := h.Tensors[0].Shape(); !reflect.DeepEqual(s, []int{2, 3}) {
			t.Errorf("shape %v, want [2 3]", s)
		}
	}
}

func TestValueAccessors(t *testing.T) {
	data, _ := sample(t, 32)
	h, err := ParseHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	get := func(k string) Value {
		v, ok := h.Get(k)
		if !ok {
			t.Fatalf("no %s", k)
		}
		return v
	}
	if v, ok := get("u32").Int(); !ok || v != 4000000000 {
		t.Errorf("u32 %v", v)
	}
	if _, ok := get("u64").Int(); ok {
		t.Error("uint64 1<<63 should not fit an int64")
	}
	if v, ok := get("a.i32").Ints(); !ok || !reflect.DeepEqual(v, []int64{2, 3, 3, 0}) {
		t.Errorf("a.i32 %v", v)
	}
	if v, ok := get("a.f32").Floats(); !ok || !reflect.DeepEqual(v, []float64{0.5, -0.25}) {
		t.Errorf("a.f32 %v", v)
	}
	if v, ok := get("a.empty").Strings(); !ok || len(v) != 0 {
		t.Errorf("a.empty %v %v", v, ok)
	}
	n := get("a.nested")
	if n.Len() != 3 || n.ElemType() != Array || n.Index(2).Index(0).Index(0).Any() != true {
		t.Errorf("nested %v", n)
	}
	if s, ok := get("str").Str(); !ok || s != "héllo" {
		t.Errorf("str %q", s)
	}
}

func TestOpenMapsData(t *testing.T) {
	data, _ := sample(t, 32)
	path := filepath.Join(t.TempDir(), "x.gguf")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := f.Data("b.weight")
	if err != nil || len(b) != 68 || b[0] != 2 {
		t.Fatalf("b.weight: %d bytes, %v", len(b), err)
	}
	if _, err := f.Data("nope"); err == nil {
		t.Error("missing tensor: no error")
	}
}

// header builds raw header bytes for the error tests.
type rawHeader struct{ bytes.Buffer }

func (r *rawHeader) u32(v uint32) *rawHeader {
	binary.Write(&r.Buffer, binary.LittleEndian, v)
	return r
}
func (r *rawHeader) u64(v uint64) *rawHeader {
	binary.Write(&r.Buffer, binary.LittleEndian, v)
	return r
}
func (r *rawHeader) str(s string) *rawHeader { r.u64(uint64(len(s))); r.WriteString(s); return r }

func start(version uint32, tensors, kvs uint64) *rawHeader {
	r := &rawHeader{}
	r.WriteString("GGUF")
	return r.u32(version).u64(tensors).u64(kvs)
}

func TestErrors(t *testing.T) {
	good, _ := sample(t, 32)
	withTensor := func(typ uint32, dims []uint64, off uint64, dataLen int) []byte {
		r := start(3, 1, 0).str("t")
		r.u32(uint32(len(dims)))
		for _, d := range dims {
			r.u64(d)
		}
		r.u32(typ).u64(off)
		for r.Len()%32 != 0 {
			r.WriteByte(0)
		}
		r.Write(make([]byte, dataLen))
		return r.Bytes()
	}
	two := func(off2 uint64) []byte {
		r := start(3, 2, 0)
		r.str("a").u32(1).u64(16).u32(uint32(TypeF32)).u64(0)
		r.str("b").u32(1).u64(16).u32(uint32(TypeF32)).u64(off2)
		for r.Len()%32 != 0 {
			r.WriteByte(0)
		}
		r.Write(make([]byte, 256))
		return r.Bytes()
	}
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"empty", "file ends inside magic", nil},
		{"bad magic", "bad magic", append([]byte("GGML"), good[4:]...)},
		{"version 1", "version 1 is not supported", start(1, 0, 0).Bytes()},
		{"big endian", "big-endian", append([]byte("GGUF\x00\x00\x00\x03"), good[8:]...)},
		{"absurd tensor count", "tensor count", start(3, 1<<60, 0).Bytes()},
		{"absurd kv count", "metadata count", start(3, 0, 1<<60).Bytes()},
		{"absurd array", "more than the remaining", start(3, 0, 1).str("k").u32(uint32(Array)).u32(uint32(Uint64)).u64(1 << 58).Bytes()},
		{"absurd string", "runs past the end", start(3, 0, 1).str("k").u32(uint32(String)).u64(1 << 62).Bytes()},
		{"unknown value type", "unknown value type", start(3, 0, 1).str("k").u32(99).u64(0).Bytes()},
		{"deep nesting", "nest deeper", func() []byte {
			r := start(3, 0, 1).str("k").u32(uint32(Array))
			for range 20 {
				r.u32(uint32(Array)).u64(1)
			}
			return r.Bytes()
		}()},
		{"bad bool", "bool byte", append(start(3, 0, 1).str("k").u32(uint32(Bool)).Bytes(), 7)},
		{"duplicate key", "appears twice", start(3, 0, 2).str("k").u32(uint32(Uint8)).Buffer.Bytes()},
		{"bad alignment", "power of two", append(start(3, 0, 1).str(KeyAlignment).u32(uint32(Uint32)).Bytes(), 3, 0, 0, 0)},
		{"unknown type", "unknown ggml type", withTensor(77, []uint64{4}, 0, 64)},
		{"too many dims", "dimensions", withTensor(0, []uint64{1, 1, 1, 1, 1}, 0, 64)},
		{"row not a block multiple", "not a multiple of the block size", withTensor(uint32(TypeQ8_0), []uint64{33}, 0, 64)},
		{"outside data", "runs past the end", withTensor(0, []uint64{16}, 32, 64)},
		{"truncated data", "runs past the end", withTensor(0, []uint64{16}, 0, 63)},
		{"overflowing dims", "overflow", withTensor(0, []uint64{1 << 40, 1 << 40}, 0, 64)},
		{"unaligned", "not aligned", withTensor(uint32(TypeI8), []uint64{4}, 4, 64)},
		{"overlap", "overlap", two(32)},
	}
	// A duplicate key needs the same key twice with valid values.
	dup := start(3, 0, 2)
	dup.str("k").u32(uint32(Uint8)).WriteByte(1)
	dup.str("k").u32(uint32(Uint8)).WriteByte(2)
	cases[11].data = dup.Bytes()
	for _, c := range cases {
		_, err := ParseHeader(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := ParseHeader(two(64)); err != nil {
		t.Errorf("adjacent tensors: %v", err)
	}
}

// TestTruncated cuts a valid file at every length: each prefix must fail
// cleanly (a file cut inside the tensor data fails the bounds check).
func TestTruncated(t *testing.T) {
	data, _ := sample(t, 32)
	for n := range len(data) {
		if _, err := ParseHeader(data[:n]); err == nil {
			t.Fatalf("prefix of %d of %d bytes parsed without error", n, len(data))
		}
	}
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter(&bytes.Buffer{})
	if err := w.AddTensor("x", TypeQ4_K, 100); err == nil {
		t.Error("Q4_K row of 100: no error")
	}
	if err := w.AddTensor(strings.Repeat("n", 64), TypeF32, 1); err == nil {
		t.Error("64-byte name: no error")
	}
	if err := w.Set(KeyAlignment, MustValue(uint32(3))); err == nil {
		t.Error("alignment 3: no error")
	}
	if err := w.AddTensor("x", TypeF32, 2); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("x", TypeF32, 2); err == nil {
		t.Error("duplicate: no error")
	}
	if err := w.WriteTensor("x", make([]byte, 4)); err == nil {
		t.Error("short data: no error")
	}
	if err := w.Close(); err == nil {
		t.Error("close with a tensor unwritten: no error")
	}
}

func TestParseType(t *testing.T) {
	for typ := range types {
		got, ok := ParseType(strings.ToLower(typ.String()))
		if !ok || got != typ {
			t.Errorf("ParseType(%v) = %v, %v", typ, got, ok)
		}
	}
}

func TestWriteTensorParts(t *testing.T) {
	write := func(parts ...[]byte) ([]byte, error) {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.AddTensor("x", TypeF32, 2, 2); err != nil {
			t.Fatal(err)
		}
		err := w.WriteTensorParts("x", func(i int) ([]byte, error) {
			if i == len(parts) {
				return nil, nil
			}
			return parts[i], nil
		})
		if err == nil {
			err = w.Close()
		}
		return buf.Bytes(), err
	}
	data, err := write(bytes.Repeat([]byte{1}, 8), bytes.Repeat([]byte{2}, 8))
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	got := data[h.DataOffset:]
	if !bytes.Equal(got, append(bytes.Repeat([]byte{1}, 8), bytes.Repeat([]byte{2}, 8)...)) {
		t.Errorf("data %v", got)
	}
	if _, err := write(make([]byte, 8)); err == nil {
		t.Error("short parts: no error")
	}
	if _, err := write(make([]byte, 12), make([]byte, 8)); err == nil {
		t.Error("parts past the size: no error")
	}
}
