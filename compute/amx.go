package compute

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/glmv/glmv/internal/half"
)

// The AMX kernels (amx_amd64.s) and their Go twins (here, run on the tile
// model of amx_model.go) compute 32×32 blocks of MatMul's output:
//
//   - amxBF16: bf16 weights. Each activation x is split into three bf16
//     values (bf16Split3), whose sum carries 24 significant bits of x
//     (relative error ≤ 2⁻²⁴ or so, x's own f32 precision), and each is
//     dotted with the weights by TDPBF16PS, accumulating in f32: the
//     product of f32 activations with bf16 weights to f32 GEMM accuracy,
//     at a third of the tile unit's bf16 rate. A is packed in tiles: for
//     each step of 32 columns, for each of the 3 parts, the 32 tokens'
//     64-byte rows (tokens 0–15, then 16–31).
//   - amxBF16x2: f16 weights, each split exactly into two bf16 values
//     w0 + w1 (f16's 11 significant bits fit in two bf16), multiplied as
//     x0·w0 + x1·w0 + x2·w0 + x0·w1 + x1·w1 (the dropped x2·w1 is below
//     2⁻²⁴ of the product): 5 tile products a step instead of 3.
//   - amxBF16x1: the pool's Precision asks for bf16 arithmetic (see
//     useBF16): activations and weights are rounded to bf16 once, as the
//     bf16 GEMM (gemm_bf16.go) rounds them, and each step is one tile
//     product, at the tile unit's full bf16 rate (3× amxBF16's). A is
//     not packed: the tiles are loaded from the rounded activation rows
//     (roundRowsBF16, shared with the bf16 GEMM) with their row stride,
//     and the weights are packed by PackPanelBF16 (width 16), whose
//     layout is the B tile's.
//   - amxQ8: Q8_0 and Q4_0 weights, in the split or ggml layouts (Q4_0
//     unpacked to int8 −8..7 when packed), against activations quantized per 32-column block (quantQ8, as the
//     row kernels use). One TDPBSSD per block of 32 gives the exact
//     integer dot; the per-block scales are then applied in f32 (AVX-512
//     in the asm): acc += float32(dot) · (xd·wd).
//
// Tiles: tmm0–3 hold the 2×2 grid of 16×16 accumulators (tokens 0–15 and
// 16–31 × weight rows 0–15 and 16–31), tmm4–5 the two 16-token halves of
// A, tmm6–7 the two 16-row panels of B. Weights are packed in the VNNI
// layouts of the dot instructions, by the AVX-512 GEMMs' packing: for
// bf16, per 16 rows, for each pair of columns k, k+1, the 2 values of each
// of the 16 rows side by side (64 bytes: PackPanelBF16 with width 16); for
// Q8_0 and Q4_0, per 32 rows, for each block of 32 columns, 8 groups of 4
// columns, the 4 bytes of each of the 16 rows 0–15 side by side, then of
// rows 16–31 (packQPanel: a B tile is every other 64-byte line, read with
// a stride of 128 bytes), and the rows' block scales apart.
//
// Each kernel call is self-contained: LDTILECFG at entry, TILERELEASE at
// exit, no tile state kept between Go calls (see amx_amd64.go for why that
// is safe under the Go runtime's signals and preemption).

const (
	amxTM           = 32                        // tokens per kernel call
	amxBF16Parts    = 3                         // bf16 values each activation is split into
	amxBF16AStep    = amxBF16Parts * amxTM * 64 // packed A bytes per step of 32 columns
	amxTN           = 32                        // weight rows per kernel call
	amxBF16Step     = 32                        // k columns per TDPBF16PS
	amxBF16PanelRow = 64                        // bytes per packed pair of columns (16 rows × 2 bf16)
	amxQ8BlockBytes = amxTN * qBlock            // packed weight bytes per 32 rows per block of 32
	amxQ8ABlock     = amxTM * qBlock            // packed A bytes per block of 32
	amxScratch      = 4*16*64 + amxTM*amxTN*4   // int32 tiles, then the f32 accumulator
)

// Tile configurations: all tiles 16×64 bytes for bf16; for Q8_0 the A tiles
// hold one 32-byte block per row and the B tiles its 8 groups of 4.
var (
	amxBF16Config = newAMXTileConfig(
		[8]int{16, 16, 16, 16, 16, 16, 16, 16},
		[8]int{64, 64, 64, 64, 64, 64, 64, 64})
	amxQ8Config = newAMXTileConfig(
		[8]int{16, 16, 16, 16, 16, 16, 8, 8},
		[8]int{64, 64, 64, 64, 32, 32, 64, 64})
)

// amxOpcode names the AMX instructions the kernels use.
type amxOpcode uint8

const (
	amxLdtilecfg amxOpcode = iota
	amxTilerelease
	amxTilezero
	amxTileloadd
	amxTilestored
	amxTdpbssd
	amxTdpbf16ps
)

// x86 general-purpose register numbers (as encoded), for the registers the
// kernels address tiles through.
const (
	rAX, rCX, rDX, rBX = 0, 1, 2, 3
	rSI, rDI           = 6, 7
	rR8, rR9, rR10     = 8, 9, 10
	rR11, rR12, rR13   = 11, 12, 13
)

var gpNames = [16]string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}

// amxInst is one AMX instruction: tile t (the destination, or the tile
// stored), and for the dot products sources a and b; memory operands are
// base + index·1 + disp (LDTILECFG: base only).
type amxInst struct {
	op          amxOpcode
	t, a, b     int
	base, index int
	disp        int32
}

func ldtilecfg(base int) amxInst { return amxInst{op: amxLdtilecfg, base: base} }
func tilerelease() amxInst       { return amxInst{op: amxTilerelease} }
func tilezero(t int) amxInst     { return amxInst{op: amxTilezero, t: t} }
func tileloadd(t int, disp int32, base, index int) amxInst {
	return amxInst{op: amxTileloadd, t: t, base: base, index: index, disp: disp}
}
func tilestored(t int, disp int32, base, index int) amxInst {
	return amxInst{op: amxTilestored, t: t, base: base, index: index, disp: disp}
}
func tdpbssd(c, a, b int) amxInst   { return amxInst{op: amxTdpbssd, t: c, a: a, b: b} }
func tdpbf16ps(c, a, b int) amxInst { return amxInst{op: amxTdpbf16ps, t: c, a: a, b: b} }

// encode returns the instruction's bytes per the SDM (VEX.128.0F38.W0,
// opcode 49/4B/5E/5C): what the macros of amx_amd64.h emit and what GNU as
// assembles for gnu(); the tests check both.
func (in amxInst) encode() []byte {
	vex := func(pp, vvvv byte, x, b int) []byte {
		b1 := byte(0xe2) ^ byte(x>>3)<<6 ^ byte(b>>3)<<5
		return []byte{0xc4, b1, (^vvvv&15)<<3 | pp}
	}
	mem := func(reg int) []byte { // ModRM + SIB + displacement
		sib := byte(in.index&7)<<3 | byte(in.base&7)
		switch {
		case in.disp == 0 && in.base&7 != 5:
			return []byte{byte(reg)<<3 | 4, sib}
		case in.disp >= -128 && in.disp < 128:
			return []byte{0x40 | byte(reg)<<3 | 4, sib, byte(in.disp)}
		}
		return binary.LittleEndian.AppendUint32([]byte{0x80 | byte(reg)<<3 | 4, sib}, uint32(in.disp))
	}
	switch in.op {
	case amxLdtilecfg:
		return append(vex(0, 0, 0, in.base), 0x49, byte(in.base&7))
	case amxTilerelease:
		return append(vex(0, 0, 0, 0), 0x49, 0xc0)
	case amxTilezero:
		return append(vex(3, 0, 0, 0), 0x49, 0xc0|byte(in.t)<<3)
	case amxTileloadd:
		return append(append(vex(3, 0, in.index, in.base), 0x4b), mem(in.t)...)
	case amxTilestored:
		return append(append(vex(2, 0, in.index, in.base), 0x4b), mem(in.t)...)
	case amxTdpbssd:
		return append(vex(3, byte(in.b), 0, 0), 0x5e, 0xc0|byte(in.t)<<3|byte(in.a))
	case amxTdpbf16ps:
		return append(vex(2, byte(in.b), 0, 0), 0x5c, 0xc0|byte(in.t)<<3|byte(in.a))
	}
	panic("compute: unknown AMX opcode")
}

// gnu returns the instruction in AT&T syntax as GNU objdump prints it.
func (in amxInst) gnu() string {
	mem := func() string {
		d := ""
		if in.disp != 0 {
			d = fmt.Sprintf("%#x", in.disp)
		}
		return fmt.Sprintf("%s(%%%s,%%%s,1)", d, gpNames[in.base], gpNames[in.index])
	}
	switch in.op {
	case amxLdtilecfg:
		return fmt.Sprintf("ldtilecfg (%%%s)", gpNames[in.base])
	case amxTilerelease:
		return "tilerelease"
	case amxTilezero:
		return fmt.Sprintf("tilezero %%tmm%d", in.t)
	case amxTileloadd:
		return fmt.Sprintf("tileloadd %s,%%tmm%d", mem(), in.t)
	case amxTilestored:
		return fmt.Sprintf("tilestored %%tmm%d,%s", in.t, mem())
	case amxTdpbssd:
		return fmt.Sprintf("tdpbssd %%tmm%d,%%tmm%d,%%tmm%d", in.b, in.a, in.t)
	case amxTdpbf16ps:
		return fmt.Sprintf("tdpbf16ps %%tmm%d,%%tmm%d,%%tmm%d", in.b, in.a, in.t)
	}
	panic("compute: unknown AMX opcode")
}

// amxKernelDesc is the AMX instruction sequence of one asm kernel, in the
// order it appears in the code: the prologue, the loop body (run once per
// step of K), the epilogue. The asm (checked by disassembly in the tests)
// and the Go twin (which executes these very values) issue it alike.
type amxKernelDesc struct {
	symbol                   string
	prologue, body, epilogue []amxInst
	// advance lists the pointer increments after each run of the body,
	// in code order (the only ADD instructions of the kernel).
	advance []amxAdvance
}

// amxAdvance adds bytes to the address in register reg.
type amxAdvance struct{ reg, bytes int }

// The four accumulator tiles live in the scratch buffer (CX) tile after
// tile, 1 KiB each, 64 bytes a row (R11 = 64).
var amxAccTiles = []amxInst{
	tileloadd(0, 0, rCX, rR11), tileloadd(1, 1024, rCX, rR11),
	tileloadd(2, 2048, rCX, rR11), tileloadd(3, 3072, rCX, rR11),
}

var amxStoreAcc = []amxInst{
	tilestored(0, 0, rCX, rR11), tilestored(1, 1024, rCX, rR11),
	tilestored(2, 2048, rCX, rR11), tilestored(3, 3072, rCX, rR11),
}

// amxBF16Desc: SI = the packed A step (3 parts × 2 tiles of 1 KiB);
// R9, R10 = the two B panels; R11 = 64, the row stride of every tile.
var amxBF16Desc = amxKernelDesc{
	symbol:   "amxBF16Kernel",
	prologue: append([]amxInst{ldtilecfg(rAX)}, amxAccTiles...),
	body:     amxBF16Body(rR9, rR10, 3),
	epilogue: append(append([]amxInst{}, amxStoreAcc...), tilerelease()),
	advance:  []amxAdvance{{rSI, amxBF16AStep}, {rR9, 1024}, {rR10, 1024}},
}

// amxBF16x2Desc is amxBF16Desc with the second bf16 part of the weights
// in the panels R8 and DX, multiplied by the first two parts of A.
var amxBF16x2Desc = amxKernelDesc{
	symbol:   "amxBF16x2Kernel",
	prologue: amxBF16Desc.prologue,
	body:     append(amxBF16Body(rR9, rR10, 3), amxBF16Body(rR8, rDX, 2)...),
	epilogue: amxBF16Desc.epilogue,
	advance:  append(amxBF16Desc.advance[:3:3], amxAdvance{rR8, 1024}, amxAdvance{rDX, 1024}),
}

// amxBF16x1Desc: SI, DI = tokens 0–15 and 16–31 of the rounded
// activation rows at step 0 (row stride BX), R9, R10 = the two B panels.
var amxBF16x1Desc = amxKernelDesc{
	symbol:   "amxBF16x1Kernel",
	prologue: amxBF16Desc.prologue,
	body: []amxInst{tileloadd(6, 0, rR9, rR11), tileloadd(7, 0, rR10, rR11),
		tileloadd(4, 0, rSI, rBX), tileloadd(5, 0, rDI, rBX),
		tdpbf16ps(0, 4, 6), tdpbf16ps(1, 4, 7), tdpbf16ps(2, 5, 6), tdpbf16ps(3, 5, 7)},
	epilogue: amxBF16Desc.epilogue,
	advance: []amxAdvance{{rSI, 2 * amxBF16Step}, {rDI, 2 * amxBF16Step},
		{rR9, 1024}, {rR10, 1024}},
}

// amxBF16Body loads the B panels at b0 and b1 into tmm6 and tmm7, then for
// each of the first parts of A (SI + 2 KiB per part) loads its two tiles
// into tmm4 and tmm5 and adds the four products to tmm0–3.
func amxBF16Body(b0, b1, parts int) []amxInst {
	ins := []amxInst{tileloadd(6, 0, b0, rR11), tileloadd(7, 0, b1, rR11)}
	for p := range parts {
		ins = append(ins, tileloadd(4, int32(p*2048), rSI, rR11), tileloadd(5, int32(p*2048+1024), rSI, rR11),
			tdpbf16ps(0, 4, 6), tdpbf16ps(1, 4, 7), tdpbf16ps(2, 5, 6), tdpbf16ps(3, 5, 7))
	}
	return ins
}

// amxQ8Desc: SI, DI = tokens 0–15 and 16–31 of the block's packed A
// (32 bytes a row, BX = 32); R9, R10 = weight rows 0–15 and 16–31 of the
// block's lines in the weight panel (packQPanel's layout: 128 bytes a B
// tile row, DX = 128); R12, R13 = the block's activation and weight
// scales. After each block's TILESTOREDs the asm applies the scales with
// AVX-512 (twin: amxQ8Scale).
var amxQ8Desc = amxKernelDesc{
	symbol:   "amxQ8Kernel",
	prologue: []amxInst{ldtilecfg(rAX)},
	body: append([]amxInst{
		tilezero(0), tilezero(1), tilezero(2), tilezero(3),
		tileloadd(4, 0, rSI, rBX), tileloadd(5, 0, rDI, rBX),
		tileloadd(6, 0, rR9, rDX), tileloadd(7, 0, rR10, rDX),
		tdpbssd(0, 4, 6), tdpbssd(1, 4, 7), tdpbssd(2, 5, 6), tdpbssd(3, 5, 7),
	}, amxStoreAcc...),
	epilogue: []amxInst{tilerelease()},
	advance: []amxAdvance{{rSI, amxQ8ABlock}, {rDI, amxQ8ABlock},
		{rR9, amxQ8BlockBytes}, {rR10, amxQ8BlockBytes}, {rR12, amxTM * 4}, {rR13, amxTN * 4}},
}

// amxRegs is the twin's register file: addresses (p) and integers (v).
type amxRegs struct {
	p [16]amxPtr
	v [16]int
}

// exec runs one described instruction on the model.
func (u *amxUnit) exec(in amxInst, r *amxRegs) {
	switch in.op {
	case amxLdtilecfg:
		p := r.p[in.base]
		if p.off < 0 || p.off+64 > len(p.mem) {
			amxFaultf("#PF: LDTILECFG")
		}
		u.ldtilecfg((*amxTileConfig)(p.mem[p.off:]))
	case amxTilerelease:
		u.tilerelease()
	case amxTilezero:
		u.tilezero(in.t)
	case amxTileloadd:
		u.tileloadd(in.t, r.p[in.base].add(int(in.disp)), r.v[in.index])
	case amxTilestored:
		u.tilestored(in.t, r.p[in.base].add(int(in.disp)), r.v[in.index])
	case amxTdpbssd:
		u.tdpbssd(in.t, in.a, in.b)
	case amxTdpbf16ps:
		u.tdpbf16ps(in.t, in.a, in.b)
	}
}

// advance applies a kernel's pointer increments.
func (r *amxRegs) advance(adv []amxAdvance) {
	for _, a := range adv {
		r.p[a.reg] = r.p[a.reg].add(a.bytes)
	}
}

func (u *amxUnit) run(seq []amxInst, r *amxRegs) {
	for _, in := range seq {
		u.exec(in, r)
	}
}

// runKernel runs the kernel d with n runs of its loop body.
func (u *amxUnit) runKernel(d amxKernelDesc, r *amxRegs, n int) {
	u.run(d.prologue, r)
	for range n {
		u.run(d.body, r)
		r.advance(d.advance)
	}
	u.run(d.epilogue, r)
}

// amxTiles runs the tile kernels: on the hardware (amx_amd64.go) or on
// the model (amxModelTiles). Each takes a 32-token block of A, two packed
// 16-row weight panels b0 and b1, and the scratch c (amxScratch bytes)
// whose accumulator it adds to.
type amxTiles interface {
	// bf16 adds the products of n steps of 32 columns: a holds, per
	// step, the 3 parts' tiles (amxBF16AStep bytes); c's first 4 KiB
	// hold the f32 accumulators, tile after tile. With b0lo and b1lo
	// (the weights' second bf16 parts) it runs amxBF16x2, else amxBF16.
	bf16(a, b0, b1, b0lo, b1lo, c []byte, n int)
	// bf16x1 is amxBF16x1: like bf16, with a the 32 bf16-rounded
	// activation rows (lda bytes apart) from the first step's column on,
	// one part, and the weights' one part in b0 and b1.
	bf16x1(a []byte, lda int, b0, b1, c []byte, n int)
	// q8 adds the scaled products of nb blocks: a holds, per block, the
	// 32 tokens' 32 int8 (amxQ8ABlock bytes), xd their scales (32 a
	// block), b the 32 weight rows' lines (packQPanel, amxQ8BlockBytes a
	// block) and ws their scales (32 a block); c's int32 tiles are
	// scratch and its second 4 KiB the f32 accumulator, row-major 32×32.
	q8(a []byte, xd []float32, b []byte, ws []float32, c []byte, nb int)
}

// checkBF16 and checkQ8 panic unless the kernels' operands cover every
// byte they touch, so a driver bug panics in Go rather than in assembly.
func amxCheckBF16(a, b0, b1, b0lo, b1lo, c []byte, n int) {
	if n < 1 || len(a) < n*amxBF16AStep || len(b0) < n*1024 || len(b1) < n*1024 || len(c) < amxScratch ||
		(b0lo != nil || b1lo != nil) && (len(b0lo) < n*1024 || len(b1lo) < n*1024) {
		panic("compute: amx bf16 kernel operands too small")
	}
}

func amxCheckBF16x1(a []byte, lda int, b0, b1, c []byte, n int) {
	if n < 1 || lda < n*2*amxBF16Step || len(a) < (amxTM-1)*lda+n*2*amxBF16Step ||
		len(b0) < n*1024 || len(b1) < n*1024 || len(c) < amxScratch {
		panic("compute: amx bf16x1 kernel operands too small")
	}
}

func amxCheckQ8(a []byte, xd []float32, b []byte, ws []float32, c []byte, nb int) {
	if nb < 1 || len(a) < nb*amxQ8ABlock || len(xd) < nb*amxTM ||
		len(b) < nb*amxQ8BlockBytes || len(ws) < nb*amxTN || len(c) < amxScratch {
		panic("compute: amx q8 kernel operands too small")
	}
}

// amxModelTiles runs the kernels' Go twins on the tile model.
type amxModelTiles struct{}

// bf16 is the twin of amxBF16Kernel and amxBF16x2Kernel.
func (amxModelTiles) bf16(a, b0, b1, b0lo, b1lo, c []byte, n int) {
	amxCheckBF16(a, b0, b1, b0lo, b1lo, c, n)
	d := amxBF16Desc
	var u amxUnit
	var r amxRegs
	r.p[rAX] = amxPtr{amxBF16Config[:], 0}
	r.p[rSI] = amxPtr{a, 0}
	r.p[rR9] = amxPtr{b0, 0}
	r.p[rR10] = amxPtr{b1, 0}
	if b0lo != nil {
		d = amxBF16x2Desc
		r.p[rR8] = amxPtr{b0lo, 0}
		r.p[rDX] = amxPtr{b1lo, 0}
	}
	r.p[rCX] = amxPtr{c, 0}
	r.v[rR11] = 64
	u.runKernel(d, &r, n)
}

// bf16x1 is the twin of amxBF16x1Kernel.
func (amxModelTiles) bf16x1(a []byte, lda int, b0, b1, c []byte, n int) {
	amxCheckBF16x1(a, lda, b0, b1, c, n)
	var u amxUnit
	var r amxRegs
	r.p[rAX] = amxPtr{amxBF16Config[:], 0}
	r.p[rSI] = amxPtr{a, 0}
	r.v[rBX] = lda
	r.p[rDI] = r.p[rSI].add(16 * lda)
	r.p[rR9] = amxPtr{b0, 0}
	r.p[rR10] = amxPtr{b1, 0}
	r.p[rCX] = amxPtr{c, 0}
	r.v[rR11] = 64
	u.runKernel(amxBF16x1Desc, &r, n)
}

// q8 is the twin of amxQ8Kernel.
func (amxModelTiles) q8(a []byte, xd []float32, b []byte, ws []float32, c []byte, nb int) {
	amxCheckQ8(a, xd, b, ws, c, nb)
	var u amxUnit
	var r amxRegs
	r.p[rAX] = amxPtr{amxQ8Config[:], 0}
	r.p[rCX] = amxPtr{c, 0}
	r.v[rR11] = 64
	r.p[rSI] = amxPtr{a, 0}
	r.v[rBX] = qBlock
	r.p[rDI] = r.p[rSI].add(16 * qBlock)
	r.v[rDX] = 4 * amxTN
	r.p[rR9] = amxPtr{b, 0}
	r.p[rR10] = r.p[rR9].add(64)
	r.p[rR12] = amxPtr{bytesOf(xd), 0}
	r.p[rR13] = amxPtr{bytesOf(ws), 0}
	u.run(amxQ8Desc.prologue, &r)
	for range nb {
		u.run(amxQ8Desc.body, &r)
		amxQ8Scale(c, r.p[rR12], r.p[rR13])
		r.advance(amxQ8Desc.advance)
	}
	u.run(amxQ8Desc.epilogue, &r)
}

// amxQ8Scale is the twin of the asm's per-block AVX-512 part (Q8SCALE):
// for each token m and weight row n,
// acc[m][n] += float32(dot[m][n]) · (xd[m]·wd[n]), each operation rounded
// to f32 in this order (VMULPS, VCVTDQ2PS, VMULPS, VADDPS), where dot is
// read from the stored int32 tiles, xd from the 32 floats at xdp and wd
// from the 32 at wsp.
func amxQ8Scale(c []byte, xdp, wsp amxPtr) {
	var wd [amxTN]float32
	for n := range amxTN {
		wd[n] = math.Float32frombits(binary.LittleEndian.Uint32(wsp.mem[wsp.off+4*n:]))
	}
	for m := range amxTM {
		for n := range amxTN {
			tile := m/16*2 + n/16
			dot := int32(binary.LittleEndian.Uint32(c[tile*1024+m%16*64+n%16*4:]))
			o := 4096 + m*128 + n*4
			acc := math.Float32frombits(binary.LittleEndian.Uint32(c[o:]))
			xd := math.Float32frombits(binary.LittleEndian.Uint32(xdp.mem[xdp.off+4*m:]))
			s := float32(xd * wd[n])
			prod := float32(float32(dot) * s)
			binary.LittleEndian.PutUint32(c[o:], math.Float32bits(acc+prod))
		}
	}
}

// bf16Split3 splits x into three bf16 values: v0 = bf16(x),
// v1 = bf16(x − v0), v2 = bf16(x − v0 − v1) (the subtractions are exact),
// so v0 + v1 + v2 is x to 24 significant bits. When v0 is not finite the
// other two are zero. (bf16Split with 3 parts, unrolled.)
func bf16Split3(x float32) (v0, v1, v2 uint16) {
	rne := func(u uint32) uint16 { return uint16((u + 0x7fff + (u>>16)&1) >> 16) }
	u := math.Float32bits(x)
	if u&0x7f800000 == 0x7f800000 {
		return half.F32ToBF16(x), 0, 0 // Inf or NaN
	}
	v0 = rne(u)
	if v0&0x7f80 == 0x7f80 {
		return v0, 0, 0 // rounded up to Inf
	}
	r := x - math.Float32frombits(uint32(v0)<<16)
	v1 = rne(math.Float32bits(r))
	v2 = rne(math.Float32bits(r - math.Float32frombits(uint32(v1)<<16)))
	return v0, v1, v2
}

// amxSplitRowGo writes the 3 bf16 parts of the activation row x into the
// packed A of its token block, dst starting at the token's row: for each
// step s of 32 columns, part i of column c at dst[s·3072 + i·1024 + c]
// (3 KiB a part, tokens 32 values apart).
func amxSplitRowGo(dst []uint16, x []float32) {
	for s := 0; s*amxBF16Step < len(x); s++ {
		d := dst[s*amxBF16AStep/2:]
		for c, v := range x[s*amxBF16Step : min(len(x), (s+1)*amxBF16Step)] {
			d[c], d[1024+c], d[2048+c] = bf16Split3(v)
		}
	}
}

// bf16Split sets v[i] = bf16(x − v[0] − … − v[i−1]), stopping (the rest
// zero) after a part that is not finite.
func bf16Split(x float32, v []uint16) {
	clear(v)
	for i := range v {
		v[i] = half.F32ToBF16(x)
		h := half.BF16ToF32(v[i])
		if math.IsInf(float64(h), 0) || h != h {
			break
		}
		x -= h
	}
}

// amxPackBF16 writes the packed 16-row panel of BF16 or F16 W rows
// [n0, n0+16) (zero past W.Rows) for the steps [s0, s1) of 32 columns
// (zero past W.Cols) into dst for the f32-accurate kernels: for BF16 the
// weights as they are ((s1−s0)·1 KiB, amxPackPanel); for F16 the panel of
// the values' first bf16 parts, then that of their second parts.
func amxPackBF16(k *kernels, dst []byte, w *Matrix, n0, s0, s1 int) {
	if w.DType != F16 {
		amxPackPanel(k, dst, w, n0, s0, s1)
		return
	}
	K := w.Cols
	pw := (s1 - s0) * 256 // uint32 words of one part
	d := amxWords(dst[:2*pw*4])
	clear(d)
	split := f16BF16Parts()
	c0 := min(K, s0*amxBF16Step)
	for j := range 16 {
		n := n0 + j
		if n >= w.Rows {
			break
		}
		row := w.U16[n*K+c0 : n*K+min(K, s1*amxBF16Step)]
		for kk := 0; 2*kk < len(row); kk++ {
			v0, v1 := row[2*kk], uint16(0)
			if 2*kk+1 < len(row) {
				v1 = row[2*kk+1]
			}
			o := kk*16 + j
			p0, p1 := split[v0], split[v1]
			d[o] = p0&0xffff | p1<<16
			d[pw+o] = p0>>16 | p1&0xffff0000
		}
	}
}

// amxPackPanel writes the packed 16-row panel of W rows [n0, n0+16) for
// the steps [s0, s1) of 32 columns into dst ((s1−s0)·1 KiB): the B tiles
// of TDPBF16PS, which are PackPanelBF16's layout with width 16 (its
// rounding too: bf16 weights copied, f16 and f32 ones rounded to nearest
// even, as the bf16 GEMM packs them), zero past W.Cols.
func amxPackPanel(k *kernels, dst []byte, w *Matrix, n0, s0, s1 int) {
	d := amxWords(dst[:(s1-s0)*1024])
	k0 := s0 * amxBF16Step
	kc := min(w.Cols, s1*amxBF16Step) - k0
	var tmp []float32
	var tmpw []uint32
	if w.DType != BF16 {
		tmp, tmpw = make([]float32, kc), make([]uint32, (kc+1)/2)
	}
	packPanelBF16(k, d, tmp, tmpw, w, n0, k0, kc, 16)
	clear(d[(kc+1)/2*16:])
}

// f16BF16Parts maps each f16 bit pattern to its two bf16 parts (bf16Split
// of its value): the first in the low 16 bits, the second in the high.
var f16BF16Parts = sync.OnceValue(func() *[1 << 16]uint32 {
	var t [1 << 16]uint32
	var v [2]uint16
	for h := range t {
		bf16Split(F16ToF32(uint16(h)), v[:])
		t[h] = uint32(v[0]) | uint32(v[1])<<16
	}
	return &t
})

// amxWords views b (4-byte aligned, as the packing buffers are) as uint32
// words; the kernels read them little-endian, as amd64 stores them.
func amxWords(b []byte) []uint32 { return amxView[uint32](b) }

// amxView views b (4-byte aligned) as 4-byte values.
func amxView[E uint32 | int32 | float32](b []byte) []E {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*E)(unsafe.Pointer(&b[0])), len(b)/4)
}

// amxDefaultBlocking: a worker packs 8 32-row weight blocks over 32 steps
// (bf16, f32-accurate), 64 steps (bf16, one part) or 64 blocks (Q8_0) of
// 32 columns at a time — 512 KiB of bf16 panels, 1 MiB of f16 ones or of
// one-part ones, 576 KiB of Q8_0 ones, for L2 — and runs every token
// block against them, so the activations stream past once per 256 weight
// rows, and each kernel call does enough work (384 tile products for the
// f32-accurate bf16 kernel, 256 for the one-part and the Q8_0 ones) to
// hide adding its 32×32 result to out (amxAddOut, about 30 ns with
// AVX-512 on a Zen 5 from L1). Not yet tuned on AMX hardware.
var amxDefaultBlocking = amxBlocking{group: 8, bf16KC: 32, bf16x1KC: 64, q8KC: 64}

// amxBlocking is the cache blocking of the AMX MatMul: weight blocks
// packed together, and the chunk of steps (bf16: f32-accurate, one part)
// or blocks (Q8_0) of columns packed at a time.
type amxBlocking struct{ group, bf16KC, bf16x1KC, q8KC int }

// amxMinT is the smallest number of token rows MatMul sends to the AMX
// kernels (one full token block); not yet tuned on AMX hardware.
const amxMinT = amxTM

// amxMatMul computes MatMul through the tile kernels tk, reporting false
// (having done nothing) for the formats they do not take. With bf16 (the
// pool's precision asks for bf16 arithmetic: useBF16) F32, BF16 and F16
// weights take the one-part kernel, rounded as the bf16 GEMM rounds them;
// otherwise BF16 and F16 weights take the f32-accurate multi-part kernels,
// and in both cases Q8_0 and Q4_0 the integer one.
func (p *Pool) amxMatMul(tk amxTiles, k *kernels, out, x []float32, T int, w *Matrix, bf16 bool) bool {
	return p.amxMatMulBlocked(tk, k, out, x, T, w, bf16, amxDefaultBlocking)
}

// amxMatMulBlocked is amxMatMul with the cache blocking bl.
func (p *Pool) amxMatMulBlocked(tk amxTiles, k *kernels, out, x []float32, T int, w *Matrix, bf16 bool, bl amxBlocking) bool {
	switch {
	case bf16 && (w.DType == F32 || w.DType == BF16 || w.DType == F16):
		p.amxBF16x1(tk, k, out, x, T, w, bl)
	case w.DType == BF16 || w.DType == F16:
		p.amxBF16(tk, k, out, x, T, w, bl)
	case intGEMMFormat(w.DType):
		p.amxQ8(tk, k, out, x, T, w, bl)
	default:
		return false
	}
	return true
}

// amxBF16x1 is MatMul in bf16 through the one-part kernel: the same
// rounded operands as gemmBF16, summed in f32 in the tile unit's order.
func (p *Pool) amxBF16x1(tk amxTiles, k *kernels, out, x []float32, T int, w *Matrix, bl amxBlocking) {
	N, K := w.Rows, w.Cols
	steps := (K + amxBF16Step - 1) / amxBF16Step
	nt := (T + amxTM - 1) / amxTM
	xb, xs := p.roundRowsBF16(k, x, T, K, nt*amxTM, steps*amxBF16Step/2)
	a, lda := bytesOf(xb), 4*xs
	p.amxRun(out, T, N, steps, bl.bf16x1KC, bl.group, 2*1024, 0, false,
		func(dst, _ []byte, n0, s0, s1 int) {
			half := (s1 - s0) * 1024
			amxPackPanel(k, dst[:half], w, n0, s0, s1)
			amxPackPanel(k, dst[half:], w, n0+16, s0, s1)
		},
		func(tb, s0, s1 int, b, c []byte) {
			o := tb*amxTM*lda + s0*2*amxBF16Step
			half := (s1 - s0) * 1024
			tk.bf16x1(a[o:o+(amxTM-1)*lda+(s1-s0)*2*amxBF16Step], lda, b[:half], b[half:], c, s1-s0)
		},
	)
}

func (p *Pool) amxBF16(tk amxTiles, k *kernels, out, x []float32, T int, w *Matrix, bl amxBlocking) {
	N, K := w.Rows, w.Cols
	kp := (K + amxBF16Step - 1) / amxBF16Step * amxBF16Step
	nt := (T + amxTM - 1) / amxTM
	steps := kp / amxBF16Step
	ablk := steps * amxBF16AStep
	// a: per token block, per step of 32 columns, per part, the 32
	// tokens' rows of 64 bytes.
	a := make([]byte, nt*ablk)
	a16 := unsafe.Slice((*uint16)(unsafe.Pointer(&a[0])), len(a)/2)
	p.For(T, 8, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			blk := a16[(t/amxTM)*ablk/2:][:ablk/2]
			amxSplitRow(blk[(t%amxTM)*32:], x[t*K:(t+1)*K])
		}
	})
	parts := 1
	if w.DType == F16 {
		parts = 2
	}
	p.amxRun(out, T, N, steps, bl.bf16KC, bl.group, 2*1024*parts, 0, false,
		func(dst, _ []byte, n0, s0, s1 int) {
			half := (s1 - s0) * 1024 * parts
			amxPackBF16(k, dst[:half], w, n0, s0, s1)
			amxPackBF16(k, dst[half:], w, n0+16, s0, s1)
		},
		func(tb, s0, s1 int, b, c []byte) {
			pb := (s1 - s0) * 1024 // bytes of one bf16 part of a panel
			b0, b1 := b[:pb*parts], b[pb*parts:]
			var b0lo, b1lo []byte
			if parts == 2 {
				b0lo, b1lo = b0[pb:], b1[pb:]
			}
			tk.bf16(a[tb*ablk+s0*amxBF16AStep:tb*ablk+s1*amxBF16AStep], b0[:pb], b1[:pb], b0lo, b1lo, c, s1-s0)
		},
	)
}

func (p *Pool) amxQ8(tk amxTiles, k *kernels, out, x []float32, T int, w *Matrix, bl amxBlocking) {
	N, K := w.Rows, w.Cols
	nb := w.BlocksPerRow()
	nt := (T + amxTM - 1) / amxTM
	// a and xdT: per token block, per block of 32 columns, the 32
	// tokens' quantized values (32 bytes each: one A tile row, so the
	// tile loads read 1 KiB in one piece rather than 32 rows a row
	// length apart) and their scales.
	a := make([]byte, nt*nb*amxQ8ABlock)
	xdT := make([]float32, nt*nb*amxTM)
	p.For(T, 8, func(lo, hi int) {
		xq := make([]int8, nb*qBlock)
		xd := make([]float32, nb)
		xs := make([]float32, nb)
		for t := lo; t < hi; t++ {
			k.quantQ8(xq, xd, xs, x[t*K:(t+1)*K])
			tb, m := t/amxTM, t%amxTM
			for b := range nb {
				o := (tb*nb+b)*amxQ8ABlock + m*qBlock
				copy(a[o:o+qBlock], unsafe.Slice((*byte)(unsafe.Pointer(&xq[b*qBlock])), qBlock))
				xdT[(tb*nb+b)*amxTM+m] = xd[b]
			}
		}
	})
	// A packed weight block over nbk blocks of columns: packQPanel's
	// lines (the B tiles), then the weight scales, then the offsets of
	// the integer GEMM (which the signed TDPBSSD does not use).
	const unit = amxQ8BlockBytes + 2*4*amxTN
	lines := func(nbk int) int { return nbk * amxQ8BlockBytes }
	scales := func(nbk int) int { return lines(nbk) + nbk*4*amxTN }
	p.amxRun(out, T, N, nb, bl.q8KC, bl.group, unit, packStageLen(w, min(nb, bl.q8KC)), true,
		func(dst, stage []byte, n0, b0, b1 int) {
			nbk := b1 - b0
			packQPanel(k, w, n0, b0, nbk, dst[:lines(nbk)], amxView[int32](dst[scales(nbk):]),
				amxView[float32](dst[lines(nbk):scales(nbk)]), stage)
		},
		func(tb, b0, b1 int, b, c []byte) {
			nbk := b1 - b0
			o := tb*nb + b0
			tk.q8(a[o*amxQ8ABlock:(o+nbk)*amxQ8ABlock], xdT[o*amxTM:(o+nbk)*amxTM],
				b[:lines(nbk)], amxView[float32](b[lines(nbk):scales(nbk)]), c, nbk)
		},
	)
}

// amxRun computes out (T×N) 32×32 block by block. The 32-row weight
// blocks are split among the workers, which take them group at a time:
// for each chunk [u0, u1) of kc of the units (steps or blocks of 32
// columns), pack writes the packed weights (unitBytes a unit) of every
// block of the group, given a worker's stage of stageLen bytes, then
// kernel runs every token block tb against each weight block's packed
// weights b with the scratch c, whose result is added to out: with
// rowMajor, row-major at byte 4096 (the q8 kernel's accumulator), else
// tile after tile from byte 0 (the bf16 kernels').
func (p *Pool) amxRun(out []float32, T, N, units, kc, group, unitBytes, stageLen int, rowMajor bool,
	pack func(dst, stage []byte, n0, u0, u1 int), kernel func(tb, u0, u1 int, b, c []byte)) {
	nt := (T + amxTM - 1) / amxTM
	np := (N + amxTN - 1) / amxTN
	p.For(np, 1, func(lo, hi int) {
		bp := make([]byte, group*min(units, kc)*unitBytes)
		stage := make([]byte, stageLen)
		c := make([]byte, amxScratch)
		acc := amxWords(c[:4096]) // where the result is
		if rowMajor {
			acc = amxWords(c[4096:])
		}
		for g := lo; g < hi; g += group {
			ge := min(hi, g+group)
			for t := range T {
				clear(out[t*N+g*amxTN : t*N+min(N, ge*amxTN)])
			}
			for u0 := 0; u0 < units; u0 += kc {
				u1 := min(units, u0+kc)
				blk := (u1 - u0) * unitBytes
				for j := g; j < ge; j++ {
					pack(bp[(j-g)*blk:][:blk], stage, j*amxTN, u0, u1)
				}
				for tb := range nt {
					for j := g; j < ge; j++ {
						clear(acc)
						kernel(tb, u0, u1, bp[(j-g)*blk:][:blk], c)
						amxAddOut(out, acc, rowMajor, tb*amxTM, j*amxTN, T, N)
					}
				}
			}
		}
	})
}

// amxAddOut adds the valid part of a 32×32 f32 result acc (as float32
// bits; row-major, or 4 tiles of 16×16: tokens 0–15 × rows 0–15, × rows
// 16–31, then tokens 16–31) to out's rows [t0, t0+32) and columns
// [n0, n0+32).
func amxAddOut(out []float32, acc []uint32, rowMajor bool, t0, n0, T, N int) {
	if amxAddBlock(out, acc, rowMajor, t0, n0, T, N) {
		return
	}
	amxAddOutGo(out, acc, rowMajor, t0, n0, T, N)
}

// amxAddOutGo is amxAddOut in Go.
func amxAddOutGo(out []float32, acc []uint32, rowMajor bool, t0, n0, T, N int) {
	for m := range min(amxTM, T-t0) {
		row := out[(t0+m)*N+n0 : (t0+m)*N+min(n0+amxTN, N)]
		for h := 0; h < len(row); h += 16 {
			var src []uint32
			if rowMajor {
				src = acc[m*32+h : m*32+h+16]
			} else {
				src = acc[(m/16*2+h/16)*256+m%16*16:][:16]
			}
			dst := row[h:min(len(row), h+16)]
			for i := range dst {
				dst[i] += math.Float32frombits(src[i])
			}
		}
	}
}

// amxSelfTest runs small MatMuls through the tile kernels tk and checks
// them against the tile model and against the kernel set ref:
//
//   - bf16, exact: activations ±(1 + u·2⁻ᶠ) with f = 19 over 8 columns
//     (20 significant bits, so all 3 bf16 parts are used) and f = 15 over
//     40 columns (2 steps), weights in {-1, 0, 1}: every product and
//     partial sum is a multiple of 2⁻ᶠ below 2K, exact in f32 in any
//     order, so tk, the model and ref must agree bit for bit; the same
//     for f16 weights in {-1, 0, 1} (their second bf16 part zero), and
//     for f16 weights ±(1 + v·2⁻¹⁰) (both parts used) against
//     activations of 9 bits (two parts) over 8 columns;
//   - bf16 and f16, random: within 1e-5·Σ|x·w| of the model (the SDM fixes the
//     rounding of each step, but hardware need not match the model's
//     order to the bit) and within 1e-4·Σ|x·w| of ref;
//   - Q8_0 and Q4_0, random: bit for bit with the model (integer dots,
//     then the same f32 operations in the same order) and within
//     1e-4·Σ|x·w| of ref;
//   - the one-part bf16 kernel (bf16 precision) with bf16 and f32
//     weights in {-1, 0, 1} and activations ±(1 + u·2⁻⁷) (exact in
//     bf16) over 40 columns: bit for bit with the model and with ref's
//     bf16 GEMM (Go's where ref has none); with random bf16, f16 and f32
//     weights within 1e-5·Σ|x·w| of both (the same rounded operands,
//     summed in another order).
//
// Shapes are odd on purpose: a partial token block, a partial weight
// block, padded columns.
func amxSelfTest(tk amxTiles, ref *kernels) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	seed := uint32(12345)
	rnd := func() int32 {
		seed = seed*1664525 + 1013904223
		return int32(seed>>8) - (1 << 23) // 24 random bits, signed
	}
	var p *Pool
	for _, tc := range []struct {
		dt      DType
		T, N, K int
		frac    int  // exact cases: fraction bits of the activations
		bf16    bool // the one-part kernel
	}{
		{BF16, 37, 45, 8, 19, false},
		{BF16, 37, 45, 40, 15, false},
		{BF16, 37, 45, 100, 0, false},
		{F16, 37, 45, 8, 19, false},
		{F16, 37, 45, 8, 8, false},
		{F16, 37, 45, 100, 0, false},
		{Q8_0, 37, 45, 100, 0, false},
		{Q4_0, 37, 45, 64, 0, false},
		{BF16, 37, 45, 40, 7, true},
		{F32, 37, 45, 40, 7, true},
		{BF16, 37, 45, 100, 0, true},
		{F16, 37, 45, 100, 0, true},
		{F32, 37, 45, 100, 0, true},
	} {
		exact := tc.frac > 0
		T, N, K := tc.T, tc.N, tc.K
		x, wf := make([]float32, T*K), make([]float32, N*K)
		for i := range x {
			if exact {
				r := rnd()
				x[i] = 1 + float32(r&(1<<tc.frac-1))/float32(int32(1)<<tc.frac)
				if r < 0 {
					x[i] = -x[i]
				}
			} else {
				x[i] = float32(rnd()) / (1 << 23)
			}
		}
		for i := range wf {
			switch {
			case exact && tc.frac <= 8 && !tc.bf16:
				// 11 significant bits: both bf16 parts of an f16.
				r := rnd()
				wf[i] = 1 + float32(r&1023)/1024
				if r < 0 {
					wf[i] = -wf[i]
				}
			case exact:
				wf[i] = max(-1, min(1, float32(rnd()>>22))) // -2..1 clamped
			default:
				wf[i] = float32(rnd()) / (1 << 23)
			}
		}
		w := amxTestWeights(ref, tc.dt, N, K, wf)
		got := make([]float32, T*N)
		model := make([]float32, T*N)
		want := make([]float32, T*N)
		p.amxMatMul(tk, ref, got, x, T, w, tc.bf16)
		p.amxMatMul(amxModelTiles{}, ref, model, x, T, w, tc.bf16)
		if tc.bf16 {
			rk := ref
			if rk.gemmBF16 == nil {
				c := *ref
				c.gemmBF16 = gemmBF16Generic
				rk = &c
			}
			p.gemmBF16(rk, want, x, T, w)
		} else {
			p.matVec(ref, want, x, T, w)
		}
		for t := range T {
			for n := range N {
				var mag float32
				for c := range K {
					mag += abs32(x[t*K+c] * wf[n*K+c])
				}
				i := t*N + n
				bitExact := exact || tc.dt == Q8_0 || tc.dt == Q4_0
				if bitExact && math.Float32bits(got[i]) != math.Float32bits(model[i]) ||
					!bitExact && abs32(got[i]-model[i]) > 1e-5*mag {
					return fmt.Errorf("%v K=%d bf16 %v: out[%d,%d] = %g, tile model %g", tc.dt, K, tc.bf16, t, n, got[i], model[i])
				}
				tol := float32(1e-4)
				if tc.bf16 {
					tol = 1e-5
				}
				if exact && got[i] != want[i] || abs32(got[i]-want[i]) > tol*mag {
					return fmt.Errorf("%v K=%d bf16 %v: out[%d,%d] = %g, %s kernels %g", tc.dt, K, tc.bf16, t, n, got[i], ref.name, want[i])
				}
			}
		}
	}
	return nil
}

// amxTestWeights returns the rows×cols f32 weights wf in dt (F32, BF16,
// F16, Q8_0 or Q4_0), quantized with k's kernels (not through the package's chosen set,
// which the self-test helps choose).
func amxTestWeights(k *kernels, dt DType, rows, cols int, wf []float32) *Matrix {
	w := &Matrix{DType: dt, Rows: rows, Cols: cols}
	switch dt {
	case F32:
		w.F32 = append([]float32(nil), wf[:rows*cols]...)
		return w
	case BF16, F16:
		w.U16 = make([]uint16, rows*cols)
		for i, v := range wf[:rows*cols] {
			if dt == BF16 {
				w.U16[i] = half.F32ToBF16(v)
			} else {
				w.U16[i] = half.F32ToF16(v)
			}
		}
		return w
	}
	nb := w.BlocksPerRow()
	bb, quant := qBlock, k.quantW8
	if dt == Q4_0 {
		bb, quant = qBlock/2, k.quantW4
	}
	w.Q = make([]byte, rows*nb*bb)
	w.Scales = make([]uint16, rows*nb)
	buf := make([]float32, nb*qBlock)
	for r := range rows {
		clear(buf)
		copy(buf, wf[r*cols:(r+1)*cols])
		quant(w.Q[r*nb*bb:(r+1)*nb*bb], w.Scales[r*nb:(r+1)*nb], buf)
	}
	return w
}

// amxProbe is what deciding on the amx kernel set takes: whether the CPU
// has AMX (and what base needs), whether the OS enabled the tile state,
// how to ask for the permission to use it, the tile kernels, and the set
// amx extends (and falls back to).
type amxProbe struct {
	cpu, osEnabled bool
	permit         func() error
	tiles          amxTiles
	base           *kernels
}

// newAMXKernels returns the amx set, or nil and (when the CPU has AMX) a
// note saying why it cannot be used: the OS has not enabled or refused the
// tile state, or the self-test of the tile kernels failed. The set is
// base with MatMul's tile hook.
func newAMXKernels(pr amxProbe) (*kernels, string) {
	switch {
	case !pr.cpu:
		return nil, ""
	case !pr.osEnabled:
		return nil, "amx: the CPU has AMX but the OS has not enabled the tile state (XCR0 bits 17-18); using " + pr.base.name
	}
	if err := pr.permit(); err != nil {
		return nil, fmt.Sprintf("amx: the OS refused the tile state (%v); using %s", err, pr.base.name)
	}
	if err := amxSelfTest(pr.tiles, pr.base); err != nil {
		return nil, fmt.Sprintf("amx: start-up self-test failed (%v); using %s", err, pr.base.name)
	}
	k := *pr.base
	k.name = "amx"
	tiles, base := pr.tiles, pr.base
	// The tiles follow the pool's precision exactly as the bf16 GEMM
	// would be chosen (useBF16, with base's bf16 dot products): bf16
	// arithmetic in one part where it would, f32 accuracy elsewhere.
	k.tileMatMul = func(p *Pool, out, x []float32, T int, w *Matrix) bool {
		return T >= amxMinT && p.amxMatMul(tiles, base, out, x, T, w, p.useBF16(base, w.DType, T))
	}
	return &k, ""
}
