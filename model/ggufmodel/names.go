package ggufmodel

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Architectures of the text file and the projector type of the mmproj.
const (
	ArchDense     = "glm4"    // GLM-4.1V, GLM-4.6V-Flash text model
	ArchMoE       = "glm4moe" // GLM-4.5V, GLM-4.6V text model
	ArchClip      = "clip"
	ProjectorGLM4 = "glm4v"
)

// place says where a Hugging Face tensor lives in a GGUF pair.
type place struct {
	vision bool   // in the mmproj file
	name   string // GGUF tensor name
	expert int    // ≥ 0: one expert's slice of a stacked [E, out, in] tensor
	split  bool   // split along time into name, name.1, … (patch embedding)
}

var (
	textLayerRe   = regexp.MustCompile(`^model\.language_model\.layers\.(\d+)\.(.+)$`)
	expertRe      = regexp.MustCompile(`^mlp\.experts\.(\d+)\.(gate|up|down)_proj\.weight$`)
	visionBlockRe = regexp.MustCompile(`^model\.visual\.blocks\.(\d+)\.(.+)$`)
)

// textLayerNames maps the per-layer Hugging Face names to llama.cpp's,
// shared by both architectures.
var textLayerNames = map[string]string{
	"input_layernorm.weight":               "attn_norm.weight",
	"self_attn.q_proj.weight":              "attn_q.weight",
	"self_attn.k_proj.weight":              "attn_k.weight",
	"self_attn.v_proj.weight":              "attn_v.weight",
	"self_attn.q_proj.bias":                "attn_q.bias",
	"self_attn.k_proj.bias":                "attn_k.bias",
	"self_attn.v_proj.bias":                "attn_v.bias",
	"self_attn.o_proj.weight":              "attn_output.weight",
	"mlp.gate_up_proj.weight":              "ffn_up.weight", // glm4: kept fused, gate rows first
	"mlp.gate_proj.weight":                 "ffn_gate.weight",
	"mlp.up_proj.weight":                   "ffn_up.weight",
	"mlp.down_proj.weight":                 "ffn_down.weight",
	"mlp.gate.weight":                      "ffn_gate_inp.weight",
	"mlp.gate.e_score_correction_bias":     "exp_probs_b.bias",
	"mlp.shared_experts.gate_proj.weight":  "ffn_gate_shexp.weight",
	"mlp.shared_experts.up_proj.weight":    "ffn_up_shexp.weight",
	"mlp.shared_experts.down_proj.weight":  "ffn_down_shexp.weight",
	"post_self_attn_layernorm.weight":      "post_attention_norm.weight", // glm4 sandwich norm
	"post_mlp_layernorm.weight":            "post_ffw_norm.weight",       // glm4 sandwich norm
	"post_attention_layernorm.weight#glm4": "ffn_norm.weight",
	// glm4moe has no ffn_norm: llama.cpp stores the pre-FFN norm as
	// post_attention_norm.
	"post_attention_layernorm.weight#glm4moe": "post_attention_norm.weight",
}

var visionNames = map[string]string{
	"patch_embed.proj.bias":                "v.patch_embd.bias",
	"post_conv_layernorm.weight":           "v.norm_embd.weight",
	"embeddings.position_embedding.weight": "v.position_embd.weight",
	"post_layernorm.weight":                "v.post_ln.weight",
	"downsample.weight":                    "mm.patch_merger.weight",
	"downsample.bias":                      "mm.patch_merger.bias",
	"merger.proj.weight":                   "mm.model.fc.weight",
	"merger.post_projection_norm.weight":   "mm.post_norm.weight",
	"merger.post_projection_norm.bias":     "mm.post_norm.bias",
	"merger.gate_proj.weight":              "mm.gate.weight",
	"merger.up_proj.weight":                "mm.up.weight",
	"merger.down_proj.weight":              "mm.down.weight",
}

var visionBlockNames = map[string]string{
	"norm1.weight":         "ln1.weight",
	"norm2.weight":         "ln2.weight",
	"attn.qkv.weight":      "attn_qkv.weight",
	"attn.qkv.bias":        "attn_qkv.bias",
	"attn.proj.weight":     "attn_out.weight",
	"attn.proj.bias":       "attn_out.bias",
	"mlp.gate_proj.weight": "ffn_gate.weight",
	"mlp.up_proj.weight":   "ffn_up.weight",
	"mlp.down_proj.weight": "ffn_down.weight",
}

// locate maps a Hugging Face tensor name of a GLM-4.xV checkpoint to its
// place in a llama.cpp GGUF pair of the given text architecture.
func locate(hf, arch string) (place, bool) {
	switch hf {
	case "model.language_model.embed_tokens.weight":
		return place{name: "token_embd.weight", expert: -1}, true
	case "model.language_model.norm.weight":
		return place{name: "output_norm.weight", expert: -1}, true
	case "lm_head.weight":
		return place{name: "output.weight", expert: -1}, true
	case "model.visual.patch_embed.proj.weight":
		return place{vision: true, name: "v.patch_embd.weight", expert: -1, split: true}, true
	}
	if m := textLayerRe.FindStringSubmatch(hf); m != nil {
		blk := "blk." + m[1] + "."
		if e := expertRe.FindStringSubmatch(m[2]); e != nil {
			n, err := strconv.Atoi(e[1])
			if err != nil {
				return place{}, false
			}
			return place{name: blk + "ffn_" + e[2] + "_exps.weight", expert: n}, true
		}
		if g, ok := textLayerNames[m[2]+"#"+arch]; ok {
			return place{name: blk + g, expert: -1}, true
		}
		if g, ok := textLayerNames[m[2]]; ok {
			return place{name: blk + g, expert: -1}, true
		}
		return place{}, false
	}
	if m := visionBlockRe.FindStringSubmatch(hf); m != nil {
		if g, ok := visionBlockNames[m[2]]; ok {
			return place{vision: true, name: "v.blk." + m[1] + "." + g, expert: -1}, true
		}
		return place{}, false
	}
	if rest, ok := strings.CutPrefix(hf, "model.visual."); ok {
		if g, ok := visionNames[rest]; ok {
			return place{vision: true, name: g, expert: -1}, true
		}
	}
	return place{}, false
}

// splitName is the name of part i of a tensor split along time.
func splitName(name string, i int) string {
	if i == 0 {
		return name
	}
	return fmt.Sprintf("%s.%d", name, i)
}

var blockIndexRe = regexp.MustCompile(`^blk\.(\d+)\.`)

// blockIndex returns N for a blk.N.* text tensor name.
func blockIndex(name string) (int, bool) {
	m := blockIndexRe.FindStringSubmatch(name)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}
