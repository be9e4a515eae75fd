// AMX instructions as bytes: the Go assembler has no AMX mnemonics.
//
// Every macro takes tile numbers (0–7) and general-purpose register
// numbers as the hardware encodes them (AX 0, CX 1, DX 2, BX 3, SI 6, DI 7,
// R8–R15 8–15), and emits the VEX.128.0F38.W0 form given in Intel's SDM:
//
//   C4                  three-byte VEX escape
//   R̄X̄B̄ 00010          inverted REX bits (R: ModRM.reg, always a tile <8;
//                       X: SIB index; B: SIB base), map 0F38
//   W vvvv̄ L pp         W=0, inverted vvvv (the second source tile of the
//                       dot products, else 1111), L=0, pp = the implied
//                       prefix (00 none, 10 F3, 11 F2)
//   opcode, ModRM [, SIB [, displacement]]
//
// Memory operands are base + index·1 (+ displacement); the SIB byte is
// required for TILELOADD/TILESTORED. Avoid SP/BP/R12/R13 as a base or an
// index with these macros (they change the ModRM/SIB meaning). The tests
// (amx_amd64_test.go) disassemble the compiled kernels with GNU objdump
// and assemble the same instructions with GNU as, comparing bytes and
// mnemonics with amxInst.encode/gnu in amx.go.

#define AMX_REG_AX 0
#define AMX_REG_CX 1
#define AMX_REG_DX 2
#define AMX_REG_BX 3
#define AMX_REG_SI 6
#define AMX_REG_DI 7
#define AMX_REG_R8 8
#define AMX_REG_R9 9
#define AMX_REG_R10 10
#define AMX_REG_R11 11

// VEX byte 1 for a SIB operand with index x and base b: 0xE2 with X̄ (bit 6)
// cleared for x >= 8 and B̄ (bit 5) cleared for b >= 8.
#define AMX_VEX1(x, b) BYTE $(0xE2 ^ (((x)>>3)<<6) ^ (((b)>>3)<<5))

// SIB byte: scale 1, index x, base b.
#define AMX_SIB(x, b) BYTE $((((x)&7)<<3) | ((b)&7))

// LDTILECFG (base): VEX.128.NP.0F38.W0 49 /0, mod=00. Loads the 64-byte
// tile configuration at [base].
#define LDTILECFG(base) \
	BYTE $0xC4; AMX_VEX1(0, base); BYTE $0x78; BYTE $0x49; BYTE $((base)&7)

// TILERELEASE: VEX.128.NP.0F38.W0 49 C0. Returns the tiles to their
// initial state.
#define TILERELEASE \
	BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0xC0

// TILEZERO tmm(t): VEX.128.F2.0F38.W0 49 11:rrr:000.
#define TILEZERO(t) \
	BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $(0xC0 | ((t)<<3))

// TILELOADD tmm(t), [base + index]: VEX.128.F2.0F38.W0 4B /r, ModRM
// mod=00 rm=100 (SIB follows).
#define TILELOADD(t, base, index) \
	BYTE $0xC4; AMX_VEX1(index, base); BYTE $0x7B; BYTE $0x4B; \
	BYTE $(0x04 | ((t)<<3)); AMX_SIB(index, base)

// TILELOADD tmm(t), [base + index + disp32]: as TILELOADD with mod=10 and
// a 32-bit displacement (use for displacements outside -128..127).
#define TILELOADD_D32(t, disp, base, index) \
	BYTE $0xC4; AMX_VEX1(index, base); BYTE $0x7B; BYTE $0x4B; \
	BYTE $(0x84 | ((t)<<3)); AMX_SIB(index, base); LONG $(disp)

// TILESTORED [base + index], tmm(t): VEX.128.F3.0F38.W0 4B /r, mod=00.
#define TILESTORED(t, base, index) \
	BYTE $0xC4; AMX_VEX1(index, base); BYTE $0x7A; BYTE $0x4B; \
	BYTE $(0x04 | ((t)<<3)); AMX_SIB(index, base)

// TILESTORED [base + index + disp32], tmm(t): mod=10.
#define TILESTORED_D32(t, disp, base, index) \
	BYTE $0xC4; AMX_VEX1(index, base); BYTE $0x7A; BYTE $0x4B; \
	BYTE $(0x84 | ((t)<<3)); AMX_SIB(index, base); LONG $(disp)

// TDPBSSD tmm(c), tmm(a), tmm(b): VEX.128.F2.0F38.W0 5E 11:rrr:bbb with
// c in ModRM.reg, a in ModRM.rm and b in VEX.vvvv (inverted).
// c[m][n] += Σ signed a bytes · signed b bytes, 4 per dword.
#define TDPBSSD(c, a, b) \
	BYTE $0xC4; BYTE $0xE2; BYTE $(((15 - (b))<<3) | 3); BYTE $0x5E; \
	BYTE $(0xC0 | ((c)<<3) | (a))

// TDPBF16PS tmm(c), tmm(a), tmm(b): VEX.128.F3.0F38.W0 5C 11:rrr:bbb.
// c[m][n] += Σ bf16 pairs of a · bf16 pairs of b, in f32.
#define TDPBF16PS(c, a, b) \
	BYTE $0xC4; BYTE $0xE2; BYTE $(((15 - (b))<<3) | 2); BYTE $0x5C; \
	BYTE $(0xC0 | ((c)<<3) | (a))
