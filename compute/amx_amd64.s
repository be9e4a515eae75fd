//go:build amd64 && !purego

#include "textflag.h"
#include "amx_amd64.h"

// The AMX kernels. Their AMX instructions, in code order, are listed in
// amxBF16Desc, amxBF16x2Desc, amxBF16x1Desc and amxQ8Desc (amx.go), whose
// Go twins run the same sequence on the tile model; the tests check the
// disassembly of these functions against those lists. Each call loads its tile
// configuration at entry and releases the tiles at exit: no tile state
// lives across Go calls.

// BF16PART0 and BF16PART(off) load part 0 (at SI) or the part at SI+off
// of the packed A step into tmm4 (tokens 0–15) and tmm5 (tokens 16–31)
// and add their products with the B panels in tmm6 and tmm7 to the
// accumulators tmm0–3.
#define BF16PART0 \
	TILELOADD(4, AMX_REG_SI, AMX_REG_R11); \
	TILELOADD_D32(5, 1024, AMX_REG_SI, AMX_REG_R11); \
	BF16DOTS

#define BF16PART(off) \
	TILELOADD_D32(4, off, AMX_REG_SI, AMX_REG_R11); \
	TILELOADD_D32(5, off+1024, AMX_REG_SI, AMX_REG_R11); \
	BF16DOTS

#define BF16DOTS \
	TDPBF16PS(0, 4, 6); \
	TDPBF16PS(1, 4, 7); \
	TDPBF16PS(2, 5, 6); \
	TDPBF16PS(3, 5, 7)

// BF16ENTRY sets R11 = 64 and loads the configuration (at AX) and the
// accumulators (at CX).
#define BF16ENTRY \
	MOVQ $64, R11; \
	LDTILECFG(AMX_REG_AX); \
	TILELOADD(0, AMX_REG_CX, AMX_REG_R11); \
	TILELOADD_D32(1, 1024, AMX_REG_CX, AMX_REG_R11); \
	TILELOADD_D32(2, 2048, AMX_REG_CX, AMX_REG_R11); \
	TILELOADD_D32(3, 3072, AMX_REG_CX, AMX_REG_R11)

// BF16EXIT stores the accumulators and releases the tiles.
#define BF16EXIT \
	TILESTORED(0, AMX_REG_CX, AMX_REG_R11); \
	TILESTORED_D32(1, 1024, AMX_REG_CX, AMX_REG_R11); \
	TILESTORED_D32(2, 2048, AMX_REG_CX, AMX_REG_R11); \
	TILESTORED_D32(3, 3072, AMX_REG_CX, AMX_REG_R11); \
	TILERELEASE

// func amxBF16Kernel(cfg *amxTileConfig, a, b0, b1, c *byte, n int)
//
// Adds to the four f32 accumulator tiles at c (tile after tile, 1 KiB
// each) the products of n steps of 32 columns: per step, the 3 parts of A
// (two 1 KiB tiles each, tokens 0–15 and 16–31) against the packed bf16
// panels b0, b1 (16 column pairs × 64 bytes a step). R11 = 64 is the row
// stride of every tile in memory.
TEXT ·amxBF16Kernel(SB), NOSPLIT, $0-48
	MOVQ cfg+0(FP), AX
	MOVQ a+8(FP), SI
	MOVQ b0+16(FP), R9
	MOVQ b1+24(FP), R10
	MOVQ c+32(FP), CX
	BF16ENTRY
	MOVQ n+40(FP), AX

bf16loop:
	TILELOADD(6, AMX_REG_R9, AMX_REG_R11)
	TILELOADD(7, AMX_REG_R10, AMX_REG_R11)
	BF16PART0
	BF16PART(2048)
	BF16PART(4096)
	ADDQ $6144, SI            // 3 parts × 2 tiles × 1 KiB
	ADDQ $1024, R9            // 16 column pairs × 64 bytes
	ADDQ $1024, R10
	DECQ AX
	JNZ  bf16loop

	BF16EXIT
	RET

// func amxBF16x2Kernel(cfg *amxTileConfig, a, b0, b1, b0lo, b1lo, c *byte, n int)
//
// amxBF16Kernel for weights in two bf16 parts: the first (b0, b1) against
// A's 3 parts, the second (b0lo, b1lo) against its first 2.
TEXT ·amxBF16x2Kernel(SB), NOSPLIT, $0-64
	MOVQ cfg+0(FP), AX
	MOVQ a+8(FP), SI
	MOVQ b0+16(FP), R9
	MOVQ b1+24(FP), R10
	MOVQ b0lo+32(FP), R8
	MOVQ b1lo+40(FP), DX
	MOVQ c+48(FP), CX
	BF16ENTRY
	MOVQ n+56(FP), AX

bf16x2loop:
	TILELOADD(6, AMX_REG_R9, AMX_REG_R11)
	TILELOADD(7, AMX_REG_R10, AMX_REG_R11)
	BF16PART0
	BF16PART(2048)
	BF16PART(4096)
	TILELOADD(6, AMX_REG_R8, AMX_REG_R11)
	TILELOADD(7, AMX_REG_DX, AMX_REG_R11)
	BF16PART0
	BF16PART(2048)
	ADDQ $6144, SI
	ADDQ $1024, R9
	ADDQ $1024, R10
	ADDQ $1024, R8
	ADDQ $1024, DX
	DECQ AX
	JNZ  bf16x2loop

	BF16EXIT
	RET

// func amxBF16x1Kernel(cfg *amxTileConfig, a *byte, lda int, b0, b1, c *byte, n int)
//
// The one-part bf16 kernel (PrecisionAuto/PrecisionBF16): adds to the
// four f32 accumulator tiles at c the products of n steps of 32 columns of
// the bf16-rounded activations (32 token rows lda bytes apart, each step's
// 64 bytes of a row read in place: tokens 0–15 from a, 16–31 from
// a+16·lda) with the packed bf16 panels b0, b1 (PackPanelBF16, width 16).
TEXT ·amxBF16x1Kernel(SB), NOSPLIT, $0-56
	MOVQ cfg+0(FP), AX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), BX
	MOVQ b0+24(FP), R9
	MOVQ b1+32(FP), R10
	MOVQ c+40(FP), CX
	MOVQ BX, DI
	SHLQ $4, DI
	LEAQ (SI)(DI*1), DI       // tokens 16–31
	BF16ENTRY
	MOVQ n+48(FP), AX

bf16x1loop:
	TILELOADD(6, AMX_REG_R9, AMX_REG_R11)
	TILELOADD(7, AMX_REG_R10, AMX_REG_R11)
	TILELOADD(4, AMX_REG_SI, AMX_REG_BX)
	TILELOADD(5, AMX_REG_DI, AMX_REG_BX)
	BF16DOTS
	ADDQ $64, SI              // 32 columns of bf16
	ADDQ $64, DI
	ADDQ $1024, R9            // 16 column pairs × 64 bytes
	ADDQ $1024, R10
	DECQ AX
	JNZ  bf16x1loop

	BF16EXIT
	RET

// Q8ROW applies the block scales to token row m (0–31): with Z30, Z31 the
// weight scales of rows 0–15 and 16–31 and the int32 dots in the stored
// tiles at CX (tile (m/16)·2 + half, row m%16), the f32 accumulator row
// at CX+4096+128·m gets += float32(dot) · (xd[m]·wd).
#define Q8ROW(m) \
	VBROADCASTSS (4*(m))(R12), Z0; \
	VMULPS       Z30, Z0, Z1; \
	VMULPS       Z31, Z0, Z2; \
	VCVTDQ2PS    ((m)/16*2048 + ((m)%16)*64)(CX), Z3; \
	VCVTDQ2PS    ((m)/16*2048 + ((m)%16)*64 + 1024)(CX), Z4; \
	VMULPS       Z1, Z3, Z3; \
	VMULPS       Z2, Z4, Z4; \
	VADDPS       (4096 + (m)*128)(CX), Z3, Z3; \
	VADDPS       (4096 + (m)*128 + 64)(CX), Z4, Z4; \
	VMOVUPS      Z3, (4096 + (m)*128)(CX); \
	VMOVUPS      Z4, (4096 + (m)*128 + 64)(CX)

// Q8SCALE applies one block's scales (the 32 weight rows' at R13, the
// 32 tokens' at R12) to the 32 rows: amxQ8Scale in amx.go is its Go twin,
// and amxQ8ScaleAVX512 runs it alone for the tests.
#define Q8SCALE \
	VMOVUPS (R13), Z30; \
	VMOVUPS 64(R13), Z31; \
	Q8ROW(0); \
	Q8ROW(1); \
	Q8ROW(2); \
	Q8ROW(3); \
	Q8ROW(4); \
	Q8ROW(5); \
	Q8ROW(6); \
	Q8ROW(7); \
	Q8ROW(8); \
	Q8ROW(9); \
	Q8ROW(10); \
	Q8ROW(11); \
	Q8ROW(12); \
	Q8ROW(13); \
	Q8ROW(14); \
	Q8ROW(15); \
	Q8ROW(16); \
	Q8ROW(17); \
	Q8ROW(18); \
	Q8ROW(19); \
	Q8ROW(20); \
	Q8ROW(21); \
	Q8ROW(22); \
	Q8ROW(23); \
	Q8ROW(24); \
	Q8ROW(25); \
	Q8ROW(26); \
	Q8ROW(27); \
	Q8ROW(28); \
	Q8ROW(29); \
	Q8ROW(30); \
	Q8ROW(31)

// func amxQ8Kernel(cfg *amxTileConfig, a *byte, xd *float32, b *byte, ws *float32, c *byte, nb int)
//
// For each of nb blocks of 32 columns: the int8 dots of the block's packed
// A (1 KiB: tokens 0–15, then 16–31, 32 bytes each) with the block's lines
// of the packed weight panel b (packQPanel: 8 groups of 128 bytes, rows
// 0–15 then 16–31) into tiles stored at c, then the scales applied into
// the f32 accumulator at c+4096 (xd: 32 activation scales per block; ws:
// the 32 rows' weight scales per block).
TEXT ·amxQ8Kernel(SB), NOSPLIT, $0-56
	MOVQ cfg+0(FP), AX
	MOVQ a+8(FP), SI
	MOVQ xd+16(FP), R12
	MOVQ b+24(FP), R9
	MOVQ ws+32(FP), R13
	MOVQ c+40(FP), CX
	MOVQ $64, R11             // row stride of the stored dots
	MOVQ $32, BX              // row stride of A tiles
	MOVQ $128, DX             // row stride of B tiles
	LEAQ 512(SI), DI          // tokens 16–31
	LEAQ 64(R9), R10          // weight rows 16–31
	LDTILECFG(AMX_REG_AX)
	MOVQ nb+48(FP), AX

q8loop:
	TILEZERO(0)
	TILEZERO(1)
	TILEZERO(2)
	TILEZERO(3)
	TILELOADD(4, AMX_REG_SI, AMX_REG_BX)
	TILELOADD(5, AMX_REG_DI, AMX_REG_BX)
	TILELOADD(6, AMX_REG_R9, AMX_REG_DX)
	TILELOADD(7, AMX_REG_R10, AMX_REG_DX)
	TDPBSSD(0, 4, 6)
	TDPBSSD(1, 4, 7)
	TDPBSSD(2, 5, 6)
	TDPBSSD(3, 5, 7)
	TILESTORED(0, AMX_REG_CX, AMX_REG_R11)
	TILESTORED_D32(1, 1024, AMX_REG_CX, AMX_REG_R11)
	TILESTORED_D32(2, 2048, AMX_REG_CX, AMX_REG_R11)
	TILESTORED_D32(3, 3072, AMX_REG_CX, AMX_REG_R11)
	Q8SCALE
	ADDQ $1024, SI            // one block: 32 tokens × 32 int8
	ADDQ $1024, DI
	ADDQ $1024, R9            // one block: 32 rows × 32 int8
	ADDQ $1024, R10
	ADDQ $128, R12            // 32 activation scales
	ADDQ $128, R13            // 32 weight scales
	DECQ AX
	JNZ  q8loop

	TILERELEASE
	VZEROUPPER
	RET

// func amxXCR0() uint64
// XGETBV with ECX=0; the caller checks OSXSAVE first.
TEXT ·amxXCR0(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	SHLQ $32, DX
	MOVL AX, AX
	ORQ  DX, AX
	MOVQ AX, ret+0(FP)
	RET

// func amxKernelEntries() (bf16, bf16x2, bf16x1, q8 uintptr)
// The entry addresses of the kernels' code, for the disassembly test (the
// test binary has no symbol table).
TEXT ·amxKernelEntries(SB), NOSPLIT, $0-32
	LEAQ ·amxBF16Kernel(SB), AX
	MOVQ AX, bf16+0(FP)
	LEAQ ·amxBF16x2Kernel(SB), AX
	MOVQ AX, bf16x2+8(FP)
	LEAQ ·amxBF16x1Kernel(SB), AX
	MOVQ AX, bf16x1+16(FP)
	LEAQ ·amxQ8Kernel(SB), AX
	MOVQ AX, q8+24(FP)
	RET

// RNE16 rounds the 16 floats in zin to bfloat16, nearest even, with
// integer operations (as half.F32ToBF16 does for finite values): zhi gets
// the rounded values as floats, ybf the 16 bf16. Z28 = 0x7fff, Z29 = 1,
// Z30 = 0xffff0000 (in every lane); Z10, Z11 are clobbered.
#define RNE16(zin, zhi, ybf) \
	VPSRLD  $16, zin, Z10; \
	VPANDD  Z29, Z10, Z10; \
	VPADDD  Z28, zin, Z11; \
	VPADDD  Z10, Z11, Z11; \
	VPANDD  Z30, Z11, zhi; \
	VPSRLD  $16, Z11, Z11; \
	VPMOVDW Z11, ybf

// SPLIT16(off) splits the 16 floats at off(SI) into 3 bf16 parts stored
// at off/2(DI), off/2+2048(DI) and off/2+4096(DI), and ors into K7 the
// lanes whose first part is not finite (exponent all ones; Z31 =
// 0x7f800000).
#define SPLIT16(off) \
	VMOVUPS   off(SI), Z0; \
	RNE16(Z0, Z1, Y2); \
	VPANDD    Z31, Z1, Z3; \
	VPCMPEQD  Z31, Z3, K1; \
	KORW      K1, K7, K7; \
	VSUBPS    Z1, Z0, Z0; \
	RNE16(Z0, Z1, Y4); \
	VSUBPS    Z1, Z0, Z0; \
	RNE16(Z0, Z1, Y5); \
	VMOVDQU   Y2, (off/2)(DI); \
	VMOVDQU   Y4, (off/2+2048)(DI); \
	VMOVDQU   Y5, (off/2+4096)(DI)

// func amxSplitAVX512(dst *uint16, x *float32, steps int) (nonFinite bool)
//
// amxSplitRowGo for steps whole steps of 32 columns: the parts of x's
// values v0 = bf16(x), v1 = bf16(x−v0), v2 = bf16(x−v0−v1), step s at
// dst + s·6144 bytes, part i 2048·i bytes further. Reports whether any v0
// was not finite (the caller then redoes the row).
TEXT ·amxSplitAVX512(SB), NOSPLIT, $0-25
	MOVQ    dst+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    steps+16(FP), CX
	MOVL    $0x7fff, AX
	VPBROADCASTD AX, Z28
	MOVL    $1, AX
	VPBROADCASTD AX, Z29
	MOVL    $0xffff0000, AX
	VPBROADCASTD AX, Z30
	MOVL    $0x7f800000, AX
	VPBROADCASTD AX, Z31
	KXORW   K7, K7, K7

splitloop:
	SPLIT16(0)
	SPLIT16(64)
	ADDQ    $128, SI          // 32 floats
	ADDQ    $6144, DI         // one step of packed A
	DECQ    CX
	JNZ     splitloop

	KMOVW   K7, AX
	TESTW   AX, AX
	SETNE   nonFinite+24(FP)
	VZEROUPPER
	RET

// func amxQ8ScaleAVX512(c *byte, xd, ws *float32)
// Q8SCALE alone: the AVX-512 part of amxQ8Kernel, which runs without AMX.
TEXT ·amxQ8ScaleAVX512(SB), NOSPLIT, $0-24
	MOVQ c+0(FP), CX
	MOVQ xd+8(FP), R12
	MOVQ ws+16(FP), R13
	Q8SCALE
	VZEROUPPER
	RET

// func amxAddBlockAVX512(out *float32, ldo int, acc *byte, rs, half int)
//
// amxAddOut for a whole 32×32 block: out's 32 rows (ldo floats apart)
// get += the 32 result rows, row m's 16+16 floats at
// acc + (m/16)·2048 + (m%16)·rs and half bytes further (rs 64, half 1024:
// the bf16 kernels' tiles; rs 128, half 64: row-major).
TEXT ·amxAddBlockAVX512(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ ldo+8(FP), DX
	SHLQ $2, DX               // bytes a row of out
	MOVQ acc+16(FP), SI
	MOVQ rs+24(FP), BX
	MOVQ half+32(FP), R8
	MOVQ SI, R9               // the result row
	MOVQ $32, CX

addblockloop:
	VMOVUPS (R9), Z0
	VMOVUPS (R9)(R8*1), Z1
	VADDPS  (DI), Z0, Z0
	VADDPS  64(DI), Z1, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ    DX, DI
	ADDQ    BX, R9
	DECQ    CX
	CMPQ    CX, $16
	JNE     addblocknext
	LEAQ    2048(SI), R9      // tokens 16–31
addblocknext:
	TESTQ   CX, CX
	JNZ     addblockloop
	VZEROUPPER
	RET
