package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/internal/half"
)

// Preset returns the config of a real model shape with the given number of
// text layers (0 keeps the real count), for benchmarks on random weights.
// Names: "glm4.1v" (GLM-4.1V-9B) and "glm4.5v" (GLM-4.5V).
func Preset(name string, layers int) (*Config, error) {
	c := &Config{
		ImageTokenID: 151363, VideoTokenID: 151364,
		ImageStartID: 151339, ImageEndID: 151340, VideoStartID: 151341, VideoEndID: 151342,
		Vision: VisionConfig{
			Depth: 24, Hidden: 1536, Heads: 12, OutHidden: 4096, PatchSize: 14, TemporalPatch: 2,
			SpatialMerge: 2, ImageSize: 336, InChannels: 3, RMSNormEps: 1e-5, RopeTheta: 10000,
		},
	}
	t := &c.Text
	*t = TextConfig{
		Vocab: 151552, Hidden: 4096, HeadDim: 128, RMSNormEps: 1e-5, AttentionBias: true,
		MaxPositions: 65536, RopeTheta: 10000, PartialRotary: 0.5, MRopeSection: []int{8, 12, 12},
		EOS: []int{151329, 151336, 151338}, Pad: 151329, HiddenAct: "silu",
	}
	switch name {
	case "glm4.1v":
		c.ModelType = FamilyDense
		c.ImageTokenID, c.VideoTokenID = 151343, 151344
		c.Vision.Intermediate = 13696
		t.Layers, t.Heads, t.KVHeads, t.Intermediate = 40, 32, 2, 13696
		t.RopeStyle, t.SandwichNorms, t.FusedGateUp = RopeInterleaved, true, true
	case "glm4.5v":
		c.ModelType = FamilyMoE
		c.Vision.Intermediate = 10944
		t.Layers, t.Heads, t.KVHeads, t.Intermediate = 46, 96, 8, 10944
		t.RopeStyle = RopeHalf
		t.MoE = &MoEConfig{Experts: 128, TopK: 8, Shared: 1, Intermediate: 1408, NGroup: 1, TopKGroup: 1,
			FirstDense: 1, NormTopKProb: true, RoutedScaling: 1}
	default:
		return nil, fmt.Errorf("unknown shape %q (want glm4.1v or glm4.5v)", name)
	}
	if layers > 0 {
		t.Layers = layers
	}
	return c, nil
}

// randomSource fills weights with uniform values of variance 1/fan_in,
// in parallel chunks that are each seeded from the source, so the result
// does not depend on the number of cores.
type randomSource struct {
	rng *rand.Rand
	dt  compute.DType // storage of generated values: F32, BF16 or F16
	// quant, when set, converts each projection matrix right after it is
	// generated, so peak memory stays near the final size.
	quant func(*compute.Matrix) *compute.Matrix
}

// newRandomSource draws values in dt, or in bf16 and then converts each
// projection matrix to dt when dt is a block-quantized format.
func newRandomSource(seed, stream uint64, dt compute.DType) *randomSource {
	r := &randomSource{rng: rand.New(rand.NewPCG(seed, stream)), dt: dt}
	if dt != compute.F32 && dt != compute.BF16 && dt != compute.F16 {
		r.dt = compute.BF16
		r.quant = func(m *compute.Matrix) *compute.Matrix {
			// As ConvertWeights does: Q8_0 where rows are not whole blocks.
			q, err := compute.Quantize(m, formatFor(dt, m.Cols))
			if err != nil {
				panic(err) // dt was checked by the caller; shapes are ours
			}
			return q
		}
	}
	return r
}

// proj is a projection matrix: converted when the source quantizes.
func (r *randomSource) proj(rows, cols int) *compute.Matrix {
	m := r.matrix(rows, cols)
	if r.quant != nil {
		return r.quant(m)
	}
	return m
}

const randomChunk = 1 << 20

func (r *randomSource) matrix(rows, cols int) *compute.Matrix {
	m := &compute.Matrix{DType: r.dt, Rows: rows, Cols: cols}
	scale := float32(math.Sqrt(3 / float64(cols)))
	n := rows * cols
	if r.dt == compute.F32 {
		m.F32 = make([]float32, n)
	} else {
		m.U16 = make([]uint16, n)
	}
	chunks := (n + randomChunk - 1) / randomChunk
	seeds := make([]uint64, chunks)
	for i := range seeds {
		seeds[i] = r.rng.Uint64()
	}
	var wg sync.WaitGroup
	next := make(chan int, chunks)
	for i := 0; i < chunks; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < min(runtime.GOMAXPROCS(0), chunks); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				g := rand.New(rand.NewPCG(seeds[c], 1))
				lo, hi := c*randomChunk, min((c+1)*randomChunk, n)
				for i := lo; i < hi; i++ {
					v := (2*g.Float32() - 1) * scale
					switch r.dt {
					case compute.F32:
						m.F32[i] = v
					case compute.BF16:
						m.U16[i] = half.F32ToBF16(v)
					default:
						m.U16[i] = half.F32ToF16(v)
					}
				}
			}
		}()
	}
	wg.Wait()
	return m
}

func (r *randomSource) vector(n int, center, spread float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = center + (2*r.rng.Float32()-1)*spread
	}
	return v
}

func (r *randomSource) mlp(hidden, width int, fused bool) MLP {
	if fused {
		return MLP{GateUp: r.proj(2*width, hidden), Down: r.proj(hidden, width)}
	}
	return MLP{Gate: r.proj(width, hidden), Up: r.proj(width, hidden), Down: r.proj(hidden, width)}
}

// RandomWeights builds weights for cfg in memory from a seeded generator,
// with the projection matrices stored as dt (any format; block-quantized
// ones are drawn in bf16 and converted one matrix at a time) and the
// embedding table and routers in bf16 (or dt when it is a float format). With withVision false the vision tower
// is left empty.
func RandomWeights(cfg *Config, dt compute.DType, seed uint64, withVision bool) *Weights {
	r := newRandomSource(seed, 0x676c6d76, dt)
	t := &cfg.Text
	H, D := t.Hidden, t.HeadDim
	w := &Weights{}
	tw := &w.Text
	tw.Embed = r.matrix(t.Vocab, H)
	tw.LMHead = r.proj(t.Vocab, H)
	tw.Norm = r.vector(H, 1, 0.1)
	tw.Layers = make([]TextLayer, t.Layers)
	for l := range tw.Layers {
		L := &tw.Layers[l]
		L.InputNorm, L.PostAttentionNorm = r.vector(H, 1, 0.1), r.vector(H, 1, 0.1)
		if t.SandwichNorms {
			L.PostSelfAttnNorm, L.PostMLPNorm = r.vector(H, 1, 0.1), r.vector(H, 1, 0.1)
		}
		L.Q = Linear{W: r.proj(t.Heads*D, H), B: r.vector(t.Heads*D, 0, 0.1)}
		L.K = Linear{W: r.proj(t.KVHeads*D, H), B: r.vector(t.KVHeads*D, 0, 0.1)}
		L.V = Linear{W: r.proj(t.KVHeads*D, H), B: r.vector(t.KVHeads*D, 0, 0.1)}
		L.O = r.proj(H, t.Heads*D)
		if !t.IsMoELayer(l) {
			m := r.mlp(H, t.Intermediate, t.FusedGateUp)
			L.MLP = &m
			continue
		}
		mc := t.MoE
		moe := &MoE{Router: r.matrix(mc.Experts, H), CorrectionBias: r.vector(mc.Experts, 0, 0.02), Experts: make([]MLP, mc.Experts)}
		for e := range moe.Experts {
			moe.Experts[e] = r.mlp(H, mc.Intermediate, false)
		}
		if mc.Shared > 0 {
			s := r.mlp(H, mc.Intermediate*mc.Shared, false)
			moe.Shared = &s
		}
		L.MoE = moe
	}
	if withVision {
		w.Vision = *RandomVisionWeights(&cfg.Vision, dt, seed+1)
	}
	return w
}

// RandomVisionWeights builds vision-tower weights for cfg in memory.
func RandomVisionWeights(v *VisionConfig, dt compute.DType, seed uint64) *VisionWeights {
	r := newRandomSource(seed, 0x76697369, dt)
	vw := &VisionWeights{}
	C := v.Hidden
	vw.PatchEmbed = Linear{W: r.proj(C, v.PatchDim()), B: r.vector(C, 0, 0.1)}
	vw.PostConvNorm = r.vector(C, 1, 0.1)
	vw.PosTableSide = v.ImageSize / v.PatchSize
	vw.PosEmbed = r.vector(vw.PosTableSide*vw.PosTableSide*C, 0, 0.5)
	vw.Blocks = make([]VisionBlock, v.Depth)
	for i := range vw.Blocks {
		vw.Blocks[i] = VisionBlock{
			Norm1: r.vector(C, 1, 0.1), Norm2: r.vector(C, 1, 0.1),
			QKV: r.proj(3*C, C), Proj: r.proj(C, C), MLP: r.mlp(C, v.OutHidden, false),
		}
	}
	vw.PostNorm = r.vector(C, 1, 0.1)
	m := v.SpatialMerge
	vw.Downsample = Linear{W: r.proj(v.OutHidden, m*m*C), B: r.vector(v.OutHidden, 0, 0.1)}
	vw.MergerProj = r.proj(v.OutHidden, v.OutHidden)
	vw.MergerNormW, vw.MergerNormB = r.vector(v.OutHidden, 1, 0.1), r.vector(v.OutHidden, 0, 0.1)
	vw.MergerMLP = r.mlp(v.OutHidden, v.Intermediate, false)
	return vw
}
