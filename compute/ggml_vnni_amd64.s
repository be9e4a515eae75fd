//go:build amd64 && !purego

// AVX-512 VNNI dot products of 8-bit activations (int8, an f32 scale per
// 32 columns, int16 sums per 16) with rows of every ggml block format, for
// one token or 4 (which share the unpacking of the weights). ggml Q8_0's
// signed weights go in as |w| against the activations with w's signs, so
// that each int32 lane is exactly its 4 columns' Σ w·x; Q4_0/Q5_0/Q3_K's
// are stored with an offset, removed exactly in integers, the int32 lanes
// starting from minus the offset times their activations' sum. Those lanes
// then carry their share of the offset times Σx in f32 until the lanes are
// summed: rows of zero weights come out near 1e-6, not 0 (the sign trick
// for them cost 7-9% CPU time on one-token Q4_0/Q5_0 rows). VPDPBUSD
// multiplies the unsigned weight values (Q4_K/Q5_K as stored, Q6_K as
// stored, i.e. q+32) with the signed activations, 4 products per int32
// lane, 64 columns per instruction. Each lane's int32 sum covers 4 columns
// of one sub-block, so it is converted to f32 and multiplied by a per-lane
// factor d·scale·xd (VPERMPS spreads the 8 or 16 sub-block factors of a
// super-block over the lanes of each 64-column chunk). The Q4_K/Q5_K mins
// come from the activation sums in f32, as in the AVX2 kernels; the Q6_K
// offset of 32 is removed exactly, the int32 lanes starting from -8 times
// their sub-block's activation sum.

#include "textflag.h"
#include "ggml_kscales_amd64.h"

// kvq4idx: for chunk j (columns 64j..64j+63 of a Q4_K/Q5_K super-block),
// lanes 0-7 take group 2j, lanes 8-15 group 2j+1 (rows 0-1 also send
// the lanes of 4 Q8_0 blocks, 2 per chunk, their block).
DATA kvq4idx<>+0(SB)/8, $0x0000000000000000
DATA kvq4idx<>+8(SB)/8, $0x0000000000000000
DATA kvq4idx<>+16(SB)/8, $0x0000000000000000
DATA kvq4idx<>+24(SB)/8, $0x0000000000000000
DATA kvq4idx<>+32(SB)/8, $0x0000000100000001
DATA kvq4idx<>+40(SB)/8, $0x0000000100000001
DATA kvq4idx<>+48(SB)/8, $0x0000000100000001
DATA kvq4idx<>+56(SB)/8, $0x0000000100000001
DATA kvq4idx<>+64(SB)/8, $0x0000000200000002
DATA kvq4idx<>+72(SB)/8, $0x0000000200000002
DATA kvq4idx<>+80(SB)/8, $0x0000000200000002
DATA kvq4idx<>+88(SB)/8, $0x0000000200000002
DATA kvq4idx<>+96(SB)/8, $0x0000000300000003
DATA kvq4idx<>+104(SB)/8, $0x0000000300000003
DATA kvq4idx<>+112(SB)/8, $0x0000000300000003
DATA kvq4idx<>+120(SB)/8, $0x0000000300000003
DATA kvq4idx<>+128(SB)/8, $0x0000000400000004
DATA kvq4idx<>+136(SB)/8, $0x0000000400000004
DATA kvq4idx<>+144(SB)/8, $0x0000000400000004
DATA kvq4idx<>+152(SB)/8, $0x0000000400000004
DATA kvq4idx<>+160(SB)/8, $0x0000000500000005
DATA kvq4idx<>+168(SB)/8, $0x0000000500000005
DATA kvq4idx<>+176(SB)/8, $0x0000000500000005
DATA kvq4idx<>+184(SB)/8, $0x0000000500000005
DATA kvq4idx<>+192(SB)/8, $0x0000000600000006
DATA kvq4idx<>+200(SB)/8, $0x0000000600000006
DATA kvq4idx<>+208(SB)/8, $0x0000000600000006
DATA kvq4idx<>+216(SB)/8, $0x0000000600000006
DATA kvq4idx<>+224(SB)/8, $0x0000000700000007
DATA kvq4idx<>+232(SB)/8, $0x0000000700000007
DATA kvq4idx<>+240(SB)/8, $0x0000000700000007
DATA kvq4idx<>+248(SB)/8, $0x0000000700000007
GLOBL kvq4idx<>(SB), RODATA|NOPTR, $256

// kvq6idx: for chunk c of a Q6_K super-block, lane l takes the
// 16-column scale 4c+l/4.
DATA kvq6idx<>+0(SB)/8, $0x0000000000000000
DATA kvq6idx<>+8(SB)/8, $0x0000000000000000
DATA kvq6idx<>+16(SB)/8, $0x0000000100000001
DATA kvq6idx<>+24(SB)/8, $0x0000000100000001
DATA kvq6idx<>+32(SB)/8, $0x0000000200000002
DATA kvq6idx<>+40(SB)/8, $0x0000000200000002
DATA kvq6idx<>+48(SB)/8, $0x0000000300000003
DATA kvq6idx<>+56(SB)/8, $0x0000000300000003
DATA kvq6idx<>+64(SB)/8, $0x0000000400000004
DATA kvq6idx<>+72(SB)/8, $0x0000000400000004
DATA kvq6idx<>+80(SB)/8, $0x0000000500000005
DATA kvq6idx<>+88(SB)/8, $0x0000000500000005
DATA kvq6idx<>+96(SB)/8, $0x0000000600000006
DATA kvq6idx<>+104(SB)/8, $0x0000000600000006
DATA kvq6idx<>+112(SB)/8, $0x0000000700000007
DATA kvq6idx<>+120(SB)/8, $0x0000000700000007
DATA kvq6idx<>+128(SB)/8, $0x0000000800000008
DATA kvq6idx<>+136(SB)/8, $0x0000000800000008
DATA kvq6idx<>+144(SB)/8, $0x0000000900000009
DATA kvq6idx<>+152(SB)/8, $0x0000000900000009
DATA kvq6idx<>+160(SB)/8, $0x0000000a0000000a
DATA kvq6idx<>+168(SB)/8, $0x0000000a0000000a
DATA kvq6idx<>+176(SB)/8, $0x0000000b0000000b
DATA kvq6idx<>+184(SB)/8, $0x0000000b0000000b
DATA kvq6idx<>+192(SB)/8, $0x0000000c0000000c
DATA kvq6idx<>+200(SB)/8, $0x0000000c0000000c
DATA kvq6idx<>+208(SB)/8, $0x0000000d0000000d
DATA kvq6idx<>+216(SB)/8, $0x0000000d0000000d
DATA kvq6idx<>+224(SB)/8, $0x0000000e0000000e
DATA kvq6idx<>+232(SB)/8, $0x0000000e0000000e
DATA kvq6idx<>+240(SB)/8, $0x0000000f0000000f
DATA kvq6idx<>+248(SB)/8, $0x0000000f0000000f
GLOBL kvq6idx<>(SB), RODATA|NOPTR, $256

// kvxdidx: lane i takes the 32-column activation scale i/2.
DATA kvxdidx<>+0(SB)/8, $0x0000000000000000
DATA kvxdidx<>+8(SB)/8, $0x0000000100000001
DATA kvxdidx<>+16(SB)/8, $0x0000000200000002
DATA kvxdidx<>+24(SB)/8, $0x0000000300000003
DATA kvxdidx<>+32(SB)/8, $0x0000000400000004
DATA kvxdidx<>+40(SB)/8, $0x0000000500000005
DATA kvxdidx<>+48(SB)/8, $0x0000000600000006
DATA kvxdidx<>+56(SB)/8, $0x0000000700000007
GLOBL kvxdidx<>(SB), RODATA|NOPTR, $64

// KVPROLOGUE loads the arguments, clears the accumulators (Z0 and Z21 the
// weighted sums, Z1 the mins or offset term) and puts 0x0f bytes in Z15.
#define KVPROLOGUE \
	KVARGS(bsum, R10); \
	MOVL $0x0f0f0f0f, AX; \
	VPBROADCASTD AX, Z15

// KVARGS loads the arguments (the third, named S, into SREG) and clears
// the accumulators.
#define KVARGS(S, SREG) \
	MOVQ xq+0(FP), SI; \
	MOVQ xd+8(FP), R8; \
	MOVQ S+16(FP), SREG; \
	MOVQ w+24(FP), DI; \
	MOVQ nb+32(FP), CX; \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z21, Z21, Z21; \
	VPXORD Z1, Z1, Z1

// X4ARGS loads the arguments of a 4-token kernel: SI, R8 and R9 point at
// token 0's activations, scales and third argument (S), R13, R10 and R12
// at token 3's; R11 and R14 hold the strides. It clears Z0-Z3 and
// Z18-Z21, one accumulator per token and half.
#define X4ARGS(S) X4ARGSR(S, R14)

// X4KARGS is X4ARGS for the K-quant kernels: the third argument is bsum,
// bstride bytes apart per token (BX).
#define X4KARGS \
	MOVQ bstride+56(FP), BX; \
	X4ARGSR(bsum, BX)

// X4ARGSR is X4ARGS with the third argument's stride in SR.
#define X4ARGSR(S, SR) \
	MOVQ xq+0(FP), SI; \
	MOVQ xd+8(FP), R8; \
	MOVQ S+16(FP), R9; \
	MOVQ w+24(FP), DI; \
	MOVQ nb+32(FP), CX; \
	MOVQ xstride+40(FP), R11; \
	MOVQ dstride+48(FP), R14; \
	LEAQ (SI)(R11*2), R13; \
	ADDQ R11, R13; \
	LEAQ (R8)(R14*2), R10; \
	ADDQ R14, R10; \
	LEAQ (R9)(SR*2), R12; \
	ADDQ SR, R12; \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z18, Z18, Z18; \
	VPXORD Z19, Z19, Z19; \
	VPXORD Z20, Z20, Z20; \
	VPXORD Z21, Z21, Z21

// X4SUM stores the sum of the lanes of A and B as f32 at OFF(DX).
#define X4SUM(A, B, YA, XA, OFF) \
	VADDPS B, A, A; \
	VEXTRACTF64X4 $1, A, Y6; \
	VADDPS Y6, YA, YA; \
	VEXTRACTF128 $1, YA, X6; \
	VADDPS X6, XA, XA; \
	VHADDPS XA, XA, XA; \
	VHADDPS XA, XA, XA; \
	VMOVSS XA, OFF(DX)

// X4END stores the 4 tokens' sums at (DX).
#define X4END \
	X4SUM(Z0, Z18, Y0, X0, 0); \
	X4SUM(Z1, Z19, Y1, X1, 4); \
	X4SUM(Z2, Z20, Y2, X2, 8); \
	X4SUM(Z3, Z21, Y3, X3, 12); \
	VZEROUPPER; \
	RET

// X4KSUM stores at OFF(DX) the sum of the lanes of A and B minus F (X4)
// times that of M's low 8, in KVEND's order (Z5 and Y2 scratch).
#define X4KSUM(A, B, M, YA, XA, OFF) \
	VMOVAPS M, Z5; \
	KHSUM(A, B, Z5, YA, XA, Y5, X5, X4, Y2, X2); \
	VMOVSS XA, OFF(DX)

// KHSUM leaves in XA the sum of the lanes of A and B minus F times that
// of M (YT, XT scratch): KVEND's and X4KSUM's order of additions.
#define KHSUM(A, B, M, YA, XA, YM, XM, F, YT, XT) \
	VADDPS B, A, A; \
	VEXTRACTF64X4 $1, A, YT; \
	VADDPS YT, YA, YA; \
	VEXTRACTF64X4 $1, M, YT; \
	VADDPS YT, YM, YM; \
	VEXTRACTF128 $1, YA, XT; \
	VADDPS XT, XA, XA; \
	VEXTRACTF128 $1, YM, XT; \
	VADDPS XT, XM, XM; \
	VHADDPS XA, XA, XA; \
	VHADDPS XA, XA, XA; \
	VHADDPS XM, XM, XM; \
	VHADDPS XM, XM, XM; \
	VMULSS F, XM, XM; \
	VSUBSS XM, XA, XA

// X4MZERO clears the accumulators X4ARGS leaves, for the kernels with a
// mins term: Z6 and Z7 (sums of tokens 2 and 3, as Z2 and Z3 are
// scratch) and Z24-Z27 (the mins).
#define X4MZERO \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPXORD Z24, Z24, Z24; \
	VPXORD Z25, Z25, Z25; \
	VPXORD Z26, Z26, Z26; \
	VPXORD Z27, Z27, Z27

// X4KEND stores the 4 tokens' results at (DX): sums Z0+Z18, Z1+Z19,
// Z6+Z20 and Z7+Z21, minus mins Z24-Z27 times 1.
#define X4KEND X4MEND($0x3f800000)

// X4MEND is X4KEND with the mins times the f32 with bits F.
#define X4MEND(F) \
	MOVL F, AX; \
	VMOVD AX, X4; \
	X4KSUM(Z0, Z18, Z24, Y0, X0, 0); \
	X4KSUM(Z1, Z19, Z25, Y1, X1, 4); \
	X4KSUM(Z6, Z20, Z26, Y6, X6, 8); \
	X4KSUM(Z7, Z21, Z27, Y7, X7, 12); \
	VZEROUPPER; \
	RET

// F16BCAST broadcasts the f16 at OFF(DI) as f32 to Z (X its low half).
#define F16BCAST(OFF, X, Z) \
	MOVWLZX OFF(DI), AX; \
	VMOVD AX, X; \
	VCVTPH2PS X, X; \
	VBROADCASTSS X, Z

// KVCHUNK adds the 64 unsigned weight bytes of W times the activations at
// OFF(SI), converted to f32 and scaled per lane by FAC permuted by IDX, to
// ACC. T, U are scratch.
#define KVCHUNK(W, OFF, FAC, IDX, ACC, T, U) \
	KVCHUNKA(W, OFF(SI), FAC, IDX, ACC, T, U)

// KVCHUNKA is KVCHUNK with the activations at ADDR.
#define KVCHUNKA(W, ADDR, FAC, IDX, ACC, T, U) \
	VPXORD T, T, T; \
	VPDPBUSD ADDR, W, T; \
	VCVTDQ2PS T, T; \
	VPERMPS FAC, IDX, U; \
	VFMADD231PS T, U, ACC

// K45HEAD decodes a Q4_K/Q5_K super-block's scales: Y3 gets the 8 group
// factors (d·scale_g)·xd_g, and Y1 accumulates dmin·min_g·xd_g times the
// sum of group g's activations (VPMADDWD of the 16 activation sums with
// each min twice).
#define K45HEAD \
	K4SCALEBYTES; \
	VPMOVZXBD X2, Y3; \
	VCVTDQ2PS Y3, Y3; \
	F16BCAST(0, X4, Y4); \
	VMULPS Y4, Y3, Y3; \
	VMULPS (R8), Y3, Y3; \
	VPSRLDQ $8, X2, X5; \
	VPUNPCKLBW X5, X5, X5; \
	VPMOVZXBW X5, Y5; \
	VPMADDWD (R10), Y5, Y6; \
	VCVTDQ2PS Y6, Y6; \
	VMULPS (R8), Y6, Y6; \
	F16BCAST(2, X7, Y7); \
	VFMADD231PS Y6, Y7, Y1

// Q4KV does chunk J of a Q4_K block: the 32 bytes of nibbles at
// 16+32J(DI), low nibbles (group 2J) then high ones (group 2J+1), against
// the activations at 64J(SI).
#define Q4KV(J, IDX, ACC) \
	VMOVDQU (16+32*J)(DI), Y8; \
	VPSRLW $4, Y8, Y9; \
	VINSERTI64X4 $1, Y9, Z8, Z8; \
	VPANDD Z15, Z8, Z8; \
	KVCHUNK(Z8, 64*J, Z3, IDX, ACC, Z10, Z11)

// Q5KV is Q4KV for Q5_K (nibbles at 48+32J(DI)); Z13 holds the qh bytes
// twice, the second copy shifted right by 1, and Z14 0x01 bytes.
#define Q5KV(J, IDX, ACC) \
	VMOVDQU (48+32*J)(DI), Y8; \
	VPSRLW $4, Y8, Y9; \
	VINSERTI64X4 $1, Y9, Z8, Z8; \
	VPANDD Z15, Z8, Z8; \
	VPSRLW $(2*J), Z13, Z9; \
	VPANDD Z14, Z9, Z9; \
	VPSLLW $4, Z9, Z9; \
	VPORD Z9, Z8, Z8; \
	KVCHUNK(Z8, 64*J, Z3, IDX, ACC, Z10, Z11)

#define KVNEXT(TS, LOOP) \
	ADDQ $256, SI; \
	ADDQ $32, R8; \
	ADDQ $32, R10; \
	ADDQ $TS, DI; \
	DECQ CX; \
	JNZ  LOOP

// KVIDX loads the four chunk index vectors at TAB into Z16-Z19.
#define KVIDX(TAB) \
	VMOVDQU32 TAB<>+0(SB), Z16; \
	VMOVDQU32 TAB<>+64(SB), Z17; \
	VMOVDQU32 TAB<>+128(SB), Z18; \
	VMOVDQU32 TAB<>+192(SB), Z19

// KVEND returns Σ Z0+Z21 - F·Σ Z1 at ret+40(FP), F being the f32 with
// bits FBITS.
#define KVEND(FBITS) \
	MOVL $FBITS, AX; \
	VMOVD AX, X6; \
	KHSUM(Z0, Z21, Z1, Y0, X0, Y1, X1, X6, Y2, X2); \
	VMOVSS X0, ret+40(FP); \
	VZEROUPPER; \
	RET

// func dotQ4KVNNI(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
TEXT ·dotQ4KVNNI(SB), NOSPLIT, $0-44
	KVPROLOGUE
	KVIDX(kvq4idx)

q4kvloop:
	WPF3
	K45HEAD
	Q4KV(0, Z16, Z0)
	Q4KV(1, Z17, Z21)
	Q4KV(2, Z18, Z0)
	Q4KV(3, Z19, Z21)
	KVNEXT(144, q4kvloop)
	KVEND(0x3f800000)

// func dotQ5KVNNI(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
TEXT ·dotQ5KVNNI(SB), NOSPLIT, $0-44
	KVPROLOGUE
	KVIDX(kvq4idx)
	MOVL $0x01010101, AX
	VPBROADCASTD AX, Z14

q5kvloop:
	K45HEAD
	VMOVDQU 16(DI), Y13
	VPSRLW $1, Y13, Y12
	VINSERTI64X4 $1, Y12, Z13, Z13
	Q5KV(0, Z16, Z0)
	Q5KV(1, Z17, Z21)
	Q5KV(2, Z18, Z0)
	Q5KV(3, Z19, Z21)
	KVNEXT(176, q5kvloop)
	KVEND(0x3f800000)

// KVCHUNKI is KVCHUNK with the int32 lanes starting from INIT permuted by
// IIDX instead of zero.
#define KVCHUNKI(W, OFF, INIT, IIDX, FAC, IDX, ACC, T, U) \
	KVCHUNKIA(W, OFF(SI), INIT, IIDX, FAC, IDX, ACC, T, U)

// KVCHUNKIA is KVCHUNKI with the activations at ADDR.
#define KVCHUNKIA(W, ADDR, INIT, IIDX, FAC, IDX, ACC, T, U) \
	VPERMD INIT, IIDX, T; \
	VPDPBUSD ADDR, W, T; \
	VCVTDQ2PS T, T; \
	VPERMPS FAC, IDX, U; \
	VFMADD231PS T, U, ACC

// Q6KV does half N of a Q6_K block (columns 128N..128N+127): ql at
// 64N(DI), qh at 128+32N(DI). Z9 gets [qh | qh>>2]; the low nibbles of
// ql with bits 0-1 of Z9 make columns 0-63, the high nibbles with bits
// 4-5 columns 64-127. Z14 holds 0x03 bytes; the lanes start from Z7's
// offsets.
#define Q6KV(N, IDXA, IDXB) \
	VMOVDQU64 (64*N)(DI), Z8; \
	VMOVDQU (128+32*N)(DI), Y9; \
	VPSRLW $2, Y9, Y10; \
	VINSERTI64X4 $1, Y10, Z9, Z9; \
	VPANDD Z15, Z8, Z10; \
	VPANDD Z14, Z9, Z11; \
	VPSLLW $4, Z11, Z11; \
	VPORD Z11, Z10, Z10; \
	KVCHUNKI(Z10, 128*N, Z7, IDXA, Z3, IDXA, Z0, Z11, Z12); \
	VPSRLW $4, Z8, Z8; \
	VPANDD Z15, Z8, Z8; \
	VPSRLW $4, Z9, Z9; \
	VPANDD Z14, Z9, Z9; \
	VPSLLW $4, Z9, Z9; \
	VPORD Z9, Z8, Z8; \
	KVCHUNKI(Z8, 128*N+64, Z7, IDXB, Z3, IDXB, Z21, Z11, Z12)

// func dotQ6KVNNI(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
TEXT ·dotQ6KVNNI(SB), NOSPLIT, $0-44
	KVPROLOGUE
	KVIDX(kvq6idx)
	VMOVDQU32 kvxdidx<>+0(SB), Z20
	MOVL $0x03030303, AX
	VPBROADCASTD AX, Z14

q6kvloop:
	WPF4
	// Z3: the 16 factors d·scale_i·xd_{i/2}. The stored values are q+32:
	// Z7 gets -8·bsum_i, the start of each of sub-block i's 4 lanes, so
	// that their int32 sums come out exact.
	VPMOVSXBD 192(DI), Z6
	VPMOVSXWD (R10), Z7
	VPSLLD $3, Z7, Z7
	VPXORD Z5, Z5, Z5
	VPSUBD Z7, Z5, Z7
	VCVTDQ2PS Z6, Z3
	VMOVUPS (R8), Y4
	VPERMPS Z4, Z20, Z4
	VMULPS Z4, Z3, Z3
	F16BCAST(208, X5, Z5)
	VMULPS Z5, Z3, Z3
	Q6KV(0, Z16, Z17)
	Q6KV(1, Z18, Z19)
	KVNEXT(210, q6kvloop)
	KVEND(0)

// Q80W loads 2 Q8_0 blocks' values (32 bytes at WOFF+2 and WOFF+36(DI))
// into Z as |w|, unsigned for VPDPBUSD, and their signs (w < 0) into K.
#define Q80W(WOFF, Y, Z, K) \
	VMOVDQU (WOFF+2)(DI), Y; \
	VINSERTI64X4 $1, (WOFF+36)(DI), Z, Z; \
	VPMOVB2M Z, K; \
	VPABSB Z, Z

// Q80CHUNK adds the 64 columns of |w| in W times the activations at ADDR
// with w's signs (K) moved onto them (Z15 holds zero), converted to f32 and
// scaled per lane by FAC permuted by IDX, to ACC. Each int32 lane is then
// exactly its 4 columns' Σ w·x: |w|·(sign(w)·x) = w·x, and the activations
// are in [-127, 127] (quantActBlock), so negating them cannot overflow.
// T, U are scratch.
#define Q80CHUNK(W, K, ADDR, FAC, IDX, ACC, T, U) \
	VMOVDQU64 ADDR, T; \
	VPSUBB T, Z15, K, T; \
	VPXORD U, U, U; \
	VPDPBUSD T, W, U; \
	VCVTDQ2PS U, U; \
	VPERMPS FAC, IDX, T; \
	VFMADD231PS U, T, ACC

// func dotQ8_0GVNNI(xq *int8, xd, xs *float32, w *byte, nb int) float32
// (nb a multiple of 4)
//
// VPDPBUSD wants one side unsigned: the weights go in as |w| and the
// activations as sign(w)·x, so that each int32 lane holds the exact signed
// sum of its 4 columns (no offset to remove, none carried in f32). X5
// holds the 4 block factors f16(d)·xd. xs is not used.
TEXT ·dotQ8_0GVNNI(SB), NOSPLIT, $0-44
	KVARGS(xs, R9)
	VPXORD Z15, Z15, Z15
	VMOVDQU32 kvq4idx<>+0(SB), Z16
	VMOVDQU32 kvq4idx<>+64(SB), Z17

q80vloop:
	WPF3
	MOVWLZX (DI), AX
	VMOVD AX, X5
	VPINSRW $1, 34(DI), X5, X5
	VPINSRW $2, 68(DI), X5, X5
	VPINSRW $3, 102(DI), X5, X5
	VCVTPH2PS X5, X5
	VMULPS (R8), X5, X5
	Q80W(0, Y8, Z8, K1)
	Q80CHUNK(Z8, K1, 0(SI), Z5, Z16, Z0, Z10, Z11)
	Q80W(68, Y9, Z9, K2)
	Q80CHUNK(Z9, K2, 64(SI), Z5, Z17, Z21, Z12, Z13)
	ADDQ $128, SI
	ADDQ $16, R8
	ADDQ $136, DI
	SUBQ $4, CX
	JNZ  q80vloop
	KVEND(0)

// ---- ggml Q4_0, Q4_1, Q5_0 and Q5_1: 4 blocks per iteration, 2 per
// 64-column chunk in column order (block A's 32 columns, then B's), so
// that the activations are used as stored and the 32 fifth bits of a
// Q5_0/Q5_1 block are the byte mask of its 32 columns. Lanes 0-7 of a
// chunk hold block A's sums, 8-15 block B's (kvq4idx rows 0 and 1).

// kvnibsh: the VPSRLW counts per word that turn [A | A] (a block's 16
// nibble bytes in both 128-bit lanes) into [low nibbles | high nibbles]
// before masking: 0 for lanes 0 and 2, 4 for lanes 1 and 3.
DATA kvnibsh<>+0(SB)/8, $0x0000000000000000
DATA kvnibsh<>+8(SB)/8, $0x0000000000000000
DATA kvnibsh<>+16(SB)/8, $0x0004000400040004
DATA kvnibsh<>+24(SB)/8, $0x0004000400040004
DATA kvnibsh<>+32(SB)/8, $0x0000000000000000
DATA kvnibsh<>+40(SB)/8, $0x0000000000000000
DATA kvnibsh<>+48(SB)/8, $0x0004000400040004
DATA kvnibsh<>+56(SB)/8, $0x0004000400040004
GLOBL kvnibsh<>(SB), RODATA|NOPTR, $64

// kvd2idx: for Q4_1/Q5_1, whose factors sit in the even lanes of Y5
// ([d·xd, m·xd] per block): chunk 0 lanes 0-7 take lane 0, 8-15 lane 2;
// chunk 1 lanes 4 and 6.
DATA kvd2idx<>+0(SB)/8, $0x0000000000000000
DATA kvd2idx<>+8(SB)/8, $0x0000000000000000
DATA kvd2idx<>+16(SB)/8, $0x0000000000000000
DATA kvd2idx<>+24(SB)/8, $0x0000000000000000
DATA kvd2idx<>+32(SB)/8, $0x0000000200000002
DATA kvd2idx<>+40(SB)/8, $0x0000000200000002
DATA kvd2idx<>+48(SB)/8, $0x0000000200000002
DATA kvd2idx<>+56(SB)/8, $0x0000000200000002
DATA kvd2idx<>+64(SB)/8, $0x0000000400000004
DATA kvd2idx<>+72(SB)/8, $0x0000000400000004
DATA kvd2idx<>+80(SB)/8, $0x0000000400000004
DATA kvd2idx<>+88(SB)/8, $0x0000000400000004
DATA kvd2idx<>+96(SB)/8, $0x0000000600000006
DATA kvd2idx<>+104(SB)/8, $0x0000000600000006
DATA kvd2idx<>+112(SB)/8, $0x0000000600000006
DATA kvd2idx<>+120(SB)/8, $0x0000000600000006
GLOBL kvd2idx<>(SB), RODATA|NOPTR, $128

// B32VPROLOGUE loads the arguments of a 32-column format kernel, clears
// the accumulators (Z0, Z21 the block sums, Z1 the min term) and loads
// the constants: Z15 0x0f bytes, Z14 kvnibsh, Z13 0x10 bytes, Z16 and Z17
// the lane-to-block indices (IDX0, IDX1 from TAB).
#define B32VPROLOGUE(TAB) \
	KVARGS(xs, R9); \
	B32CONSTS(TAB)

// B32CONSTS loads B32VPROLOGUE's constants.
#define B32CONSTS(TAB) \
	MOVL $0x0f0f0f0f, AX; \
	VPBROADCASTD AX, Z15; \
	MOVL $0x10101010, AX; \
	VPBROADCASTD AX, Z13; \
	VMOVDQU32 kvnibsh<>+0(SB), Z14; \
	VMOVDQU32 TAB<>+0(SB), Z16; \
	VMOVDQU32 TAB<>+64(SB), Z17

// NIBV puts the 16 nibble bytes of blocks A (at OFF(DI)) and B (at
// TS+OFF(DI)) into Z8 as 64 values in column order.
#define NIBV(OFF, TS) NIBVTO(OFF, TS, Y8, Z8, Y9)

// NIBVTO is NIBV into Z (Y its low half), YT scratch.
#define NIBVTO(OFF, TS, Y, Z, YT) \
	VBROADCASTI32X4 OFF(DI), Y; \
	VBROADCASTI32X4 (TS+OFF)(DI), YT; \
	VINSERTI64X4 $1, YT, Z, Z; \
	VPSRLVW Z14, Z, Z; \
	VPANDD Z15, Z, Z

// HI5V adds 16 to the bytes of Z8 whose fifth bit is set: the 32-bit
// masks at OFF(DI) (block A) and TS+OFF(DI) (block B).
#define HI5V(OFF, TS) HI5VTO(OFF, TS, Z8)

// HI5VTO is HI5V for the values in Z.
#define HI5VTO(OFF, TS, Z) \
	MOVL OFF(DI), AX; \
	MOVL (TS+OFF)(DI), BX; \
	SHLQ $32, BX; \
	ORQ  BX, AX; \
	KMOVQ AX, K1; \
	VPADDB Z13, Z, K1, Z

// SCALES4 sets X5 to the 4 block factors f16(d)·xd of blocks at 0, TS,
// 2TS and 3TS(DI).
#define SCALES4(TS) \
	MOVWLZX (DI), AX; \
	VMOVD AX, X5; \
	VPINSRW $1, TS(DI), X5, X5; \
	VPINSRW $2, (2*TS)(DI), X5, X5; \
	VPINSRW $3, (3*TS)(DI), X5, X5; \
	VCVTPH2PS X5, X5; \
	VMULPS (R8), X5, X5

// OFFSETF puts the f32 with bits F in the 4 lanes of X12 (for OFFS4).
#define OFFSETF(F) \
	MOVL F, AX; \
	VMOVD AX, X12; \
	VBROADCASTSS X12, X12

// OFFS4 sets X7 to the int32 start of each lane of the 4 blocks: xs·F
// (xs = 8·Σx per block, F in X12), an exact integer.
#define OFFS4 \
	VMULPS (R9), X12, X7; \
	VCVTPS2DQ X7, X7

// DM4 sets Y5 to [d·xd, m·xd] of the 4 blocks at 0, TS, 2TS, 3TS(DI) and
// adds m·xd·xs of each (the odd lanes, K2) to Y1; Y20 holds kvxdidx.
#define DM4(TS) \
	VMOVD (DI), X5; \
	VPINSRD $1, TS(DI), X5, X5; \
	VPINSRD $2, (2*TS)(DI), X5, X5; \
	VPINSRD $3, (3*TS)(DI), X5, X5; \
	VCVTPH2PS X5, Y5; \
	VMOVUPS (R8), X6; \
	VPERMPS Y6, Y20, Y6; \
	VMULPS Y6, Y5, Y5; \
	VMOVUPS (R9), X6; \
	VPERMPS Y6, Y20, Y6; \
	VFMADD231PS Y6, Y5, K2, Y1

#define B32VNEXT(TS, LOOP) \
	ADDQ $128, SI; \
	ADDQ $16, R8; \
	ADDQ $16, R9; \
	ADDQ $(4*TS), DI; \
	SUBQ $4, CX; \
	JNZ  LOOP

// func dotQ4_0GVNNI(xq *int8, xd, xs *float32, w *byte, nb int) float32
// (nb a multiple of 4)
//
// The values are q+8: the lanes start from -xs/8 = -Σx of their block, so
// that the 8 lanes of a block remove 8·Σx exactly.
TEXT ·dotQ4_0GVNNI(SB), NOSPLIT, $0-44
	B32VPROLOGUE(kvq4idx)
	OFFSETF($0xbe000000) // -1/8

q40vloop:
	SCALES4(18)
	OFFS4
	NIBV(2, 18)
	KVCHUNKI(Z8, 0, Z7, Z16, Z5, Z16, Z0, Z10, Z11)
	NIBV(38, 18)
	KVCHUNKI(Z8, 64, Z7, Z17, Z5, Z17, Z21, Z10, Z11)
	B32VNEXT(18, q40vloop)
	KVEND(0)

// func dotQ5_0GVNNI(xq *int8, xd, xs *float32, w *byte, nb int) float32
// (nb a multiple of 4)
//
// The values are q+16: the lanes start from -xs/4 = -2·Σx.
TEXT ·dotQ5_0GVNNI(SB), NOSPLIT, $0-44
	B32VPROLOGUE(kvq4idx)
	OFFSETF($0xbe800000) // -1/4

q50vloop:
	SCALES4(22)
	OFFS4
	NIBV(6, 22)
	HI5V(2, 22)
	KVCHUNKI(Z8, 0, Z7, Z16, Z5, Z16, Z0, Z10, Z11)
	NIBV(50, 22)
	HI5V(46, 22)
	KVCHUNKI(Z8, 64, Z7, Z17, Z5, Z17, Z21, Z10, Z11)
	B32VNEXT(22, q50vloop)
	KVEND(0)

// B32MINS loads kvxdidx into Z20 and the odd-lane mask 0xaa into K2 for
// DM4.
#define B32MINS \
	VMOVDQU32 kvxdidx<>+0(SB), Z20; \
	MOVL $0xaa, AX; \
	KMOVW AX, K2

// func dotQ4_1GVNNI(xq *int8, xd, xs *float32, w *byte, nb int) float32
// (nb a multiple of 4)
//
// The mins add m·xd·Σx = m·xd·xs/8 per block (Y1, scaled by 1/8 at the
// end).
TEXT ·dotQ4_1GVNNI(SB), NOSPLIT, $0-44
	B32VPROLOGUE(kvd2idx)
	B32MINS

q41vloop:
	DM4(20)
	NIBV(4, 20)
	KVCHUNK(Z8, 0, Z5, Z16, Z0, Z10, Z11)
	NIBV(44, 20)
	KVCHUNK(Z8, 64, Z5, Z17, Z21, Z10, Z11)
	B32VNEXT(20, q41vloop)
	KVEND(0xbe000000)

// func dotQ5_1GVNNI(xq *int8, xd, xs *float32, w *byte, nb int) float32
// (nb a multiple of 4)
TEXT ·dotQ5_1GVNNI(SB), NOSPLIT, $0-44
	B32VPROLOGUE(kvd2idx)
	B32MINS

q51vloop:
	DM4(24)
	NIBV(8, 24)
	HI5V(4, 24)
	KVCHUNK(Z8, 0, Z5, Z16, Z0, Z10, Z11)
	NIBV(56, 24)
	HI5V(52, 24)
	KVCHUNK(Z8, 64, Z5, Z17, Z21, Z10, Z11)
	B32VNEXT(24, q51vloop)
	KVEND(0xbe000000)

// ---- Q2_K and Q3_K: 2-bit values (plus Q3_K's third bit) in 16-column
// sub-blocks with one scale each, laid out as Q6_K's low bits: the 32
// bytes of half N hold columns 128N+32J..+31 at bits 2J..2J+1, so that
// [q | q>>2] masked with 3 (shifted by 4 for J=2) is a 64-column chunk in
// column order. As in dotQ6KVNNI, chunk C's lane l takes sub-block
// 4C+l/4 (kvq6idx) and Z3 holds the 16 factors d·scale_i·xd_{i/2}.

// K23HALF loads the 32 value bytes of half N (at OFF(DI)) as [q | q>>2]
// into Z8.
#define K23HALF(OFF) K23HALFTO(OFF, Y8, Z8, Y9)

// K23HALFTO is K23HALF into Z (Y its low half), YT scratch.
#define K23HALFTO(OFF, Y, Z, YT) \
	VMOVDQU64 OFF(DI), Y; \
	VPSRLW $2, Y, YT; \
	VINSERTI64X4 $1, YT, Z, Z

// K23FAC sets Z3 to the 16 sub-block factors: the int32 scales in Z3
// times xd_{i/2} (Z20 holds kvxdidx) times the f16 d at OFF(DI).
#define K23FAC(OFF) \
	VCVTDQ2PS Z3, Z3; \
	VMOVUPS (R8), Y4; \
	VPERMPS Z4, Z20, Z4; \
	VMULPS Z4, Z3, Z3; \
	F16BCAST(OFF, X5, Z5); \
	VMULPS Z5, Z3, Z3

// func dotQ2KVNNI(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
//
// The mins term goes to Y1 as in dotQ2KAVX2 (Q2KMINS).
TEXT ·dotQ2KVNNI(SB), NOSPLIT, $0-44
	KVPROLOGUE
	KVIDX(kvq6idx)
	VMOVDQU32 kvxdidx<>+0(SB), Z20
	MOVL $0x03030303, AX
	VPBROADCASTD AX, Z14

q2kvloop:
	Q2KMINS(X15)
	VPAND X15, X6, X6
	VPMOVZXBD X6, Z3
	K23FAC(80)
	K23HALF(16)
	VPANDD Z14, Z8, Z9
	KVCHUNK(Z9, 0, Z3, Z16, Z0, Z10, Z11)
	VPSRLW $4, Z8, Z9
	VPANDD Z14, Z9, Z9
	KVCHUNK(Z9, 64, Z3, Z17, Z21, Z10, Z11)
	K23HALF(48)
	VPANDD Z14, Z8, Z9
	KVCHUNK(Z9, 128, Z3, Z18, Z0, Z10, Z11)
	VPSRLW $4, Z8, Z9
	VPANDD Z14, Z9, Z9
	KVCHUNK(Z9, 192, Z3, Z19, Z21, Z10, Z11)
	KVNEXT(84, q2kvloop)
	KVEND(0x3f800000)

// kvq3bit: for chunk C of a Q3_K super-block, bit 2C of the hmask bytes
// in the low 32 bytes and bit 2C+1 in the high ones (the third bits of
// its columns 64C..64C+31 and 64C+32..64C+63).
DATA kvq3bit<>+0(SB)/8, $0x0101010101010101
DATA kvq3bit<>+8(SB)/8, $0x0101010101010101
DATA kvq3bit<>+16(SB)/8, $0x0101010101010101
DATA kvq3bit<>+24(SB)/8, $0x0101010101010101
DATA kvq3bit<>+32(SB)/8, $0x0202020202020202
DATA kvq3bit<>+40(SB)/8, $0x0202020202020202
DATA kvq3bit<>+48(SB)/8, $0x0202020202020202
DATA kvq3bit<>+56(SB)/8, $0x0202020202020202
DATA kvq3bit<>+64(SB)/8, $0x0404040404040404
DATA kvq3bit<>+72(SB)/8, $0x0404040404040404
DATA kvq3bit<>+80(SB)/8, $0x0404040404040404
DATA kvq3bit<>+88(SB)/8, $0x0404040404040404
DATA kvq3bit<>+96(SB)/8, $0x0808080808080808
DATA kvq3bit<>+104(SB)/8, $0x0808080808080808
DATA kvq3bit<>+112(SB)/8, $0x0808080808080808
DATA kvq3bit<>+120(SB)/8, $0x0808080808080808
DATA kvq3bit<>+128(SB)/8, $0x1010101010101010
DATA kvq3bit<>+136(SB)/8, $0x1010101010101010
DATA kvq3bit<>+144(SB)/8, $0x1010101010101010
DATA kvq3bit<>+152(SB)/8, $0x1010101010101010
DATA kvq3bit<>+160(SB)/8, $0x2020202020202020
DATA kvq3bit<>+168(SB)/8, $0x2020202020202020
DATA kvq3bit<>+176(SB)/8, $0x2020202020202020
DATA kvq3bit<>+184(SB)/8, $0x2020202020202020
DATA kvq3bit<>+192(SB)/8, $0x4040404040404040
DATA kvq3bit<>+200(SB)/8, $0x4040404040404040
DATA kvq3bit<>+208(SB)/8, $0x4040404040404040
DATA kvq3bit<>+216(SB)/8, $0x4040404040404040
DATA kvq3bit<>+224(SB)/8, $0x8080808080808080
DATA kvq3bit<>+232(SB)/8, $0x8080808080808080
DATA kvq3bit<>+240(SB)/8, $0x8080808080808080
DATA kvq3bit<>+248(SB)/8, $0x8080808080808080
GLOBL kvq3bit<>(SB), RODATA|NOPTR, $256

// Q3KV does chunk C of a Q3_K block from the 2-bit values in W: where the
// third bit (Z12 holds the 32 hmask bytes twice) is set, 4 is added
// (Z13), making the stored value q+4 unsigned; the lanes start from
// Z7's offsets.
#define Q3KV(W, C, IDX, ACC) \
	VPTESTMB kvq3bit<>+(64*C)(SB), Z12, K1; \
	VPADDB Z13, W, K1, W; \
	KVCHUNKI(W, 64*C, Z7, IDX, Z3, IDX, ACC, Z10, Z11)

// func dotQ3KVNNI(xq *int8, xd *float32, bsum *int16, w *byte, nb int) float32
//
// The values are q+4: the lanes start from -bsum_i, so that the 4 lanes
// of sub-block i remove 4·Σx exactly.
TEXT ·dotQ3KVNNI(SB), NOSPLIT, $0-44
	KVPROLOGUE
	KVIDX(kvq6idx)
	VMOVDQU32 kvxdidx<>+0(SB), Z20
	MOVL $0x03030303, AX
	VPBROADCASTD AX, Z14
	MOVL $0x04040404, AX
	VPBROADCASTD AX, Z13

q3kvloop:
	// Q3SCALES wants 32 in the bytes of X5, which K23FAC clobbers.
	MOVL $0x20202020, AX
	VPBROADCASTD AX, X5
	Q3SCALES
	VPMOVSXBD X6, Z3
	K23FAC(108)
	VPMOVSXWD (R10), Z7
	VPXORD Z6, Z6, Z6
	VPSUBD Z7, Z6, Z7
	VBROADCASTI64X4 (DI), Z12
	K23HALF(32)
	VPANDD Z14, Z8, Z9
	Q3KV(Z9, 0, Z16, Z0)
	VPSRLW $4, Z8, Z9
	VPANDD Z14, Z9, Z9
	Q3KV(Z9, 1, Z17, Z21)
	K23HALF(64)
	VPANDD Z14, Z8, Z9
	Q3KV(Z9, 2, Z18, Z0)
	VPSRLW $4, Z8, Z9
	VPANDD Z14, Z9, Z9
	Q3KV(Z9, 3, Z19, Z21)
	KVNEXT(110, q3kvloop)
	KVEND(0)

// ---- 4 tokens against one weight row: the weights are unpacked once per
// group of blocks and dotted with the activations of 4 tokens (xstride
// bytes apart; their xd, xs or bsum dstride bytes apart), as dotQ8x4
// does for the split Q8_0.

// Q40X4TOK does one token of dotQ4_0GVNNIx4: its activations at (XA),
// xd at (DA), xs at (SA), into A0 (blocks 0-1) and A1 (blocks 2-3).
#define Q40X4TOK(XA, DA, SA, A0, A1) \
	VMULPS DA, X5, X6; \
	VMULPS SA, X12, X7; \
	VCVTPS2DQ X7, X7; \
	KVCHUNKIA(Z8, XA, Z7, Z16, Z6, Z16, A0, Z10, Z11); \
	KVCHUNKIA(Z9, 64 XA, Z7, Z17, Z6, Z17, A1, Z10, Z11)

// SCALES4NX is SCALES4 without the xd factor (each token has its own).
#define SCALES4NX(TS) \
	MOVWLZX (DI), AX; \
	VMOVD AX, X5; \
	VPINSRW $1, TS(DI), X5, X5; \
	VPINSRW $2, (2*TS)(DI), X5, X5; \
	VPINSRW $3, (3*TS)(DI), X5, X5; \
	VCVTPH2PS X5, X5

// B32X4TOKENS runs TOK for the 4 tokens of a 32-column format kernel.
#define B32X4TOKENS(TOK) \
	TOK((SI), (R8), (R9), Z0, Z18); \
	TOK((SI)(R11*1), (R8)(R14*1), (R9)(R14*1), Z1, Z19); \
	TOK((SI)(R11*2), (R8)(R14*2), (R9)(R14*2), Z2, Z20); \
	TOK((R13), (R10), (R12), Z3, Z21)

// B32X4NEXT moves to the next 4 blocks (TS bytes each).
#define B32X4NEXT(TS, LOOP) \
	ADDQ $128, SI; \
	ADDQ $128, R13; \
	ADDQ $16, R8; \
	ADDQ $16, R10; \
	ADDQ $16, R9; \
	ADDQ $16, R12; \
	ADDQ $(4*TS), DI; \
	SUBQ $4, CX; \
	JNZ  LOOP

// B32X4SETUP loads the constants of the 32-column 4-token kernels (as
// B32VPROLOGUE, the lane indices of TAB) and the f32 with bits F in X12.
#define B32X4SETUP(TAB, F) \
	B32CONSTS(TAB); \
	OFFSETF(F)

// func dotQ4_0GVNNIx4(xq *int8, xd, xs *float32, w *byte, nb, xstride, dstride int, out *[4]float32)
// (nb a multiple of 4)
TEXT ·dotQ4_0GVNNIx4(SB), NOSPLIT, $0-64
	X4ARGS(xs)
	B32X4SETUP(kvq4idx, $0xbe000000) // -1/8

q40x4loop:
	SCALES4NX(18)
	NIBVTO(2, 18, Y8, Z8, Y10)
	NIBVTO(38, 18, Y9, Z9, Y10)
	B32X4TOKENS(Q40X4TOK)
	B32X4NEXT(18, q40x4loop)
	MOVQ out+56(FP), DX
	X4END

// func dotQ5_0GVNNIx4(xq *int8, xd, xs *float32, w *byte, nb, xstride, dstride int, out *[4]float32)
// (nb a multiple of 4)
TEXT ·dotQ5_0GVNNIx4(SB), NOSPLIT, $0-64
	X4ARGS(xs)
	B32X4SETUP(kvq4idx, $0xbe800000) // -1/4

q50x4loop:
	SCALES4NX(22)
	NIBVTO(6, 22, Y8, Z8, Y10)
	HI5VTO(2, 22, Z8)
	NIBVTO(50, 22, Y9, Z9, Y10)
	HI5VTO(46, 22, Z9)
	B32X4TOKENS(Q40X4TOK)
	B32X4NEXT(22, q50x4loop)
	MOVQ out+56(FP), DX
	X4END

// Q80X4TOK does one token of dotQ8_0GVNNIx4 as dotQ8_0GVNNI does: its
// activations at (XA), xd at (DA), into A0 (blocks 0-1) and A1 (blocks
// 2-3); the weights' |w| in Z8, Z9 and signs in K1, K2.
#define Q80X4TOK(XA, DA, SA, A0, A1) \
	VMULPS DA, X5, X6; \
	Q80CHUNK(Z8, K1, XA, Z6, Z16, A0, Z10, Z11); \
	Q80CHUNK(Z9, K2, 64 XA, Z6, Z17, A1, Z12, Z13)

// func dotQ8_0GVNNIx4(xq *int8, xd, xs *float32, w *byte, nb, xstride, dstride int, out *[4]float32)
// (nb a multiple of 4)
//
// The weights as in dotQ8_0GVNNI (|w| and signs, unpacked once), the
// tokens as in dotQ4_0GVNNIx4. xs is not used.
TEXT ·dotQ8_0GVNNIx4(SB), NOSPLIT, $0-64
	X4ARGS(xs)
	VPXORD Z15, Z15, Z15
	VMOVDQU32 kvq4idx<>+0(SB), Z16
	VMOVDQU32 kvq4idx<>+64(SB), Z17

q80x4loop:
	SCALES4NX(34)
	Q80W(0, Y8, Z8, K1)
	Q80W(68, Y9, Z9, K2)
	B32X4TOKENS(Q80X4TOK)
	B32X4NEXT(34, q80x4loop)
	MOVQ out+56(FP), DX
	X4END

// Q41X4TOK does one token of dotQ4_1GVNNIx4 (and Q5_1) as DM4 and
// KVCHUNK do: Y5 holds the 4 blocks' [d, m] pairs, Z28 kvxdidx, K2 the
// odd lanes; the sums go to A0, A1 and the mins to YM.
#define Q41X4TOK(XA, DA, SA, A0, A1, YM) \
	VMOVUPS DA, X4; \
	VPERMPS Y4, Y28, Y4; \
	VMULPS Y4, Y5, Y4; \
	VMOVUPS SA, X3; \
	VPERMPS Y3, Y28, Y3; \
	VFMADD231PS Y3, Y4, K2, YM; \
	KVCHUNKA(Z8, XA, Z4, Z16, A0, Z10, Z11); \
	KVCHUNKA(Z9, 64 XA, Z4, Z17, A1, Z10, Z11)

// Q41X4TOKENS runs Q41X4TOK for the 4 tokens.
#define Q41X4TOKENS \
	Q41X4TOK((SI), (R8), (R9), Z0, Z18, Y24); \
	Q41X4TOK((SI)(R11*1), (R8)(R14*1), (R9)(R14*1), Z1, Z19, Y25); \
	Q41X4TOK((SI)(R11*2), (R8)(R14*2), (R9)(R14*2), Z6, Z20, Y26); \
	Q41X4TOK((R13), (R10), (R12), Z7, Z21, Y27)

// DM4NX loads DM4's [d, m] pairs of the 4 blocks into Y5.
#define DM4NX(TS) \
	VMOVD (DI), X5; \
	VPINSRD $1, TS(DI), X5, X5; \
	VPINSRD $2, (2*TS)(DI), X5, X5; \
	VPINSRD $3, (3*TS)(DI), X5, X5; \
	VCVTPH2PS X5, Y5

// Q41X4SETUP is B32X4SETUP for Q4_1/Q5_1, with the mins' constants.
#define Q41X4SETUP \
	B32X4SETUP(kvd2idx, $0); \
	X4MZERO; \
	VMOVDQU32 kvxdidx<>+0(SB), Z28; \
	MOVL $0xaa, AX; \
	KMOVW AX, K2

// func dotQ4_1GVNNIx4(xq *int8, xd, xs *float32, w *byte, nb, xstride, dstride int, out *[4]float32)
// (nb a multiple of 4)
TEXT ·dotQ4_1GVNNIx4(SB), NOSPLIT, $0-64
	X4ARGS(xs)
	Q41X4SETUP

q41x4loop:
	DM4NX(20)
	NIBVTO(4, 20, Y8, Z8, Y10)
	NIBVTO(44, 20, Y9, Z9, Y10)
	Q41X4TOKENS
	B32X4NEXT(20, q41x4loop)
	MOVQ out+56(FP), DX
	X4MEND($0xbe000000)

// func dotQ5_1GVNNIx4(xq *int8, xd, xs *float32, w *byte, nb, xstride, dstride int, out *[4]float32)
// (nb a multiple of 4)
TEXT ·dotQ5_1GVNNIx4(SB), NOSPLIT, $0-64
	X4ARGS(xs)
	Q41X4SETUP

q51x4loop:
	DM4NX(24)
	NIBVTO(8, 24, Y8, Z8, Y10)
	HI5VTO(4, 24, Z8)
	NIBVTO(56, 24, Y9, Z9, Y10)
	HI5VTO(52, 24, Z9)
	Q41X4TOKENS
	B32X4NEXT(24, q51x4loop)
	MOVQ out+56(FP), DX
	X4MEND($0xbe000000)

// KX4KEEP runs the scale decoding SCALES, which clobbers R11, R12, R13
// and BX, keeping them in XA and XB.
#define KX4KEEP(SCALES, XA, XB) \
	VMOVQ R11, XA; \
	VPINSRQ $1, R12, XA, XA; \
	VMOVQ R13, XB; \
	VPINSRQ $1, BX, XB, XB; \
	SCALES; \
	VMOVQ XA, R11; \
	VPEXTRQ $1, XA, R12; \
	VMOVQ XB, R13; \
	VPEXTRQ $1, XB, BX

// K45X4HEAD decodes a Q4_K/Q5_K super-block's scales for 4 tokens: Y3 the
// 8 factors d·scale_g, Y5 the mins (each twice, as words) and Y14 dmin.
// The scale decoding's registers are kept in X12 and X13 meanwhile.
#define K45X4HEAD \
	KX4KEEP(K4SCALEBYTES, X12, X13); \
	VPMOVZXBD X2, Y3; \
	VCVTDQ2PS Y3, Y3; \
	F16BCAST(0, X4, Y4); \
	VMULPS Y4, Y3, Y3; \
	VPSRLDQ $8, X2, X5; \
	VPUNPCKLBW X5, X5, X5; \
	VPMOVZXBW X5, Y5; \
	F16BCAST(2, X14, Y14)

// K45X4TOK does one token of a Q4_K/Q5_K 4-token kernel, the chunks'
// values in Z8, Z9, Z22 and Z23: activations at (XA), xd at (DA), sums
// at (BA), into A0 (chunks 0, 2), A1 (1, 3) and the mins M, as K45HEAD and
// Q4KV do (Y2 scratch).
#define K45X4TOK(XA, DA, BA, A0, A1, YM) \
	VMULPS DA, Y3, Y4; \
	VPMADDWD BA, Y5, Y2; \
	VCVTDQ2PS Y2, Y2; \
	VMULPS DA, Y2, Y2; \
	VFMADD231PS Y2, Y14, YM; \
	KVCHUNKA(Z8, XA, Z4, Z28, A0, Z10, Z11); \
	KVCHUNKA(Z9, 64 XA, Z4, Z29, A1, Z10, Z11); \
	KVCHUNKA(Z22, 128 XA, Z4, Z30, A0, Z10, Z11); \
	KVCHUNKA(Z23, 192 XA, Z4, Z31, A1, Z10, Z11)

// K45X4TOKENS runs K45X4TOK for the 4 tokens.
#define K45X4TOKENS \
	K45X4TOK((SI), (R8), (R9), Z0, Z18, Y24); \
	K45X4TOK((SI)(R11*1), (R8)(R14*1), (R9)(BX*1), Z1, Z19, Y25); \
	K45X4TOK((SI)(R11*2), (R8)(R14*2), (R9)(BX*2), Z6, Z20, Y26); \
	K45X4TOK((R13), (R10), (R12), Z7, Z21, Y27)

// KX4NEXT moves to the next super-block (TS bytes of weights).
#define KX4NEXT(TS, LOOP) \
	ADDQ $256, SI; \
	ADDQ $256, R13; \
	ADDQ $32, R8; \
	ADDQ $32, R10; \
	ADDQ $32, R9; \
	ADDQ $32, R12; \
	ADDQ $TS, DI; \
	DECQ CX; \
	JNZ  LOOP

// Q4KX4W puts chunk J of a Q4_K block's values into Z (Y its low half).
#define Q4KX4W(OFF, Y, Z) \
	VMOVDQU64 OFF(DI), Y; \
	VPSRLW $4, Y, Y10; \
	VINSERTI64X4 $1, Y10, Z, Z; \
	VPANDD Z15, Z, Z

// KX4IDX loads the chunk index vectors at TAB into Z28-Z31.
#define KX4IDX(TAB) \
	VMOVDQU32 TAB<>+0(SB), Z28; \
	VMOVDQU32 TAB<>+64(SB), Z29; \
	VMOVDQU32 TAB<>+128(SB), Z30; \
	VMOVDQU32 TAB<>+192(SB), Z31

// KX4SETUP clears tokens 2 and 3's sums and the mins and loads the
// constants of the Q4_K/Q5_K 4-token kernels.
#define KX4SETUP \
	X4MZERO; \
	MOVL $0x0f0f0f0f, AX; \
	VPBROADCASTD AX, Z15; \
	KX4IDX(kvq4idx)

// func dotQ4KVNNIx4(xq *int8, xd *float32, bsum *int16, w *byte, nb, xstride, dstride, bstride int, out *[4]float32)
TEXT ·dotQ4KVNNIx4(SB), NOSPLIT, $0-72
	X4KARGS
	KX4SETUP

q4kx4loop:
	K45X4HEAD
	Q4KX4W(16, Y8, Z8)
	Q4KX4W(48, Y9, Z9)
	Q4KX4W(80, Y22, Z22)
	Q4KX4W(112, Y23, Z23)
	K45X4TOKENS
	KX4NEXT(144, q4kx4loop)
	MOVQ out+64(FP), DX
	X4KEND

// Q5KX4W is Q4KX4W for Q5_K's chunk J, with the fifth bits from Z16 (the
// qh bytes twice, the second copy shifted right by 1) and Z17 (0x01
// bytes).
#define Q5KX4W(J, Y, Z) \
	Q4KX4W(48+32*J, Y, Z); \
	VPSRLW $(2*J), Z16, Z10; \
	VPANDD Z17, Z10, Z10; \
	VPSLLW $4, Z10, Z10; \
	VPORD Z10, Z, Z

// func dotQ5KVNNIx4(xq *int8, xd *float32, bsum *int16, w *byte, nb, xstride, dstride, bstride int, out *[4]float32)
TEXT ·dotQ5KVNNIx4(SB), NOSPLIT, $0-72
	X4KARGS
	KX4SETUP
	MOVL $0x01010101, AX
	VPBROADCASTD AX, Z17

q5kx4loop:
	K45X4HEAD
	VMOVDQU64 16(DI), Y16
	VPSRLW $1, Y16, Y10
	VINSERTI64X4 $1, Y10, Z16, Z16
	Q5KX4W(0, Y8, Z8)
	Q5KX4W(1, Y9, Z9)
	Q5KX4W(2, Y22, Z22)
	Q5KX4W(3, Y23, Z23)
	K45X4TOKENS
	KX4NEXT(176, q5kx4loop)
	MOVQ out+64(FP), DX
	X4KEND

// Q6KX4TOK does one token of dotQ6KVNNIx4 as dotQ6KVNNI's loop does, the
// chunks' values in Z8, Z9, Z22, Z23, the scales (f32) in Z12 and d in Z5.
#define Q6KX4TOK(XA, DA, BA, A0, A1) \
	VPMOVSXWD BA, Z7; \
	VPSLLD $3, Z7, Z7; \
	VPXORD Z6, Z6, Z6; \
	VPSUBD Z7, Z6, Z7; \
	VMOVUPS DA, Y4; \
	VPERMPS Z4, Z24, Z4; \
	VMULPS Z4, Z12, Z4; \
	VMULPS Z5, Z4, Z4; \
	KVCHUNKIA(Z8, XA, Z7, Z28, Z4, Z28, A0, Z10, Z11); \
	KVCHUNKIA(Z9, 64 XA, Z7, Z29, Z4, Z29, A1, Z10, Z11); \
	KVCHUNKIA(Z22, 128 XA, Z7, Z30, Z4, Z30, A0, Z10, Z11); \
	KVCHUNKIA(Z23, 192 XA, Z7, Z31, Z4, Z31, A1, Z10, Z11)

// Q6KX4W puts the two chunks of half N of a Q6_K block into ZL and ZH
// (Q6KV's unpacking; Z13 scratch).
#define Q6KX4W(N, ZL, ZH) \
	VMOVDQU64 (64*N)(DI), ZH; \
	VMOVDQU (128+32*N)(DI), Y13; \
	VPSRLW $2, Y13, Y10; \
	VINSERTI64X4 $1, Y10, Z13, Z13; \
	VPANDD Z15, ZH, ZL; \
	VPANDD Z14, Z13, Z11; \
	VPSLLW $4, Z11, Z11; \
	VPORD Z11, ZL, ZL; \
	VPSRLW $4, ZH, ZH; \
	VPANDD Z15, ZH, ZH; \
	VPSRLW $4, Z13, Z13; \
	VPANDD Z14, Z13, Z13; \
	VPSLLW $4, Z13, Z13; \
	VPORD Z13, ZH, ZH

// func dotQ6KVNNIx4(xq *int8, xd *float32, bsum *int16, w *byte, nb, xstride, dstride, bstride int, out *[4]float32)
TEXT ·dotQ6KVNNIx4(SB), NOSPLIT, $0-72
	X4KARGS
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z15
	MOVL $0x03030303, AX
	VPBROADCASTD AX, Z14
	KX4IDX(kvq6idx)
	VMOVDQU32 kvxdidx<>+0(SB), Z24

q6kx4loop:
	VPMOVSXBD 192(DI), Z12
	VCVTDQ2PS Z12, Z12
	F16BCAST(208, X5, Z5)
	Q6KX4W(1, Z22, Z23)
	Q6KX4W(0, Z8, Z9)
	Q6KX4TOK((SI), (R8), (R9), Z0, Z18)
	Q6KX4TOK((SI)(R11*1), (R8)(R14*1), (R9)(BX*1), Z1, Z19)
	Q6KX4TOK((SI)(R11*2), (R8)(R14*2), (R9)(BX*2), Z2, Z20)
	Q6KX4TOK((R13), (R10), (R12), Z3, Z21)
	KX4NEXT(210, q6kx4loop)
	MOVQ out+64(FP), DX
	X4END

// K23X4W puts the 4 chunks of 2-bit values of a Q2_K/Q3_K block (value
// bytes at OFF(DI)) into Z8, Z9, Z22 and Z23 (Z14 holds 0x03 bytes).
#define K23X4W(OFF) \
	K23HALFTO(OFF, Y8, Z8, Y10); \
	VPSRLW $4, Z8, Z9; \
	VPANDD Z14, Z9, Z9; \
	VPANDD Z14, Z8, Z8; \
	K23HALFTO(OFF+32, Y22, Z22, Y10); \
	VPSRLW $4, Z22, Z23; \
	VPANDD Z14, Z23, Z23; \
	VPANDD Z14, Z22, Z22

// K23X4FAC sets Z4 to one token's 16 sub-block factors as K23FAC does:
// the f32 scales in SC times xd_{i/2} (at DA; Z16 holds kvxdidx) times d
// (D).
#define K23X4FAC(DA, SC, D) \
	VMOVUPS DA, Y4; \
	VPERMPS Z4, Z16, Z4; \
	VMULPS Z4, SC, Z4; \
	VMULPS D, Z4, Z4

// K23X4SETUP loads the constants of the Q2_K/Q3_K 4-token kernels.
#define K23X4SETUP \
	KX4IDX(kvq6idx); \
	VMOVDQU32 kvxdidx<>+0(SB), Z16; \
	MOVL $0x03030303, AX; \
	VPBROADCASTD AX, Z14; \
	MOVL $0x0f0f0f0f, AX; \
	VPBROADCASTD AX, Z15

// Q2KX4TOK does one token of dotQ2KVNNIx4 as dotQ2KVNNI's loop does: the
// mins (words in Y13, dmin in Y12) into YM, the chunks into A0 and A1.
#define Q2KX4TOK(XA, DA, BA, A0, A1, YM) \
	VPMADDWD BA, Y13, Y3; \
	VCVTDQ2PS Y3, Y3; \
	VMULPS DA, Y3, Y3; \
	VFMADD231PS Y3, Y12, YM; \
	K23X4FAC(DA, Z17, Z5); \
	KVCHUNKA(Z8, XA, Z4, Z28, A0, Z10, Z11); \
	KVCHUNKA(Z9, 64 XA, Z4, Z29, A1, Z10, Z11); \
	KVCHUNKA(Z22, 128 XA, Z4, Z30, A0, Z10, Z11); \
	KVCHUNKA(Z23, 192 XA, Z4, Z31, A1, Z10, Z11)

// func dotQ2KVNNIx4(xq *int8, xd *float32, bsum *int16, w *byte, nb, xstride, dstride, bstride int, out *[4]float32)
TEXT ·dotQ2KVNNIx4(SB), NOSPLIT, $0-72
	X4KARGS
	X4MZERO
	K23X4SETUP

q2kx4loop:
	// Q2KMINS's mins as words (Y13) and dmin (Y12), without the tokens;
	// the scales (f32) in Z17 and d in Z5.
	VMOVDQU (DI), X3
	VPSRLW $4, X3, X2
	VPAND X15, X2, X2
	VPMOVZXBW X2, Y13
	MOVWLZX 82(DI), AX
	VMOVD AX, X12
	VCVTPH2PS X12, X12
	VBROADCASTSS X12, Y12
	VPAND X15, X3, X3
	VPMOVZXBD X3, Z17
	VCVTDQ2PS Z17, Z17
	F16BCAST(80, X5, Z5)
	K23X4W(16)
	Q2KX4TOK((SI), (R8), (R9), Z0, Z18, Y24)
	Q2KX4TOK((SI)(R11*1), (R8)(R14*1), (R9)(BX*1), Z1, Z19, Y25)
	Q2KX4TOK((SI)(R11*2), (R8)(R14*2), (R9)(BX*2), Z6, Z20, Y26)
	Q2KX4TOK((R13), (R10), (R12), Z7, Z21, Y27)
	KX4NEXT(84, q2kx4loop)
	MOVQ out+64(FP), DX
	X4KEND

// Q3KX4TOK does one token of dotQ3KVNNIx4 as dotQ3KVNNI's loop does: the
// lanes start from -bsum (Z7), the chunks go to A0 and A1.
#define Q3KX4TOK(XA, DA, BA, A0, A1) \
	K23X4FAC(DA, Z26, Z27); \
	VPMOVSXWD BA, Z7; \
	VPXORD Z6, Z6, Z6; \
	VPSUBD Z7, Z6, Z7; \
	KVCHUNKIA(Z8, XA, Z7, Z28, Z4, Z28, A0, Z10, Z11); \
	KVCHUNKIA(Z9, 64 XA, Z7, Z29, Z4, Z29, A1, Z10, Z11); \
	KVCHUNKIA(Z22, 128 XA, Z7, Z30, Z4, Z30, A0, Z10, Z11); \
	KVCHUNKIA(Z23, 192 XA, Z7, Z31, Z4, Z31, A1, Z10, Z11)

// Q3KX4BIT adds 4 to the values of chunk C in W whose third bit is set
// (Z12 holds the hmask bytes twice, Z13 4 in every byte), as Q3KV.
#define Q3KX4BIT(W, C) \
	VPTESTMB kvq3bit<>+(64*C)(SB), Z12, K1; \
	VPADDB Z13, W, K1, W

// func dotQ3KVNNIx4(xq *int8, xd *float32, bsum *int16, w *byte, nb, xstride, dstride, bstride int, out *[4]float32)
TEXT ·dotQ3KVNNIx4(SB), NOSPLIT, $0-72
	X4KARGS
	K23X4SETUP
	MOVL $0x04040404, AX
	VPBROADCASTD AX, Z13

q3kx4loop:
	MOVL $0x20202020, AX
	VPBROADCASTD AX, X5
	KX4KEEP(Q3SCALES, X24, X25)
	VPMOVSXBD X6, Z26
	VCVTDQ2PS Z26, Z26
	F16BCAST(108, X5, Z27)
	VBROADCASTI64X4 (DI), Z12
	K23X4W(32)
	Q3KX4BIT(Z8, 0)
	Q3KX4BIT(Z9, 1)
	Q3KX4BIT(Z22, 2)
	Q3KX4BIT(Z23, 3)
	Q3KX4TOK((SI), (R8), (R9), Z0, Z18)
	Q3KX4TOK((SI)(R11*1), (R8)(R14*1), (R9)(BX*1), Z1, Z19)
	Q3KX4TOK((SI)(R11*2), (R8)(R14*2), (R9)(BX*2), Z2, Z20)
	Q3KX4TOK((R13), (R10), (R12), Z3, Z21)
	KX4NEXT(110, q3kx4loop)
	MOVQ out+64(FP), DX
	X4END
