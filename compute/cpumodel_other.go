//go:build !amd64 || purego

package compute

// cpuBrand has no CPUID to read in this build; CPUModel falls back to
// /proc/cpuinfo.
func cpuBrand() string { return "" }
