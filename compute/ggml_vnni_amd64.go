//go:build amd64 && !purego

package compute

import "golang.org/x/sys/cpu"

// useVNNIBlocks replaces the avx512 set's K-quant and ggml Q8_0 block dot
// products with the AVX-512 VNNI ones of ggml_vnni_amd64.s where the CPU
// has AVX512_VNNI; the other formats keep the AVX2 kernels.
func useVNNIBlocks(k *kernels) {
	if !cpu.X86.HasAVX512VNNI {
		return
	}
	k.blockDot[Q4_K] = kquantAsm(dotQ4KVNNI, 144)
	k.blockDot[Q5_K] = kquantAsm(dotQ5KVNNI, 176)
	k.blockDot[Q6_K] = kquantAsm(dotQ6KVNNI, 210)
	k.blockDot[GGMLQ8_0] = dotQ8_0GVNNIRow
}

// dotQ8_0GVNNIRow runs the VNNI Q8_0 kernel on the blocks in whole groups
// of 4 and the AVX2 one on the rest.
func dotQ8_0GVNNIRow(a *actRow, w []byte) float32 {
	const ts = 34
	nb := len(w) / ts
	full := nb &^ 3
	var s float32
	if full > 0 {
		_, _, _ = a.q[full*qBlock-1], a.d[full-1], a.s[full-1]
		s = dotQ8_0GVNNI(&a.q[0], &a.d[0], &a.s[0], &w[0], full)
	}
	if full < nb {
		_, _, _ = a.q[nb*qBlock-1], a.d[nb-1], a.s[nb-1]
		s += dotQ8_0GAVX2(&a.q[full*qBlock], &a.d[full], &a.s[full], &w[full*ts], nb-full)
	}
	return s
}

//go:noescape
func dotQ4KVNNI(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32

//go:noescape
func dotQ5KVNNI(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32

//go:noescape
func dotQ8_0GVNNI(xq *int8, xd, xs *float32, w *byte, nb int) float32

//go:noescape
func dotQ6KVNNI(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
