//go:build amd64 && !purego

// Packing of Q8_0 and Q4_0 weights into the VNNI lines of the integer GEMM
// (see packQPanel in gemm_int8.go): one gather per line takes the 4-byte
// group g of 16 rows (index vector Z0 = row·stride for rows 0-15, Z1 for
// rows 16-31), and VPDPBUSD with bytes of 1 sums each row's block, from
// which the offsets -128·Σw follow.

#include "textflag.h"

DATA packIota<>+0(SB)/4, $0
DATA packIota<>+4(SB)/4, $1
DATA packIota<>+8(SB)/4, $2
DATA packIota<>+12(SB)/4, $3
DATA packIota<>+16(SB)/4, $4
DATA packIota<>+20(SB)/4, $5
DATA packIota<>+24(SB)/4, $6
DATA packIota<>+28(SB)/4, $7
DATA packIota<>+32(SB)/4, $8
DATA packIota<>+36(SB)/4, $9
DATA packIota<>+40(SB)/4, $10
DATA packIota<>+44(SB)/4, $11
DATA packIota<>+48(SB)/4, $12
DATA packIota<>+52(SB)/4, $13
DATA packIota<>+56(SB)/4, $14
DATA packIota<>+60(SB)/4, $15
GLOBL packIota<>(SB), RODATA, $64

// PACKSETUP loads the arguments (SI src, CX nbk, DI dst, R9 off, R12 step), the row
// index vectors Z0 (rows 0-15) and Z1 (rows 16-31), Z30 = bytes of 1 and
// R11 = 0xffff for the gather masks.
#define PACKSETUP \
	MOVQ src+0(FP), SI; \
	MOVQ stride+8(FP), AX; \
	MOVQ step+16(FP), R12; \
	MOVQ nbk+24(FP), CX; \
	MOVQ dst+32(FP), DI; \
	MOVQ off+40(FP), R9; \
	VPBROADCASTD AX, Z2; \
	VPMULLD packIota<>(SB), Z2, Z0; \
	SHLQ $4, AX; \
	VPBROADCASTD AX, Z3; \
	VPADDD Z3, Z0, Z1; \
	MOVL $0x01010101, AX; \
	VPBROADCASTD AX, Z30; \
	MOVL $0xffff, R11

// GATHER sets Z to the 4 bytes at OFF(SI) of the 16 rows of IDX.
#define GATHER(OFF, IDX, Z) \
	KMOVW R11, K1; \
	VPGATHERDD OFF(SI)(IDX*1), K1, Z

// PUT stores the line Z at OFF(DI) and adds its rows' byte sums to S.
#define PUT(Z, OFF, S) \
	VMOVDQU32 Z, OFF(DI); \
	VPDPBUSD Z, Z30, S

// OFFSETS stores -128 times the row sums Z20, Z21 at (R9) and zeroes them.
#define OFFSETS \
	VPSLLD $7, Z20, Z20; \
	VPSLLD $7, Z21, Z21; \
	VPXORD Z22, Z22, Z22; \
	VPSUBD Z20, Z22, Z20; \
	VPSUBD Z21, Z22, Z21; \
	VMOVDQU32 Z20, (R9); \
	VMOVDQU32 Z21, 64(R9); \
	VPXORD Z20, Z20, Z20; \
	VPXORD Z21, Z21, Z21

// Q8G packs group G (byte offset 4G) of a Q8_0 block into lines at 128G.
#define Q8G(G, ZA, ZB) \
	GATHER(4*G, Z0, ZA); \
	GATHER(4*G, Z1, ZB); \
	PUT(ZA, 128*G, Z20); \
	PUT(ZB, 128*G+64, Z21)

// func packQ8LinesVNNI(src *byte, stride, step, nbk int, dst *byte, off *int32)
//
// Packs nbk Q8_0 blocks of 32 rows (row r's first block at src+r·stride,
// the next ones step bytes apart) into nbk·1024 bytes of lines at dst and
// nbk·32 offsets at off.
TEXT ·packQ8LinesVNNI(SB), NOSPLIT, $0-48
	PACKSETUP
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
q8block:
	Q8G(0, Z4, Z5)
	Q8G(1, Z6, Z7)
	Q8G(2, Z8, Z9)
	Q8G(3, Z10, Z11)
	Q8G(4, Z12, Z13)
	Q8G(5, Z14, Z15)
	Q8G(6, Z16, Z17)
	Q8G(7, Z18, Z19)
	OFFSETS
	ADDQ R12, SI
	ADDQ $1024, DI
	ADDQ $128, R9
	DECQ CX
	JNZ q8block
	VZEROUPPER
	RET

// Q4SIGNED splits the nibbles of Z into Z (low) and ZH (high) as int8
// values nibble-8 (Z29 = bytes 0x0f, Z28 = bytes 8).
#define Q4SIGNED(Z, ZH) \
	VPSRLW $4, Z, ZH; \
	VPANDD Z29, Z, Z; \
	VPANDD Z29, ZH, ZH; \
	VPSUBB Z28, Z, Z; \
	VPSUBB Z28, ZH, ZH

// Q4G packs bytes 4G..4G+3 of a Q4_0 block: values 4G.. (low nibbles)
// into lines at 128G, values 16+4G.. (high nibbles) at 128(G+4).
#define Q4G(G, ZA, ZB, ZC, ZD) \
	GATHER(4*G, Z0, ZA); \
	GATHER(4*G, Z1, ZB); \
	Q4SIGNED(ZA, ZC); \
	Q4SIGNED(ZB, ZD); \
	PUT(ZA, 128*G, Z20); \
	PUT(ZB, 128*G+64, Z21); \
	PUT(ZC, 128*G+512, Z20); \
	PUT(ZD, 128*G+576, Z21)

// func packQ4LinesVNNI(src *byte, stride, step, nbk int, dst *byte, off *int32)
//
// packQ8LinesVNNI for Q4_0 blocks (16 bytes of nibbles each).
TEXT ·packQ4LinesVNNI(SB), NOSPLIT, $0-48
	PACKSETUP
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z29
	MOVL $0x08080808, AX
	VPBROADCASTD AX, Z28
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
q4block:
	Q4G(0, Z4, Z5, Z6, Z7)
	Q4G(1, Z8, Z9, Z10, Z11)
	Q4G(2, Z12, Z13, Z14, Z15)
	Q4G(3, Z16, Z17, Z18, Z19)
	OFFSETS
	ADDQ R12, SI
	ADDQ $1024, DI
	ADDQ $128, R9
	DECQ CX
	JNZ q4block
	VZEROUPPER
	RET

// Lane k of the 48 dwords of a packed activation block holds token k%6's
// group k/6: actTok = k%6 and actGrp = 4·(k/6), 16 lanes per zmm.
DATA actTok<>+0(SB)/4, $0
DATA actTok<>+4(SB)/4, $1
DATA actTok<>+8(SB)/4, $2
DATA actTok<>+12(SB)/4, $3
DATA actTok<>+16(SB)/4, $4
DATA actTok<>+20(SB)/4, $5
DATA actTok<>+24(SB)/4, $0
DATA actTok<>+28(SB)/4, $1
DATA actTok<>+32(SB)/4, $2
DATA actTok<>+36(SB)/4, $3
DATA actTok<>+40(SB)/4, $4
DATA actTok<>+44(SB)/4, $5
DATA actTok<>+48(SB)/4, $0
DATA actTok<>+52(SB)/4, $1
DATA actTok<>+56(SB)/4, $2
DATA actTok<>+60(SB)/4, $3
DATA actTok<>+64(SB)/4, $4
DATA actTok<>+68(SB)/4, $5
DATA actTok<>+72(SB)/4, $0
DATA actTok<>+76(SB)/4, $1
DATA actTok<>+80(SB)/4, $2
DATA actTok<>+84(SB)/4, $3
DATA actTok<>+88(SB)/4, $4
DATA actTok<>+92(SB)/4, $5
DATA actTok<>+96(SB)/4, $0
DATA actTok<>+100(SB)/4, $1
DATA actTok<>+104(SB)/4, $2
DATA actTok<>+108(SB)/4, $3
DATA actTok<>+112(SB)/4, $4
DATA actTok<>+116(SB)/4, $5
DATA actTok<>+120(SB)/4, $0
DATA actTok<>+124(SB)/4, $1
DATA actTok<>+128(SB)/4, $2
DATA actTok<>+132(SB)/4, $3
DATA actTok<>+136(SB)/4, $4
DATA actTok<>+140(SB)/4, $5
DATA actTok<>+144(SB)/4, $0
DATA actTok<>+148(SB)/4, $1
DATA actTok<>+152(SB)/4, $2
DATA actTok<>+156(SB)/4, $3
DATA actTok<>+160(SB)/4, $4
DATA actTok<>+164(SB)/4, $5
DATA actTok<>+168(SB)/4, $0
DATA actTok<>+172(SB)/4, $1
DATA actTok<>+176(SB)/4, $2
DATA actTok<>+180(SB)/4, $3
DATA actTok<>+184(SB)/4, $4
DATA actTok<>+188(SB)/4, $5
GLOBL actTok<>(SB), RODATA, $192

// func packActVNNI(xq *int8, stride, nb int, dst *byte)
//
// Packs nb blocks of 6 tokens' quantized activations (token i's first
// block at xq+i·stride, stride < 2³¹/6) into the layout of packActPanel:
// per block, 8 groups × 6 tokens × 4 bytes, each byte x+128.
TEXT ·packActVNNI(SB), NOSPLIT, $0-32
	MOVQ xq+0(FP), SI
	MOVQ stride+8(FP), AX
	MOVQ nb+16(FP), CX
	MOVQ dst+24(FP), DI
	VPBROADCASTD AX, Z3
	VPMULLD actTok<>+0(SB), Z3, Z0
	VPMULLD actTok<>+64(SB), Z3, Z1
	VPMULLD actTok<>+128(SB), Z3, Z2
	// Add 4·(k/6): lanes 0-15 hold groups 0-2, 16-31 groups 2-5, 32-47
	// groups 5-7; packGrp holds 4·(k/6) for the 48 lanes.
	VPADDD packGrp<>+0(SB), Z0, Z0
	VPADDD packGrp<>+64(SB), Z1, Z1
	VPADDD packGrp<>+128(SB), Z2, Z2
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z30
	MOVL $0xffff, R11
actblock:
	KMOVW R11, K1
	VPGATHERDD (SI)(Z0*1), K1, Z4
	KMOVW R11, K2
	VPGATHERDD (SI)(Z1*1), K2, Z5
	KMOVW R11, K3
	VPGATHERDD (SI)(Z2*1), K3, Z6
	VPXORD Z30, Z4, Z4
	VPXORD Z30, Z5, Z5
	VPXORD Z30, Z6, Z6
	VMOVDQU32 Z4, (DI)
	VMOVDQU32 Z5, 64(DI)
	VMOVDQU32 Z6, 128(DI)
	ADDQ $32, SI
	ADDQ $192, DI
	DECQ CX
	JNZ actblock
	VZEROUPPER
	RET

DATA packGrp<>+0(SB)/4, $0
DATA packGrp<>+4(SB)/4, $0
DATA packGrp<>+8(SB)/4, $0
DATA packGrp<>+12(SB)/4, $0
DATA packGrp<>+16(SB)/4, $0
DATA packGrp<>+20(SB)/4, $0
DATA packGrp<>+24(SB)/4, $4
DATA packGrp<>+28(SB)/4, $4
DATA packGrp<>+32(SB)/4, $4
DATA packGrp<>+36(SB)/4, $4
DATA packGrp<>+40(SB)/4, $4
DATA packGrp<>+44(SB)/4, $4
DATA packGrp<>+48(SB)/4, $8
DATA packGrp<>+52(SB)/4, $8
DATA packGrp<>+56(SB)/4, $8
DATA packGrp<>+60(SB)/4, $8
DATA packGrp<>+64(SB)/4, $8
DATA packGrp<>+68(SB)/4, $8
DATA packGrp<>+72(SB)/4, $12
DATA packGrp<>+76(SB)/4, $12
DATA packGrp<>+80(SB)/4, $12
DATA packGrp<>+84(SB)/4, $12
DATA packGrp<>+88(SB)/4, $12
DATA packGrp<>+92(SB)/4, $12
DATA packGrp<>+96(SB)/4, $16
DATA packGrp<>+100(SB)/4, $16
DATA packGrp<>+104(SB)/4, $16
DATA packGrp<>+108(SB)/4, $16
DATA packGrp<>+112(SB)/4, $16
DATA packGrp<>+116(SB)/4, $16
DATA packGrp<>+120(SB)/4, $20
DATA packGrp<>+124(SB)/4, $20
DATA packGrp<>+128(SB)/4, $20
DATA packGrp<>+132(SB)/4, $20
DATA packGrp<>+136(SB)/4, $20
DATA packGrp<>+140(SB)/4, $20
DATA packGrp<>+144(SB)/4, $24
DATA packGrp<>+148(SB)/4, $24
DATA packGrp<>+152(SB)/4, $24
DATA packGrp<>+156(SB)/4, $24
DATA packGrp<>+160(SB)/4, $24
DATA packGrp<>+164(SB)/4, $24
DATA packGrp<>+168(SB)/4, $28
DATA packGrp<>+172(SB)/4, $28
DATA packGrp<>+176(SB)/4, $28
DATA packGrp<>+180(SB)/4, $28
DATA packGrp<>+184(SB)/4, $28
DATA packGrp<>+188(SB)/4, $28
GLOBL packGrp<>(SB), RODATA, $192

// ---- Packing by transposition, for rows whose blocks' values lie back to
// back (the split Q8_0 and Q4_0 layouts, step = 32 or 16 bytes): the
// gathers above cost ~20 cycles each on a Zen 5, 16 per 32 rows of a
// block. Here 16 rows × 64 bytes (2 Q8_0 blocks, 4 Q4_0) are loaded as 16
// zmm of 16 dwords and transposed (unpack dwords, unpack qwords, then two
// rounds of 128-bit lane shuffles: 64 shuffles), so that output c holds
// dword c of the 16 rows, which is the line of block c/8, group c%8 (Q8_0)
// or of the nibble bytes 4(c%4).. of block c/4 (Q4_0).

// TROWS loads 64 bytes of the 16 rows 4q+m at (Pq)+m·stride (AX = stride,
// R13 = 3·stride) into Z0-Z15.
#define TROWS(P0, P1, P2, P3) \
	TROW4(P0, Z0, Z1, Z2, Z3); \
	TROW4(P1, Z4, Z5, Z6, Z7); \
	TROW4(P2, Z8, Z9, Z10, Z11); \
	TROW4(P3, Z12, Z13, Z14, Z15)

#define TROW4(P, A, B, C, D) \
	VMOVDQU64 (P), A; \
	VMOVDQU64 (P)(AX*1), B; \
	VMOVDQU64 (P)(AX*2), C; \
	VMOVDQU64 (P)(R13*1), D

// TPAIR sets LO and HI to the unpacks OPLO, OPHI of A and B.
#define TPAIR(OPLO, OPHI, A, B, LO, HI) \
	OPLO B, A, LO; \
	OPHI B, A, HI

// TRANS16 transposes Z0-Z15 as 16×16 dwords and hands output c = 4l+m
// (dword c of the 16 rows) to OUT(Z, l, m, S8, S4, H), S8 and S4 being the
// sums of its block as a Q8_0 line (block c/8) and as Q4_0 nibbles (block
// c/4). Unpacking dwords and then qwords of row pairs leaves, for m = 0-3,
// V_q (q = 0-3) holding in 128-bit lane l rows 4q..4q+3 of dword 4l+m
// (in the registers TLANES is given); two rounds of lane shuffles
// (TLANES) make the outputs. The registers rotate through the two spare
// ones, Z16 and Z17.
#define TRANS16(OUT, H) \
	TPAIR(VPUNPCKLDQ, VPUNPCKHDQ, Z0, Z1, Z16, Z17); \
	TPAIR(VPUNPCKLDQ, VPUNPCKHDQ, Z2, Z3, Z0, Z1); \
	TPAIR(VPUNPCKLDQ, VPUNPCKHDQ, Z4, Z5, Z2, Z3); \
	TPAIR(VPUNPCKLDQ, VPUNPCKHDQ, Z6, Z7, Z4, Z5); \
	TPAIR(VPUNPCKLDQ, VPUNPCKHDQ, Z8, Z9, Z6, Z7); \
	TPAIR(VPUNPCKLDQ, VPUNPCKHDQ, Z10, Z11, Z8, Z9); \
	TPAIR(VPUNPCKLDQ, VPUNPCKHDQ, Z12, Z13, Z10, Z11); \
	TPAIR(VPUNPCKLDQ, VPUNPCKHDQ, Z14, Z15, Z12, Z13); \
	TPAIR(VPUNPCKLQDQ, VPUNPCKHQDQ, Z16, Z0, Z14, Z15); \
	TPAIR(VPUNPCKLQDQ, VPUNPCKHQDQ, Z17, Z1, Z16, Z0); \
	TPAIR(VPUNPCKLQDQ, VPUNPCKHQDQ, Z2, Z4, Z17, Z1); \
	TPAIR(VPUNPCKLQDQ, VPUNPCKHQDQ, Z3, Z5, Z2, Z4); \
	TPAIR(VPUNPCKLQDQ, VPUNPCKHQDQ, Z6, Z8, Z3, Z5); \
	TPAIR(VPUNPCKLQDQ, VPUNPCKHQDQ, Z7, Z9, Z6, Z8); \
	TPAIR(VPUNPCKLQDQ, VPUNPCKHQDQ, Z10, Z12, Z7, Z9); \
	TPAIR(VPUNPCKLQDQ, VPUNPCKHQDQ, Z11, Z13, Z10, Z12); \
	TLANES(0, Z14, Z17, Z3, Z7, Z11, Z13, OUT, H); \
	TLANES(1, Z15, Z1, Z5, Z9, Z11, Z13, OUT, H); \
	TLANES(2, Z16, Z2, Z6, Z10, Z11, Z13, OUT, H); \
	TLANES(3, Z0, Z4, Z8, Z12, Z11, Z13, OUT, H)

// TLANES makes the 4 outputs 4l+m (l = 0-3) from V0-V3, whose 128-bit
// lane l holds rows 4q..4q+3 of dword 4l+m: output l takes lane l of each
// of V0-V3. A and B are scratch.
#define TLANES(M, V0, V1, V2, V3, A, B, OUT, H) \
	VSHUFI32X4 $0x44, V1, V0, A; \
	VSHUFI32X4 $0xee, V1, V0, B; \
	VSHUFI32X4 $0x44, V3, V2, V0; \
	VSHUFI32X4 $0xee, V3, V2, V1; \
	VSHUFI32X4 $0x88, V0, A, V2; \
	VSHUFI32X4 $0xdd, V0, A, V3; \
	OUT(V2, 0, M, Z18, Z18, H); \
	OUT(V3, 1, M, Z18, Z19, H); \
	VSHUFI32X4 $0x88, V1, B, V2; \
	VSHUFI32X4 $0xdd, V1, B, V3; \
	OUT(V2, 2, M, Z19, Z20, H); \
	OUT(V3, 3, M, Z19, Z21, H)

// Q8OUT stores output 4L+M, the line of group (4L+M)%8 of block (4L+M)/8,
// of half H and adds its rows' byte sums to S (Z30 = bytes of 1).
#define Q8OUT(Z, L, M, S, S4, H) \
	VMOVDQU32 Z, (512*L+128*M+64*H)(DI); \
	VPDPBUSD Z, Z30, S

// Q4OUT splits output 4L+M, the nibble bytes 4M.. of block L, into the
// lines of values 4M.. (low nibbles) and 16+4M.. (high, Z22, 512 bytes
// on), signed, stores them and adds their sums to S.
#define Q4OUT(Z, L, M, S8, S, H) \
	Q4SIGNED(Z, Z22); \
	VMOVDQU32 Z, (1024*L+128*M+64*H)(DI); \
	VMOVDQU32 Z22, (1024*L+128*M+512+64*H)(DI); \
	VPDPBUSD Z, Z30, S; \
	VPDPBUSD Z22, Z30, S

// TOFF stores -128 times the row sums S at OFF(R9) and zeroes S (Z23 is
// zero).
#define TOFF(S, OFF) \
	VPSLLD $7, S, S; \
	VPSUBD S, Z23, S; \
	VMOVDQU32 S, OFF(R9); \
	VPXORD S, S, S

// TSETUP loads the arguments of the transposing packers: R8, R10, R11,
// R12 point at rows 0, 4, 8, 12 and BX, DX, R14, SI at rows 16, 20, 24,
// 28; AX = stride, R13 = 3·stride; CX nbk, DI dst, R9 off; Z30 bytes of
// 1, Z23 and the sums Z18-Z21 zero.
#define TSETUP \
	MOVQ src+0(FP), R8; \
	MOVQ stride+8(FP), AX; \
	MOVQ nbk+16(FP), CX; \
	MOVQ dst+24(FP), DI; \
	MOVQ off+32(FP), R9; \
	LEAQ (AX)(AX*2), R13; \
	LEAQ (R8)(AX*4), R10; \
	LEAQ (R10)(AX*4), R11; \
	LEAQ (R11)(AX*4), R12; \
	LEAQ (R12)(AX*4), BX; \
	LEAQ (BX)(AX*4), DX; \
	LEAQ (DX)(AX*4), R14; \
	LEAQ (R14)(AX*4), SI; \
	MOVL $0x01010101, R15; \
	VPBROADCASTD R15, Z30; \
	VPXORD Z23, Z23, Z23; \
	VPXORD Z18, Z18, Z18; \
	VPXORD Z19, Z19, Z19; \
	VPXORD Z20, Z20, Z20; \
	VPXORD Z21, Z21, Z21

// TNEXT moves the 8 row pointers 64 bytes on.
#define TNEXT \
	ADDQ $64, R8; \
	ADDQ $64, R10; \
	ADDQ $64, R11; \
	ADDQ $64, R12; \
	ADDQ $64, BX; \
	ADDQ $64, DX; \
	ADDQ $64, R14; \
	ADDQ $64, SI

// func packQ8LinesT(src *byte, stride, nbk int, dst *byte, off *int32)
//
// packQ8LinesVNNI for rows of back-to-back Q8_0 values (step 32), nbk
// even.
TEXT ·packQ8LinesT(SB), NOSPLIT, $0-40
	TSETUP
	SHRQ $1, CX
q8tchunk:
	TROWS(R8, R10, R11, R12)
	TRANS16(Q8OUT, 0)
	TOFF(Z18, 0)
	TOFF(Z19, 128)
	TROWS(BX, DX, R14, SI)
	TRANS16(Q8OUT, 1)
	TOFF(Z18, 64)
	TOFF(Z19, 192)
	TNEXT
	ADDQ $2048, DI
	ADDQ $256, R9
	DECQ CX
	JNZ q8tchunk
	VZEROUPPER
	RET

// func packQ4LinesT(src *byte, stride, nbk int, dst *byte, off *int32)
//
// packQ4LinesVNNI for rows of back-to-back Q4_0 nibbles (step 16), nbk a
// multiple of 4.
TEXT ·packQ4LinesT(SB), NOSPLIT, $0-40
	TSETUP
	MOVL $0x0f0f0f0f, R15
	VPBROADCASTD R15, Z29
	MOVL $0x08080808, R15
	VPBROADCASTD R15, Z28
	SHRQ $2, CX
q4tchunk:
	TROWS(R8, R10, R11, R12)
	TRANS16(Q4OUT, 0)
	TOFF(Z18, 0)
	TOFF(Z19, 128)
	TOFF(Z20, 256)
	TOFF(Z21, 384)
	TROWS(BX, DX, R14, SI)
	TRANS16(Q4OUT, 1)
	TOFF(Z18, 64)
	TOFF(Z19, 192)
	TOFF(Z20, 320)
	TOFF(Z21, 448)
	TNEXT
	ADDQ $4096, DI
	ADDQ $512, R9
	DECQ CX
	JNZ q4tchunk
	VZEROUPPER
	RET
