package compute

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestQuantizedQuadKernels checks every set's 4-token (dotQ8x4, dotQ4x4)
// and 4-row (dotQ8r4, dotQ4r4) quantized dot products against the generic
// one-row dot products, over block counts with and without a tail past the
// whole groups of 8.
func TestQuantizedQuadKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, nb := range []int{1, 7, 8, 9, 16, 23, 128, 134} {
		cols := nb * qBlock
		// 4 activation rows (tokens) and 4 weight rows.
		x := randF32(rng, 4*cols)
		xq, xd, xs := make([]int8, 4*cols), make([]float32, 4*nb), make([]float32, 4*nb)
		for t := range 4 {
			quantizeRowQ8(xq[t*cols:(t+1)*cols], xd[t*nb:(t+1)*nb], xs[t*nb:(t+1)*nb], x[t*cols:(t+1)*cols])
		}
		for _, dt := range []DType{Q8_0, Q4_0} {
			w, err := Quantize(&Matrix{DType: F32, Rows: 4, Cols: cols, F32: randF32(rng, 4*cols)}, dt)
			if err != nil {
				t.Fatal(err)
			}
			ref, bb := genericKernels.dotQ8, qBlock
			if dt == Q4_0 {
				ref, bb = genericKernels.dotQ4, qBlock/2
			}
			// want[t][r]: token t against weight row r.
			var want [4][4]float32
			for tk := range 4 {
				for r := range 4 {
					want[tk][r] = ref(xq[tk*cols:(tk+1)*cols], xd[tk*nb:(tk+1)*nb], xs[tk*nb:(tk+1)*nb],
						w.Q[r*nb*bb:(r+1)*nb*bb], w.Scales[r*nb:(r+1)*nb])
				}
			}
			check := func(k *kernels, what string, got, want [4]float32) {
				t.Helper()
				for i := range got {
					if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
						t.Errorf("%s %s %v nb=%d [%d]: %v want %v", k.name, what, dt, nb, i, got[i], want[i])
					}
				}
			}
			for _, k := range kernelSets() {
				kq := append([]int8(nil), xq...)
				if dt == Q4_0 && k.permQ4 != nil {
					for tk := range 4 {
						k.permQ4(kq[tk*cols : (tk+1)*cols])
					}
				}
				var out [4]float32
				for r := range 4 {
					wq, wd := w.Q[r*nb*bb:(r+1)*nb*bb], w.Scales[r*nb:(r+1)*nb]
					if dt == Q8_0 {
						k.dotQ8x4(kq, xd, xs, nb, wq, wd, &out)
					} else {
						k.dotQ4x4(kq, xd, xs, nb, wq, wd, &out)
					}
					check(k, "x4", out, [4]float32{want[0][r], want[1][r], want[2][r], want[3][r]})
				}
				for tk := range 4 {
					xqt, xdt, xst := kq[tk*cols:(tk+1)*cols], xd[tk*nb:(tk+1)*nb], xs[tk*nb:(tk+1)*nb]
					if dt == Q8_0 {
						k.dotQ8r4(xqt, xdt, xst, nb, w.Q, w.Scales, &out)
					} else {
						k.dotQ4r4(xqt, xdt, xst, nb, w.Q, w.Scales, &out)
					}
					check(k, "r4", out, want[tk])
				}
			}
		}
	}
}

// BenchmarkQuadKernels runs the 4-token quantized dot products of the kernel
// set in use on data that stays in L1 (4 tokens, one 4096-column row) and
// on 64 tokens, as the prefill row path walks them (from L2).
func BenchmarkQuadKernels(b *testing.B) {
	const nb = 128
	for _, T := range []int{4, 64} {
		rng := rand.New(rand.NewPCG(8, 8))
		x := randF32(rng, T*nb*qBlock)
		xq, xd, xs := make([]int8, len(x)), make([]float32, T*nb), make([]float32, T*nb)
		for t := range T {
			kern.quantQ8(xq[t*nb*qBlock:(t+1)*nb*qBlock], xd[t*nb:(t+1)*nb], xs[t*nb:(t+1)*nb], x[t*nb*qBlock:(t+1)*nb*qBlock])
		}
		for _, dt := range []DType{Q8_0, Q4_0} {
			w, _ := Quantize(&Matrix{DType: F32, Rows: 1, Cols: nb * qBlock, F32: randF32(rng, nb*qBlock)}, dt)
			b.Run(fmt.Sprintf("%v_T%d", dt, T), func(b *testing.B) {
				var out [4]float32
				for b.Loop() {
					for t := 0; t < T; t += 4 {
						if dt == Q8_0 {
							kern.dotQ8x4(xq[t*nb*qBlock:], xd[t*nb:], xs[t*nb:], nb, w.Q, w.Scales, &out)
						} else {
							kern.dotQ4x4(xq[t*nb*qBlock:], xd[t*nb:], xs[t*nb:], nb, w.Q, w.Scales, &out)
						}
					}
				}
				b.ReportMetric(float64(T*nb*qBlock)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}

// TestQ8TileKernel checks every set's 2-row × 4-token Q8_0 tile (dotQ8x4r2,
// where a set has one) against the generic one-row dot product, over block
// counts with and without a tail past the whole groups of 4 and 8.
func TestQ8TileKernel(t *testing.T) {
	tested := false
	for _, k := range kernelSets() {
		tested = tested || k.dotQ8x4r2 != nil
	}
	if !tested {
		t.Skip("no kernel set on this CPU has a Q8_0 tile kernel")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for _, nb := range []int{1, 3, 4, 5, 7, 8, 9, 12, 16, 23, 128, 134} {
		cols := nb * qBlock
		x := randF32(rng, 4*cols)
		xq, xd, xs := make([]int8, 4*cols), make([]float32, 4*nb), make([]float32, 4*nb)
		for tk := range 4 {
			quantizeRowQ8(xq[tk*cols:(tk+1)*cols], xd[tk*nb:(tk+1)*nb], xs[tk*nb:(tk+1)*nb], x[tk*cols:(tk+1)*cols])
		}
		w, err := Quantize(&Matrix{DType: F32, Rows: 2, Cols: cols, F32: randF32(rng, 2*cols)}, Q8_0)
		if err != nil {
			t.Fatal(err)
		}
		var want [8]float32
		for r := range 2 {
			for tk := range 4 {
				want[4*r+tk] = dotQ8Generic(xq[tk*cols:(tk+1)*cols], xd[tk*nb:(tk+1)*nb], xs[tk*nb:(tk+1)*nb],
					w.Q[r*cols:(r+1)*cols], w.Scales[r*nb:(r+1)*nb])
			}
		}
		for _, k := range kernelSets() {
			if k.dotQ8x4r2 == nil {
				continue
			}
			got := [8]float32{1, 2, 3, 4, 5, 6, 7, 8} // overwritten
			k.dotQ8x4r2(xq, xd, xs, nb, w.Q, w.Scales, &got)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Errorf("%s nb=%d row %d token %d: %v want %v", k.name, nb, i/4, i%4, got[i], want[i])
				}
			}
		}
	}
}

// BenchmarkQ8Tile compares, on the kernel set in use, 2 weight rows against
// 4 tokens by dotQ8x4 once per row ("x4") and by the tile dotQ8x4r2
// ("x4r2"), for rows of nb blocks.
func BenchmarkQ8Tile(b *testing.B) {
	if kern.dotQ8x4r2 == nil {
		b.Skip("no Q8_0 tile kernel in this set")
	}
	for _, nb := range []int{128, 428} {
		rng := rand.New(rand.NewPCG(8, 8))
		x := randF32(rng, 4*nb*qBlock)
		xq, xd, xs := make([]int8, len(x)), make([]float32, 4*nb), make([]float32, 4*nb)
		for t := range 4 {
			kern.quantQ8(xq[t*nb*qBlock:(t+1)*nb*qBlock], xd[t*nb:(t+1)*nb], xs[t*nb:(t+1)*nb], x[t*nb*qBlock:(t+1)*nb*qBlock])
		}
		w, _ := Quantize(&Matrix{DType: F32, Rows: 2, Cols: nb * qBlock, F32: randF32(rng, 2*nb*qBlock)}, Q8_0)
		macs := float64(8 * nb * qBlock)
		b.Run(fmt.Sprintf("x4_nb%d", nb), func(b *testing.B) {
			var out [4]float32
			for b.Loop() {
				for r := range 2 {
					kern.dotQ8x4(xq, xd, xs, nb, w.Q[r*nb*qBlock:], w.Scales[r*nb:(r+1)*nb], &out)
				}
			}
			b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
		b.Run(fmt.Sprintf("x4r2_nb%d", nb), func(b *testing.B) {
			var out [8]float32
			for b.Loop() {
				kern.dotQ8x4r2(xq, xd, xs, nb, w.Q, w.Scales, &out)
			}
			b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}
