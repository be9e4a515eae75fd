//go:build amd64 && !purego

// AVX2 dot products of q8_K activations (256 int8 per super-block, f32
// scale, int16 sums per 16) with rows of ggml K-quant blocks. They follow
// the integer scheme of llama.cpp's ggml_vec_dot_qN_K_q8_K: unsigned
// weight values times signed activations with VPMADDUBSW, sub-block scales
// applied with VPMADDWD, one float multiply-add per super-block, and the
// min/offset terms taken from the activation sums.

#include "textflag.h"

// Byte shuffles that broadcast the int16 at word j of a register to all its
// words (8 masks of 32 bytes, j = 0..7).
DATA k4shuf<>+0(SB)/8, $0x0100010001000100
DATA k4shuf<>+8(SB)/8, $0x0100010001000100
DATA k4shuf<>+16(SB)/8, $0x0100010001000100
DATA k4shuf<>+24(SB)/8, $0x0100010001000100
DATA k4shuf<>+32(SB)/8, $0x0302030203020302
DATA k4shuf<>+40(SB)/8, $0x0302030203020302
DATA k4shuf<>+48(SB)/8, $0x0302030203020302
DATA k4shuf<>+56(SB)/8, $0x0302030203020302
DATA k4shuf<>+64(SB)/8, $0x0504050405040504
DATA k4shuf<>+72(SB)/8, $0x0504050405040504
DATA k4shuf<>+80(SB)/8, $0x0504050405040504
DATA k4shuf<>+88(SB)/8, $0x0504050405040504
DATA k4shuf<>+96(SB)/8, $0x0706070607060706
DATA k4shuf<>+104(SB)/8, $0x0706070607060706
DATA k4shuf<>+112(SB)/8, $0x0706070607060706
DATA k4shuf<>+120(SB)/8, $0x0706070607060706
DATA k4shuf<>+128(SB)/8, $0x0908090809080908
DATA k4shuf<>+136(SB)/8, $0x0908090809080908
DATA k4shuf<>+144(SB)/8, $0x0908090809080908
DATA k4shuf<>+152(SB)/8, $0x0908090809080908
DATA k4shuf<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL k4shuf<>(SB), RODATA|NOPTR, $256

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

// K4SCALES decodes the twelve 6-bit scale/min bytes at 4(DI) of a Q4_K or
// Q5_K block (llama.cpp's utmp trick) into Y2 as 16 int16: scales 0-7,
// then mins 0-7. It clobbers AX, BX, DX, R11, R12, R13.
#define K4SCALES \
	MOVL 4(DI), AX; \
	MOVL 8(DI), BX; \
	MOVL 12(DI), DX; \
	MOVL DX, R11; \
	SHRL $4, R11; \
	ANDL $0x0f0f0f0f, R11; \
	MOVL BX, R12; \
	SHRL $6, R12; \
	ANDL $0x03030303, R12; \
	SHLL $4, R12; \
	ORL  R12, R11; \
	MOVL BX, R13; \
	ANDL $0x3f3f3f3f, R13; \
	ANDL $0x0f0f0f0f, DX; \
	MOVL AX, R12; \
	SHRL $6, R12; \
	ANDL $0x03030303, R12; \
	SHLL $4, R12; \
	ORL  R12, DX; \
	ANDL $0x3f3f3f3f, AX; \
	SHLQ $32, DX; \
	ORQ  DX, AX; \
	SHLQ $32, R11; \
	ORQ  R11, R13; \
	VMOVQ AX, X2; \
	VPINSRQ $1, R13, X2, X2; \
	VPMOVZXBW X2, Y2

// KMINS adds the mins term of a Q4_K/Q5_K super-block to X1: Y2 holds the
// scales/mins (K4SCALES), (R10) the 16 activation sums; the mins multiply
// the sums of each 32, scaled by xd·dmin (f16 at 2(DI)).
#define KMINS \
	VMOVDQU (R10), Y3; \
	VEXTRACTI128 $1, Y3, X4; \
	VPHADDW X4, X3, X3; \
	VEXTRACTI128 $1, Y2, X5; \
	VPMADDWD X3, X5, X5; \
	VCVTDQ2PS X5, X5; \
	MOVWLZX 2(DI), AX; \
	VMOVD AX, X12; \
	VCVTPH2PS X12, X12; \
	VMULSS (R8), X12, X12; \
	VBROADCASTSS X12, X12; \
	VFMADD231PS X5, X12, X1

// KSCALE broadcasts xd·d (f16 at OFF(DI)) to Y11.
#define KSCALE(OFF) \
	MOVWLZX OFF(DI), AX; \
	VMOVD AX, X11; \
	VCVTPH2PS X11, X11; \
	VMULSS (R8), X11, X11; \
	VBROADCASTSS X11, Y11

// K4PAIR multiplies the unsigned bytes in Y8 (sub-block 2J) and Y7 (2J+1)
// with the activations at 64J(SI) and 64J+32(SI), applies the int16 scales
// of Y6 and adds the int32 sums to Y10.
#define K4PAIR(J) \
	VPMADDUBSW (64*J)(SI), Y8, Y8; \
	VPMADDUBSW (64*J+32)(SI), Y7, Y7; \
	VPSHUFB k4shuf<>+(64*J)(SB), Y6, Y9; \
	VPMADDWD Y9, Y8, Y8; \
	VPSHUFB k4shuf<>+(64*J+32)(SB), Y6, Y9; \
	VPMADDWD Y9, Y7, Y7; \
	VPADDD Y8, Y10, Y10; \
	VPADDD Y7, Y10, Y10

// Q4KSUB does 64 values of a Q4_K block: 32 bytes of nibbles at
// 16+32J(DI).
#define Q4KSUB(J) \
	VMOVDQU (16+32*J)(DI), Y7; \
	VPAND Y15, Y7, Y8; \
	VPSRLW $4, Y7, Y7; \
	VPAND Y15, Y7, Y7; \
	K4PAIR(J)

// Q5KSUB is Q4KSUB for Q5_K (nibbles at 48+32J(DI)), taking the fifth
// bits from Y13 (the 32 qh bytes, shifted right by 2J so far).
#define Q5KSUB(J) \
	VMOVDQU (48+32*J)(DI), Y7; \
	VPAND Y15, Y7, Y8; \
	VPSRLW $4, Y7, Y7; \
	VPAND Y15, Y7, Y7; \
	VPAND Y14, Y13, Y9; \
	VPSLLW $4, Y9, Y9; \
	VPOR Y9, Y8, Y8; \
	VPSRLW $1, Y13, Y13; \
	VPAND Y14, Y13, Y9; \
	VPSLLW $4, Y9, Y9; \
	VPOR Y9, Y7, Y7; \
	VPSRLW $1, Y13, Y13; \
	K4PAIR(J)

// KEND returns Σ Y0 - Σ X1 at ret+OFF(FP).
#define KEND(OFF) \
	VEXTRACTF128 $1, Y0, X2; \
	VADDPS X2, X0, X0; \
	VSUBPS X1, X0, X0; \
	VHADDPS X0, X0, X0; \
	VHADDPS X0, X0, X0; \
	VMOVSS X0, ret+OFF(FP); \
	VZEROUPPER; \
	RET

// func dotQ4KAVX2(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
TEXT ·dotQ4KAVX2(SB), NOSPLIT, $0-44
	MOVQ xq+0(FP), SI
	MOVQ xd+8(FP), R8
	MOVQ bsum+16(FP), R10
	MOVQ w+24(FP), DI
	MOVQ nb+32(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VPBROADCASTQ nib<>(SB), Y15

q4kloop:
	K4SCALES
	KMINS
	VPERMQ $0x44, Y2, Y6
	VPXOR Y10, Y10, Y10
	Q4KSUB(0)
	Q4KSUB(1)
	Q4KSUB(2)
	Q4KSUB(3)
	KSCALE(0)
	VCVTDQ2PS Y10, Y10
	VFMADD231PS Y10, Y11, Y0
	ADDQ $256, SI
	ADDQ $4, R8
	ADDQ $32, R10
	ADDQ $144, DI
	DECQ CX
	JNZ  q4kloop
	KEND(40)

// func dotQ5KAVX2(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
TEXT ·dotQ5KAVX2(SB), NOSPLIT, $0-44
	MOVQ xq+0(FP), SI
	MOVQ xd+8(FP), R8
	MOVQ bsum+16(FP), R10
	MOVQ w+24(FP), DI
	MOVQ nb+32(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VPBROADCASTQ nib<>(SB), Y15
	VPCMPEQB Y14, Y14, Y14
	VPABSB Y14, Y14

q5kloop:
	K4SCALES
	KMINS
	VPERMQ $0x44, Y2, Y6
	VPXOR Y10, Y10, Y10
	VMOVDQU 16(DI), Y13
	Q5KSUB(0)
	Q5KSUB(1)
	Q5KSUB(2)
	Q5KSUB(3)
	KSCALE(0)
	VCVTDQ2PS Y10, Y10
	VFMADD231PS Y10, Y11, Y0
	ADDQ $256, SI
	ADDQ $4, R8
	ADDQ $32, R10
	ADDQ $176, DI
	DECQ CX
	JNZ  q5kloop
	KEND(40)

// Q6KSUB does 32 values (columns 32K.. of half N) of a Q6_K block: Y7
// holds the 6-bit values (+32, unsigned), multiplied with the activations
// at 128N+32K(SI) and by the scales 8N+2K (low 16 columns) and 8N+2K+1.
#define Q6KSUB(N, K) \
	VPMADDUBSW (128*N+32*K)(SI), Y7, Y7; \
	VPSHUFB k6shuf<>+(16*(4*N+K))(SB), X6, X9; \
	VPMOVSXBW X9, Y9; \
	VPMADDWD Y9, Y7, Y7; \
	VPADDD Y7, Y10, Y10

// Q6KHALF does columns 128N..128N+127: ql at 64N(DI), qh at 128+32N(DI).
#define Q6KHALF(N) \
	VMOVDQU (128+32*N)(DI), Y13; \
	VMOVDQU (64*N)(DI), Y4; \
	VMOVDQU (64*N+32)(DI), Y5; \
	VPAND Y15, Y4, Y7; \
	VPAND Y14, Y13, Y8; \
	VPSLLW $4, Y8, Y8; \
	VPOR Y8, Y7, Y7; \
	Q6KSUB(N, 0); \
	VPAND Y15, Y5, Y7; \
	VPSRLW $2, Y13, Y8; \
	VPAND Y14, Y8, Y8; \
	VPSLLW $4, Y8, Y8; \
	VPOR Y8, Y7, Y7; \
	Q6KSUB(N, 1); \
	VPSRLW $4, Y4, Y7; \
	VPAND Y15, Y7, Y7; \
	VPSRLW $4, Y13, Y8; \
	VPAND Y14, Y8, Y8; \
	VPSLLW $4, Y8, Y8; \
	VPOR Y8, Y7, Y7; \
	Q6KSUB(N, 2); \
	VPSRLW $4, Y5, Y7; \
	VPAND Y15, Y7, Y7; \
	VPSRLW $6, Y13, Y8; \
	VPAND Y14, Y8, Y8; \
	VPSLLW $4, Y8, Y8; \
	VPOR Y8, Y7, Y7; \
	Q6KSUB(N, 3)

// func dotQ6KAVX2(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
TEXT ·dotQ6KAVX2(SB), NOSPLIT, $0-44
	MOVQ xq+0(FP), SI
	MOVQ xd+8(FP), R8
	MOVQ bsum+16(FP), R10
	MOVQ w+24(FP), DI
	MOVQ nb+32(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VPBROADCASTQ nib<>(SB), Y15
	VPBROADCASTQ k3mask<>(SB), Y14

q6kloop:
	// X6: the 16 int8 scales. The stored values are q+32, so subtract
	// 32·Σ scale·bsum.
	VMOVDQU 192(DI), X6
	VPMOVSXBW X6, Y2
	VPMADDWD (R10), Y2, Y10
	VPSLLD $5, Y10, Y10
	VPXOR Y3, Y3, Y3
	VPSUBD Y10, Y3, Y10
	Q6KHALF(0)
	Q6KHALF(1)
	KSCALE(208)
	VCVTDQ2PS Y10, Y10
	VFMADD231PS Y10, Y11, Y0
	ADDQ $256, SI
	ADDQ $4, R8
	ADDQ $32, R10
	ADDQ $210, DI
	DECQ CX
	JNZ  q6kloop
	KEND(40)

// ---- 32-column formats, activations from quantizeRowQ8 (int8 x, f32 xd,
// xs = 8·Σx per block). One block per iteration; the block's weight scale
// times xd is broadcast to Y6 (BSCALE), the integer block dot converted to
// f32 is accumulated into Y0 and any offset/min term into the scalar X1.

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
// (SI) and accumulates their sum, times Y6, into Y0.
#define UDOT \
	VPMADDUBSW (SI), Y2, Y2; \
	VPMADDWD Y15, Y2, Y2; \
	VCVTDQ2PS Y2, Y2; \
	VFMADD231PS Y2, Y6, Y0

// MINTERM adds (xd·f16 at OFF(DI)) · xs/8 to X1 (Q4_1/Q5_1's min).
#define MINTERM(OFF) \
	MOVWLZX OFF(DI), AX; \
	VMOVD AX, X7; \
	VCVTPH2PS X7, X7; \
	VMULSS (R8), X7, X7; \
	VMULSS (R9), X7, X7; \
	VMULSS eighth<>(SB), X7, X7; \
	VADDSS X7, X1, X1

DATA eighth<>+0(SB)/4, $0.125
GLOBL eighth<>(SB), RODATA|NOPTR, $4

DATA two<>+0(SB)/4, $2.0
GLOBL two<>(SB), RODATA|NOPTR, $4

#define B32PROLOGUE \
	MOVQ xq+0(FP), SI; \
	MOVQ xd+8(FP), R8; \
	MOVQ xs+16(FP), R9; \
	MOVQ w+24(FP), DI; \
	MOVQ nb+32(FP), CX; \
	VXORPS Y0, Y0, Y0; \
	VXORPS X1, X1, X1; \
	VPBROADCASTW ones16<>(SB), Y15; \
	VPBROADCASTQ nib<>(SB), Y14; \
	VPBROADCASTQ tenbits<>(SB), Y13; \
	VPBROADCASTQ qhbits<>(SB), Y12; \
	VPCMPEQB Y11, Y11, Y11

#define B32NEXT(TS, LOOP) \
	ADDQ $32, SI; \
	ADDQ $4, R8; \
	ADDQ $4, R9; \
	ADDQ $TS, DI; \
	DECQ CX; \
	JNZ  LOOP

// B32END returns Σ Y0 + X1.
#define B32END \
	VEXTRACTF128 $1, Y0, X2; \
	VADDPS X2, X0, X0; \
	VHADDPS X0, X0, X0; \
	VHADDPS X0, X0, X0; \
	VADDSS X1, X0, X0; \
	VMOVSS X0, ret+40(FP); \
	VZEROUPPER; \
	RET

// func dotQ8_0GAVX2(xq *int8, xd, xs *float32, w *byte, nb int) float32
TEXT ·dotQ8_0GAVX2(SB), NOSPLIT, $0-44
	B32PROLOGUE

q80loop:
	BSCALE(0)
	VMOVDQU 2(DI), Y2
	VMOVDQU (SI), Y3
	VPSIGNB Y2, Y2, Y4
	VPSIGNB Y2, Y3, Y3
	VPMADDUBSW Y3, Y4, Y4
	VPMADDWD Y15, Y4, Y4
	VCVTDQ2PS Y4, Y4
	VFMADD231PS Y4, Y6, Y0
	B32NEXT(34, q80loop)
	B32END

// func dotQ4_0GAVX2(xq *int8, xd, xs *float32, w *byte, nb int) float32
TEXT ·dotQ4_0GAVX2(SB), NOSPLIT, $0-44
	B32PROLOGUE

q40loop:
	BSCALE(0)
	NIB32(2)
	UDOT
	// - d·xd·xs (the -8 offset).
	VMULSS (R9), X6, X7
	VSUBSS X7, X1, X1
	B32NEXT(18, q40loop)
	B32END

// func dotQ4_1AVX2(xq *int8, xd, xs *float32, w *byte, nb int) float32
TEXT ·dotQ4_1AVX2(SB), NOSPLIT, $0-44
	B32PROLOGUE

q41loop:
	BSCALE(0)
	NIB32(4)
	UDOT
	MINTERM(2)
	B32NEXT(20, q41loop)
	B32END

// func dotQ5_0AVX2(xq *int8, xd, xs *float32, w *byte, nb int) float32
TEXT ·dotQ5_0AVX2(SB), NOSPLIT, $0-44
	B32PROLOGUE

q50loop:
	BSCALE(0)
	NIB32(6)
	HI5(2)
	UDOT
	// - d·xd·2·xs (the -16 offset).
	VMULSS (R9), X6, X7
	VMULSS two<>(SB), X7, X7
	VSUBSS X7, X1, X1
	B32NEXT(22, q50loop)
	B32END

// func dotQ5_1AVX2(xq *int8, xd, xs *float32, w *byte, nb int) float32
TEXT ·dotQ5_1AVX2(SB), NOSPLIT, $0-44
	B32PROLOGUE

q51loop:
	BSCALE(0)
	NIB32(8)
	HI5(4)
	UDOT
	MINTERM(2)
	B32NEXT(24, q51loop)
	B32END

// ---- Q2_K and Q3_K: 2-bit values (plus Q3_K's high bit) in 16-column
// sub-blocks, scaled like Q6_K (Q6KSUB with the scale bytes in X6).

// Q2KSUB does shift J of half N: the 2-bit fields at 2J of the 32 bytes
// in Y4.
#define Q2KSUB(N, J) \
	VPSRLW $(2*J), Y4, Y7; \
	VPAND Y15, Y7, Y7; \
	Q6KSUB(N, J)

// func dotQ2KAVX2(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
TEXT ·dotQ2KAVX2(SB), NOSPLIT, $0-44
	MOVQ xq+0(FP), SI
	MOVQ xd+8(FP), R8
	MOVQ bsum+16(FP), R10
	MOVQ w+24(FP), DI
	MOVQ nb+32(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VPBROADCASTQ k3mask<>(SB), Y15
	VPBROADCASTQ nib<>(SB), Y14

q2kloop:
	// Mins (high nibbles) times the activation sums, scaled by xd·dmin.
	VMOVDQU (DI), X6
	VPSRLW $4, X6, X2
	VPAND X14, X2, X2
	VPMOVZXBW X2, Y2
	VPMADDWD (R10), Y2, Y3
	VCVTDQ2PS Y3, Y3
	MOVWLZX 82(DI), AX
	VMOVD AX, X12
	VCVTPH2PS X12, X12
	VMULSS (R8), X12, X12
	VBROADCASTSS X12, Y12
	VFMADD231PS Y3, Y12, Y1
	// Scales: the low nibbles.
	VPAND X14, X6, X6
	VPXOR Y10, Y10, Y10
	VMOVDQU 16(DI), Y4
	Q2KSUB(0, 0)
	Q2KSUB(0, 1)
	Q2KSUB(0, 2)
	Q2KSUB(0, 3)
	VMOVDQU 48(DI), Y4
	Q2KSUB(1, 0)
	Q2KSUB(1, 1)
	Q2KSUB(1, 2)
	Q2KSUB(1, 3)
	KSCALE(80)
	VCVTDQ2PS Y10, Y10
	VFMADD231PS Y10, Y11, Y0
	ADDQ $256, SI
	ADDQ $4, R8
	ADDQ $32, R10
	ADDQ $84, DI
	DECQ CX
	JNZ  q2kloop
	VEXTRACTF128 $1, Y1, X3
	VADDPS X3, X1, X1
	KEND(40)

// Q3KSUB is Q2KSUB plus the high bit 4N+J of the hmask bytes in Y13,
// which adds 4 (the values are stored as q+4, unsigned).
#define Q3KSUB(N, J) \
	VPSRLW $(2*J), Y4, Y7; \
	VPAND Y15, Y7, Y7; \
	VPSRLW $(4*N+J), Y13, Y8; \
	VPAND Y14, Y8, Y8; \
	VPSLLW $2, Y8, Y8; \
	VPOR Y8, Y7, Y7; \
	Q6KSUB(N, J)

DATA ones8<>+0(SB)/8, $0x0101010101010101
GLOBL ones8<>(SB), RODATA|NOPTR, $8

DATA thirtytwo8<>+0(SB)/8, $0x2020202020202020
GLOBL thirtytwo8<>(SB), RODATA|NOPTR, $8

// func dotQ3KAVX2(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
TEXT ·dotQ3KAVX2(SB), NOSPLIT, $0-44
	MOVQ xq+0(FP), SI
	MOVQ xd+8(FP), R8
	MOVQ bsum+16(FP), R10
	MOVQ w+24(FP), DI
	MOVQ nb+32(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VPBROADCASTQ k3mask<>(SB), Y15
	VPBROADCASTQ ones8<>(SB), Y14
	VPBROADCASTQ thirtytwo8<>(SB), X5

q3kloop:
	// Unpack the sixteen 6-bit scales (minus 32) into X6.
	MOVL 96(DI), AX
	MOVL 100(DI), BX
	MOVL 104(DI), DX
	MOVL AX, R11
	ANDL $0x0f0f0f0f, R11
	MOVL DX, R12
	ANDL $0x03030303, R12
	SHLL $4, R12
	ORL  R12, R11
	MOVL BX, R13
	ANDL $0x0f0f0f0f, R13
	MOVL DX, R12
	SHRL $2, R12
	ANDL $0x03030303, R12
	SHLL $4, R12
	ORL  R12, R13
	SHLQ $32, R13
	ORQ  R13, R11
	SHRL $4, AX
	ANDL $0x0f0f0f0f, AX
	MOVL DX, R12
	SHRL $4, R12
	ANDL $0x03030303, R12
	SHLL $4, R12
	ORL  R12, AX
	SHRL $4, BX
	ANDL $0x0f0f0f0f, BX
	SHRL $6, DX
	ANDL $0x03030303, DX
	SHLL $4, DX
	ORL  DX, BX
	SHLQ $32, BX
	ORQ  BX, AX
	VMOVQ R11, X6
	VPINSRQ $1, AX, X6, X6
	VPSUBB X5, X6, X6
	// Values are stored as q+4: subtract 4·Σ scale·bsum.
	VPMOVSXBW X6, Y2
	VPMADDWD (R10), Y2, Y10
	VPSLLD $2, Y10, Y10
	VPXOR Y3, Y3, Y3
	VPSUBD Y10, Y3, Y10
	VMOVDQU (DI), Y13
	VMOVDQU 32(DI), Y4
	Q3KSUB(0, 0)
	Q3KSUB(0, 1)
	Q3KSUB(0, 2)
	Q3KSUB(0, 3)
	VMOVDQU 64(DI), Y4
	Q3KSUB(1, 0)
	Q3KSUB(1, 1)
	Q3KSUB(1, 2)
	Q3KSUB(1, 3)
	KSCALE(108)
	VCVTDQ2PS Y10, Y10
	VFMADD231PS Y10, Y11, Y0
	ADDQ $256, SI
	ADDQ $4, R8
	ADDQ $32, R10
	ADDQ $110, DI
	DECQ CX
	JNZ  q3kloop
	KEND(40)
