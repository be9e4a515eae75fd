//go:build amd64 && !purego

package compute

import "encoding/binary"

// cpuidRegs executes CPUID with the given leaf (subleaf 0).
//
//go:noescape
func cpuidRegs(leaf uint32, out *[4]uint32)

// cpuBrand reads the processor brand string from CPUID leaves
// 0x80000002–0x80000004, or "" when the CPU does not have them.
func cpuBrand() string {
	var r [4]uint32
	cpuidRegs(0x80000000, &r)
	if r[0] < 0x80000004 {
		return ""
	}
	b := make([]byte, 0, 48)
	for leaf := uint32(0x80000002); leaf <= 0x80000004; leaf++ {
		cpuidRegs(leaf, &r)
		for _, v := range r {
			b = binary.LittleEndian.AppendUint32(b, v)
		}
	}
	return cleanBrand(b)
}
