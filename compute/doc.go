// Package compute holds the numeric kernels of glmv: matrix products over
// weights kept in their stored format (f32, bf16, f16, the block-quantized
// Q8_0 and Q4_0, or llama.cpp's block formats up to the K-quants),
// attention, norms and the small element-wise ops, plus the worker pool
// that spreads them over all cores.
//
// It is the only package that knows about threads, SIMD and memory layout;
// the model code calls these functions on plain []float32 activations so the
// kernels can be made faster without touching it.
//
// # Kernels
//
// Every inner loop exists twice: in plain Go, and in AVX2/FMA/F16C assembly
// (kernels_amd64.s). The fastest set the CPU supports is chosen once at
// start-up; GLMV_KERNELS=generic|avx2|avx512|amx forces a lower one (a set
// the CPU or build lacks falls back to the best lower one, and KernelNote
// says so), and the build tag purego leaves only the Go set. KernelName
// reports which one runs, KernelSets which ones could, CPUFeatures what the
// CPU offers. The tests run every available set against float64 references.
//
// The avx512 set (AVX-512 F/BW/VL) is the AVX2 set with these replaced by
// 512-bit routines: the GEMM micro-kernels, the f32/bf16/f16 dot products
// and widening (exact widening and f32 products: VDPBF16PS is not used, as
// it would round the activations to bf16), the attention score tile and
// exponentials, and, with AVX512_VNNI, the Q8_0/Q4_0 integer dot products
// (VPDPBUSD with the weights on the unsigned side and the offset removed
// exactly in integers; see kernels_vnni_amd64.s) and the block dots of
// every ggml format (ggml_vnni_amd64.s, one token or 4 at a time). With
// VNNI, Q8_0 MatMul takes the integer row path at every T, as Q4_0 does,
// below 48 token rows; from there Q8_0 and Q4_0 (split or ggml layout)
// take the integer GEMM (gemm_int8.go): weight panels of 32 rows packed
// into VPDPBUSD/AMX-B lines (4 columns × 16 rows per 64 bytes) with
// -128·Σw per block, activations stored unsigned, and a 32-row × 6-token
// register tile with one f32 scale step per 32 columns; its result equals
// the row path's up to the order of the float additions.
//
// MatMul picks by format and number of token rows T (gemmMinT). The row
// path streams the weights once per block of activation rows kept in L2 and
// dots each weight row with them: f32/bf16/f16 four weight rows at a time
// (bf16 and f16 widened in registers), Q8_0/Q4_0 with integer dot products
// on 8-bit activations, four tokens at a time. The GEMM path packs x and
// kc×16 panels of Wᵀ (widening or dequantizing while packing) and runs a
// 6×16 register-blocked micro-kernel; it is used from 32 rows for f32, 96
// for bf16/f16 and 256 for Q8_0 (Q4_0 always takes the integer row path,
// which is faster there at every T measured).
//
// # Quantized weights
//
// Quantize converts a weight to Q8_0 (blocks of 32 int8 values with an f16
// scale, 8.5 bits per weight) or Q4_0 (blocks of 32 4-bit values with an f16
// scale, 4.5 bits per weight; w = d·(q-8), with d chosen so the block's
// largest magnitude maps to -8). Dequantization errors are at most d/2 for
// Q8_0 and d for Q4_0 per weight. For T < 6 the activation rows are
// quantized on the fly to 8 bits per block of 32 (scale max|x|/127) and
// multiplied with integer instructions; that rounding adds at most
// Σ_blocks max|x|/254·Σ|w| to each output. The GEMM path multiplies the
// dequantized weights in f32.
//
// # ggml block formats
//
// The formats of llama.cpp's GGUF files (Q4_1, Q5_0, Q5_1, Q2_K, Q3_K,
// Q4_K, Q5_K, Q6_K, and ggml's own Q8_0 and Q4_0 layouts as GGMLQ8_0 and
// GGMLQ4_0) are held as the files' raw blocks, zero-copy: NewBlockMatrix
// binds a tensor's bytes and GGMLType maps ggml type ids to DTypes.
// Dequantization (Row) is bit-identical to ggml's. MatMul quantizes the
// activation rows to 8 bits per 32 columns (scale max|x|/127, as above;
// for the K-quants also the sums of each 16 columns, as llama.cpp's q8_K,
// whose single scale per 256 columns we refine), then dots every weight
// row with integer instructions on its packed blocks (AVX2, or AVX-512
// VNNI taking 4 tokens at a time) and one f32 multiply-add per 32 columns.
// The result differs from the f32 product of the dequantized weights only
// by that activation rounding, at most Σ_blocks max|x_blk|/254·Σ|w_blk|
// over the 32-column blocks. From a per-format and per-set number of
// token rows (measured: 32 to 64 with AVX2, 256 to 384 with VNNI) the GEMM
// runs instead on panels dequantized with AVX2. Quantize and
// QuantizeBlocks produce these formats (not Q2_K and Q3_K) with llama.cpp's
// reference quantizers, byte for byte.
//
// # bf16 precision
//
// A Pool's Precision (SetPrecision; PrecisionAuto by default) decides the
// arithmetic of MatMul's many-token products where the kernel set has
// bf16 dot products (AVX512_BF16): PrecisionAuto multiplies bf16 and f16
// weights, PrecisionBF16 also f32 ones, with activations rounded to
// bfloat16 (nearest even) and f32 sums on VDPBF16PS, a 14-token × 32-row
// register tile over weight panels in the pairwise layout of
// PackPanelBF16 (also AMX's B-tile layout); PrecisionF32 and every set
// without bf16 dot products compute in f32. AttentionBF16 does the same
// for Q·Kᵀ and P·V (the vision tower takes it when its products are
// bf16). The error against f32 is the rounding of both operands, about
// 2⁻⁸·Σ|x·w| per output at most.
//
// # FP8
//
// FP8E4M3ToF32 decodes OCP E4M3 and FP8Weight applies an FP8 checkpoint's
// block (128×128 weight_scale_inv), per-channel or per-tensor scales;
// (*Pool).ConvertFP8 turns it into any weight format row by row.
//
// # Attention
//
// Attention reads each KV head once for all the query heads that share it
// (GQA), with an online softmax and no T×nKeys buffer. Decode (up to ~96
// query rows per KV head) splits the keys into contiguous chunks over the
// workers, scores 3 query rows × 4 keys per kernel call, runs P·V on the
// GEMM micro-kernel and merges the chunks' softmax states; prefill packs
// keys and values once per KV head and computes scores and P·V for ~96
// query rows at a time with the micro-kernel. Head sizes that are not a
// multiple of 16 use a simpler row-at-a-time form.
package compute
