//go:build !amd64 || purego

package compute

// archKernels reports that this build has no SIMD kernels.
func archKernels() *kernels { return nil }
