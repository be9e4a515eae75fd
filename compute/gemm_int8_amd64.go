//go:build amd64 && !purego

package compute

import "golang.org/x/sys/cpu"

//go:generate go run gen_gemm_int8.go

// useInt8GEMM installs the AVX-512 VNNI micro-kernel of the integer GEMM
// (gemm_int8_amd64.s) into k when the CPU has AVX512_VNNI.
func useInt8GEMM(k *kernels) {
	if !cpu.X86.HasAVX512VNNI {
		return
	}
	k.q8 = &intGEMM{tile: q8TileVNNI, minT: q8TileMinTVNNI, packLines: packLinesVNNI, packAct: packActVNNIGo}
}

// packActVNNIGo checks the lengths packActVNNI reads and writes.
func packActVNNIGo(xq []int8, stride, nb int, dst []byte) {
	if nb <= 0 {
		return
	}
	_, _ = xq[(qtTokens-1)*stride+nb*qBlock-1], dst[nb*qtTokens*qBlock-1]
	if (qtTokens-1)*stride+nb*qBlock > 1<<31-1 {
		packActPanel(dst, make([]float32, nb*qtTokens), xq[:qtTokens*stride], make([]float32, qtTokens*nb), nb, qtTokens)
		return
	}
	packActVNNI(&xq[0], stride, nb, &dst[0])
}

//go:noescape
func packActVNNI(xq *int8, stride, nb int, dst *byte)

// packLinesVNNI checks the lengths the packing routines read and write.
// (The gathers index rows with int32 offsets; packQPanel passes staged
// rows of at most qtKcBlocks blocks.)
func packLinesVNNI(q4 bool, src []byte, stride, step, nbk int, dst []byte, off []int32) {
	if nbk <= 0 {
		return
	}
	f, bb := packQ8LinesVNNI, qBlock
	if q4 {
		f, bb = packQ4LinesVNNI, qBlock/2
	}
	_, _, _ = src[(qtRows-1)*stride+(nbk-1)*step+bb-1], dst[nbk*qtRows*qBlock-1], off[nbk*qtRows-1]
	f(&src[0], stride, step, nbk, &dst[0], &off[0])
}

//go:noescape
func packQ8LinesVNNI(src *byte, stride, step, nbk int, dst *byte, off *int32)

//go:noescape
func packQ4LinesVNNI(src *byte, stride, step, nbk int, dst *byte, off *int32)

// q8TileMinTVNNI is the number of tokens from which MatMul takes the
// integer GEMM over the VNNI row kernels (dotQ8x4r2, dotQ4x4). Measured
// with BenchmarkQ8GEMM (4096×4096, CPU time per call, Zen 5): the GEMM
// costs a fixed ~1.5-2.5 ms of weight packing per call; with 1 thread it
// wins from about 40 tokens (T=32: 4.2 vs 3.9 ms for Q8_0, T=64: 5.5 vs
// 7.7), with 2 threads from about 48-64 (T=32: 5.5 vs 3.9, T=64: 7.5 vs
// 7.8; Q4_0 alike).
const q8TileMinTVNNI = 48

// q8TileVNNI checks the lengths q8Tile32x6VNNI reads and writes.
func q8TileVNNI(nb int, a []byte, ad []float32, w []byte, off []int32, ws []float32, c []float32, ldc int) {
	if nb <= 0 {
		return
	}
	_, _, _ = a[nb*qtTokens*qBlock-1], ad[nb*qtTokens-1], w[nb*qtRows*qBlock-1]
	_, _ = off[nb*qtRows-1], ws[nb*qtRows-1]
	_ = c[(qtTokens-1)*ldc+qtRows-1]
	q8Tile32x6VNNI(nb, &a[0], &ad[0], &w[0], &off[0], &ws[0], &c[0], ldc)
}

//go:noescape
func q8Tile32x6VNNI(nb int, a *byte, ad *float32, w *byte, wo *int32, ws *float32, c *float32, ldc int)
