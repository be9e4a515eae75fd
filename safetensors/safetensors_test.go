package safetensors

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func encode(t *testing.T, ts ...Tensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawFile builds a file from a literal JSON header and data bytes.
func rawFile(header string, data []byte) []byte {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	return append(append(n[:], header...), data...)
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	data := encode(t,
		Tensor{Name: "a", DType: F32, Shape: []int{2, 2}, Data: f32bytes(1, 2, 3, 4)},
		Tensor{Name: "b", DType: BF16, Shape: []int{2}, Data: []byte{0x80, 0x3f, 0x00, 0xc0}},
		Tensor{Name: "c", DType: F16, Shape: []int{1}, Data: []byte{0x00, 0x3c}},
		Tensor{Name: "i", DType: I64, Shape: []int{1}, Data: []byte{7, 0, 0, 0, 0, 0, 0, 0}},
	)
	f, err := Open(writeFile(t, dir, "x.safetensors", data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, _, _ := f.Float32("a"); !equal(got, []float32{1, 2, 3, 4}) {
		t.Errorf("a = %v", got)
	}
	if got, _, _ := f.Float32("b"); !equal(got, []float32{1, -2}) {
		t.Errorf("b = %v", got)
	}
	if got, _, _ := f.Float32("c"); !equal(got, []float32{1}) {
		t.Errorf("c = %v", got)
	}
	if got, _, _ := f.Int64("i"); len(got) != 1 || got[0] != 7 {
		t.Errorf("i = %v", got)
	}
	if f.Header.Metadata["format"] != "pt" {
		t.Errorf("metadata = %v", f.Header.Metadata)
	}
	if _, _, err := f.Float32("nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing tensor error = %v", err)
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBadFiles(t *testing.T) {
	good := encode(t, Tensor{Name: "w", DType: F32, Shape: []int{4}, Data: f32bytes(1, 2, 3, 4)})
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"truncated data", good[:len(good)-3], `tensor "w"`},
		{"truncated header", good[:12], "runs past the end"},
		{"huge header length", append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, good[8:]...), "exceeds"},
		{"not json", rawFile("{{{{{{{{", nil), "not a JSON object"},
		{"json array", rawFile("[1,2,3] ", nil), "not a JSON object"},
		{"bad dtype", rawFile(`{"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), "unsupported dtype"},
		{"shape mismatch", rawFile(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), "needs 8 bytes"},
		{"negative dim", rawFile(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 4)), "bad dimension"},
		{"reversed offsets", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, make([]byte, 4)), "bad data_offsets"},
		{"past end", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 4)), "past the end"},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "overlap"},
		{"missing field", rawFile(`{"w":{"dtype":"F32","shape":[1]}}`, make([]byte, 4)), "needs dtype, shape and data_offsets"},
		{"bad metadata", rawFile(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		{"huge shape", rawFile(`{"w":{"dtype":"F32","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,4]}}`, make([]byte, 4)), "too large"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, dir, strings.ReplaceAll(c.name, " ", "_")+".safetensors", c.data)
			f, err := Open(p)
			if err == nil {
				f.Close()
				t.Fatalf("Open accepted a bad file")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %q should name the file and say %q", err, c.want)
			}
		})
	}
}

func TestOpenDirSharded(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "model-00001-of-00002.safetensors", encode(t, Tensor{Name: "a", DType: F32, Shape: []int{1}, Data: f32bytes(1)}))
	writeFile(t, dir, "model-00002-of-00002.safetensors", encode(t, Tensor{Name: "b", DType: F32, Shape: []int{1}, Data: f32bytes(2)}))
	writeFile(t, dir, IndexFile, []byte(`{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`))
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := strings.Join(s.Names(), ","); got != "a,b" {
		t.Errorf("names = %s", got)
	}

	// An index that names the wrong shard for a tensor is an error.
	writeFile(t, dir, IndexFile, []byte(`{"weight_map":{"a":"model-00002-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`))
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("wrong shard: err = %v", err)
	}
	// A shard path escaping the folder is refused.
	writeFile(t, dir, IndexFile, []byte(`{"weight_map":{"a":"../x.safetensors"}}`))
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), "bad shard name") {
		t.Errorf("escaping shard: err = %v", err)
	}
	// A missing shard is reported with its path.
	writeFile(t, dir, IndexFile, []byte(`{"weight_map":{"a":"model-00003-of-00003.safetensors"}}`))
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), "model-00003-of-00003.safetensors") {
		t.Errorf("missing shard: err = %v", err)
	}
	if _, err := OpenDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no model.safetensors") {
		t.Errorf("empty dir: err = %v", err)
	}
}

func TestDuplicateAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.safetensors", encode(t, Tensor{Name: "w", DType: F32, Shape: []int{1}, Data: f32bytes(1)}))
	b := writeFile(t, dir, "b.safetensors", encode(t, Tensor{Name: "w", DType: F32, Shape: []int{1}, Data: f32bytes(2)}))
	if _, err := OpenFiles(a, b); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("err = %v", err)
	}
}

// FuzzParseHeader checks that no input makes the header parser panic, and
// that every header it accepts describes tensors inside the file that do
// not overlap.
func FuzzParseHeader(f *testing.F) {
	f.Add(rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(rawFile(`{"__metadata__":{"format":"pt"},"a":{"dtype":"BF16","shape":[2,1],"data_offsets":[0,4]},"b":{"dtype":"I64","shape":[],"data_offsets":[4,12]}}`, make([]byte, 12)))
	f.Add(rawFile(`{}`, nil))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeader(data, int64(len(data)))
		if err != nil {
			return
		}
		dataLen := int64(len(data)) - h.DataStart
		var prevEnd int64
		for _, ti := range h.Tensors {
			if ti.Begin < prevEnd || ti.End > dataLen || ti.End-ti.Begin != ti.NumElements()*int64(ti.DType.Size()) {
				t.Fatalf("accepted bad tensor %+v (data %d bytes)", ti, dataLen)
			}
			prevEnd = ti.End
		}
	})
}

// A truncated file names the first tensor (in file order) that lost data,
// the same one on every run, not whichever map order visits first.
func TestTruncatedErrorIsStable(t *testing.T) {
	var ts []Tensor
	for i := 0; i < 12; i++ {
		ts = append(ts, Tensor{Name: fmt.Sprintf("t%02d", 11-i), DType: F32, Shape: []int{4}, Data: f32bytes(1, 2, 3, 4)})
	}
	good := encode(t, ts...)
	bad := good[:len(good)-5*16] // cuts the last five tensors
	first := ""
	for run := 0; run < 30; run++ {
		_, err := ParseHeader(bad, int64(len(bad)))
		if err == nil {
			t.Fatal("truncated file accepted")
		}
		if first == "" {
			first = err.Error()
		} else if err.Error() != first {
			t.Fatalf("run %d: %q, earlier %q", run, err, first)
		}
	}
	h, err := ParseHeader(good, int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	want := h.Tensors[len(h.Tensors)-5].Name
	if !strings.Contains(first, fmt.Sprintf("%q", want)) {
		t.Errorf("error %q does not name %q, the first tensor past the end", first, want)
	}
}

// Release drops a tensor's pages from resident memory; the data reads the
// same afterwards (from the file again), and slices that are not the set's
// are left alone.
func TestRelease(t *testing.T) {
	const n = 16 << 20 // floats: 64 MiB
	data := make([]byte, 4*n)
	for i := range data {
		data[i] = byte(i * 7)
	}
	dir := t.TempDir()
	writeFile(t, dir, "model.safetensors", encode(t, Tensor{Name: "w", DType: F32, Shape: []int{n}, Data: data}))
	data = nil
	set, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	b, err := set.Bytes("w")
	if err != nil {
		t.Fatal(err)
	}
	sum := func() (s int) {
		for i := 0; i < len(b); i += 512 {
			s += int(b[i])
		}
		return s
	}
	before := sum()
	rssTouched := vmRSS(t)
	if !set.Release(b) {
		t.Fatal("Release refused the set's own tensor")
	}
	rssReleased := vmRSS(t)
	if rssTouched > 0 && rssTouched-rssReleased < 32<<20 {
		t.Errorf("resident memory went from %d to %d MiB after releasing 64 MiB", rssTouched>>20, rssReleased>>20)
	}
	if sum() != before {
		t.Error("data changed after Release")
	}
	if set.Release(make([]byte, 1<<20)) {
		t.Error("Release accepted memory that is not the set's")
	}
}

// vmRSS reads the process's resident set size, or 0 where /proc is absent.
func vmRSS(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}

// WriteFunc streams tensor data and refuses a fill of the wrong size.
func TestWriteFunc(t *testing.T) {
	var buf bytes.Buffer
	entries := []Entry{{Name: "b", DType: F32, Shape: []int{2}}, {Name: "a", DType: BF16, Shape: []int{3}}}
	err := WriteFunc(&buf, entries, nil, func(e Entry, w io.Writer) error {
		_, err := w.Write(bytes.Repeat([]byte{1}, int(e.Size())))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHeader(buf.Bytes(), int64(buf.Len()))
	if err != nil || len(h.Tensors) != 2 || h.Tensors[0].Name != "a" || h.Tensors[1].End-h.Tensors[1].Begin != 8 {
		t.Fatalf("header %+v, %v", h, err)
	}
	err = WriteFunc(io.Discard, entries, nil, func(e Entry, w io.Writer) error {
		_, err := w.Write([]byte{1})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "needs") {
		t.Errorf("short fill: %v", err)
	}
}
