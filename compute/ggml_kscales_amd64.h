// Shared by the AVX2 (ggml_amd64.s) and AVX-512 VNNI (ggml_vnni_amd64.s)
// K-quant dot products.

// K4SCALEBYTES decodes the twelve 6-bit scale/min bytes at 4(DI) of a
// Q4_K or Q5_K block (llama.cpp's utmp trick) into X2 as 16 bytes: scales
// 0-7, then mins 0-7. It clobbers AX, BX, DX, R11, R12, R13.
#define K4SCALEBYTES \
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
	VPINSRQ $1, R13, X2, X2

// Q3SCALES unpacks the sixteen 6-bit scales of a Q3_K block (at 96(DI))
// into X6 as signed bytes (minus 32; X5 holds 32 in every byte). It
// clobbers AX, BX, DX, R11, R12, R13.
#define Q3SCALES \
	MOVL 96(DI), AX \
	MOVL 100(DI), BX \
	MOVL 104(DI), DX \
	MOVL AX, R11 \
	ANDL $0x0f0f0f0f, R11 \
	MOVL DX, R12 \
	ANDL $0x03030303, R12 \
	SHLL $4, R12 \
	ORL  R12, R11 \
	MOVL BX, R13 \
	ANDL $0x0f0f0f0f, R13 \
	MOVL DX, R12 \
	SHRL $2, R12 \
	ANDL $0x03030303, R12 \
	SHLL $4, R12 \
	ORL  R12, R13 \
	SHLQ $32, R13 \
	ORQ  R13, R11 \
	SHRL $4, AX \
	ANDL $0x0f0f0f0f, AX \
	MOVL DX, R12 \
	SHRL $4, R12 \
	ANDL $0x03030303, R12 \
	SHLL $4, R12 \
	ORL  R12, AX \
	SHRL $4, BX \
	ANDL $0x0f0f0f0f, BX \
	SHRL $6, DX \
	ANDL $0x03030303, DX \
	SHLL $4, DX \
	ORL  DX, BX \
	SHLQ $32, BX \
	ORQ  BX, AX \
	VMOVQ R11, X6 \
	VPINSRQ $1, AX, X6, X6 \
	VPSUBB X5, X6, X6

// Q2KMINS adds a Q2_K block's mins term to Y1: the mins (high nibbles of
// the 16 scale bytes at (DI), NIB holding 0x0f bytes) times the
// activation sums per 16 columns at (R10), summed per 32 in int32, times
// xd_g (R8) and dmin (f16 at 82(DI)). X6 keeps the scale bytes; it
// clobbers AX, Y2, Y3 and Y12.
#define Q2KMINS(NIB) \
	VMOVDQU (DI), X6; \
	VPSRLW $4, X6, X2; \
	VPAND NIB, X2, X2; \
	VPMOVZXBW X2, Y2; \
	VPMADDWD (R10), Y2, Y3; \
	VCVTDQ2PS Y3, Y3; \
	VMULPS (R8), Y3, Y3; \
	MOVWLZX 82(DI), AX; \
	VMOVD AX, X12; \
	VCVTPH2PS X12, X12; \
	VBROADCASTSS X12, Y12; \
	VFMADD231PS Y3, Y12, Y1

// WPF is how far ahead (bytes) the one-token Q4_K, Q5_K, Q6_K and Q8_0
// dot products prefetch the weights at DI. A matrix's rows lie end to end, so
// the prefetch runs on into the next rows, which the next calls read: the
// loops alone keep too few cache misses in flight to reach the memory's
// bandwidth. BenchmarkDecodeVsStreamGGUF (Zen 5, one thread, by CPU
// time, fraction of the read-sum probe, 2 rounds), no prefetch -> 4096,
// 8192, 16384 bytes: avx2 Q4_K_M layer 0.62-0.63 -> 0.66-0.68, 0.65-0.68,
// 0.65-0.67; Q8_0 0.74-0.76 -> 0.84-0.88, 0.94-0.96, 0.94-0.97; avx512
// Q4_K_M 0.73-0.75 -> 0.64-0.78, 0.82-0.87, 0.80-0.81; Q8_0 0.83-0.85 ->
// 0.91-0.96, 0.95-0.99, 0.92-0.96. At 3 tokens (the same row three
// times) it helps too: avx2 0.20 -> 0.25, 0.24-0.26 -> 0.35-0.36; avx512
// 0.25-0.26 -> 0.32, 0.30 -> 0.48-0.50. WPF2, WPF3 and WPF4 cover 2, 3
// and 4 cache lines, for loops that step 65-128, 129-192 and 193-256
// bytes.
#define WPF 8192
#define WPF2 \
	PREFETCHT0 WPF(DI); \
	PREFETCHT0 (WPF+64)(DI)
#define WPF3 \
	WPF2; \
	PREFETCHT0 (WPF+128)(DI)
#define WPF4 \
	WPF3; \
	PREFETCHT0 (WPF+192)(DI)
