//go:build amd64 && !purego

package compute

import "golang.org/x/sys/cpu"

// useVNNIBlocks replaces the avx512 set's K-quant block dot products with
// the AVX-512 VNNI ones of ggml_vnni_amd64.s where the CPU has
// AVX512_VNNI; the other formats keep the AVX2 kernels.
func useVNNIBlocks(k *kernels) {
	if !cpu.X86.HasAVX512VNNI {
		return
	}
	k.blockDot[Q4_K] = kquantAsm(dotQ4KVNNI, 144)
	k.blockDot[Q5_K] = kquantAsm(dotQ5KVNNI, 176)
	k.blockDot[Q6_K] = kquantAsm(dotQ6KVNNI, 210)
}

//go:noescape
func dotQ4KVNNI(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32

//go:noescape
func dotQ5KVNNI(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32

//go:noescape
func dotQ6KVNNI(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
