// Package model holds the GLM-4.xV model families: configuration, weight
// binding, the vision tower, the text decoder (dense and MoE), 3-D rope
// positions and the KV cache.
package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Family names, as the top-level model_type of config.json spells them.
const (
	FamilyMoE   = "glm4v_moe" // GLM-4.5V, GLM-4.6V
	FamilyDense = "glm4v"     // GLM-4.1V-9B
)

// Config is the parsed config.json of a GLM-4.xV checkpoint.
type Config struct {
	ModelType string
	Text      TextConfig
	Vision    VisionConfig

	ImageTokenID, VideoTokenID int
	ImageStartID, ImageEndID   int
	VideoStartID, VideoEndID   int
	TieWordEmbeddings          bool
}

// RopeStyle says how rotary dimensions are paired.
type RopeStyle int

const (
	// RopeHalf pairs dim j with j+rot/2 (rotate-half, NeoX); glm4v_moe.
	RopeHalf RopeStyle = iota
	// RopeInterleaved pairs dims 2j and 2j+1 (GPT-J); glm4v.
	RopeInterleaved
)

// TextConfig describes the text decoder.
type TextConfig struct {
	Vocab, Hidden, Layers   int
	Heads, KVHeads, HeadDim int
	Intermediate            int // dense MLP width
	RMSNormEps              float32
	AttentionBias           bool
	MaxPositions            int
	RopeTheta               float64
	PartialRotary           float64
	MRopeSection            []int
	RopeStyle               RopeStyle
	SandwichNorms           bool // glm4v: post_self_attn and post_mlp norms
	FusedGateUp             bool // glm4v: mlp.gate_up_proj
	EOS                     []int
	Pad                     int
	MoE                     *MoEConfig // nil for the dense family
	HiddenAct               string
}

// RotaryDims is the number of leading head dims that rotate.
func (t *TextConfig) RotaryDims() int { return int(float64(t.HeadDim) * t.PartialRotary) }

// MoEConfig describes the mixture-of-experts layers of glm4v_moe.
type MoEConfig struct {
	Experts, TopK, Shared int
	Intermediate          int // per expert and per shared expert
	NGroup, TopKGroup     int
	FirstDense            int // layers [0, FirstDense) use a dense MLP
	NormTopKProb          bool
	RoutedScaling         float32
}

// IsMoELayer reports whether decoder layer l uses the MoE block.
func (t *TextConfig) IsMoELayer(l int) bool { return t.MoE != nil && l >= t.MoE.FirstDense }

// VisionConfig describes the ViT tower and merger.
type VisionConfig struct {
	Depth, Hidden, Heads     int
	Intermediate             int // merger SwiGLU width
	OutHidden                int // text hidden; also the ViT MLP width
	PatchSize, TemporalPatch int
	SpatialMerge             int
	ImageSize                int
	InChannels               int
	RMSNormEps               float32
	RopeTheta                float64
}

// HeadDim is the per-head width of the vision attention.
func (v *VisionConfig) HeadDim() int { return v.Hidden / v.Heads }

// PatchDim is the length of one patch row: C·Tp·p·p.
func (v *VisionConfig) PatchDim() int {
	return v.InChannels * v.TemporalPatch * v.PatchSize * v.PatchSize
}

// ErrUnknownModelType reports a config.json whose model_type glmv does not run.
var ErrUnknownModelType = errors.New("unknown model_type")

// LoadConfig reads dir/config.json.
func LoadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

type rawRope struct {
	RopeTheta     *float64 `json:"rope_theta"`
	MRopeSection  []int    `json:"mrope_section"`
	PartialRotary *float64 `json:"partial_rotary_factor"`
	RopeType      string   `json:"rope_type"`
	Type          string   `json:"type"`
}

type rawText struct {
	Vocab          *int            `json:"vocab_size"`
	Hidden         *int            `json:"hidden_size"`
	Layers         *int            `json:"num_hidden_layers"`
	Heads          *int            `json:"num_attention_heads"`
	KVHeads        *int            `json:"num_key_value_heads"`
	HeadDim        *int            `json:"head_dim"`
	Intermediate   *int            `json:"intermediate_size"`
	RMSNormEps     *float64        `json:"rms_norm_eps"`
	AttentionBias  *bool           `json:"attention_bias"`
	MaxPositions   *int            `json:"max_position_embeddings"`
	RopeTheta      *float64        `json:"rope_theta"`
	PartialRotary  *float64        `json:"partial_rotary_factor"`
	RopeParameters *rawRope        `json:"rope_parameters"`
	RopeScaling    *rawRope        `json:"rope_scaling"`
	EOS            json.RawMessage `json:"eos_token_id"`
	Pad            *int            `json:"pad_token_id"`
	HiddenAct      string          `json:"hidden_act"`

	MoEIntermediate *int     `json:"moe_intermediate_size"`
	Experts         *int     `json:"n_routed_experts"`
	LocalExperts    *int     `json:"num_local_experts"`
	TopK            *int     `json:"num_experts_per_tok"`
	Shared          *int     `json:"n_shared_experts"`
	NGroup          *int     `json:"n_group"`
	TopKGroup       *int     `json:"topk_group"`
	FirstDense      *int     `json:"first_k_dense_replace"`
	NormTopKProb    *bool    `json:"norm_topk_prob"`
	RoutedScaling   *float64 `json:"routed_scaling_factor"`
}

type rawVision struct {
	Depth          *int     `json:"depth"`
	Hidden         *int     `json:"hidden_size"`
	Heads          *int     `json:"num_heads"`
	Intermediate   *int     `json:"intermediate_size"`
	OutHidden      *int     `json:"out_hidden_size"`
	PatchSize      *int     `json:"patch_size"`
	TemporalPatch  *int     `json:"temporal_patch_size"`
	SpatialMerge   *int     `json:"spatial_merge_size"`
	ImageSize      *int     `json:"image_size"`
	InChannels     *int     `json:"in_channels"`
	RMSNormEps     *float64 `json:"rms_norm_eps"`
	RopeParameters *rawRope `json:"rope_parameters"`
	HiddenAct      string   `json:"hidden_act"`
}

type rawConfig struct {
	ModelType         string     `json:"model_type"`
	Text              *rawText   `json:"text_config"`
	Vision            *rawVision `json:"vision_config"`
	ImageTokenID      *int       `json:"image_token_id"`
	VideoTokenID      *int       `json:"video_token_id"`
	ImageStartID      *int       `json:"image_start_token_id"`
	ImageEndID        *int       `json:"image_end_token_id"`
	VideoStartID      *int       `json:"video_start_token_id"`
	VideoEndID        *int       `json:"video_end_token_id"`
	TieWordEmbeddings *bool      `json:"tie_word_embeddings"`
	// Hub (transformers 4.5x) configs may put these at the top level.
	RopeTheta     *float64 `json:"rope_theta"`
	PartialRotary *float64 `json:"partial_rotary_factor"`
}

// ParseConfig parses the bytes of a config.json.
func ParseConfig(b []byte) (*Config, error) {
	var r rawConfig
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	c := &Config{ModelType: r.ModelType}
	switch r.ModelType {
	case FamilyMoE, FamilyDense:
	case "":
		return nil, fmt.Errorf("%w: config has no model_type", ErrUnknownModelType)
	default:
		return nil, fmt.Errorf("%w %q (glmv runs %q and %q)", ErrUnknownModelType, r.ModelType, FamilyMoE, FamilyDense)
	}
	if r.Text == nil {
		return nil, errors.New("missing text_config")
	}
	if r.Vision == nil {
		return nil, errors.New("missing vision_config")
	}
	var errs []error
	need := func(p *int, name string) int {
		if p == nil {
			errs = append(errs, fmt.Errorf("missing %s", name))
			return 0
		}
		if *p <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, is %d", name, *p))
		}
		return *p
	}
	opt := func(p *int, def int) int {
		if p == nil {
			return def
		}
		return *p
	}
	optF := func(p *float64, def float64) float64 {
		if p == nil {
			return def
		}
		return *p
	}

	rt := r.Text
	t := &c.Text
	t.Vocab = need(rt.Vocab, "text_config.vocab_size")
	t.Hidden = need(rt.Hidden, "text_config.hidden_size")
	t.Layers = need(rt.Layers, "text_config.num_hidden_layers")
	t.Heads = need(rt.Heads, "text_config.num_attention_heads")
	t.KVHeads = opt(rt.KVHeads, t.Heads)
	t.Intermediate = need(rt.Intermediate, "text_config.intermediate_size")
	if rt.HeadDim != nil {
		t.HeadDim = *rt.HeadDim
	} else if t.Heads > 0 {
		t.HeadDim = t.Hidden / t.Heads
	}
	t.RMSNormEps = float32(optF(rt.RMSNormEps, 1e-5))
	t.AttentionBias = rt.AttentionBias == nil || *rt.AttentionBias
	t.MaxPositions = opt(rt.MaxPositions, 65536)
	t.HiddenAct = rt.HiddenAct
	t.Pad = opt(rt.Pad, -1)
	eos, err := ParseIDList(rt.EOS)
	if err != nil {
		errs = append(errs, fmt.Errorf("text_config.eos_token_id: %w", err))
	}
	t.EOS = eos

	// Rope: transformers 5 writes rope_parameters; Hub files write
	// rope_scaling + rope_theta (+ partial_rotary_factor) in text_config,
	// sometimes at the top level.
	t.RopeTheta, t.PartialRotary = 10000, 0.5
	if r.RopeTheta != nil {
		t.RopeTheta = *r.RopeTheta
	}
	if r.PartialRotary != nil {
		t.PartialRotary = *r.PartialRotary
	}
	t.RopeTheta = optF(rt.RopeTheta, t.RopeTheta)
	t.PartialRotary = optF(rt.PartialRotary, t.PartialRotary)
	for _, rp := range []*rawRope{rt.RopeScaling, rt.RopeParameters} {
		if rp == nil {
			continue
		}
		if kind := rp.RopeType + rp.Type; kind != "" && rp.RopeType != "default" && rp.Type != "default" && rp.RopeType != "mrope" && rp.Type != "mrope" {
			errs = append(errs, fmt.Errorf("unsupported rope type %q", kind))
		}
		t.RopeTheta = optF(rp.RopeTheta, t.RopeTheta)
		t.PartialRotary = optF(rp.PartialRotary, t.PartialRotary)
		if rp.MRopeSection != nil {
			t.MRopeSection = rp.MRopeSection
		}
	}
	if t.MRopeSection == nil {
		t.MRopeSection = []int{8, 12, 12}
	}
	if t.HeadDim <= 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("head_dim %d must be positive (hidden_size %d, %d heads)", t.HeadDim, t.Hidden, t.Heads))
	}
	if t.HeadDim > 0 {
		rot := t.RotaryDims()
		sum := 0
		for _, s := range t.MRopeSection {
			if s < 0 {
				errs = append(errs, fmt.Errorf("mrope_section %v has a negative entry", t.MRopeSection))
			}
			sum += s
		}
		if len(t.MRopeSection) != 3 || sum != rot/2 || rot%2 != 0 || rot > t.HeadDim {
			errs = append(errs, fmt.Errorf("mrope_section %v must have 3 entries summing to rotary dims/2 = %d (head_dim %d × partial_rotary_factor %g)", t.MRopeSection, rot/2, t.HeadDim, t.PartialRotary))
		}
	}
	if t.KVHeads > 0 && t.Heads%t.KVHeads != 0 {
		errs = append(errs, fmt.Errorf("num_attention_heads %d is not a multiple of num_key_value_heads %d", t.Heads, t.KVHeads))
	}

	if r.ModelType == FamilyDense {
		t.RopeStyle = RopeInterleaved
		t.SandwichNorms = true
		t.FusedGateUp = true
	} else {
		t.RopeStyle = RopeHalf
		m := &MoEConfig{}
		m.Intermediate = need(rt.MoEIntermediate, "text_config.moe_intermediate_size")
		if rt.Experts == nil {
			rt.Experts = rt.LocalExperts
		}
		m.Experts = need(rt.Experts, "text_config.n_routed_experts")
		m.TopK = need(rt.TopK, "text_config.num_experts_per_tok")
		m.Shared = opt(rt.Shared, 1)
		m.NGroup = opt(rt.NGroup, 1)
		m.TopKGroup = opt(rt.TopKGroup, 1)
		m.FirstDense = opt(rt.FirstDense, 1)
		m.NormTopKProb = rt.NormTopKProb == nil || *rt.NormTopKProb
		m.RoutedScaling = float32(optF(rt.RoutedScaling, 1))
		if m.NGroup <= 0 || m.Experts%m.NGroup != 0 {
			errs = append(errs, fmt.Errorf("n_routed_experts %d is not divisible by n_group %d", m.Experts, m.NGroup))
		} else if m.TopKGroup <= 0 || m.TopKGroup > m.NGroup {
			errs = append(errs, fmt.Errorf("topk_group %d must be in [1, n_group %d]", m.TopKGroup, m.NGroup))
		} else if m.TopK > m.TopKGroup*(m.Experts/m.NGroup) {
			errs = append(errs, fmt.Errorf("num_experts_per_tok %d exceeds the experts in the kept groups", m.TopK))
		}
		if m.FirstDense < 0 || m.Shared < 0 {
			errs = append(errs, errors.New("first_k_dense_replace and n_shared_experts must not be negative"))
		}
		t.MoE = m
	}

	rv := r.Vision
	v := &c.Vision
	v.Depth = need(rv.Depth, "vision_config.depth")
	v.Hidden = need(rv.Hidden, "vision_config.hidden_size")
	v.Heads = need(rv.Heads, "vision_config.num_heads")
	v.Intermediate = need(rv.Intermediate, "vision_config.intermediate_size")
	v.OutHidden = opt(rv.OutHidden, t.Hidden)
	v.PatchSize = opt(rv.PatchSize, 14)
	v.TemporalPatch = opt(rv.TemporalPatch, 2)
	v.SpatialMerge = opt(rv.SpatialMerge, 2)
	v.ImageSize = opt(rv.ImageSize, 336)
	v.InChannels = opt(rv.InChannels, 3)
	v.RMSNormEps = float32(optF(rv.RMSNormEps, 1e-5))
	v.RopeTheta = 10000
	if rv.RopeParameters != nil {
		v.RopeTheta = optF(rv.RopeParameters.RopeTheta, 10000)
	}
	if v.Heads > 0 && v.Hidden%v.Heads != 0 {
		errs = append(errs, fmt.Errorf("vision hidden_size %d is not a multiple of num_heads %d", v.Hidden, v.Heads))
	}
	if v.OutHidden != t.Hidden {
		errs = append(errs, fmt.Errorf("vision out_hidden_size %d differs from text hidden_size %d", v.OutHidden, t.Hidden))
	}
	if v.PatchSize <= 0 || v.TemporalPatch <= 0 || v.SpatialMerge <= 0 || v.InChannels <= 0 || v.ImageSize < v.PatchSize {
		errs = append(errs, errors.New("vision patch_size, temporal_patch_size, spatial_merge_size, in_channels and image_size must be positive, image_size ≥ patch_size"))
	}

	c.ImageTokenID = opt(r.ImageTokenID, -1)
	c.VideoTokenID = opt(r.VideoTokenID, -1)
	c.ImageStartID = opt(r.ImageStartID, -1)
	c.ImageEndID = opt(r.ImageEndID, -1)
	c.VideoStartID = opt(r.VideoStartID, -1)
	c.VideoEndID = opt(r.VideoEndID, -1)
	c.TieWordEmbeddings = r.TieWordEmbeddings != nil && *r.TieWordEmbeddings
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// ParseIDList reads a token-id field that may be null, one integer or a
// list of integers (eos_token_id is written all three ways).
func ParseIDList(raw json.RawMessage) ([]int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int{one}, nil
	}
	var many []int
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("want an integer or a list of integers, got %s", raw)
	}
	return many, nil
}

// ParamCounts are parameter counts implied by a config.
type ParamCounts struct {
	Text, Vision, Total int64
	// Active is what one text token uses: everything but the embedding
	// table, with only the routed experts a token picks (top-k) counted.
	Active int64
}

// Params counts the parameters the config implies (every tensor BindWeights
// expects).
func (c *Config) Params() ParamCounts {
	t, v := &c.Text, &c.Vision
	H, D := int64(t.Hidden), int64(t.HeadDim)
	q, kv := int64(t.Heads)*D, int64(t.KVHeads)*D
	attn := H*q + 2*H*kv + q*H
	if t.AttentionBias {
		attn += q + 2*kv
	}
	norms := 2 * H
	if t.SandwichNorms {
		norms = 4 * H
	}
	embed := int64(t.Vocab) * H
	var p ParamCounts
	p.Text = embed + H // embedding, final norm
	if !c.TieWordEmbeddings {
		p.Text += embed
	}
	p.Active = embed + H // lm_head and final norm
	for l := 0; l < t.Layers; l++ {
		layer := attn + norms
		active := layer
		if t.IsMoELayer(l) {
			m := t.MoE
			E, Im := int64(m.Experts), int64(m.Intermediate)
			expert := 3 * H * Im
			router := E*H + E
			shared := int64(m.Shared) * expert
			layer += E*expert + shared + router
			active += int64(m.TopK)*expert + shared + router
		} else {
			layer += 3 * H * int64(t.Intermediate)
			active = layer
		}
		p.Text += layer
		p.Active += active
	}
	C, O, mm := int64(v.Hidden), int64(v.OutHidden), int64(v.SpatialMerge*v.SpatialMerge)
	side := int64(v.ImageSize / v.PatchSize)
	p.Vision = C*int64(v.PatchDim()) + C + // patch embedding
		C + side*side*C + // post-conv norm, position table
		int64(v.Depth)*(2*C+3*C*C+C*C+3*C*O) + // blocks
		C + O*C*mm + O + // post norm, downsample
		O*O + 2*O + 3*O*int64(v.Intermediate) // merger
	p.Total = p.Text + p.Vision
	return p
}

// KVBytesPerToken is the KV cache size of one token in float32.
func (t *TextConfig) KVBytesPerToken() int64 {
	return int64(t.Layers) * 2 * int64(t.KVHeads*t.HeadDim) * 4
}
