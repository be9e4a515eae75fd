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

// The transposed decode attention (attentionGQAT) keeps the scores,
// probabilities and output accumulators of 16 query rows in the 16 lanes
// of a Z register, so QKᵀ and P·V are sums of broadcast cache values times
// lane vectors: no horizontal sums, no packing, and each key and value
// element is read once per panel of 16 rows.

// func qkT16AVX512(s, qt, k *float32, kstride, n, d int)
//
// s[j*16+r] = Σ_i k[j*kstride+i]·qt[i*16+r] for j < n, r < 16, i < d;
// d is a positive even number.
TEXT ·qkT16AVX512(SB), NOSPLIT, $0-48
	MOVQ s+0(FP), DX
	MOVQ qt+8(FP), BX
	MOVQ k+16(FP), DI
	MOVQ kstride+24(FP), R9
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R10
	MOVQ n+32(FP), R11
	MOVQ d+40(FP), R12

qk16:
	CMPQ R11, $16
	JL   qk1

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
	MOVQ BX, SI
	MOVQ DI, AX
	LEAQ (DI)(R9*4), R13
	LEAQ (R13)(R9*4), R14
	LEAQ (R14)(R9*4), R15
	MOVQ R12, CX

qk16i:
	VMOVUPS 0(SI), Z16
	VFMADD231PS.BCST (AX), Z16, Z0
	VFMADD231PS.BCST (AX)(R9*1), Z16, Z1
	VFMADD231PS.BCST (AX)(R9*2), Z16, Z2
	VFMADD231PS.BCST (AX)(R10*1), Z16, Z3
	VFMADD231PS.BCST (R13), Z16, Z4
	VFMADD231PS.BCST (R13)(R9*1), Z16, Z5
	VFMADD231PS.BCST (R13)(R9*2), Z16, Z6
	VFMADD231PS.BCST (R13)(R10*1), Z16, Z7
	VFMADD231PS.BCST (R14), Z16, Z8
	VFMADD231PS.BCST (R14)(R9*1), Z16, Z9
	VFMADD231PS.BCST (R14)(R9*2), Z16, Z10
	VFMADD231PS.BCST (R14)(R10*1), Z16, Z11
	VFMADD231PS.BCST (R15), Z16, Z12
	VFMADD231PS.BCST (R15)(R9*1), Z16, Z13
	VFMADD231PS.BCST (R15)(R9*2), Z16, Z14
	VFMADD231PS.BCST (R15)(R10*1), Z16, Z15
	VMOVUPS 64(SI), Z16
	VFMADD231PS.BCST 4(AX), Z16, Z0
	VFMADD231PS.BCST 4(AX)(R9*1), Z16, Z1
	VFMADD231PS.BCST 4(AX)(R9*2), Z16, Z2
	VFMADD231PS.BCST 4(AX)(R10*1), Z16, Z3
	VFMADD231PS.BCST 4(R13), Z16, Z4
	VFMADD231PS.BCST 4(R13)(R9*1), Z16, Z5
	VFMADD231PS.BCST 4(R13)(R9*2), Z16, Z6
	VFMADD231PS.BCST 4(R13)(R10*1), Z16, Z7
	VFMADD231PS.BCST 4(R14), Z16, Z8
	VFMADD231PS.BCST 4(R14)(R9*1), Z16, Z9
	VFMADD231PS.BCST 4(R14)(R9*2), Z16, Z10
	VFMADD231PS.BCST 4(R14)(R10*1), Z16, Z11
	VFMADD231PS.BCST 4(R15), Z16, Z12
	VFMADD231PS.BCST 4(R15)(R9*1), Z16, Z13
	VFMADD231PS.BCST 4(R15)(R9*2), Z16, Z14
	VFMADD231PS.BCST 4(R15)(R10*1), Z16, Z15
	ADDQ $128, SI
	ADDQ $8, AX
	ADDQ $8, R13
	ADDQ $8, R14
	ADDQ $8, R15
	SUBQ $2, CX
	JNZ  qk16i

	VMOVUPS Z0, 0(DX)
	VMOVUPS Z1, 64(DX)
	VMOVUPS Z2, 128(DX)
	VMOVUPS Z3, 192(DX)
	VMOVUPS Z4, 256(DX)
	VMOVUPS Z5, 320(DX)
	VMOVUPS Z6, 384(DX)
	VMOVUPS Z7, 448(DX)
	VMOVUPS Z8, 512(DX)
	VMOVUPS Z9, 576(DX)
	VMOVUPS Z10, 640(DX)
	VMOVUPS Z11, 704(DX)
	VMOVUPS Z12, 768(DX)
	VMOVUPS Z13, 832(DX)
	VMOVUPS Z14, 896(DX)
	VMOVUPS Z15, 960(DX)
	ADDQ $1024, DX
	LEAQ (R15)(R9*4), DI
	MOVQ R12, CX
	SHLQ $2, CX
	SUBQ CX, DI
	SUBQ $16, R11
	JMP  qk16

qk1:
	TESTQ R11, R11
	JE    qkdone
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	MOVQ BX, SI
	MOVQ DI, AX
	MOVQ R12, CX

qk1i:
	VMOVUPS (SI), Z16
	VMOVUPS 64(SI), Z17
	VFMADD231PS.BCST (AX), Z16, Z0
	VFMADD231PS.BCST 4(AX), Z17, Z1
	ADDQ $128, SI
	ADDQ $8, AX
	SUBQ $2, CX
	JNZ  qk1i
	VADDPS Z1, Z0, Z0
	VMOVUPS Z0, (DX)
	ADDQ $64, DX
	ADDQ R9, DI
	DECQ R11
	JMP  qk1

qkdone:
	VZEROUPPER
	RET

// func pvT16AVX512(acc, p, v *float32, vstride, n, d int)
//
// acc[i*16+r] += Σ_j v[j*vstride+i]·p[j*16+r] for i < d, r < 16, j < n;
// d is a positive multiple of 16, n > 0.
TEXT ·pvT16AVX512(SB), NOSPLIT, $0-48
	MOVQ acc+0(FP), DX
	MOVQ p+8(FP), BX
	MOVQ v+16(FP), DI
	MOVQ vstride+24(FP), R9
	SHLQ $2, R9
	MOVQ n+32(FP), R11
	MOVQ d+40(FP), R12

pvblk:

	VMOVUPS 0(DX), Z0
	VMOVUPS 64(DX), Z1
	VMOVUPS 128(DX), Z2
	VMOVUPS 192(DX), Z3
	VMOVUPS 256(DX), Z4
	VMOVUPS 320(DX), Z5
	VMOVUPS 384(DX), Z6
	VMOVUPS 448(DX), Z7
	VMOVUPS 512(DX), Z8
	VMOVUPS 576(DX), Z9
	VMOVUPS 640(DX), Z10
	VMOVUPS 704(DX), Z11
	VMOVUPS 768(DX), Z12
	VMOVUPS 832(DX), Z13
	VMOVUPS 896(DX), Z14
	VMOVUPS 960(DX), Z15
	MOVQ BX, SI
	MOVQ DI, AX
	MOVQ R11, CX

pvj:
	VMOVUPS (SI), Z16
	VFMADD231PS.BCST (AX), Z16, Z0
	VFMADD231PS.BCST 4(AX), Z16, Z1
	VFMADD231PS.BCST 8(AX), Z16, Z2
	VFMADD231PS.BCST 12(AX), Z16, Z3
	VFMADD231PS.BCST 16(AX), Z16, Z4
	VFMADD231PS.BCST 20(AX), Z16, Z5
	VFMADD231PS.BCST 24(AX), Z16, Z6
	VFMADD231PS.BCST 28(AX), Z16, Z7
	VFMADD231PS.BCST 32(AX), Z16, Z8
	VFMADD231PS.BCST 36(AX), Z16, Z9
	VFMADD231PS.BCST 40(AX), Z16, Z10
	VFMADD231PS.BCST 44(AX), Z16, Z11
	VFMADD231PS.BCST 48(AX), Z16, Z12
	VFMADD231PS.BCST 52(AX), Z16, Z13
	VFMADD231PS.BCST 56(AX), Z16, Z14
	VFMADD231PS.BCST 60(AX), Z16, Z15
	ADDQ $64, SI
	ADDQ R9, AX
	DECQ CX
	JNZ  pvj

	VMOVUPS Z0, 0(DX)
	VMOVUPS Z1, 64(DX)
	VMOVUPS Z2, 128(DX)
	VMOVUPS Z3, 192(DX)
	VMOVUPS Z4, 256(DX)
	VMOVUPS Z5, 320(DX)
	VMOVUPS Z6, 384(DX)
	VMOVUPS Z7, 448(DX)
	VMOVUPS Z8, 512(DX)
	VMOVUPS Z9, 576(DX)
	VMOVUPS Z10, 640(DX)
	VMOVUPS Z11, 704(DX)
	VMOVUPS Z12, 768(DX)
	VMOVUPS Z13, 832(DX)
	VMOVUPS Z14, 896(DX)
	VMOVUPS Z15, 960(DX)
	ADDQ $1024, DX
	ADDQ $64, DI
	SUBQ $16, R12
	JNZ  pvblk
	VZEROUPPER
	RET

// func softmaxT16AVX512(s *float32, n int, m, l, acc *float32, d int)
//
// Folds the scores s[j*16+r] (j < n > 0) into the online softmax of the 16
// lanes r: the running maxima m[r] rise to cover the scores, the sums l[r]
// and accumulators acc[i*16+r] (i < d) are rescaled to match, s becomes
// e^(s-m) and l gains its sums.
TEXT ·softmaxT16AVX512(SB), NOSPLIT, $0-48
	MOVQ s+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ m+16(FP), R8
	MOVQ l+24(FP), R9
	MOVQ acc+32(FP), DX
	MOVQ d+40(FP), R12
	VMOVUPS (R8), Z20
	VMOVUPS Z20, Z21
	MOVQ DI, SI
	MOVQ CX, AX

smmax:
	VMAXPS (SI), Z21, Z21
	ADDQ $64, SI
	DECQ AX
	JNZ  smmax
	VMOVUPS Z21, (R8)
	VSUBPS Z21, Z20, Z22
	EXP16(Z22, Z1, Z2)
	VMULPS (R9), Z22, Z23

smacc:
	VMULPS (DX), Z22, Z0
	VMOVUPS Z0, (DX)
	ADDQ $64, DX
	DECQ R12
	JNZ  smacc
	VPXORD Z24, Z24, Z24

smexp:
	VMOVUPS (DI), Z0
	VSUBPS Z21, Z0, Z0
	EXP16(Z0, Z1, Z2)
	VMOVUPS Z0, (DI)
	VADDPS Z0, Z24, Z24
	ADDQ $64, DI
	DECQ CX
	JNZ  smexp
	VADDPS Z24, Z23, Z23
	VMOVUPS Z23, (R9)
	VZEROUPPER
	RET

// func scaleAddT16AVX512(dst, src, f *float32, d int)
//
// dst[i*16+r] += f[r]·src[i*16+r] for i < d, r < 16; d > 0.
TEXT ·scaleAddT16AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ f+16(FP), AX
	MOVQ d+24(FP), CX
	VMOVUPS (AX), Z1

sadd:
	VMOVUPS (DI), Z0
	VFMADD231PS (SI), Z1, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ CX
	JNZ  sadd
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
