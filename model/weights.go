package model

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/glmv/glmv/compute"
)

// Linear is a y = x·Wᵀ (+ b) projection; B is nil when the layer has no bias.
type Linear struct {
	W *compute.Matrix
	B []float32
}

// MLP is a SwiGLU block: down(silu(gate(x)) ⊙ up(x)). The dense glm4v
// layers store gate and up fused in GateUp (gate rows first); the others
// keep Gate and Up apart.
type MLP struct {
	Gate, Up, GateUp, Down *compute.Matrix
}

// Width is the inner (intermediate) width of the MLP.
func (m *MLP) Width() int {
	if m.GateUp != nil {
		return m.GateUp.Rows / 2
	}
	return m.Gate.Rows
}

// MoE is a routed mixture-of-experts block with shared experts.
type MoE struct {
	Router         *compute.Matrix // [experts, hidden]
	CorrectionBias []float32       // [experts], selection only
	Experts        []MLP
	Shared         *MLP // nil when n_shared_experts is 0

	rows moeRows // row views of the experts, built on first use
}

// TextLayer holds the weights of one decoder layer.
type TextLayer struct {
	InputNorm, PostAttentionNorm  []float32
	PostSelfAttnNorm, PostMLPNorm []float32 // glm4v sandwich norms, else nil
	Q, K, V                       Linear
	O                             *compute.Matrix
	MLP                           *MLP // dense layers
	MoE                           *MoE // MoE layers
}

// TextWeights holds the decoder weights.
type TextWeights struct {
	Embed  *compute.Matrix // [vocab, hidden]
	Layers []TextLayer
	Norm   []float32
	LMHead *compute.Matrix // [vocab, hidden]
}

// VisionBlock holds one ViT block.
type VisionBlock struct {
	Norm1, Norm2 []float32
	QKV, Proj    *compute.Matrix
	MLP          MLP
}

// VisionWeights holds the vision tower and merger.
type VisionWeights struct {
	PatchEmbed    Linear          // [hidden, C·Tp·p·p] + bias
	PostConvNorm  []float32       // RMSNorm
	PosEmbed      []float32       // [side·side, hidden], float32
	Blocks        []VisionBlock   //
	PostNorm      []float32       // RMSNorm
	Downsample    Linear          // [out, m·m·hidden] (columns ordered i, j, c) + bias
	MergerProj    *compute.Matrix // [out, out]
	MergerNormW   []float32       // LayerNorm
	MergerNormB   []float32       //
	MergerMLP     MLP             //
	PosTableSide  int             // image_size / patch_size
	DownsampleRaw *compute.Matrix // as stored: [out, hidden·m·m] (c, i, j)
}

// Weights is every tensor of a checkpoint, bound to the model structure.
type Weights struct {
	Text   TextWeights
	Vision VisionWeights
}

// binder resolves expected tensor names against a weight source and
// collects every problem so they can be reported in one error.
type binder struct {
	src        WeightSource
	expected   []TensorSpec // every tensor asked for, in binding order
	used       map[string]bool
	missing    []string
	mismatched []string
	other      []error
}

func (b *binder) info(name string, shape ...int) bool {
	b.expected = append(b.expected, TensorSpec{Name: name, Shape: slices.Clone(shape)})
	ref, ok := b.src.Lookup(name)
	if !ok {
		b.missing = append(b.missing, fmt.Sprintf("%s %v", name, shape))
		return false
	}
	for _, f := range ref.Files {
		b.used[f] = true
	}
	if !slices.Equal(ref.Shape, shape) {
		b.mismatched = append(b.mismatched, fmt.Sprintf("%s: file has %v, config implies %v", strings.Join(ref.Files, " + "), ref.Shape, shape))
		return false
	}
	return true
}

// matrix binds a 2-D (or flattened N-D) weight, without copying where the
// source allows. shape is the stored shape; the matrix is [shape[0],
// product of the rest].
func (b *binder) matrix(name string, shape ...int) *compute.Matrix {
	if !b.info(name, shape...) {
		return nil
	}
	cols := 1
	for _, d := range shape[1:] {
		cols *= d
	}
	m, err := b.src.Matrix(name, shape[0], cols)
	if err != nil {
		b.other = append(b.other, err)
		return nil
	}
	return m
}

// vector binds a small tensor converted to float32.
func (b *binder) vector(name string, shape ...int) []float32 {
	if !b.info(name, shape...) {
		return nil
	}
	v, err := b.src.Float32(name)
	if err != nil {
		b.other = append(b.other, err)
		return nil
	}
	return v
}

// ignoredTensor matches tensors a GLM checkpoint may carry that glmv does
// not use: multi-token-prediction layers past num_hidden_layers and their
// helper projections.
var layerIndex = regexp.MustCompile(`^model\.(?:language_model\.)?layers\.(\d+)\.`)

func ignoredTensor(name string, layers int) bool {
	if m := layerIndex.FindStringSubmatch(name); m != nil {
		if l, err := strconv.Atoi(m[1]); err == nil && l >= layers {
			return true
		}
	}
	for _, s := range []string{".eh_proj.", ".enorm.", ".hnorm.", ".shared_head."} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

func (b *binder) err(layers int) error {
	var unexpected []string
	for _, n := range b.src.Names() {
		if !b.used[n] && !b.src.Ignored(n, layers) {
			unexpected = append(unexpected, n)
		}
	}
	if len(b.missing)+len(b.mismatched)+len(unexpected)+len(b.other) == 0 {
		return nil
	}
	var sb strings.Builder
	sb.WriteString("checkpoint does not match its config:")
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		sort.Strings(items)
		fmt.Fprintf(&sb, "\n  %d %s:", len(items), title)
		for i, it := range items {
			if i == 20 {
				fmt.Fprintf(&sb, "\n    … and %d more", len(items)-20)
				break
			}
			sb.WriteString("\n    " + it)
		}
	}
	list("missing tensors", b.missing)
	list("tensors with the wrong shape", b.mismatched)
	list("unexpected tensors", unexpected)
	for _, e := range b.other {
		sb.WriteString("\n  " + e.Error())
	}
	return errors.New(sb.String())
}

// BindWeights checks that src holds exactly the tensors cfg implies, with
// the right shapes, and binds them (zero-copy for large matrices where the
// source allows).
func BindWeights(cfg *Config, src WeightSource) (*Weights, error) {
	b := &binder{src: src, used: map[string]bool{}}
	w := &Weights{}
	bindText(b, cfg, &w.Text)
	bindVision(b, cfg, &w.Vision)
	if err := b.err(cfg.Text.Layers); err != nil {
		return nil, err
	}
	return w, nil
}

// TensorSpec names one tensor of a Hugging Face checkpoint and its shape.
type TensorSpec struct {
	Name  string
	Shape []int
}

// ExpectedTensors lists every tensor a Hugging Face checkpoint of cfg
// holds, with its shape, in binding order: what BindWeights looks for.
func ExpectedTensors(cfg *Config) []TensorSpec {
	b := &binder{src: noTensors{}, used: map[string]bool{}}
	var w Weights
	bindText(b, cfg, &w.Text)
	bindVision(b, cfg, &w.Vision)
	return b.expected
}

// noTensors is a WeightSource without any tensor.
type noTensors struct{}

func (noTensors) Lookup(string) (TensorRef, bool) { return TensorRef{}, false }
func (noTensors) Matrix(name string, _, _ int) (*compute.Matrix, error) {
	return nil, fmt.Errorf("no tensor %q", name)
}
func (noTensors) Float32(name string) ([]float32, error) {
	return nil, fmt.Errorf("no tensor %q", name)
}
func (noTensors) Names() []string          { return nil }
func (noTensors) Ignored(string, int) bool { return false }
func (noTensors) Close() error             { return nil }

// BindText is BindWeights for the text decoder alone, for a source that
// holds no vision tower (a GGUF text model without its mmproj).
func BindText(cfg *Config, src WeightSource) (*TextWeights, error) {
	b := &binder{src: src, used: map[string]bool{}}
	w := &TextWeights{}
	bindText(b, cfg, w)
	if err := b.err(cfg.Text.Layers); err != nil {
		return nil, err
	}
	return w, nil
}

func bindMLP(b *binder, prefix string, hidden, width int, fused bool) MLP {
	if fused {
		return MLP{
			GateUp: b.matrix(prefix+"gate_up_proj.weight", 2*width, hidden),
			Down:   b.matrix(prefix+"down_proj.weight", hidden, width),
		}
	}
	return MLP{
		Gate: b.matrix(prefix+"gate_proj.weight", width, hidden),
		Up:   b.matrix(prefix+"up_proj.weight", width, hidden),
		Down: b.matrix(prefix+"down_proj.weight", hidden, width),
	}
}

func bindText(b *binder, cfg *Config, w *TextWeights) {
	t := &cfg.Text
	H, D := t.Hidden, t.HeadDim
	p := "model.language_model."
	w.Embed = b.matrix(p+"embed_tokens.weight", t.Vocab, H)
	w.Norm = b.vector(p+"norm.weight", H)
	if cfg.TieWordEmbeddings {
		if _, ok := b.src.Lookup("lm_head.weight"); ok {
			w.LMHead = b.matrix("lm_head.weight", t.Vocab, H)
		} else {
			w.LMHead = w.Embed
		}
	} else {
		w.LMHead = b.matrix("lm_head.weight", t.Vocab, H)
	}
	w.Layers = make([]TextLayer, t.Layers)
	for l := range w.Layers {
		lp := fmt.Sprintf("%slayers.%d.", p, l)
		L := &w.Layers[l]
		L.InputNorm = b.vector(lp+"input_layernorm.weight", H)
		L.PostAttentionNorm = b.vector(lp+"post_attention_layernorm.weight", H)
		if t.SandwichNorms {
			L.PostSelfAttnNorm = b.vector(lp+"post_self_attn_layernorm.weight", H)
			L.PostMLPNorm = b.vector(lp+"post_mlp_layernorm.weight", H)
		}
		ap := lp + "self_attn."
		L.Q.W = b.matrix(ap+"q_proj.weight", t.Heads*D, H)
		L.K.W = b.matrix(ap+"k_proj.weight", t.KVHeads*D, H)
		L.V.W = b.matrix(ap+"v_proj.weight", t.KVHeads*D, H)
		if t.AttentionBias {
			L.Q.B = b.vector(ap+"q_proj.bias", t.Heads*D)
			L.K.B = b.vector(ap+"k_proj.bias", t.KVHeads*D)
			L.V.B = b.vector(ap+"v_proj.bias", t.KVHeads*D)
		}
		L.O = b.matrix(ap+"o_proj.weight", H, t.Heads*D)
		mp := lp + "mlp."
		if !t.IsMoELayer(l) {
			m := bindMLP(b, mp, H, t.Intermediate, t.FusedGateUp)
			L.MLP = &m
			continue
		}
		mc := t.MoE
		moe := &MoE{
			Router:         b.matrix(mp+"gate.weight", mc.Experts, H),
			CorrectionBias: b.vector(mp+"gate.e_score_correction_bias", mc.Experts),
			Experts:        make([]MLP, mc.Experts),
		}
		for e := range moe.Experts {
			moe.Experts[e] = bindMLP(b, fmt.Sprintf("%sexperts.%d.", mp, e), H, mc.Intermediate, false)
		}
		if mc.Shared > 0 {
			s := bindMLP(b, mp+"shared_experts.", H, mc.Intermediate*mc.Shared, false)
			moe.Shared = &s
		}
		L.MoE = moe
	}
}

func bindVision(b *binder, cfg *Config, w *VisionWeights) {
	v := &cfg.Vision
	C, m := v.Hidden, v.SpatialMerge
	p := "model.visual."
	w.PatchEmbed.W = b.matrix(p+"patch_embed.proj.weight", C, v.InChannels, v.TemporalPatch, v.PatchSize, v.PatchSize)
	w.PatchEmbed.B = b.vector(p+"patch_embed.proj.bias", C)
	w.PostConvNorm = b.vector(p+"post_conv_layernorm.weight", C)
	w.PosTableSide = v.ImageSize / v.PatchSize
	w.PosEmbed = b.vector(p+"embeddings.position_embedding.weight", w.PosTableSide*w.PosTableSide, C)
	w.Blocks = make([]VisionBlock, v.Depth)
	for i := range w.Blocks {
		bp := fmt.Sprintf("%sblocks.%d.", p, i)
		blk := &w.Blocks[i]
		blk.Norm1 = b.vector(bp+"norm1.weight", C)
		blk.Norm2 = b.vector(bp+"norm2.weight", C)
		blk.QKV = b.matrix(bp+"attn.qkv.weight", 3*C, C)
		blk.Proj = b.matrix(bp+"attn.proj.weight", C, C)
		blk.MLP = bindMLP(b, bp+"mlp.", C, v.OutHidden, false)
	}
	w.PostNorm = b.vector(p+"post_layernorm.weight", C)
	w.DownsampleRaw = b.matrix(p+"downsample.weight", v.OutHidden, C, m, m)
	w.Downsample.B = b.vector(p+"downsample.bias", v.OutHidden)
	if w.DownsampleRaw != nil {
		w.Downsample.W = permuteDownsample(w.DownsampleRaw, C, m)
	}
	w.MergerProj = b.matrix(p+"merger.proj.weight", v.OutHidden, v.OutHidden)
	w.MergerNormW = b.vector(p+"merger.post_projection_norm.weight", v.OutHidden)
	w.MergerNormB = b.vector(p+"merger.post_projection_norm.bias", v.OutHidden)
	w.MergerMLP = bindMLP(b, p+"merger.", v.OutHidden, v.Intermediate, false)
}

// permuteDownsample reorders the Conv2d weight [out, c, i, j] to
// [out, i, j, c] so that one merge block's four consecutive patch rows,
// concatenated, multiply it as a plain matrix product.
func permuteDownsample(w *compute.Matrix, C, m int) *compute.Matrix {
	out := &compute.Matrix{DType: w.DType, Rows: w.Rows, Cols: w.Cols}
	switch w.DType {
	case compute.F32, compute.F16, compute.BF16:
	default:
		// Block formats cannot be reordered within a row: widen to f32.
		wide := &compute.Matrix{DType: compute.F32, Rows: w.Rows, Cols: w.Cols, F32: make([]float32, w.Rows*w.Cols)}
		for r := range w.Rows {
			w.Row(r, wide.F32[r*w.Cols:(r+1)*w.Cols])
		}
		w, out.DType = wide, compute.F32
	}
	if w.DType == compute.F32 {
		out.F32 = make([]float32, len(w.F32))
	} else {
		out.U16 = make([]uint16, len(w.U16))
	}
	mm := m * m
	for o := 0; o < w.Rows; o++ {
		base := o * w.Cols
		for c := 0; c < C; c++ {
			for s := 0; s < mm; s++ {
				src := base + c*mm + s
				dst := base + s*C + c
				if w.DType == compute.F32 {
					out.F32[dst] = w.F32[src]
				} else {
					out.U16[dst] = w.U16[src]
				}
			}
		}
	}
	return out
}
