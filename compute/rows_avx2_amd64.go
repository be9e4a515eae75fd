//go:build amd64 && !purego

package compute

// The AVX2 row-range kernels prefetch rowsPrefetch bytes ahead too.
// Measured on a Zen 5 with GLMV_KERNELS=avx2 and BenchmarkDecodeVsStream
// (one token, one thread, by CPU time, fraction of the read-sum probe, 2-4
// rounds each): the one-row and 4-row kernels before Q8_0 0.72-0.74, Q4_0
// 0.55-0.58; the row-range kernels without prefetch 0.79-0.81 / 0.73;
// 4096 bytes 0.92-0.94 / 0.87-0.89; 6144 0.96-0.97 / 0.91-0.95; 8192
// 0.95-1.01 / 0.94-1.02; 12288 0.97-0.98 / 1.01; 16384 0.96 / 1.02-1.04.
// The Zen 3 (less bandwidth, so fewer bytes in flight needed) is not
// measured.

// rowsQ8AVX2 is the avx2 rowsQ8: dotQ8AVX2 for each of len(out)
// consecutive weight rows of nb blocks, in one call.
func rowsQ8AVX2(xq []int8, xd, _ []float32, nb int, wq []byte, wd []uint16, out []float32) {
	rows := len(out)
	if rows == 0 {
		return
	}
	if nb == 0 {
		clear(out)
		return
	}
	_, _ = xq[nb*qBlock-1], xd[nb-1]
	_, _ = wq[rows*nb*qBlock-1], wd[rows*nb-1]
	dotQ8RowsAVX2(&xq[0], &xd[0], nb, &wq[0], &wd[0], &out[0], rows, rowsPrefetch)
}

// rowsQ4AVX2 is the avx2 rowsQ4: dotQ4AVX2 for each of len(out)
// consecutive weight rows of nb blocks, in one call.
func rowsQ4AVX2(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out []float32) {
	rows := len(out)
	if rows == 0 {
		return
	}
	if nb == 0 {
		clear(out)
		return
	}
	_, _, _ = xq[nb*qBlock-1], xd[nb-1], xs[nb-1]
	_, _ = wq[rows*nb*qBlock/2-1], wd[rows*nb-1]
	dotQ4RowsAVX2(&xq[0], &xd[0], &xs[0], nb, &wq[0], &wd[0], &out[0], rows, rowsPrefetch)
}

//go:noescape
func dotQ8RowsAVX2(xq *int8, xd *float32, nb int, wq *byte, wd *uint16, out *float32, rows, pf int)

//go:noescape
func dotQ4RowsAVX2(xq *int8, xd, xs *float32, nb int, wq *byte, wd *uint16, out *float32, rows, pf int)
