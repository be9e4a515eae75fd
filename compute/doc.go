// Package compute holds the numeric kernels of glmv: matrix products over
// weights kept in their stored format (f32, bf16, f16), attention, norms,
// rotary embeddings and the small element-wise ops, plus the worker pool that
// spreads them over all cores.
//
// It is the only package that knows about threads, SIMD and memory layout;
// the model code calls these functions on plain []float32 activations so the
// kernels can be made faster without touching it.
package compute
