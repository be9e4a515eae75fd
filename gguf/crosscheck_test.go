package gguf

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	parser "github.com/gpustack/gguf-parser-go"

	"github.com/glmv/glmv/internal/reftest"
)

// fixtures lists the GGUF files under the reference root.
func fixtures(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(reftest.Root(), "models", "*", "gguf", "*.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no GGUF fixtures under %s", reftest.Root())
	}
	return paths
}

// TestCrossCheckParser compares this reader with
// github.com/gpustack/gguf-parser-go on every fixture: metadata keys,
// types and values in order, tensor names, dimensions, types and offsets,
// and the start of the data section.
func TestCrossCheckParser(t *testing.T) {
	for _, path := range fixtures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			ours, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer ours.Close()
			theirs, err := parser.ParseGGUFFile(path)
			if err != nil {
				t.Fatal(err)
			}
			kvs := theirs.Header.MetadataKV
			if len(kvs) != len(ours.KV) {
				t.Fatalf("%d metadata entries, gguf-parser-go reads %d", len(ours.KV), len(kvs))
			}
			for i, kv := range kvs {
				o := ours.KV[i]
				if o.Key != kv.Key || uint32(o.Value.Type()) != uint32(kv.ValueType) {
					t.Errorf("entry %d: %s %v, gguf-parser-go %s %v", i, o.Key, o.Value.Type(), kv.Key, kv.ValueType)
					continue
				}
				got, want := plain(o.Value), theirPlain(kv.Value)
				if s, ok := got.(string); ok {
					// gguf-parser-go trims white space around every string
					// (file.go, readString: bytes.TrimSpace); this reader
					// keeps the bytes as stored.
					got = strings.TrimSpace(s)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %q, gguf-parser-go reads %q", o.Key, got, want)
				}
			}
			if len(theirs.TensorInfos) != len(ours.Tensors) {
				t.Fatalf("%d tensors, gguf-parser-go reads %d", len(ours.Tensors), len(theirs.TensorInfos))
			}
			for i, ti := range theirs.TensorInfos {
				o := ours.Tensors[i]
				if o.Name != ti.Name || !reflect.DeepEqual(o.Dims, ti.Dimensions) || uint32(o.Type) != uint32(ti.Type) || o.Offset != ti.Offset {
					t.Errorf("tensor %d: %s %v %v @%d, gguf-parser-go %s %v %v @%d", i, o.Name, o.Dims, o.Type, o.Offset, ti.Name, ti.Dimensions, ti.Type, ti.Offset)
				}
				if trait, ok := ti.Type.Trait(); !ok || uint64(o.Type.BlockSize()) != trait.BlockSize || uint64(o.Type.BlockBytes()) != trait.TypeSize {
					t.Errorf("%s: type %v block %d/%d bytes, gguf-parser-go %+v", o.Name, o.Type, o.Type.BlockSize(), o.Type.BlockBytes(), trait)
				}
			}
			if ours.DataOffset != theirs.TensorDataStartOffset {
				t.Errorf("data at %d, gguf-parser-go says %d", ours.DataOffset, theirs.TensorDataStartOffset)
			}
		})
	}
}

// TestTypeTableMatchesParser checks every type's block size and bytes per
// block against gguf-parser-go's table.
func TestTypeTableMatchesParser(t *testing.T) {
	for typ, info := range types {
		trait, ok := parser.GGMLType(typ).Trait()
		if !ok {
			t.Errorf("%v: gguf-parser-go does not know it", typ)
			continue
		}
		if uint64(info.block) != trait.BlockSize || uint64(info.size) != trait.TypeSize {
			t.Errorf("%v: %d/%d, gguf-parser-go %d/%d", typ, info.block, info.size, trait.BlockSize, trait.TypeSize)
		}
		if got := parser.GGMLType(typ).String(); got != info.name {
			t.Errorf("type %d named %s here, %s in gguf-parser-go", uint32(typ), info.name, got)
		}
	}
}

// plain turns a Value into nested []any of Go scalars.
func plain(v Value) any {
	if v.Type() != Array {
		return v.Any()
	}
	out := make([]any, v.Len())
	for i := range out {
		out[i] = plain(v.Index(i))
	}
	return out
}

func theirPlain(x any) any {
	av, ok := x.(parser.GGUFMetadataKVArrayValue)
	if !ok {
		return x
	}
	out := make([]any, av.Len)
	if uint64(len(av.Array)) != av.Len {
		return fmt.Sprintf("array of %d with %d values read", av.Len, len(av.Array))
	}
	for i, e := range av.Array {
		out[i] = theirPlain(e)
	}
	return out
}
