package compute

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// q8TileSets lists the kernel sets to run the integer GEMM with: every set
// of this machine that has a q8Tile, and the generic set with the portable
// tile (which MatMul never picks, but which is the reference).
func q8TileSets() []*kernels {
	g := *genericKernels
	g.name = "go+tile"
	g.q8Tile, g.q8TileMinT = q8TileGeneric, 1
	sets := []*kernels{&g}
	for _, k := range kernelSets() {
		if k.q8Tile != nil {
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
			k.q8Tile(nb, a, ad, w, off, ws, got, ldc)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s nb=%d: c[%d,%d] = %v want %v", k.name, nb, i/ldc, i%ldc, got[i], want[i])
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
						// MatMul takes this path from q8TileMinT tokens on.
						if k.q8TileMinT <= T && pi == 0 {
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

// BenchmarkQ8GEMM compares, on the kernel set in use, the row path and
// the integer GEMM for Q8_0 and Q4_0 weights of the 9B model's shapes.
// Compare by CPU time on a shared machine.
func BenchmarkQ8GEMM(b *testing.B) {
	if kern.q8Tile == nil {
		b.Skip("no integer GEMM in this kernel set")
	}
	for _, sh := range [][2]int{{4096, 4096}, {13696, 4096}} {
		for _, dt := range []DType{Q8_0, Q4_0} {
			w := benchMatrix(b, dt, sh[0], sh[1])
			for _, T := range []int{8, 16, 32, 64, 512} {
				rng := rand.New(rand.NewPCG(3, 4))
				x := randF32(rng, T*sh[1])
				out := make([]float32, T*sh[0])
				for _, path := range []string{"rows", "gemmq"} {
					b.Run(fmt.Sprintf("%v_%dx%d_T%d_%s", dt, sh[0], sh[1], T, path), func(b *testing.B) {
						p := benchPool(b)
						for b.Loop() {
							if path == "gemmq" {
								p.gemmQ(kern, out, x, T, w)
							} else {
								p.matVec(kern, out, x, T, w)
							}
						}
						b.ReportMetric(float64(T*sh[0]*sh[1])*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
					})
				}
			}
		}
	}
}
