package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/glmv/glmv/internal/mmap"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Set is the union of the safetensors files of one checkpoint folder: a
// single model.safetensors, the shards named by model.safetensors.index.json,
// or (failing both) every *.safetensors file in the folder.
type Set struct {
	Files  []*File
	byName map[string]*File
}

// IndexFile is the name of the shard index Hugging Face writes.
const IndexFile = "model.safetensors.index.json"

// OpenDir opens the weights of the checkpoint folder dir.
func OpenDir(dir string) (*Set, error) {
	idx := filepath.Join(dir, IndexFile)
	if b, err := os.ReadFile(idx); err == nil {
		return openIndex(dir, idx, b)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	single := filepath.Join(dir, "model.safetensors")
	if _, err := os.Stat(single); err == nil {
		return OpenFiles(single)
	}
	matches, err := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if len(matches) == 0 {
		return nil, fmt.Errorf("safetensors: %s has no model.safetensors, no %s and no *.safetensors files", dir, IndexFile)
	}
	sort.Strings(matches)
	return OpenFiles(matches...)
}

func openIndex(dir, path string, b []byte) (*Set, error) {
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("safetensors: %s: empty weight_map", path)
	}
	names := make([]string, 0, len(idx.WeightMap))
	for name := range idx.WeightMap {
		names = append(names, name)
	}
	sort.Strings(names) // the same error on every run
	shardSet := map[string]bool{}
	for _, name := range names {
		shard := idx.WeightMap[name]
		if shard == "" || filepath.IsAbs(shard) || strings.Contains(shard, "..") || strings.ContainsAny(shard, `/\`) {
			return nil, fmt.Errorf("safetensors: %s: tensor %q maps to bad shard name %q", path, name, shard)
		}
		shardSet[shard] = true
	}
	var shards []string
	for s := range shardSet {
		shards = append(shards, filepath.Join(dir, s))
	}
	sort.Strings(shards)
	set, err := OpenFiles(shards...)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		shard := idx.WeightMap[name]
		f, ok := set.byName[name]
		if !ok {
			set.Close()
			return nil, fmt.Errorf("safetensors: %s lists tensor %q in %s, but no shard holds it", path, name, shard)
		}
		if filepath.Base(f.Path) != shard {
			set.Close()
			return nil, fmt.Errorf("safetensors: %s lists tensor %q in %s, but it is in %s", path, name, shard, filepath.Base(f.Path))
		}
	}
	return set, nil
}

// OpenFiles opens the given files as one set; a tensor name may appear in
// only one of them.
func OpenFiles(paths ...string) (*Set, error) {
	s := &Set{byName: map[string]*File{}}
	for _, p := range paths {
		f, err := Open(p)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.Files = append(s.Files, f)
		for _, t := range f.Header.Tensors {
			if prev, dup := s.byName[t.Name]; dup {
				s.Close()
				return nil, fmt.Errorf("safetensors: tensor %q is in both %s and %s", t.Name, prev.Path, f.Path)
			}
			s.byName[t.Name] = f
		}
	}
	return s, nil
}

// Close unmaps every file.
func (s *Set) Close() error {
	var first error
	for _, f := range s.Files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Names returns every tensor name, sorted.
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.byName))
	for n := range s.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Info describes the named tensor.
func (s *Set) Info(name string) (TensorInfo, bool) {
	f, ok := s.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Info(name)
}

// File returns the file that holds the named tensor.
func (s *Set) File(name string) (*File, bool) {
	f, ok := s.byName[name]
	return f, ok
}

// Bytes returns the raw bytes of the named tensor.
func (s *Set) Bytes(name string) ([]byte, error) {
	f, ok := s.byName[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: no tensor %q", name)
	}
	return f.Bytes(name)
}

// Release drops the resident pages of b, tensor data obtained from one of
// the set's files, from memory (see mmap.Release); it reports false, doing
// nothing, when b does not lie in the set's mappings. Loaders call it once
// they have converted a tensor and will not read it again.
func (s *Set) Release(b []byte) bool {
	for _, f := range s.Files {
		if mmap.Within(f.data, b) {
			return mmap.Release(b) == nil
		}
	}
	return false
}
