package ggufmodel

import (
	"bytes"
	"testing"

	"github.com/glmv/glmv/gguf"
	"github.com/glmv/glmv/tokenizer"
)

// FuzzGGUFMetadata builds the model configuration, the vision
// configuration and the tokenizer from arbitrary GGUF files: each must be
// a value or an error, never a panic. Seeds are the metadata of the text
// and mmproj fixtures with small tensors.
func FuzzGGUFMetadata(f *testing.F) {
	for _, name := range []string{"dense_a-Q8_0", "mmproj-dense_a-F32"} {
		src, err := gguf.Open(fixturePath("dense_a", name))
		if err != nil {
			f.Skip(err)
		}
		var buf bytes.Buffer
		w := gguf.NewWriter(&buf)
		for _, kv := range src.KV {
			if err := w.Set(kv.Key, kv.Value); err != nil {
				f.Fatal(err)
			}
		}
		// Two small tensors, enough for the config's shape lookups.
		for _, tn := range []string{"token_embd.weight", "mm.patch_merger.weight"} {
			if ti, ok := src.Tensor(tn); ok {
				dims := append([]uint64(nil), ti.Dims...)
				dims[len(dims)-1] = 1
				if err := w.AddTensor(tn, gguf.TypeF32, dims...); err != nil {
					f.Fatal(err)
				}
				n := uint64(4)
				for _, d := range dims {
					n *= d
				}
				if err := w.WriteTensor(tn, make([]byte, n)); err != nil {
					f.Fatal(err)
				}
			}
		}
		if err := w.Close(); err != nil {
			f.Fatal(err)
		}
		src.Close()
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := gguf.ParseHeader(data)
		if err != nil {
			return
		}
		Config(h, nil)
		Config(h, h)
		ImageNorm(h)
		tokenizer.FromGGUF(h)
	})
}
