package compute

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/glmv/glmv/internal/cputime"
)

// BenchmarkGGMLBlockDot measures each kernel set's block dot product on one
// cached 4096-column weight row (SetBytes is the row's size, so MB/s is
// the kernel's weight throughput when memory is not the limit), and the
// 4-token one where the set has it.
func BenchmarkGGMLBlockDot(b *testing.B) {
	for _, dt := range blockTypes() {
		for _, k := range kernelSets() {
			b.Run(fmt.Sprintf("%v/%s", dt, k.name), func(b *testing.B) {
				const cols = 4096
				rng := rand.New(rand.NewPCG(3, 4))
				w := randomBlockMatrix(b, rng, dt, 1, cols)
				x := randF32(rng, cols)
				var p *Pool
				acts := p.quantizeActs(k, dt, x, 1, cols)
				dot := k.blockDot[dt]
				b.SetBytes(int64(len(w.Q)))
				var s float32
				for b.Loop() {
					s += dot(&acts[0], w.Q)
				}
				_ = s
			})
			if k.blockDotX4[dt] == nil {
				continue
			}
			// The 4-token kernel: MB/s counts the row once per token, so
			// it compares with the one-token figure per token.
			b.Run(fmt.Sprintf("%v/%s-x4", dt, k.name), func(b *testing.B) {
				const cols = 4096
				rng := rand.New(rand.NewPCG(3, 4))
				w := randomBlockMatrix(b, rng, dt, 1, cols)
				x := randF32(rng, 4*cols)
				var p *Pool
				acts := p.quantizeActs(k, dt, x, 4, cols)
				dot4 := k.blockDotX4[dt]
				b.SetBytes(4 * int64(len(w.Q)))
				var out [4]float32
				for b.Loop() {
					dot4((*[4]actRow)(acts), w.Q, &out)
				}
			})
		}
	}
}

// TestGGMLBlockDotShortRows compares every kernel set's block dot products
// with the generic ones on rows of 1 to 9 blocks, so that the kernels that
// take blocks in groups (the VNNI Q8_0 one does 4 at a time) are tested on
// their remainders too (within 2e-6·Σ|w·x|, as TestGGMLAsmVsGo).
func TestGGMLBlockDotShortRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	var p *Pool
	for _, dt := range blockTypes() {
		bs := blockFormats[dt].bs
		for nb := 1; nb <= 9; nb++ {
			cols := nb * bs
			w := randomBlockMatrix(t, rng, dt, 1, cols)
			x := randF32(rng, cols)
			acts := p.quantizeActs(genericKernels, dt, x, 1, cols)
			xa := dequantAct(&acts[0], cols)
			wrow := w.Row(0, make([]float32, cols))
			var mag float64
			for c := range cols {
				mag += math.Abs(float64(wrow[c]) * xa[c])
			}
			want := genericKernels.blockDot[dt](&acts[0], w.Q)
			for _, k := range kernelSets() {
				got := k.blockDot[dt](&acts[0], w.Q)
				if d := math.Abs(float64(got) - float64(want)); d > 2e-6*mag {
					t.Errorf("%s %v %d blocks: got %v, go %v (diff %.3g, mag %.3g)", k.name, dt, nb, got, want, d, mag)
				}
			}
		}
	}
}

// BenchmarkGGMLPaths times the row-kernel and GEMM paths of MatMul on the
// same ggml block weights, one thread (a nil Pool), for each kernel set the
// machine has, to place the GEMM switch points (gemmMinT) per set. Besides
// wall time it reports cpu-ns/op and cpu-GFLOP/s from the process's CPU
// time, which a shared machine does not inflate the way it does wall time.
// Names are format_shape_T/set/path, so one set, shape or path can be
// picked with -bench.
func BenchmarkGGMLPaths(b *testing.B) {
	shapes := [][2]int{{4096, 4096}, {13696, 4096}}
	for _, dt := range blockTypes() {
		for _, sh := range shapes {
			rows, cols := sh[0], sh[1]
			var w *Matrix
			for _, T := range []int{16, 32, 64, 128, 256, 512} {
				var x, out []float32
				for _, k := range kernelSets() {
					if k == genericKernels {
						continue
					}
					for _, path := range []string{"rows", "gemm"} {
						b.Run(fmt.Sprintf("%v_%dx%d_T%d/%s/%s", dt, rows, cols, T, k.name, path), func(b *testing.B) {
							if w == nil {
								rng := rand.New(rand.NewPCG(5, 6))
								w = randomBlockMatrix(b, rng, dt, rows, cols)
							}
							if x == nil {
								x = randF32(rand.New(rand.NewPCG(7, 8)), T*cols)
								out = make([]float32, T*rows)
							}
							var p *Pool
							c0 := cputime.Process()
							for b.Loop() {
								if path == "gemm" {
									p.gemm(k, out, x, T, w)
								} else {
									p.matVecBlocks(k, out, x, T, w)
								}
							}
							flop := 2 * float64(T*rows*cols) * float64(b.N)
							b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
							if c := cputime.Process() - c0; c > 0 {
								b.ReportMetric(float64(c.Nanoseconds())/float64(b.N), "cpu-ns/op")
								b.ReportMetric(flop/c.Seconds()/1e9, "cpu-GFLOP/s")
							}
						})
					}
				}
			}
		}
	}
}

// TestGGMLBlockDotX4 checks every set's 4-token block dot products
// against its one-token ones, which they must match bit for bit (same
// integer sums, same float order), on rows of 1 to 9 blocks (remainders of
// the groups of 4) and 64, with the activation rows as quantizeActs lays
// them out and, to take the fallback, as 4 separate quantizations.
func TestGGMLBlockDotX4(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	var p *Pool
	for _, k := range kernelSets() {
		for _, dt := range blockTypes() {
			dot4 := k.blockDotX4[dt]
			if dot4 == nil {
				continue
			}
			bs := blockFormats[dt].bs
			for _, nb := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 64} {
				cols := nb * bs
				w := randomBlockMatrix(t, rng, dt, 1, cols)
				x := randF32(rng, 5*cols)
				x[rng.IntN(len(x))] = 30 // an outlier channel
				together := p.quantizeActs(k, dt, x, 5, cols)
				var apart [4]actRow
				for i := range apart {
					apart[i] = p.quantizeActs(k, dt, x[(i+1)*cols:(i+2)*cols], 1, cols)[0]
				}
				for name, a := range map[string]*[4]actRow{
					"rows 0-3": (*[4]actRow)(together[0:4]), "rows 1-4": (*[4]actRow)(together[1:5]), "apart": &apart,
				} {
					var got [4]float32
					dot4(a, w.Q, &got)
					for i := range got {
						if want := k.blockDot[dt](&a[i], w.Q); math.Float32bits(got[i]) != math.Float32bits(want) {
							t.Errorf("%s %v %d blocks, %s, token %d: x4 %v, one-token %v", k.name, dt, nb, name, i, got[i], want)
						}
					}
				}
			}
		}
	}
}
