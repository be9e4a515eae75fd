//go:build amd64 && !purego

#include "textflag.h"

// func cpuidRegs(leaf uint32, out *[4]uint32)
// EAX, EBX, ECX, EDX of CPUID(leaf, 0), in that order.
TEXT ·cpuidRegs(SB), NOSPLIT, $0-16
	MOVL leaf+0(FP), AX
	XORL CX, CX
	CPUID
	MOVQ out+8(FP), DI
	MOVL AX, 0(DI)
	MOVL BX, 4(DI)
	MOVL CX, 8(DI)
	MOVL DX, 12(DI)
	RET
