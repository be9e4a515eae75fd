package model

import (
	"fmt"
	"strings"

	"github.com/glmv/glmv/compute"
)

// ParseWeightFormat maps a user-facing name to a storage format: "f32",
// "bf16", "f16", "q8" (Q8_0), "q4" (Q4_0), or one of llama.cpp's block
// formats "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k".
func ParseWeightFormat(s string) (compute.DType, error) {
	switch strings.ToLower(s) {
	case "f32":
		return compute.F32, nil
	case "bf16":
		return compute.BF16, nil
	case "f16":
		return compute.F16, nil
	case "q8", "q8_0":
		return compute.Q8_0, nil
	case "q4", "q4_0":
		return compute.Q4_0, nil
	case "q4_1":
		return compute.Q4_1, nil
	case "q5_0":
		return compute.Q5_0, nil
	case "q5_1":
		return compute.Q5_1, nil
	case "q4_k":
		return compute.Q4_K, nil
	case "q5_k":
		return compute.Q5_K, nil
	case "q6_k":
		return compute.Q6_K, nil
	}
	return 0, fmt.Errorf("unknown weight format %q (want f32, bf16, f16, q8, q4, q4_1, q5_0, q5_1, q4_k, q5_k or q6_k)", s)
}

// formatFor is dt for a matrix of cols columns, or Q8_0 where dt is a
// block format whose blocks do not divide the rows (as llama.cpp falls
// back for such tensors).
func formatFor(dt compute.DType, cols int) compute.DType {
	if dt.IsBlock() && cols%dt.BlockSize() != 0 {
		return compute.Q8_0
	}
	return dt
}

// ConvertWeights converts every large projection matrix of w (attention,
// MLPs, experts, lm_head, vision blocks and merger) to dt in memory (Q8_0
// for a matrix whose rows are not whole blocks of dt). The
// router, the embedding table, norms and biases keep their format: they
// are small or read one row at a time, and the routing decision is
// sensitive to rounding. progress, when not nil, is called after each
// matrix with the number done and the total.
func ConvertWeights(w *Weights, dt compute.DType, pool *compute.Pool, progress func(done, total int)) error {
	return convertWeights(w, dt, pool, progress, nil)
}

// ConvertWeights is the package-level ConvertWeights on the model's own
// weights; in addition, the memory-mapped source data of each converted
// matrix leaves resident memory as soon as it is converted (where the
// weight source can release it), so converting a large checkpoint needs
// about the converted size plus one matrix, not both copies.
func (m *Model) ConvertWeights(dt compute.DType, progress func(done, total int)) error {
	var release func(*compute.Matrix)
	if r, ok := m.files.(Releaser); ok {
		release = r.Release
	}
	return convertWeights(m.Weights, dt, m.Pool, progress, release)
}

// Releaser is implemented by weight sources that can drop a bound matrix's
// file pages from memory once the matrix has been converted.
type Releaser interface {
	Release(m *compute.Matrix)
}

func convertWeights(w *Weights, dt compute.DType, pool *compute.Pool, progress func(done, total int), release func(*compute.Matrix)) error {
	var mats []**compute.Matrix
	collect(w, func(m **compute.Matrix) {
		if *m != nil {
			mats = append(mats, m)
		}
	})
	// A matrix bound in two places (tied weights) or still used elsewhere
	// unconverted (the embedding table) must keep its pages.
	shared := map[*compute.Matrix]bool{w.Text.Embed: true}
	seen := map[*compute.Matrix]bool{}
	for _, m := range mats {
		if seen[*m] {
			shared[*m] = true
		}
		seen[*m] = true
	}
	for i, m := range mats {
		q, err := pool.Quantize(*m, formatFor(dt, (*m).Cols))
		if err != nil {
			return fmt.Errorf("convert weights to %v: %w", dt, err)
		}
		if release != nil && q != *m && !shared[*m] {
			release(*m)
		}
		*m = q
		if progress != nil {
			progress(i+1, len(mats))
		}
	}
	return nil
}

// collect calls conv on the address of every large projection matrix.
func collect(w *Weights, conv func(**compute.Matrix)) {
	mlp := func(p *MLP) {
		if p == nil {
			return
		}
		conv(&p.Gate)
		conv(&p.Up)
		conv(&p.GateUp)
		conv(&p.Down)
	}
	t := &w.Text
	conv(&t.LMHead)
	for i := range t.Layers {
		L := &t.Layers[i]
		conv(&L.Q.W)
		conv(&L.K.W)
		conv(&L.V.W)
		conv(&L.O)
		mlp(L.MLP)
		if L.MoE != nil {
			for e := range L.MoE.Experts {
				mlp(&L.MoE.Experts[e])
			}
			mlp(L.MoE.Shared)
		}
	}
	v := &w.Vision
	conv(&v.PatchEmbed.W)
	for i := range v.Blocks {
		conv(&v.Blocks[i].QKV)
		conv(&v.Blocks[i].Proj)
		mlp(&v.Blocks[i].MLP)
	}
	conv(&v.Downsample.W)
	conv(&v.MergerProj)
	mlp(&v.MergerMLP)
}

// DecodeWeightBytes estimates the weight bytes one decoded token reads:
// every attention and dense MLP matrix, the router, the top-k routed
// experts and the shared experts of MoE layers (the average expert size
// times k), and lm_head. Embedding rows and norms are negligible.
func DecodeWeightBytes(cfg *TextConfig, w *TextWeights) int64 {
	total := matrixBytes(w.LMHead)
	for i := range w.Layers {
		total += LayerDecodeBytes(cfg, &w.Layers[i])
	}
	return total
}

// LayerDecodeBytes is the share of DecodeWeightBytes of one layer.
func LayerDecodeBytes(cfg *TextConfig, L *TextLayer) int64 {
	mlp := func(p *MLP) int64 {
		if p == nil {
			return 0
		}
		return matrixBytes(p.Gate) + matrixBytes(p.Up) + matrixBytes(p.GateUp) + matrixBytes(p.Down)
	}
	total := matrixBytes(L.Q.W) + matrixBytes(L.K.W) + matrixBytes(L.V.W) + matrixBytes(L.O) + mlp(L.MLP)
	if L.MoE != nil {
		var experts int64
		for e := range L.MoE.Experts {
			experts += mlp(&L.MoE.Experts[e])
		}
		total += matrixBytes(L.MoE.Router) + mlp(L.MoE.Shared)
		total += experts * int64(cfg.MoE.TopK) / int64(len(L.MoE.Experts))
	}
	return total
}

// DecodeMatrices returns the weight matrices one decoded token reads, in
// the order decode reads them: per layer Q, K, V, O and the dense MLP, or
// for MoE layers the router, the shared experts and the routed experts
// (with allExperts every one, else the first top-k: which ones a token
// takes depends on its routing, and all experts of a layer have the same
// size), then lm_head.
func DecodeMatrices(cfg *TextConfig, w *TextWeights, allExperts bool) []*compute.Matrix {
	var out []*compute.Matrix
	mat := func(ms ...*compute.Matrix) {
		for _, m := range ms {
			if m != nil {
				out = append(out, m)
			}
		}
	}
	mlp := func(p *MLP) {
		if p != nil {
			mat(p.Gate, p.Up, p.GateUp, p.Down)
		}
	}
	for i := range w.Layers {
		L := &w.Layers[i]
		mat(L.Q.W, L.K.W, L.V.W, L.O)
		mlp(L.MLP)
		if L.MoE != nil {
			mat(L.MoE.Router)
			mlp(L.MoE.Shared)
			n := len(L.MoE.Experts)
			if !allExperts {
				n = min(cfg.MoE.TopK, n)
			}
			for e := range n {
				mlp(&L.MoE.Experts[e])
			}
		}
	}
	mat(w.LMHead)
	return out
}

// DecodeWeightData returns the storage of DecodeMatrices (top-k experts)
// as bytes: the memory one decoded token reads, in order, DecodeWeightBytes
// in all. glmv bench streams it with the read-sum probe next to each
// decoded token.
func DecodeWeightData(cfg *TextConfig, w *TextWeights) [][]byte {
	var out [][]byte
	for _, m := range DecodeMatrices(cfg, w, false) {
		out = append(out, m.Storage()...)
	}
	return out
}

func matrixBytes(m *compute.Matrix) int64 {
	if m == nil {
		return 0
	}
	return m.Bytes()
}
