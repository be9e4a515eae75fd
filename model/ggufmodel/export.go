package ggufmodel

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/gguf"
	"github.com/glmv/glmv/internal/half"
	"github.com/glmv/glmv/model"
	"github.com/glmv/glmv/tokenizer"
)

// Mix is an output type of Export: the type of the large matrices and the
// rules that pick each tensor's type.
type Mix struct {
	Name     string
	FileType uint32    // general.file_type (llama_ftype)
	Base     gguf.Type // most matrices
	KMix     bool      // llama.cpp's _M rule: attn_v, ffn_down (and expert downs) of some layers, and output, in Q6_K
	Vision   gguf.Type // mmproj matrices
}

// Mixes are the types glmv quantize writes. Everywhere: 1-D tensors
// (norms, biases), the MoE router (ffn_gate_inp), exp_probs_b and the
// vision position table stay F32, as llama.cpp's converter writes them;
// a matrix whose rows are not whole blocks of the chosen type falls back
// as llama.cpp does (Q4_K→Q5_0, Q5_K→Q5_1, Q6_K→Q8_0, then F16).
//
//   - f32, f16, bf16: every matrix in that type (mmproj too).
//   - q8_0: matrices Q8_0; mmproj F16.
//   - q4_0: matrices Q4_0, output.weight Q6_K; mmproj F16.
//   - q4_k_m, q5_k_m: matrices Q4_K / Q5_K; output.weight Q6_K; attn_v and
//     ffn_down (ffn_down_exps, ffn_down_shexp) Q6_K in llama.cpp's
//     "more bits" layers (the first and last eighth, and every third in
//     between); mmproj F16. (llama.cpp's extra bumps for 8-expert models
//     do not apply to GLM's 128/160 experts.)
//   - q6_k: matrices Q6_K; mmproj F16.
var Mixes = map[string]Mix{
	"f32":    {"F32", 0, gguf.TypeF32, false, gguf.TypeF32},
	"f16":    {"F16", 1, gguf.TypeF16, false, gguf.TypeF16},
	"bf16":   {"BF16", 32, gguf.TypeBF16, false, gguf.TypeBF16},
	"q8_0":   {"Q8_0", 7, gguf.TypeQ8_0, false, gguf.TypeF16},
	"q4_0":   {"Q4_0", 2, gguf.TypeQ4_0, false, gguf.TypeF16},
	"q4_k_m": {"Q4_K_M", 15, gguf.TypeQ4_K, true, gguf.TypeF16},
	"q5_k_m": {"Q5_K_M", 17, gguf.TypeQ5_K, true, gguf.TypeF16},
	"q6_k":   {"Q6_K", 18, gguf.TypeQ6_K, false, gguf.TypeF16},
}

// ParseMix looks a mix up by name (any case).
func ParseMix(name string) (Mix, error) {
	m, ok := Mixes[strings.ToLower(name)]
	if !ok {
		names := make([]string, 0, len(Mixes))
		for k := range Mixes {
			names = append(names, k)
		}
		slices.Sort(names)
		return Mix{}, fmt.Errorf("unknown type %q (want one of %s)", name, strings.Join(names, ", "))
	}
	return m, nil
}

// useMoreBits is llama.cpp's choice of layers that get more bits in the
// _M mixes.
func useMoreBits(i, n int) bool { return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2 }

// fallback is the type llama.cpp uses when rows are not whole blocks.
func fallback(t gguf.Type, cols int) gguf.Type {
	for cols%t.BlockSize() != 0 {
		switch t {
		case gguf.TypeQ4_K:
			t = gguf.TypeQ5_0
		case gguf.TypeQ5_K:
			t = gguf.TypeQ5_1
		case gguf.TypeQ6_K:
			t = gguf.TypeQ8_0
		default:
			t = gguf.TypeF16
		}
	}
	return t
}

// ExportSource is what Export writes.
type ExportSource struct {
	Config  *model.Config
	Weights model.WeightSource
	// Tokenizer and Template go into the text file's metadata.
	Tokenizer *tokenizer.Tokenizer
	Template  string
	// ImageMean and ImageStd go into the mmproj's metadata.
	ImageMean, ImageStd [3]float64
	Name                string // general.name
	// Pool converts the rows of a tensor in parallel; nil converts them on
	// the calling goroutine.
	Pool *compute.Pool
	// TextOnly exports the text model alone (a source without a vision
	// tower); Export then writes no mmproj.
	TextOnly bool
}

// out is one tensor to write.
type out struct {
	name    string
	typ     gguf.Type
	dims    []uint64
	key     string   // sort key: the Hugging Face name it comes from
	hf      []string // source tensors: one, one per expert, or one split
	part    int      // split: which time step
	steps   int      // split: the number of time steps (0 otherwise)
	headDim int      // > 0: glm4 Q/K rows permuted to NeoX order (see sourceRow)
	rot     int      // rotary rows per head
	rows    int      // rows of each source tensor (1 for vectors)
	cols    int      // values per output row
	vision  bool
}

// recorder notes every tensor binding asks a source for.
type recorder struct {
	model.WeightSource
	names []string
	shape map[string][]int
}

func (r *recorder) Lookup(name string) (model.TensorRef, bool) {
	ref, ok := r.WeightSource.Lookup(name)
	if ok {
		r.names = append(r.names, name)
		r.shape[name] = ref.Shape
	}
	return ref, ok
}

// plan lists the tensors of both files in llama.cpp's converter order
// (sorted Hugging Face names) with their types and dimensions.
func plan(s *ExportSource, mix Mix) (text, vision []*out, err error) {
	rec := &recorder{WeightSource: s.Weights, shape: map[string][]int{}}
	if s.TextOnly {
		_, err = model.BindText(s.Config, rec)
	} else {
		_, err = model.BindWeights(s.Config, rec)
	}
	if err != nil {
		return nil, nil, err
	}
	cfg := s.Config
	arch := ArchMoE
	if cfg.ModelType == model.FamilyDense {
		arch = ArchDense
	}
	permute := arch == ArchDense && cfg.Text.RopeStyle == model.RopeInterleaved
	stacked := map[string]*out{}
	for _, hf := range rec.names {
		p, ok := locate(hf, arch)
		if !ok {
			return nil, nil, fmt.Errorf("no GGUF name for %s", hf)
		}
		shape := rec.shape[hf]
		o := &out{name: p.name, key: hf, hf: []string{hf}, vision: p.vision, rows: 1, cols: shape[0]}
		if len(shape) > 1 {
			o.rows, o.cols = shape[0], 1
			for _, d := range shape[1:] {
				o.cols *= d
			}
		}
		for i := len(shape) - 1; i >= 0; i-- {
			o.dims = append(o.dims, uint64(shape[i]))
		}
		if permute && (strings.HasSuffix(hf, "q_proj.weight") || strings.HasSuffix(hf, "k_proj.weight") ||
			strings.HasSuffix(hf, "q_proj.bias") || strings.HasSuffix(hf, "k_proj.bias")) {
			o.headDim, o.rot = cfg.Text.HeadDim, cfg.Text.RotaryDims()
		}
		switch {
		case p.expert >= 0:
			if st := stacked[p.name]; st != nil {
				if len(st.hf) != p.expert {
					return nil, nil, fmt.Errorf("experts of %s bound out of order", p.name)
				}
				st.hf = append(st.hf, hf)
				st.dims[2]++
				continue
			}
			o.key = hf[:strings.Index(hf, "experts.")] + "experts." + p.name
			o.dims = append(o.dims, 1)
			stacked[p.name] = o
		case p.split:
			if len(shape) != 5 {
				return nil, nil, fmt.Errorf("%s has shape %v, want 5 dimensions", hf, shape)
			}
			T := shape[2]
			for t := range T {
				part := *o
				part.name, part.part, part.steps = splitName(p.name, t), t, T
				part.dims = []uint64{uint64(shape[4]), uint64(shape[3]), uint64(shape[1]), uint64(shape[0])}
				part.key = fmt.Sprintf("%s#%d", hf, t)
				part.cols = o.cols / T
				vision = append(vision, &part)
			}
			continue
		}
		if p.vision {
			vision = append(vision, o)
		} else {
			text = append(text, o)
		}
	}
	for _, list := range [][]*out{text, vision} {
		slices.SortStableFunc(list, func(a, b *out) int { return strings.Compare(a.key, b.key) })
		for _, o := range list {
			o.typ = tensorType(o, mix, cfg.Text.Layers)
		}
	}
	return text, vision, nil
}

// tensorType picks a tensor's type in mix.
func tensorType(o *out, mix Mix, layers int) gguf.Type {
	if len(o.dims) == 1 || o.name == "v.position_embd.weight" || strings.HasSuffix(o.name, "ffn_gate_inp.weight") {
		return gguf.TypeF32
	}
	if o.vision {
		return fallback(mix.Vision, o.cols)
	}
	t := mix.Base
	switch {
	case (mix.KMix || mix.Base == gguf.TypeQ4_0) && o.name == "output.weight":
		t = gguf.TypeQ6_K
	case mix.KMix && (strings.Contains(o.name, ".attn_v.") || strings.Contains(o.name, ".ffn_down")):
		if n, ok := blockIndex(o.name); ok && useMoreBits(n, layers) {
			t = gguf.TypeQ6_K
		}
	}
	return fallback(t, o.cols)
}

// Files names the pair Export writes for an output path: the text file
// itself and mmproj-<its name> beside it.
func Files(textPath string) (text, mmproj string) {
	return textPath, filepath.Join(filepath.Dir(textPath), "mmproj-"+filepath.Base(textPath))
}

// Export writes s as a llama.cpp GGUF pair: the text model to textOut and
// the vision projector to mmprojOut (unused with s.TextOnly), streaming:
// each tensor (each expert of a stacked expert tensor) is read from the
// source, converted and written before the next, and its source pages are
// released where the source allows. The tokenizer and chat template go
// into the text file's metadata. progress, when
// not nil, is called after each tensor.
func Export(ctx context.Context, s *ExportSource, mix Mix, textOut, mmprojOut io.Writer, progress func(done, total int, name string)) error {
	text, vision, err := plan(s, mix)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	total, done := len(text)+len(vision), 0
	for _, f := range []struct {
		w       io.Writer
		tensors []*out
		meta    func(*gguf.Writer) error
	}{{textOut, text, func(w *gguf.Writer) error { return textMeta(w, s, mix) }}, {mmprojOut, vision, func(w *gguf.Writer) error { return visionMeta(w, s, mix) }}} {
		if f.w == nil {
			if len(f.tensors) > 0 {
				return errors.New("export: no writer for the mmproj")
			}
			continue
		}
		w := gguf.NewWriter(f.w)
		if err := f.meta(w); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		for _, o := range f.tensors {
			if err := w.AddTensor(o.name, o.typ, o.dims...); err != nil {
				return fmt.Errorf("export: %w", err)
			}
		}
		for _, o := range f.tensors {
			if err := ctx.Err(); err != nil {
				return err
			}
			err := w.WriteTensorParts(o.name, func(i int) ([]byte, error) {
				if i == len(o.hf) {
					return nil, nil
				}
				return convertPart(s.Weights, o, i, s.Pool)
			})
			if err != nil {
				return fmt.Errorf("export %s: %w", o.name, err)
			}
			done++
			if progress != nil {
				progress(done, total, o.name)
			}
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	return nil
}

// convertPart reads o's source tensor i (one expert of a stacked tensor,
// else the only one) and encodes its rows as o.typ, in parallel on pool
// (nil: serially). The source's file pages are released afterwards where
// the source allows, so converting a large checkpoint does not keep it
// resident.
func convertPart(src model.WeightSource, o *out, i int, pool *compute.Pool) ([]byte, error) {
	rowBytes := int(o.typ.RowBytes(int64(o.cols)))
	buf := make([]byte, o.rows*rowBytes)
	steps := max(o.steps, 1)
	m, err := src.Matrix(o.hf[i], o.rows, o.cols*steps)
	if err != nil {
		return nil, err
	}
	var first error
	var mu sync.Mutex
	pool.For(o.rows, 8, func(lo, hi int) {
		full := make([]float32, o.cols*steps)
		row := make([]float32, o.cols)
		for r := lo; r < hi; r++ {
			switch {
			case o.steps > 0:
				// [C, in, T, p, p]: time step o.part of output channel r.
				m.Row(r, full)
				pp := int(o.dims[0] * o.dims[1])
				for c := range int(o.dims[2]) {
					copy(row[c*pp:(c+1)*pp], full[(c*steps+o.part)*pp:][:pp])
				}
			case o.headDim > 0 && o.rows == 1:
				m.Row(0, full)
				for j := range row {
					row[j] = full[o.sourceRow(j)]
				}
			case o.headDim > 0:
				m.Row(o.sourceRow(r), row)
			default:
				m.Row(r, row)
			}
			if err := encodeRow(o.typ, buf[r*rowBytes:(r+1)*rowBytes], row); err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
				return
			}
		}
	})
	if first != nil {
		return nil, first
	}
	if r, ok := src.(model.Releaser); ok && (o.steps == 0 || o.part == o.steps-1) {
		r.Release(m)
	}
	return buf, nil
}

// sourceRow maps output row r of a glm4 Q or K projection (or element r
// of its bias) to the Hugging Face row: within each head, the first rot
// rows go from interleaved pairs to halves (even rows, then odd rows), as
// llama.cpp's converter lays them out for its NeoX-style M-RoPE; the rest
// stay.
func (o *out) sourceRow(r int) int {
	D, rot := o.headDim, o.rot
	h, j := r/D, r%D
	switch {
	case j >= rot:
		return r
	case j < rot/2:
		return h*D + 2*j
	}
	return h*D + 2*(j-rot/2) + 1
}

// encodeRow encodes float32 values as t into dst (exactly their size).
func encodeRow(t gguf.Type, dst []byte, x []float32) error {
	switch t {
	case gguf.TypeF32:
		for i, v := range x {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
		return nil
	case gguf.TypeF16:
		for i, v := range x {
			binary.LittleEndian.PutUint16(dst[2*i:], half.F32ToF16(v))
		}
		return nil
	case gguf.TypeBF16:
		for i, v := range x {
			binary.LittleEndian.PutUint16(dst[2*i:], half.F32ToBF16(v))
		}
		return nil
	}
	info, ok := compute.GGMLType(uint32(t))
	if !ok {
		return fmt.Errorf("no encoder for %v", t)
	}
	return compute.QuantizeBlocks(info.DType, dst, x)
}

// kv collects metadata entries, stopping at the first error.
type kv struct {
	w   *gguf.Writer
	err error
}

func (k *kv) set(key string, v any) {
	if k.err == nil {
		k.err = k.w.SetAny(key, v)
	}
}

// textMeta writes the text file's metadata as llama.cpp's converter
// does for glm4 / glm4moe.
func textMeta(w *gguf.Writer, s *ExportSource, mix Mix) error {
	cfg, t := s.Config, &s.Config.Text
	arch := ArchMoE
	if cfg.ModelType == model.FamilyDense {
		arch = ArchDense
	}
	k := &kv{w: w}
	a := func(key string, v any) { k.set(arch+"."+key, v) }
	k.set("general.architecture", arch)
	k.set("general.type", "model")
	k.set("general.name", s.Name)
	a("block_count", uint32(t.Layers))
	a("context_length", uint32(t.MaxPositions))
	a("embedding_length", uint32(t.Hidden))
	a("feed_forward_length", uint32(t.Intermediate))
	a("attention.head_count", uint32(t.Heads))
	a("attention.head_count_kv", uint32(t.KVHeads))
	sections := make([]int32, 4)
	for i, v := range t.MRopeSection {
		sections[i] = int32(v)
	}
	a("rope.dimension_sections", sections)
	a("rope.freq_base", float32(t.RopeTheta))
	a("attention.layer_norm_rms_epsilon", t.RMSNormEps)
	if m := t.MoE; m != nil {
		a("expert_count", uint32(m.Experts))
		a("expert_used_count", uint32(m.TopK))
		a("expert_group_count", uint32(m.NGroup))
		a("expert_group_used_count", uint32(m.TopKGroup))
	}
	if t.MoE != nil || t.HeadDim != t.Hidden/t.Heads {
		a("attention.key_length", uint32(t.HeadDim))
		a("attention.value_length", uint32(t.HeadDim))
	}
	k.set("general.file_type", mix.FileType)
	a("rope.dimension_count", uint32(t.RotaryDims()))
	if m := t.MoE; m != nil {
		a("expert_feed_forward_length", uint32(m.Intermediate))
		a("expert_shared_count", uint32(m.Shared))
		a("leading_dense_block_count", uint32(m.FirstDense))
		a("expert_gating_func", uint32(2))
		a("expert_weights_scale", m.RoutedScaling)
		a("expert_weights_norm", m.NormTopKProb)
	}
	k.set("general.quantization_version", uint32(2))
	if k.err != nil {
		return k.err
	}
	if s.Tokenizer == nil {
		return errors.New("no tokenizer to write")
	}
	v, err := s.Tokenizer.GGUF(t.Vocab)
	if err != nil {
		return err
	}
	if v.Pre == "llama-bpe" {
		// The GLM-4 split regex: llama.cpp names every GLM-4.xV tokenizer
		// "glm4" (which also turns its automatic BOS off), whether or not
		// tokenizer.json sets ignore_merges, which GGUF cannot record.
		v.Pre = "glm4"
	}
	k.set(tokenizer.KeyModel, "gpt2")
	k.set(tokenizer.KeyPre, v.Pre)
	k.set(tokenizer.KeyTokens, v.Tokens)
	k.set(tokenizer.KeyTokenType, v.TokenType)
	k.set(tokenizer.KeyMerges, v.Merges)
	id := func(tok string) (uint32, bool) {
		i, ok := s.Tokenizer.TokenID(tok)
		return uint32(i), ok
	}
	eos, hasEOS := id("<|endoftext|>")
	special := func(key string, v uint32, ok bool) {
		if ok {
			k.set("tokenizer.ggml."+key+"_token_id", v)
		}
	}
	byText := func(key, tok string) {
		v, ok := id(tok)
		special(key, v, ok)
	}
	special("eos", eos, hasEOS)
	if t.Pad >= 0 {
		special("padding", uint32(t.Pad), true)
	} else {
		special("padding", eos, hasEOS)
	}
	if arch == ArchMoE {
		byText("bos", "[gMASK]")
	}
	byText("eot", "<|user|>")
	special("unknown", eos, hasEOS)
	if arch == ArchMoE {
		byText("eom", "<|observation|>")
	} else {
		special("bos", eos, hasEOS)
	}
	if s.Template != "" {
		k.set(tokenizer.KeyChatTemplate, s.Template)
	}
	return k.err
}

// visionMeta writes the mmproj's metadata as llama.cpp's converter does
// for the glm4v projector.
func visionMeta(w *gguf.Writer, s *ExportSource, mix Mix) error {
	v := &s.Config.Vision
	k := &kv{w: w}
	k.set("general.architecture", ArchClip)
	k.set("general.type", "mmproj")
	k.set("general.name", s.Name)
	ft := uint32(1)
	switch mix.Vision {
	case gguf.TypeF32:
		ft = 0
	case gguf.TypeBF16:
		ft = 32
	}
	k.set("general.file_type", ft)
	k.set("clip.has_vision_encoder", true)
	k.set("clip.vision.projection_dim", uint32(v.OutHidden))
	k.set("clip.vision.image_size", uint32(v.ImageSize))
	k.set("clip.vision.patch_size", uint32(v.PatchSize))
	k.set("clip.vision.embedding_length", uint32(v.Hidden))
	k.set("clip.vision.feed_forward_length", uint32(v.Intermediate))
	k.set("clip.vision.block_count", uint32(v.Depth))
	k.set("clip.vision.attention.head_count", uint32(v.Heads))
	var mean, std []float32
	for c := range 3 {
		mean = append(mean, float32(s.ImageMean[c]))
		std = append(std, float32(s.ImageStd[c]))
	}
	k.set("clip.vision.image_mean", mean)
	k.set("clip.vision.image_std", std)
	k.set("clip.projector_type", ProjectorGLM4)
	k.set("clip.use_silu", true)
	k.set("clip.vision.attention.layer_norm_epsilon", v.RMSNormEps)
	k.set("general.quantization_version", uint32(2))
	return k.err
}
