package model

import (
	"context"
	"fmt"
	"math"

	"github.com/glmv/glmv/compute"
)

// Vision is the GLM-4.xV vision tower (ViT + merger), bound to its weights.
// It holds no per-call state: Forward may run on many goroutines at once.
type Vision struct {
	Cfg  *VisionConfig
	W    *VisionWeights
	Pool *compute.Pool
}

// NewVision prepares the vision tower; pool may be nil.
func NewVision(cfg *VisionConfig, w *VisionWeights, pool *compute.Pool) *Vision {
	return &Vision{Cfg: cfg, W: w, Pool: pool}
}

// Segment is one attention segment of the vision input: an image, or one
// temporal group of a video, with its patch grid height and width.
type Segment struct{ H, W int }

// Segments expands grids ([t, h, w] per image or video) into one segment
// per temporal group, as the reference does.
func Segments(grids [][3]int) []Segment {
	var out []Segment
	for _, g := range grids {
		for i := 0; i < g[0]; i++ {
			out = append(out, Segment{H: g[1], W: g[2]})
		}
	}
	return out
}

// Forward turns patch rows ([S, PatchDim], S = Σ h·w over segments) into
// merged embeddings ([S/m², OutHidden]), one per image placeholder token.
func (v *Vision) Forward(ctx context.Context, pixels []float32, segs []Segment) ([]float32, error) {
	cfg, w := v.Cfg, v.W
	C, m := cfg.Hidden, cfg.SpatialMerge
	S := 0
	for i, s := range segs {
		if s.H <= 0 || s.W <= 0 || s.H%m != 0 || s.W%m != 0 {
			return nil, fmt.Errorf("vision: segment %d grid %d×%d is not a positive multiple of the merge size %d", i, s.H, s.W, m)
		}
		S += s.H * s.W
	}
	if len(pixels) != S*cfg.PatchDim() {
		return nil, fmt.Errorf("vision: %d pixel values, want %d rows × %d for the given grids", len(pixels), S, cfg.PatchDim())
	}
	x := make([]float32, S*C)
	v.Pool.MatMul(x, pixels, S, w.PatchEmbed.W)
	compute.AddBias(x, S, w.PatchEmbed.B)
	compute.RMSNorm(x, x, S, w.PostConvNorm, cfg.RMSNormEps)

	hpos, wpos := patchPositions(segs, m)
	v.addPositionEmbedding(x, segs, hpos, wpos)
	cos, sin := v.rotary(hpos, wpos)

	heads, D := cfg.Heads, cfg.HeadDim()
	shape := compute.AttnShape{Heads: heads, KVHeads: heads, HeadDim: D, Scale: float32(1 / math.Sqrt(float64(D)))}
	xn := make([]float32, S*C)
	qkv := make([]float32, S*3*C)
	q := make([]float32, S*C)
	k := make([]float32, S*C)
	val := make([]float32, S*C)
	att := make([]float32, S*C)
	o := make([]float32, S*C)
	for bi := range w.Blocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := &w.Blocks[bi]
		compute.RMSNorm(xn, x, S, b.Norm1, cfg.RMSNormEps)
		v.Pool.MatMul(qkv, xn, S, b.QKV)
		for r := 0; r < S; r++ {
			row := qkv[r*3*C : (r+1)*3*C]
			copy(q[r*C:(r+1)*C], row[:C])
			copy(k[r*C:(r+1)*C], row[C:2*C])
			copy(val[r*C:(r+1)*C], row[2*C:])
		}
		rotateHalf(q, S, heads, D, cos, sin)
		rotateHalf(k, S, heads, D, cos, sin)
		// The attention is in bf16 where the block's products are (see
		// compute.Precision).
		attend := v.Pool.Attention
		if v.Pool.BF16For(b.QKV.DType, S) {
			attend = v.Pool.AttentionBF16
		}
		off := 0
		for _, s := range segs {
			n := s.H * s.W
			attend(att[off*C:(off+n)*C], q[off*C:(off+n)*C], k[off*C:(off+n)*C], val[off*C:(off+n)*C], n, n, shape, false, 0)
			off += n
		}
		v.Pool.MatMul(o, att, S, b.Proj)
		compute.Add(x, o)
		compute.RMSNorm(xn, x, S, b.Norm2, cfg.RMSNormEps)
		swiglu(v.Pool, o, xn, S, &b.MLP)
		compute.Add(x, o)
	}
	compute.RMSNorm(x, x, S, w.PostNorm, cfg.RMSNormEps)

	// Downsample: each run of m² rows is one merge block; concatenated they
	// multiply the permuted conv weight.
	N, out := S/(m*m), cfg.OutHidden
	y := make([]float32, N*out)
	v.Pool.MatMul(y, x, N, w.Downsample.W)
	compute.AddBias(y, N, w.Downsample.B)
	u := make([]float32, N*out)
	v.Pool.MatMul(u, y, N, w.MergerProj)
	compute.LayerNorm(u, u, N, w.MergerNormW, w.MergerNormB, 1e-5)
	compute.GELU(u)
	swiglu(v.Pool, y, u, N, &w.MergerMLP)
	return y, nil
}

// swiglu computes down(silu(gate(x)) ⊙ up(x)) for T rows into out.
func swiglu(pool *compute.Pool, out, x []float32, T int, p *MLP) {
	I := p.Width()
	swigluInto(pool, out, x, T, p, make([]float32, T*I), make([]float32, T*I))
}

// swigluInto is swiglu with work buffers act and up ([T, p.Width()]).
func swigluInto(pool *compute.Pool, out, x []float32, T int, p *MLP, act, up []float32) {
	pool.MatMul(act, x, T, p.Gate)
	pool.MatMul(up, x, T, p.Up)
	compute.SiLUMul(act, act, up)
	pool.MatMul(out, act, T, p.Down)
}

// patchPositions gives each patch row its (row, column) in its grid,
// following the merge-block-major row order of the processor.
func patchPositions(segs []Segment, m int) (hpos, wpos []int) {
	for _, s := range segs {
		for bh := 0; bh < s.H/m; bh++ {
			for bw := 0; bw < s.W/m; bw++ {
				for ih := 0; ih < m; ih++ {
					for iw := 0; iw < m; iw++ {
						hpos = append(hpos, bh*m+ih)
						wpos = append(wpos, bw*m+iw)
					}
				}
			}
		}
	}
	return hpos, wpos
}

// cubicWeights returns the 4 bicubic tap weights (Keys kernel with
// parameter a) for fractional offset f in [0, 1).
func cubicWeights(f, a float32) [4]float32 {
	near := func(d float32) float32 { return ((a+2)*d-(a+3))*d*d + 1 }
	far := func(d float32) float32 { return ((a*d-5*a)*d+8*a)*d - 4*a }
	return [4]float32{far(f + 1), near(f), near(1 - f), far(2 - f)}
}

// addPositionEmbedding adds the learned position table, resampled to each
// segment's grid with bicubic grid_sample semantics (a = -0.75,
// align_corners=False, border padding), to x.
func (v *Vision) addPositionEmbedding(x []float32, segs []Segment, hpos, wpos []int) {
	C, side := v.Cfg.Hidden, v.W.PosTableSide
	table := v.W.PosEmbed
	r := 0
	for _, s := range segs {
		for i := 0; i < s.H*s.W; i++ {
			// Normalised grid coordinate, then unnormalised as grid_sample
			// does, all in float32 like the reference.
			gx := (float32(wpos[r])+0.5)/float32(s.W)*2 - 1
			gy := (float32(hpos[r])+0.5)/float32(s.H)*2 - 1
			sx := ((gx+1)*float32(side) - 1) / 2
			sy := ((gy+1)*float32(side) - 1) / 2
			x0 := float32(math.Floor(float64(sx)))
			y0 := float32(math.Floor(float64(sy)))
			wx := cubicWeights(sx-x0, -0.75)
			wy := cubicWeights(sy-y0, -0.75)
			dst := x[r*C : (r+1)*C]
			for a := 0; a < 4; a++ {
				ty := clampInt(int(y0)-1+a, 0, side-1)
				for b := 0; b < 4; b++ {
					tx := clampInt(int(x0)-1+b, 0, side-1)
					wgt := wy[a] * wx[b]
					src := table[(ty*side+tx)*C : (ty*side+tx+1)*C]
					for c, val := range src {
						dst[c] += wgt * val
					}
				}
			}
			r++
		}
	}
}

func clampInt(v, lo, hi int) int { return min(max(v, lo), hi) }

// rotary builds the 2-D rotary cos/sin tables ([S, D]) of the vision
// attention: the first half of each head's angles come from the patch row,
// the second from its column, repeated for the rotate-half pairing.
func (v *Vision) rotary(hpos, wpos []int) (cos, sin []float32) {
	D := v.Cfg.HeadDim()
	dim := D / 2
	nf := dim / 2
	inv := make([]float32, nf)
	for k := 0; k < nf; k++ {
		e := float32(2*k) / float32(dim)
		inv[k] = float32(1 / math.Pow(v.Cfg.RopeTheta, float64(e)))
	}
	S := len(hpos)
	cos = make([]float32, S*D)
	sin = make([]float32, S*D)
	for r := 0; r < S; r++ {
		for k := 0; k < nf; k++ {
			ah := float32(hpos[r]) * inv[k]
			aw := float32(wpos[r]) * inv[k]
			for _, j := range [2]int{k, k + dim} {
				cos[r*D+j], sin[r*D+j] = float32(math.Cos(float64(ah))), float32(math.Sin(float64(ah)))
				cos[r*D+j+nf], sin[r*D+j+nf] = float32(math.Cos(float64(aw))), float32(math.Sin(float64(aw)))
			}
		}
	}
	return cos, sin
}

// rotateHalf applies x·cos + rotate_half(x)·sin over whole heads of x
// ([S, heads·D]), pairing dim i with i+D/2.
func rotateHalf(x []float32, S, heads, D int, cos, sin []float32) {
	half := D / 2
	for r := 0; r < S; r++ {
		c := cos[r*D : (r+1)*D]
		s := sin[r*D : (r+1)*D]
		for h := 0; h < heads; h++ {
			v := x[(r*heads+h)*D : (r*heads+h+1)*D]
			for i := 0; i < half; i++ {
				a, b := v[i], v[i+half]
				v[i] = a*c[i] - b*s[i]
				v[i+half] = b*c[i+half] + a*s[i+half]
			}
		}
	}
}
