//go:build !amd64 || purego

package compute

import "runtime"

// archKernelSets reports that this build has no SIMD kernels.
func archKernelSets() []*kernels { return nil }

// CPUFeatures reports no features the kernels use: this build runs the
// generic Go set.
func CPUFeatures() []string { return []string{runtime.GOARCH + " (generic kernels only)"} }

// archKernelNote has nothing to say: this build has no AMX kernels.
func archKernelNote() string { return "" }
