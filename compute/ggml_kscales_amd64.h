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
