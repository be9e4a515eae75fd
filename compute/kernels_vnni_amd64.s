//go:build amd64 && !purego

// AVX-512 VNNI integer dot products for Q8_0 and Q4_0 weights (the avx512
// kernel set, when the CPU has AVX512_VNNI).
//
// VPDPBUSD multiplies unsigned bytes by signed bytes, four products per
// int32 lane. The activations (quantQ8) are signed, so the weights take the
// unsigned side:
//   - Q8_0: |w|, against sign(w)·x (VPMOVB2M takes w's signs as a mask,
//     under which VPSUBB negates x; x is in [-127, 127], so that cannot
//     overflow), and |w|·sign(w)·x = w·x: each int32 lane is exactly its 4
//     columns' Σ w·x;
//   - Q4_0: the raw nibbles q = w+8, and Σ q·x = Σ w·x + 8·Σ x. The offset
//     is removed exactly, in integers: the int32 lanes start from minus
//     their share of it (xs[b] = 8·Σ x, so -xs[b]/4 over the 4 lanes of a
//     block). Each lane still carries its share of 8·Σ x in f32 until the
//     lanes are summed: up to 15·Σ|x| over its 8 columns plus 2·|Σ x| of
//     its block, where the exact sum is at most 8·Σ|x|, a far smaller
//     excess than Q8_0's offset of 128 gave. (Taking |w| and sign(w)·x as
//     for Q8_0 made the 4-token kernel 10-15% slower.)
// Each lane's sum is converted and scaled by f16(wd[b])·xd[b].
//
// Every routine runs on a multiple of 4 blocks, 8 at a time and then a last
// 4 (the Go wrappers in kernels_vnni_amd64.go finish the other blocks). A 64-byte chunk of int32 lanes
// holds 2 Q8_0 blocks (lanes 0-7, 8-15) or 4 Q4_0 blocks (lanes 4b..4b+3);
// the index vectors vnniQ8idx/vnniQ4idx send each lane its block's scale and
// offset out of the 8 per group.
//
// Q4_0 activations are in the layout of permQ4VNNI: within each group of 4
// blocks A-D, A[0:16] B[0:16] C[0:16] D[0:16] A[16:32] ... D[16:32], which
// lines up with the low and high nibbles of one 64-byte load of A-D's
// weights.

#include "textflag.h"

// ZHSUM leaves the sum of the 16 lanes of Z in the low lane of X (Y, X are
// its lower halves); TY, TX are a scratch Y register and its low half.
#define ZHSUM(Z, Y, X, TY, TX) \
	VEXTRACTF64X4 $1, Z, TY; \
	VADDPS TY, Y, Y; \
	VEXTRACTF128 $1, Y, TX; \
	VADDPS TX, X, X; \
	VHADDPS X, X, X; \
	VHADDPS X, X, X

// VNNICONST loads the constants: Z31 zero, Z30 0x0f bytes, Z29 0x80 bytes,
// Y28 -0.25 (X28 its low half), Z16-Z19 the Q8_0 chunk indexes, Z20-Z21
// the Q4_0 ones.
#define VNNICONST \
	VPXORD Z31, Z31, Z31; \
	MOVL $0x80808080, AX; \
	VPBROADCASTD AX, Z29; \
	MOVL $0x0f0f0f0f, AX; \
	VPBROADCASTD AX, Z30; \
	MOVL $0xbe800000, AX; \
	VPBROADCASTD AX, Y28; \
	VMOVDQU32 vnniQ8idx<>+0(SB), Z16; \
	VMOVDQU32 vnniQ8idx<>+64(SB), Z17; \
	VMOVDQU32 vnniQ8idx<>+128(SB), Z18; \
	VMOVDQU32 vnniQ8idx<>+192(SB), Z19; \
	VMOVDQU32 vnniQ4idx<>+0(SB), Z20; \
	VMOVDQU32 vnniQ4idx<>+64(SB), Z21

// SCALES sets Y to the combined scales f16(WD)·XD (8 in a Y register, 4 in
// an X one).
#define SCALES(WD, XD, Y) \
	VCVTPH2PS WD, Y; \
	VMULPS XD, Y, Y

// OFFS sets Y to the per-lane offsets XS·F (F = Y28 for Q4_0) as int32.
#define OFFS(XS, F, Y) \
	VMULPS XS, F, Y; \
	VCVTPS2DQ Y, Y

// BLKSCALE converts the int32 block sums in ACCI to float and adds them,
// times the scales SC permuted by IDX, to ACC. Z4 is scratch.
#define BLKSCALE(ACCI, SC, IDX, ACC) \
	VCVTDQ2PS ACCI, ACCI; \
	VPERMPS SC, IDX, Z4; \
	VFMADD231PS ACCI, Z4, ACC

// WSIGN loads 64 Q8_0 weight bytes from W into Z as |w|, their signs
// (w < 0) into K.
#define WSIGN(W, Z, K) \
	VMOVDQU64 W, Z; \
	VPMOVB2M Z, K; \
	VPABSB Z, Z

// SGNDOT sets the int32 lanes ACCI to the dot products of the |w| bytes in
// WA with the activations X (memory or a register) negated where K is set
// (T gets them; Z31 is zero).
#define SGNDOT(WA, K, X, T, ACCI) \
	VMOVDQU64 X, T; \
	VPSUBB T, Z31, K, T; \
	VPXORD ACCI, ACCI, ACCI; \
	VPDPBUSD T, WA, ACCI

// Q8CHUNK: 2 Q8_0 blocks of weights at W times the activations at X,
// scales from SC.
#define Q8CHUNK(W, X, SC, IDX, ACC) \
	WSIGN(W, Z3, K1); \
	SGNDOT(Z3, K1, X, Z2, Z5); \
	BLKSCALE(Z5, SC, IDX, ACC)

// Q4SPLIT loads 4 Q4_0 blocks of weights at W: low nibbles into Z3, high
// into Z5.
#define Q4SPLIT(W) \
	VMOVDQU64 W, Z3; \
	VPSRLW $4, Z3, Z5; \
	VPANDD Z30, Z3, Z3; \
	VPANDD Z30, Z5, Z5

// Q4MUL: the split weights in Z3, Z5 times the activations at XA (low
// nibbles' columns) and XB (high), offsets from OF, scales from SC.
#define Q4MUL(XA, XB, OF, SC, IDX, ACC) \
	VPERMD OF, IDX, Z2; \
	VPDPBUSD XA, Z3, Z2; \
	VPDPBUSD XB, Z5, Z2; \
	BLKSCALE(Z2, SC, IDX, ACC)

// STORE4 reduces the accumulators Z24-Z27 and stores them at out[0:4].
// (Z24-Z27 need EVEX, which VHADDPS lacks, so each goes through Z0.)
#define STORE4 \
	MOVQ out+56(FP), DX; \
	VMOVAPS Z24, Z0; \
	ZHSUM(Z0, Y0, X0, Y1, X1); \
	VMOVSS X0, 0(DX); \
	VMOVAPS Z25, Z0; \
	ZHSUM(Z0, Y0, X0, Y1, X1); \
	VMOVSS X0, 4(DX); \
	VMOVAPS Z26, Z0; \
	ZHSUM(Z0, Y0, X0, Y1, X1); \
	VMOVSS X0, 8(DX); \
	VMOVAPS Z27, Z0; \
	ZHSUM(Z0, Y0, X0, Y1, X1); \
	VMOVSS X0, 12(DX)

#define ZERO4 \
	VPXORD Z24, Z24, Z24; \
	VPXORD Z25, Z25, Z25; \
	VPXORD Z26, Z26, Z26; \
	VPXORD Z27, Z27, Z27

// X4ARGS loads the arguments of the 4-token routines: SI xq, R8 xd, R10
// xs, CX n, DI wq, R9 wd; R11 = 32·nb (bytes between tokens' xq), R13 =
// 3·R11, R12 = 4·nb (bytes between tokens' xd, xs), BX = 3·R12.
#define X4ARGS \
	MOVQ xq+0(FP), SI; \
	MOVQ xd+8(FP), R8; \
	MOVQ xs+16(FP), R10; \
	MOVQ nb+24(FP), AX; \
	MOVQ n+32(FP), CX; \
	MOVQ wq+40(FP), DI; \
	MOVQ wd+48(FP), R9; \
	MOVQ AX, R11; \
	SHLQ $5, R11; \
	LEAQ (R11)(R11*2), R13; \
	MOVQ AX, R12; \
	SHLQ $2, R12; \
	LEAQ (R12)(R12*2), BX

// XDMUL4 sets A0-A3 to the weight scales in T times the 4 tokens' xd.
#define XDMUL4(T, A0, A1, A2, A3) \
	VMULPS (R8), T, A0; \
	VMULPS (R8)(R12*1), T, A1; \
	VMULPS (R8)(R12*2), T, A2; \
	VMULPS (R8)(BX*1), T, A3

// X4SCALES sets Y8-Y11 to the 4 tokens' combined scales and Y12-Y15 to
// their offsets (factor F) for the next 8 blocks.
#define X4SCALES(F) \
	X4WSCALES(Y6, Y8, Y9, Y10, Y11); \
	OFFS((R10), F, Y12); \
	OFFS((R10)(R12*1), F, Y13); \
	OFFS((R10)(R12*2), F, Y14); \
	OFFS((R10)(BX*1), F, Y15)

// X4WSCALES sets A0-A3 to the 4 tokens' combined scales for the next 8
// blocks (Y registers) or 4 (X registers; T is scratch).
#define X4WSCALES(T, A0, A1, A2, A3) \
	VCVTPH2PS (R9), T; \
	XDMUL4(T, A0, A1, A2, A3)

// X4SCALES4 is X4SCALES for the last 4 blocks (X registers; the upper
// lanes become zero).
#define X4SCALES4(F) \
	X4WSCALES(X6, X8, X9, X10, X11); \
	OFFS((R10), F, X12); \
	OFFS((R10)(R12*1), F, X13); \
	OFFS((R10)(R12*2), F, X14); \
	OFFS((R10)(BX*1), F, X15)

// Q8X4CHUNK: one chunk of 2 weight blocks at OFF(DI), split into |w| and
// signs once, times the 4 tokens' activations.
#define Q8X4CHUNK(OFF, IDX) \
	WSIGN(OFF(DI), Z3, K1); \
	SGNDOT(Z3, K1, OFF(SI), Z2, Z0); \
	BLKSCALE(Z0, Z8, IDX, Z24); \
	SGNDOT(Z3, K1, OFF(SI)(R11*1), Z12, Z13); \
	BLKSCALE(Z13, Z9, IDX, Z25); \
	SGNDOT(Z3, K1, OFF(SI)(R11*2), Z2, Z0); \
	BLKSCALE(Z0, Z10, IDX, Z26); \
	SGNDOT(Z3, K1, OFF(SI)(R13*1), Z12, Z13); \
	BLKSCALE(Z13, Z11, IDX, Z27)

// Q4X4CHUNK: one chunk of 4 weight blocks at WOFF(DI), split once, times
// the 4 tokens' activations at XOFF.
#define Q4X4CHUNK(WOFF, XOFF, IDX) \
	Q4SPLIT(WOFF(DI)); \
	Q4MUL(XOFF(SI), XOFF+64(SI), Z12, Z8, IDX, Z24); \
	Q4MUL(XOFF(SI)(R11*1), XOFF+64(SI)(R11*1), Z13, Z9, IDX, Z25); \
	Q4MUL(XOFF(SI)(R11*2), XOFF+64(SI)(R11*2), Z14, Z10, IDX, Z26); \
	Q4MUL(XOFF(SI)(R13*1), XOFF+64(SI)(R13*1), Z15, Z11, IDX, Z27)

// R4ARGS loads the arguments of the 4-row routines: SI xq, R8 xd, R10 xs,
// CX n, DI wq, R9 wd; R11 = WB·nb (bytes between weight rows' wq), R13 =
// 3·R11, R12 = 2·nb (bytes between their wd), BX = 3·R12.
#define R4ARGS(WSHIFT) \
	MOVQ xq+0(FP), SI; \
	MOVQ xd+8(FP), R8; \
	MOVQ xs+16(FP), R10; \
	MOVQ nb+24(FP), AX; \
	MOVQ n+32(FP), CX; \
	MOVQ wq+40(FP), DI; \
	MOVQ wd+48(FP), R9; \
	MOVQ AX, R11; \
	SHLQ $WSHIFT, R11; \
	LEAQ (R11)(R11*2), R13; \
	MOVQ AX, R12; \
	SHLQ $1, R12; \
	LEAQ (R12)(R12*2), BX

// R4SCALES sets Y8-Y11 to the 4 rows' combined scales and Y7 to the
// activations' offsets (factor F) for the next 8 blocks.
#define R4SCALES(F) \
	R4WSCALES(Y5, Y8, Y9, Y10, Y11); \
	OFFS((R10), F, Y7)

// R4SCALES4 is R4SCALES for the last 4 blocks (X registers).
#define R4SCALES4(F) \
	R4WSCALES(X5, X8, X9, X10, X11); \
	OFFS((R10), F, X7)

// R4WSCALES sets A0-A3 to the 4 rows' combined scales for the next 8
// blocks (Y registers) or 4 (X registers; T is scratch).
#define R4WSCALES(T, A0, A1, A2, A3) \
	VMOVUPS (R8), T; \
	SCALES((R9), T, A0); \
	SCALES((R9)(R12*1), T, A1); \
	SCALES((R9)(R12*2), T, A2); \
	SCALES((R9)(BX*1), T, A3)

// Q8ROW: one weight row's 2 blocks at W times the activations in Z12.
#define Q8ROW(W, SC, IDX, ACC) \
	WSIGN(W, Z3, K1); \
	SGNDOT(Z3, K1, Z12, Z2, Z5); \
	BLKSCALE(Z5, SC, IDX, ACC)

#define Q8R4CHUNK(OFF, IDX) \
	VMOVDQU64 OFF(SI), Z12; \
	Q8ROW(OFF(DI), Z8, IDX, Z24); \
	Q8ROW(OFF(DI)(R11*1), Z9, IDX, Z25); \
	Q8ROW(OFF(DI)(R11*2), Z10, IDX, Z26); \
	Q8ROW(OFF(DI)(R13*1), Z11, IDX, Z27)

// Q4ROW: one weight row's 4 blocks at W times the activations in Z12
// (low nibbles' columns) and Z14 (high), starting from the offsets in Z13.
#define Q4ROW(W, SC, IDX, ACC) \
	Q4SPLIT(W); \
	VMOVDQA64 Z13, Z2; \
	VPDPBUSD Z12, Z3, Z2; \
	VPDPBUSD Z14, Z5, Z2; \
	BLKSCALE(Z2, SC, IDX, ACC)

#define Q4R4CHUNK(WOFF, XOFF, IDX) \
	VMOVDQU64 XOFF(SI), Z12; \
	VMOVDQU64 XOFF+64(SI), Z14; \
	VPERMD Z7, IDX, Z13; \
	Q4ROW(WOFF(DI), Z8, IDX, Z24); \
	Q4ROW(WOFF(DI)(R11*1), Z9, IDX, Z25); \
	Q4ROW(WOFF(DI)(R11*2), Z10, IDX, Z26); \
	Q4ROW(WOFF(DI)(R13*1), Z11, IDX, Z27)

// RARGS loads the arguments: R11 xq, R12 xd, R13 xs, R15 nb, DI wq, R9
// wd, DX out, BX rows, R14 pf.
#define RARGS \
	MOVQ xq+0(FP), R11; \
	MOVQ xd+8(FP), R12; \
	MOVQ xs+16(FP), R13; \
	MOVQ nb+24(FP), R15; \
	MOVQ wq+32(FP), DI; \
	MOVQ wd+40(FP), R9; \
	MOVQ out+48(FP), DX; \
	MOVQ rows+56(FP), BX; \
	MOVQ pf+64(FP), R14

// RROW starts a row: the activation pointers back to the start, the
// accumulators to zero.
#define RROW \
	MOVQ R11, SI; \
	MOVQ R12, R8; \
	MOVQ R13, R10; \
	MOVQ R15, CX; \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1

// func dotQ8x4VNNI(xq *int8, xd, xs *float32, nb, n int, wq *byte, wd *uint16, out *float32)
//
// dotQ8VNNI over the first n blocks (a positive multiple of 4) for 4
// tokens at once: token t's activations start at xq[t*nb*32], xd[t*nb],
// xs[t*nb]; out[t] receives its dot product with the weight row.
TEXT ·dotQ8x4VNNI(SB), NOSPLIT, $0-64
	X4ARGS
	VNNICONST
	ZERO4

	CMPQ CX, $8
	JL   vq8x4four

vq8x4loop:
	X4WSCALES(Y6, Y8, Y9, Y10, Y11)
	Q8X4CHUNK(0, Z16)
	Q8X4CHUNK(64, Z17)
	Q8X4CHUNK(128, Z18)
	Q8X4CHUNK(192, Z19)
	ADDQ $256, SI
	ADDQ $256, DI
	ADDQ $32, R8
	ADDQ $32, R10
	ADDQ $16, R9
	SUBQ $8, CX
	CMPQ CX, $8
	JGE  vq8x4loop

vq8x4four:
	TESTQ CX, CX
	JE    vq8x4done
	X4WSCALES(X6, X8, X9, X10, X11)
	Q8X4CHUNK(0, Z16)
	Q8X4CHUNK(64, Z17)

vq8x4done:

	STORE4
	VZEROUPPER
	RET

// func dotQ4x4VNNI(xq *int8, xd, xs *float32, nb, n int, wq *byte, wd *uint16, out *float32)
//
// dotQ4VNNI over the first n blocks (a positive multiple of 4) for 4
// tokens at once, laid out as for dotQ8x4VNNI.
TEXT ·dotQ4x4VNNI(SB), NOSPLIT, $0-64
	X4ARGS
	VNNICONST
	ZERO4

	CMPQ CX, $8
	JL   vq4x4four

vq4x4loop:
	X4SCALES(Y28)
	Q4X4CHUNK(0, 0, Z20)
	Q4X4CHUNK(64, 128, Z21)
	ADDQ $256, SI
	ADDQ $128, DI
	ADDQ $32, R8
	ADDQ $32, R10
	ADDQ $16, R9
	SUBQ $8, CX
	CMPQ CX, $8
	JGE  vq4x4loop

vq4x4four:
	TESTQ CX, CX
	JE    vq4x4done
	X4SCALES4(X28)
	Q4X4CHUNK(0, 0, Z20)

vq4x4done:

	STORE4
	VZEROUPPER
	RET

// func dotQ8r4VNNI(xq *int8, xd, xs *float32, nb, n int, wq *byte, wd *uint16, out *float32)
//
// dotQ8VNNI over the first n blocks (a positive multiple of 4) of one
// activation row and 4 weight rows (row i at wq[i*nb*32], wd[i*nb]); out[i]
// receives row i's result.
TEXT ·dotQ8r4VNNI(SB), NOSPLIT, $0-64
	R4ARGS(5)
	VNNICONST
	ZERO4

	CMPQ CX, $8
	JL   vq8r4four

vq8r4loop:
	R4WSCALES(Y5, Y8, Y9, Y10, Y11)
	Q8R4CHUNK(0, Z16)
	Q8R4CHUNK(64, Z17)
	Q8R4CHUNK(128, Z18)
	Q8R4CHUNK(192, Z19)
	ADDQ $256, SI
	ADDQ $256, DI
	ADDQ $32, R8
	ADDQ $32, R10
	ADDQ $16, R9
	SUBQ $8, CX
	CMPQ CX, $8
	JGE  vq8r4loop

vq8r4four:
	TESTQ CX, CX
	JE    vq8r4done
	R4WSCALES(X5, X8, X9, X10, X11)
	Q8R4CHUNK(0, Z16)
	Q8R4CHUNK(64, Z17)

vq8r4done:

	STORE4
	VZEROUPPER
	RET

// func dotQ4r4VNNI(xq *int8, xd, xs *float32, nb, n int, wq *byte, wd *uint16, out *float32)
//
// dotQ4VNNI over the first n blocks (a positive multiple of 4) of one
// activation row and 4 weight rows (row i at wq[i*nb*16], wd[i*nb]).
TEXT ·dotQ4r4VNNI(SB), NOSPLIT, $0-64
	R4ARGS(4)
	VNNICONST
	ZERO4

	CMPQ CX, $8
	JL   vq4r4four

vq4r4loop:
	R4SCALES(Y28)
	Q4R4CHUNK(0, 0, Z20)
	Q4R4CHUNK(64, 128, Z21)
	ADDQ $256, SI
	ADDQ $128, DI
	ADDQ $32, R8
	ADDQ $32, R10
	ADDQ $16, R9
	SUBQ $8, CX
	CMPQ CX, $8
	JGE  vq4r4loop

vq4r4four:
	TESTQ CX, CX
	JE    vq4r4done
	R4SCALES4(X28)
	Q4R4CHUNK(0, 0, Z20)

vq4r4done:

	STORE4
	VZEROUPPER
	RET

// The 2-row × 4-token tile (dotQ8x4r2VNNI). Against dotQ8x4VNNI run once
// per row, the two weight rows share each token's activation loads. Here
// the activations take VPDPBUSD's unsigned side, x+128 (x XOR 0x80, once
// per token for both rows), and the weights the signed one: each int32
// lane starts from -128·Σw over its own 4 columns (one VPDPBUSD of the
// 0x80 bytes against -w per row and chunk, shared by the 4 tokens), so
// that it is exactly its columns' Σ w·x. (Taking |w| and sign(w)·x, as the
// other Q8_0 kernels do, costs 2 masked negations per token here, which
// made the tile 10-18% slower.)
// Registers: Z0, Z1 the two rows' weights; Z28, Z30 their lanes' starts;
// Z6 a token's x+128; Z3, Z4 the int32 sums; Z2, Z5 scratch; Y8-Y11 (row
// 0) and Y12-Y15 (row 1) the combined scales; Z16-Z19 the chunk indexes;
// Z20-Z23 (row 0) and Z24-Z27 (row 1) the accumulators; Z29 0x80 bytes,
// Z31 zero (as set by VNNICONST; Z20, Z21, Z28 and Z30 are then reused).

// TSTART sets I to -128·Σw over each 4 columns of the weights W (Z2
// scratch).
#define TSTART(W, I) \
	VPSUBB W, Z31, Z2; \
	VPXORD I, I, I; \
	VPDPBUSD Z2, Z29, I

// T24SCALES loads the combined scales (A0-A3 row 0, B0-B3 row 1) of the
// next 8 blocks (Y registers) or 4 blocks (X registers). T is scratch.
#define T24SCALES(T, A0, A1, A2, A3, B0, B1, B2, B3) \
	VCVTPH2PS (R9), T; \
	XDMUL4(T, A0, A1, A2, A3); \
	VCVTPH2PS (R9)(DX*1), T; \
	XDMUL4(T, B0, B1, B2, B3)

// TSCALE converts the int32 sums in A, scales them by SC permuted by IDX
// and adds them to ACC.
#define TSCALE(A, SC, IDX, ACC) \
	VCVTDQ2PS A, A; \
	VPERMPS SC, IDX, Z5; \
	VFMADD231PS A, Z5, ACC

// TTOKEN: one token's activations at X (scales S0/S1 for the two rows)
// against the two rows' weights in Z0, Z1.
#define TTOKEN(X, IDX, S0, S1, ACC0, ACC1) \
	VPXORD X, Z29, Z6; \
	VMOVDQA64 Z28, Z3; \
	VMOVDQA64 Z30, Z4; \
	VPDPBUSD Z0, Z6, Z3; \
	VPDPBUSD Z1, Z6, Z4; \
	TSCALE(Z3, S0, IDX, ACC0); \
	TSCALE(Z4, S1, IDX, ACC1)

// TCHUNK: one chunk of 2 blocks at OFF of both rows (the second AX bytes
// on) against the 4 tokens.
#define TCHUNK(OFF, IDX) \
	VMOVDQU64 OFF(DI), Z0; \
	VMOVDQU64 OFF(DI)(AX*1), Z1; \
	TSTART(Z0, Z28); \
	TSTART(Z1, Z30); \
	TTOKEN(OFF(SI), IDX, Z8, Z12, Z20, Z24); \
	TTOKEN(OFF(SI)(R11*1), IDX, Z9, Z13, Z21, Z25); \
	TTOKEN(OFF(SI)(R11*2), IDX, Z10, Z14, Z22, Z26); \
	TTOKEN(OFF(SI)(R13*1), IDX, Z11, Z15, Z23, Z27)

#define TSTORE(ACC, OFF) \
	VMOVAPS ACC, Z0; \
	ZHSUM(Z0, Y0, X0, Y1, X1); \
	VMOVSS X0, OFF(DX)

// func dotQ8x4r2VNNI(xq *int8, xd, xs *float32, nb, n int, wq *byte, wd *uint16, out *float32)
//
// dotQ8x4VNNI for 2 weight rows at once: row i's weights start at
// wq[i*nb*32], wd[i*nb]; out[4*i+t] receives row i's dot product with token
// t, over the first n blocks (a positive multiple of 4).
TEXT ·dotQ8x4r2VNNI(SB), NOSPLIT, $0-64
	VNNICONST
	MOVQ xq+0(FP), SI
	MOVQ xd+8(FP), R8
	MOVQ xs+16(FP), R10
	MOVQ nb+24(FP), AX
	MOVQ n+32(FP), CX
	MOVQ wq+40(FP), DI
	MOVQ wd+48(FP), R9
	// R11 = 32·nb (between tokens' xq, and between the rows' wq: AX),
	// R13 = 3·R11; R12 = 4·nb (between tokens' xd, xs), BX = 3·R12; DX =
	// 2·nb (between the rows' wd).
	MOVQ AX, DX
	SHLQ $1, DX
	MOVQ AX, R12
	SHLQ $2, R12
	LEAQ (R12)(R12*2), BX
	SHLQ $5, AX
	MOVQ AX, R11
	LEAQ (R11)(R11*2), R13

	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27

	CMPQ CX, $8
	JL   tq8four

tq8loop:
	// Two weight streams a multiple of 4 KiB apart (rows of 4096
	// columns) defeat the hardware prefetch: without these the tile ran
	// 20% slower than dotQ8x4VNNI on weights streamed from DRAM.
	PREFETCHT0 1024(DI)
	PREFETCHT0 1088(DI)
	PREFETCHT0 1152(DI)
	PREFETCHT0 1216(DI)
	PREFETCHT0 1024(DI)(AX*1)
	PREFETCHT0 1088(DI)(AX*1)
	PREFETCHT0 1152(DI)(AX*1)
	PREFETCHT0 1216(DI)(AX*1)
	T24SCALES(Y6, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15)
	TCHUNK(0, Z16)
	TCHUNK(64, Z17)
	TCHUNK(128, Z18)
	TCHUNK(192, Z19)
	ADDQ $256, SI
	ADDQ $256, DI
	ADDQ $32, R8
	ADDQ $32, R10
	ADDQ $16, R9
	SUBQ $8, CX
	CMPQ CX, $8
	JGE  tq8loop

tq8four:
	TESTQ CX, CX
	JE    tq8done
	T24SCALES(X6, X8, X9, X10, X11, X12, X13, X14, X15)
	TCHUNK(0, Z16)
	TCHUNK(64, Z17)

tq8done:
	MOVQ out+56(FP), DX
	TSTORE(Z20, 0)
	TSTORE(Z21, 4)
	TSTORE(Z22, 8)
	TSTORE(Z23, 12)
	TSTORE(Z24, 16)
	TSTORE(Z25, 20)
	TSTORE(Z26, 24)
	TSTORE(Z27, 28)
	VZEROUPPER
	RET

// The one-row dot products, for decode (one token) and the tokens left
// over from the 4-token kernels: one activation row against a run of
// consecutive weight rows, so that decode makes one call per chunk of rows
// rather than one per 4096-column row. The weights are prefetched pf bytes
// ahead, across the row boundaries: without it these loops keep too few
// cache misses in flight to reach the memory's bandwidth (see
// rowsPrefetch).

// func dotQ8RowsVNNI(xq *int8, xd, xs *float32, nb int, wq *byte, wd *uint16, out *float32, rows, pf int)
//
// out[r] = the dot product of nb blocks (a positive multiple of 4) of the
// activations with weight row r < rows (rows nb blocks apart).
TEXT ·dotQ8RowsVNNI(SB), NOSPLIT, $0-72
	RARGS
	VNNICONST

q8rrow:
	RROW
	CMPQ CX, $8
	JL   q8rfour

q8rloop:
	PREFETCHT0 (DI)(R14*1)
	PREFETCHT0 64(DI)(R14*1)
	PREFETCHT0 128(DI)(R14*1)
	PREFETCHT0 192(DI)(R14*1)
	SCALES((R9), (R8), Y6)
	Q8CHUNK(0(DI), 0(SI), Z6, Z16, Z0)
	Q8CHUNK(64(DI), 64(SI), Z6, Z17, Z1)
	Q8CHUNK(128(DI), 128(SI), Z6, Z18, Z0)
	Q8CHUNK(192(DI), 192(SI), Z6, Z19, Z1)
	ADDQ $256, SI
	ADDQ $256, DI
	ADDQ $32, R8
	ADDQ $32, R10
	ADDQ $16, R9
	SUBQ $8, CX
	CMPQ CX, $8
	JGE  q8rloop

q8rfour:
	TESTQ CX, CX
	JE    q8rdone
	SCALES((R9), (R8), X6)
	Q8CHUNK(0(DI), 0(SI), Z6, Z16, Z0)
	Q8CHUNK(64(DI), 64(SI), Z6, Z17, Z1)
	ADDQ $128, DI
	ADDQ $8, R9

q8rdone:
	VADDPS Z1, Z0, Z0
	ZHSUM(Z0, Y0, X0, Y1, X1)
	VMOVSS X0, (DX)
	ADDQ $4, DX
	DECQ BX
	JNZ  q8rrow
	VZEROUPPER
	RET

// func dotQ4RowsVNNI(xq *int8, xd, xs *float32, nb int, wq *byte, wd *uint16, out *float32, rows, pf int)
//
// dotQ8RowsVNNI for Q4_0 weights, the activations in the permQ4VNNI
// layout.
TEXT ·dotQ4RowsVNNI(SB), NOSPLIT, $0-72
	RARGS
	VNNICONST

q4rrow:
	RROW
	CMPQ CX, $8
	JL   q4rfour

q4rloop:
	PREFETCHT0 (DI)(R14*1)
	PREFETCHT0 64(DI)(R14*1)
	SCALES((R9), (R8), Y6)
	OFFS((R10), Y28, Y7)
	Q4SPLIT(0(DI))
	Q4MUL(0(SI), 64(SI), Z7, Z6, Z20, Z0)
	Q4SPLIT(64(DI))
	Q4MUL(128(SI), 192(SI), Z7, Z6, Z21, Z1)
	ADDQ $256, SI
	ADDQ $128, DI
	ADDQ $32, R8
	ADDQ $32, R10
	ADDQ $16, R9
	SUBQ $8, CX
	CMPQ CX, $8
	JGE  q4rloop

q4rfour:
	TESTQ CX, CX
	JE    q4rdone
	SCALES((R9), (R8), X6)
	OFFS((R10), X28, X7)
	Q4SPLIT(0(DI))
	Q4MUL(0(SI), 64(SI), Z7, Z6, Z20, Z0)
	ADDQ $64, DI
	ADDQ $8, R9

q4rdone:
	VADDPS Z1, Z0, Z0
	ZHSUM(Z0, Y0, X0, Y1, X1)
	VMOVSS X0, (DX)
	ADDQ $4, DX
	DECQ BX
	JNZ  q4rrow
	VZEROUPPER
	RET

DATA vnniQ8idx<>+0(SB)/4, $0
DATA vnniQ8idx<>+4(SB)/4, $0
DATA vnniQ8idx<>+8(SB)/4, $0
DATA vnniQ8idx<>+12(SB)/4, $0
DATA vnniQ8idx<>+16(SB)/4, $0
DATA vnniQ8idx<>+20(SB)/4, $0
DATA vnniQ8idx<>+24(SB)/4, $0
DATA vnniQ8idx<>+28(SB)/4, $0
DATA vnniQ8idx<>+32(SB)/4, $1
DATA vnniQ8idx<>+36(SB)/4, $1
DATA vnniQ8idx<>+40(SB)/4, $1
DATA vnniQ8idx<>+44(SB)/4, $1
DATA vnniQ8idx<>+48(SB)/4, $1
DATA vnniQ8idx<>+52(SB)/4, $1
DATA vnniQ8idx<>+56(SB)/4, $1
DATA vnniQ8idx<>+60(SB)/4, $1
DATA vnniQ8idx<>+64(SB)/4, $2
DATA vnniQ8idx<>+68(SB)/4, $2
DATA vnniQ8idx<>+72(SB)/4, $2
DATA vnniQ8idx<>+76(SB)/4, $2
DATA vnniQ8idx<>+80(SB)/4, $2
DATA vnniQ8idx<>+84(SB)/4, $2
DATA vnniQ8idx<>+88(SB)/4, $2
DATA vnniQ8idx<>+92(SB)/4, $2
DATA vnniQ8idx<>+96(SB)/4, $3
DATA vnniQ8idx<>+100(SB)/4, $3
DATA vnniQ8idx<>+104(SB)/4, $3
DATA vnniQ8idx<>+108(SB)/4, $3
DATA vnniQ8idx<>+112(SB)/4, $3
DATA vnniQ8idx<>+116(SB)/4, $3
DATA vnniQ8idx<>+120(SB)/4, $3
DATA vnniQ8idx<>+124(SB)/4, $3
DATA vnniQ8idx<>+128(SB)/4, $4
DATA vnniQ8idx<>+132(SB)/4, $4
DATA vnniQ8idx<>+136(SB)/4, $4
DATA vnniQ8idx<>+140(SB)/4, $4
DATA vnniQ8idx<>+144(SB)/4, $4
DATA vnniQ8idx<>+148(SB)/4, $4
DATA vnniQ8idx<>+152(SB)/4, $4
DATA vnniQ8idx<>+156(SB)/4, $4
DATA vnniQ8idx<>+160(SB)/4, $5
DATA vnniQ8idx<>+164(SB)/4, $5
DATA vnniQ8idx<>+168(SB)/4, $5
DATA vnniQ8idx<>+172(SB)/4, $5
DATA vnniQ8idx<>+176(SB)/4, $5
DATA vnniQ8idx<>+180(SB)/4, $5
DATA vnniQ8idx<>+184(SB)/4, $5
DATA vnniQ8idx<>+188(SB)/4, $5
DATA vnniQ8idx<>+192(SB)/4, $6
DATA vnniQ8idx<>+196(SB)/4, $6
DATA vnniQ8idx<>+200(SB)/4, $6
DATA vnniQ8idx<>+204(SB)/4, $6
DATA vnniQ8idx<>+208(SB)/4, $6
DATA vnniQ8idx<>+212(SB)/4, $6
DATA vnniQ8idx<>+216(SB)/4, $6
DATA vnniQ8idx<>+220(SB)/4, $6
DATA vnniQ8idx<>+224(SB)/4, $7
DATA vnniQ8idx<>+228(SB)/4, $7
DATA vnniQ8idx<>+232(SB)/4, $7
DATA vnniQ8idx<>+236(SB)/4, $7
DATA vnniQ8idx<>+240(SB)/4, $7
DATA vnniQ8idx<>+244(SB)/4, $7
DATA vnniQ8idx<>+248(SB)/4, $7
DATA vnniQ8idx<>+252(SB)/4, $7
GLOBL vnniQ8idx<>(SB), RODATA|NOPTR, $256

DATA vnniQ4idx<>+0(SB)/4, $0
DATA vnniQ4idx<>+4(SB)/4, $0
DATA vnniQ4idx<>+8(SB)/4, $0
DATA vnniQ4idx<>+12(SB)/4, $0
DATA vnniQ4idx<>+16(SB)/4, $1
DATA vnniQ4idx<>+20(SB)/4, $1
DATA vnniQ4idx<>+24(SB)/4, $1
DATA vnniQ4idx<>+28(SB)/4, $1
DATA vnniQ4idx<>+32(SB)/4, $2
DATA vnniQ4idx<>+36(SB)/4, $2
DATA vnniQ4idx<>+40(SB)/4, $2
DATA vnniQ4idx<>+44(SB)/4, $2
DATA vnniQ4idx<>+48(SB)/4, $3
DATA vnniQ4idx<>+52(SB)/4, $3
DATA vnniQ4idx<>+56(SB)/4, $3
DATA vnniQ4idx<>+60(SB)/4, $3
DATA vnniQ4idx<>+64(SB)/4, $4
DATA vnniQ4idx<>+68(SB)/4, $4
DATA vnniQ4idx<>+72(SB)/4, $4
DATA vnniQ4idx<>+76(SB)/4, $4
DATA vnniQ4idx<>+80(SB)/4, $5
DATA vnniQ4idx<>+84(SB)/4, $5
DATA vnniQ4idx<>+88(SB)/4, $5
DATA vnniQ4idx<>+92(SB)/4, $5
DATA vnniQ4idx<>+96(SB)/4, $6
DATA vnniQ4idx<>+100(SB)/4, $6
DATA vnniQ4idx<>+104(SB)/4, $6
DATA vnniQ4idx<>+108(SB)/4, $6
DATA vnniQ4idx<>+112(SB)/4, $7
DATA vnniQ4idx<>+116(SB)/4, $7
DATA vnniQ4idx<>+120(SB)/4, $7
DATA vnniQ4idx<>+124(SB)/4, $7
GLOBL vnniQ4idx<>(SB), RODATA|NOPTR, $128
