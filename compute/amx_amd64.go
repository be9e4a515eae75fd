//go:build amd64 && !purego

package compute

import (
	"sync"

	"golang.org/x/sys/cpu"
)

// AMX on Linux and the Go runtime.
//
// Using the tiles takes three things: the CPU's AMX-TILE, AMX-INT8 and
// AMX-BF16 (CPUID leaf 7 subleaf 0, EDX bits 24, 25, 22, read by
// golang.org/x/sys/cpu); the OS enabling the tile state in XCR0 (bits 17
// XTILECFG and 18 XTILEDATA, read with XGETBV); and, since Linux 5.16, the
// process asking for permission to use the 8 KiB XTILEDATA state with
// arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA), confirmed with
// ARCH_GET_XCOMP_PERM. Without the permission the first tile instruction
// raises SIGILL. Once it is granted, the kernel saves and restores the
// tile state with the rest of the XSAVE state on every context switch and
// in every signal frame (it checks at the request that the threads'
// alternate signal stacks can hold the larger frame, and refuses
// otherwise).
//
// The Go runtime's signals (SIGURG for asynchronous preemption, SIGPROF)
// therefore leave the tiles intact: the handler runs with the state saved
// and it is restored on return. Asynchronous preemption never stops an
// assembly function (runtime.isAsyncSafePoint refuses functions flagged
// FuncFlagAsm), so a goroutine cannot move to another thread in the
// middle of a kernel. (Go 1.26's signal stacks are 32 KiB, malg(32 * 1024)
// in runtime/os_linux.go; a signal frame with the tile data needs about
// 11 KiB.) And no tile state is kept between calls: each kernel loads its
// configuration at entry (LDTILECFG) and releases the tiles at exit
// (TILERELEASE), so nothing depends on which thread runs the next call.

// Run under emulation: with no AMX machine at hand, TestAMXHardware,
// TestAMXSelfTest and the amx set's kernel tests were run on emulated tiles:
// Bochs (github.com/bochs-emu/Bochs 783b58fd, configured --enable-x86-64
// --enable-avx --enable-evex --enable-amx, cpu model sapphire_rapids) with
// local patches adding XFD (CPUID.(0xD,1).EAX[4], MSRs 0x1c4/0x1c5, #NM
// while armed; Linux enables the tile data only with XFD) and fixing
// TDPBSSD's signed bytes and the XSAVE/XRSTOR of the tile state, guest
// Debian's Linux 6.1.0-56 (6.1.192) booted with clearcpuid=580 (FSRM:
// Bochs leaves IA32_MISC_ENABLE's fast-strings bit clear), a static
// compute.test in a busybox initramfs. The permission request, the
// start-up self-test and TestAMXHardware passed there (the emulator's
// timings mean nothing).

// XCR0 bits of the AMX state components.
const (
	xcr0TileCfg  = 1 << 17
	xcr0TileData = 1 << 18
)

// amxCPU reports the CPU's AMX features (CPUID) and whether the OS has
// enabled the tile state (XCR0).
func amxCPU() (tile, int8, bf16, osEnabled bool) {
	x := cpu.X86
	tile, int8, bf16 = x.HasAMXTile, x.HasAMXInt8, x.HasAMXBF16
	if tile && x.HasOSXSAVE {
		osEnabled = amxXCR0()&(xcr0TileCfg|xcr0TileData) == xcr0TileCfg|xcr0TileData
	}
	return tile, int8, bf16, osEnabled
}

// amxSet is the amx kernel set (nil when unusable) and, when the CPU has
// AMX but the set cannot be used, why. It is worked out once, at the
// first kernel selection: the permission request and the self-test.
var amxSet = sync.OnceValues(func() (*kernels, string) {
	tile, i8, bf, osOK := amxCPU()
	return newAMXKernels(amxProbe{
		cpu:       tile && i8 && bf && hasAVX512(),
		osEnabled: osOK,
		permit:    amxRequestPermission,
		tiles:     amxHWTiles{},
		base:      avx512Kernels,
	})
})

// archKernelNote says why the amx set is not used on a CPU that has AMX.
func archKernelNote() string {
	if !hasAVX512() {
		return ""
	}
	_, note := amxSet()
	return note
}

// amxHWTiles runs the asm kernels after checking their operands.
type amxHWTiles struct{}

func (amxHWTiles) bf16(a, b0, b1, b0lo, b1lo, c []byte, n int) {
	amxCheckBF16(a, b0, b1, b0lo, b1lo, c, n)
	if b0lo != nil {
		amxBF16x2Kernel(amxBF16Config, &a[0], &b0[0], &b1[0], &b0lo[0], &b1lo[0], &c[0], n)
		return
	}
	amxBF16Kernel(amxBF16Config, &a[0], &b0[0], &b1[0], &c[0], n)
}

func (amxHWTiles) bf16x1(a []byte, lda int, b0, b1, c []byte, n int) {
	amxCheckBF16x1(a, lda, b0, b1, c, n)
	amxBF16x1Kernel(amxBF16Config, &a[0], lda, &b0[0], &b1[0], &c[0], n)
}

func (amxHWTiles) q8(a []byte, xd []float32, b []byte, ws []float32, c []byte, nb int) {
	amxCheckQ8(a, xd, b, ws, c, nb)
	amxQ8Kernel(amxQ8Config, &a[0], &xd[0], &b[0], &ws[0], &c[0], nb)
}

//go:noescape
func amxBF16Kernel(cfg *amxTileConfig, a, b0, b1, c *byte, n int)

//go:noescape
func amxBF16x2Kernel(cfg *amxTileConfig, a, b0, b1, b0lo, b1lo, c *byte, n int)

//go:noescape
func amxBF16x1Kernel(cfg *amxTileConfig, a *byte, lda int, b0, b1, c *byte, n int)

//go:noescape
func amxQ8Kernel(cfg *amxTileConfig, a *byte, xd *float32, b *byte, ws *float32, c *byte, nb int)

//go:noescape
func amxXCR0() uint64

//go:noescape
func amxQ8ScaleAVX512(c *byte, xd, ws *float32)

//go:noescape
func amxKernelEntries() (bf16, bf16x2, bf16x1, q8 uintptr)

// amxSplitRow is amxSplitRowGo, with AVX-512 for the whole steps of 32
// columns where the CPU has it. The assembly reports whether any value or
// its first part was not finite; the row is then redone in Go, whose
// results it otherwise matches bit for bit.
func amxSplitRow(dst []uint16, x []float32) {
	full := len(x) / amxBF16Step
	if full == 0 || !hasAVX512() {
		amxSplitRowGo(dst, x)
		return
	}
	_ = dst[(full-1)*amxBF16AStep/2+2048+amxBF16Step-1]
	if amxSplitAVX512(&dst[0], &x[0], full) {
		amxSplitRowGo(dst, x)
		return
	}
	if full*amxBF16Step < len(x) {
		amxSplitRowGo(dst[full*amxBF16AStep/2:], x[full*amxBF16Step:])
	}
}

// amxAddBlock is amxAddOut for a whole 32×32 block (rows t0..t0+31 and
// columns n0..n0+31 of out inside T×N) with AVX-512, reporting false
// (having done nothing) otherwise or without AVX-512. The sums are the
// same as amxAddOut's, element by element.
func amxAddBlock(out []float32, acc []uint32, rowMajor bool, t0, n0, T, N int) bool {
	if t0+amxTM > T || n0+amxTN > N || !hasAVX512() {
		return false
	}
	rs, half := 64, 1024
	if rowMajor {
		rs, half = 128, 64
	}
	_, _ = out[(t0+amxTM-1)*N+n0+amxTN-1], acc[1023]
	amxAddBlockAVX512(&out[t0*N+n0], N, &bytesOf(acc)[0], rs, half)
	return true
}

//go:noescape
func amxAddBlockAVX512(out *float32, ldo int, acc *byte, rs, half int)

//go:noescape
func amxSplitAVX512(dst *uint16, x *float32, steps int) (nonFinite bool)
