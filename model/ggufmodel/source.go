// Package ggufmodel loads a GLM-4.xV model from a llama.cpp GGUF pair: the
// text model (architecture glm4 or glm4moe) and the vision projector
// (mmproj, architecture clip with projector type glm4v). It builds the
// model configuration from the GGUF metadata and serves the tensors to
// model.BindWeights under their Hugging Face names, memory-mapped.
//
// Tensors are bound without copying in every type compute runs (F32, F16,
// BF16 and the ggml block formats Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K …
// Q6_K, see compute.SupportedGGMLTypes); other types (IQ*, TQ*, …) are
// refused with an error naming the tensor, its type and the supported
// list. Only the patch embedding, which llama.cpp splits in two along
// time, is rebuilt (a small copy).
package ggufmodel

import (
	"fmt"
	"slices"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/gguf"
	"github.com/glmv/glmv/model"
)

// Source serves the tensors of a GGUF pair to model.BindWeights. It
// implements model.WeightSource.
type Source struct {
	Text, Vision *gguf.File
	arch         string
}

var _ model.WeightSource = (*Source)(nil)

// NewSource wraps an open text file and mmproj file (vision may be nil
// for a text-only model; binding then reports the vision tensors missing).
func NewSource(text, vision *gguf.File) (*Source, error) {
	arch, err := textArch(text.Header)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", text.Path, err)
	}
	if vision != nil {
		if err := checkProjector(vision.Header); err != nil {
			return nil, fmt.Errorf("%s: %w", vision.Path, err)
		}
	}
	return &Source{Text: text, Vision: vision, arch: arch}, nil
}

func (s *Source) file(p place) *gguf.File {
	if p.vision {
		return s.Vision
	}
	return s.Text
}

// resolved is a located tensor with its parts.
type resolved struct {
	place
	f     *gguf.File
	parts []*gguf.TensorInfo
	shape []int // Hugging Face shape
}

func (s *Source) resolve(hf string) (resolved, bool) {
	p, ok := locate(hf, s.arch)
	if !ok {
		return resolved{}, false
	}
	f := s.file(p)
	if f == nil {
		return resolved{}, false
	}
	r := resolved{place: p, f: f}
	t, ok := f.Tensor(p.name)
	if !ok {
		return resolved{}, false
	}
	r.parts = []*gguf.TensorInfo{t}
	shape := t.Shape()
	switch {
	case p.split:
		for i := 1; ; i++ {
			next, ok := f.Tensor(splitName(p.name, i))
			if !ok {
				break
			}
			r.parts = append(r.parts, next)
		}
		// [C, in, p, p] per time step → [C, in, T, p, p].
		if len(shape) != 4 {
			return resolved{}, false
		}
		shape = []int{shape[0], shape[1], len(r.parts), shape[2], shape[3]}
	case p.expert >= 0:
		if len(shape) != 3 || p.expert >= shape[0] {
			return resolved{}, false
		}
		shape = shape[1:]
	}
	r.shape = shape
	return r, true
}

// Lookup implements model.WeightSource.
func (s *Source) Lookup(name string) (model.TensorRef, bool) {
	r, ok := s.resolve(name)
	if !ok {
		return model.TensorRef{}, false
	}
	ref := model.TensorRef{Shape: r.shape, Type: r.parts[0].Type.String()}
	for _, t := range r.parts {
		ref.Files = append(ref.Files, t.Name)
	}
	return ref, true
}

// Matrix implements model.WeightSource.
func (s *Source) Matrix(name string, rows, cols int) (*compute.Matrix, error) {
	r, ok := s.resolve(name)
	if !ok {
		return nil, fmt.Errorf("no tensor %q", name)
	}
	if r.split {
		return s.joinSplit(r, rows, cols)
	}
	t := r.parts[0]
	raw := r.f.TensorData(t)
	if r.expert >= 0 {
		E := int(t.Dims[2])
		per := len(raw) / E
		raw = raw[r.expert*per : (r.expert+1)*per]
	}
	m, err := matrixFromGGML(t.Type, rows, cols, raw)
	if err != nil {
		return nil, fmt.Errorf("%s: tensor %s: %w", r.f.Path, describe(t.Name, r.expert), err)
	}
	return m, nil
}

func describe(name string, expert int) string {
	if expert >= 0 {
		return fmt.Sprintf("%s (expert %d)", name, expert)
	}
	return name
}

// joinSplit rebuilds a tensor split along time ([C, in, p, p] per step)
// as the Hugging Face [C, in, T, p, p] matrix in float32 (a copy; these
// are small).
func (s *Source) joinSplit(r resolved, rows, cols int) (*compute.Matrix, error) {
	T := len(r.parts)
	parts := make([]*compute.Matrix, T)
	for i, t := range r.parts {
		if !slices.Equal(t.Dims, r.parts[0].Dims) {
			return nil, fmt.Errorf("%s: %s has dimensions %v, %s %v", r.f.Path, t.Name, t.Dims, r.parts[0].Name, r.parts[0].Dims)
		}
		m, err := matrixFromGGML(t.Type, rows, cols/T, r.f.TensorData(t))
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %s: %w", r.f.Path, t.Name, err)
		}
		parts[i] = m
	}
	in := r.shape[1]
	pp := r.shape[3] * r.shape[4]
	out := &compute.Matrix{DType: compute.F32, Rows: rows, Cols: cols, F32: make([]float32, rows*cols)}
	row := make([]float32, cols/T)
	for o := range rows {
		for t, m := range parts {
			m.Row(o, row)
			for c := range in {
				copy(out.F32[o*cols+(c*T+t)*pp:][:pp], row[c*pp:(c+1)*pp])
			}
		}
	}
	return out, nil
}

// Float32 implements model.WeightSource.
func (s *Source) Float32(name string) ([]float32, error) {
	r, ok := s.resolve(name)
	if !ok {
		return nil, fmt.Errorf("no tensor %q", name)
	}
	n := 1
	for _, d := range r.shape {
		n *= d
	}
	rows := 1
	if len(r.shape) > 1 {
		rows = r.shape[0]
	}
	m, err := s.Matrix(name, rows, n/rows)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	for i := range rows {
		m.Row(i, out[i*m.Cols:(i+1)*m.Cols])
	}
	return out, nil
}

// Names implements model.WeightSource: every tensor of both files.
func (s *Source) Names() []string {
	names := s.Text.Names()
	if s.Vision != nil {
		names = append(names, s.Vision.Names()...)
	}
	return names
}

// Ignored implements model.WeightSource: blocks at or past the text
// layer count are multi-token-prediction (nextn) layers glmv does not run.
func (s *Source) Ignored(name string, layers int) bool {
	n, ok := blockIndex(name)
	return ok && n >= layers
}

// Close implements model.WeightSource.
func (s *Source) Close() error {
	err := s.Text.Close()
	if s.Vision != nil {
		if e := s.Vision.Close(); err == nil {
			err = e
		}
	}
	return err
}

// matrixFromGGML binds raw ggml data of type t as a [rows, cols] matrix,
// without copying (compute runs the ggml block formats as they are).
func matrixFromGGML(t gguf.Type, rows, cols int, raw []byte) (*compute.Matrix, error) {
	info, ok := compute.GGMLType(uint32(t))
	if !ok {
		return nil, fmt.Errorf("type %v is not supported (glmv runs %s)", t, compute.SupportedGGMLTypes())
	}
	return compute.NewBlockMatrix(info.DType, rows, cols, raw)
}

// Release implements model.Releaser: the file pages under a zero-copy
// matrix leave resident memory once it has been converted.
func (s *Source) Release(m *compute.Matrix) {
	b, err := m.GGMLBytes()
	if err != nil || len(b) == 0 {
		return
	}
	if !s.Text.Release(b) && s.Vision != nil {
		s.Vision.Release(b)
	}
}
