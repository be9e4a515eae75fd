//go:build amd64 && !purego

// AVX2 dot products of 8-bit activations (int8, an f32 scale per 32
// columns, int16 sums per 16) with rows of ggml blocks. The K-quant ones
// follow the integer scheme of llama.cpp's ggml_vec_dot_qN_K_q8_K:
// unsigned weight values times signed activations with VPMADDUBSW,
// sub-block scales applied with VPMADDWD, the min/offset terms taken from
// the activation sums; they finish in f32 per 32 columns, where llama.cpp
// has one activation scale per 256.

#include "textflag.h"

// Q4_K/Q5_K scale decoding (K4SETUP). The 12 bytes b0-11 of 6-bit scales
// and mins, as dwords D0-D2, give scales 0-3 = D0&63, mins 0-3 = D1&63,
// scales 4-7 = (D2&15) | (D0>>6&3)<<4 and mins 4-7 = (D2>>4&15) |
// (D1>>6&3)<<4, per byte. k4dec+0 masks [D0, D1, D2, D2>>4] to the low
// parts, k4dec+32 keeps the high bits shifted in from [., ., D0>>2, D1>>2].
DATA k4dec<>+0(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA k4dec<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA k4dec<>+16(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA k4dec<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA k4dec<>+32(SB)/8, $0
DATA k4dec<>+40(SB)/8, $0x3030303030303030
DATA k4dec<>+48(SB)/8, $0
DATA k4dec<>+56(SB)/8, $0x3030303030303030
GLOBL k4dec<>(SB), RODATA|NOPTR, $64

// Byte shuffles of the decoded scales and mins (bytes 0-3 scales 0-3, 4-7
// mins 0-3, 8-11 scales 4-7, 12-15 mins 4-7, the same in both halves of
// a register) to int16 words (0x80: zero): k4sc+0 gives scales
// 0,0,1,1,2,2,3,3 in each half, k4sc+32 scales 4-7 likewise, k4sc+64 mins
// 0,0,1,1,..,3,3 in the low half and 4,4,..,7,7 in the high one.
DATA k4sc<>+0(SB)/8, $0x8001800180008000
DATA k4sc<>+8(SB)/8, $0x8003800380028002
DATA k4sc<>+16(SB)/8, $0x8001800180008000
DATA k4sc<>+24(SB)/8, $0x8003800380028002
DATA k4sc<>+32(SB)/8, $0x8009800980088008
DATA k4sc<>+40(SB)/8, $0x800b800b800a800a
DATA k4sc<>+48(SB)/8, $0x8009800980088008
DATA k4sc<>+56(SB)/8, $0x800b800b800a800a
DATA k4sc<>+64(SB)/8, $0x8005800580048004
DATA k4sc<>+72(SB)/8, $0x8007800780068006
DATA k4sc<>+80(SB)/8, $0x800d800d800c800c
DATA k4sc<>+88(SB)/8, $0x800f800f800e800e
GLOBL k4sc<>(SB), RODATA|NOPTR, $96

// Byte shuffles for Q6_K: mask i (16 bytes) puts int8 scale 2i in bytes
// 0-7 and scale 2i+1 in bytes 8-15.
DATA k6shuf<>+0(SB)/8, $0x0000000000000000
DATA k6shuf<>+8(SB)/8, $0x0101010101010101
DATA k6shuf<>+16(SB)/8, $0x0202020202020202
DATA k6shuf<>+24(SB)/8, $0x0303030303030303
DATA k6shuf<>+32(SB)/8, $0x0404040404040404
DATA k6shuf<>+40(SB)/8, $0x0505050505050505
DATA k6shuf<>+48(SB)/8, $0x0606060606060606
DATA k6shuf<>+56(SB)/8, $0x0707070707070707
DATA k6shuf<>+64(SB)/8, $0x0808080808080808
DATA k6shuf<>+72(SB)/8, $0x0909090909090909
DATA k6shuf<>+80(SB)/8, $0x0a0a0a0a0a0a0a0a
DATA k6shuf<>+88(SB)/8, $0x0b0b0b0b0b0b0b0b
DATA k6shuf<>+96(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA k6shuf<>+104(SB)/8, $0x0d0d0d0d0d0d0d0d
DATA k6shuf<>+112(SB)/8, $0x0e0e0e0e0e0e0e0e
DATA k6shuf<>+120(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL k6shuf<>(SB), RODATA|NOPTR, $128

DATA nib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nib<>(SB), RODATA|NOPTR, $8

DATA k3mask<>+0(SB)/8, $0x0303030303030303
GLOBL k3mask<>(SB), RODATA|NOPTR, $8

#include "ggml_kscales_amd64.h"

// The K-quant kernels reduce each 32-column group to one int32 (already
// multiplied by its integer sub-block scales), gather the eight groups of
// a super-block into one vector (PAIRUP and TREE8), and scale them with
// d·xd, the activations having one scale per 32 columns (xd, 8 floats per
// super-block).

// TREE8 adds up the halves of Y10 (groups 0-3, from pairwise VPHADDDs)
// and Y11 (groups 4-7) into Y12: the eight group sums. Y3 is scratch.
#define TREE8 \
	VPERM2I128 $0x20, Y11, Y10, Y12; \
	VPERM2I128 $0x31, Y11, Y10, Y3; \
	VPADDD Y3, Y12, Y12

// KACC adds the group sums Y12, times xd_g·d (f16 at OFF(DI)), to Y0.
#define KACC(OFF) \
	MOVWLZX OFF(DI), AX; \
	VMOVD AX, X11; \
	VCVTPH2PS X11, X11; \
	VBROADCASTSS X11, Y11; \
	VMULPS (R8), Y11, Y11; \
	VCVTDQ2PS Y12, Y12; \
	VFMADD231PS Y12, Y11, Y0

// The Q4_K and Q5_K kernels differ: VPMADDUBSW's int16 pair products of a
// group (at most 2·31·128 in magnitude) are summed in int16 by VPHADDW
// over two levels (4 per word, ≤ 31744, no wrap), then widened by a
// VPMADDWD with the group's integer scale in both words of each pair; the
// scales go in once per super-block (K4SETUP) instead of once per group.

// K4SETUP decodes a Q4_K/Q5_K super-block's scales and mins (see k4dec)
// into Y6 (scales 0-3 as int16 pairs in both halves) and Y5 (scales 4-7),
// adds its mins term to Y1 (min g times the sum of group g from the two
// activation sums per 16 at (R10), times xd_g (R8) and dmin) and leaves
// d (the f16 at 0(DI)) in all of Y4. Y2, Y3 and Y9 are scratch.
#define K4SETUP \
	VBROADCASTI128 4(DI), Y2; \
	VPBROADCASTQ 4(DI), Y3; \
	VPSLLQ $28, Y2, Y9; \
	VPBLENDD $0x88, Y9, Y2, Y2; \
	VPAND k4dec<>+0(SB), Y2, Y2; \
	VPSRLD $2, Y3, Y3; \
	VPAND k4dec<>+32(SB), Y3, Y3; \
	VPOR Y3, Y2, Y2; \
	VPSHUFB k4sc<>+64(SB), Y2, Y3; \
	VPMADDWD (R10), Y3, Y3; \
	VPSHUFB k4sc<>+0(SB), Y2, Y6; \
	VPSHUFB k4sc<>+32(SB), Y2, Y5; \
	VPBROADCASTD (DI), X4; \
	VCVTPH2PS X4, Y4; \
	VMOVSHDUP Y4, Y9; \
	VMOVSLDUP Y4, Y4; \
	VCVTDQ2PS Y3, Y3; \
	VMULPS (R8), Y3, Y3; \
	VFMADD231PS Y3, Y9, Y1

// K4PAIR multiplies the unsigned bytes in Y8 (group 2J) and Y7 (2J+1)
// with the activations at 64J(SI) and 64J+32(SI) and leaves the int16 pair
// sums in R: in each half, 4 words of group 2J, then 4 of 2J+1.
#define K4PAIR(J, R) \
	VPMADDUBSW (64*J)(SI), Y8, Y8; \
	VPMADDUBSW (64*J+32)(SI), Y7, Y7; \
	VPHADDW Y7, Y8, R

// Q4KSUB does 64 values of a Q4_K block: 32 bytes of nibbles at
// 16+32J(DI).
#define Q4KSUB(J, R) \
	VMOVDQU (16+32*J)(DI), Y7; \
	VPAND Y15, Y7, Y8; \
	VPSRLW $4, Y7, Y7; \
	VPAND Y15, Y7, Y7; \
	K4PAIR(J, R)

// Q5KBIT ORs into bit 4 of the bytes of REG the bit of each qh byte (Y13)
// that SHIFT $SH (a word shift) brings to bit 4; Y14 holds 0x10 in every
// byte. Shifts by at most 4 move that bit within its byte: what crosses
// from the neighbouring byte lands in bits the mask clears.
#define Q5KBIT(SHIFT, SH, REG) \
	SHIFT $SH, Y13, Y9; \
	VPAND Y14, Y9, Y9; \
	VPOR Y9, REG, REG

// Q5KSUB is Q4KSUB for Q5_K (nibbles at 48+32J(DI)), with the fifth bits
// 2J and 2J+1 of the 32 qh bytes in Y13 (SH0, SH1: the shifts that move
// them to bit 4).
#define Q5KSUB(J, SHIFT0, SH0, SHIFT1, SH1, R) \
	VMOVDQU (48+32*J)(DI), Y7; \
	VPAND Y15, Y7, Y8; \
	VPSRLW $4, Y7, Y7; \
	VPAND Y15, Y7, Y7; \
	Q5KBIT(SHIFT0, SH0, Y8); \
	Q5KBIT(SHIFT1, SH1, Y7); \
	K4PAIR(J, R)

// K4SUM finishes the groups of a Q4_K/Q5_K block from the K4PAIR results
// Y10 (groups 0,1), Y12 (2,3), Y11 (4,5) and Y3 (6,7): the last VPHADDW
// level, the scales (K4SETUP's Y6, Y5), TREE8, and d·xd into Y0.
#define K4SUM \
	VPHADDW Y12, Y10, Y10; \
	VPMADDWD Y6, Y10, Y10; \
	VPHADDW Y3, Y11, Y11; \
	VPMADDWD Y5, Y11, Y11; \
	TREE8; \
	VMULPS (R8), Y4, Y11; \
	VCVTDQ2PS Y12, Y12; \
	VFMADD231PS Y12, Y11, Y0

// KEND returns Σ Y0 - Σ Y1 at ret+OFF(FP).
#define KEND(OFF) \
	VEXTRACTF128 $1, Y0, X2; \
	VADDPS X2, X0, X0; \
	VEXTRACTF128 $1, Y1, X3; \
	VADDPS X3, X1, X1; \
	VSUBPS X1, X0, X0; \
	VHADDPS X0, X0, X0; \
	VHADDPS X0, X0, X0; \
	VMOVSS X0, ret+OFF(FP); \
	VZEROUPPER; \
	RET

#define KPROLOGUE \
	MOVQ xq+0(FP), SI; \
	MOVQ xd+8(FP), R8; \
	MOVQ bsum+16(FP), R10; \
	MOVQ w+24(FP), DI; \
	MOVQ nb+32(FP), CX; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1

#define KNEXT(TS, LOOP) \
	ADDQ $256, SI; \
	ADDQ $32, R8; \
	ADDQ $32, R10; \
	ADDQ $TS, DI; \
	DECQ CX; \
	JNZ  LOOP

// func dotQ4KAVX2(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
TEXT ·dotQ4KAVX2(SB), NOSPLIT, $0-44
	KPROLOGUE
	VPBROADCASTQ nib<>(SB), Y15

q4kloop:
	WPF3
	K4SETUP
	Q4KSUB(0, Y10)
	Q4KSUB(1, Y12)
	Q4KSUB(2, Y11)
	Q4KSUB(3, Y3)
	K4SUM
	KNEXT(144, q4kloop)
	KEND(40)

DATA sixteen8<>+0(SB)/8, $0x1010101010101010
GLOBL sixteen8<>(SB), RODATA|NOPTR, $8

// func dotQ5KAVX2(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
TEXT ·dotQ5KAVX2(SB), NOSPLIT, $0-44
	KPROLOGUE
	VPBROADCASTQ nib<>(SB), Y15
	VPBROADCASTQ sixteen8<>(SB), Y14

q5kloop:
	WPF3
	K4SETUP
	VMOVDQU 16(DI), Y13
	Q5KSUB(0, VPSLLW, 4, VPSLLW, 3, Y10)
	Q5KSUB(1, VPSLLW, 2, VPSLLW, 1, Y12)
	// Bit 4 is in place for group 4.
	VMOVDQU (48+64)(DI), Y7
	VPAND Y15, Y7, Y8
	VPSRLW $4, Y7, Y7
	VPAND Y15, Y7, Y7
	VPAND Y14, Y13, Y9
	VPOR Y9, Y8, Y8
	Q5KBIT(VPSRLW, 1, Y7)
	K4PAIR(2, Y11)
	Q5KSUB(3, VPSRLW, 2, VPSRLW, 3, Y3)
	K4SUM
	KNEXT(176, q5kloop)
	KEND(40)

// Q6KSUB does 32 values (columns 32K.. of half N, group 4N+K) of a Q6_K
// block: Y7 holds the 6-bit values (+32, unsigned), multiplied with the
// activations at 128N+32K(SI) and by the scales 8N+2K (low 16 columns)
// and 8N+2K+1; the 8 int32 sums go to REG.
#define Q6KSUB(N, K, REG) \
	VPMADDUBSW (128*N+32*K)(SI), Y7, Y7; \
	VPSHUFB k6shuf<>+(16*(4*N+K))(SB), X6, X9; \
	VPMOVSXBW X9, Y9; \
	VPMADDWD Y9, Y7, REG

// Q6KHALF does columns 128N..128N+127 (ql at 64N(DI), qh at
// 128+32N(DI)), leaving groups 4N..4N+3 pairwise summed in R0 (R1, R2
// scratch).
#define Q6KHALF(N, R0, R1, R2) \
	VMOVDQU (128+32*N)(DI), Y13; \
	VMOVDQU (64*N)(DI), Y4; \
	VMOVDQU (64*N+32)(DI), Y5; \
	VPAND Y15, Y4, Y7; \
	VPAND Y14, Y13, Y8; \
	VPSLLW $4, Y8, Y8; \
	VPOR Y8, Y7, Y7; \
	Q6KSUB(N, 0, R0); \
	VPAND Y15, Y5, Y7; \
	VPSRLW $2, Y13, Y8; \
	VPAND Y14, Y8, Y8; \
	VPSLLW $4, Y8, Y8; \
	VPOR Y8, Y7, Y7; \
	Q6KSUB(N, 1, R1); \
	VPHADDD R1, R0, R0; \
	VPSRLW $4, Y4, Y7; \
	VPAND Y15, Y7, Y7; \
	VPSRLW $4, Y13, Y8; \
	VPAND Y14, Y8, Y8; \
	VPSLLW $4, Y8, Y8; \
	VPOR Y8, Y7, Y7; \
	Q6KSUB(N, 2, R1); \
	VPSRLW $4, Y5, Y7; \
	VPAND Y15, Y7, Y7; \
	VPSRLW $6, Y13, Y8; \
	VPAND Y14, Y8, Y8; \
	VPSLLW $4, Y8, Y8; \
	VPOR Y8, Y7, Y7; \
	Q6KSUB(N, 3, R2); \
	VPHADDD R2, R1, R1; \
	VPHADDD R1, R0, R0

// func dotQ6KAVX2(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
TEXT ·dotQ6KAVX2(SB), NOSPLIT, $0-44
	KPROLOGUE
	VPBROADCASTQ nib<>(SB), Y15
	VPBROADCASTQ k3mask<>(SB), Y14

q6kloop:
	WPF4
	// X6: the 16 int8 scales. The stored values are q+32: Y2 gets
	// 32·Σ scale·bsum per group, to subtract.
	VMOVDQU 192(DI), X6
	VPMOVSXBW X6, Y2
	VPMADDWD (R10), Y2, Y2
	VPSLLD $5, Y2, Y2
	Q6KHALF(0, Y10, Y11, Y12)
	Q6KHALF(1, Y11, Y12, Y3)
	TREE8
	VPSUBD Y2, Y12, Y12
	KACC(208)
	KNEXT(210, q6kloop)
	KEND(40)

// ---- 32-column formats, activations from quantizeRowQ8 (int8 x, f32 xd,
// xs = 8·Σx per block). Per block (the *BLK macros) the weight scale times
// xd is broadcast to Y6 (BSCALE), the integer block dot converted to f32
// is accumulated into Y0 and any offset/min term into the scalar X1; the
// Q4/Q5 kernels take pairs of blocks instead (NIBPAIR, PAIRSCALE) and use
// the single-block macros for an odd last block.

DATA ones16<>+0(SB)/8, $0x0001000100010001
GLOBL ones16<>(SB), RODATA|NOPTR, $8

DATA tenbits<>+0(SB)/8, $0x1010101010101010
GLOBL tenbits<>(SB), RODATA|NOPTR, $8

// Byte j of a 32-byte register gets byte j/8 of a broadcast dword.
DATA qhshuf<>+0(SB)/8, $0x0000000000000000
DATA qhshuf<>+8(SB)/8, $0x0101010101010101
DATA qhshuf<>+16(SB)/8, $0x0202020202020202
DATA qhshuf<>+24(SB)/8, $0x0303030303030303
GLOBL qhshuf<>(SB), RODATA|NOPTR, $32

// Every bit except bit j%8 in byte j.
DATA qhbits<>+0(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL qhbits<>(SB), RODATA|NOPTR, $8

// BSCALE sets X6 (and its broadcast Y6) to xd·f16 at OFF(DI).
#define BSCALE(OFF) \
	MOVWLZX OFF(DI), AX; \
	VMOVD AX, X6; \
	VCVTPH2PS X6, X6; \
	VMULSS (R8), X6, X6; \
	VBROADCASTSS X6, Y6

// NIB32 loads the 16 nibble bytes at OFF(DI) into Y2 as 32 bytes 0..15:
// low nibbles (columns 0-15), then high ones (16-31).
#define NIB32(OFF) \
	VMOVDQU OFF(DI), X2; \
	VPSRLW $4, X2, X3; \
	VINSERTI128 $1, X3, Y2, Y2; \
	VPAND Y14, Y2, Y2

// HI5 ORs 0x10 into the bytes of Y2 whose bit in the dword at OFF(DI) is
// set (Q5_0/Q5_1's fifth bits).
#define HI5(OFF) \
	VPBROADCASTD OFF(DI), Y7; \
	VPSHUFB qhshuf<>(SB), Y7, Y7; \
	VPOR Y12, Y7, Y7; \
	VPCMPEQB Y11, Y7, Y7; \
	VPAND Y13, Y7, Y7; \
	VPOR Y7, Y2, Y2

// UDOT multiplies the unsigned bytes of Y2 with the 32 activations at
// (SI) and accumulates their sum, times Y6, into ACC.
#define UDOT(ACC) \
	VPMADDUBSW (SI), Y2, Y2; \
	VPMADDWD Y15, Y2, Y2; \
	VCVTDQ2PS Y2, Y2; \
	VFMADD231PS Y2, Y6, ACC

// MINTERM adds (xd·f16 at OFF(DI)) · xs/8 to SACC (Q4_1/Q5_1's min).
#define MINTERM(OFF, SACC) \
	MOVWLZX OFF(DI), AX; \
	VMOVD AX, X7; \
	VCVTPH2PS X7, X7; \
	VMULSS (R8), X7, X7; \
	VMULSS (R9), X7, X7; \
	VMULSS eighth<>(SB), X7, X7; \
	VADDSS X7, SACC, SACC

DATA eighth<>+0(SB)/4, $0.125
GLOBL eighth<>(SB), RODATA|NOPTR, $4

// dotQ8_0GAVX2 takes two blocks per iteration into two pairs of
// accumulators (Y0, X1) and (Y5, X8), so that the multiply-adds of
// consecutive blocks do not wait on each other. B32END adds both pairs.
#define B32PROLOGUE \
	MOVQ xq+0(FP), SI; \
	MOVQ xd+8(FP), R8; \
	MOVQ xs+16(FP), R9; \
	MOVQ w+24(FP), DI; \
	MOVQ nb+32(FP), CX; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y5, Y5, Y5; \
	VXORPS X1, X1, X1; \
	VXORPS X8, X8, X8; \
	VPBROADCASTW ones16<>(SB), Y15; \
	VPBROADCASTQ nib<>(SB), Y14; \
	VPBROADCASTQ tenbits<>(SB), Y13; \
	VPBROADCASTQ qhbits<>(SB), Y12; \
	VPCMPEQB Y11, Y11, Y11

#define B32ADV(TS) \
	ADDQ $32, SI; \
	ADDQ $4, R8; \
	ADDQ $4, R9; \
	ADDQ $TS, DI

// B32END returns Σ (Y0+Y5) + X1 + X8.
#define B32END \
	VADDPS Y5, Y0, Y0; \
	VADDSS X8, X1, X1; \
	VEXTRACTF128 $1, Y0, X2; \
	VADDPS X2, X0, X0; \
	VHADDPS X0, X0, X0; \
	VHADDPS X0, X0, X0; \
	VADDSS X1, X0, X0; \
	VMOVSS X0, ret+40(FP); \
	VZEROUPPER; \
	RET

// Q80BLK: |w| times x·sign(w), both as bytes.
#define Q80BLK(ACC, SACC) \
	BSCALE(0); \
	VMOVDQU 2(DI), Y2; \
	VMOVDQU (SI), Y3; \
	VPSIGNB Y2, Y2, Y4; \
	VPSIGNB Y2, Y3, Y3; \
	VPMADDUBSW Y3, Y4, Y4; \
	VPMADDWD Y15, Y4, Y4; \
	VCVTDQ2PS Y4, Y4; \
	VFMADD231PS Y4, Y6, ACC

// Q40BLK: the -8 offset is - d·xd·xs.
#define Q40BLK(ACC, SACC) \
	BSCALE(0); \
	NIB32(2); \
	UDOT(ACC); \
	VMULSS (R9), X6, X7; \
	VSUBSS X7, SACC, SACC

#define Q41BLK(ACC, SACC) \
	BSCALE(0); \
	NIB32(4); \
	UDOT(ACC); \
	MINTERM(2, SACC)

// Q50BLK: the -16 offset is - 2·d·xd·xs.
#define Q50BLK(ACC, SACC) \
	BSCALE(0); \
	NIB32(6); \
	HI5(2); \
	UDOT(ACC); \
	VMULSS (R9), X6, X7; \
	VADDSS X7, X7, X7; \
	VSUBSS X7, SACC, SACC

#define Q51BLK(ACC, SACC) \
	BSCALE(0); \
	NIB32(8); \
	HI5(4); \
	UDOT(ACC); \
	MINTERM(2, SACC)

// func dotQ8_0GAVX2(xq *int8, xd, xs *float32, w *byte, nb int) float32
TEXT ·dotQ8_0GAVX2(SB), NOSPLIT, $0-44
	B32PROLOGUE
	SUBQ $2, CX
	JL   q80tail

q80loop:
	WPF2
	Q80BLK(Y0, X1)
	B32ADV(34)
	Q80BLK(Y5, X8)
	B32ADV(34)
	SUBQ $2, CX
	JGE  q80loop

q80tail:
	ADDQ $2, CX
	JZ   q80done
	Q80BLK(Y0, X1)

q80done:
	B32END

DATA pairidx<>+0(SB)/8, $0x0000000000000000
DATA pairidx<>+8(SB)/8, $0x0000000000000000
DATA pairidx<>+16(SB)/8, $0x0000000100000001
DATA pairidx<>+24(SB)/8, $0x0000000100000001
GLOBL pairidx<>(SB), RODATA|NOPTR, $32

// NIBPAIR multiplies the nibbles of two blocks A and B, 16 bytes each at
// OFF(DI) and TS+OFF(DI), with their activations at (SI) and 32(SI):
// the low nibbles (columns 0-15 of A and B) against [A x0-15 | B x0-15],
// the high ones against the columns 16-31; Y2 gets the 8 int32 sums,
// lanes 0-3 A's and 4-7 B's. It clobbers Y3, Y4, Y11 and Y12 (so it
// cannot be mixed with HI5).
#define NIBPAIR(OFF, TS) \
	NIBPAIRLOAD(OFF, TS); \
	PAIRDOT

// NIBPAIRLOAD puts the low nibbles of blocks A (16 bytes at OFF(DI)) and
// B (at TS+OFF(DI)) into Y2 (columns 0-15 of A, then of B) and the high
// ones into Y3 (columns 16-31).
#define NIBPAIRLOAD(OFF, TS) \
	VMOVDQU OFF(DI), X2; \
	VINSERTI128 $1, (TS+OFF)(DI), Y2, Y2; \
	VPSRLW $4, Y2, Y3; \
	VPAND Y14, Y2, Y2; \
	VPAND Y14, Y3, Y3

// PAIRDOT multiplies Y2 and Y3 (NIBPAIRLOAD's layout) with the
// activations of A at (SI) and B at 32(SI) and leaves the 8 int32 sums in
// Y2.
#define PAIRDOT \
	VMOVDQU (SI), Y4; \
	VPERM2I128 $0x20, 32(SI), Y4, Y11; \
	VPERM2I128 $0x31, 32(SI), Y4, Y12; \
	VPMADDUBSW Y11, Y2, Y2; \
	VPMADDUBSW Y12, Y3, Y3; \
	VPADDW Y3, Y2, Y2; \
	VPMADDWD Y15, Y2, Y2

DATA qhlo32<>+0(SB)/8, $0x0000000000000000
DATA qhlo32<>+8(SB)/8, $0x0101010101010101
DATA qhlo32<>+16(SB)/8, $0x0000000000000000
DATA qhlo32<>+24(SB)/8, $0x0101010101010101
GLOBL qhlo32<>(SB), RODATA|NOPTR, $32

DATA qhhi32<>+0(SB)/8, $0x0202020202020202
DATA qhhi32<>+8(SB)/8, $0x0303030303030303
DATA qhhi32<>+16(SB)/8, $0x0202020202020202
DATA qhhi32<>+24(SB)/8, $0x0303030303030303
GLOBL qhhi32<>(SB), RODATA|NOPTR, $32

DATA qhbits32<>+0(SB)/8, $0x7fbfdfeff7fbfdfe
DATA qhbits32<>+8(SB)/8, $0x7fbfdfeff7fbfdfe
DATA qhbits32<>+16(SB)/8, $0x7fbfdfeff7fbfdfe
DATA qhbits32<>+24(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL qhbits32<>(SB), RODATA|NOPTR, $32

DATA ones32<>+0(SB)/8, $-1
DATA ones32<>+8(SB)/8, $-1
DATA ones32<>+16(SB)/8, $-1
DATA ones32<>+24(SB)/8, $-1
GLOBL ones32<>(SB), RODATA|NOPTR, $32

DATA tenbits32<>+0(SB)/8, $0x1010101010101010
DATA tenbits32<>+8(SB)/8, $0x1010101010101010
DATA tenbits32<>+16(SB)/8, $0x1010101010101010
DATA tenbits32<>+24(SB)/8, $0x1010101010101010
GLOBL tenbits32<>(SB), RODATA|NOPTR, $32

// HI5PAIR ORs the fifth bits of blocks A (dword at OFF(DI)) and B (at
// TS+OFF(DI)) into NIBPAIRLOAD's Y2 and Y3 (bits 0-15 of each into Y2,
// 16-31 into Y3). Y4 and Y9 are scratch.
#define HI5PAIR(OFF, TS) \
	VPBROADCASTD OFF(DI), Y9; \
	VPBROADCASTD (TS+OFF)(DI), X4; \
	VINSERTI128 $1, X4, Y9, Y9; \
	VPSHUFB qhlo32<>(SB), Y9, Y4; \
	VPOR qhbits32<>(SB), Y4, Y4; \
	VPCMPEQB ones32<>(SB), Y4, Y4; \
	VPAND tenbits32<>(SB), Y4, Y4; \
	VPOR Y4, Y2, Y2; \
	VPSHUFB qhhi32<>(SB), Y9, Y4; \
	VPOR qhbits32<>(SB), Y4, Y4; \
	VPCMPEQB ones32<>(SB), Y4, Y4; \
	VPAND tenbits32<>(SB), Y4, Y4; \
	VPOR Y4, Y3, Y3

// PAIRMIN adds m·xd·xs/8 for blocks A (f16 m at OFF(DI)) and B (at
// TS+OFF(DI)) to lanes 0-1 of X1.
#define PAIRMIN(OFF, TS) \
	MOVWLZX OFF(DI), AX; \
	MOVWLZX (TS+OFF)(DI), BX; \
	SHLL $16, BX; \
	ORL  BX, AX; \
	VMOVD AX, X7; \
	VCVTPH2PS X7, X7; \
	VMOVQ (R8), X4; \
	VMULPS X4, X7, X7; \
	VMOVQ (R9), X4; \
	VMULPS X4, X7, X7; \
	VFMADD231PS eighth4<>(SB), X7, X1

DATA eighth4<>+0(SB)/4, $0.125
DATA eighth4<>+4(SB)/4, $0.125
DATA eighth4<>+8(SB)/4, $0.125
DATA eighth4<>+12(SB)/4, $0.125
GLOBL eighth4<>(SB), RODATA|NOPTR, $16

// PAIRSCALE sets X6 to xd·d for blocks A (f16 at 0(DI)) and B (at
// TS(DI)) in lanes 0 and 1, and Y10 to [A's ×4 | B's ×4].
#define PAIRSCALE(TS) \
	MOVWLZX 0(DI), AX; \
	MOVWLZX TS(DI), BX; \
	SHLL $16, BX; \
	ORL  BX, AX; \
	VMOVD AX, X6; \
	VCVTPH2PS X6, X6; \
	VMOVQ (R8), X7; \
	VMULPS X7, X6, X6; \
	VPERMPS Y6, Y13, Y10

// func dotQ4_0GAVX2(xq *int8, xd, xs *float32, w *byte, nb int) float32
//
// Two blocks per iteration share the scale conversion and the nibble
// shuffles (NIBPAIR); an odd last block takes Q40BLK.
TEXT ·dotQ4_0GAVX2(SB), NOSPLIT, $0-44
	B32PROLOGUE
	VMOVDQU pairidx<>(SB), Y13
	SUBQ $2, CX
	JL   q40tail

q40loop:
	PAIRSCALE(18)
	// - xd·d·xs for both (the -8 offsets), in lanes 0-1 of X1.
	VMOVQ (R9), X7
	VFNMADD231PS X7, X6, X1
	NIBPAIR(2, 18)
	VCVTDQ2PS Y2, Y2
	VFMADD231PS Y2, Y10, Y0
	ADDQ $64, SI
	ADDQ $8, R8
	ADDQ $8, R9
	ADDQ $36, DI
	SUBQ $2, CX
	JGE  q40loop

q40tail:
	ADDQ $2, CX
	JZ   q40done
	Q40BLK(Y0, X1)

q40done:
	VHADDPS X1, X1, X1
	B32END

// func dotQ4_1AVX2(xq *int8, xd, xs *float32, w *byte, nb int) float32
//
// Block pairs as dotQ4_0GAVX2; the mins add m·xd·xs/8 per block.
TEXT ·dotQ4_1AVX2(SB), NOSPLIT, $0-44
	B32PROLOGUE
	VMOVDQU pairidx<>(SB), Y13
	SUBQ $2, CX
	JL   q41tail

q41loop:
	PAIRSCALE(20)
	PAIRMIN(2, 20)
	NIBPAIR(4, 20)
	VCVTDQ2PS Y2, Y2
	VFMADD231PS Y2, Y10, Y0
	ADDQ $64, SI
	ADDQ $8, R8
	ADDQ $8, R9
	ADDQ $40, DI
	SUBQ $2, CX
	JGE  q41loop

q41tail:
	ADDQ $2, CX
	JZ   q41done
	Q41BLK(Y0, X1)

q41done:
	VHADDPS X1, X1, X1
	B32END

// func dotQ5_0AVX2(xq *int8, xd, xs *float32, w *byte, nb int) float32
//
// Block pairs as dotQ4_0GAVX2, with the fifth bits (HI5PAIR).
TEXT ·dotQ5_0AVX2(SB), NOSPLIT, $0-44
	B32PROLOGUE
	VMOVDQU pairidx<>(SB), Y13
	SUBQ $2, CX
	JL   q50tail

q50loop:
	PAIRSCALE(22)
	// - 2·xd·d·xs for both (the -16 offsets).
	VMOVQ (R9), X7
	VADDPS X7, X7, X7
	VFNMADD231PS X7, X6, X1
	NIBPAIRLOAD(6, 22)
	HI5PAIR(2, 22)
	PAIRDOT
	VCVTDQ2PS Y2, Y2
	VFMADD231PS Y2, Y10, Y0
	ADDQ $64, SI
	ADDQ $8, R8
	ADDQ $8, R9
	ADDQ $44, DI
	SUBQ $2, CX
	JGE  q50loop

q50tail:
	ADDQ $2, CX
	JZ   q50done
	// HI5 needs its constants back.
	VPBROADCASTQ tenbits<>(SB), Y13
	VPBROADCASTQ qhbits<>(SB), Y12
	VPCMPEQB Y11, Y11, Y11
	Q50BLK(Y0, X1)

q50done:
	VHADDPS X1, X1, X1
	B32END

// func dotQ5_1AVX2(xq *int8, xd, xs *float32, w *byte, nb int) float32
//
// Block pairs as dotQ4_0GAVX2, with the fifth bits (HI5PAIR).
TEXT ·dotQ5_1AVX2(SB), NOSPLIT, $0-44
	B32PROLOGUE
	VMOVDQU pairidx<>(SB), Y13
	SUBQ $2, CX
	JL   q51tail

q51loop:
	PAIRSCALE(24)
	PAIRMIN(2, 24)
	NIBPAIRLOAD(8, 24)
	HI5PAIR(4, 24)
	PAIRDOT
	VCVTDQ2PS Y2, Y2
	VFMADD231PS Y2, Y10, Y0
	ADDQ $64, SI
	ADDQ $8, R8
	ADDQ $8, R9
	ADDQ $48, DI
	SUBQ $2, CX
	JGE  q51loop

q51tail:
	ADDQ $2, CX
	JZ   q51done
	// HI5 needs its constants back.
	VPBROADCASTQ tenbits<>(SB), Y13
	VPBROADCASTQ qhbits<>(SB), Y12
	VPCMPEQB Y11, Y11, Y11
	Q51BLK(Y0, X1)

q51done:
	VHADDPS X1, X1, X1
	B32END

// ---- Q2_K and Q3_K: 2-bit values (plus Q3_K's high bit) in 16-column
// sub-blocks, scaled like Q6_K (Q6KSUB with the scale bytes in X6).

// Q2KSUB does shift J of half N (group 4N+J): the 2-bit fields at 2J of
// the 32 bytes in Y4.
#define Q2KSUB(N, J, REG) \
	VPSRLW $(2*J), Y4, Y7; \
	VPAND Y15, Y7, Y7; \
	Q6KSUB(N, J, REG)

// Q2KHALF does half N (qs bytes at OFF(DI)), groups 4N..4N+3 pairwise
// summed into R0.
#define Q2KHALF(N, OFF, R0, R1, R2) \
	VMOVDQU OFF(DI), Y4; \
	Q2KSUB(N, 0, R0); \
	Q2KSUB(N, 1, R1); \
	VPHADDD R1, R0, R0; \
	Q2KSUB(N, 2, R1); \
	Q2KSUB(N, 3, R2); \
	VPHADDD R2, R1, R1; \
	VPHADDD R1, R0, R0

// func dotQ2KAVX2(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
TEXT ·dotQ2KAVX2(SB), NOSPLIT, $0-44
	KPROLOGUE
	VPBROADCASTQ k3mask<>(SB), Y15
	VPBROADCASTQ nib<>(SB), Y14

q2kloop:
	Q2KMINS(X14)
	// Scales: the low nibbles.
	VPAND X14, X6, X6
	Q2KHALF(0, 16, Y10, Y11, Y12)
	Q2KHALF(1, 48, Y11, Y12, Y3)
	TREE8
	KACC(80)
	KNEXT(84, q2kloop)
	KEND(40)

// Q3KSUB is Q2KSUB plus the high bit 4N+J of the hmask bytes in Y13,
// which adds 4 (the values are stored as q+4, unsigned).
#define Q3KSUB(N, J, REG) \
	VPSRLW $(2*J), Y4, Y7; \
	VPAND Y15, Y7, Y7; \
	VPSRLW $(4*N+J), Y13, Y8; \
	VPAND Y14, Y8, Y8; \
	VPSLLW $2, Y8, Y8; \
	VPOR Y8, Y7, Y7; \
	Q6KSUB(N, J, REG)

#define Q3KHALF(N, OFF, R0, R1, R2) \
	VMOVDQU OFF(DI), Y4; \
	Q3KSUB(N, 0, R0); \
	Q3KSUB(N, 1, R1); \
	VPHADDD R1, R0, R0; \
	Q3KSUB(N, 2, R1); \
	Q3KSUB(N, 3, R2); \
	VPHADDD R2, R1, R1; \
	VPHADDD R1, R0, R0

DATA ones8<>+0(SB)/8, $0x0101010101010101
GLOBL ones8<>(SB), RODATA|NOPTR, $8

DATA thirtytwo8<>+0(SB)/8, $0x2020202020202020
GLOBL thirtytwo8<>(SB), RODATA|NOPTR, $8

// func dotQ3KAVX2(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
TEXT ·dotQ3KAVX2(SB), NOSPLIT, $0-44
	KPROLOGUE
	VPBROADCASTQ k3mask<>(SB), Y15
	VPBROADCASTQ ones8<>(SB), Y14
	VPBROADCASTQ thirtytwo8<>(SB), X5

q3kloop:
	Q3SCALES
	// Values are stored as q+4: Y2 gets 4·Σ scale·bsum per group.
	VPMOVSXBW X6, Y2
	VPMADDWD (R10), Y2, Y2
	VPSLLD $2, Y2, Y2
	VMOVDQU (DI), Y13
	Q3KHALF(0, 32, Y10, Y11, Y12)
	Q3KHALF(1, 64, Y11, Y12, Y3)
	TREE8
	VPSUBD Y2, Y12, Y12
	KACC(108)
	KNEXT(110, q3kloop)
	KEND(40)

// ---- Dequantization of whole blocks to f32 (for the GEMM's packed
// panels), with the same float operations as the generic code, so the
// results are identical.

// STORE8 converts the low 8 unsigned bytes of SRC to f32, multiplies by
// Y11, subtracts Y12 and stores them at OFF(R9).
#define STORE8(SRC, OFF) \
	VPMOVZXBD SRC, Y9; \
	VCVTDQ2PS Y9, Y9; \
	VMULPS Y11, Y9, Y9; \
	VSUBPS Y12, Y9, Y9; \
	VMOVUPS Y9, OFF(R9)

// STORE32 stores the 32 bytes of Y7 (as STORE8) at OFF(R9).
#define STORE32(OFF) \
	STORE8(X7, OFF); \
	VPSRLDQ $8, X7, X10; \
	STORE8(X10, OFF+32); \
	VEXTRACTI128 $1, Y7, X10; \
	STORE8(X10, OFF+64); \
	VPSRLDQ $8, X10, X10; \
	STORE8(X10, OFF+96)

DATA idx8<>+0(SB)/8, $0x0000000100000000
DATA idx8<>+8(SB)/8, $0x0000000300000002
DATA idx8<>+16(SB)/8, $0x0000000500000004
DATA idx8<>+24(SB)/8, $0x0000000700000006
GLOBL idx8<>(SB), RODATA|NOPTR, $32

// LANE broadcasts lane I of the f32 vector SRC to DST (Y3 is scratch).
#define LANE(SRC, I, DST) \
	VPBROADCASTD idx8<>+(4*(I))(SB), Y3; \
	VPERMPS SRC, Y3, DST

// K4DSCALES sets Y5 to d·scale (8 floats) and Y6 to dmin·min for a
// Q4_K/Q5_K block.
#define K4DSCALES \
	K4SCALEBYTES; \
	MOVWLZX 0(DI), AX; \
	VMOVD AX, X3; \
	VCVTPH2PS X3, X3; \
	VBROADCASTSS X3, Y3; \
	VPMOVZXBD X2, Y4; \
	VCVTDQ2PS Y4, Y4; \
	VMULPS Y4, Y3, Y5; \
	MOVWLZX 2(DI), AX; \
	VMOVD AX, X3; \
	VCVTPH2PS X3, X3; \
	VBROADCASTSS X3, Y3; \
	VPSRLDQ $8, X2, X2; \
	VPMOVZXBD X2, Y4; \
	VCVTDQ2PS Y4, Y4; \
	VMULPS Y4, Y3, Y6

// K4CHUNK stores the 64 values of chunk J from the low (Y7) and high (Y8)
// nibble bytes, with scales/mins 2J and 2J+1.
#define K4CHUNK(J) \
	LANE(Y5, 2*J, Y11); \
	LANE(Y6, 2*J, Y12); \
	STORE32(256*J); \
	VMOVDQA Y8, Y7; \
	LANE(Y5, 2*J+1, Y11); \
	LANE(Y6, 2*J+1, Y12); \
	STORE32(256*J+128)

// func dequantQ4KAVX2(dst *float32, w *byte, nb int)
TEXT ·dequantQ4KAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), R9
	MOVQ w+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTQ nib<>(SB), Y15

dq4kloop:
	K4DSCALES
#define Q4KDQ(J) \
	VMOVDQU (16+32*J)(DI), Y7; \
	VPSRLW $4, Y7, Y8; \
	VPAND Y15, Y7, Y7; \
	VPAND Y15, Y8, Y8; \
	K4CHUNK(J)
	Q4KDQ(0)
	Q4KDQ(1)
	Q4KDQ(2)
	Q4KDQ(3)
	ADDQ $1024, R9
	ADDQ $144, DI
	DECQ CX
	JNZ  dq4kloop
	VZEROUPPER
	RET

// func dequantQ5KAVX2(dst *float32, w *byte, nb int)
TEXT ·dequantQ5KAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), R9
	MOVQ w+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTQ nib<>(SB), Y15
	VPBROADCASTQ ones8<>(SB), Y14

dq5kloop:
	K4DSCALES
	VMOVDQU 16(DI), Y13
#define Q5KDQ(J) \
	VMOVDQU (48+32*J)(DI), Y7; \
	VPSRLW $4, Y7, Y8; \
	VPAND Y15, Y7, Y7; \
	VPAND Y15, Y8, Y8; \
	VPAND Y14, Y13, Y9; \
	VPSLLW $4, Y9, Y9; \
	VPOR Y9, Y7, Y7; \
	VPSRLW $1, Y13, Y13; \
	VPAND Y14, Y13, Y9; \
	VPSLLW $4, Y9, Y9; \
	VPOR Y9, Y8, Y8; \
	VPSRLW $1, Y13, Y13; \
	K4CHUNK(J)
	Q5KDQ(0)
	Q5KDQ(1)
	Q5KDQ(2)
	Q5KDQ(3)
	ADDQ $1024, R9
	ADDQ $176, DI
	DECQ CX
	JNZ  dq5kloop
	VZEROUPPER
	RET

// S8STORE converts the low 8 signed bytes of SRC to f32, multiplies by
// Y11 and stores them at OFF(R9).
#define S8STORE(SRC, OFF) \
	VPMOVSXBD SRC, Y9; \
	VCVTDQ2PS Y9, Y9; \
	VMULPS Y11, Y9, Y9; \
	VMOVUPS Y9, OFF(R9)

// Q6KDQSUB stores the 32 values (6-bit, unsigned, in Y7) of group K of
// half N: columns 128N+32K.., scales 8N+2K (first 16) and 8N+2K+1, lanes
// 2K and 2K+1 of the f32 scales SC.
#define Q6KDQSUB(N, K, SC) \
	VPSUBB Y12, Y7, Y7; \
	LANE(SC, 2*K, Y11); \
	S8STORE(X7, 4*(128*N+32*K)); \
	VPSRLDQ $8, X7, X10; \
	S8STORE(X10, 4*(128*N+32*K)+32); \
	VEXTRACTI128 $1, Y7, X10; \
	LANE(SC, 2*K+1, Y11); \
	S8STORE(X10, 4*(128*N+32*K)+64); \
	VPSRLDQ $8, X10, X10; \
	S8STORE(X10, 4*(128*N+32*K)+96)

// Q6KDQHALF dequantizes columns 128N..128N+127 (ql at 64N(DI), qh at
// 128+32N(DI)) with the f32 scales in SC.
#define Q6KDQHALF(N, SC) \
	VMOVDQU (128+32*N)(DI), Y13; \
	VMOVDQU (64*N)(DI), Y4; \
	VMOVDQU (64*N+32)(DI), Y5; \
	VPAND Y15, Y4, Y7; \
	VPAND Y14, Y13, Y8; \
	VPSLLW $4, Y8, Y8; \
	VPOR Y8, Y7, Y7; \
	Q6KDQSUB(N, 0, SC); \
	VPAND Y15, Y5, Y7; \
	VPSRLW $2, Y13, Y8; \
	VPAND Y14, Y8, Y8; \
	VPSLLW $4, Y8, Y8; \
	VPOR Y8, Y7, Y7; \
	Q6KDQSUB(N, 1, SC); \
	VPSRLW $4, Y4, Y7; \
	VPAND Y15, Y7, Y7; \
	VPSRLW $4, Y13, Y8; \
	VPAND Y14, Y8, Y8; \
	VPSLLW $4, Y8, Y8; \
	VPOR Y8, Y7, Y7; \
	Q6KDQSUB(N, 2, SC); \
	VPSRLW $4, Y5, Y7; \
	VPAND Y15, Y7, Y7; \
	VPSRLW $6, Y13, Y8; \
	VPAND Y14, Y8, Y8; \
	VPSLLW $4, Y8, Y8; \
	VPOR Y8, Y7, Y7; \
	Q6KDQSUB(N, 3, SC)

// func dequantQ6KAVX2(dst *float32, w *byte, nb int)
TEXT ·dequantQ6KAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), R9
	MOVQ w+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTQ nib<>(SB), Y15
	VPBROADCASTQ k3mask<>(SB), Y14
	VPBROADCASTQ thirtytwo8<>(SB), Y12

dq6kloop:
	// d·scale for the 16 sub-blocks in Y2 (0-7) and Y6 (8-15).
	MOVWLZX 208(DI), AX
	VMOVD AX, X3
	VCVTPH2PS X3, X3
	VBROADCASTSS X3, Y3
	VPMOVSXBD 192(DI), Y4
	VCVTDQ2PS Y4, Y4
	VMULPS Y4, Y3, Y2
	VPMOVSXBD 200(DI), Y4
	VCVTDQ2PS Y4, Y4
	VMULPS Y4, Y3, Y6
	Q6KDQHALF(0, Y2)
	Q6KDQHALF(1, Y6)
	ADDQ $1024, R9
	ADDQ $210, DI
	DECQ CX
	JNZ  dq6kloop
	VZEROUPPER
	RET

// func dequantQ8_0GAVX2(dst *float32, w *byte, nb int)
TEXT ·dequantQ8_0GAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), R9
	MOVQ w+8(FP), DI
	MOVQ nb+16(FP), CX

dq80loop:
	MOVWLZX 0(DI), AX
	VMOVD AX, X3
	VCVTPH2PS X3, X3
	VBROADCASTSS X3, Y11
	VPMOVSXBD 2(DI), Y9
	VCVTDQ2PS Y9, Y9
	VMULPS Y11, Y9, Y9
	VMOVUPS Y9, 0(R9)
	VPMOVSXBD 10(DI), Y9
	VCVTDQ2PS Y9, Y9
	VMULPS Y11, Y9, Y9
	VMOVUPS Y9, 32(R9)
	VPMOVSXBD 18(DI), Y9
	VCVTDQ2PS Y9, Y9
	VMULPS Y11, Y9, Y9
	VMOVUPS Y9, 64(R9)
	VPMOVSXBD 26(DI), Y9
	VCVTDQ2PS Y9, Y9
	VMULPS Y11, Y9, Y9
	VMOVUPS Y9, 96(R9)
	ADDQ $128, R9
	ADDQ $34, DI
	DECQ CX
	JNZ  dq80loop
	VZEROUPPER
	RET

DATA eight8<>+0(SB)/8, $0x0808080808080808
GLOBL eight8<>(SB), RODATA|NOPTR, $8

// func dequantQ4_0GAVX2(dst *float32, w *byte, nb int)
TEXT ·dequantQ4_0GAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), R9
	MOVQ w+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTQ nib<>(SB), X15
	VPBROADCASTQ eight8<>(SB), X14

dq40loop:
	MOVWLZX 0(DI), AX
	VMOVD AX, X3
	VCVTPH2PS X3, X3
	VBROADCASTSS X3, Y11
	VMOVDQU 2(DI), X2
	VPSRLW $4, X2, X4
	VPAND X15, X2, X2
	VPAND X15, X4, X4
	VPSUBB X14, X2, X2
	VPSUBB X14, X4, X4
	S8STORE(X2, 0)
	VPSRLDQ $8, X2, X10
	S8STORE(X10, 32)
	S8STORE(X4, 64)
	VPSRLDQ $8, X4, X10
	S8STORE(X10, 96)
	ADDQ $128, R9
	ADDQ $18, DI
	DECQ CX
	JNZ  dq40loop
	VZEROUPPER
	RET

// DQS8 converts the low 8 signed bytes of SRC to f32, times Y6, to
// OFF(R9); DQU8M the low 8 unsigned bytes, times Y6 plus Y5.
#define DQS8(SRC, OFF) \
	VPMOVSXBD SRC, Y9; \
	VCVTDQ2PS Y9, Y9; \
	VMULPS Y6, Y9, Y9; \
	VMOVUPS Y9, OFF(R9)

#define DQU8M(SRC, OFF) \
	VPMOVZXBD SRC, Y9; \
	VCVTDQ2PS Y9, Y9; \
	VMULPS Y6, Y9, Y9; \
	VADDPS Y5, Y9, Y9; \
	VMOVUPS Y9, OFF(R9)

// DQ32(M) stores the 32 bytes of Y2 (columns in order) with DQS8 / DQU8M.
#define DQ32S \
	DQS8(X2, 0); \
	VPSRLDQ $8, X2, X10; \
	DQS8(X10, 32); \
	VEXTRACTI128 $1, Y2, X10; \
	DQS8(X10, 64); \
	VPSRLDQ $8, X10, X10; \
	DQS8(X10, 96)

#define DQ32UM \
	DQU8M(X2, 0); \
	VPSRLDQ $8, X2, X10; \
	DQU8M(X10, 32); \
	VEXTRACTI128 $1, Y2, X10; \
	DQU8M(X10, 64); \
	VPSRLDQ $8, X10, X10; \
	DQU8M(X10, 96)

// DQF16(OFF, X) broadcasts the f16 at OFF(DI) to X's Y register.
#define DQF16(OFF, X, Y) \
	MOVWLZX OFF(DI), AX; \
	VMOVD AX, X; \
	VCVTPH2PS X, X; \
	VBROADCASTSS X, Y

#define DQ32PROLOGUE \
	MOVQ dst+0(FP), R9; \
	MOVQ w+8(FP), DI; \
	MOVQ nb+16(FP), CX; \
	VPBROADCASTQ nib<>(SB), Y14; \
	VPBROADCASTQ tenbits<>(SB), Y13; \
	VPBROADCASTQ qhbits<>(SB), Y12; \
	VPCMPEQB Y11, Y11, Y11

#define DQ32NEXT(TS, LOOP) \
	ADDQ $128, R9; \
	ADDQ $TS, DI; \
	DECQ CX; \
	JNZ  LOOP; \
	VZEROUPPER; \
	RET

// func dequantQ4_1AVX2(dst *float32, w *byte, nb int)
TEXT ·dequantQ4_1AVX2(SB), NOSPLIT, $0-24
	DQ32PROLOGUE

dq41loop:
	DQF16(0, X6, Y6)
	DQF16(2, X5, Y5)
	NIB32(4)
	DQ32UM
	DQ32NEXT(20, dq41loop)

// func dequantQ5_0AVX2(dst *float32, w *byte, nb int)
TEXT ·dequantQ5_0AVX2(SB), NOSPLIT, $0-24
	DQ32PROLOGUE

dq50loop:
	DQF16(0, X6, Y6)
	NIB32(6)
	HI5(2)
	VPSUBB Y13, Y2, Y2
	DQ32S
	DQ32NEXT(22, dq50loop)

// func dequantQ5_1AVX2(dst *float32, w *byte, nb int)
TEXT ·dequantQ5_1AVX2(SB), NOSPLIT, $0-24
	DQ32PROLOGUE

dq51loop:
	DQF16(0, X6, Y6)
	DQF16(2, X5, Y5)
	NIB32(8)
	HI5(4)
	DQ32UM
	DQ32NEXT(24, dq51loop)

// Q2KDQSUB stores the 32 values of shift J of half N (columns 128N+32J..)
// of a Q2_K block, from the 32 qs bytes in Y4, with the d·scales DL and
// dmin·mins ML of that half (lanes 2J, 2J+1).
#define Q2KDQSUB(N, J, DL, ML) \
	VPSRLW $(2*J), Y4, Y7; \
	VPAND Y14, Y7, Y7; \
	LANE(DL, 2*J, Y11); \
	LANE(ML, 2*J, Y12); \
	STORE8(X7, 4*(128*N+32*J)); \
	VPSRLDQ $8, X7, X10; \
	STORE8(X10, 4*(128*N+32*J)+32); \
	VEXTRACTI128 $1, Y7, X10; \
	LANE(DL, 2*J+1, Y11); \
	LANE(ML, 2*J+1, Y12); \
	STORE8(X10, 4*(128*N+32*J)+64); \
	VPSRLDQ $8, X10, X10; \
	STORE8(X10, 4*(128*N+32*J)+96)

// DQSCALES8 sets DST to the f32 of the 8 unsigned bytes at the low end of
// SRC times Y3.
#define DQSCALES8(SRC, DST) \
	VPMOVZXBD SRC, DST; \
	VCVTDQ2PS DST, DST; \
	VMULPS Y3, DST, DST

// func dequantQ2KAVX2(dst *float32, w *byte, nb int)
TEXT ·dequantQ2KAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), R9
	MOVQ w+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTQ nib<>(SB), Y15
	VPBROADCASTQ k3mask<>(SB), Y14

dq2kloop:
	// d·(scale) in Y2 (sub-blocks 0-7) and Y6 (8-15); dmin·(min) in Y5
	// and Y8.
	VMOVDQU 0(DI), X10
	VPAND X15, X10, X13
	VPSRLW $4, X10, X10
	VPAND X15, X10, X10
	DQF16(80, X3, Y3)
	DQSCALES8(X13, Y2)
	VPSRLDQ $8, X13, X13
	DQSCALES8(X13, Y6)
	DQF16(82, X3, Y3)
	DQSCALES8(X10, Y5)
	VPSRLDQ $8, X10, X10
	DQSCALES8(X10, Y8)
	VMOVDQU 16(DI), Y4
	Q2KDQSUB(0, 0, Y2, Y5)
	Q2KDQSUB(0, 1, Y2, Y5)
	Q2KDQSUB(0, 2, Y2, Y5)
	Q2KDQSUB(0, 3, Y2, Y5)
	VMOVDQU 48(DI), Y4
	Q2KDQSUB(1, 0, Y6, Y8)
	Q2KDQSUB(1, 1, Y6, Y8)
	Q2KDQSUB(1, 2, Y6, Y8)
	Q2KDQSUB(1, 3, Y6, Y8)
	ADDQ $1024, R9
	ADDQ $84, DI
	DECQ CX
	JNZ  dq2kloop
	VZEROUPPER
	RET

// Q3KDQSUB stores the 32 values of shift J of half N of a Q3_K block: the
// 2-bit fields of Y4 plus 4·(high bit 4N+J of the hmask bytes in Y13),
// minus 4, times the d·scales DL (lanes 2J, 2J+1).
#define Q3KDQSUB(N, J, DL) \
	VPSRLW $(2*J), Y4, Y7; \
	VPAND Y14, Y7, Y7; \
	VPSRLW $(4*N+J), Y13, Y8; \
	VPAND Y15, Y8, Y8; \
	VPSLLW $2, Y8, Y8; \
	VPOR Y8, Y7, Y7; \
	VPSUBB Y12, Y7, Y7; \
	LANE(DL, 2*J, Y11); \
	S8STORE(X7, 4*(128*N+32*J)); \
	VPSRLDQ $8, X7, X10; \
	S8STORE(X10, 4*(128*N+32*J)+32); \
	VEXTRACTI128 $1, Y7, X10; \
	LANE(DL, 2*J+1, Y11); \
	S8STORE(X10, 4*(128*N+32*J)+64); \
	VPSRLDQ $8, X10, X10; \
	S8STORE(X10, 4*(128*N+32*J)+96)

DATA four8<>+0(SB)/8, $0x0404040404040404
GLOBL four8<>(SB), RODATA|NOPTR, $8

// func dequantQ3KAVX2(dst *float32, w *byte, nb int)
TEXT ·dequantQ3KAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), R9
	MOVQ w+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTQ ones8<>(SB), Y15
	VPBROADCASTQ k3mask<>(SB), Y14
	VPBROADCASTQ four8<>(SB), Y12
	VPBROADCASTQ thirtytwo8<>(SB), X5

dq3kloop:
	Q3SCALES
	// d·(scale-32) in Y2 (sub-blocks 0-7) and Y6 (8-15).
	DQF16(108, X3, Y3)
	VPMOVSXBD X6, Y2
	VCVTDQ2PS Y2, Y2
	VMULPS Y3, Y2, Y2
	VPSRLDQ $8, X6, X6
	VPMOVSXBD X6, Y6
	VCVTDQ2PS Y6, Y6
	VMULPS Y3, Y6, Y6
	VMOVDQU 0(DI), Y13
	VMOVDQU 32(DI), Y4
	Q3KDQSUB(0, 0, Y2)
	Q3KDQSUB(0, 1, Y2)
	Q3KDQSUB(0, 2, Y2)
	Q3KDQSUB(0, 3, Y2)
	VMOVDQU 64(DI), Y4
	Q3KDQSUB(1, 0, Y6)
	Q3KDQSUB(1, 1, Y6)
	Q3KDQSUB(1, 2, Y6)
	Q3KDQSUB(1, 3, Y6)
	ADDQ $1024, R9
	ADDQ $110, DI
	DECQ CX
	JNZ  dq3kloop
	VZEROUPPER
	RET
