//go:build amd64 && !purego

// bf16 GEMM micro-kernel (AVX512_BF16). The Go assembler has no mnemonic
// for VDPBF16PS, so the macros below emit its EVEX encoding as bytes:
// EVEX.512.F3.0F38.W0 52 /r (VDPBF16PS zmm1, zmm2, zmm3/m512/m32bcst),
// zmm1.f32[i] += zmm2.bf16[2i+1]·zmm3.bf16[2i+1] + zmm2.bf16[2i]·zmm3.bf16[2i].
// The register numbers must be constants 0–31; the fields are:
//   P0 = R X B R' 0 0 1 0   (R/R' extend the destination, X/B the
//                            register in ModRM.rm; all stored inverted;
//                            mm = 10 selects the 0F38 map)
//   P1 = W vvvv 1 pp        (W = 0, vvvv = the second source inverted,
//                            pp = 10 for the F3 prefix)
//   P2 = z L'L b V' aaa     (L'L = 10 for 512 bits, b = broadcast,
//                            V' = the second source's bit 4 inverted)

#include "textflag.h"

// VDPBF16PS Z(RM), Z(V), Z(D): Z(D) += pairwise bf16 dot of Z(V) and Z(RM).
#define DPR(D, V, RM) \
	BYTE $0x62; \
	BYTE $(((1-((D>>3)&1))<<7) | ((1-((RM>>4)&1))<<6) | ((1-((RM>>3)&1))<<5) | ((1-((D>>4)&1))<<4) | 0x02); \
	BYTE $(((15-(V&15))<<3) | 0x06); \
	BYTE $(0x40 | ((1-((V>>4)&1))<<3)); \
	BYTE $0x52; \
	BYTE $(0xC0 | ((D&7)<<3) | (RM&7))

// BTOK multiplies the token pair at ADDR, broadcast into register ZS
// (number S), with the weight rows in Z28 (rows 0–15) and Z29 (rows
// 16–31), adding to the token's accumulators Z(D0) and Z(D1).
#define BTOK(ADDR, D0, D1, ZS, S) \
	VPBROADCASTD ADDR, ZS; \
	DPR(D0, 28, S); \
	DPR(D1, 29, S)

// BSTEP is one column pair: the 32 weight rows from BOFF(DI) and the 14
// tokens' pairs. Token i's pair is at i·R8 bytes from SI: the five base
// registers SI, R10, R11, R12, R13 point at tokens 0, 3, 6, 9, 12, and
// scaled R8 indexes reach the others. Z30 and Z31 take turns holding a
// broadcast. The bases then move on by R9 bytes to the next pair.
#define BSTEP(BOFF) \
	VMOVDQU32 BOFF(DI), Z28; \
	VMOVDQU32 BOFF+64(DI), Z29; \
	BTOK((SI), 0, 1, Z30, 30); \
	BTOK((SI)(R8*1), 2, 3, Z31, 31); \
	BTOK((SI)(R8*2), 4, 5, Z30, 30); \
	BTOK((R10), 6, 7, Z31, 31); \
	BTOK((SI)(R8*4), 8, 9, Z30, 30); \
	BTOK((R10)(R8*2), 10, 11, Z31, 31); \
	BTOK((R11), 12, 13, Z30, 30); \
	BTOK((R10)(R8*4), 14, 15, Z31, 31); \
	BTOK((SI)(R8*8), 16, 17, Z30, 30); \
	BTOK((R12), 18, 19, Z31, 31); \
	BTOK((R11)(R8*4), 20, 21, Z30, 30); \
	BTOK((R10)(R8*8), 22, 23, Z31, 31); \
	BTOK((R13), 24, 25, Z30, 30); \
	BTOK((R12)(R8*4), 26, 27, Z31, 31); \
	ADDQ R9, SI; \
	ADDQ R9, R10; \
	ADDQ R9, R11; \
	ADDQ R9, R12; \
	ADDQ R9, R13

// BSTORE adds accumulators ZD0, ZD1 to the 32 floats at (DX) and
// stores them, then moves DX to the next row of c.
#define BSTORE(ZD0, ZD1) \
	VADDPS (DX), ZD0, ZD0; \
	VMOVUPS ZD0, (DX); \
	VADDPS 64(DX), ZD1, ZD1; \
	VMOVUPS ZD1, 64(DX); \
	ADDQ BX, DX

// PREFETCHC prefetches the row of c at AX (128 bytes) and moves AX on by
// one row (BX bytes).
#define PREFETCHC \
	PREFETCHT0 (AX); \
	PREFETCHT0 64(AX); \
	ADDQ       BX, AX

// BSET stores accumulators ZD0, ZD1 into the 32 floats at (DX), then
// moves DX to the next row of c.
#define BSET(ZD0, ZD1) \
	VMOVUPS ZD0, (DX); \
	VMOVUPS ZD1, 64(DX); \
	ADDQ BX, DX

// func gemmBF16AVX512(kp int, a *uint32, rs, ps int, b *uint32, c *float32, ldc int, add bool)
//
// c[i*ldc+j] (+)= Σ_p dot(a[i*rs+p*ps], b[p*32+j]) for i < 14 tokens, j < 32
// weight rows and p < kp column pairs (rs and ps in bytes here, words in
// the Go wrapper), where each word holds two bfloat16 and dot is the
// pairwise product VDPBF16PS forms. Token i accumulates in Z(2i) (rows
// 0–15) and Z(2i+1) (rows 16–31), so each column pair costs 2 + 14 loads
// for 28 dot products. Without add the sums replace c.
TEXT ·gemmBF16AVX512(SB), NOSPLIT, $0-57
	MOVQ kp+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ rs+16(FP), R8
	MOVQ ps+24(FP), R9
	MOVQ b+32(FP), DI
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), BX
	SHLQ $2, BX
	// Ask for the tile of c now, so that it has arrived by the end.
	MOVQ DX, AX
	PREFETCHC
	PREFETCHC
	PREFETCHC
	PREFETCHC
	PREFETCHC
	PREFETCHC
	PREFETCHC
	PREFETCHC
	PREFETCHC
	PREFETCHC
	PREFETCHC
	PREFETCHC
	PREFETCHC
	PREFETCHC
	LEAQ (SI)(R8*2), R10
	ADDQ R8, R10
	LEAQ (R10)(R8*2), R11
	ADDQ R8, R11
	LEAQ (R11)(R8*2), R12
	ADDQ R8, R12
	LEAQ (R12)(R8*2), R13
	ADDQ R8, R13
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27

bf16loop2:
	CMPQ CX, $2
	JL   bf16loop1
	BSTEP(0)
	BSTEP(128)
	ADDQ $256, DI
	SUBQ $2, CX
	JMP  bf16loop2

bf16loop1:
	TESTQ CX, CX
	JE    bf16store
	BSTEP(0)

bf16store:
	MOVBQZX add+56(FP), AX
	TESTQ   AX, AX
	JE      bf16set
	BSTORE(Z0, Z1)
	BSTORE(Z2, Z3)
	BSTORE(Z4, Z5)
	BSTORE(Z6, Z7)
	BSTORE(Z8, Z9)
	BSTORE(Z10, Z11)
	BSTORE(Z12, Z13)
	BSTORE(Z14, Z15)
	BSTORE(Z16, Z17)
	BSTORE(Z18, Z19)
	BSTORE(Z20, Z21)
	BSTORE(Z22, Z23)
	BSTORE(Z24, Z25)
	BSTORE(Z26, Z27)
	VZEROUPPER
	RET

bf16set:
	BSET(Z0, Z1)
	BSET(Z2, Z3)
	BSET(Z4, Z5)
	BSET(Z6, Z7)
	BSET(Z8, Z9)
	BSET(Z10, Z11)
	BSET(Z12, Z13)
	BSET(Z14, Z15)
	BSET(Z16, Z17)
	BSET(Z18, Z19)
	BSET(Z20, Z21)
	BSET(Z22, Z23)
	BSET(Z24, Z25)
	BSET(Z26, Z27)
	VZEROUPPER
	RET

// RBF16CONSTS loads the constants RBF16 uses into Z4–Z8 (clobbers AX).
#define RBF16CONSTS \
	MOVL $1, AX; \
	VPBROADCASTD AX, Z4; \
	MOVL $0x7fff, AX; \
	VPBROADCASTD AX, Z5; \
	MOVL $0x7fffffff, AX; \
	VPBROADCASTD AX, Z6; \
	MOVL $0x7f800000, AX; \
	VPBROADCASTD AX, Z7; \
	MOVL $0x40, AX; \
	VPBROADCASTD AX, Z8

// RBF16 sets each dword of OUT to the bfloat16 rounding of the float in
// IN (in its low half), as half.F32ToBF16 does: u + 0x7fff + (u>>16 & 1),
// then the high half; a NaN keeps its high half with the quiet bit 0x40
// set. Uses Z1, Z3 and K1, and the constants of RBF16CONSTS. Denormals
// are rounded like any other value (VCVTNEPS2BF16 would flush them).
#define RBF16(IN, OUT) \
	VPSRLD    $16, IN, Z1; \
	VPANDD    Z4, Z1, OUT; \
	VPADDD    Z5, OUT, OUT; \
	VPADDD    IN, OUT, OUT; \
	VPSRLD    $16, OUT, OUT; \
	VPANDD    Z6, IN, Z3; \
	VPCMPUD   $6, Z7, Z3, K1; \
	VPORD     Z8, Z1, Z1; \
	VMOVDQU32 Z1, K1, OUT

// func roundBF16AVX512(dst *uint32, src *float32, n int)
//
// The n/2 words of dst get the pairs of src[i] rounded to bfloat16 (RBF16)
// for i < n, a multiple of 16: word p = src[2p] | src[2p+1]<<16.
TEXT ·roundBF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	RBF16CONSTS

rbf16loop:
	TESTQ CX, CX
	JE    rbf16done
	VMOVDQU32 (SI), Z0
	RBF16(Z0, Z2)
	VPMOVDW   Z2, (DI)
	ADDQ      $64, SI
	ADDQ      $32, DI
	SUBQ      $16, CX
	JMP       rbf16loop

rbf16done:
	VZEROUPPER
	RET

// GATHERINDEX sets the dwords of Z9 to 0, AX, 2·AX, …, 15·AX (the row
// offsets of a gather; AX must fit in 31 bits divided by 15).
#define GATHERINDEX \
	VPBROADCASTD AX, Z9; \
	MOVQ         $0x0706050403020100, BX; \
	MOVQ         BX, X11; \
	MOVQ         $0x0f0e0d0c0b0a0908, BX; \
	PINSRQ       $1, BX, X11; \
	VPMOVZXBD    X11, Z11; \
	VPMULLD      Z11, Z9, Z9

// PAIRGATHER loads into Z0 the kp-th column pair of the 16 rows whose
// offsets from SI are in Z9: one dword per row. K2 is all ones.
#define PAIRGATHER \
	KMOVW       K2, K3; \
	VPGATHERDD  (SI)(Z9*1), K3, Z0

// func packPairsBF16AVX512(dst *uint32, src *uint16, stride, kp, dstride int)
//
// The bf16 case of PackPanelBF16 for 16 rows: line p (at dst + p·dstride
// bytes) gets, for each row j < 16 (at src + j·stride bytes), the dword of
// its columns 2p, 2p+1, for p < kp. One gather per line.
TEXT ·packPairsBF16AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ stride+16(FP), AX
	MOVQ kp+24(FP), CX
	MOVQ dstride+32(FP), DX
	GATHERINDEX
	MOVW   $0xffff, BX
	KMOVW  BX, K2

ppbloop:
	TESTQ CX, CX
	JE    ppbdone
	PAIRGATHER
	VMOVDQU32 Z0, (DI)
	ADDQ $4, SI
	ADDQ DX, DI
	DECQ CX
	JMP  ppbloop

ppbdone:
	VZEROUPPER
	RET

// func packPairsF16AVX512(dst *uint32, src *uint16, stride, kp, dstride int)
//
// packPairsBF16AVX512 for f16 rows: each gathered line of 32 halves is
// widened to f32 (exact) and rounded to bfloat16 (RBF16) in place, so the
// pairs keep their order.
TEXT ·packPairsF16AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ stride+16(FP), AX
	MOVQ kp+24(FP), CX
	MOVQ dstride+32(FP), DX
	GATHERINDEX
	MOVW   $0xffff, BX
	KMOVW  BX, K2
	RBF16CONSTS

ppfloop:
	TESTQ CX, CX
	JE    ppfdone
	PAIRGATHER
	VCVTPH2PS     Y0, Z10
	VEXTRACTI64X4 $1, Z0, Y11
	VCVTPH2PS     Y11, Z11
	RBF16(Z10, Z12)
	RBF16(Z11, Z13)
	VPMOVDW       Z12, (DI)
	VPMOVDW       Z13, 32(DI)
	ADDQ $4, SI
	ADDQ DX, DI
	DECQ CX
	JMP  ppfloop

ppfdone:
	VZEROUPPER
	RET

// func maxAVX512(x *float32, n int) float32
//
// The largest of x[i] for i < n, a positive multiple of 16 (VMAXPS: a NaN
// in x may or may not win; scores are never NaN).
TEXT ·maxAVX512(SB), NOSPLIT, $0-20
	MOVQ      x+0(FP), SI
	MOVQ      n+8(FP), CX
	VMOVUPS   (SI), Z0
	ADDQ      $64, SI
	SUBQ      $16, CX

maxloop:
	TESTQ     CX, CX
	JE        maxdone
	VMAXPS    (SI), Z0, Z0
	ADDQ      $64, SI
	SUBQ      $16, CX
	JMP       maxloop

maxdone:
	VEXTRACTF32X8 $1, Z0, Y1
	VMAXPS    Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS    X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS    X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS    X1, X0, X0
	VZEROUPPER
	MOVSS     X0, ret+16(FP)
	RET
