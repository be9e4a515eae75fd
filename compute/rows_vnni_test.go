//go:build amd64 && !purego

package compute

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestRowsVNNI checks the row-range kernels against the one-row VNNI dot
// products they replace for decode: the same arithmetic in the same
// order, so the results must be equal bit for bit.
func TestRowsVNNI(t *testing.T) {
	if !cpu.X86.HasAVX512VNNI || !hasAVX512() {
		t.Skip("no AVX512_VNNI")
	}
	testRows(t, newAVX512Kernels())
}

// TestRowsAVX2 is TestRowsVNNI for the avx2 set's row-range kernels and
// its one-row dotQ8AVX2 / dotQ4AVX2.
func TestRowsAVX2(t *testing.T) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA || !cpu.X86.HasF16C {
		t.Skip("no AVX2")
	}
	testRows(t, avx2Kernels)
}

// testRows checks k.rowsQ8 and k.rowsQ4 against k.dotQ8 and k.dotQ4 row
// by row, bit for bit.
func testRows(t *testing.T, k *kernels) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, dt := range []DType{Q8_0, Q4_0} {
		for _, cols := range []int{128, 256, 384, 4096, 13696, 160, 32, 100, 288, 992} {
			for _, rows := range []int{1, 3, 8} {
				t.Run(fmt.Sprintf("%v/%dx%d", dt, rows, cols), func(t *testing.T) {
					w, err := Quantize(&Matrix{DType: F32, Rows: rows, Cols: cols, F32: randF32(rng, rows*cols)}, dt)
					if err != nil {
						t.Fatal(err)
					}
					nb := w.BlocksPerRow()
					xq, xd, xs := make([]int8, nb*qBlock), make([]float32, nb), make([]float32, nb)
					k.quantQ8(xq, xd, xs, randF32(rng, cols))
					dot, rowsDot, bb := k.dotQ8, k.rowsQ8, qBlock
					if dt == Q4_0 {
						k.permQ4(xq)
						dot, rowsDot, bb = k.dotQ4, k.rowsQ4, qBlock/2
					}
					out := make([]float32, rows+1)
					out[rows] = 42
					rowsDot(xq, xd, xs, nb, w.Q, w.Scales, out[:rows])
					for r := range rows {
						want := dot(xq, xd, xs, w.Q[r*nb*bb:(r+1)*nb*bb], w.Scales[r*nb:(r+1)*nb])
						if out[r] != want {
							t.Errorf("row %d: %v, want %v", r, out[r], want)
						}
					}
					if out[rows] != 42 {
						t.Error("wrote past the rows")
					}
				})
			}
		}
	}
}
