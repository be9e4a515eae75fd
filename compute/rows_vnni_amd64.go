//go:build amd64 && !purego

package compute

// rowsPrefetch is how far ahead (bytes) the VNNI one-row kernels prefetch
// the weights. Measured on a Zen 5 with BenchmarkDecodeVsStream (one
// thread, by CPU time, 4 rounds each, fraction of the read-sum probe):
// without prefetch (the per-row kernels before) Q8_0 0.64-0.66, Q4_0
// 0.58-0.61; 2048 bytes 0.91 / 0.83-0.91; 4096 0.94-1.00 / 0.87-0.96;
// 8192 0.96-0.99 / 0.95-1.02; 16384 0.91-0.93 / 0.93-0.95.
const rowsPrefetch = 8192

// rowsVNNI sets out[r] to the dot product of one quantized activation row
// (xq, xd, xs; for Q4_0 in the permQ4VNNI layout over whole groups of 4
// blocks) with each of len(out) consecutive Q8_0 (or, with q4, Q4_0)
// weight rows of nb blocks. The assembly takes whole groups of 4 blocks;
// the generic code finishes the rest of each row, in plain activation
// order.
func rowsVNNI(q4 bool, xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out []float32) {
	rows := len(out)
	if nb == 0 {
		clear(out)
		return
	}
	wb := qBlock
	if q4 {
		wb = qBlock / 2
	}
	full := nb &^ 3
	run := func(wq []byte, wd []uint16, out []float32) {
		if q4 {
			dotQ4RowsVNNI(&xq[0], &xd[0], &xs[0], full, &wq[0], &wd[0], &out[0], len(out), rowsPrefetch)
		} else {
			dotQ8RowsVNNI(&xq[0], &xd[0], &xs[0], full, &wq[0], &wd[0], &out[0], len(out), rowsPrefetch)
		}
	}
	if full == nb {
		_, _, _ = xq[nb*qBlock-1], xd[nb-1], xs[nb-1]
		_, _ = wq[rows*nb*wb-1], wd[rows*nb-1]
		run(wq, wd, out)
		return
	}
	for r := range out {
		wr, dr := wq[r*nb*wb:(r+1)*nb*wb], wd[r*nb:(r+1)*nb]
		out[r] = 0
		if full > 0 {
			_, _, _ = xq[full*qBlock-1], xd[full-1], xs[full-1]
			run(wr, dr, out[r:r+1])
		}
		tx, td := xq[full*qBlock:nb*qBlock], xd[full:nb]
		if q4 {
			out[r] += dotQ4Generic(tx, td, nil, wr[full*wb:], dr[full:])
		} else {
			out[r] += dotQ8Generic(tx, td, nil, wr[full*wb:], dr[full:])
		}
	}
}

//go:noescape
func dotQ8RowsVNNI(xq *int8, xd, xs *float32, nb int, wq *byte, wd *uint16, out *float32, rows, pf int)

//go:noescape
func dotQ4RowsVNNI(xq *int8, xd, xs *float32, nb int, wq *byte, wd *uint16, out *float32, rows, pf int)
