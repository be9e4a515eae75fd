package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/safetensors"
)

// FP8Config is what glmv reads of a checkpoint's quantization_config when
// its weights are FP8 (float8_e4m3fn). Two layouts occur:
//
//   - quant_method "fp8" (GLM-4.5V-FP8, DeepSeek-V3 style): each quantized
//     Linear has weight (F8_E4M3) and weight_scale_inv (F32, one per
//     BlockRows×BlockCols block, usually 128×128); W = e4m3(q)·scale.
//   - quant_method "compressed-tensors" with format "float-quantized":
//     weight (F8_E4M3) and weight_scale (F32, per output channel [out, 1],
//     per tensor [1], or per block with strategy "block").
//
// Tensors the config leaves out (ignore / modules_to_not_convert) stay in
// their stored bf16/f32 and bind as usual.
type FP8Config struct {
	// Method is "fp8" or "compressed-tensors".
	Method string
	// BlockRows, BlockCols are the scale block for block-scaled weights,
	// 0 when the scales are per channel or per tensor.
	BlockRows, BlockCols int
}

// rawQuantConfig is the quantization_config object of config.json, as far
// as glmv reads it.
type rawQuantConfig struct {
	QuantMethod     string `json:"quant_method"`
	Fmt             string `json:"fmt"`
	WeightBlockSize []int  `json:"weight_block_size"`
	Format          string `json:"format"`
	ConfigGroups    map[string]struct {
		Weights *struct {
			NumBits        int    `json:"num_bits"`
			Type           string `json:"type"`
			Strategy       string `json:"strategy"`
			BlockStructure []int  `json:"block_structure"`
		} `json:"weights"`
	} `json:"config_groups"`
}

// LoadFP8Config reads config.json's quantization_config from the
// checkpoint folder dir. It returns nil, nil when the checkpoint is not
// quantized, and an error naming the method when it is quantized in a way
// glmv cannot read.
func LoadFP8Config(dir string) (*FP8Config, error) {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	var top struct {
		Q    *rawQuantConfig `json:"quantization_config"`
		Text struct {
			Q *rawQuantConfig `json:"quantization_config"`
		} `json:"text_config"`
	}
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	q := top.Q
	if q == nil {
		q = top.Text.Q
	}
	if q == nil {
		return nil, nil
	}
	return q.fp8()
}

func (q *rawQuantConfig) fp8() (*FP8Config, error) {
	switch q.QuantMethod {
	case "fp8":
		if q.Fmt != "" && q.Fmt != "e4m3" {
			return nil, fmt.Errorf("quantization_config: fp8 format %q is not supported (e4m3)", q.Fmt)
		}
		c := &FP8Config{Method: "fp8"}
		switch len(q.WeightBlockSize) {
		case 0:
		case 2:
			c.BlockRows, c.BlockCols = q.WeightBlockSize[0], q.WeightBlockSize[1]
			if c.BlockRows <= 0 || c.BlockCols <= 0 {
				return nil, fmt.Errorf("quantization_config: bad weight_block_size %v", q.WeightBlockSize)
			}
		default:
			return nil, fmt.Errorf("quantization_config: weight_block_size %v must have 2 entries", q.WeightBlockSize)
		}
		return c, nil
	case "compressed-tensors":
		if q.Format != "float-quantized" {
			return nil, fmt.Errorf("quantization_config: compressed-tensors format %q is not supported (float-quantized FP8 only)", q.Format)
		}
		c := &FP8Config{Method: "compressed-tensors"}
		for name, g := range q.ConfigGroups {
			w := g.Weights
			if w == nil {
				continue
			}
			if w.NumBits != 8 || w.Type != "float" {
				return nil, fmt.Errorf("quantization_config: group %s: %d-bit %s weights are not supported (8-bit float only)", name, w.NumBits, w.Type)
			}
			switch w.Strategy {
			case "channel", "tensor":
			case "block":
				if len(w.BlockStructure) != 2 || w.BlockStructure[0] <= 0 || w.BlockStructure[1] <= 0 {
					return nil, fmt.Errorf("quantization_config: group %s: bad block_structure %v", name, w.BlockStructure)
				}
				c.BlockRows, c.BlockCols = w.BlockStructure[0], w.BlockStructure[1]
			default:
				return nil, fmt.Errorf("quantization_config: group %s: weight strategy %q is not supported (channel, tensor, block)", name, w.Strategy)
			}
		}
		return c, nil
	case "":
		return nil, errors.New("quantization_config has no quant_method")
	}
	return nil, fmt.Errorf("quantization_config: quant_method %q is not supported (fp8, compressed-tensors float-quantized)", q.QuantMethod)
}

// FP8Source reads an FP8 checkpoint: it wraps the safetensors source and
// converts each F8_E4M3 weight with its scales to Target
// as it is bound, one row at a time, so no f32 copy of a whole matrix is
// ever made. Other tensors pass through unchanged.
type FP8Source struct {
	*SafetensorsSource
	Config FP8Config
	// Target is the format FP8 weights are converted to; Load uses Q8_0
	// unless asked for another (the zero value is F32).
	Target compute.DType
	// Pool runs the conversion; nil runs it on the calling goroutine.
	Pool *compute.Pool
}

// scaleName returns the file name of the scale tensor of the FP8 weight
// real, or "" when there is none.
func (s *FP8Source) scaleName(real string) string {
	base, ok := strings.CutSuffix(real, ".weight")
	if !ok {
		return ""
	}
	for _, suffix := range []string{".weight_scale_inv", ".weight_scale"} {
		if _, ok := s.Set.Info(base + suffix); ok {
			return base + suffix
		}
	}
	return ""
}

// Lookup implements WeightSource: an FP8 weight also names its scale
// tensor, so both count as used.
func (s *FP8Source) Lookup(name string) (TensorRef, bool) {
	ref, ok := s.SafetensorsSource.Lookup(name)
	if !ok || ref.Type != string(safetensors.F8E4M3) {
		return ref, ok
	}
	if sc := s.scaleName(ref.Files[0]); sc != "" {
		ref.Files = append(ref.Files, sc)
	}
	return ref, true
}

// Matrix implements WeightSource, converting F8_E4M3 weights to Target.
func (s *FP8Source) Matrix(name string, rows, cols int) (*compute.Matrix, error) {
	real, ti, data, err := s.tensor(name)
	if err != nil {
		return nil, err
	}
	if ti.DType != safetensors.F8E4M3 {
		return s.SafetensorsSource.Matrix(name, rows, cols)
	}
	sc := s.scaleName(real)
	if sc == "" {
		return nil, fmt.Errorf("%s: F8_E4M3 weight without a weight_scale_inv or weight_scale tensor", real)
	}
	scales, err := s.SafetensorsSource.Float32(sc)
	if err != nil {
		return nil, err
	}
	w := &compute.FP8Weight{Rows: rows, Cols: cols, Data: data, Scales: scales}
	// Scales per block when there are as many as the config's blocks;
	// otherwise per channel or per tensor, which Validate checks.
	if s.Config.BlockRows > 0 {
		br, bc := (rows+s.Config.BlockRows-1)/s.Config.BlockRows, (cols+s.Config.BlockCols-1)/s.Config.BlockCols
		if len(scales) == br*bc {
			w.BlockRows, w.BlockCols = s.Config.BlockRows, s.Config.BlockCols
		}
	}
	m, err := s.Pool.ConvertFP8(w, s.Target)
	if err != nil {
		return nil, fmt.Errorf("%s with %s: %w", real, sc, err)
	}
	// The FP8 bytes are not read again: let their pages go.
	s.Set.Release(data)
	return m, nil
}

// Float32 implements WeightSource; an F8_E4M3 tensor read as a vector is
// scaled like a weight.
func (s *FP8Source) Float32(name string) ([]float32, error) {
	_, ti, _, err := s.tensor(name)
	if err != nil {
		return nil, err
	}
	if ti.DType != safetensors.F8E4M3 {
		return s.SafetensorsSource.Float32(name)
	}
	m, err := s.Matrix(name, 1, int(ti.NumElements()))
	if err != nil {
		return nil, err
	}
	return m.Row(0, make([]float32, m.Cols)), nil
}

// Ignored implements WeightSource: activation scales (input_scale) of
// static-activation checkpoints are not needed, as glmv runs activations
// in f32.
func (s *FP8Source) Ignored(name string, layers int) bool {
	return strings.HasSuffix(name, ".input_scale") || s.SafetensorsSource.Ignored(name, layers)
}
