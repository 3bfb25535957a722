//go:build amd64 && !purego

#include "textflag.h"

// Fused AVX-512 kernels for GELU, its gradient and AdamW, and the row
// maximum for both widths. The exponential is the one of expSumAVX512:
// see ops_amd64.s for the method and constants. n is a multiple of the
// vector width; the Go wrappers run the tails.

DATA geluconst<>+0(SB)/4, $0x3fb8aa3b // log2e
DATA geluconst<>+4(SB)/4, $0x3f318000 // ln2hi
DATA geluconst<>+8(SB)/4, $0xb95e8083 // ln2lo
DATA geluconst<>+12(SB)/4, $0x3f000000 // c2
DATA geluconst<>+16(SB)/4, $0x3e2aaaab // c3
DATA geluconst<>+20(SB)/4, $0x3d2aaaab // c4
DATA geluconst<>+24(SB)/4, $0x3c088889 // c5
DATA geluconst<>+28(SB)/4, $0x3ab60b61 // c6
DATA geluconst<>+32(SB)/4, $0x39500d01 // c7
DATA geluconst<>+36(SB)/4, $0x3f800000 // one
DATA geluconst<>+40(SB)/4, $0xc2d00000 // lo
DATA geluconst<>+44(SB)/4, $0x42c80000 // hi
DATA geluconst<>+48(SB)/4, $0xbfcc422a // k1
DATA geluconst<>+52(SB)/4, $0xbd922279 // k2
DATA geluconst<>+56(SB)/4, $0x3ddb33b6 // k3
DATA geluconst<>+60(SB)/4, $0x3f4c422a // k4
DATA geluconst<>+64(SB)/4, $0x40000000 // two
DATA geluconst<>+68(SB)/4, $0xff800000 // ninf
GLOBL geluconst<>(SB), RODATA|NOPTR, $72

// func geluAVX512(dst, x *float32, n int)
// dst = x / (1 + e^(-2u)) with u = sqrt(2/pi)·(x + 0.044715·x³).
TEXT ·geluAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SHLQ $2, CX
	XORQ DX, DX
	VBROADCASTSS geluconst<>+0(SB), Z16
	VBROADCASTSS geluconst<>+4(SB), Z17
	VBROADCASTSS geluconst<>+8(SB), Z18
	VBROADCASTSS geluconst<>+12(SB), Z19
	VBROADCASTSS geluconst<>+16(SB), Z20
	VBROADCASTSS geluconst<>+20(SB), Z21
	VBROADCASTSS geluconst<>+24(SB), Z22
	VBROADCASTSS geluconst<>+28(SB), Z23
	VBROADCASTSS geluconst<>+32(SB), Z24
	VBROADCASTSS geluconst<>+36(SB), Z25
	VBROADCASTSS geluconst<>+40(SB), Z26
	VBROADCASTSS geluconst<>+44(SB), Z27
	VBROADCASTSS geluconst<>+48(SB), Z28
	VBROADCASTSS geluconst<>+52(SB), Z29
	VBROADCASTSS geluconst<>+56(SB), Z30
	VBROADCASTSS geluconst<>+60(SB), Z31
geluloop:
	CMPQ DX, CX
	JGE geludone
	VMOVUPS (SI)(DX*1), Z0
	VMULPS Z0, Z0, Z1
	VFMADD213PS Z28, Z29, Z1 // -2c - 2ca·x²
	VMULPS Z0, Z1, Z1 // -2u
	VMAXPS Z1, Z26, Z1 // clamp to [-104, 100]; NaN stays NaN
	VMINPS Z1, Z27, Z1
	VMULPS Z16, Z1, Z2
	VRNDSCALEPS $0, Z2, Z2
	VFNMADD231PS Z17, Z2, Z1
	VFNMADD231PS Z18, Z2, Z1
	VMOVAPS Z24, Z3
	VFMADD213PS Z23, Z1, Z3
	VFMADD213PS Z22, Z1, Z3
	VFMADD213PS Z21, Z1, Z3
	VFMADD213PS Z20, Z1, Z3
	VFMADD213PS Z19, Z1, Z3
	VFMADD213PS Z25, Z1, Z3
	VFMADD213PS Z25, Z1, Z3
	VSCALEFPS Z2, Z3, Z3
	VADDPS Z25, Z3, Z3
	VDIVPS Z3, Z0, Z5
	VMOVUPS Z5, (DI)(DX*1)
	ADDQ $64, DX
	JMP geluloop
geludone:
	VZEROUPPER
	RET

// func geluBackAVX512(dx, x, dout *float32, n int)
// dx += dout · (s + 2·x·s·(1−s)·du/dx) with s = 1/(1 + e^(-2u)).
TEXT ·geluBackAVX512(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dout+16(FP), BX
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	XORQ DX, DX
	VBROADCASTSS geluconst<>+0(SB), Z16
	VBROADCASTSS geluconst<>+4(SB), Z17
	VBROADCASTSS geluconst<>+8(SB), Z18
	VBROADCASTSS geluconst<>+12(SB), Z19
	VBROADCASTSS geluconst<>+16(SB), Z20
	VBROADCASTSS geluconst<>+20(SB), Z21
	VBROADCASTSS geluconst<>+24(SB), Z22
	VBROADCASTSS geluconst<>+28(SB), Z23
	VBROADCASTSS geluconst<>+32(SB), Z24
	VBROADCASTSS geluconst<>+36(SB), Z25
	VBROADCASTSS geluconst<>+40(SB), Z26
	VBROADCASTSS geluconst<>+44(SB), Z27
	VBROADCASTSS geluconst<>+48(SB), Z28
	VBROADCASTSS geluconst<>+52(SB), Z29
	VBROADCASTSS geluconst<>+56(SB), Z30
	VBROADCASTSS geluconst<>+60(SB), Z31
	VBROADCASTSS geluconst<>+64(SB), Z15
gelubloop:
	CMPQ DX, CX
	JGE gelubdone
	VMOVUPS (SI)(DX*1), Z0
	VMULPS Z0, Z0, Z1 // x²
	VMOVAPS Z1, Z6
	VFMADD213PS Z28, Z29, Z6
	VMULPS Z0, Z6, Z6 // -2u
	VMAXPS Z6, Z26, Z6 // clamp to [-104, 100]; NaN stays NaN
	VMINPS Z6, Z27, Z6
	VMULPS Z16, Z6, Z2
	VRNDSCALEPS $0, Z2, Z2
	VFNMADD231PS Z17, Z2, Z6
	VFNMADD231PS Z18, Z2, Z6
	VMOVAPS Z24, Z3
	VFMADD213PS Z23, Z6, Z3
	VFMADD213PS Z22, Z6, Z3
	VFMADD213PS Z21, Z6, Z3
	VFMADD213PS Z20, Z6, Z3
	VFMADD213PS Z19, Z6, Z3
	VFMADD213PS Z25, Z6, Z3
	VFMADD213PS Z25, Z6, Z3
	VSCALEFPS Z2, Z3, Z3
	VADDPS Z25, Z3, Z3
	VDIVPS Z3, Z25, Z4 // s
	VFMADD213PS Z31, Z30, Z1 // du/dx = c + 3ca·x²
	VSUBPS Z4, Z25, Z7 // 1-s
	VMULPS Z4, Z7, Z7
	VMULPS Z1, Z7, Z7
	VMULPS Z0, Z7, Z7
	VFMADD231PS Z15, Z7, Z4 // GELU'(x)
	VMOVUPS (BX)(DX*1), Z8
	VMOVUPS (DI)(DX*1), Z9
	VFMADD231PS Z8, Z4, Z9
	VMOVUPS Z9, (DI)(DX*1)
	ADDQ $64, DX
	JMP gelubloop
gelubdone:
	VZEROUPPER
	RET

// func adamwAVX512(param, grad, mom, vel *float32, n int, hp *[9]float32)
// hp holds beta1, 1-beta1, beta2, 1-beta2, 1/bc1, 1/bc2, lr, eps and wd.
TEXT ·adamwAVX512(SB), NOSPLIT, $0-48
	MOVQ param+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ mom+16(FP), R8
	MOVQ vel+24(FP), R9
	MOVQ n+32(FP), CX
	SHLQ $2, CX
	MOVQ hp+40(FP), AX
	VBROADCASTSS 0(AX), Z16
	VBROADCASTSS 4(AX), Z17
	VBROADCASTSS 8(AX), Z18
	VBROADCASTSS 12(AX), Z19
	VBROADCASTSS 16(AX), Z20
	VBROADCASTSS 20(AX), Z21
	VBROADCASTSS 24(AX), Z22
	VBROADCASTSS 28(AX), Z23
	VBROADCASTSS 32(AX), Z24
	XORQ DX, DX
adamloop:
	CMPQ DX, CX
	JGE adamdone
	VMOVUPS (SI)(DX*1), Z0 // g
	VMULPS (R8)(DX*1), Z16, Z1 // beta1·m
	VFMADD231PS Z17, Z0, Z1 // + (1-beta1)·g
	VMULPS Z0, Z0, Z2
	VMULPS (R9)(DX*1), Z18, Z3 // beta2·v
	VFMADD231PS Z19, Z2, Z3 // + (1-beta2)·g²
	VMOVUPS Z1, (R8)(DX*1)
	VMOVUPS Z3, (R9)(DX*1)
	VMULPS Z20, Z1, Z1 // mhat
	VMULPS Z21, Z3, Z3 // vhat
	VSQRTPS Z3, Z3
	VADDPS Z23, Z3, Z3 // sqrt(vhat) + eps
	VDIVPS Z3, Z1, Z1
	VMOVUPS (DI)(DX*1), Z4
	VFMADD231PS Z24, Z4, Z1 // + wd·p
	VFNMADD231PS Z22, Z1, Z4 // p -= lr·(...)
	VMOVUPS Z4, (DI)(DX*1)
	ADDQ $64, DX
	JMP adamloop
adamdone:
	VZEROUPPER
	RET

// func maxAVX512(x *float32, n int) float32
// The maximum of x[:n]; NaN entries may or may not be ignored.
TEXT ·maxAVX512(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHLQ $2, CX
	XORQ DX, DX
	VBROADCASTSS geluconst<>+68(SB), Z0
	VBROADCASTSS geluconst<>+68(SB), Z1
	VBROADCASTSS geluconst<>+68(SB), Z2
	VBROADCASTSS geluconst<>+68(SB), Z3
	MOVQ CX, R8
	ANDQ $-256, R8
	JZ maxsingle512
maxloop512:
	VMAXPS 0(SI)(DX*1), Z0, Z0
	VMAXPS 64(SI)(DX*1), Z1, Z1
	VMAXPS 128(SI)(DX*1), Z2, Z2
	VMAXPS 192(SI)(DX*1), Z3, Z3
	ADDQ $256, DX
	CMPQ DX, R8
	JLT maxloop512
maxsingle512:
	CMPQ DX, CX
	JGE maxreduce512
	VMAXPS (SI)(DX*1), Z0, Z0
	ADDQ $64, DX
	JMP maxsingle512
maxreduce512:
	VMAXPS Z1, Z0, Z0
	VMAXPS Z3, Z2, Z2
	VMAXPS Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	MOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
// The maximum of x[:n]; NaN entries may or may not be ignored.
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHLQ $2, CX
	XORQ DX, DX
	VBROADCASTSS geluconst<>+68(SB), Y0
	VBROADCASTSS geluconst<>+68(SB), Y1
	VBROADCASTSS geluconst<>+68(SB), Y2
	VBROADCASTSS geluconst<>+68(SB), Y3
	MOVQ CX, R8
	ANDQ $-128, R8
	JZ maxsingle256
maxloop256:
	VMAXPS 0(SI)(DX*1), Y0, Y0
	VMAXPS 32(SI)(DX*1), Y1, Y1
	VMAXPS 64(SI)(DX*1), Y2, Y2
	VMAXPS 96(SI)(DX*1), Y3, Y3
	ADDQ $128, DX
	CMPQ DX, R8
	JLT maxloop256
maxsingle256:
	CMPQ DX, CX
	JGE maxreduce256
	VMAXPS (SI)(DX*1), Y0, Y0
	ADDQ $32, DX
	JMP maxsingle256
maxreduce256:
	VMAXPS Y1, Y0, Y0
	VMAXPS Y3, Y2, Y2
	VMAXPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	MOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// AVX2 versions. Only 16 Y registers exist, so the polynomial
// coefficients and a few GELU constants are 256-bit memory operands.
DATA geluvec<>+0(SB)/4, $0x3ab60b61
DATA geluvec<>+4(SB)/4, $0x3ab60b61
DATA geluvec<>+8(SB)/4, $0x3ab60b61
DATA geluvec<>+12(SB)/4, $0x3ab60b61
DATA geluvec<>+16(SB)/4, $0x3ab60b61
DATA geluvec<>+20(SB)/4, $0x3ab60b61
DATA geluvec<>+24(SB)/4, $0x3ab60b61
DATA geluvec<>+28(SB)/4, $0x3ab60b61
DATA geluvec<>+32(SB)/4, $0x3c088889
DATA geluvec<>+36(SB)/4, $0x3c088889
DATA geluvec<>+40(SB)/4, $0x3c088889
DATA geluvec<>+44(SB)/4, $0x3c088889
DATA geluvec<>+48(SB)/4, $0x3c088889
DATA geluvec<>+52(SB)/4, $0x3c088889
DATA geluvec<>+56(SB)/4, $0x3c088889
DATA geluvec<>+60(SB)/4, $0x3c088889
DATA geluvec<>+64(SB)/4, $0x3d2aaaab
DATA geluvec<>+68(SB)/4, $0x3d2aaaab
DATA geluvec<>+72(SB)/4, $0x3d2aaaab
DATA geluvec<>+76(SB)/4, $0x3d2aaaab
DATA geluvec<>+80(SB)/4, $0x3d2aaaab
DATA geluvec<>+84(SB)/4, $0x3d2aaaab
DATA geluvec<>+88(SB)/4, $0x3d2aaaab
DATA geluvec<>+92(SB)/4, $0x3d2aaaab
DATA geluvec<>+96(SB)/4, $0x3e2aaaab
DATA geluvec<>+100(SB)/4, $0x3e2aaaab
DATA geluvec<>+104(SB)/4, $0x3e2aaaab
DATA geluvec<>+108(SB)/4, $0x3e2aaaab
DATA geluvec<>+112(SB)/4, $0x3e2aaaab
DATA geluvec<>+116(SB)/4, $0x3e2aaaab
DATA geluvec<>+120(SB)/4, $0x3e2aaaab
DATA geluvec<>+124(SB)/4, $0x3e2aaaab
DATA geluvec<>+128(SB)/4, $0x3f000000
DATA geluvec<>+132(SB)/4, $0x3f000000
DATA geluvec<>+136(SB)/4, $0x3f000000
DATA geluvec<>+140(SB)/4, $0x3f000000
DATA geluvec<>+144(SB)/4, $0x3f000000
DATA geluvec<>+148(SB)/4, $0x3f000000
DATA geluvec<>+152(SB)/4, $0x3f000000
DATA geluvec<>+156(SB)/4, $0x3f000000
DATA geluvec<>+160(SB)/4, $0x3ddb33b6
DATA geluvec<>+164(SB)/4, $0x3ddb33b6
DATA geluvec<>+168(SB)/4, $0x3ddb33b6
DATA geluvec<>+172(SB)/4, $0x3ddb33b6
DATA geluvec<>+176(SB)/4, $0x3ddb33b6
DATA geluvec<>+180(SB)/4, $0x3ddb33b6
DATA geluvec<>+184(SB)/4, $0x3ddb33b6
DATA geluvec<>+188(SB)/4, $0x3ddb33b6
DATA geluvec<>+192(SB)/4, $0x3f4c422a
DATA geluvec<>+196(SB)/4, $0x3f4c422a
DATA geluvec<>+200(SB)/4, $0x3f4c422a
DATA geluvec<>+204(SB)/4, $0x3f4c422a
DATA geluvec<>+208(SB)/4, $0x3f4c422a
DATA geluvec<>+212(SB)/4, $0x3f4c422a
DATA geluvec<>+216(SB)/4, $0x3f4c422a
DATA geluvec<>+220(SB)/4, $0x3f4c422a
DATA geluvec<>+224(SB)/4, $0x40000000
DATA geluvec<>+228(SB)/4, $0x40000000
DATA geluvec<>+232(SB)/4, $0x40000000
DATA geluvec<>+236(SB)/4, $0x40000000
DATA geluvec<>+240(SB)/4, $0x40000000
DATA geluvec<>+244(SB)/4, $0x40000000
DATA geluvec<>+248(SB)/4, $0x40000000
DATA geluvec<>+252(SB)/4, $0x40000000
DATA geluvec<>+256(SB)/4, $0x0000007f
DATA geluvec<>+260(SB)/4, $0x0000007f
DATA geluvec<>+264(SB)/4, $0x0000007f
DATA geluvec<>+268(SB)/4, $0x0000007f
DATA geluvec<>+272(SB)/4, $0x0000007f
DATA geluvec<>+276(SB)/4, $0x0000007f
DATA geluvec<>+280(SB)/4, $0x0000007f
DATA geluvec<>+284(SB)/4, $0x0000007f
GLOBL geluvec<>(SB), RODATA|NOPTR, $288

// func geluAVX2(dst, x *float32, n int)
TEXT ·geluAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SHLQ $2, CX
	XORQ DX, DX
	VBROADCASTSS geluconst<>+0(SB), Y8
	VBROADCASTSS geluconst<>+4(SB), Y9
	VBROADCASTSS geluconst<>+8(SB), Y10
	VBROADCASTSS geluconst<>+40(SB), Y11
	VBROADCASTSS geluconst<>+44(SB), Y12
	VBROADCASTSS geluconst<>+36(SB), Y13
	VBROADCASTSS geluconst<>+48(SB), Y14
	VBROADCASTSS geluconst<>+52(SB), Y15
gelu2loop:
	CMPQ DX, CX
	JGE gelu2done
	VMOVUPS (SI)(DX*1), Y0
	VMULPS Y0, Y0, Y1
	VFMADD213PS Y14, Y15, Y1
	VMULPS Y0, Y1, Y1 // -2u
	VMAXPS Y1, Y11, Y1 // clamp to [-104, 100]; NaN stays NaN
	VMINPS Y1, Y12, Y1
	VMULPS Y8, Y1, Y2
	VROUNDPS $0, Y2, Y2
	VFNMADD231PS Y9, Y2, Y1
	VFNMADD231PS Y10, Y2, Y1
	VBROADCASTSS geluconst<>+32(SB), Y3
	VFMADD213PS geluvec<>+0(SB), Y1, Y3
	VFMADD213PS geluvec<>+32(SB), Y1, Y3
	VFMADD213PS geluvec<>+64(SB), Y1, Y3
	VFMADD213PS geluvec<>+96(SB), Y1, Y3
	VFMADD213PS geluvec<>+128(SB), Y1, Y3
	VFMADD213PS Y13, Y1, Y3
	VFMADD213PS Y13, Y1, Y3
	VCVTPS2DQ Y2, Y2 // 2^n as 2^h·2^(n−h), h = n>>1, as in expSumAVX2
	VPSRAD $1, Y2, Y4
	VPSUBD Y4, Y2, Y2
	VPADDD geluvec<>+256(SB), Y2, Y2
	VPADDD geluvec<>+256(SB), Y4, Y4
	VPSLLD $23, Y2, Y2
	VPSLLD $23, Y4, Y4
	VMULPS Y2, Y3, Y3
	VMULPS Y4, Y3, Y3
	VADDPS Y13, Y3, Y3
	VDIVPS Y3, Y0, Y5
	VMOVUPS Y5, (DI)(DX*1)
	ADDQ $32, DX
	JMP gelu2loop
gelu2done:
	VZEROUPPER
	RET

// func geluBackAVX2(dx, x, dout *float32, n int)
TEXT ·geluBackAVX2(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dout+16(FP), BX
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	XORQ DX, DX
	VBROADCASTSS geluconst<>+0(SB), Y8
	VBROADCASTSS geluconst<>+4(SB), Y9
	VBROADCASTSS geluconst<>+8(SB), Y10
	VBROADCASTSS geluconst<>+40(SB), Y11
	VBROADCASTSS geluconst<>+44(SB), Y12
	VBROADCASTSS geluconst<>+36(SB), Y13
	VBROADCASTSS geluconst<>+48(SB), Y14
	VBROADCASTSS geluconst<>+52(SB), Y15
gelub2loop:
	CMPQ DX, CX
	JGE gelub2done
	VMOVUPS (SI)(DX*1), Y0
	VMULPS Y0, Y0, Y1 // x²
	VMOVAPS Y1, Y5
	VFMADD213PS Y14, Y15, Y5
	VMULPS Y0, Y5, Y5 // -2u
	VMAXPS Y5, Y11, Y5 // clamp to [-104, 100]; NaN stays NaN
	VMINPS Y5, Y12, Y5
	VMULPS Y8, Y5, Y2
	VROUNDPS $0, Y2, Y2
	VFNMADD231PS Y9, Y2, Y5
	VFNMADD231PS Y10, Y2, Y5
	VBROADCASTSS geluconst<>+32(SB), Y3
	VFMADD213PS geluvec<>+0(SB), Y5, Y3
	VFMADD213PS geluvec<>+32(SB), Y5, Y3
	VFMADD213PS geluvec<>+64(SB), Y5, Y3
	VFMADD213PS geluvec<>+96(SB), Y5, Y3
	VFMADD213PS geluvec<>+128(SB), Y5, Y3
	VFMADD213PS Y13, Y5, Y3
	VFMADD213PS Y13, Y5, Y3
	VCVTPS2DQ Y2, Y2 // 2^n as 2^h·2^(n−h), h = n>>1, as in expSumAVX2
	VPSRAD $1, Y2, Y4
	VPSUBD Y4, Y2, Y2
	VPADDD geluvec<>+256(SB), Y2, Y2
	VPADDD geluvec<>+256(SB), Y4, Y4
	VPSLLD $23, Y2, Y2
	VPSLLD $23, Y4, Y4
	VMULPS Y2, Y3, Y3
	VMULPS Y4, Y3, Y3
	VADDPS Y13, Y3, Y3
	VDIVPS Y3, Y13, Y6 // s
	VMULPS geluvec<>+160(SB), Y1, Y1
	VADDPS geluvec<>+192(SB), Y1, Y1 // du/dx = c + 3ca·x²
	VSUBPS Y6, Y13, Y7 // 1-s
	VMULPS Y6, Y7, Y7
	VMULPS Y1, Y7, Y7
	VMULPS Y0, Y7, Y7
	VFMADD231PS geluvec<>+224(SB), Y7, Y6 // GELU'(x)
	VMOVUPS (BX)(DX*1), Y2
	VMOVUPS (DI)(DX*1), Y3
	VFMADD231PS Y2, Y6, Y3
	VMOVUPS Y3, (DI)(DX*1)
	ADDQ $32, DX
	JMP gelub2loop
gelub2done:
	VZEROUPPER
	RET

// func adamwAVX2(param, grad, mom, vel *float32, n int, hp *[9]float32)
TEXT ·adamwAVX2(SB), NOSPLIT, $0-48
	MOVQ param+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ mom+16(FP), R8
	MOVQ vel+24(FP), R9
	MOVQ n+32(FP), CX
	SHLQ $2, CX
	MOVQ hp+40(FP), AX
	VBROADCASTSS 0(AX), Y7
	VBROADCASTSS 4(AX), Y8
	VBROADCASTSS 8(AX), Y9
	VBROADCASTSS 12(AX), Y10
	VBROADCASTSS 16(AX), Y11
	VBROADCASTSS 20(AX), Y12
	VBROADCASTSS 24(AX), Y13
	VBROADCASTSS 28(AX), Y14
	VBROADCASTSS 32(AX), Y15
	XORQ DX, DX
adam2loop:
	CMPQ DX, CX
	JGE adam2done
	VMOVUPS (SI)(DX*1), Y0 // g
	VMULPS (R8)(DX*1), Y7, Y1 // beta1·m
	VFMADD231PS Y8, Y0, Y1
	VMULPS Y0, Y0, Y2
	VMULPS (R9)(DX*1), Y9, Y3 // beta2·v
	VFMADD231PS Y10, Y2, Y3
	VMOVUPS Y1, (R8)(DX*1)
	VMOVUPS Y3, (R9)(DX*1)
	VMULPS Y11, Y1, Y1 // mhat
	VMULPS Y12, Y3, Y3 // vhat
	VSQRTPS Y3, Y3
	VADDPS Y14, Y3, Y3
	VDIVPS Y3, Y1, Y1
	VMOVUPS (DI)(DX*1), Y4
	VFMADD231PS Y15, Y4, Y1 // + wd·p
	VFNMADD231PS Y13, Y1, Y4 // p -= lr·(...)
	VMOVUPS Y4, (DI)(DX*1)
	ADDQ $32, DX
	JMP adam2loop
adam2done:
	VZEROUPPER
	RET
