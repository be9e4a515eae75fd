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
	k.q8 = &intGEMM{tile: q8TileVNNI, minT: q8TileMinTVNNI, minT1Q8: q8TileMinT1Q8, minT1Q4: q8TileMinT1Q4, packLines: packLinesVNNI, packAct: packActVNNIGo}
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
	done := 0
	if step == bb {
		// Back-to-back values: transposed 64 bytes of a row at a time
		// (2 Q8_0 blocks or 4 Q4_0 ones), the rest gathered.
		t, per := packQ8LinesT, 2
		if q4 {
			t, per = packQ4LinesT, 4
		}
		if done = nbk - nbk%per; done > 0 {
			t(&src[0], stride, done, &dst[0], &off[0])
		}
	}
	if done < nbk {
		f(&src[done*step], stride, step, nbk-done, &dst[done*qtRows*qBlock], &off[done*qtRows])
	}
}

// packQ8LinesT and packQ4LinesT are packQ8LinesVNNI and packQ4LinesVNNI
// for rows of back-to-back values (step 32 or 16 bytes), nbk a multiple of
// 2 (Q8_0) or 4 (Q4_0), by transposing rather than gathering: ~5× faster
// on a Zen 5 (BenchmarkPackQPanel).
//
//go:noescape
func packQ8LinesT(src *byte, stride, nbk int, dst *byte, off *int32)

//go:noescape
func packQ4LinesT(src *byte, stride, nbk int, dst *byte, off *int32)

//go:noescape
func packQ8LinesVNNI(src *byte, stride, step, nbk int, dst *byte, off *int32)

//go:noescape
func packQ4LinesVNNI(src *byte, stride, step, nbk int, dst *byte, off *int32)

// q8TileMinTVNNI is the number of tokens from which MatMul takes the
// integer GEMM over the VNNI row kernels (dotQ8x4r2, dotQ4x4); on a pool
// of one worker, q8TileMinT1Q8 and q8TileMinT1Q4 for split Q8_0 and Q4_0
// weights (intGEMM.minTokens). The GEMM packs the weights per call; with
// the transposing packers (packQ8LinesT) that costs ~0.3 ms per 4096×4096
// (27 Gweights/s, 4× less than with gathers; ggml's layouts still
// gather). Measured on a Zen 5 by CPU time per call (BenchmarkQ8GEMM), the
// GEMM's time over the rows' at T = 16 / 32 / 64 is, with 1 thread:
// 4096×4096 1.12 / 0.82 / 0.64 (Q8_0), 1.06 / 0.75 / 0.61 (Q4_0);
// 13696×4096 1.08 / 0.75 / 0.56 (Q8_0), 0.86 / 0.68 / 0.56 (Q4_0); with
// 2 threads the GEMM costs more (4096×4096 T=32: 1.01 Q8_0, 1.22 Q4_0;
// T=64: 0.80, 0.79). On the GLM-4.5V expert shapes, 1 thread, T = 16 /
// 24 / 32, after the 2-row tile got faster: gate+up (2816×4096) Q8_0 1.2 /
// 1.1 / 1.0, Q4_0 1.25 / 0.86 / 0.82; down (4096×1408) Q8_0 0.98 / 0.71 /
// 0.71, Q4_0 0.97 / 0.60 / 0.58. BenchmarkMoE (512 tokens, ~32 per
// expert, CPU ms per block) placed the one-worker points: Q8_0 with 24 /
// 32 / 48: 588 / 554 / 637; Q4_0: 440 / 494 / 602.
const (
	q8TileMinTVNNI = 48
	q8TileMinT1Q8  = 32
	q8TileMinT1Q4  = 24
)

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
