//go:build amd64 && !purego

// AVX2/FMA/F16C kernels. Every routine handles any length: the main loops
// run on whole vectors and a scalar loop finishes the tail, unless the Go
// wrapper (kernels_amd64.go) says otherwise.

#include "textflag.h"

// HSUM leaves the sum of the 8 lanes of Y in the low lane of X (X is the
// low half of Y); T is a scratch X register.
#define HSUM(Y, X, T) \
	VEXTRACTF128 $1, Y, T; \
	VADDPS T, X, X; \
	VHADDPS X, X, X; \
	VHADDPS X, X, X

// EXP replaces each lane of X by e^X (Cephes-style range reduction and a
// degree-7 polynomial, about 2 ulp); N and P are scratch Y registers.
#define EXP(X, N, P) \
	VMINPS expHi<>(SB), X, X; \
	VMAXPS expLo<>(SB), X, X; \
	VMULPS log2e<>(SB), X, N; \
	VROUNDPS $0, N, N; \
	VFNMADD231PS ln2hi<>(SB), N, X; \
	VFNMADD231PS ln2lo<>(SB), N, X; \
	VMOVUPS expP0<>(SB), P; \
	VFMADD213PS expP1<>(SB), X, P; \
	VFMADD213PS expP2<>(SB), X, P; \
	VFMADD213PS expP3<>(SB), X, P; \
	VFMADD213PS expP4<>(SB), X, P; \
	VFMADD213PS expP5<>(SB), X, P; \
	VMULPS X, P, P; \
	VFMADD213PS X, X, P; \
	VADDPS one<>(SB), P, P; \
	VCVTPS2DQ N, N; \
	VPADDD bias127<>(SB), N, N; \
	VPSLLD $23, N, N; \
	VMULPS N, P, X

// func dotAVX2(a, b *float32, n int) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dot32:
	CMPQ CX, $32
	JL   dot8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  dot32

dot8:
	CMPQ CX, $8
	JL   dotsum
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  dot8

dotsum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM(Y0, X0, X1)

dot1:
	TESTQ CX, CX
	JE    dotdone
	VMOVSS (SI), X1
	VFMADD231SS (DI), X1, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  dot1

dotdone:
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotBF16AVX2(x *float32, w *uint16, n int) float32
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

bf32:
	CMPQ CX, $32
	JL   bf8
	VPMOVZXWD (DI), Y4
	VPMOVZXWD 16(DI), Y5
	VPMOVZXWD 32(DI), Y6
	VPMOVZXWD 48(DI), Y7
	VPSLLD $16, Y4, Y4
	VPSLLD $16, Y5, Y5
	VPSLLD $16, Y6, Y6
	VPSLLD $16, Y7, Y7
	VFMADD231PS (SI), Y4, Y0
	VFMADD231PS 32(SI), Y5, Y1
	VFMADD231PS 64(SI), Y6, Y2
	VFMADD231PS 96(SI), Y7, Y3
	ADDQ $128, SI
	ADDQ $64, DI
	SUBQ $32, CX
	JMP  bf32

bf8:
	CMPQ CX, $8
	JL   bfsum
	VPMOVZXWD (DI), Y4
	VPSLLD $16, Y4, Y4
	VFMADD231PS (SI), Y4, Y0
	ADDQ $32, SI
	ADDQ $16, DI
	SUBQ $8, CX
	JMP  bf8

bfsum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM(Y0, X0, X1)

bf1:
	TESTQ CX, CX
	JE    bfdone
	MOVWLZX (DI), AX
	SHLL $16, AX
	VMOVD AX, X1
	VFMADD231SS (SI), X1, X0
	ADDQ $4, SI
	ADDQ $2, DI
	DECQ CX
	JMP  bf1

bfdone:
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotF16AVX2(x *float32, w *uint16, n int) float32
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

hf32:
	CMPQ CX, $32
	JL   hf8
	VCVTPH2PS (DI), Y4
	VCVTPH2PS 16(DI), Y5
	VCVTPH2PS 32(DI), Y6
	VCVTPH2PS 48(DI), Y7
	VFMADD231PS (SI), Y4, Y0
	VFMADD231PS 32(SI), Y5, Y1
	VFMADD231PS 64(SI), Y6, Y2
	VFMADD231PS 96(SI), Y7, Y3
	ADDQ $128, SI
	ADDQ $64, DI
	SUBQ $32, CX
	JMP  hf32

hf8:
	CMPQ CX, $8
	JL   hfsum
	VCVTPH2PS (DI), Y4
	VFMADD231PS (SI), Y4, Y0
	ADDQ $32, SI
	ADDQ $16, DI
	SUBQ $8, CX
	JMP  hf8

hfsum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM(Y0, X0, X1)

hf1:
	TESTQ CX, CX
	JE    hfdone
	MOVWLZX (DI), AX
	VMOVD AX, X1
	VCVTPH2PS X1, X1
	VFMADD231SS (SI), X1, X0
	ADDQ $4, SI
	ADDQ $2, DI
	DECQ CX
	JMP  hf1

hfdone:
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// Quantized dot products. Both routines run on groups of 8 blocks: the 8
// combined scales f16(wd[b])·xd[b] are computed with one VCVTPH2PS/VMULPS
// into Y6, whose low half is then copied to both halves of Y8 and its high
// half to both halves of Y9, so each block broadcasts its scale with a
// single in-lane VSHUFPS. Leftover blocks compute their scale one at a
// time. Y15 holds 16-bit ones.

// Q8BLK: 32 int8 weights at WOFF(DI) (|w| <= 127) times 32 int8 activations
// at WOFF(SI), summed in int32 lanes by VPSIGNB/VPMADDUBSW/VPMADDWD,
// converted and accumulated into ACC with lane IMM of SRC as the scale.
#define Q8BLK(WOFF, SRC, IMM, ACC) \
	VMOVDQU WOFF(DI), Y2; \
	VMOVDQU WOFF(SI), Y4; \
	VPSIGNB Y2, Y2, Y3; \
	VPSIGNB Y2, Y4, Y4; \
	VPMADDUBSW Y4, Y3, Y3; \
	VPMADDWD Y15, Y3, Y3; \
	VCVTDQ2PS Y3, Y3; \
	VSHUFPS $IMM, SRC, SRC, Y5; \
	VFMADD231PS Y3, Y5, ACC

// ONESCALE leaves f16(wd[0])·xd[0] in X6 (other lanes of Y6 zero) and in
// every lane of Y8.
#define ONESCALE \
	MOVWLZX (R9), AX; \
	VMOVD AX, X6; \
	VCVTPH2PS X6, X6; \
	VMULSS (R8), X6, X6; \
	VBROADCASTSS X6, Y8

// SPLITSCALES copies the low half of Y6 into both halves of Y8 and the high
// half into both halves of Y9.
#define SPLITSCALES \
	VPERM2F128 $0x00, Y6, Y6, Y8; \
	VPERM2F128 $0x11, Y6, Y6, Y9

// Q8EIGHT does 8 Q8_0 blocks (weights at DI, scales at R9, activations at
// SI, their scales at R8) into Y0, Y1 and steps past them (CX -= 8).
#define Q8EIGHT \
	VCVTPH2PS (R9), Y6; \
	VMULPS (R8), Y6, Y6; \
	SPLITSCALES; \
	Q8BLK(0, Y8, 0x00, Y0); \
	Q8BLK(32, Y8, 0x55, Y1); \
	Q8BLK(64, Y8, 0xaa, Y0); \
	Q8BLK(96, Y8, 0xff, Y1); \
	Q8BLK(128, Y9, 0x00, Y0); \
	Q8BLK(160, Y9, 0x55, Y1); \
	Q8BLK(192, Y9, 0xaa, Y0); \
	Q8BLK(224, Y9, 0xff, Y1); \
	ADDQ $256, SI; \
	ADDQ $256, DI; \
	ADDQ $32, R8; \
	ADDQ $16, R9; \
	SUBQ $8, CX

// Q8ONE is Q8EIGHT for one block, into Y0.
#define Q8ONE \
	ONESCALE; \
	Q8BLK(0, Y8, 0x00, Y0); \
	ADDQ $32, SI; \
	ADDQ $32, DI; \
	ADDQ $4, R8; \
	ADDQ $2, R9; \
	DECQ CX

// func dotQ8AVX2(xq *int8, xd *float32, wq *byte, wd *uint16, nb int) float32
TEXT ·dotQ8AVX2(SB), NOSPLIT, $0-44
	MOVQ xq+0(FP), SI
	MOVQ xd+8(FP), R8
	MOVQ wq+16(FP), DI
	MOVQ wd+24(FP), R9
	MOVQ nb+32(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15

q8eight:
	CMPQ CX, $8
	JL   q8rest
	Q8EIGHT
	JMP  q8eight

q8rest:
	TESTQ CX, CX
	JE    q8done
	Q8ONE
	JMP  q8rest

q8done:
	VADDPS Y1, Y0, Y0
	HSUM(Y0, X0, X1)
	VMOVSS X0, ret+40(FP)
	VZEROUPPER
	RET

// Q4BLK: the 16 bytes at WOFF(DI) hold 32 unsigned nibbles (column j low,
// j+16 high); Y14 holds 0x0f bytes. They multiply the activations at
// XOFF(SI) directly as VPMADDUBSW's unsigned operand; the -8 offset is
// applied through the activation block sums (xs). Scale: lane IMM of SRC.
#define Q4BLK(WOFF, XOFF, SRC, IMM, ACC) \
	VMOVDQU WOFF(DI), X2; \
	VPSRLW $4, X2, X3; \
	VINSERTI128 $1, X3, Y2, Y2; \
	VPAND Y14, Y2, Y2; \
	VPMADDUBSW XOFF(SI), Y2, Y2; \
	VPMADDWD Y15, Y2, Y2; \
	VCVTDQ2PS Y2, Y2; \
	VSHUFPS $IMM, SRC, SRC, Y5; \
	VFMADD231PS Y2, Y5, ACC

// Q4PAIR does two blocks A, B from one 32-byte load at WOFF(DI) (A's 16
// bytes, then B's). Their low nibbles multiply the 32 activations at
// XOFF(SI) and the high nibbles those at XOFF+32(SI), which the pair layout
// (permQ4) arranges as A[0:16] B[0:16] A[16:32] B[16:32]. The int32 lanes
// 0-3 then belong to A and 4-7 to B; IDX selects their scales from Y6.
#define Q4PAIR(WOFF, XOFF, IDX, ACC) \
	VMOVDQU WOFF(DI), Y2; \
	VPSRLW $4, Y2, Y3; \
	VPAND Y14, Y2, Y2; \
	VPAND Y14, Y3, Y3; \
	VPMADDUBSW XOFF(SI), Y2, Y2; \
	VPMADDUBSW XOFF+32(SI), Y3, Y3; \
	VPADDW Y3, Y2, Y2; \
	VPMADDWD Y15, Y2, Y2; \
	VCVTDQ2PS Y2, Y2; \
	VPERMPS Y6, IDX, Y5; \
	VFMADD231PS Y2, Y5, ACC

// Q4CONST loads dotQ4AVX2's constants: 0x0f bytes in Y14, the scale
// indexes of Q4PAIR in Y7, Y9, Y10, Y11.
#define Q4CONST \
	MOVL $0x0f0f0f0f, AX; \
	VMOVD AX, X14; \
	VPBROADCASTD X14, Y14; \
	VMOVDQU q4idx<>+0(SB), Y7; \
	VMOVDQU q4idx<>+32(SB), Y9; \
	VMOVDQU q4idx<>+64(SB), Y10; \
	VMOVDQU q4idx<>+96(SB), Y11

// Q4EIGHT does 8 Q4_0 blocks (weights at DI, scales at R9; activations in
// the pair layout at SI, their scales at R8 and sums at R10) into Y0, Y1
// and the offset sum Y12, and steps past them (CX -= 8).
#define Q4EIGHT \
	VCVTPH2PS (R9), Y6; \
	VMULPS (R8), Y6, Y6; \
	VFMADD231PS (R10), Y6, Y12; \
	Q4PAIR(0, 0, Y7, Y0); \
	Q4PAIR(32, 64, Y9, Y1); \
	Q4PAIR(64, 128, Y10, Y0); \
	Q4PAIR(96, 192, Y11, Y1); \
	ADDQ $256, SI; \
	ADDQ $128, DI; \
	ADDQ $32, R8; \
	ADDQ $32, R10; \
	ADDQ $16, R9; \
	SUBQ $8, CX

// Q4ONE is Q4EIGHT for one block in plain order, into Y0 and Y12.
#define Q4ONE \
	ONESCALE; \
	VMOVSS (R10), X13; \
	VMULPS Y6, Y13, Y13; \
	VADDPS Y13, Y12, Y12; \
	Q4BLK(0, 0, Y8, 0x00, Y0); \
	ADDQ $32, SI; \
	ADDQ $16, DI; \
	ADDQ $4, R8; \
	ADDQ $4, R10; \
	ADDQ $2, R9; \
	DECQ CX

// func dotQ4AVX2(xq *int8, xd, xs *float32, wq *byte, wd *uint16, nb int) float32
//
// xs[b] is 8·Σ xq of block b: Σ (q-8)·x = Σ q·x - 8·Σ x. The activations
// of each whole group of 8 blocks must be in the pair layout of permQ4;
// the last nb%8 blocks are in plain order.
TEXT ·dotQ4AVX2(SB), NOSPLIT, $0-52
	MOVQ xq+0(FP), SI
	MOVQ xd+8(FP), R8
	MOVQ xs+16(FP), R10
	MOVQ wq+24(FP), DI
	MOVQ wd+32(FP), R9
	MOVQ nb+40(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y12, Y12, Y12
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15
	Q4CONST

q4eight:
	CMPQ CX, $8
	JL   q4rest
	Q4EIGHT
	JMP  q4eight

q4rest:
	TESTQ CX, CX
	JE    q4done
	Q4ONE
	JMP  q4rest

q4done:
	VADDPS Y1, Y0, Y0
	VSUBPS Y12, Y0, Y0
	HSUM(Y0, X0, X1)
	VMOVSS X0, ret+48(FP)
	VZEROUPPER
	RET

DATA q4idx<>+0(SB)/8, $0x0000000000000000
DATA q4idx<>+8(SB)/8, $0x0000000000000000
DATA q4idx<>+16(SB)/8, $0x0000000100000001
DATA q4idx<>+24(SB)/8, $0x0000000100000001
DATA q4idx<>+32(SB)/8, $0x0000000200000002
DATA q4idx<>+40(SB)/8, $0x0000000200000002
DATA q4idx<>+48(SB)/8, $0x0000000300000003
DATA q4idx<>+56(SB)/8, $0x0000000300000003
DATA q4idx<>+64(SB)/8, $0x0000000400000004
DATA q4idx<>+72(SB)/8, $0x0000000400000004
DATA q4idx<>+80(SB)/8, $0x0000000500000005
DATA q4idx<>+88(SB)/8, $0x0000000500000005
DATA q4idx<>+96(SB)/8, $0x0000000600000006
DATA q4idx<>+104(SB)/8, $0x0000000600000006
DATA q4idx<>+112(SB)/8, $0x0000000700000007
DATA q4idx<>+120(SB)/8, $0x0000000700000007
GLOBL q4idx<>(SB), RODATA|NOPTR, $128

// Q8TOK multiplies the pair of Q8_0 blocks held as |w| in Y9, Y11 (signs
// in Y8, Y10) with one token's activations at XA, XB (the next 32 bytes),
// folds the two blocks' int32 lanes together with VPHADDD (lanes 0,1,4,5:
// first block; 2,3,6,7: second), scales them by SC permuted with Y12 and
// accumulates into ACC. Y15 holds 16-bit ones.
#define Q8TOK(XA, XB, SC, ACC) \
	VMOVDQU XA, Y13; \
	VPSIGNB Y8, Y13, Y13; \
	VPMADDUBSW Y13, Y9, Y13; \
	VPMADDWD Y15, Y13, Y13; \
	VMOVDQU XB, Y14; \
	VPSIGNB Y10, Y14, Y14; \
	VPMADDUBSW Y14, Y11, Y14; \
	VPMADDWD Y15, Y14, Y14; \
	VPHADDD Y14, Y13, Y13; \
	VCVTDQ2PS Y13, Y13; \
	VPERMPS SC, Y12, Y14; \
	VFMADD231PS Y13, Y14, ACC

// Q8PAIR4 loads the pair of Q8_0 blocks at WOFF(DI) once and multiplies it
// with 4 tokens (activation rows R11 bytes apart, R13 = 3·R11).
#define Q8PAIR4(WOFF, IOFF) \
	VMOVDQU WOFF(DI), Y8; \
	VMOVDQU WOFF+32(DI), Y10; \
	VPSIGNB Y8, Y8, Y9; \
	VPSIGNB Y10, Y10, Y11; \
	VMOVDQU q8idx<>+IOFF(SB), Y12; \
	Q8TOK(WOFF(SI), WOFF+32(SI), Y4, Y0); \
	Q8TOK(WOFF(SI)(R11*1), WOFF+32(SI)(R11*1), Y5, Y1); \
	Q8TOK(WOFF(SI)(R11*2), WOFF+32(SI)(R11*2), Y6, Y2); \
	Q8TOK(WOFF(SI)(R13*1), WOFF+32(SI)(R13*1), Y7, Y3)

// func dotQ8x4AVX2(xq *int8, xd *float32, nb, n int, wq *byte, wd *uint16, out *float32)
//
// dotQ8AVX2 over the first n blocks for 4 tokens at once: token t's
// activations start at xq[t*nb*32], xd[t*nb]; out[t] receives its dot
// product with the weight row. n must be a positive multiple of 8.
TEXT ·dotQ8x4AVX2(SB), NOSPLIT, $0-56
	MOVQ xq+0(FP), SI
	MOVQ xd+8(FP), R8
	MOVQ nb+16(FP), AX
	MOVQ n+24(FP), CX
	MOVQ wq+32(FP), DI
	MOVQ wd+40(FP), R9
	MOVQ AX, R11
	SHLQ $5, R11
	LEAQ (R11)(R11*2), R13
	MOVQ AX, R12
	SHLQ $2, R12
	LEAQ (R12)(R12*2), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15

q8x4:
	VCVTPH2PS (R9), Y13
	VMULPS (R8), Y13, Y4
	VMULPS (R8)(R12*1), Y13, Y5
	VMULPS (R8)(R12*2), Y13, Y6
	VMULPS (R8)(BX*1), Y13, Y7
	Q8PAIR4(0, 0)
	Q8PAIR4(64, 32)
	Q8PAIR4(128, 64)
	Q8PAIR4(192, 96)
	ADDQ $256, SI
	ADDQ $256, DI
	ADDQ $32, R8
	ADDQ $16, R9
	SUBQ $8, CX
	JNE  q8x4

	MOVQ out+48(FP), DX
	HSUM(Y0, X0, X8)
	HSUM(Y1, X1, X8)
	HSUM(Y2, X2, X8)
	HSUM(Y3, X3, X8)
	VMOVSS X0, (DX)
	VMOVSS X1, 4(DX)
	VMOVSS X2, 8(DX)
	VMOVSS X3, 12(DX)
	VZEROUPPER
	RET

// q8idx: for block pair p of a group of 8, lanes 0,1,4,5 take scale 2p and
// lanes 2,3,6,7 scale 2p+1 (the VPHADDD lane order).
DATA q8idx<>+0(SB)/8, $0x0000000000000000
DATA q8idx<>+8(SB)/8, $0x0000000100000001
DATA q8idx<>+16(SB)/8, $0x0000000000000000
DATA q8idx<>+24(SB)/8, $0x0000000100000001
DATA q8idx<>+32(SB)/8, $0x0000000200000002
DATA q8idx<>+40(SB)/8, $0x0000000300000003
DATA q8idx<>+48(SB)/8, $0x0000000200000002
DATA q8idx<>+56(SB)/8, $0x0000000300000003
DATA q8idx<>+64(SB)/8, $0x0000000400000004
DATA q8idx<>+72(SB)/8, $0x0000000500000005
DATA q8idx<>+80(SB)/8, $0x0000000400000004
DATA q8idx<>+88(SB)/8, $0x0000000500000005
DATA q8idx<>+96(SB)/8, $0x0000000600000006
DATA q8idx<>+104(SB)/8, $0x0000000700000007
DATA q8idx<>+112(SB)/8, $0x0000000600000006
DATA q8idx<>+120(SB)/8, $0x0000000700000007
GLOBL q8idx<>(SB), RODATA|NOPTR, $128

// Q8ROW multiplies one weight row's pair of Q8_0 blocks at WA, WB with the
// shared activation pair in Y13, Y14, folds the blocks with VPHADDD, scales
// by SC permuted with Y12 (q8idx) and accumulates into ACC.
#define Q8ROW(WA, WB, SC, ACC) \
	VMOVDQU WA, Y8; \
	VPSIGNB Y8, Y8, Y9; \
	VPSIGNB Y8, Y13, Y8; \
	VPMADDUBSW Y8, Y9, Y8; \
	VPMADDWD Y15, Y8, Y8; \
	VMOVDQU WB, Y10; \
	VPSIGNB Y10, Y10, Y11; \
	VPSIGNB Y10, Y14, Y10; \
	VPMADDUBSW Y10, Y11, Y10; \
	VPMADDWD Y15, Y10, Y10; \
	VPHADDD Y10, Y8, Y8; \
	VCVTDQ2PS Y8, Y8; \
	VPERMPS SC, Y12, Y9; \
	VFMADD231PS Y8, Y9, ACC

// Q8R4PAIR loads the activation block pair at OFF(SI) once and multiplies
// it with the pair at OFF of 4 weight rows (R11 bytes apart, R13 = 3·R11).
#define Q8R4PAIR(OFF, IOFF) \
	VMOVDQU OFF(SI), Y13; \
	VMOVDQU OFF+32(SI), Y14; \
	VMOVDQU q8idx<>+IOFF(SB), Y12; \
	Q8ROW(OFF(DI), OFF+32(DI), Y4, Y0); \
	Q8ROW(OFF(DI)(R11*1), OFF+32(DI)(R11*1), Y5, Y1); \
	Q8ROW(OFF(DI)(R11*2), OFF+32(DI)(R11*2), Y6, Y2); \
	Q8ROW(OFF(DI)(R13*1), OFF+32(DI)(R13*1), Y7, Y3)

// R4SCALES sets Y4-Y7 to the combined scales f16(wd)·xd of 8 blocks for
// the 4 weight rows (scale rows R12 bytes apart, BX = 3·R12).
#define R4SCALES \
	VMOVUPS (R8), Y13; \
	VCVTPH2PS (R9), Y4; \
	VMULPS Y13, Y4, Y4; \
	VCVTPH2PS (R9)(R12*1), Y5; \
	VMULPS Y13, Y5, Y5; \
	VCVTPH2PS (R9)(R12*2), Y6; \
	VMULPS Y13, Y6, Y6; \
	VCVTPH2PS (R9)(BX*1), Y7; \
	VMULPS Y13, Y7, Y7

// R4STORE reduces the 4 accumulators and stores them at out.
#define R4STORE \
	HSUM(Y0, X0, X8); \
	HSUM(Y1, X1, X8); \
	HSUM(Y2, X2, X8); \
	HSUM(Y3, X3, X8); \
	VMOVSS X0, (DX); \
	VMOVSS X1, 4(DX); \
	VMOVSS X2, 8(DX); \
	VMOVSS X3, 12(DX)

// func dotQ8r4AVX2(xq *int8, xd *float32, nb, n int, wq *byte, wd *uint16, out *float32)
//
// dotQ8AVX2 over the first n blocks of one activation row and 4 weight rows
// (row i at wq[i*nb*32], wd[i*nb]); out[i] receives row i's result. n must
// be a positive multiple of 8.
TEXT ·dotQ8r4AVX2(SB), NOSPLIT, $0-56
	MOVQ xq+0(FP), SI
	MOVQ xd+8(FP), R8
	MOVQ nb+16(FP), AX
	MOVQ n+24(FP), CX
	MOVQ wq+32(FP), DI
	MOVQ wd+40(FP), R9
	MOVQ AX, R11
	SHLQ $5, R11
	LEAQ (R11)(R11*2), R13
	MOVQ AX, R12
	SHLQ $1, R12
	LEAQ (R12)(R12*2), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15

q8r4:
	R4SCALES
	Q8R4PAIR(0, 0)
	Q8R4PAIR(64, 32)
	Q8R4PAIR(128, 64)
	Q8R4PAIR(192, 96)
	ADDQ $256, SI
	ADDQ $256, DI
	ADDQ $32, R8
	ADDQ $16, R9
	SUBQ $8, CX
	JNE  q8r4

	MOVQ out+48(FP), DX
	R4STORE
	VZEROUPPER
	RET

// Q4ROW multiplies one weight row's pair of Q4_0 blocks at W with the
// shared activation pair (pair layout) in Y13, Y14, scales by SC permuted
// with Y12 (q4idx) and accumulates into ACC.
#define Q4ROW(W, SC, ACC) \
	VMOVDQU W, Y8; \
	VPSRLW $4, Y8, Y9; \
	VPAND nib0f<>(SB), Y8, Y8; \
	VPAND nib0f<>(SB), Y9, Y9; \
	VPMADDUBSW Y13, Y8, Y8; \
	VPMADDUBSW Y14, Y9, Y9; \
	VPADDW Y9, Y8, Y8; \
	VPMADDWD Y15, Y8, Y8; \
	VCVTDQ2PS Y8, Y8; \
	VPERMPS SC, Y12, Y9; \
	VFMADD231PS Y8, Y9, ACC

// Q4R4PAIR loads the activation pair at XOFF(SI) once and multiplies it
// with the pair at WOFF of 4 weight rows (R11 bytes apart, R13 = 3·R11).
#define Q4R4PAIR(WOFF, XOFF, IOFF) \
	VMOVDQU XOFF(SI), Y13; \
	VMOVDQU XOFF+32(SI), Y14; \
	VMOVDQU q4idx<>+IOFF(SB), Y12; \
	Q4ROW(WOFF(DI), Y4, Y0); \
	Q4ROW(WOFF(DI)(R11*1), Y5, Y1); \
	Q4ROW(WOFF(DI)(R11*2), Y6, Y2); \
	Q4ROW(WOFF(DI)(R13*1), Y7, Y3)

// func dotQ4r4AVX2(xq *int8, xd, xs *float32, nb, n int, wq *byte, wd *uint16, out *float32)
//
// dotQ4AVX2 over the first n blocks of one activation row (pair layout) and
// 4 weight rows (row i at wq[i*nb*16], wd[i*nb]); out[i] receives row i's
// result. n must be a positive multiple of 8.
TEXT ·dotQ4r4AVX2(SB), NOSPLIT, $0-64
	MOVQ xq+0(FP), SI
	MOVQ xd+8(FP), R8
	MOVQ xs+16(FP), R10
	MOVQ nb+24(FP), AX
	MOVQ n+32(FP), CX
	MOVQ wq+40(FP), DI
	MOVQ wd+48(FP), R9
	MOVQ AX, R11
	SHLQ $4, R11
	LEAQ (R11)(R11*2), R13
	MOVQ AX, R12
	SHLQ $1, R12
	LEAQ (R12)(R12*2), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15

q4r4:
	R4SCALES
	VMOVUPS (R10), Y13
	VFNMADD231PS Y13, Y4, Y0
	VFNMADD231PS Y13, Y5, Y1
	VFNMADD231PS Y13, Y6, Y2
	VFNMADD231PS Y13, Y7, Y3
	Q4R4PAIR(0, 0, 0)
	Q4R4PAIR(32, 64, 32)
	Q4R4PAIR(64, 128, 64)
	Q4R4PAIR(96, 192, 96)
	ADDQ $256, SI
	ADDQ $128, DI
	ADDQ $32, R8
	ADDQ $32, R10
	ADDQ $16, R9
	SUBQ $8, CX
	JNE  q4r4

	MOVQ out+56(FP), DX
	R4STORE
	VZEROUPPER
	RET

DATA nib0f<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib0f<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib0f<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib0f<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nib0f<>(SB), RODATA|NOPTR, $32

// Q4TOK multiplies the unpacked pair in Y8 (low nibbles) and Y9 (high
// nibbles) with one token's activations at XA and XB, scales the int32
// lanes by its scales SC permuted with Y12, and accumulates into ACC.
#define Q4TOK(XA, XB, SC, ACC) \
	VPMADDUBSW XA, Y8, Y10; \
	VPMADDUBSW XB, Y9, Y11; \
	VPADDW Y11, Y10, Y10; \
	VPMADDWD Y15, Y10, Y10; \
	VCVTDQ2PS Y10, Y10; \
	VPERMPS SC, Y12, Y11; \
	VFMADD231PS Y10, Y11, ACC

// Q4PAIR4 unpacks the pair of Q4_0 blocks at WOFF(DI) once and multiplies
// it with 4 tokens (activation rows R11 bytes apart, R13 = 3·R11).
#define Q4PAIR4(WOFF, XOFF, IOFF) \
	VMOVDQU WOFF(DI), Y8; \
	VPSRLW $4, Y8, Y9; \
	VPAND Y14, Y8, Y8; \
	VPAND Y14, Y9, Y9; \
	VMOVDQU q4idx<>+IOFF(SB), Y12; \
	Q4TOK(XOFF(SI), XOFF+32(SI), Y4, Y0); \
	Q4TOK(XOFF(SI)(R11*1), XOFF+32(SI)(R11*1), Y5, Y1); \
	Q4TOK(XOFF(SI)(R11*2), XOFF+32(SI)(R11*2), Y6, Y2); \
	Q4TOK(XOFF(SI)(R13*1), XOFF+32(SI)(R13*1), Y7, Y3)

// func dotQ4x4AVX2(xq *int8, xd, xs *float32, nb, n int, wq *byte, wd *uint16, out *float32)
//
// dotQ4AVX2 over the first n blocks for 4 tokens at once: token t's
// activations start at xq[t*nb*32], xd[t*nb], xs[t*nb]; out[t] receives its
// dot product with the weight row. n must be a positive multiple of 8 (all
// in pair layout).
TEXT ·dotQ4x4AVX2(SB), NOSPLIT, $0-64
	MOVQ xq+0(FP), SI
	MOVQ xd+8(FP), R8
	MOVQ xs+16(FP), R10
	MOVQ nb+24(FP), AX
	MOVQ n+32(FP), CX
	MOVQ wq+40(FP), DI
	MOVQ wd+48(FP), R9
	MOVQ AX, R11
	SHLQ $5, R11
	LEAQ (R11)(R11*2), R13
	MOVQ AX, R12
	SHLQ $2, R12
	LEAQ (R12)(R12*2), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14

q4x4:
	VCVTPH2PS (R9), Y13
	VMULPS (R8), Y13, Y4
	VMULPS (R8)(R12*1), Y13, Y5
	VMULPS (R8)(R12*2), Y13, Y6
	VMULPS (R8)(BX*1), Y13, Y7
	VFNMADD231PS (R10), Y4, Y0
	VFNMADD231PS (R10)(R12*1), Y5, Y1
	VFNMADD231PS (R10)(R12*2), Y6, Y2
	VFNMADD231PS (R10)(BX*1), Y7, Y3
	Q4PAIR4(0, 0, 0)
	Q4PAIR4(32, 64, 32)
	Q4PAIR4(64, 128, 64)
	Q4PAIR4(96, 192, 96)
	ADDQ $256, SI
	ADDQ $128, DI
	ADDQ $32, R8
	ADDQ $32, R10
	ADDQ $16, R9
	SUBQ $8, CX
	JNE  q4x4

	MOVQ out+56(FP), DX
	HSUM(Y0, X0, X8)
	HSUM(Y1, X1, X8)
	HSUM(Y2, X2, X8)
	HSUM(Y3, X3, X8)
	VMOVSS X0, (DX)
	VMOVSS X1, 4(DX)
	VMOVSS X2, 8(DX)
	VMOVSS X3, 12(DX)
	VZEROUPPER
	RET

// func quantQ8AVX2(xq *int8, xd, xs, x *float32, nb int)
//
// Quantizes nb whole blocks of 32 activations: xd[b] = max|x|/127,
// xq = round(x/xd[b]) (ties to even), xs[b] = 8·Σ xq.
TEXT ·quantQ8AVX2(SB), NOSPLIT, $0-40
	MOVQ xq+0(FP), DI
	MOVQ xd+8(FP), R8
	MOVQ xs+16(FP), R9
	MOVQ x+24(FP), SI
	MOVQ nb+32(FP), CX
	VPCMPEQD Y15, Y15, Y15
	VPSRLD $1, Y15, Y15
	VMOVDQU permq8<>(SB), Y14
	MOVL $0x42fe0000, AX
	VMOVD AX, X13
	MOVL $0x41000000, AX
	VMOVD AX, X12
	VXORPS X11, X11, X11

qqblock:
	TESTQ CX, CX
	JE    qqdone
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS Y15, Y0, Y4
	VANDPS Y15, Y1, Y5
	VMAXPS Y5, Y4, Y4
	VANDPS Y15, Y2, Y5
	VANDPS Y15, Y3, Y6
	VMAXPS Y6, Y5, Y5
	VMAXPS Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X5, X4, X4
	VMOVHLPS X4, X4, X5
	VMAXPS X5, X4, X4
	VMOVSHDUP X4, X5
	VMAXSS X5, X4, X4
	VDIVSS X13, X4, X5
	VMOVSS X5, (R8)
	VDIVSS X4, X13, X7
	VCMPSS $4, X11, X4, X8
	VANDPS X8, X7, X7
	VBROADCASTSS X7, Y7
	VMULPS Y7, Y0, Y0
	VMULPS Y7, Y1, Y1
	VMULPS Y7, Y2, Y2
	VMULPS Y7, Y3, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPADDD Y1, Y0, Y8
	VPADDD Y3, Y2, Y9
	VPADDD Y9, Y8, Y8
	VEXTRACTI128 $1, Y8, X9
	VPADDD X9, X8, X8
	VPHADDD X8, X8, X8
	VPHADDD X8, X8, X8
	VCVTDQ2PS X8, X8
	VMULSS X12, X8, X8
	VMOVSS X8, (R9)
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y14, Y0
	VMOVDQU Y0, (DI)
	ADDQ $128, SI
	ADDQ $32, DI
	ADDQ $4, R8
	ADDQ $4, R9
	DECQ CX
	JMP  qqblock

qqdone:
	VZEROUPPER
	RET

DATA permq8<>+0(SB)/4, $0
DATA permq8<>+4(SB)/4, $4
DATA permq8<>+8(SB)/4, $1
DATA permq8<>+12(SB)/4, $5
DATA permq8<>+16(SB)/4, $2
DATA permq8<>+20(SB)/4, $6
DATA permq8<>+24(SB)/4, $3
DATA permq8<>+28(SB)/4, $7
GLOBL permq8<>(SB), RODATA|NOPTR, $32

// GEMMSTEP does one k step of the 6×16 micro-kernel: B row at BOFF(DI),
// six A values at AOFF(SI).
#define GEMMSTEP(AOFF, BOFF) \
	VMOVUPS BOFF(DI), Y12; \
	VMOVUPS BOFF+32(DI), Y13; \
	VBROADCASTSS AOFF(SI), Y14; \
	VBROADCASTSS AOFF+4(SI), Y15; \
	VFMADD231PS Y12, Y14, Y0; \
	VFMADD231PS Y13, Y14, Y1; \
	VFMADD231PS Y12, Y15, Y2; \
	VFMADD231PS Y13, Y15, Y3; \
	VBROADCASTSS AOFF+8(SI), Y14; \
	VBROADCASTSS AOFF+12(SI), Y15; \
	VFMADD231PS Y12, Y14, Y4; \
	VFMADD231PS Y13, Y14, Y5; \
	VFMADD231PS Y12, Y15, Y6; \
	VFMADD231PS Y13, Y15, Y7; \
	VBROADCASTSS AOFF+16(SI), Y14; \
	VBROADCASTSS AOFF+20(SI), Y15; \
	VFMADD231PS Y12, Y14, Y8; \
	VFMADD231PS Y13, Y14, Y9; \
	VFMADD231PS Y12, Y15, Y10; \
	VFMADD231PS Y13, Y15, Y11

// GEMMROW adds accumulators LO, HI to the 16 floats at (DX) and stores them.
#define GEMMROW(LO, HI) \
	VADDPS (DX), LO, LO; \
	VADDPS 32(DX), HI, HI; \
	VMOVUPS LO, (DX); \
	VMOVUPS HI, 32(DX); \
	ADDQ BX, DX

// func gemm6x16AVX2(kc int, a, b, c *float32, ldc int)
//
// c[i*ldc+j] += Σ_k a[k*6+i]·b[k*16+j] for i < 6, j < 16, k < kc.
TEXT ·gemm6x16AVX2(SB), NOSPLIT, $0-40
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), BX
	SHLQ $2, BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

gemm4:
	CMPQ CX, $4
	JL   gemm1
	PREFETCHT0 512(DI)
	GEMMSTEP(0, 0)
	GEMMSTEP(24, 64)
	PREFETCHT0 576(DI)
	GEMMSTEP(48, 128)
	GEMMSTEP(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	SUBQ $4, CX
	JMP  gemm4

gemm1:
	TESTQ CX, CX
	JE    gemmstore
	GEMMSTEP(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JMP  gemm1

gemmstore:
	GEMMROW(Y0, Y1)
	GEMMROW(Y2, Y3)
	GEMMROW(Y4, Y5)
	GEMMROW(Y6, Y7)
	GEMMROW(Y8, Y9)
	GEMMROW(Y10, Y11)
	VZEROUPPER
	RET

// func gemm6x16sAVX2(kc int, a, b *float32, bstride int, c *float32, ldc int)
//
// As gemm6x16AVX2, but row k of b starts at b[k*bstride] (unpacked B).
TEXT ·gemm6x16sAVX2(SB), NOSPLIT, $0-48
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ bstride+24(FP), R11
	SHLQ $2, R11
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), BX
	SHLQ $2, BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

gemms2:
	CMPQ CX, $2
	JL   gemms1
	GEMMSTEP(0, 0)
	ADDQ R11, DI
	GEMMSTEP(24, 0)
	ADDQ R11, DI
	ADDQ $48, SI
	SUBQ $2, CX
	JMP  gemms2

gemms1:
	TESTQ CX, CX
	JE    gemmsstore
	GEMMSTEP(0, 0)

gemmsstore:
	GEMMROW(Y0, Y1)
	GEMMROW(Y2, Y3)
	GEMMROW(Y4, Y5)
	GEMMROW(Y6, Y7)
	GEMMROW(Y8, Y9)
	GEMMROW(Y10, Y11)
	VZEROUPPER
	RET

// SC4 reduces the four key accumulators A, B, C, D of one query row to
// [ΣA, ΣB, ΣC, ΣD] in XA and stores them at (DX).
#define SC4(A, B, C, D, XA) \
	VHADDPS B, A, A; \
	VHADDPS D, C, C; \
	VHADDPS C, A, A; \
	VEXTRACTF128 $1, A, X12; \
	VADDPS X12, XA, XA; \
	VMOVUPS XA, (DX)

// func scores3x4AVX2(s *float32, sstride int, q *float32, qstride int, k *float32, kstride, d int)
//
// s[r*sstride+j] = Σ_i q[r*qstride+i]·k[j*kstride+i] for r < 3, j < 4,
// i < d; d must be a positive multiple of 8.
TEXT ·scores3x4AVX2(SB), NOSPLIT, $0-56
	MOVQ q+16(FP), SI
	MOVQ qstride+24(FP), R8
	SHLQ $2, R8
	MOVQ k+32(FP), DI
	MOVQ kstride+40(FP), R9
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R10
	MOVQ d+48(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

sc34:
	VMOVUPS (SI), Y12
	VMOVUPS (SI)(R8*1), Y13
	VMOVUPS (SI)(R8*2), Y14
	VMOVUPS (DI), Y15
	VFMADD231PS Y15, Y12, Y0
	VFMADD231PS Y15, Y13, Y4
	VFMADD231PS Y15, Y14, Y8
	VMOVUPS (DI)(R9*1), Y15
	VFMADD231PS Y15, Y12, Y1
	VFMADD231PS Y15, Y13, Y5
	VFMADD231PS Y15, Y14, Y9
	VMOVUPS (DI)(R9*2), Y15
	VFMADD231PS Y15, Y12, Y2
	VFMADD231PS Y15, Y13, Y6
	VFMADD231PS Y15, Y14, Y10
	VMOVUPS (DI)(R10*1), Y15
	VFMADD231PS Y15, Y12, Y3
	VFMADD231PS Y15, Y13, Y7
	VFMADD231PS Y15, Y14, Y11
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNE  sc34

	MOVQ s+0(FP), DX
	MOVQ sstride+8(FP), BX
	SHLQ $2, BX
	SC4(Y0, Y1, Y2, Y3, X0)
	ADDQ BX, DX
	SC4(Y4, Y5, Y6, Y7, X4)
	ADDQ BX, DX
	SC4(Y8, Y9, Y10, Y11, X8)
	VZEROUPPER
	RET

// func scoresAVX2(s, q, k *float32, n, d, kstride int)
//
// s[j] = Σ_i q[i]·k[j*kstride+i] for j < n; d must be a multiple of 8.
TEXT ·scoresAVX2(SB), NOSPLIT, $0-48
	MOVQ s+0(FP), DX
	MOVQ q+8(FP), R8
	MOVQ k+16(FP), R9
	MOVQ n+24(FP), BX
	MOVQ d+32(FP), R10
	MOVQ kstride+40(FP), R11
	SHLQ $2, R11

sckey:
	TESTQ BX, BX
	JE    scdone
	MOVQ R8, SI
	MOVQ R9, DI
	MOVQ R10, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

sc16:
	CMPQ CX, $16
	JL   sc8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  sc16

sc8:
	TESTQ CX, CX
	JE    scsum
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0

scsum:
	VADDPS Y1, Y0, Y0
	HSUM(Y0, X0, X1)
	VMOVSS X0, (DX)
	ADDQ $4, DX
	ADDQ R11, R9
	DECQ BX
	JMP  sckey

scdone:
	VZEROUPPER
	RET

// func accumAVX2(acc, p, v *float32, n, d, vstride int)
//
// acc[i] += Σ_j p[j]·v[j*vstride+i] for i < d, j < n; d must be a multiple
// of 8.
TEXT ·accumAVX2(SB), NOSPLIT, $0-48
	MOVQ acc+0(FP), DX
	MOVQ n+24(FP), BX
	MOVQ d+32(FP), R10
	MOVQ vstride+40(FP), R11
	SHLQ $2, R11
	MOVQ v+16(FP), R12

ac64:
	CMPQ R10, $64
	JL   ac8
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VMOVUPS 64(DX), Y2
	VMOVUPS 96(DX), Y3
	VMOVUPS 128(DX), Y4
	VMOVUPS 160(DX), Y5
	VMOVUPS 192(DX), Y6
	VMOVUPS 224(DX), Y7
	MOVQ p+8(FP), SI
	MOVQ R12, DI
	MOVQ BX, CX

ac64key:
	TESTQ CX, CX
	JE    ac64store
	VBROADCASTSS (SI), Y8
	VFMADD231PS (DI), Y8, Y0
	VFMADD231PS 32(DI), Y8, Y1
	VFMADD231PS 64(DI), Y8, Y2
	VFMADD231PS 96(DI), Y8, Y3
	VFMADD231PS 128(DI), Y8, Y4
	VFMADD231PS 160(DI), Y8, Y5
	VFMADD231PS 192(DI), Y8, Y6
	VFMADD231PS 224(DI), Y8, Y7
	ADDQ $4, SI
	ADDQ R11, DI
	DECQ CX
	JMP  ac64key

ac64store:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	VMOVUPS Y3, 96(DX)
	VMOVUPS Y4, 128(DX)
	VMOVUPS Y5, 160(DX)
	VMOVUPS Y6, 192(DX)
	VMOVUPS Y7, 224(DX)
	ADDQ $256, DX
	ADDQ $256, R12
	SUBQ $64, R10
	JMP  ac64

ac8:
	CMPQ R10, $8
	JL   acdone
	VMOVUPS (DX), Y0
	MOVQ p+8(FP), SI
	MOVQ R12, DI
	MOVQ BX, CX

ac8key:
	TESTQ CX, CX
	JE    ac8store
	VBROADCASTSS (SI), Y8
	VFMADD231PS (DI), Y8, Y0
	ADDQ $4, SI
	ADDQ R11, DI
	DECQ CX
	JMP  ac8key

ac8store:
	VMOVUPS Y0, (DX)
	ADDQ $32, DX
	ADDQ $32, R12
	SUBQ $8, R10
	JMP  ac8

acdone:
	VZEROUPPER
	RET

// func expSumAVX2(s *float32, n int, m float32) float32
//
// s[j] = e^(s[j]-m) for j < n rounded down to a multiple of 8; returns the
// sum of the new values.
TEXT ·expSumAVX2(SB), NOSPLIT, $0-28
	MOVQ s+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS m+16(FP), Y8
	VXORPS Y9, Y9, Y9

ex8:
	CMPQ CX, $8
	JL   exdone
	VMOVUPS (DI), Y0
	VSUBPS Y8, Y0, Y0
	EXP(Y0, Y1, Y2)
	VMOVUPS Y0, (DI)
	VADDPS Y0, Y9, Y9
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  ex8

exdone:
	HSUM(Y9, X9, X1)
	VMOVSS X9, ret+24(FP)
	VZEROUPPER
	RET

// func siluMulAVX2(out, gate, up *float32, n int)
//
// out[i] = g[i]·u[i]/(1+e^-g[i]) for i < n rounded down to a multiple of 8.
TEXT ·siluMulAVX2(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n+24(FP), CX
	VXORPS Y8, Y8, Y8

si8:
	CMPQ CX, $8
	JL   sidone
	VMOVUPS (SI), Y0
	VSUBPS Y0, Y8, Y1
	EXP(Y1, Y2, Y3)
	VADDPS one<>(SB), Y1, Y1
	VMULPS (DX), Y0, Y0
	VDIVPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  si8

sidone:
	VZEROUPPER
	RET

// func scaleMulAVX2(out, x, w *float32, n int, s float32)
//
// out[i] = w[i]·(x[i]·s) for i < n.
TEXT ·scaleMulAVX2(SB), NOSPLIT, $0-36
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS s+32(FP), Y8

sm32:
	CMPQ CX, $32
	JL   sm8
	VMULPS (SI), Y8, Y0
	VMULPS 32(SI), Y8, Y1
	VMULPS 64(SI), Y8, Y2
	VMULPS 96(SI), Y8, Y3
	VMULPS (DX), Y0, Y0
	VMULPS 32(DX), Y1, Y1
	VMULPS 64(DX), Y2, Y2
	VMULPS 96(DX), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DX
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  sm32

sm8:
	CMPQ CX, $8
	JL   sm1
	VMULPS (SI), Y8, Y0
	VMULPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  sm8

sm1:
	TESTQ CX, CX
	JE    smdone
	VMULSS (SI), X8, X0
	VMULSS (DX), X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, SI
	ADDQ $4, DX
	ADDQ $4, DI
	DECQ CX
	JMP  sm1

smdone:
	VZEROUPPER
	RET

// func addAVX2(dst, src *float32, n int)
//
// dst[i] += src[i] for i < n.
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

ad32:
	CMPQ CX, $32
	JL   ad8
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VADDPS 64(SI), Y2, Y2
	VADDPS 96(SI), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  ad32

ad8:
	CMPQ CX, $8
	JL   ad1
	VMOVUPS (DI), Y0
	VADDPS (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  ad8

ad1:
	TESTQ CX, CX
	JE    addone
	VMOVSS (DI), X0
	VADDSS (SI), X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  ad1

addone:
	VZEROUPPER
	RET

// func dot4F32AVX2(x *float32, w *float32, stride, n int, out *float32)
//
// out[i] = Σ_c x[c]·w[i*stride+c] for i < 4, c < n (stride in elements).
TEXT ·dot4F32AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ stride+16(FP), R8
	MOVQ n+24(FP), CX
	MOVQ out+32(FP), DX
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

dot4F32AVX216:
	CMPQ CX, $16
	JL   dot4F32AVX28
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VFMADD231PS 0(DI), Y8, Y0
	VFMADD231PS 32(DI), Y9, Y1
	VFMADD231PS 0(DI)(R8*1), Y8, Y2
	VFMADD231PS 32(DI)(R8*1), Y9, Y3
	VFMADD231PS 0(DI)(R8*2), Y8, Y4
	VFMADD231PS 32(DI)(R8*2), Y9, Y5
	VFMADD231PS 0(DI)(R9*1), Y8, Y6
	VFMADD231PS 32(DI)(R9*1), Y9, Y7
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  dot4F32AVX216

dot4F32AVX28:
	CMPQ CX, $8
	JL   dot4F32AVX2sum
	VMOVUPS (SI), Y8
	VFMADD231PS 0(DI), Y8, Y0
	VFMADD231PS 0(DI)(R8*1), Y8, Y2
	VFMADD231PS 0(DI)(R8*2), Y8, Y4
	VFMADD231PS 0(DI)(R9*1), Y8, Y6
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX

dot4F32AVX2sum:
	VADDPS Y1, Y0, Y0
	HSUM(Y0, X0, X9)
	VADDPS Y3, Y2, Y2
	HSUM(Y2, X2, X9)
	VADDPS Y5, Y4, Y4
	HSUM(Y4, X4, X9)
	VADDPS Y7, Y6, Y6
	HSUM(Y6, X6, X9)

dot4F32AVX21:
	TESTQ CX, CX
	JE    dot4F32AVX2done
	VMOVSS (SI), X8
	VFMADD231SS 0(DI), X8, X0
	VFMADD231SS 0(DI)(R8*1), X8, X2
	VFMADD231SS 0(DI)(R8*2), X8, X4
	VFMADD231SS 0(DI)(R9*1), X8, X6
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  dot4F32AVX21

dot4F32AVX2done:
	VMOVSS X0, (DX)
	VMOVSS X2, 4(DX)
	VMOVSS X4, 8(DX)
	VMOVSS X6, 12(DX)
	VZEROUPPER
	RET

// func dot4BF16AVX2(x *float32, w *uint16, stride, n int, out *float32)
//
// out[i] = Σ_c x[c]·w[i*stride+c] for i < 4, c < n (stride in elements).
TEXT ·dot4BF16AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ stride+16(FP), R8
	MOVQ n+24(FP), CX
	MOVQ out+32(FP), DX
	SHLQ $1, R8
	LEAQ (R8)(R8*2), R9
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

dot4BF16AVX216:
	CMPQ CX, $16
	JL   dot4BF16AVX28
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VPMOVZXWD 0(DI), Y10
	VPSLLD $16, Y10, Y10
	VFMADD231PS Y10, Y8, Y0
	VPMOVZXWD 16(DI), Y11
	VPSLLD $16, Y11, Y11
	VFMADD231PS Y11, Y9, Y1
	VPMOVZXWD 0(DI)(R8*1), Y10
	VPSLLD $16, Y10, Y10
	VFMADD231PS Y10, Y8, Y2
	VPMOVZXWD 16(DI)(R8*1), Y11
	VPSLLD $16, Y11, Y11
	VFMADD231PS Y11, Y9, Y3
	VPMOVZXWD 0(DI)(R8*2), Y10
	VPSLLD $16, Y10, Y10
	VFMADD231PS Y10, Y8, Y4
	VPMOVZXWD 16(DI)(R8*2), Y11
	VPSLLD $16, Y11, Y11
	VFMADD231PS Y11, Y9, Y5
	VPMOVZXWD 0(DI)(R9*1), Y10
	VPSLLD $16, Y10, Y10
	VFMADD231PS Y10, Y8, Y6
	VPMOVZXWD 16(DI)(R9*1), Y11
	VPSLLD $16, Y11, Y11
	VFMADD231PS Y11, Y9, Y7
	ADDQ $64, SI
	ADDQ $32, DI
	SUBQ $16, CX
	JMP  dot4BF16AVX216

dot4BF16AVX28:
	CMPQ CX, $8
	JL   dot4BF16AVX2sum
	VMOVUPS (SI), Y8
	VPMOVZXWD 0(DI), Y10
	VPSLLD $16, Y10, Y10
	VFMADD231PS Y10, Y8, Y0
	VPMOVZXWD 0(DI)(R8*1), Y10
	VPSLLD $16, Y10, Y10
	VFMADD231PS Y10, Y8, Y2
	VPMOVZXWD 0(DI)(R8*2), Y10
	VPSLLD $16, Y10, Y10
	VFMADD231PS Y10, Y8, Y4
	VPMOVZXWD 0(DI)(R9*1), Y10
	VPSLLD $16, Y10, Y10
	VFMADD231PS Y10, Y8, Y6
	ADDQ $32, SI
	ADDQ $16, DI
	SUBQ $8, CX

dot4BF16AVX2sum:
	VADDPS Y1, Y0, Y0
	HSUM(Y0, X0, X9)
	VADDPS Y3, Y2, Y2
	HSUM(Y2, X2, X9)
	VADDPS Y5, Y4, Y4
	HSUM(Y4, X4, X9)
	VADDPS Y7, Y6, Y6
	HSUM(Y6, X6, X9)

dot4BF16AVX21:
	TESTQ CX, CX
	JE    dot4BF16AVX2done
	VMOVSS (SI), X8
	MOVWLZX 0(DI), AX
	SHLL $16, AX
	VMOVD AX, X10
	VFMADD231SS X10, X8, X0
	MOVWLZX 0(DI)(R8*1), AX
	SHLL $16, AX
	VMOVD AX, X10
	VFMADD231SS X10, X8, X2
	MOVWLZX 0(DI)(R8*2), AX
	SHLL $16, AX
	VMOVD AX, X10
	VFMADD231SS X10, X8, X4
	MOVWLZX 0(DI)(R9*1), AX
	SHLL $16, AX
	VMOVD AX, X10
	VFMADD231SS X10, X8, X6
	ADDQ $4, SI
	ADDQ $2, DI
	DECQ CX
	JMP  dot4BF16AVX21

dot4BF16AVX2done:
	VMOVSS X0, (DX)
	VMOVSS X2, 4(DX)
	VMOVSS X4, 8(DX)
	VMOVSS X6, 12(DX)
	VZEROUPPER
	RET

// func dot4F16AVX2(x *float32, w *uint16, stride, n int, out *float32)
//
// out[i] = Σ_c x[c]·w[i*stride+c] for i < 4, c < n (stride in elements).
TEXT ·dot4F16AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ stride+16(FP), R8
	MOVQ n+24(FP), CX
	MOVQ out+32(FP), DX
	SHLQ $1, R8
	LEAQ (R8)(R8*2), R9
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

dot4F16AVX216:
	CMPQ CX, $16
	JL   dot4F16AVX28
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VCVTPH2PS 0(DI), Y10
	VFMADD231PS Y10, Y8, Y0
	VCVTPH2PS 16(DI), Y11
	VFMADD231PS Y11, Y9, Y1
	VCVTPH2PS 0(DI)(R8*1), Y10
	VFMADD231PS Y10, Y8, Y2
	VCVTPH2PS 16(DI)(R8*1), Y11
	VFMADD231PS Y11, Y9, Y3
	VCVTPH2PS 0(DI)(R8*2), Y10
	VFMADD231PS Y10, Y8, Y4
	VCVTPH2PS 16(DI)(R8*2), Y11
	VFMADD231PS Y11, Y9, Y5
	VCVTPH2PS 0(DI)(R9*1), Y10
	VFMADD231PS Y10, Y8, Y6
	VCVTPH2PS 16(DI)(R9*1), Y11
	VFMADD231PS Y11, Y9, Y7
	ADDQ $64, SI
	ADDQ $32, DI
	SUBQ $16, CX
	JMP  dot4F16AVX216

dot4F16AVX28:
	CMPQ CX, $8
	JL   dot4F16AVX2sum
	VMOVUPS (SI), Y8
	VCVTPH2PS 0(DI), Y10
	VFMADD231PS Y10, Y8, Y0
	VCVTPH2PS 0(DI)(R8*1), Y10
	VFMADD231PS Y10, Y8, Y2
	VCVTPH2PS 0(DI)(R8*2), Y10
	VFMADD231PS Y10, Y8, Y4
	VCVTPH2PS 0(DI)(R9*1), Y10
	VFMADD231PS Y10, Y8, Y6
	ADDQ $32, SI
	ADDQ $16, DI
	SUBQ $8, CX

dot4F16AVX2sum:
	VADDPS Y1, Y0, Y0
	HSUM(Y0, X0, X9)
	VADDPS Y3, Y2, Y2
	HSUM(Y2, X2, X9)
	VADDPS Y5, Y4, Y4
	HSUM(Y4, X4, X9)
	VADDPS Y7, Y6, Y6
	HSUM(Y6, X6, X9)

dot4F16AVX21:
	TESTQ CX, CX
	JE    dot4F16AVX2done
	VMOVSS (SI), X8
	MOVWLZX 0(DI), AX
	VMOVD AX, X10
	VCVTPH2PS X10, X10
	VFMADD231SS X10, X8, X0
	MOVWLZX 0(DI)(R8*1), AX
	VMOVD AX, X10
	VCVTPH2PS X10, X10
	VFMADD231SS X10, X8, X2
	MOVWLZX 0(DI)(R8*2), AX
	VMOVD AX, X10
	VCVTPH2PS X10, X10
	VFMADD231SS X10, X8, X4
	MOVWLZX 0(DI)(R9*1), AX
	VMOVD AX, X10
	VCVTPH2PS X10, X10
	VFMADD231SS X10, X8, X6
	ADDQ $4, SI
	ADDQ $2, DI
	DECQ CX
	JMP  dot4F16AVX21

dot4F16AVX2done:
	VMOVSS X0, (DX)
	VMOVSS X2, 4(DX)
	VMOVSS X4, 8(DX)
	VMOVSS X6, 12(DX)
	VZEROUPPER
	RET

// func widenBF16AVX2(dst *float32, src *uint16, n int)
//
// dst[i] = float32(src[i]) for i < n rounded down to a multiple of 8.
TEXT ·widenBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

widenBF16AVX232:
	CMPQ CX, $32
	JL   widenBF16AVX28
	VPMOVZXWD 0(SI), Y0
	VPSLLD $16, Y0, Y0
	VPMOVZXWD 16(SI), Y1
	VPSLLD $16, Y1, Y1
	VPMOVZXWD 32(SI), Y2
	VPSLLD $16, Y2, Y2
	VPMOVZXWD 48(SI), Y3
	VPSLLD $16, Y3, Y3
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  widenBF16AVX232

widenBF16AVX28:
	CMPQ CX, $8
	JL   widenBF16AVX2done
	VPMOVZXWD 0(SI), Y0
	VPSLLD $16, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  widenBF16AVX28

widenBF16AVX2done:
	VZEROUPPER
	RET

// func widenF16AVX2(dst *float32, src *uint16, n int)
//
// dst[i] = float32(src[i]) for i < n rounded down to a multiple of 8.
TEXT ·widenF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

widenF16AVX232:
	CMPQ CX, $32
	JL   widenF16AVX28
	VCVTPH2PS 0(SI), Y0
	VCVTPH2PS 16(SI), Y1
	VCVTPH2PS 32(SI), Y2
	VCVTPH2PS 48(SI), Y3
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  widenF16AVX232

widenF16AVX28:
	CMPQ CX, $8
	JL   widenF16AVX2done
	VCVTPH2PS 0(SI), Y0
	VMOVUPS Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  widenF16AVX28

widenF16AVX2done:
	VZEROUPPER
	RET


// func dequantQ8AVX2(dst *float32, q *byte, d *uint16, nb int)
//
// dst[b*32+i] = f16(d[b])·int8(q[b*32+i]) for nb blocks.
TEXT ·dequantQ8AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ d+16(FP), R9
	MOVQ nb+24(FP), CX

dq8:
	TESTQ CX, CX
	JE    dq8done
	MOVWLZX (R9), AX
	VMOVD AX, X6
	VCVTPH2PS X6, X6
	VBROADCASTSS X6, Y6
	VPMOVSXBD (SI), Y0
	VPMOVSXBD 8(SI), Y1
	VPMOVSXBD 16(SI), Y2
	VPMOVSXBD 24(SI), Y3
	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VMULPS Y6, Y0, Y0
	VMULPS Y6, Y1, Y1
	VMULPS Y6, Y2, Y2
	VMULPS Y6, Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $32, SI
	ADDQ $128, DI
	ADDQ $2, R9
	DECQ CX
	JMP  dq8

dq8done:
	VZEROUPPER
	RET

// func dequantQ4AVX2(dst *float32, q *byte, d *uint16, nb int)
//
// dst[b*32+j] = f16(d[b])·(low nibble of q[b*16+j] - 8) and
// dst[b*32+16+j] = f16(d[b])·(high nibble - 8), for j < 16, nb blocks.
TEXT ·dequantQ4AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ d+16(FP), R9
	MOVQ nb+24(FP), CX
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X14
	VPBROADCASTD X14, X14
	MOVL $0x08080808, AX
	VMOVD AX, X13
	VPBROADCASTD X13, X13

dq4:
	TESTQ CX, CX
	JE    dq4done
	MOVWLZX (R9), AX
	VMOVD AX, X6
	VCVTPH2PS X6, X6
	VBROADCASTSS X6, Y6
	VMOVDQU (SI), X0
	VPAND X14, X0, X1
	VPSRLW $4, X0, X2
	VPAND X14, X2, X2
	VPSUBB X13, X1, X1
	VPSUBB X13, X2, X2
	VPMOVSXBD X1, Y3
	VPSRLDQ $8, X1, X1
	VPMOVSXBD X1, Y4
	VPMOVSXBD X2, Y5
	VPSRLDQ $8, X2, X2
	VPMOVSXBD X2, Y7
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VCVTDQ2PS Y7, Y7
	VMULPS Y6, Y3, Y3
	VMULPS Y6, Y4, Y4
	VMULPS Y6, Y5, Y5
	VMULPS Y6, Y7, Y7
	VMOVUPS Y3, (DI)
	VMOVUPS Y4, 32(DI)
	VMOVUPS Y5, 64(DI)
	VMOVUPS Y7, 96(DI)
	ADDQ $16, SI
	ADDQ $128, DI
	ADDQ $2, R9
	DECQ CX
	JMP  dq4

dq4done:
	VZEROUPPER
	RET

// ABSMAX32 loads the 32 floats at (SI) into Y0-Y3 and leaves max|x| in
// the low lane of X4 (Y15: 0x7fffffff lanes).
#define ABSMAX32 \
	VMOVUPS (SI), Y0; \
	VMOVUPS 32(SI), Y1; \
	VMOVUPS 64(SI), Y2; \
	VMOVUPS 96(SI), Y3; \
	VANDPS Y15, Y0, Y4; \
	VANDPS Y15, Y1, Y5; \
	VMAXPS Y5, Y4, Y4; \
	VANDPS Y15, Y2, Y5; \
	VANDPS Y15, Y3, Y6; \
	VMAXPS Y6, Y5, Y5; \
	VMAXPS Y5, Y4, Y4; \
	VEXTRACTF128 $1, Y4, X5; \
	VMAXPS X5, X4, X4; \
	VMOVHLPS X4, X4, X5; \
	VMAXPS X5, X4, X4; \
	VMOVSHDUP X4, X5; \
	VMAXSS X5, X4, X4

// F16SCALE rounds the scale in X5 to f16, stores it at (R9), and leaves in
// Y7 the broadcast inverse of the rounded scale (0 when it is 0). X11 must
// be zero and X12 hold 1.0.
#define F16SCALE \
	VCVTPS2PH $0, X5, X6; \
	VPEXTRW $0, X6, AX; \
	MOVW AX, (R9); \
	VCVTPH2PS X6, X6; \
	VDIVSS X6, X12, X7; \
	VCMPSS $4, X11, X6, X8; \
	VANDPS X8, X7, X7; \
	VBROADCASTSS X7, Y7

// ROUND4 multiplies Y0-Y3 by Y7 and converts them to int32 (ties to even).
#define ROUND4 \
	VMULPS Y7, Y0, Y0; \
	VMULPS Y7, Y1, Y1; \
	VMULPS Y7, Y2, Y2; \
	VMULPS Y7, Y3, Y3; \
	VCVTPS2DQ Y0, Y0; \
	VCVTPS2DQ Y1, Y1; \
	VCVTPS2DQ Y2, Y2; \
	VCVTPS2DQ Y3, Y3

// PACK4 packs the int32 lanes of Y0-Y3 (saturating) into 32 bytes in Y0,
// in order (Y14: the permq8 dword order).
#define PACK4 \
	VPACKSSDW Y1, Y0, Y0; \
	VPACKSSDW Y3, Y2, Y2; \
	VPACKSSWB Y2, Y0, Y0; \
	VPERMD Y0, Y14, Y0

// func quantWQ8AVX2(q *byte, d *uint16, x *float32, nb int)
//
// Q8_0-quantizes nb blocks of 32 weights: d[b] = f16(max|x|/127),
// q = clamp(round(x/d), ±127), exactly as quantBlockQ8.
TEXT ·quantWQ8AVX2(SB), NOSPLIT, $0-32
	MOVQ q+0(FP), DI
	MOVQ d+8(FP), R9
	MOVQ x+16(FP), SI
	MOVQ nb+24(FP), CX
	VPCMPEQD Y15, Y15, Y15
	VPSRLD $1, Y15, Y15
	VMOVDQU permq8<>(SB), Y14
	MOVL $0x42fe0000, AX
	VMOVD AX, X13
	MOVL $0x3f800000, AX
	VMOVD AX, X12
	VXORPS X11, X11, X11
	MOVL $0x81818181, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10

wq8:
	TESTQ CX, CX
	JE    wq8done
	ABSMAX32
	VDIVSS X13, X4, X5
	F16SCALE
	ROUND4
	PACK4
	VPMAXSB Y10, Y0, Y0
	VMOVDQU Y0, (DI)
	ADDQ $128, SI
	ADDQ $32, DI
	ADDQ $2, R9
	DECQ CX
	JMP  wq8

wq8done:
	VZEROUPPER
	RET

// func quantWQ4AVX2(q *byte, d *uint16, x *float32, nb int)
//
// Q4_0-quantizes nb blocks of 32 weights: d[b] = f16(m/-8) where m is the
// value of largest magnitude (the positive one on a tie), q = clamp(round(
// x/d)+8, 0, 15), column j in the low nibble of byte j and column j+16 in
// its high nibble.
TEXT ·quantWQ4AVX2(SB), NOSPLIT, $0-32
	MOVQ q+0(FP), DI
	MOVQ d+8(FP), R9
	MOVQ x+16(FP), SI
	MOVQ nb+24(FP), CX
	VMOVDQU permq8<>(SB), Y14
	MOVL $0xc1000000, AX
	VMOVD AX, X13
	MOVL $0x3f800000, AX
	VMOVD AX, X12
	VXORPS X11, X11, X11
	MOVL $8, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X9
	VPBROADCASTD X9, Y9

wq4:
	TESTQ CX, CX
	JE    wq4done
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VMAXPS Y1, Y0, Y4
	VMAXPS Y3, Y2, Y5
	VMAXPS Y5, Y4, Y4
	VMINPS Y1, Y0, Y5
	VMINPS Y3, Y2, Y6
	VMINPS Y6, Y5, Y5
	VEXTRACTF128 $1, Y4, X6
	VMAXPS X6, X4, X4
	VMOVHLPS X4, X4, X6
	VMAXPS X6, X4, X4
	VMOVSHDUP X4, X6
	VMAXSS X6, X4, X4
	VEXTRACTF128 $1, Y5, X6
	VMINPS X6, X5, X5
	VMOVHLPS X5, X5, X6
	VMINPS X6, X5, X5
	VMOVSHDUP X5, X6
	VMINSS X6, X5, X5
	// m = -min > max ? min : max; X5 = m / -8.
	VSUBSS X5, X11, X6
	VCMPSS $1, X6, X4, X8
	VBLENDVPS X8, X5, X4, X4
	VDIVSS X13, X4, X5
	F16SCALE
	ROUND4
	VPADDD Y10, Y0, Y0
	VPADDD Y10, Y1, Y1
	VPADDD Y10, Y2, Y2
	VPADDD Y10, Y3, Y3
	PACK4
	VPXOR Y8, Y8, Y8
	VPMAXSB Y8, Y0, Y0
	VPMINSB Y9, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPSLLW $4, X1, X1
	VPOR X1, X0, X0
	VMOVDQU X0, (DI)
	ADDQ $128, SI
	ADDQ $16, DI
	ADDQ $2, R9
	DECQ CX
	JMP  wq4

wq4done:
	VZEROUPPER
	RET

// expHi = 88
DATA expHi<>+0(SB)/4, $0x42b00000
DATA expHi<>+4(SB)/4, $0x42b00000
DATA expHi<>+8(SB)/4, $0x42b00000
DATA expHi<>+12(SB)/4, $0x42b00000
DATA expHi<>+16(SB)/4, $0x42b00000
DATA expHi<>+20(SB)/4, $0x42b00000
DATA expHi<>+24(SB)/4, $0x42b00000
DATA expHi<>+28(SB)/4, $0x42b00000
GLOBL expHi<>(SB), RODATA|NOPTR, $32

// expLo = -87
DATA expLo<>+0(SB)/4, $0xc2ae0000
DATA expLo<>+4(SB)/4, $0xc2ae0000
DATA expLo<>+8(SB)/4, $0xc2ae0000
DATA expLo<>+12(SB)/4, $0xc2ae0000
DATA expLo<>+16(SB)/4, $0xc2ae0000
DATA expLo<>+20(SB)/4, $0xc2ae0000
DATA expLo<>+24(SB)/4, $0xc2ae0000
DATA expLo<>+28(SB)/4, $0xc2ae0000
GLOBL expLo<>(SB), RODATA|NOPTR, $32

// log2e = 1.442695
DATA log2e<>+0(SB)/4, $0x3fb8aa3b
DATA log2e<>+4(SB)/4, $0x3fb8aa3b
DATA log2e<>+8(SB)/4, $0x3fb8aa3b
DATA log2e<>+12(SB)/4, $0x3fb8aa3b
DATA log2e<>+16(SB)/4, $0x3fb8aa3b
DATA log2e<>+20(SB)/4, $0x3fb8aa3b
DATA log2e<>+24(SB)/4, $0x3fb8aa3b
DATA log2e<>+28(SB)/4, $0x3fb8aa3b
GLOBL log2e<>(SB), RODATA|NOPTR, $32

// ln2hi = 0.6933594
DATA ln2hi<>+0(SB)/4, $0x3f318000
DATA ln2hi<>+4(SB)/4, $0x3f318000
DATA ln2hi<>+8(SB)/4, $0x3f318000
DATA ln2hi<>+12(SB)/4, $0x3f318000
DATA ln2hi<>+16(SB)/4, $0x3f318000
DATA ln2hi<>+20(SB)/4, $0x3f318000
DATA ln2hi<>+24(SB)/4, $0x3f318000
DATA ln2hi<>+28(SB)/4, $0x3f318000
GLOBL ln2hi<>(SB), RODATA|NOPTR, $32

// ln2lo = -0.00021219444
DATA ln2lo<>+0(SB)/4, $0xb95e8083
DATA ln2lo<>+4(SB)/4, $0xb95e8083
DATA ln2lo<>+8(SB)/4, $0xb95e8083
DATA ln2lo<>+12(SB)/4, $0xb95e8083
DATA ln2lo<>+16(SB)/4, $0xb95e8083
DATA ln2lo<>+20(SB)/4, $0xb95e8083
DATA ln2lo<>+24(SB)/4, $0xb95e8083
DATA ln2lo<>+28(SB)/4, $0xb95e8083
GLOBL ln2lo<>(SB), RODATA|NOPTR, $32

// expP0 = 0.00019875691
DATA expP0<>+0(SB)/4, $0x39506967
DATA expP0<>+4(SB)/4, $0x39506967
DATA expP0<>+8(SB)/4, $0x39506967
DATA expP0<>+12(SB)/4, $0x39506967
DATA expP0<>+16(SB)/4, $0x39506967
DATA expP0<>+20(SB)/4, $0x39506967
DATA expP0<>+24(SB)/4, $0x39506967
DATA expP0<>+28(SB)/4, $0x39506967
GLOBL expP0<>(SB), RODATA|NOPTR, $32

// expP1 = 0.0013981999
DATA expP1<>+0(SB)/4, $0x3ab743ce
DATA expP1<>+4(SB)/4, $0x3ab743ce
DATA expP1<>+8(SB)/4, $0x3ab743ce
DATA expP1<>+12(SB)/4, $0x3ab743ce
DATA expP1<>+16(SB)/4, $0x3ab743ce
DATA expP1<>+20(SB)/4, $0x3ab743ce
DATA expP1<>+24(SB)/4, $0x3ab743ce
DATA expP1<>+28(SB)/4, $0x3ab743ce
GLOBL expP1<>(SB), RODATA|NOPTR, $32

// expP2 = 0.008333452
DATA expP2<>+0(SB)/4, $0x3c088908
DATA expP2<>+4(SB)/4, $0x3c088908
DATA expP2<>+8(SB)/4, $0x3c088908
DATA expP2<>+12(SB)/4, $0x3c088908
DATA expP2<>+16(SB)/4, $0x3c088908
DATA expP2<>+20(SB)/4, $0x3c088908
DATA expP2<>+24(SB)/4, $0x3c088908
DATA expP2<>+28(SB)/4, $0x3c088908
GLOBL expP2<>(SB), RODATA|NOPTR, $32

// expP3 = 0.041665796
DATA expP3<>+0(SB)/4, $0x3d2aa9c1
DATA expP3<>+4(SB)/4, $0x3d2aa9c1
DATA expP3<>+8(SB)/4, $0x3d2aa9c1
DATA expP3<>+12(SB)/4, $0x3d2aa9c1
DATA expP3<>+16(SB)/4, $0x3d2aa9c1
DATA expP3<>+20(SB)/4, $0x3d2aa9c1
DATA expP3<>+24(SB)/4, $0x3d2aa9c1
DATA expP3<>+28(SB)/4, $0x3d2aa9c1
GLOBL expP3<>(SB), RODATA|NOPTR, $32

// expP4 = 0.16666666
DATA expP4<>+0(SB)/4, $0x3e2aaaaa
DATA expP4<>+4(SB)/4, $0x3e2aaaaa
DATA expP4<>+8(SB)/4, $0x3e2aaaaa
DATA expP4<>+12(SB)/4, $0x3e2aaaaa
DATA expP4<>+16(SB)/4, $0x3e2aaaaa
DATA expP4<>+20(SB)/4, $0x3e2aaaaa
DATA expP4<>+24(SB)/4, $0x3e2aaaaa
DATA expP4<>+28(SB)/4, $0x3e2aaaaa
GLOBL expP4<>(SB), RODATA|NOPTR, $32

// expP5 = 0.5
DATA expP5<>+0(SB)/4, $0x3f000000
DATA expP5<>+4(SB)/4, $0x3f000000
DATA expP5<>+8(SB)/4, $0x3f000000
DATA expP5<>+12(SB)/4, $0x3f000000
DATA expP5<>+16(SB)/4, $0x3f000000
DATA expP5<>+20(SB)/4, $0x3f000000
DATA expP5<>+24(SB)/4, $0x3f000000
DATA expP5<>+28(SB)/4, $0x3f000000
GLOBL expP5<>(SB), RODATA|NOPTR, $32

// one = 1
DATA one<>+0(SB)/4, $0x3f800000
DATA one<>+4(SB)/4, $0x3f800000
DATA one<>+8(SB)/4, $0x3f800000
DATA one<>+12(SB)/4, $0x3f800000
DATA one<>+16(SB)/4, $0x3f800000
DATA one<>+20(SB)/4, $0x3f800000
DATA one<>+24(SB)/4, $0x3f800000
DATA one<>+28(SB)/4, $0x3f800000
GLOBL one<>(SB), RODATA|NOPTR, $32

// bias127 = 0
DATA bias127<>+0(SB)/4, $0x0000007f
DATA bias127<>+4(SB)/4, $0x0000007f
DATA bias127<>+8(SB)/4, $0x0000007f
DATA bias127<>+12(SB)/4, $0x0000007f
DATA bias127<>+16(SB)/4, $0x0000007f
DATA bias127<>+20(SB)/4, $0x0000007f
DATA bias127<>+24(SB)/4, $0x0000007f
DATA bias127<>+28(SB)/4, $0x0000007f
GLOBL bias127<>(SB), RODATA|NOPTR, $32


// The one-row dot products above over a run of consecutive weight rows,
// for decode: one call per chunk of rows rather than one per row, the
// weights prefetched pf bytes ahead across the row boundaries (see
// rowsPrefetch). Each row's arithmetic is that of dotQ8AVX2 or
// dotQ4AVX2, in the same order, so the results are equal bit for bit.

// func dotQ8RowsAVX2(xq *int8, xd *float32, nb int, wq *byte, wd *uint16, out *float32, rows, pf int)
//
// out[r] = dotQ8AVX2 of the nb activation blocks (nb > 0) with weight row
// r < rows (rows > 0, nb blocks apart).
TEXT ·dotQ8RowsAVX2(SB), NOSPLIT, $0-64
	MOVQ wq+24(FP), DI
	MOVQ wd+32(FP), R9
	MOVQ out+40(FP), DX
	MOVQ rows+48(FP), BX
	MOVQ pf+56(FP), R14
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15

r8row:
	MOVQ xq+0(FP), SI
	MOVQ xd+8(FP), R8
	MOVQ nb+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

r8eight:
	CMPQ CX, $8
	JL   r8rest
	PREFETCHT0 (DI)(R14*1)
	PREFETCHT0 64(DI)(R14*1)
	PREFETCHT0 128(DI)(R14*1)
	PREFETCHT0 192(DI)(R14*1)
	Q8EIGHT
	JMP  r8eight

r8rest:
	TESTQ CX, CX
	JE    r8done
	Q8ONE
	JMP  r8rest

r8done:
	VADDPS Y1, Y0, Y0
	HSUM(Y0, X0, X1)
	VMOVSS X0, (DX)
	ADDQ $4, DX
	DECQ BX
	JNZ  r8row
	VZEROUPPER
	RET

// func dotQ4RowsAVX2(xq *int8, xd, xs *float32, nb int, wq *byte, wd *uint16, out *float32, rows, pf int)
//
// out[r] = dotQ4AVX2 of the nb activation blocks (nb > 0; whole groups of
// 8 in the pair layout of permQ4Pairs, the rest in plain order) with
// weight row r < rows.
TEXT ·dotQ4RowsAVX2(SB), NOSPLIT, $0-72
	MOVQ wq+32(FP), DI
	MOVQ wd+40(FP), R9
	MOVQ out+48(FP), DX
	MOVQ rows+56(FP), BX
	MOVQ pf+64(FP), R14
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15
	Q4CONST

r4row:
	MOVQ xq+0(FP), SI
	MOVQ xd+8(FP), R8
	MOVQ xs+16(FP), R10
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y12, Y12, Y12

r4eight:
	CMPQ CX, $8
	JL   r4rest
	PREFETCHT0 (DI)(R14*1)
	PREFETCHT0 64(DI)(R14*1)
	Q4EIGHT
	JMP  r4eight

r4rest:
	TESTQ CX, CX
	JE    r4done
	Q4ONE
	JMP  r4rest

r4done:
	VADDPS Y1, Y0, Y0
	VSUBPS Y12, Y0, Y0
	HSUM(Y0, X0, X1)
	VMOVSS X0, (DX)
	ADDQ $4, DX
	DECQ BX
	JNZ  r4row
	VZEROUPPER
	RET
