package compute

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/glmv/glmv/internal/cputime"

	"github.com/glmv/glmv/internal/half"
)

// bf16Sets returns, for every kernel set the machine has, the set as it
// is when it has the bf16 GEMM, or a copy with the Go micro-kernel
// otherwise, so the packing and blocking are tested on every machine.
func bf16Sets() []*kernels {
	var out []*kernels
	for _, k := range kernelSets() {
		if k.gemmBF16 == nil {
			c := *k
			c.name += "+gobf16"
			c.gemmBF16 = gemmBF16Generic
			k = &c
		}
		out = append(out, k)
	}
	return out
}

// roundedRow is row r of w as the bf16 GEMM sees it: each value rounded
// to bfloat16 (bf16 weights exactly as stored).
func roundedRow(w *Matrix, r int) []float64 {
	row := make([]float32, w.Cols)
	w.Row(r, row)
	out := make([]float64, w.Cols)
	for c, v := range row {
		out[c] = float64(half.BF16ToF32(half.F32ToBF16(v)))
	}
	return out
}

// refBF16MatMul is Σ_c bf16(x[t,c])·bf16(W[r,c]) in float64, with the sum
// of |products| for the tolerance.
func refBF16MatMul(x []float32, T int, w *Matrix) (out, mag []float64) {
	out, mag = make([]float64, T*w.Rows), make([]float64, T*w.Rows)
	for r := range w.Rows {
		row := roundedRow(w, r)
		for t := range T {
			var s, m float64
			for c, v := range row {
				p := float64(half.BF16ToF32(half.F32ToBF16(x[t*w.Cols+c]))) * v
				s += p
				m += math.Abs(p)
			}
			out[t*w.Rows+r], mag[t*w.Rows+r] = s, m
		}
	}
	return out, mag
}

// bf16MatMulTol is the error allowed for out[t, r] of a bf16 product
// against the exact f32 one: the rounding of x and w to bfloat16 (each at
// most 2⁻⁹ relative, so 2⁻⁸ on a product) and f32 summation.
func bf16MatMulTol(x []float32, t, r int, w *Matrix) float64 {
	row := make([]float32, w.Cols)
	w.Row(r, row)
	var mag float64
	for c, v := range row {
		mag += math.Abs(float64(x[t*w.Cols+c]) * float64(v))
	}
	return mag*(1.01/256+2e-6) + 1e-6
}

// The micro-kernels of every set against the exact sum, for short and odd
// depths, with the tokens' pairs packed (rs 1, ps bfTokens) or in rows
// (ps 1), on a tile inside a wider c.
func TestGEMMBF16Tile(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	const ldc = bfRows + 9
	for _, kp := range []int{1, 2, 3, 7, 8, 128, 129} {
		for _, lay := range [][2]int{{1, bfTokens}, {kp + 3, 1}, {kp, 1}} {
			rs, ps := lay[0], lay[1]
			a, b := make([]uint32, (bfTokens-1)*rs+(kp-1)*ps+1), make([]uint32, kp*bfRows)
			for i := range a {
				a[i] = bf16Pair(rng.Float32()*2-1, rng.Float32()*2-1)
			}
			for i := range b {
				b[i] = bf16Pair(rng.Float32()*2-1, rng.Float32()*2-1)
			}
			c0 := randF32(rng, (bfTokens-1)*ldc+bfRows)
			for _, k := range bf16Sets() {
				add := kp%2 == 1 // odd depths add to c, even ones set it
				c := append([]float32(nil), c0...)
				k.gemmBF16(kp, a, rs, ps, b, c, ldc, add)
				for i := range bfTokens {
					for j := range bfRows {
						want, mag := 0.0, 0.0
						if add {
							want, mag = float64(c0[i*ldc+j]), math.Abs(float64(c0[i*ldc+j]))
						}
						for p := range kp {
							av, bv := a[i*rs+p*ps], b[p*bfRows+j]
							for h := 0; h < 32; h += 16 {
								pr := float64(half.BF16ToF32(uint16(av>>h))) * float64(half.BF16ToF32(uint16(bv>>h)))
								want += pr
								mag += math.Abs(pr)
							}
						}
						if d := math.Abs(float64(c[i*ldc+j]) - want); d > 2e-6*mag+1e-7 {
							t.Fatalf("%s kp=%d rs=%d ps=%d c[%d,%d]=%v want %v (mag %g)", k.name, kp, rs, ps, i, j, c[i*ldc+j], want, mag)
						}
					}
				}
				// Only the tile is written.
				for i := range bfTokens {
					for j := bfRows; j < ldc && i*ldc+j < len(c); j++ {
						if c[i*ldc+j] != c0[i*ldc+j] {
							t.Fatalf("%s kp=%d wrote c[%d,%d] outside the tile", k.name, kp, i, j)
						}
					}
				}
			}
		}
	}
}

// PackPanelBF16 lays out rows and column pairs as documented, rounding
// f32 and f16 to nearest even and zero-filling past the ends.
func TestPackPanelBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	base := &Matrix{DType: F32, Rows: 19, Cols: 37, F32: randF32(rng, 19*37)}
	base.F32[5] = 1 + 1.0/256 // a tie: rounds to even (1)
	base.F32[6] = 1 + 3.0/256 // a tie: rounds up
	for _, dt := range []DType{F32, BF16, F16} {
		w, err := Quantize(base, dt)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ n0, k0, kc, width int }{{0, 0, 37, 16}, {16, 0, 36, 16}, {3, 5, 31, 32}, {0, 36, 1, 32}} {
			kp := (c.kc + 1) / 2
			dst := make([]uint32, kp*c.width)
			for i := range dst {
				dst[i] = 0xdeadbeef
			}
			PackPanelBF16(dst, w, c.n0, c.k0, c.kc, c.width)
			for j := range c.width {
				var row []float64
				if c.n0+j < w.Rows {
					row = roundedRow(w, c.n0+j)
				}
				for p := range kp {
					for h := range 2 {
						col := c.k0 + 2*p + h
						want := 0.0
						if row != nil && 2*p+h < c.kc {
							want = row[col]
						}
						got := float64(half.BF16ToF32(uint16(dst[p*c.width+j] >> (16 * h))))
						if got != want {
							t.Fatalf("%v %+v: row %d col %d = %v want %v", dt, c, j, col, got, want)
						}
					}
				}
			}
		}
	}
	if got := half.BF16ToF32(half.F32ToBF16(base.F32[5])); got != 1 {
		t.Fatalf("tie rounded to %v, want 1", got)
	}
}

// The bf16 GEMM (every set, serial and pooled) against the exact product
// of the rounded operands, for odd shapes and every float weight type; and
// MatMul takes it exactly where the precision says.
func TestMatMulBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	shapes := [][2]int{{1, 1}, {7, 31}, {33, 33}, {45, 257}, {64, 300}, {3, 513}}
	for _, sh := range shapes {
		rows, cols := sh[0], sh[1]
		base := &Matrix{DType: F32, Rows: rows, Cols: cols, F32: randF32(rng, rows*cols)}
		for _, dt := range []DType{F32, BF16, F16} {
			w, err := Quantize(base, dt)
			if err != nil {
				t.Fatal(err)
			}
			for _, T := range []int{1, 13, 14, 15, 33, 230} {
				x := randF32(rng, T*cols)
				want, mag := refBF16MatMul(x, T, w)
				for _, k := range bf16Sets() {
					for pi, p := range testPools(t) {
						out := make([]float32, T*rows+1)
						for i := range out {
							out[i] = float32(math.NaN()) // every output is set
						}
						out[T*rows] = 42
						p.gemmBF16(k, out, x, T, w)
						if out[T*rows] != 42 {
							t.Fatalf("wrote past the end")
						}
						for i, g := range out[:T*rows] {
							if d := math.Abs(float64(g) - want[i]); !(d <= 4e-6*mag[i]+1e-6) {
								t.Fatalf("%s %v [%dx%d] T=%d pool#%d: out[%d,%d]=%v want %v", k.name, dt, rows, cols, T, pi, i/rows, i%rows, g, want[i])
							}
						}
					}
				}
			}
		}
	}
}

// Which path MatMul takes under each precision: the result equals the
// bf16 GEMM's bit for bit, or the f32 path's.
func TestMatMulPrecision(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 1))
	const rows, cols = 40, 70
	base := &Matrix{DType: F32, Rows: rows, Cols: cols, F32: randF32(rng, rows*cols)}
	p := NewPool(2)
	defer p.Close()
	for _, k := range bf16Sets() {
		if k.tileMatMul != nil {
			// The AMX tiles (one bf16 part, summed in another order)
			// replace the bf16 GEMM; TestAMXMatMulHook checks them.
			// This test is about the choice of the GEMM.
			c := *k
			c.tileMatMul = nil
			k = &c
		}
		for _, dt := range []DType{F32, BF16, F16, Q8_0} {
			w, err := Quantize(base, dt)
			if err != nil {
				t.Fatal(err)
			}
			for _, T := range []int{bf16MinT - 1, bf16MinT, 100} {
				x := randF32(rng, T*cols)
				bf := make([]float32, T*rows)
				if dt != Q8_0 {
					p.gemmBF16(k, bf, x, T, w)
				}
				for _, pr := range []Precision{PrecisionAuto, PrecisionF32, PrecisionBF16} {
					p.SetPrecision(pr)
					wantBF16 := T >= bf16MinT && (pr == PrecisionAuto && (dt == BF16 || dt == F16) || pr == PrecisionBF16 && dt != Q8_0)
					if got := p.useBF16(k, dt, T); got != wantBF16 {
						t.Fatalf("%s %v T=%d %v: useBF16 = %v", k.name, dt, T, pr, got)
					}
					out := make([]float32, T*rows)
					p.matMul(k, out, x, T, w)
					same := true
					for i := range out {
						same = same && out[i] == bf[i]
					}
					if same != wantBF16 {
						t.Fatalf("%s %v T=%d %v: result equals the bf16 GEMM's: %v, want %v", k.name, dt, T, pr, same, wantBF16)
					}
				}
			}
		}
	}
	p.SetPrecision(PrecisionAuto)
}

func TestParsePrecision(t *testing.T) {
	for _, s := range []string{"", "auto", "F32", "bf16"} {
		pr, err := ParsePrecision(s)
		if err != nil {
			t.Fatal(err)
		}
		if s != "" && pr.String() != map[string]string{"auto": "auto", "F32": "f32", "bf16": "bf16"}[s] {
			t.Fatalf("%q -> %v", s, pr)
		}
	}
	if _, err := ParsePrecision("fp8"); err == nil {
		t.Fatal("fp8 accepted")
	}
	t.Logf("auto: %s", PrecisionNote(PrecisionAuto))
}

// BenchmarkGEMMBF16Micro runs the bf16 micro-kernel on one core over
// packed panels that stay in L1/L2, as BenchmarkGEMMMicroKernel does for
// the f32 one: the compute ceiling of the bf16 GEMM.
func BenchmarkGEMMBF16Micro(b *testing.B) {
	if kern.gemmBF16 == nil {
		b.Skip("no bf16 GEMM in the " + kern.name + " kernels")
	}
	const kp, panels = bfKC / 2, 16
	a := make([]uint32, kp*bfTokens)
	bp := make([]uint32, panels*kp*bfRows)
	for i := range a {
		a[i] = 0x3f803f80
	}
	for i := range bp {
		bp[i] = 0x3f003f00
	}
	c := make([]float32, bfTokens*bfRows)
	c0 := cputime.Process()
	for b.Loop() {
		for i := range panels {
			kern.gemmBF16(kp, a, 1, bfTokens, bp[i*kp*bfRows:(i+1)*kp*bfRows], c, bfRows, true)
		}
	}
	flop := 2 * bfTokens * bfRows * 2 * kp * panels * float64(b.N)
	b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if c := cputime.Process() - c0; c > 0 {
		b.ReportMetric(flop/c.Seconds()/1e9, "cpu-GFLOP/s")
	}
}

// BenchmarkGEMMBF16 compares the f32 GEMM (bf16 weights widened per panel)
// with the bf16 one at the 9B prefill shape and the vision tower's (3996
// patches of a 1024×768 image: QKV, the MLP's gate/up and its down), and
// the row kernels at small T, on every core; cpu-GFLOP/s divides by the
// process's CPU time (per core, robust to a shared machine).
func BenchmarkGEMMBF16(b *testing.B) {
	if kern.gemmBF16 == nil {
		b.Skip("no bf16 GEMM in the " + kern.name + " kernels")
	}
	for _, sh := range [][3]int{{512, 4096, 4096}, {3996, 4608, 1536}, {3996, 4096, 1536}, {3996, 1536, 4096}, {64, 4096, 4096}, {32, 4096, 4096}, {16, 4096, 4096}} {
		T, rows, cols := sh[0], sh[1], sh[2]
		w := benchMatrix(b, BF16, rows, cols)
		rng := rand.New(rand.NewPCG(3, 4))
		x := randF32(rng, T*cols)
		out := make([]float32, T*rows)
		for _, path := range []string{"f32", "bf16", "rows"} {
			if path == "rows" && T > 64 {
				continue
			}
			b.Run(fmt.Sprintf("%dx%dx%d_%s", T, rows, cols, path), func(b *testing.B) {
				p := benchPool(b)
				c0 := cputime.Process()
				for b.Loop() {
					switch path {
					case "f32":
						p.gemm(kern, out, x, T, w)
					case "bf16":
						p.gemmBF16(kern, out, x, T, w)
					default:
						p.matVec(kern, out, x, T, w)
					}
				}
				flop := 2 * float64(T*rows*cols) * float64(b.N)
				b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				if c := cputime.Process() - c0; c > 0 {
					b.ReportMetric(flop/c.Seconds()/1e9, "cpu-GFLOP/s")
				}
			})
		}
	}
}

// Every set's rounding to bfloat16 matches half.F32ToBF16 bit for bit,
// including ties, denormals, infinities and NaN, at every length.
func TestRoundBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	special := []uint32{0, 0x80000000, 1, 0x8000ffff, 0x00008000, 0x00018000, 0x3f808000, 0x3f818000,
		0x7f7fffff, 0xff7f8000, 0x7f800000, 0xff800000, 0x7f800001, 0xffc00000, 0x7fffffff, 0x007fffff}
	for _, n := range []int{0, 1, 15, 16, 17, 33, 100, 1000} {
		src := make([]float32, n)
		for i := range src {
			if i < len(special) && n >= 16 {
				src[i] = math.Float32frombits(special[i])
			} else {
				src[i] = math.Float32frombits(rng.Uint32())
			}
		}
		for _, k := range bf16Sets() {
			if k.roundBF16 == nil {
				k = &kernels{name: k.name + "+goround", roundBF16: roundBF16Generic}
			}
			np := (n + 1) / 2
			dst := make([]uint32, np+1)
			for i := range dst {
				dst[i] = 0xabcdabcd
			}
			k.roundBF16(dst[:np], src)
			if dst[np] != 0xabcdabcd {
				t.Fatalf("%s wrote past the end", k.name)
			}
			for i := range 2 * np {
				want := uint16(0) // the odd end's high half
				if i < n {
					want = half.F32ToBF16(src[i])
				}
				if got := uint16(dst[i/2] >> (16 * (i % 2))); got != want {
					t.Fatalf("%s n=%d: value %d -> %#04x want %#04x", k.name, n, i, got, want)
				}
			}
		}
	}
}

// refAttentionBF16 is attention in float64 on q·scale, k and v rounded to
// bfloat16, as attentionTiledBF16 sees them (its probabilities are also
// rounded, which the tolerance allows for).
func refAttentionBF16(q, k, v []float32, T, nKeys int, s AttnShape, causal bool, past int) []float64 {
	r := func(x float32) float64 { return float64(half.BF16ToF32(half.F32ToBF16(x))) }
	D, group := s.HeadDim, s.Heads/s.KVHeads
	out := make([]float64, T*s.Heads*D)
	sc := make([]float64, nKeys)
	for t := range T {
		for h := range s.Heads {
			kvh := h / group
			n := nKeys
			if causal {
				n = min(nKeys, past+t+1)
			}
			mx := math.Inf(-1)
			for j := range n {
				var d float64
				for i := range D {
					d += r(q[(t*s.Heads+h)*D+i]*s.Scale) * r(k[(j*s.KVHeads+kvh)*D+i])
				}
				sc[j] = d
				mx = max(mx, d)
			}
			var l float64
			for j := range n {
				sc[j] = math.Exp(sc[j] - mx)
				l += sc[j]
			}
			for j := range n {
				for i := range D {
					out[(t*s.Heads+h)*D+i] += sc[j] / l * r(v[(j*s.KVHeads+kvh)*D+i])
				}
			}
		}
	}
	return out
}

// AttentionBF16 against the rounded-input reference (the probabilities'
// rounding, 2⁻⁹ relative, bounds the difference by about 2⁻⁹·max|v|), on
// every set, with grouped heads, causal masks and partial key blocks; and
// it falls back to the f32 Attention where it does not apply.
func TestAttentionBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 5))
	for _, s := range []AttnShape{{4, 2, 32, 0.2}, {2, 1, 128, 0.09}, {3, 3, 64, 0.125}, {2, 2, 40, 0.15}} {
		for _, c := range []struct {
			T, nKeys, past int
			causal         bool
		}{{150, 150, 0, false}, {99, 301, 202, true}, {130, 131, 0, true}, {5, 40, 0, false}} {
			q := randF32(rng, c.T*s.Heads*s.HeadDim)
			k := randF32(rng, c.nKeys*s.KVHeads*s.HeadDim)
			v := randF32(rng, c.nKeys*s.KVHeads*s.HeadDim)
			for i := range q {
				q[i] *= 4
			}
			want := refAttentionBF16(q, k, v, c.T, c.nKeys, s, c.causal, c.past)
			exact := refAttention(q, k, v, c.T, c.nKeys, s, c.causal, c.past)
			for _, kn := range bf16Sets() {
				for pi, p := range testPools(t) {
					out := make([]float32, len(q))
					p.attentionBF16(kn, out, q, k, v, c.T, c.nKeys, s, c.causal, c.past)
					viaBF16 := s.HeadDim%bfRows == 0 && c.T > tiledTokens(s)
					for i, g := range out {
						ref, tol := want[i], 4e-3
						if !viaBF16 {
							ref, tol = exact[i], 2e-6
						}
						if d := math.Abs(float64(g) - ref); !(d <= tol) {
							t.Fatalf("%s %+v %+v pool#%d (bf16 %v): out[%d]=%v want %v", kn.name, s, c, pi, viaBF16, i, g, ref)
						}
					}
				}
			}
		}
	}
}

// AttentionKVBF16 reads the keys and values from F32, F16 and Q8_0 KV
// caches: each format against the rounded-input reference computed from
// the values it stores, with a prompt after cached keys (past > 0), as the
// text model's prefill calls it.
func TestAttentionKVBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 6))
	s := AttnShape{Heads: 8, KVHeads: 2, HeadDim: 64, Scale: 0.125}
	kvW := s.KVHeads * s.HeadDim
	for _, c := range []struct{ T, past int }{{140, 0}, {97, 203}} {
		nKeys := c.past + c.T
		q := randF32(rng, c.T*s.Heads*s.HeadDim)
		k := randF32(rng, nKeys*kvW)
		v := randF32(rng, nKeys*kvW)
		for i := range q {
			q[i] *= 4
		}
		for _, dt := range []DType{F32, F16, Q8_0} {
			km, err := NewKVMatrix(dt, nKeys, kvW)
			if err != nil {
				t.Fatal(err)
			}
			vm, _ := NewKVMatrix(dt, nKeys, kvW)
			km.SetRows(0, k)
			vm.SetRows(0, v)
			kr, vr := make([]float32, len(k)), make([]float32, len(v))
			for j := range nKeys {
				km.Row(j, kr[j*kvW:])
				vm.Row(j, vr[j*kvW:])
			}
			want := refAttentionBF16(q, kr, vr, c.T, nKeys, s, true, c.past)
			for _, kn := range bf16Sets() {
				p := testPools(t)[1]
				out := make([]float32, len(q))
				p.attentionKVBF16(kn, out, q, km, vm, c.T, nKeys, s, true, c.past)
				for i, g := range out {
					if d := math.Abs(float64(g) - want[i]); !(d <= 4e-3) {
						t.Fatalf("%s %v %+v: out[%d]=%v want %v", kn.name, dt, c, i, g, want[i])
					}
				}
			}
		}
	}
}

// rowMax, where a set has it, is the plain maximum.
func TestRowMax(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	for _, k := range kernelSets() {
		if k.rowMax == nil {
			continue
		}
		for n := range 70 {
			x := randF32(rng, n)
			for _, m0 := range []float32{float32(math.Inf(-1)), 0.5} {
				want := m0
				for _, v := range x {
					want = max(want, v)
				}
				if got := k.rowMax(x, m0); got != want {
					t.Fatalf("%s n=%d m=%v: %v want %v", k.name, n, m0, got, want)
				}
			}
		}
	}
}

// ParsePrecision accepts exactly the three names (any case) and ""; every
// accepted value prints as a name it accepts again.
func FuzzParsePrecision(f *testing.F) {
	for _, s := range []string{"", "auto", "f32", "BF16", "fp16", "bf16 ", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pr, err := ParsePrecision(s)
		if err != nil {
			if pr != 0 {
				t.Fatalf("%q: error %v with precision %v", s, err, pr)
			}
			return
		}
		again, err := ParsePrecision(pr.String())
		if err != nil || again != pr {
			t.Fatalf("%q -> %v -> %v, %v", s, pr, again, err)
		}
		switch strings.ToLower(s) {
		case "", "auto", "f32", "bf16":
		default:
			t.Fatalf("%q accepted as %v", s, pr)
		}
	})
}
