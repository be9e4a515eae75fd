package ggufmodel

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/glmv/glmv/gguf"
	"github.com/glmv/glmv/model"
)

// ErrUnknownArchitecture reports a GGUF whose architecture glmv does not
// run.
var ErrUnknownArchitecture = errors.New("unknown GGUF architecture")

func textArch(h *gguf.Header) (string, error) {
	v, _ := h.Get("general.architecture")
	arch, _ := v.Str()
	switch arch {
	case ArchDense, ArchMoE:
		return arch, nil
	case ArchClip:
		return "", fmt.Errorf("%w: this is a vision projector (mmproj) file; pass the text model file and the mmproj beside it", ErrUnknownArchitecture)
	case "":
		return "", fmt.Errorf("%w: no general.architecture", ErrUnknownArchitecture)
	}
	return "", fmt.Errorf("%w %q (glmv runs %q and %q text models)", ErrUnknownArchitecture, arch, ArchDense, ArchMoE)
}

func checkProjector(h *gguf.Header) error {
	v, _ := h.Get("general.architecture")
	if arch, _ := v.Str(); arch != ArchClip {
		return fmt.Errorf("%w %q for a vision projector (want %q)", ErrUnknownArchitecture, arch, ArchClip)
	}
	v, _ = h.Get("clip.projector_type")
	if p, _ := v.Str(); p != ProjectorGLM4 {
		return fmt.Errorf("%w: clip.projector_type %q (glmv runs %q)", ErrUnknownArchitecture, p, ProjectorGLM4)
	}
	if v, ok := h.Get("clip.has_vision_encoder"); ok {
		if b, _ := v.Bool(); !b {
			return errors.New("clip.has_vision_encoder is false")
		}
	}
	return nil
}

// meta reads typed metadata, collecting errors.
type meta struct {
	h    *gguf.Header
	errs []error
}

func (m *meta) int(key string, need bool) (int, bool) {
	v, ok := m.h.Get(key)
	if !ok {
		if need {
			m.errs = append(m.errs, fmt.Errorf("missing %s", key))
		}
		return 0, false
	}
	i, ok := v.Int()
	if !ok || i < 0 || i > 1<<40 {
		m.errs = append(m.errs, fmt.Errorf("%s = %v is not a usable integer", key, v))
		return 0, false
	}
	return int(i), true
}

func (m *meta) float(key string) (float64, bool) {
	v, ok := m.h.Get(key)
	if !ok {
		return 0, false
	}
	f, ok := v.Float()
	if !ok {
		m.errs = append(m.errs, fmt.Errorf("%s = %v is not a number", key, v))
	}
	return f, ok
}

func (m *meta) bool(key string) (bool, bool) {
	v, ok := m.h.Get(key)
	if !ok {
		return false, false
	}
	b, ok := v.Bool()
	if !ok {
		m.errs = append(m.errs, fmt.Errorf("%s = %v is not a bool", key, v))
	}
	return b, ok
}

func (m *meta) putInt(obj map[string]any, name, key string, need bool) {
	if v, ok := m.int(key, need); ok {
		obj[name] = v
	}
}

func (m *meta) putFloat(obj map[string]any, name, key string) {
	if v, ok := m.float(key); ok {
		obj[name] = v
	}
}

func (m *meta) putBool(obj map[string]any, name, key string) {
	if v, ok := m.bool(key); ok {
		obj[name] = v
	}
}

// Special tokens looked up by text for the config's image and video ids.
var markerTokens = map[string]string{
	"image_token_id":       "<|image|>",
	"video_token_id":       "<|video|>",
	"image_start_token_id": "<|begin_of_image|>",
	"image_end_token_id":   "<|end_of_image|>",
	"video_start_token_id": "<|begin_of_video|>",
	"video_end_token_id":   "<|end_of_video|>",
}

// Config builds the model configuration from the metadata of the text
// file and the mmproj (vision may be nil: the vision part is then the
// GLM-4.5V default shape and binding reports the tensors missing). The
// result goes through model.ParseConfig, so it is checked like a
// config.json.
func Config(text, vision *gguf.Header) (*model.Config, error) {
	arch, err := textArch(text)
	if err != nil {
		return nil, err
	}
	m := &meta{h: text}
	k := func(s string) string { return arch + "." + s }
	t := map[string]any{"hidden_act": "silu"}
	layers, _ := m.int(k("block_count"), true)
	if n, ok := m.int(k("nextn_predict_layers"), false); ok {
		layers -= n
	}
	t["num_hidden_layers"] = layers
	hidden, _ := m.int(k("embedding_length"), true)
	t["hidden_size"] = hidden
	m.putInt(t, "intermediate_size", k("feed_forward_length"), true)
	heads, _ := m.int(k("attention.head_count"), true)
	t["num_attention_heads"] = heads
	m.putInt(t, "num_key_value_heads", k("attention.head_count_kv"), false)
	headDim, hasHeadDim := m.int(k("attention.key_length"), false)
	if vl, ok := m.int(k("attention.value_length"), false); ok && hasHeadDim && vl != headDim {
		m.errs = append(m.errs, fmt.Errorf("attention.value_length %d differs from key_length %d", vl, headDim))
	}
	if !hasHeadDim && heads > 0 {
		headDim = hidden / heads
	}
	if hasHeadDim {
		t["head_dim"] = headDim
	}
	m.putInt(t, "max_position_embeddings", k("context_length"), false)
	m.putFloat(t, "rms_norm_eps", k("attention.layer_norm_rms_epsilon"))
	rope := map[string]any{"rope_type": "default"}
	m.putFloat(rope, "rope_theta", k("rope.freq_base"))
	if rot, ok := m.int(k("rope.dimension_count"), false); ok && headDim > 0 {
		rope["partial_rotary_factor"] = float64(rot) / float64(headDim)
	}
	if v, ok := text.Get(k("rope.dimension_sections")); ok {
		s, ok := v.Ints()
		if !ok || len(s) < 3 {
			m.errs = append(m.errs, fmt.Errorf("%s = %v: want at least 3 integers", k("rope.dimension_sections"), v))
		} else {
			for _, x := range s[3:] {
				if x != 0 {
					m.errs = append(m.errs, fmt.Errorf("%s = %v: glmv runs 3-axis M-RoPE (the fourth section must be 0)", k("rope.dimension_sections"), s))
				}
			}
			rope["mrope_section"] = s[:3]
		}
	}
	t["rope_parameters"] = rope
	_, hasQBias := text.Tensor("blk.0.attn_q.bias")
	t["attention_bias"] = hasQBias
	if e, ok := text.Tensor("token_embd.weight"); ok && len(e.Dims) == 2 {
		t["vocab_size"] = int(e.Dims[1])
	} else {
		m.errs = append(m.errs, errors.New("no 2-D token_embd.weight tensor"))
	}
	var eos []int
	for _, key := range []string{"eos", "eot", "eom"} {
		if id, ok := m.int("tokenizer.ggml."+key+"_token_id", false); ok && !contains(eos, id) {
			eos = append(eos, id)
		}
	}
	t["eos_token_id"] = eos
	m.putInt(t, "pad_token_id", "tokenizer.ggml.padding_token_id", false)

	cfg := map[string]any{"text_config": t}
	if arch == ArchDense {
		cfg["model_type"] = model.FamilyDense
	} else {
		cfg["model_type"] = model.FamilyMoE
		m.putInt(t, "moe_intermediate_size", k("expert_feed_forward_length"), true)
		m.putInt(t, "n_routed_experts", k("expert_count"), true)
		m.putInt(t, "num_experts_per_tok", k("expert_used_count"), true)
		shared, _ := m.int(k("expert_shared_count"), false)
		t["n_shared_experts"] = shared // absent means none
		m.putInt(t, "n_group", k("expert_group_count"), false)
		m.putInt(t, "topk_group", k("expert_group_used_count"), false)
		dense, _ := m.int(k("leading_dense_block_count"), false)
		t["first_k_dense_replace"] = dense
		m.putBool(t, "norm_topk_prob", k("expert_weights_norm"))
		m.putFloat(t, "routed_scaling_factor", k("expert_weights_scale"))
		if g, ok := m.int(k("expert_gating_func"), false); ok && g != 2 {
			m.errs = append(m.errs, fmt.Errorf("%s = %d: glmv runs sigmoid gating (2)", k("expert_gating_func"), g))
		}
	}
	_, hasOutput := text.Tensor("output.weight")
	cfg["tie_word_embeddings"] = !hasOutput
	if tokens, ok := text.Get("tokenizer.ggml.tokens"); ok {
		if list, ok := tokens.Strings(); ok {
			for key, tok := range markerTokens {
				if i := indexOf(list, tok); i >= 0 {
					cfg[key] = i
				}
			}
		}
	}
	var vcfg map[string]any
	var verrs []error
	if vision != nil {
		vcfg, verrs = visionConfig(vision, hidden)
	} else {
		vcfg = map[string]any{"depth": 1, "hidden_size": 1536, "num_heads": 12, "intermediate_size": 10944, "out_hidden_size": hidden}
	}
	cfg["vision_config"] = vcfg
	if err := errors.Join(append(m.errs, verrs...)...); err != nil {
		return nil, err
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	c, err := model.ParseConfig(b)
	if err != nil {
		return nil, err
	}
	if arch == ArchDense {
		// llama.cpp's converter permutes the rotary rows of Q and K within
		// each head from interleaved pairs (2j, 2j+1) to halves (j,
		// j+rot/2); rotate-half on the permuted rows is the same rotation,
		// and q·k is unchanged because Q and K share the permutation.
		c.Text.RopeStyle = model.RopeHalf
	}
	return c, nil
}

func visionConfig(h *gguf.Header, textHidden int) (map[string]any, []error) {
	if err := checkProjector(h); err != nil {
		return nil, []error{err}
	}
	m := &meta{h: h}
	v := map[string]any{"hidden_act": "silu"}
	m.putInt(v, "depth", "clip.vision.block_count", true)
	m.putInt(v, "hidden_size", "clip.vision.embedding_length", true)
	m.putInt(v, "num_heads", "clip.vision.attention.head_count", true)
	// GLM-4V's vision intermediate_size is the merger's width.
	m.putInt(v, "intermediate_size", "clip.vision.feed_forward_length", true)
	m.putInt(v, "out_hidden_size", "clip.vision.projection_dim", false)
	m.putInt(v, "image_size", "clip.vision.image_size", true)
	m.putInt(v, "patch_size", "clip.vision.patch_size", true)
	m.putFloat(v, "rms_norm_eps", "clip.vision.attention.layer_norm_epsilon")
	if s, ok := m.int("clip.vision.spatial_merge_size", false); ok {
		v["spatial_merge_size"] = s
	} else if pm, ok := h.Tensor("mm.patch_merger.weight"); ok && len(pm.Dims) == 4 {
		v["spatial_merge_size"] = int(pm.Dims[0])
	}
	if pe, ok := h.Tensor("v.patch_embd.weight"); ok && len(pe.Dims) == 4 {
		v["in_channels"] = int(pe.Dims[2])
		T := 1
		for {
			if _, ok := h.Tensor(splitName("v.patch_embd.weight", T)); !ok {
				break
			}
			T++
		}
		v["temporal_patch_size"] = T
	} else {
		m.errs = append(m.errs, errors.New("no 4-D v.patch_embd.weight tensor"))
	}
	return v, m.errs
}

// ImageNorm returns the mmproj's image mean and std when it records them.
func ImageNorm(vision *gguf.Header) (mean, std [3]float64, ok bool) {
	mv, ok1 := vision.Get("clip.vision.image_mean")
	sv, ok2 := vision.Get("clip.vision.image_std")
	if !ok1 || !ok2 {
		return mean, std, false
	}
	a, ok1 := mv.Floats()
	b, ok2 := sv.Floats()
	if !ok1 || !ok2 || len(a) != 3 || len(b) != 3 {
		return mean, std, false
	}
	copy(mean[:], a)
	copy(std[:], b)
	return mean, std, true
}

func contains(s []int, x int) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

func indexOf(s []string, x string) int {
	for i, y := range s {
		if y == x {
			return i
		}
	}
	return -1
}
