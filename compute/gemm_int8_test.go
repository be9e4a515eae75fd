package compute

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/glmv/glmv/internal/cputime"
)

// q8TileSets lists the kernel sets to run the integer GEMM with: every set
// of this machine that has an intGEMM, and the generic set with the portable
// tile (which MatMul never picks, but which is the reference).
func q8TileSets() []*kernels {
	g := *genericKernels
	g.name = "go+tile"
	g.q8 = &intGEMM{tile: q8TileGeneric, minT: 1}
	sets := []*kernels{&g}
	for _, k := range kernelSets() {
		if k.q8 != nil {
			sets = append(sets, k)
		}
	}
	return sets
}

// Every set's micro-kernel agrees exactly with q8TileGeneric (same integer
// sums, same fused float steps) on random packed panels, and adds to c
// rather than overwriting it.
func TestQ8TileKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, nb := range []int{1, 2, 3, 7, 16} {
		a := make([]byte, nb*qtTokens*qBlock)
		w := make([]byte, nb*qtRows*qBlock)
		for i := range a {
			a[i] = byte(rng.IntN(256))
		}
		for i := range w {
			w[i] = byte(rng.IntN(256))
		}
		off := make([]int32, nb*qtRows)
		for i := range off {
			off[i] = int32(rng.IntN(1<<20)) - 1<<19
		}
		ws, ad := randF32(rng, nb*qtRows), randF32(rng, nb*qtTokens)
		const ldc = qtRows + 5
		c0 := randF32(rng, qtTokens*ldc)
		want := append([]float32(nil), c0...)
		q8TileGeneric(nb, a, ad, w, off, ws, want, ldc)
		for _, k := range q8TileSets() {
			got := append([]float32(nil), c0...)
			k.q8.tile(nb, a, ad, w, off, ws, got, ldc)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s nb=%d: c[%d,%d] = %v want %v", k.name, nb, i/ldc, i%ldc, got[i], want[i])
				}
			}
		}
	}
}

// Every set's packLines packs whole panels exactly as the Go code does.
func TestPackQPanel(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, dt := range []DType{Q8_0, Q4_0, GGMLQ8_0, GGMLQ4_0} {
		for _, cols := range []int{32, 96, 160, 1024, 1408} {
			const rows = 70
			w, err := Quantize(&Matrix{DType: F32, Rows: rows, Cols: cols, F32: randF32(rng, rows*cols)}, dt)
			if err != nil {
				t.Fatal(err)
			}
			nb := w.BlocksPerRow()
			for _, k := range kernelSets() {
				if k.q8 == nil || k.q8.packLines == nil {
					continue
				}
				for n0 := 0; n0 < rows; n0 += 19 {
					for b0 := 0; b0 < nb; b0 += 5 {
						nbk := min(qtKcBlocks, nb-b0)
						if b0 == 0 {
							nbk = nb // as gemmQ packs: all blocks at once
						}
						want, wo, wsc := make([]byte, nbk*qtRows*qBlock), make([]int32, nbk*qtRows), make([]float32, nbk*qtRows)
						packQPanel(genericKernels, w, n0, b0, nbk, want, wo, wsc, nil)
						got, o, sc := make([]byte, len(want)), make([]int32, len(wo)), make([]float32, len(wsc))
						packQPanel(k, w, n0, b0, nbk, got, o, sc, make([]byte, packStageLen(w, nbk)))
						for i := range want {
							if got[i] != want[i] {
								t.Fatalf("%s %v cols=%d n0=%d b0=%d: byte %d = %d want %d", k.name, dt, cols, n0, b0, i, got[i], want[i])
							}
						}
						for i := range wo {
							if o[i] != wo[i] || sc[i] != wsc[i] {
								t.Fatalf("%s %v cols=%d n0=%d b0=%d: offset/scale %d = %d/%v want %d/%v", k.name, dt, cols, n0, b0, i, o[i], sc[i], wo[i], wsc[i])
							}
						}
					}
				}
			}
		}
	}
}

// Every set's packAct packs whole activation panels exactly as
// packActPanel does.
func TestPackAct(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, nb := range []int{1, 3, 17, 128} {
		xq := make([]int8, qtTokens*nb*qBlock)
		for i := range xq {
			xq[i] = int8(rng.IntN(255) - 127)
		}
		want := make([]byte, nb*qtTokens*qBlock)
		packActPanel(want, make([]float32, nb*qtTokens), xq, make([]float32, qtTokens*nb), nb, qtTokens)
		for _, k := range kernelSets() {
			if k.q8 == nil || k.q8.packAct == nil {
				continue
			}
			got := make([]byte, len(want))
			k.q8.packAct(xq, nb*qBlock, nb, got)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s nb=%d: byte %d = %d want %d", k.name, nb, i, got[i], want[i])
				}
			}
		}
	}
}

// unpackQ4 gives the values dequantQ4Generic scales (nibble - 8), and
// sumInt8 their sum.
func TestUnpackQ4(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 50 {
		q := make([]byte, qBlock/2)
		for i := range q {
			q[i] = byte(rng.IntN(256))
		}
		var got [qBlock]byte
		unpackQ4(&got, q)
		want := make([]float32, qBlock)
		dequantQ4Generic(want, q, []uint16{0x3c00}) // scale 1
		var sum int32
		for i, v := range got {
			if float32(int8(v)) != want[i] {
				t.Fatalf("value %d of %x: %d want %v", i, q, int8(v), want[i])
			}
			sum += int32(int8(v))
		}
		if s := sumInt8(got[:]); s != sum {
			t.Fatalf("sumInt8 = %d want %d", s, sum)
		}
	}
}

// The integer GEMM equals the row path of the same kernel set (same 8-bit
// activations, exact integer block sums) up to the order of the float
// additions, over token counts and row counts that are not multiples of
// the tile, and column counts from one block to several packed chunks
// with a partial last block.
func TestGEMMQ(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	shapes := [][2]int{{1, 32}, {31, 33}, {32, 64}, {33, 100}, {70, 544}, {300, 40}, {45, 1000}}
	var worst float64
	for _, sh := range shapes {
		rows, cols := sh[0], sh[1]
		base := &Matrix{DType: F32, Rows: rows, Cols: cols, F32: randF32(rng, rows*cols)}
		for _, dt := range []DType{Q8_0, Q4_0} {
			w, err := Quantize(base, dt)
			if err != nil {
				t.Fatal(err)
			}
			for _, T := range []int{1, 5, 6, 7, 13, 100} {
				x := randF32(rng, T*cols)
				// Scale some tokens so blocks differ in magnitude.
				for i := range x {
					x[i] *= float32(1 + (i/cols)%3*10)
				}
				row := make([]float32, cols)
				mag := make([]float64, T*rows)
				for r := range rows {
					w.Row(r, row)
					for tt := range T {
						for c, v := range row {
							mag[tt*rows+r] += math.Abs(float64(x[tt*cols+c]) * float64(v))
						}
					}
				}
				for _, k := range q8TileSets() {
					rowsK := k
					if k.name == "go+tile" {
						rowsK = genericKernels
					}
					want := make([]float32, T*rows)
					(*Pool)(nil).matVec(rowsK, want, x, T, w)
					for pi, p := range testPools(t) {
						out := make([]float32, T*rows+1)
						out[T*rows] = 42
						p.gemmQ(k, out, x, T, w)
						if out[T*rows] != 42 {
							t.Fatalf("wrote past the end")
						}
						bad := 0
						for i, g := range out[:T*rows] {
							d := math.Abs(float64(g) - float64(want[i]))
							worst = max(worst, d/(mag[i]+1e-30))
							if tol := 4e-6*mag[i] + 1e-6; !(d <= tol) {
								if bad++; bad < 4 {
									t.Errorf("%s %v [%dx%d] T=%d pool#%d: out[%d,%d]=%v want %v (tol %g)",
										k.name, dt, rows, cols, T, pi, i/rows, i%rows, g, want[i], tol)
								}
							}
						}
						// MatMul takes this path from q8.minTokens tokens on.
						if k.q8.minTokens(p.Workers(), dt) <= T && pi == 0 {
							mm := make([]float32, T*rows)
							p.matMul(k, mm, x, T, w)
							for i := range mm {
								if mm[i] != out[i] {
									t.Fatalf("%s %v T=%d: MatMul differs from gemmQ at %d", k.name, dt, T, i)
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("largest |gemmQ - rows| / Σ|x·w|: %.3g", worst)
}

// ggml's Q8_0 and Q4_0 blocks hold the same values and scales as the split
// layouts: the integer GEMM gives exactly the same result on both.
func TestGEMMQGGML(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, sh := range [][2]int{{33, 64}, {70, 544}} {
		rows, cols := sh[0], sh[1]
		base := &Matrix{DType: F32, Rows: rows, Cols: cols, F32: randF32(rng, rows*cols)}
		for _, dt := range []DType{GGMLQ8_0, GGMLQ4_0} {
			w, err := Quantize(base, dt)
			if err != nil {
				t.Fatal(err)
			}
			split, err := SplitGGML(w)
			if err != nil {
				t.Fatal(err)
			}
			const T = 13
			x := randF32(rng, T*cols)
			for _, k := range q8TileSets() {
				want, got := make([]float32, T*rows), make([]float32, T*rows)
				(*Pool)(nil).gemmQ(k, want, x, T, split)
				(*Pool)(nil).gemmQ(k, got, x, T, w)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%s %v [%dx%d]: out[%d] = %v, split layout %v", k.name, dt, rows, cols, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// BenchmarkQ8GEMM compares, on the kernel set in use, the row path and
// the integer GEMM for Q8_0 and Q4_0 weights of the 9B model's shapes.
// Compare by CPU time on a shared machine.
func BenchmarkQ8GEMM(b *testing.B) {
	if kern.q8 == nil {
		b.Skip("no integer GEMM in this kernel set")
	}
	for _, sh := range [][2]int{{4096, 4096}, {13696, 4096}, {4096, 13696}} {
		for _, dt := range []DType{Q8_0, Q4_0} {
			w := benchMatrix(b, dt, sh[0], sh[1])
			for _, T := range []int{8, 16, 32, 64, 512} {
				rng := rand.New(rand.NewPCG(3, 4))
				x := randF32(rng, T*sh[1])
				out := make([]float32, T*sh[0])
				for _, path := range []string{"rows", "gemmq"} {
					b.Run(fmt.Sprintf("%v_%dx%d_T%d_%s", dt, sh[0], sh[1], T, path), func(b *testing.B) {
						p := benchPool(b)
						c0 := cputime.Process()
						for b.Loop() {
							if path == "gemmq" {
								p.gemmQ(kern, out, x, T, w)
							} else {
								p.matVec(kern, out, x, T, w)
							}
						}
						cpu := (cputime.Process() - c0).Seconds()
						b.ReportMetric(cpu*1e3/float64(b.N), "cpu-ms/op")
						b.ReportMetric(float64(T*sh[0]*sh[1])*float64(b.N)/cpu/1e9, "GMAC/cpu-s")
					})
				}
			}
		}
	}
}

// BenchmarkQ8TileMicroKernel runs the kernel set's q8.tile on one core
// over panels that stay in L1: the compute ceiling of the integer GEMM.
func BenchmarkQ8TileMicroKernel(b *testing.B) {
	if kern.q8 == nil {
		b.Skip("no integer GEMM in this kernel set")
	}
	const nb = qtKcBlocks
	a, w := make([]byte, nb*qtTokens*qBlock), make([]byte, nb*qtRows*qBlock)
	ad, off, ws := make([]float32, nb*qtTokens), make([]int32, nb*qtRows), make([]float32, nb*qtRows)
	c := make([]float32, qtTokens*qtRows)
	c0 := cputime.Process()
	for b.Loop() {
		for range 100 {
			kern.q8.tile(nb, a, ad, w, off, ws, c, qtRows)
		}
	}
	b.ReportMetric(100*qtTokens*qtRows*nb*qBlock*float64(b.N)/(cputime.Process()-c0).Seconds()/1e9, "GMAC/cpu-s")
}

// BenchmarkPackQPanel packs one chunk of 32 weight rows with the kernel set
// in use, from rows of cols columns (short rows stay in cache).
func BenchmarkPackQPanel(b *testing.B) {
	for _, cols := range []int{512, 4096} {
		for _, dt := range []DType{Q8_0, Q4_0} {
			w := benchMatrix(b, dt, 64, cols)
			dst, off, ws := make([]byte, qtKcBlocks*qtRows*qBlock), make([]int32, qtKcBlocks*qtRows), make([]float32, qtKcBlocks*qtRows)
			stage := make([]byte, packStageLen(w, qtKcBlocks))
			b.Run(fmt.Sprintf("%v_cols%d", dt, cols), func(b *testing.B) {
				for b.Loop() {
					for b0 := 0; b0 < cols/qBlock; b0 += qtKcBlocks {
						packQPanel(kern, w, 0, b0, qtKcBlocks, dst, off, ws, stage)
					}
				}
				b.ReportMetric(float64(32*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gweights/s")
			})
		}
	}
}

// BenchmarkQ8GEMMGGML compares, for ggml's Q8_0 and Q4_0 layouts, the
// paths MatMul had before the integer GEMM (the f32 GEMM on dequantized
// panels, the row kernels) with it, by CPU time.
func BenchmarkQ8GEMMGGML(b *testing.B) {
	if kern.q8 == nil {
		b.Skip("no integer GEMM in this kernel set")
	}
	const rows, cols = 4096, 4096
	for _, dt := range []DType{GGMLQ8_0, GGMLQ4_0} {
		w := benchMatrix(b, dt, rows, cols)
		for _, T := range []int{32, 64, 128, 512} {
			x := randF32(rand.New(rand.NewPCG(3, 4)), T*cols)
			out := make([]float32, T*rows)
			for _, path := range []string{"f32gemm", "rows", "gemmq"} {
				b.Run(fmt.Sprintf("%v_T%d_%s", dt, T, path), func(b *testing.B) {
					p := benchPool(b)
					c0 := cputime.Process()
					for b.Loop() {
						switch path {
						case "f32gemm":
							p.gemm(kern, out, x, T, w)
						case "rows":
							p.matVecBlocks(kern, out, x, T, w)
						default:
							p.gemmQ(kern, out, x, T, w)
						}
					}
					b.ReportMetric((cputime.Process()-c0).Seconds()*1e3/float64(b.N), "cpu-ms/op")
				})
			}
		}
	}
}
