package gguf

import "testing"

// FuzzGGUFHeader feeds arbitrary bytes to the header parser: it must
// return an error or a header whose tensors all lie inside the data, never
// panic, hang or allocate beyond a small multiple of the input size.
func FuzzGGUFHeader(f *testing.F) {
	for _, a := range []uint32{32, 1} {
		data, _ := sample(f, a)
		f.Add(data)
	}
	f.Add([]byte("GGUF\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeader(data)
		if err != nil {
			return
		}
		for _, ti := range h.Tensors {
			end := uint64(h.DataOffset) + ti.Offset + ti.Size
			if end > uint64(len(data)) {
				t.Fatalf("tensor %q ends at %d past %d bytes", ti.Name, end, len(data))
			}
		}
	})
}
