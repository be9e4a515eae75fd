//go:build amd64 && !purego

package compute

import "golang.org/x/sys/cpu"

// useVNNI swaps the AVX-512 VNNI Q8_0/Q4_0 dot products of
// kernels_vnni_amd64.s into k when the CPU has AVX512_VNNI. They run on
// whole groups of 4 blocks; the wrappers finish the last nb%4 with the
// generic code (Q4_0 activations are in the permQ4VNNI layout only for
// those whole groups, so the rest is in plain order).
func useVNNI(k *kernels) {
	if !cpu.X86.HasAVX512VNNI {
		return
	}
	k.permQ4 = permQ4VNNI
	k.q8RowsOnly = true
	k.dotQ8 = func(xq []int8, xd, xs []float32, wq []byte, wd []uint16) float32 {
		var o [1]float32
		rowsVNNI(false, xq, xd, xs, len(xd), wq, wd, o[:])
		return o[0]
	}
	k.dotQ4 = func(xq []int8, xd, xs []float32, wq []byte, wd []uint16) float32 {
		var o [1]float32
		rowsVNNI(true, xq, xd, xs, len(xd), wq, wd, o[:])
		return o[0]
	}
	k.dotQ8x4 = func(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out *[4]float32) {
		x4VNNI(dotQ8x4VNNI, dotQ8Generic, qBlock, xq, xd, xs, nb, wq, wd, out)
	}
	k.dotQ8x4r2 = dotQ8x4r2VNNIGo
	k.rowsQ8 = func(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out []float32) {
		rowsVNNI(false, xq, xd, xs, nb, wq, wd, out)
	}
	k.rowsQ4 = func(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out []float32) {
		rowsVNNI(true, xq, xd, xs, nb, wq, wd, out)
	}
	k.dotQ4x4 = func(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out *[4]float32) {
		x4VNNI(dotQ4x4VNNI, dotQ4Generic, qBlock/2, xq, xd, xs, nb, wq, wd, out)
	}
	k.dotQ8r4 = func(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out *[4]float32) {
		r4VNNI(dotQ8r4VNNI, dotQ8Generic, qBlock, xq, xd, xs, nb, wq, wd, out)
	}
	k.dotQ4r4 = func(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out *[4]float32) {
		r4VNNI(dotQ4r4VNNI, dotQ4Generic, qBlock/2, xq, xd, xs, nb, wq, wd, out)
	}
}

// quad4 is the signature of the 4-token and 4-row assembly routines.
type quad4 func(xq *int8, xd, xs *float32, nb, n int, wq *byte, wd *uint16, out *float32)

// single is the signature of the one-row dot products (the generic ones
// finish the blocks past the whole groups of 4).
type single func(xq []int8, xd, xs []float32, wq []byte, wd []uint16) float32

// x4VNNI runs f (a 4-token routine) over the whole groups of 4 blocks and
// tail over the rest; wb is the bytes per weight block.
func x4VNNI(f quad4, tail single, wb int, xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out *[4]float32) {
	full := nb &^ 3
	*out = [4]float32{}
	if full > 0 {
		_, _, _ = xq[(3*nb+full)*qBlock-1], xd[3*nb+full-1], xs[3*nb+full-1]
		_, _ = wq[full*wb-1], wd[full-1]
		f(&xq[0], &xd[0], &xs[0], nb, full, &wq[0], &wd[0], &out[0])
	}
	if full < nb {
		for t := range out {
			o := t * nb
			out[t] += tail(xq[(o+full)*qBlock:(o+nb)*qBlock], xd[o+full:o+nb], nil, wq[full*wb:], wd[full:nb])
		}
	}
}

// r4VNNI runs f (a 4-row routine) over the whole groups of 4 blocks and
// tail over the rest; wb is the bytes per weight block.
func r4VNNI(f quad4, tail single, wb int, xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out *[4]float32) {
	full := nb &^ 3
	*out = [4]float32{}
	if full > 0 {
		_, _, _ = xq[full*qBlock-1], xd[full-1], xs[full-1]
		_, _ = wq[(3*nb+full)*wb-1], wd[3*nb+full-1]
		f(&xq[0], &xd[0], &xs[0], nb, full, &wq[0], &wd[0], &out[0])
	}
	if full < nb {
		for i := range out {
			o := i * nb
			out[i] += tail(xq[full*qBlock:nb*qBlock], xd[full:nb], nil, wq[(o+full)*wb:], wd[o+full:o+nb])
		}
	}
}

// permQ4VNNI puts each whole group of 4 activation blocks A-D into the
// layout of dotQ4RowsVNNI: the order becomes A[0:16]
// B[0:16] C[0:16] D[0:16] A[16:32] B[16:32] C[16:32] D[16:32], matching the
// low and high nibbles of a 64-byte load of A-D's Q4_0 weights.
func permQ4VNNI(xq []int8) {
	n := len(xq) / (4 * qBlock) * (4 * qBlock)
	var t [4 * qBlock]int8
	for i := 0; i < n; i += 4 * qBlock {
		p := (*[4 * qBlock]int8)(xq[i:])
		for b := range 4 {
			copy(t[b*16:], p[b*qBlock:b*qBlock+16])
			copy(t[64+b*16:], p[b*qBlock+16:(b+1)*qBlock])
		}
		*p = t
	}
}

//go:noescape
func dotQ8x4VNNI(xq *int8, xd, xs *float32, nb, n int, wq *byte, wd *uint16, out *float32)

//go:noescape
func dotQ4x4VNNI(xq *int8, xd, xs *float32, nb, n int, wq *byte, wd *uint16, out *float32)

//go:noescape
func dotQ8r4VNNI(xq *int8, xd, xs *float32, nb, n int, wq *byte, wd *uint16, out *float32)

//go:noescape
func dotQ4r4VNNI(xq *int8, xd, xs *float32, nb, n int, wq *byte, wd *uint16, out *float32)

// dotQ8x4r2VNNIGo is the dotQ8x4r2 of the VNNI kernels: the assembly
// routine over the whole groups of 4 blocks, the generic dot product over
// the rest.
func dotQ8x4r2VNNIGo(xq []int8, xd, xs []float32, nb int, wq []byte, wd []uint16, out *[8]float32) {
	full := nb &^ 3
	*out = [8]float32{}
	if full > 0 {
		_, _, _ = xq[(3*nb+full)*qBlock-1], xd[3*nb+full-1], xs[3*nb+full-1]
		_, _ = wq[(nb+full)*qBlock-1], wd[nb+full-1]
		dotQ8x4r2VNNI(&xq[0], &xd[0], &xs[0], nb, full, &wq[0], &wd[0], &out[0])
	}
	if full < nb {
		for i := range 2 {
			w := i * nb
			for t := range 4 {
				o := t * nb
				out[4*i+t] += dotQ8Generic(xq[(o+full)*qBlock:(o+nb)*qBlock], xd[o+full:o+nb], nil,
					wq[(w+full)*qBlock:(w+nb)*qBlock], wd[w+full:w+nb])
			}
		}
	}
}

//go:noescape
func dotQ8x4r2VNNI(xq *int8, xd, xs *float32, nb, n int, wq *byte, wd *uint16, out *float32)
