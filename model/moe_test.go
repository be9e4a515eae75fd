package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/glmv/glmv/compute"
	"github.com/glmv/glmv/internal/reftest"
)

// routeSorted is the routing of spec §6.4 written plainly, with stable
// sorts: the reference the allocation-free route is checked against.
func routeSorted(logits, bias []float32, mc *MoEConfig, K int) []int {
	E := len(logits)
	sel := make([]float32, E)
	for e, x := range logits {
		sel[e] = compute.Sigmoid(x) + bias[e]
	}
	if mc.NGroup > 1 {
		per := E / mc.NGroup
		type gs struct {
			g int
			s float32
		}
		groups := make([]gs, mc.NGroup)
		for g := range groups {
			v := slices.Clone(sel[g*per : (g+1)*per])
			slices.SortFunc(v, func(a, b float32) int {
				switch {
				case a > b:
					return -1
				case a < b:
					return 1
				}
				return 0
			})
			s := v[0]
			if per > 1 {
				s += v[1]
			}
			groups[g] = gs{g, s}
		}
		sort.SliceStable(groups, func(i, j int) bool { return groups[i].s > groups[j].s })
		for _, g := range groups[mc.TopKGroup:] {
			clear(sel[g.g*per : (g.g+1)*per])
		}
	}
	order := make([]int, E)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return sel[order[i]] > sel[order[j]] })
	idx := slices.Clone(order[:K])
	sort.Ints(idx)
	return idx
}

// moeCase is a small random MoE block.
type moeCase struct {
	cfg  TextConfig
	p    *MoE
	x    []float32
	T    int
	desc string
}

// randomMoECase draws a MoE block and T input rows. Some experts share a
// router row (equal logits: top-k ties, broken by the expert id), and with
// few tokens many experts get none.
func randomMoECase(rng *rand.Rand, dt compute.DType) moeCase {
	H := 32 * (1 + rng.IntN(3))
	I := 16 * (1 + rng.IntN(3))
	if dt == compute.F32 {
		H, I = 8+rng.IntN(40), 4+rng.IntN(40)
	}
	ng := []int{1, 1, 2, 4}[rng.IntN(4)]
	E := ng * (1 + rng.IntN(24/ng))
	if E < 2 {
		E = 2
	}
	K := 1 + rng.IntN(min(E, 6))
	tkg := 1 + rng.IntN(ng)
	if tkg*(E/ng) < K {
		tkg = ng
	}
	shared := rng.IntN(3)
	T := []int{1, 1, 2, 3, 5, 7, 17, 33, 65, 129}[rng.IntN(10)]
	cfg := TextConfig{Hidden: H, MoE: &MoEConfig{Experts: E, TopK: K, Shared: shared, Intermediate: I,
		NGroup: ng, TopKGroup: tkg, NormTopKProb: rng.IntN(2) == 0, RoutedScaling: 0.5 + 2*rng.Float32()}}
	f32 := func(rows, cols int) *compute.Matrix {
		m := &compute.Matrix{DType: compute.F32, Rows: rows, Cols: cols, F32: make([]float32, rows*cols)}
		s := float32(1 / math.Sqrt(float64(cols)))
		for i := range m.F32 {
			m.F32[i] = (2*rng.Float32() - 1) * s
		}
		return m
	}
	mat := func(rows, cols int) *compute.Matrix {
		m := f32(rows, cols)
		if dt != compute.F32 {
			q, err := compute.Quantize(m, dt)
			if err != nil {
				panic(err)
			}
			return q
		}
		return m
	}
	mlp := func(width int) MLP {
		if rng.IntN(4) == 0 {
			return MLP{GateUp: mat(2*width, H), Down: mat(H, width)}
		}
		return MLP{Gate: mat(width, H), Up: mat(width, H), Down: mat(H, width)}
	}
	// The router stays f32 (it is copied below to make ties).
	p := &MoE{Router: f32(E, H), CorrectionBias: make([]float32, E), Experts: make([]MLP, E)}
	for e := range E {
		p.CorrectionBias[e] = (2*rng.Float32() - 1) * 0.05
		p.Experts[e] = mlp(I)
	}
	// Ties: a few experts copy another's router row and bias.
	for range rng.IntN(E / 2) {
		a, b := rng.IntN(E), rng.IntN(E)
		copy(p.Router.F32[a*H:(a+1)*H], p.Router.F32[b*H:(b+1)*H])
		p.CorrectionBias[a] = p.CorrectionBias[b]
	}
	if shared > 0 {
		s := mlp(I * shared)
		p.Shared = &s
	}
	x := make([]float32, T*H)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	desc := fmt.Sprintf("%v H=%d I=%d E=%d K=%d groups=%d/%d shared=%d T=%d", dt, H, I, E, K, tkg, ng, shared, T)
	return moeCase{cfg: cfg, p: p, x: x, T: T, desc: desc}
}

// moePerToken is the MoE block computed the plain way: each token on its
// own, each chosen expert's MLP as one-row products, the weighted outputs
// summed in the token's expert order, then the shared expert's output.
func moePerToken(c moeCase) (out []float32, idx []int) {
	mc, H, K := c.cfg.MoE, c.cfg.Hidden, c.cfg.MoE.TopK
	var pool *compute.Pool
	out = make([]float32, c.T*H)
	mlp := func(p *MLP, x []float32) []float32 {
		I := p.Width()
		g, u := make([]float32, I), make([]float32, I)
		if p.GateUp != nil {
			gu := make([]float32, 2*I)
			pool.MatMul(gu, x, 1, p.GateUp)
			copy(g, gu[:I])
			copy(u, gu[I:])
		} else {
			pool.MatMul(g, x, 1, p.Gate)
			pool.MatMul(u, x, 1, p.Up)
		}
		for i := range g {
			g[i] = g[i] / (1 + float32(math.Exp(-float64(g[i])))) * u[i]
		}
		y := make([]float32, H)
		pool.MatMul(y, g, 1, p.Down)
		return y
	}
	logits := make([]float32, mc.Experts)
	for t := range c.T {
		x := c.x[t*H : (t+1)*H]
		pool.MatMul(logits, x, 1, c.p.Router)
		ti := routeSorted(logits, c.p.CorrectionBias, mc, K)
		scores := make([]float32, mc.Experts)
		for e, v := range logits {
			scores[e] = compute.Sigmoid(v)
		}
		wts := make([]float32, K)
		expertWeights(ti, wts, scores, mc)
		idx = append(idx, ti...)
		o := out[t*H : (t+1)*H]
		for k, e := range ti {
			for i, v := range mlp(&c.p.Experts[e], x) {
				o[i] += wts[k] * v
			}
		}
		if c.p.Shared != nil {
			for i, v := range mlp(c.p.Shared, x) {
				o[i] += v
			}
		}
	}
	return out, idx
}

// The grouped, parallel MoE block (either path, any number of workers)
// equals the plain per-token computation within f32 tolerance, and picks
// the same experts, on random small blocks: odd token counts, experts with
// no tokens, tied router scores, group-limited routing, fused and separate
// gate/up, with and without shared experts, f32 and quantized weights.
func TestMoEMatchesPerToken(t *testing.T) {
	seeds := 60
	if testing.Short() {
		seeds = 15
	}
	pools := map[int]*compute.Pool{1: compute.NewPool(1), 2: compute.NewPool(2), 3: compute.NewPool(3)}
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		dt := []compute.DType{compute.F32, compute.F32, compute.Q8_0, compute.Q4_0}[seed%4]
		c := randomMoECase(rng, dt)
		want, wantIdx := moePerToken(c)
		// Quantized experts: the grouped products quantize the same
		// activation rows as the one-row ones, so only the order of float
		// sums differs.
		tolerance := 1e-5
		for _, workers := range []int{1, 2, 3} {
			for _, path := range []moePath{moePathAuto, moePathExperts, moePathRows} {
				m := &Text{Cfg: &c.cfg, Pool: pools[workers], moePath: path}
				out := make([]float32, c.T*c.cfg.Hidden)
				var tr *Trace
				for range 2 { // the second call reuses the work space
					tr = &Trace{Record: true}
					m.moe(out, c.x, c.T, c.p, tr)
				}
				name := fmt.Sprintf("seed %d (%s), %d workers, path %d", seed, c.desc, workers, path)
				if !slices.Equal(tr.RouterIndices[0], wantIdx) {
					t.Fatalf("%s: experts %v, want %v", name, tr.RouterIndices[0], wantIdx)
				}
				if d, at := maxScaledDiff(out, want); d > tolerance {
					t.Fatalf("%s: max |diff| %g at %d (got %g, want %g)", name, d, at, out[at], want[at])
				}
			}
		}
	}
}

// maxScaledDiff returns the largest |got-want| / max(1, |want|) and where
// (NaN counts as infinite).
func maxScaledDiff(got, want []float32) (float64, int) {
	worst, at := 0.0, 0
	for i, w := range want {
		d := math.Abs(float64(got[i])-float64(w)) / max(1, math.Abs(float64(w)))
		if math.IsNaN(d) {
			return math.Inf(1), i
		}
		if d > worst {
			worst, at = d, i
		}
	}
	return worst, at
}

// A pass longer than moeChunkTokens runs in chunks with the same result
// and a trace covering every token.
func TestMoEChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	c := randomMoECase(rng, compute.F32)
	c.T = moeChunkTokens + 3
	H := c.cfg.Hidden
	c.x = make([]float32, c.T*H)
	for i := range c.x {
		c.x[i] = float32(rng.NormFloat64())
	}
	want, wantIdx := moePerToken(c)
	pool := compute.NewPool(2)
	defer pool.Close()
	m := &Text{Cfg: &c.cfg, Pool: pool}
	out := make([]float32, c.T*H)
	tr := &Trace{Record: true}
	m.moe(out, c.x, c.T, c.p, tr)
	if !slices.Equal(tr.RouterIndices[0], wantIdx) {
		t.Fatalf("%s: experts differ", c.desc)
	}
	E, K := c.cfg.MoE.Experts, c.cfg.MoE.TopK
	if len(tr.RouterLogits[0]) != c.T*E || len(tr.RouterWeights[0]) != c.T*K {
		t.Fatalf("trace has %d logits and %d weights for %d tokens", len(tr.RouterLogits[0]), len(tr.RouterWeights[0]), c.T)
	}
	if d, at := maxScaledDiff(out, want); d > 1e-5 {
		t.Fatalf("%s: max |diff| %g at %d", c.desc, d, at)
	}
}

// The reference MoE cases pass on each path of the block.
func TestReferenceMoEPaths(t *testing.T) {
	load := referenceModels(t)
	for _, path := range []moePath{moePathExperts, moePathRows} {
		t.Run(fmt.Sprintf("path%d", path), func(t *testing.T) {
			reftest.Run(t, func(t *testing.T, c *reftest.Case) {
				m := load(t, c)
				if m.Config.Text.MoE == nil {
					t.Skip("dense model")
				}
				m.Text.moePath = path
				defer func() { m.Text.moePath = moePathAuto }()
				runReferenceCase(t, m, c)
			})
		})
	}
}
