//go:build amd64 && !purego

#include "textflag.h"

// The AVX2 decode kernels: the AVX-512 ones of infer_amd64.s with 8-lane
// vectors, for machines without AVX-512. They need AVX2, FMA and F16C.

// REDUCE4Y turns the Y accumulators y0..y3 into their four horizontal
// sums, in order, in x0. It clobbers y2 and x1.
#define REDUCE4Y(y0, y1, y2, y3, x0, x1) \
	VHADDPS y1, y0, y0; VHADDPS y3, y2, y2; VHADDPS y2, y0, y0; \
	VEXTRACTF128 $1, y0, x1; VADDPS x1, x0, x0

// func gemvF32AVX2(k, n int, x, w, out *float32)
// out[j] = sum over p < k of x[p]*w[j*k+p] for j < n; k%16 == 0, n%4 == 0.
TEXT ·gemvF32AVX2(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	SHLQ $2, CX                // row length in bytes
	MOVQ n+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ w+24(FP), BX
	MOVQ out+32(FP), DI
	TESTQ DX, DX
	JZ a32done

a32rows:
	LEAQ (BX)(CX*1), R11
	LEAQ (R11)(CX*1), R12
	LEAQ (R12)(CX*1), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX                // byte offset in the rows of w

a32loop:
	VMOVUPS (SI)(AX*1), Y8
	VMOVUPS 32(SI)(AX*1), Y9
	VFMADD231PS (BX)(AX*1), Y8, Y0
	VFMADD231PS 32(BX)(AX*1), Y9, Y4
	VFMADD231PS (R11)(AX*1), Y8, Y1
	VFMADD231PS 32(R11)(AX*1), Y9, Y5
	VFMADD231PS (R12)(AX*1), Y8, Y2
	VFMADD231PS 32(R12)(AX*1), Y9, Y6
	VFMADD231PS (R13)(AX*1), Y8, Y3
	VFMADD231PS 32(R13)(AX*1), Y9, Y7
	ADDQ $64, AX
	CMPQ AX, CX
	JLT a32loop

	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	REDUCE4Y(Y0, Y1, Y2, Y3, X0, X1)
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	LEAQ (BX)(CX*4), BX
	SUBQ $4, DX
	JNZ a32rows

a32done:
	VZEROUPPER
	RET

// func gemvF16AVX2(k, n int, x *float32, w *uint16, out *float32)
// gemvF32AVX2 with w in half precision; k%16 == 0, n%4 == 0.
TEXT ·gemvF16AVX2(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	SHLQ $1, CX                // row length in bytes
	MOVQ n+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ w+24(FP), BX
	MOVQ out+32(FP), DI
	TESTQ DX, DX
	JZ a16done

a16rows:
	LEAQ (BX)(CX*1), R11
	LEAQ (R11)(CX*1), R12
	LEAQ (R12)(CX*1), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX                // byte offset in the rows of w

a16loop:
	VMOVUPS (SI)(AX*2), Y8
	VMOVUPS 32(SI)(AX*2), Y9
	VCVTPH2PS (BX)(AX*1), Y10
	VCVTPH2PS 16(BX)(AX*1), Y11
	VCVTPH2PS (R11)(AX*1), Y12
	VCVTPH2PS 16(R11)(AX*1), Y13
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y11, Y9, Y4
	VFMADD231PS Y12, Y8, Y1
	VFMADD231PS Y13, Y9, Y5
	VCVTPH2PS (R12)(AX*1), Y10
	VCVTPH2PS 16(R12)(AX*1), Y11
	VCVTPH2PS (R13)(AX*1), Y12
	VCVTPH2PS 16(R13)(AX*1), Y13
	VFMADD231PS Y10, Y8, Y2
	VFMADD231PS Y11, Y9, Y6
	VFMADD231PS Y12, Y8, Y3
	VFMADD231PS Y13, Y9, Y7
	ADDQ $32, AX
	CMPQ AX, CX
	JLT a16loop

	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	REDUCE4Y(Y0, Y1, Y2, Y3, X0, X1)
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	LEAQ (BX)(CX*4), BX
	SUBQ $4, DX
	JNZ a16rows

a16done:
	VZEROUPPER
	RET

// func gemvQ8I16AVX2(k, n int, x *int16, w *int8, scale *float32, xs float32, out *float32)
// out[j] = xs·scale[j]·(sum over p < k of x[p]·w[j*k+p]) for j < n, with
// the sums in int32 lanes; k%16 == 0, n%4 == 0. Each of the 8 lanes holds
// k/16 sums of two products, so for k <= 4096 they cannot overflow; the
// lanes are added in float32.
TEXT ·gemvQ8I16AVX2(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), CX           // row length in bytes
	MOVQ n+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ w+24(FP), BX
	MOVQ scale+32(FP), R9
	VBROADCASTSS xs+40(FP), X15
	MOVQ out+48(FP), DI
	MOVQ CX, R14
	ANDQ $-32, R14             // bytes of w covered by the two-vector loop
	TESTQ DX, DX
	JZ aqdone

aqrows:
	LEAQ (BX)(CX*1), R11
	LEAQ (R11)(CX*1), R12
	LEAQ (R12)(CX*1), R13
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	XORQ AX, AX                // byte offset in the rows of w
	TESTQ R14, R14
	JZ aqtail

aqloop:
	VMOVDQU (SI)(AX*2), Y8
	VMOVDQU 32(SI)(AX*2), Y9
	VPMOVSXBW (BX)(AX*1), Y10
	VPMOVSXBW 16(BX)(AX*1), Y11
	VPMOVSXBW (R11)(AX*1), Y12
	VPMOVSXBW 16(R11)(AX*1), Y13
	VPMADDWD Y10, Y8, Y10
	VPMADDWD Y11, Y9, Y11
	VPMADDWD Y12, Y8, Y12
	VPMADDWD Y13, Y9, Y13
	VPADDD Y10, Y0, Y0
	VPADDD Y11, Y4, Y4
	VPADDD Y12, Y1, Y1
	VPADDD Y13, Y5, Y5
	VPMOVSXBW (R12)(AX*1), Y10
	VPMOVSXBW 16(R12)(AX*1), Y11
	VPMOVSXBW (R13)(AX*1), Y12
	VPMOVSXBW 16(R13)(AX*1), Y13
	VPMADDWD Y10, Y8, Y10
	VPMADDWD Y11, Y9, Y11
	VPMADDWD Y12, Y8, Y12
	VPMADDWD Y13, Y9, Y13
	VPADDD Y10, Y2, Y2
	VPADDD Y11, Y6, Y6
	VPADDD Y12, Y3, Y3
	VPADDD Y13, Y7, Y7
	ADDQ $32, AX
	CMPQ AX, R14
	JLT aqloop

aqtail:
	CMPQ AX, CX
	JGE aqreduce
	VMOVDQU (SI)(AX*2), Y8
	VPMOVSXBW (BX)(AX*1), Y10
	VPMOVSXBW (R11)(AX*1), Y11
	VPMOVSXBW (R12)(AX*1), Y12
	VPMOVSXBW (R13)(AX*1), Y13
	VPMADDWD Y10, Y8, Y10
	VPMADDWD Y11, Y8, Y11
	VPMADDWD Y12, Y8, Y12
	VPMADDWD Y13, Y8, Y13
	VPADDD Y10, Y0, Y0
	VPADDD Y11, Y1, Y1
	VPADDD Y12, Y2, Y2
	VPADDD Y13, Y3, Y3

aqreduce:

	VPADDD Y4, Y0, Y0
	VPADDD Y5, Y1, Y1
	VPADDD Y6, Y2, Y2
	VPADDD Y7, Y3, Y3
	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	REDUCE4Y(Y0, Y1, Y2, Y3, X0, X1)
	VMULPS (R9), X0, X0
	VMULPS X15, X0, X0
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	ADDQ $16, R9
	LEAQ (BX)(CX*4), BX
	SUBQ $4, DX
	JNZ aqrows

aqdone:
	VZEROUPPER
	RET

// func quantI16AVX2(n int, x *float32, dst *int16) (maxAbs, sum float32)
// quantI16AVX512 with 8-lane vectors; n%16 == 0.
TEXT ·quantI16AVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ dst+16(FP), DI
	MOVL $0x7fffffff, AX
	MOVD AX, X15
	VPBROADCASTD X15, Y15      // mask of everything but the sign bit
	VXORPS Y0, Y0, Y0          // max |x|
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2          // sum of x
	VXORPS Y3, Y3, Y3
	XORQ AX, AX

aqmax:
	VMOVUPS (SI)(AX*4), Y8
	VMOVUPS 32(SI)(AX*4), Y9
	VADDPS Y8, Y2, Y2
	VADDPS Y9, Y3, Y3
	VANDPS Y15, Y8, Y8
	VANDPS Y15, Y9, Y9
	VMAXPS Y8, Y0, Y0
	VMAXPS Y9, Y1, Y1
	ADDQ $16, AX
	CMPQ AX, CX
	JLT aqmax

	VMAXPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VEXTRACTF128 $1, Y2, X3
	VADDPS X3, X2, X2
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X2, X3
	VADDPS X3, X2, X2
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X2, X3
	VADDPS X3, X2, X2
	MOVSS X0, maxAbs+24(FP)
	MOVSS X2, sum+28(FP)

	// Scale only for a finite, non-zero maximum.
	MOVL $0x7f800000, AX
	MOVD AX, X4
	UCOMISS X4, X0             // unordered or maxAbs >= +Inf: leave dst
	JP aqsdone
	JAE aqsdone
	VXORPS X5, X5, X5
	UCOMISS X5, X0
	JE aqsdone
	MOVL $0x46fffe00, AX       // 32767
	MOVD AX, X4
	DIVSS X0, X4
	VBROADCASTSS X4, Y4
	XORQ AX, AX

aqscale:
	VMULPS (SI)(AX*4), Y4, Y8
	VMULPS 32(SI)(AX*4), Y4, Y9
	VCVTPS2DQ Y8, Y8           // round to nearest even
	VCVTPS2DQ Y9, Y9
	VPACKSSDW Y9, Y8, Y8       // per 128-bit lane: 4 of Y8, then 4 of Y9
	VPERMQ $0xd8, Y8, Y8       // back to x's order
	VMOVDQU Y8, (DI)(AX*2)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT aqscale

aqsdone:
	VZEROUPPER
	RET

// func mixAVX2(n, hd int, p, v, y *float32)
// y[d] = sum over j < n of p[j]*v[j*hd+d] for d < hd; hd%16 == 0.
TEXT ·mixAVX2(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ hd+8(FP), DX
	MOVQ p+16(FP), SI
	MOVQ v+24(FP), BX
	MOVQ y+32(FP), DI
	MOVQ DX, R8
	SHLQ $2, R8                // row stride of v in bytes
	XORQ R9, R9                // byte offset of the current 8 columns

amixcols:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	LEAQ (BX)(R9*1), R10
	XORQ AX, AX
	MOVQ CX, R11
	ANDQ $-4, R11
	TESTQ R11, R11
	JZ amixtail

amixloop:
	VBROADCASTSS (SI)(AX*4), Y8
	VBROADCASTSS 4(SI)(AX*4), Y9
	VBROADCASTSS 8(SI)(AX*4), Y10
	VBROADCASTSS 12(SI)(AX*4), Y11
	LEAQ (R10)(R8*1), R12
	LEAQ (R12)(R8*1), R13
	LEAQ (R13)(R8*1), R14
	VFMADD231PS (R10), Y8, Y0
	VFMADD231PS (R12), Y9, Y1
	VFMADD231PS (R13), Y10, Y2
	VFMADD231PS (R14), Y11, Y3
	LEAQ (R10)(R8*4), R10
	ADDQ $4, AX
	CMPQ AX, R11
	JLT amixloop

amixtail:
	CMPQ AX, CX
	JGE amixstore
	VBROADCASTSS (SI)(AX*4), Y8
	VFMADD231PS (R10), Y8, Y0
	ADDQ R8, R10
	INCQ AX
	JMP amixtail

amixstore:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VMOVUPS Y0, (DI)(R9*1)
	ADDQ $32, R9
	CMPQ R9, R8
	JLT amixcols

	VZEROUPPER
	RET

// func mixF16AVX2(n, hd int, p *float32, v *uint16, y *float32)
// mixAVX2 with v in half precision; hd%16 == 0.
TEXT ·mixF16AVX2(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ hd+8(FP), DX
	MOVQ p+16(FP), SI
	MOVQ v+24(FP), BX
	MOVQ y+32(FP), DI
	MOVQ DX, R8
	SHLQ $1, R8                // row stride of v in bytes
	XORQ R9, R9                // byte offset in v of the current 8 columns

amhcols:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	LEAQ (BX)(R9*1), R10
	XORQ AX, AX
	MOVQ CX, R11
	ANDQ $-4, R11
	TESTQ R11, R11
	JZ amhtail

amhloop:
	VBROADCASTSS (SI)(AX*4), Y8
	VBROADCASTSS 4(SI)(AX*4), Y9
	VBROADCASTSS 8(SI)(AX*4), Y10
	VBROADCASTSS 12(SI)(AX*4), Y11
	LEAQ (R10)(R8*1), R12
	LEAQ (R12)(R8*1), R13
	LEAQ (R13)(R8*1), R14
	VCVTPH2PS (R10), Y12
	VCVTPH2PS (R12), Y13
	VCVTPH2PS (R13), Y14
	VCVTPH2PS (R14), Y15
	VFMADD231PS Y12, Y8, Y0
	VFMADD231PS Y13, Y9, Y1
	VFMADD231PS Y14, Y10, Y2
	VFMADD231PS Y15, Y11, Y3
	LEAQ (R10)(R8*4), R10
	ADDQ $4, AX
	CMPQ AX, R11
	JLT amhloop

amhtail:
	CMPQ AX, CX
	JGE amhstore
	VBROADCASTSS (SI)(AX*4), Y8
	VCVTPH2PS (R10), Y12
	VFMADD231PS Y12, Y8, Y0
	ADDQ R8, R10
	INCQ AX
	JMP amhtail

amhstore:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VMOVUPS Y0, (DI)(R9*2)     // y's columns are 4 bytes to v's 2
	ADDQ $16, R9
	CMPQ R9, R8
	JLT amhcols

	VZEROUPPER
	RET

// func toHalfAVX2(n int, src *float32, dst *uint16)
// dst[i] = src[i] rounded to the nearest half-precision value; n%8 == 0.
TEXT ·toHalfAVX2(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
	XORQ AX, AX
	TESTQ CX, CX
	JZ ahalfdone

ahalfloop:
	VMOVUPS (SI)(AX*4), Y0
	VCVTPS2PH $0, Y0, (DI)(AX*2)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT ahalfloop

ahalfdone:
	VZEROUPPER
	RET

// Constants of expSumAVX2: log2(e), ln 2, the clamp -127 of x·log2(e),
// the Taylor coefficients 1/2 to 1/720 of e^y, 1, the bounds -126 and 127
// past which the result is 0 or +Inf, +Inf, and the exponent bias 127.
DATA expconst2<>+0(SB)/4, $0x3fb8aa3b
DATA expconst2<>+4(SB)/4, $0x3f317218
DATA expconst2<>+8(SB)/4, $0xc2fe0000
DATA expconst2<>+12(SB)/4, $0x3f000000
DATA expconst2<>+16(SB)/4, $0x3e2aaaab
DATA expconst2<>+20(SB)/4, $0x3d2aaaab
DATA expconst2<>+24(SB)/4, $0x3c088889
DATA expconst2<>+28(SB)/4, $0x3ab60b61
DATA expconst2<>+32(SB)/4, $0x3f800000
DATA expconst2<>+36(SB)/4, $0xc2fc0000
DATA expconst2<>+40(SB)/4, $0x42fe0000
DATA expconst2<>+44(SB)/4, $0x7f800000
DATA expconst2<>+48(SB)/4, $127
GLOBL expconst2<>(SB), RODATA|NOPTR, $52

// func expSumAVX2(n int, x *float32, shift, scale float32) float32
// x[i] = e^((x[i]-shift)·scale) for i < n, and returns their sum; n%8 ==
// 0. As expSumAVX512, but 2^m is built in the exponent bits, so t is
// clamped at -127 and results are set to 0 below t = -126 and to +Inf
// above t = 127, as expf does.
TEXT ·expSumAVX2(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	VBROADCASTSS shift+16(FP), Y14
	VBROADCASTSS scale+20(FP), Y15
	VXORPS Y0, Y0, Y0
	XORQ AX, AX

aexploop:
	CMPQ AX, CX
	JGE aexpdone
	VMOVUPS (SI)(AX*4), Y1
	VSUBPS Y14, Y1, Y1
	VMULPS Y15, Y1, Y1
	VBROADCASTSS expconst2<>+0(SB), Y2
	VMULPS Y2, Y1, Y1          // t
	VBROADCASTSS expconst2<>+8(SB), Y2
	VMAXPS Y2, Y1, Y4          // t clamped at -127
	VROUNDPS $0, Y4, Y5        // m, the nearest integer
	VSUBPS Y5, Y4, Y4
	VBROADCASTSS expconst2<>+4(SB), Y2
	VMULPS Y2, Y4, Y4          // y = (t - m)·ln 2
	VBROADCASTSS expconst2<>+28(SB), Y3
	VBROADCASTSS expconst2<>+24(SB), Y2
	VFMADD213PS Y2, Y4, Y3
	VBROADCASTSS expconst2<>+20(SB), Y2
	VFMADD213PS Y2, Y4, Y3
	VBROADCASTSS expconst2<>+16(SB), Y2
	VFMADD213PS Y2, Y4, Y3
	VBROADCASTSS expconst2<>+12(SB), Y2
	VFMADD213PS Y2, Y4, Y3
	VBROADCASTSS expconst2<>+32(SB), Y2
	VFMADD213PS Y2, Y4, Y3
	VFMADD213PS Y2, Y4, Y3     // e^y
	VCVTPS2DQ Y5, Y5
	VPBROADCASTD expconst2<>+48(SB), Y2
	VPADDD Y2, Y5, Y5
	VPSLLD $23, Y5, Y5         // 2^m
	VMULPS Y5, Y3, Y3
	VBROADCASTSS expconst2<>+36(SB), Y2
	VCMPPS $1, Y2, Y1, Y6      // t < -126
	VANDNPS Y3, Y6, Y3
	VBROADCASTSS expconst2<>+40(SB), Y2
	VCMPPS $0x1e, Y2, Y1, Y6   // t > 127
	VBROADCASTSS expconst2<>+44(SB), Y2
	VBLENDVPS Y6, Y2, Y3, Y3
	VMOVUPS Y3, (SI)(AX*4)
	VADDPS Y3, Y0, Y0
	ADDQ $8, AX
	JMP aexploop

aexpdone:
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func quantRowAVX2(k int, w *float32, q *int8) (maxAbs float32)
// quantRowAVX512 with 8-lane vectors; k%16 == 0.
TEXT ·quantRowAVX2(SB), NOSPLIT, $0-28
	MOVQ k+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ q+16(FP), DI
	MOVL $0x7fffffff, AX
	MOVD AX, X15
	VPBROADCASTD X15, Y15      // everything but the sign bit
	VXORPS Y0, Y0, Y0
	XORQ AX, AX

armax:
	VANDPS (SI)(AX*4), Y15, Y8
	VMAXPS Y8, Y0, Y0
	ADDQ $8, AX
	CMPQ AX, CX
	JLT armax

	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	MOVSS X0, maxAbs+24(FP)
	VXORPS X5, X5, X5
	UCOMISS X5, X0
	JE ardone
	JP ardone
	MOVL $0x42fe0000, AX       // 127
	MOVD AX, X4
	DIVSS X0, X4
	VBROADCASTSS X4, Y4
	MOVL $0x3f000000, AX       // 0.5
	MOVD AX, X14
	VPBROADCASTD X14, Y14
	VPCMPEQD Y13, Y13, Y13
	VPXOR Y15, Y13, Y13        // the sign bit alone
	XORQ AX, AX

arscale:
	VMULPS (SI)(AX*4), Y4, Y8
	VMULPS 32(SI)(AX*4), Y4, Y9
	VANDPS Y13, Y8, Y10        // ±0.5 with the sign of x
	VORPS Y14, Y10, Y10
	VANDPS Y13, Y9, Y11
	VORPS Y14, Y11, Y11
	VADDPS Y10, Y8, Y8
	VADDPS Y11, Y9, Y9
	VCVTTPS2DQ Y8, Y8
	VCVTTPS2DQ Y9, Y9
	VPACKSSDW Y9, Y8, Y8       // per 128-bit lane: 4 of Y8, then 4 of Y9
	VPERMQ $0xd8, Y8, Y8       // 16 int16 in order
	VEXTRACTI128 $1, Y8, X9
	VPACKSSWB X9, X8, X8       // 16 int8 in order
	VMOVDQU X8, (DI)(AX*1)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT arscale

ardone:
	VZEROUPPER
	RET
