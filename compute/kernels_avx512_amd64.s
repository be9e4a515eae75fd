//go:build amd64 && !purego

// AVX-512 (F/BW/VL) kernels. Only the routines where the wider registers
// pay are here; kernels_avx512_amd64.go takes everything else from the AVX2
// set.

#include "textflag.h"

// G512STEP multiplies one k step of the packed 6-wide A column at AOFF(SI)
// with the 16-wide B row in B and adds it to the six row accumulators
// R0..R5 (each Z register is one output row of 16 columns). The A values are
// broadcast straight from memory.
#define G512STEP(AOFF, B, R0, R1, R2, R3, R4, R5) \
	VFMADD231PS.BCST AOFF(SI), B, R0; \
	VFMADD231PS.BCST AOFF+4(SI), B, R1; \
	VFMADD231PS.BCST AOFF+8(SI), B, R2; \
	VFMADD231PS.BCST AOFF+12(SI), B, R3; \
	VFMADD231PS.BCST AOFF+16(SI), B, R4; \
	VFMADD231PS.BCST AOFF+20(SI), B, R5

// G512ROW folds the odd-k accumulator ODD into EVEN, adds the 16 floats at
// (DX) and stores the row back.
#define G512ROW(EVEN, ODD) \
	VADDPS ODD, EVEN, EVEN; \
	VADDPS (DX), EVEN, EVEN; \
	VMOVUPS EVEN, (DX); \
	ADDQ BX, DX

#define G512ZERO \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11

#define G512STORE \
	G512ROW(Z0, Z6); \
	G512ROW(Z1, Z7); \
	G512ROW(Z2, Z8); \
	G512ROW(Z3, Z9); \
	G512ROW(Z4, Z10); \
	G512ROW(Z5, Z11); \
	VZEROUPPER

// func gemm6x16AVX512(kc int, a, b, c *float32, ldc int)
//
// c[i*ldc+j] += Σ_k a[k*6+i]·b[k*16+j] for i < 6, j < 16, k < kc.
// Even and odd k accumulate in separate registers (Z0–Z5 and Z6–Z11), so
// twelve independent FMA chains keep both FMA pipes busy.
TEXT ·gemm6x16AVX512(SB), NOSPLIT, $0-40
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), BX
	SHLQ $2, BX
	G512ZERO

g512loop4:
	CMPQ CX, $4
	JL   g512loop1
	VMOVUPS (DI), Z12
	VMOVUPS 64(DI), Z13
	VMOVUPS 128(DI), Z14
	VMOVUPS 192(DI), Z15
	PREFETCHT0 512(DI)
	PREFETCHT0 576(DI)
	G512STEP(0, Z12, Z0, Z1, Z2, Z3, Z4, Z5)
	G512STEP(24, Z13, Z6, Z7, Z8, Z9, Z10, Z11)
	PREFETCHT0 640(DI)
	PREFETCHT0 704(DI)
	G512STEP(48, Z14, Z0, Z1, Z2, Z3, Z4, Z5)
	G512STEP(72, Z15, Z6, Z7, Z8, Z9, Z10, Z11)
	ADDQ $96, SI
	ADDQ $256, DI
	SUBQ $4, CX
	JMP  g512loop4

g512loop1:
	TESTQ CX, CX
	JE    g512store
	VMOVUPS (DI), Z12
	G512STEP(0, Z12, Z0, Z1, Z2, Z3, Z4, Z5)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JMP  g512loop1

g512store:
	G512STORE
	RET

// func gemm6x16sAVX512(kc int, a, b *float32, bstride int, c *float32, ldc int)
//
// As gemm6x16AVX512, but row k of b starts at b[k*bstride] (unpacked B).
TEXT ·gemm6x16sAVX512(SB), NOSPLIT, $0-48
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ bstride+24(FP), R11
	SHLQ $2, R11
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), BX
	SHLQ $2, BX
	G512ZERO

g512sloop2:
	CMPQ CX, $2
	JL   g512sloop1
	VMOVUPS (DI), Z12
	ADDQ    R11, DI
	VMOVUPS (DI), Z13
	ADDQ    R11, DI
	G512STEP(0, Z12, Z0, Z1, Z2, Z3, Z4, Z5)
	G512STEP(24, Z13, Z6, Z7, Z8, Z9, Z10, Z11)
	ADDQ $48, SI
	SUBQ $2, CX
	JMP  g512sloop2

g512sloop1:
	TESTQ CX, CX
	JE    g512sstore
	VMOVUPS (DI), Z12
	G512STEP(0, Z12, Z0, Z1, Z2, Z3, Z4, Z5)

g512sstore:
	G512STORE
	RET
