package model

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/safetensors"
)

// WeightSource supplies a checkpoint's tensors to BindWeights by their
// Hugging Face names (model.language_model.layers.0.self_attn.q_proj.weight,
// model.visual.blocks.0.attn.qkv.weight, …) and Hugging Face shapes,
// whatever the file format holding them. Binding code only ever sees this
// interface; each format implements it (safetensors here, GGUF in
// model/ggufmodel).
type WeightSource interface {
	// Lookup describes the named tensor; ok is false when the source has
	// no such tensor.
	Lookup(name string) (ref TensorRef, ok bool)
	// Matrix returns the named tensor as a [rows, cols] matrix (rows·cols
	// must equal its element count), without copying where the format
	// allows.
	Matrix(name string, rows, cols int) (*compute.Matrix, error)
	// Float32 returns the named tensor's values widened to float32.
	Float32(name string) ([]float32, error)
	// Names lists every tensor the files hold, in the files' own naming.
	Names() []string
	// Ignored reports whether a file tensor that no expected name used is
	// one glmv knowingly skips (for example multi-token-prediction layers
	// at or past textLayers).
	Ignored(fileName string, textLayers int) bool
	// Close releases the files.
	Close() error
}

// TensorRef describes one tensor of a WeightSource.
type TensorRef struct {
	// Shape is the tensor's shape as the Hugging Face checkpoint stores
	// it, outermost first.
	Shape []int
	// Files names the file tensors it is read from (for error messages and
	// the check that every file tensor is used).
	Files []string
	// Type is the storage type's name, for display.
	Type string
}

// SafetensorsSource reads a set of safetensors files laid out as a Hugging
// Face checkpoint.
type SafetensorsSource struct {
	Set *safetensors.Set
}

// resolve maps an expected name to the name in the files, accepting the
// pre-4.52 layout where text tensors sit under model.* directly.
func (s *SafetensorsSource) resolve(name string) (string, bool) {
	if _, ok := s.Set.Info(name); ok {
		return name, true
	}
	if rest, ok := strings.CutPrefix(name, "model.language_model."); ok {
		alt := "model." + rest
		if _, ok := s.Set.Info(alt); ok {
			return alt, true
		}
	}
	return "", false
}

// Lookup implements WeightSource.
func (s *SafetensorsSource) Lookup(name string) (TensorRef, bool) {
	real, ok := s.resolve(name)
	if !ok {
		return TensorRef{}, false
	}
	ti, _ := s.Set.Info(real)
	return TensorRef{Shape: ti.Shape, Files: []string{real}, Type: string(ti.DType)}, true
}

// tensor resolves an expected name and returns the file's name for it, its
// header entry and its (memory-mapped) bytes.
func (s *SafetensorsSource) tensor(name string) (string, safetensors.TensorInfo, []byte, error) {
	real, ok := s.resolve(name)
	if !ok {
		return "", safetensors.TensorInfo{}, nil, fmt.Errorf("no tensor %q", name)
	}
	ti, _ := s.Set.Info(real)
	raw, err := s.Set.Bytes(real)
	return real, ti, raw, err
}

// Matrix implements WeightSource: F32, BF16 and F16 tensors are bound
// without copying.
func (s *SafetensorsSource) Matrix(name string, rows, cols int) (*compute.Matrix, error) {
	real, ti, raw, err := s.tensor(name)
	if err != nil {
		return nil, err
	}
	m := &compute.Matrix{Rows: rows, Cols: cols}
	switch ti.DType {
	case safetensors.F32:
		m.DType, m.F32 = compute.F32, safetensors.AsFloat32(raw)
	case safetensors.BF16:
		m.DType, m.U16 = compute.BF16, safetensors.AsUint16(raw)
	case safetensors.F16:
		m.DType, m.U16 = compute.F16, safetensors.AsUint16(raw)
	default:
		return nil, fmt.Errorf("%s: dtype %s is not supported (F32, BF16, F16)", real, ti.DType)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", real, err)
	}
	return m, nil
}

// Float32 implements WeightSource.
func (s *SafetensorsSource) Float32(name string) ([]float32, error) {
	real, ti, raw, err := s.tensor(name)
	if err != nil {
		return nil, err
	}
	v, err := safetensors.DecodeFloat32(ti.DType, raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", real, err)
	}
	return v, nil
}

// Names implements WeightSource.
func (s *SafetensorsSource) Names() []string { return s.Set.Names() }

// Ignored implements WeightSource: multi-token-prediction layers past
// num_hidden_layers and their helper projections.
func (s *SafetensorsSource) Ignored(name string, layers int) bool { return ignoredTensor(name, layers) }

// Close implements WeightSource.
func (s *SafetensorsSource) Close() error { return s.Set.Close() }

// Release implements Releaser: the file pages under a zero-copy matrix
// leave resident memory (see safetensors.Set.Release).
func (s *SafetensorsSource) Release(m *compute.Matrix) {
	var b []byte
	switch {
	case len(m.F32) > 0:
		b = unsafe.Slice((*byte)(unsafe.Pointer(&m.F32[0])), 4*len(m.F32))
	case len(m.U16) > 0:
		b = unsafe.Slice((*byte)(unsafe.Pointer(&m.U16[0])), 2*len(m.U16))
	default:
		return
	}
	s.Set.Release(b)
}
