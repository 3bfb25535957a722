//go:build amd64 && !purego

#include "textflag.h"

// Elementwise kernels for amd64. Each covers n elements, a multiple of the
// vector width (16 floats for AVX-512, 8 for AVX2); the Go wrappers in
// ops.go run the tail and split long slices into bounded calls.

// Constants of the float32 exp: exp(x) = 2^n · p(r) with n = round(x·log2 e),
// r = x − n·ln 2 (ln 2 split in a high part exact in float32 and a low
// correction), and p the degree-7 Taylor polynomial of exp on |r| <= ln2/2.
DATA expconst<>+0(SB)/4, $0x3fb8aa3b // log2e
DATA expconst<>+4(SB)/4, $0x3f318000 // ln2hi
DATA expconst<>+8(SB)/4, $0xb95e8083 // ln2lo
DATA expconst<>+12(SB)/4, $0x3f000000 // c2
DATA expconst<>+16(SB)/4, $0x3e2aaaab // c3
DATA expconst<>+20(SB)/4, $0x3d2aaaab // c4
DATA expconst<>+24(SB)/4, $0x3c088889 // c5
DATA expconst<>+28(SB)/4, $0x3ab60b61 // c6
DATA expconst<>+32(SB)/4, $0x39500d01 // c7
DATA expconst<>+36(SB)/4, $0x3f800000 // one
DATA expconst<>+40(SB)/4, $0xc2d00000 // lo512
DATA expconst<>+44(SB)/4, $0x42c80000 // hi512
GLOBL expconst<>(SB), RODATA|NOPTR, $48

// Full-vector constants for AVX2 instructions that take a 256-bit memory
// operand: 1/720, 1/120, 0.5 and the exponent bias 127.
DATA expvec<>+0(SB)/4, $0x3ab60b61
DATA expvec<>+4(SB)/4, $0x3ab60b61
DATA expvec<>+8(SB)/4, $0x3ab60b61
DATA expvec<>+12(SB)/4, $0x3ab60b61
DATA expvec<>+16(SB)/4, $0x3ab60b61
DATA expvec<>+20(SB)/4, $0x3ab60b61
DATA expvec<>+24(SB)/4, $0x3ab60b61
DATA expvec<>+28(SB)/4, $0x3ab60b61
DATA expvec<>+32(SB)/4, $0x3c088889
DATA expvec<>+36(SB)/4, $0x3c088889
DATA expvec<>+40(SB)/4, $0x3c088889
DATA expvec<>+44(SB)/4, $0x3c088889
DATA expvec<>+48(SB)/4, $0x3c088889
DATA expvec<>+52(SB)/4, $0x3c088889
DATA expvec<>+56(SB)/4, $0x3c088889
DATA expvec<>+60(SB)/4, $0x3c088889
DATA expvec<>+64(SB)/4, $0x3f000000
DATA expvec<>+68(SB)/4, $0x3f000000
DATA expvec<>+72(SB)/4, $0x3f000000
DATA expvec<>+76(SB)/4, $0x3f000000
DATA expvec<>+80(SB)/4, $0x3f000000
DATA expvec<>+84(SB)/4, $0x3f000000
DATA expvec<>+88(SB)/4, $0x3f000000
DATA expvec<>+92(SB)/4, $0x3f000000
DATA expvec<>+96(SB)/4, $0x0000007f
DATA expvec<>+100(SB)/4, $0x0000007f
DATA expvec<>+104(SB)/4, $0x0000007f
DATA expvec<>+108(SB)/4, $0x0000007f
DATA expvec<>+112(SB)/4, $0x0000007f
DATA expvec<>+116(SB)/4, $0x0000007f
DATA expvec<>+120(SB)/4, $0x0000007f
DATA expvec<>+124(SB)/4, $0x0000007f
GLOBL expvec<>(SB), RODATA|NOPTR, $128

// func addAVX512(dst, a, b *float32, n int)
TEXT ·addAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), BX
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	XORQ DX, DX
	MOVQ CX, R8
	ANDQ $-256, R8
	JZ singleadd512
loopadd512:
	VMOVUPS 0(SI)(DX*1), Z0
	VMOVUPS 64(SI)(DX*1), Z1
	VMOVUPS 128(SI)(DX*1), Z2
	VMOVUPS 192(SI)(DX*1), Z3
	VADDPS 0(BX)(DX*1), Z0, Z0
	VADDPS 64(BX)(DX*1), Z1, Z1
	VADDPS 128(BX)(DX*1), Z2, Z2
	VADDPS 192(BX)(DX*1), Z3, Z3
	VMOVUPS Z0, 0(DI)(DX*1)
	VMOVUPS Z1, 64(DI)(DX*1)
	VMOVUPS Z2, 128(DI)(DX*1)
	VMOVUPS Z3, 192(DI)(DX*1)
	ADDQ $256, DX
	CMPQ DX, R8
	JLT loopadd512
singleadd512:
	CMPQ DX, CX
	JGE doneadd512
	VMOVUPS (SI)(DX*1), Z0
	VADDPS (BX)(DX*1), Z0, Z0
	VMOVUPS Z0, (DI)(DX*1)
	ADDQ $64, DX
	JMP singleadd512
doneadd512:
	VZEROUPPER
	RET

// func mulAVX512(dst, a, b *float32, n int)
TEXT ·mulAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), BX
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	XORQ DX, DX
	MOVQ CX, R8
	ANDQ $-256, R8
	JZ singlemul512
loopmul512:
	VMOVUPS 0(SI)(DX*1), Z0
	VMOVUPS 64(SI)(DX*1), Z1
	VMOVUPS 128(SI)(DX*1), Z2
	VMOVUPS 192(SI)(DX*1), Z3
	VMULPS 0(BX)(DX*1), Z0, Z0
	VMULPS 64(BX)(DX*1), Z1, Z1
	VMULPS 128(BX)(DX*1), Z2, Z2
	VMULPS 192(BX)(DX*1), Z3, Z3
	VMOVUPS Z0, 0(DI)(DX*1)
	VMOVUPS Z1, 64(DI)(DX*1)
	VMOVUPS Z2, 128(DI)(DX*1)
	VMOVUPS Z3, 192(DI)(DX*1)
	ADDQ $256, DX
	CMPQ DX, R8
	JLT loopmul512
singlemul512:
	CMPQ DX, CX
	JGE donemul512
	VMOVUPS (SI)(DX*1), Z0
	VMULPS (BX)(DX*1), Z0, Z0
	VMOVUPS Z0, (DI)(DX*1)
	ADDQ $64, DX
	JMP singlemul512
donemul512:
	VZEROUPPER
	RET

// func axpyAVX512(dst, x *float32, alpha float32, n int)
TEXT ·axpyAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSS alpha+16(FP), Z8
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	XORQ DX, DX
	MOVQ CX, R8
	ANDQ $-256, R8
	JZ singleaxpy512
loopaxpy512:
	VMOVUPS 0(DI)(DX*1), Z0
	VMOVUPS 64(DI)(DX*1), Z1
	VMOVUPS 128(DI)(DX*1), Z2
	VMOVUPS 192(DI)(DX*1), Z3
	VFMADD231PS 0(SI)(DX*1), Z8, Z0
	VFMADD231PS 64(SI)(DX*1), Z8, Z1
	VFMADD231PS 128(SI)(DX*1), Z8, Z2
	VFMADD231PS 192(SI)(DX*1), Z8, Z3
	VMOVUPS Z0, 0(DI)(DX*1)
	VMOVUPS Z1, 64(DI)(DX*1)
	VMOVUPS Z2, 128(DI)(DX*1)
	VMOVUPS Z3, 192(DI)(DX*1)
	ADDQ $256, DX
	CMPQ DX, R8
	JLT loopaxpy512
singleaxpy512:
	CMPQ DX, CX
	JGE doneaxpy512
	VMOVUPS (DI)(DX*1), Z0
	VFMADD231PS (SI)(DX*1), Z8, Z0
	VMOVUPS Z0, (DI)(DX*1)
	ADDQ $64, DX
	JMP singleaxpy512
doneaxpy512:
	VZEROUPPER
	RET

// func scaleAVX512(x *float32, s float32, n int)
TEXT ·scaleAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	VBROADCASTSS s+8(FP), Z8
	MOVQ n+16(FP), CX
	SHLQ $2, CX
	XORQ DX, DX
	MOVQ CX, R8
	ANDQ $-256, R8
	JZ singlescale512
loopscale512:
	VMULPS 0(DI)(DX*1), Z8, Z0
	VMULPS 64(DI)(DX*1), Z8, Z1
	VMULPS 128(DI)(DX*1), Z8, Z2
	VMULPS 192(DI)(DX*1), Z8, Z3
	VMOVUPS Z0, 0(DI)(DX*1)
	VMOVUPS Z1, 64(DI)(DX*1)
	VMOVUPS Z2, 128(DI)(DX*1)
	VMOVUPS Z3, 192(DI)(DX*1)
	ADDQ $256, DX
	CMPQ DX, R8
	JLT loopscale512
singlescale512:
	CMPQ DX, CX
	JGE donescale512
	VMULPS (DI)(DX*1), Z8, Z0
	VMOVUPS Z0, (DI)(DX*1)
	ADDQ $64, DX
	JMP singlescale512
donescale512:
	VZEROUPPER
	RET

// func expSumAVX512(dst, src *float32, n int, shift float32) float32
TEXT ·expSumAVX512(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHLQ $2, CX
	XORQ DX, DX
	VBROADCASTSS shift+24(FP), Z4
	VBROADCASTSS expconst<>+0(SB), Z16
	VBROADCASTSS expconst<>+4(SB), Z17
	VBROADCASTSS expconst<>+8(SB), Z18
	VBROADCASTSS expconst<>+12(SB), Z19
	VBROADCASTSS expconst<>+16(SB), Z20
	VBROADCASTSS expconst<>+20(SB), Z21
	VBROADCASTSS expconst<>+24(SB), Z22
	VBROADCASTSS expconst<>+28(SB), Z23
	VBROADCASTSS expconst<>+36(SB), Z24
	VBROADCASTSS expconst<>+40(SB), Z25
	VBROADCASTSS expconst<>+44(SB), Z26
	VPXORD Z31, Z31, Z31
loopexp512:
	CMPQ DX, CX
	JGE doneexp512
	VMOVUPS (SI)(DX*1), Z0
	VSUBPS Z4, Z0, Z0
	VMAXPS Z0, Z25, Z0 // clamp to [-104, 100]; NaN stays NaN
	VMINPS Z0, Z26, Z0
	VMULPS Z16, Z0, Z1
	VRNDSCALEPS $0, Z1, Z1
	VFNMADD231PS Z17, Z1, Z0
	VFNMADD231PS Z18, Z1, Z0
	VBROADCASTSS expconst<>+32(SB), Z2
	VFMADD213PS Z23, Z0, Z2
	VFMADD213PS Z22, Z0, Z2
	VFMADD213PS Z21, Z0, Z2
	VFMADD213PS Z20, Z0, Z2
	VFMADD213PS Z19, Z0, Z2
	VFMADD213PS Z24, Z0, Z2
	VFMADD213PS Z24, Z0, Z2
	VSCALEFPS Z1, Z2, Z2
	VMOVUPS Z2, (DI)(DX*1)
	VADDPS Z2, Z31, Z31
	ADDQ $64, DX
	JMP loopexp512
doneexp512:
	VEXTRACTF64X4 $1, Z31, Y0
	VADDPS Y0, Y31, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// func addAVX2(dst, a, b *float32, n int)
TEXT ·addAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), BX
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	XORQ DX, DX
	MOVQ CX, R8
	ANDQ $-128, R8
	JZ singleadd256
loopadd256:
	VMOVUPS 0(SI)(DX*1), Y0
	VMOVUPS 32(SI)(DX*1), Y1
	VMOVUPS 64(SI)(DX*1), Y2
	VMOVUPS 96(SI)(DX*1), Y3
	VADDPS 0(BX)(DX*1), Y0, Y0
	VADDPS 32(BX)(DX*1), Y1, Y1
	VADDPS 64(BX)(DX*1), Y2, Y2
	VADDPS 96(BX)(DX*1), Y3, Y3
	VMOVUPS Y0, 0(DI)(DX*1)
	VMOVUPS Y1, 32(DI)(DX*1)
	VMOVUPS Y2, 64(DI)(DX*1)
	VMOVUPS Y3, 96(DI)(DX*1)
	ADDQ $128, DX
	CMPQ DX, R8
	JLT loopadd256
singleadd256:
	CMPQ DX, CX
	JGE doneadd256
	VMOVUPS (SI)(DX*1), Y0
	VADDPS (BX)(DX*1), Y0, Y0
	VMOVUPS Y0, (DI)(DX*1)
	ADDQ $32, DX
	JMP singleadd256
doneadd256:
	VZEROUPPER
	RET

// func mulAVX2(dst, a, b *float32, n int)
TEXT ·mulAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), BX
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	XORQ DX, DX
	MOVQ CX, R8
	ANDQ $-128, R8
	JZ singlemul256
loopmul256:
	VMOVUPS 0(SI)(DX*1), Y0
	VMOVUPS 32(SI)(DX*1), Y1
	VMOVUPS 64(SI)(DX*1), Y2
	VMOVUPS 96(SI)(DX*1), Y3
	VMULPS 0(BX)(DX*1), Y0, Y0
	VMULPS 32(BX)(DX*1), Y1, Y1
	VMULPS 64(BX)(DX*1), Y2, Y2
	VMULPS 96(BX)(DX*1), Y3, Y3
	VMOVUPS Y0, 0(DI)(DX*1)
	VMOVUPS Y1, 32(DI)(DX*1)
	VMOVUPS Y2, 64(DI)(DX*1)
	VMOVUPS Y3, 96(DI)(DX*1)
	ADDQ $128, DX
	CMPQ DX, R8
	JLT loopmul256
singlemul256:
	CMPQ DX, CX
	JGE donemul256
	VMOVUPS (SI)(DX*1), Y0
	VMULPS (BX)(DX*1), Y0, Y0
	VMOVUPS Y0, (DI)(DX*1)
	ADDQ $32, DX
	JMP singlemul256
donemul256:
	VZEROUPPER
	RET

// func axpyAVX2(dst, x *float32, alpha float32, n int)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSS alpha+16(FP), Y8
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	XORQ DX, DX
	MOVQ CX, R8
	ANDQ $-128, R8
	JZ singleaxpy256
loopaxpy256:
	VMOVUPS 0(DI)(DX*1), Y0
	VMOVUPS 32(DI)(DX*1), Y1
	VMOVUPS 64(DI)(DX*1), Y2
	VMOVUPS 96(DI)(DX*1), Y3
	VFMADD231PS 0(SI)(DX*1), Y8, Y0
	VFMADD231PS 32(SI)(DX*1), Y8, Y1
	VFMADD231PS 64(SI)(DX*1), Y8, Y2
	VFMADD231PS 96(SI)(DX*1), Y8, Y3
	VMOVUPS Y0, 0(DI)(DX*1)
	VMOVUPS Y1, 32(DI)(DX*1)
	VMOVUPS Y2, 64(DI)(DX*1)
	VMOVUPS Y3, 96(DI)(DX*1)
	ADDQ $128, DX
	CMPQ DX, R8
	JLT loopaxpy256
singleaxpy256:
	CMPQ DX, CX
	JGE doneaxpy256
	VMOVUPS (DI)(DX*1), Y0
	VFMADD231PS (SI)(DX*1), Y8, Y0
	VMOVUPS Y0, (DI)(DX*1)
	ADDQ $32, DX
	JMP singleaxpy256
doneaxpy256:
	VZEROUPPER
	RET

// func scaleAVX2(x *float32, s float32, n int)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	VBROADCASTSS s+8(FP), Y8
	MOVQ n+16(FP), CX
	SHLQ $2, CX
	XORQ DX, DX
	MOVQ CX, R8
	ANDQ $-128, R8
	JZ singlescale256
loopscale256:
	VMULPS 0(DI)(DX*1), Y8, Y0
	VMULPS 32(DI)(DX*1), Y8, Y1
	VMULPS 64(DI)(DX*1), Y8, Y2
	VMULPS 96(DI)(DX*1), Y8, Y3
	VMOVUPS Y0, 0(DI)(DX*1)
	VMOVUPS Y1, 32(DI)(DX*1)
	VMOVUPS Y2, 64(DI)(DX*1)
	VMOVUPS Y3, 96(DI)(DX*1)
	ADDQ $128, DX
	CMPQ DX, R8
	JLT loopscale256
singlescale256:
	CMPQ DX, CX
	JGE donescale256
	VMULPS (DI)(DX*1), Y8, Y0
	VMOVUPS Y0, (DI)(DX*1)
	ADDQ $32, DX
	JMP singlescale256
donescale256:
	VZEROUPPER
	RET

// func expSumAVX2(dst, src *float32, n int, shift float32) float32
TEXT ·expSumAVX2(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHLQ $2, CX
	XORQ DX, DX
	VBROADCASTSS shift+24(FP), Y4
	VBROADCASTSS expconst<>+0(SB), Y5
	VBROADCASTSS expconst<>+4(SB), Y6
	VBROADCASTSS expconst<>+8(SB), Y7
	VBROADCASTSS expconst<>+16(SB), Y8
	VBROADCASTSS expconst<>+20(SB), Y9
	VBROADCASTSS expconst<>+36(SB), Y10
	VBROADCASTSS expconst<>+40(SB), Y11
	VBROADCASTSS expconst<>+44(SB), Y12
	VXORPS Y14, Y14, Y14
loopexp256:
	CMPQ DX, CX
	JGE doneexp256
	VMOVUPS (SI)(DX*1), Y0
	VSUBPS Y4, Y0, Y0
	VMAXPS Y0, Y11, Y0 // clamp to [-104, 100]; NaN stays NaN
	VMINPS Y0, Y12, Y0
	VMULPS Y5, Y0, Y1
	VROUNDPS $0, Y1, Y1
	VFNMADD231PS Y6, Y1, Y0
	VFNMADD231PS Y7, Y1, Y0
	VBROADCASTSS expconst<>+32(SB), Y2
	VFMADD213PS expvec<>+0(SB), Y0, Y2
	VFMADD213PS expvec<>+32(SB), Y0, Y2
	VFMADD213PS Y9, Y0, Y2
	VFMADD213PS Y8, Y0, Y2
	VFMADD213PS expvec<>+64(SB), Y0, Y2
	VFMADD213PS Y10, Y0, Y2
	VFMADD213PS Y10, Y0, Y2
	// 2^n as 2^h · 2^(n−h) with h = n>>1: both factors are normal floats
	// for every n in [-150, 145], and the second product rounds to a
	// subnormal, zero or +Inf exactly where the true result does.
	VCVTPS2DQ Y1, Y1
	VPSRAD $1, Y1, Y3
	VPSUBD Y3, Y1, Y1
	VPADDD expvec<>+96(SB), Y1, Y1
	VPADDD expvec<>+96(SB), Y3, Y3
	VPSLLD $23, Y1, Y1
	VPSLLD $23, Y3, Y3
	VMULPS Y1, Y2, Y2
	VMULPS Y3, Y2, Y2
	VMOVUPS Y2, (DI)(DX*1)
	VADDPS Y2, Y14, Y14
	ADDQ $32, DX
	JMP loopexp256
doneexp256:
	VMOVAPS Y14, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, ret+32(FP)
	VZEROUPPER
	RET
