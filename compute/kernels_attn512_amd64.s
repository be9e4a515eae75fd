//go:build amd64 && !purego

// AVX-512 attention kernels of the avx512 set: the 3-query × 4-key score
// tile and the scores of one query against many keys (attentionGQA), and
// the softmax exponentials. The Go wrappers in kernels_attn512_amd64.go keep
// the AVX2 routines for head sizes that are not a multiple of 16 (those go
// through attentionRows, whose accum stays AVX2).

#include "textflag.h"

// ZFOLD adds the upper half of Z into its lower half Y (TY scratch).
#define ZFOLD(Z, Y, TY) \
	VEXTRACTF64X4 $1, Z, TY; \
	VADDPS TY, Y, Y

// EXP16 replaces each lane of Z by e^Z: the range reduction and degree-7
// polynomial of the AVX2 EXP (kernels_amd64.s), the constants broadcast
// from 4-byte values. N and P are scratch Z registers.
#define EXP16(Z, N, P) \
	VMINPS.BCST z16expHi<>(SB), Z, Z; \
	VMAXPS.BCST z16expLo<>(SB), Z, Z; \
	VMULPS.BCST z16log2e<>(SB), Z, N; \
	VRNDSCALEPS $0, N, N; \
	VFNMADD231PS.BCST z16ln2hi<>(SB), N, Z; \
	VFNMADD231PS.BCST z16ln2lo<>(SB), N, Z; \
	VBROADCASTSS z16P0<>(SB), P; \
	VFMADD213PS.BCST z16P1<>(SB), Z, P; \
	VFMADD213PS.BCST z16P2<>(SB), Z, P; \
	VFMADD213PS.BCST z16P3<>(SB), Z, P; \
	VFMADD213PS.BCST z16P4<>(SB), Z, P; \
	VFMADD213PS.BCST z16P5<>(SB), Z, P; \
	VMULPS Z, P, P; \
	VFMADD213PS Z, Z, P; \
	VADDPS.BCST z16one<>(SB), P, P; \
	VCVTPS2DQ N, N; \
	VPADDD.BCST z16bias<>(SB), N, N; \
	VPSLLD $23, N, N; \
	VMULPS N, P, Z

// func expSumAVX512(s *float32, n int, m float32) float32
//
// s[j] = e^(s[j]-m) for j < n, a positive multiple of 16; returns the sum
// of the new values.
TEXT ·expSumAVX512(SB), NOSPLIT, $0-28
	MOVQ s+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS m+16(FP), Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10

ex32:
	CMPQ CX, $32
	JL   ex16
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z3
	VSUBPS Z8, Z0, Z0
	VSUBPS Z8, Z3, Z3
	EXP16(Z0, Z1, Z2)
	EXP16(Z3, Z4, Z5)
	VMOVUPS Z0, (DI)
	VMOVUPS Z3, 64(DI)
	VADDPS Z0, Z9, Z9
	VADDPS Z3, Z10, Z10
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  ex32

ex16:
	TESTQ CX, CX
	JE    exdone
	VMOVUPS (DI), Z0
	VSUBPS Z8, Z0, Z0
	EXP16(Z0, Z1, Z2)
	VMOVUPS Z0, (DI)
	VADDPS Z0, Z9, Z9

exdone:
	VADDPS Z10, Z9, Z9
	ZFOLD(Z9, Y9, Y1)
	VEXTRACTF128 $1, Y9, X1
	VADDPS X1, X9, X9
	VHADDPS X9, X9, X9
	VHADDPS X9, X9, X9
	VMOVSS X9, ret+24(FP)
	VZEROUPPER
	RET

// SC4Z folds the four key accumulators A, B, C, D (Z registers; AY..DY
// their lower halves) of one query row to [ΣA, ΣB, ΣC, ΣD] in AX and
// stores them at (DX). Y12 is scratch.
#define SC4Z(A, B, C, D, AY, BY, CY, DY, AX) \
	ZFOLD(A, AY, Y12); \
	ZFOLD(B, BY, Y12); \
	ZFOLD(C, CY, Y12); \
	ZFOLD(D, DY, Y12); \
	VHADDPS BY, AY, AY; \
	VHADDPS DY, CY, CY; \
	VHADDPS CY, AY, AY; \
	VEXTRACTF128 $1, AY, X12; \
	VADDPS X12, AX, AX; \
	VMOVUPS AX, (DX)

// func scores3x4AVX512(s *float32, sstride int, q *float32, qstride int, k *float32, kstride, d int)
//
// s[r*sstride+j] = Σ_i q[r*qstride+i]·k[j*kstride+i] for r < 3, j < 4,
// i < d; d must be a positive multiple of 16.
TEXT ·scores3x4AVX512(SB), NOSPLIT, $0-56
	MOVQ q+16(FP), SI
	MOVQ qstride+24(FP), R8
	SHLQ $2, R8
	MOVQ k+32(FP), DI
	MOVQ kstride+40(FP), R9
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R10
	MOVQ d+48(FP), CX
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

sc34:
	VMOVUPS (SI), Z12
	VMOVUPS (SI)(R8*1), Z13
	VMOVUPS (SI)(R8*2), Z14
	VMOVUPS (DI), Z15
	VFMADD231PS Z15, Z12, Z0
	VFMADD231PS Z15, Z13, Z4
	VFMADD231PS Z15, Z14, Z8
	VMOVUPS (DI)(R9*1), Z15
	VFMADD231PS Z15, Z12, Z1
	VFMADD231PS Z15, Z13, Z5
	VFMADD231PS Z15, Z14, Z9
	VMOVUPS (DI)(R9*2), Z15
	VFMADD231PS Z15, Z12, Z2
	VFMADD231PS Z15, Z13, Z6
	VFMADD231PS Z15, Z14, Z10
	VMOVUPS (DI)(R10*1), Z15
	VFMADD231PS Z15, Z12, Z3
	VFMADD231PS Z15, Z13, Z7
	VFMADD231PS Z15, Z14, Z11
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNE  sc34

	MOVQ s+0(FP), DX
	MOVQ sstride+8(FP), BX
	SHLQ $2, BX
	SC4Z(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0)
	ADDQ BX, DX
	SC4Z(Z4, Z5, Z6, Z7, Y4, Y5, Y6, Y7, X4)
	ADDQ BX, DX
	SC4Z(Z8, Z9, Z10, Z11, Y8, Y9, Y10, Y11, X8)
	VZEROUPPER
	RET

// func scoresAVX512(s, q, k *float32, n, d, kstride int)
//
// s[j] = Σ_i q[i]·k[j*kstride+i] for j < n; d must be a positive multiple
// of 16. Four keys at a time share the loads of q.
TEXT ·scoresAVX512(SB), NOSPLIT, $0-48
	MOVQ s+0(FP), DX
	MOVQ q+8(FP), R8
	MOVQ k+16(FP), R9
	MOVQ n+24(FP), BX
	MOVQ d+32(FP), R10
	MOVQ kstride+40(FP), R11
	SHLQ $2, R11
	LEAQ (R11)(R11*2), R12

sc4key:
	CMPQ BX, $4
	JL   sc1key
	MOVQ R8, SI
	MOVQ R9, DI
	MOVQ R10, CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

sc4loop:
	VMOVUPS (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS (DI)(R11*1), Z4, Z1
	VFMADD231PS (DI)(R11*2), Z4, Z2
	VFMADD231PS (DI)(R12*1), Z4, Z3
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNE  sc4loop

	ZFOLD(Z0, Y0, Y5)
	ZFOLD(Z1, Y1, Y5)
	ZFOLD(Z2, Y2, Y5)
	ZFOLD(Z3, Y3, Y5)
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X5
	VADDPS X5, X0, X0
	VMOVUPS X0, (DX)
	ADDQ $16, DX
	LEAQ (R9)(R11*4), R9
	SUBQ $4, BX
	JMP  sc4key

sc1key:
	TESTQ BX, BX
	JE    scdone
	MOVQ R8, SI
	MOVQ R9, DI
	MOVQ R10, CX
	VPXORD Z0, Z0, Z0

sc1loop:
	VMOVUPS (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNE  sc1loop

	ZFOLD(Z0, Y0, Y5)
	VEXTRACTF128 $1, Y0, X5
	VADDPS X5, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (DX)
	ADDQ $4, DX
	ADDQ R11, R9
	DECQ BX
	JMP  sc1key

scdone:
	VZEROUPPER
	RET

DATA z16expHi<>+0(SB)/4, $0x42b00000
GLOBL z16expHi<>(SB), RODATA|NOPTR, $4
DATA z16expLo<>+0(SB)/4, $0xc2ae0000
GLOBL z16expLo<>(SB), RODATA|NOPTR, $4
DATA z16log2e<>+0(SB)/4, $0x3fb8aa3b
GLOBL z16log2e<>(SB), RODATA|NOPTR, $4
DATA z16ln2hi<>+0(SB)/4, $0x3f318000
GLOBL z16ln2hi<>(SB), RODATA|NOPTR, $4
DATA z16ln2lo<>+0(SB)/4, $0xb95e8083
GLOBL z16ln2lo<>(SB), RODATA|NOPTR, $4
DATA z16P0<>+0(SB)/4, $0x39506967
GLOBL z16P0<>(SB), RODATA|NOPTR, $4
DATA z16P1<>+0(SB)/4, $0x3ab743ce
GLOBL z16P1<>(SB), RODATA|NOPTR, $4
DATA z16P2<>+0(SB)/4, $0x3c088908
GLOBL z16P2<>(SB), RODATA|NOPTR, $4
DATA z16P3<>+0(SB)/4, $0x3d2aa9c1
GLOBL z16P3<>(SB), RODATA|NOPTR, $4
DATA z16P4<>+0(SB)/4, $0x3e2aaaaa
GLOBL z16P4<>(SB), RODATA|NOPTR, $4
DATA z16P5<>+0(SB)/4, $0x3f000000
GLOBL z16P5<>(SB), RODATA|NOPTR, $4
DATA z16one<>+0(SB)/4, $0x3f800000
GLOBL z16one<>(SB), RODATA|NOPTR, $4
DATA z16bias<>+0(SB)/4, $0x0000007f
GLOBL z16bias<>(SB), RODATA|NOPTR, $4
