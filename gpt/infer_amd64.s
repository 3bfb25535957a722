//go:build amd64 && !purego

#include "textflag.h"

// REDUCE4 turns the Z accumulators z0..z3 into their four horizontal sums,
// in order, in x0. It clobbers y1..y3 and x1 (the low halves of z1..z3).
#define REDUCE4(z0, z1, z2, z3, y0, y1, y2, y3, x0, x1, t) \
	VEXTRACTF64X4 $1, z0, t; VADDPS t, y0, y0; \
	VEXTRACTF64X4 $1, z1, t; VADDPS t, y1, y1; \
	VEXTRACTF64X4 $1, z2, t; VADDPS t, y2, y2; \
	VEXTRACTF64X4 $1, z3, t; VADDPS t, y3, y3; \
	VHADDPS y1, y0, y0; VHADDPS y3, y2, y2; VHADDPS y2, y0, y0; \
	VEXTRACTF128 $1, y0, x1; VADDPS x1, x0, x0

// func gemvF32AVX512(k, n int, x, w, out *float32)
// out[j] = sum over p < k of x[p]*w[j*k+p] for j < n; k%16 == 0, n%4 == 0.
TEXT ·gemvF32AVX512(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	SHLQ $2, CX                // row length in bytes
	MOVQ n+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ w+24(FP), BX
	MOVQ out+32(FP), DI
	MOVQ CX, R14
	ANDQ $-128, R14            // bytes covered by the two-vector loop
	TESTQ DX, DX
	JZ f32done

f32rows:
	LEAQ (BX)(CX*1), R11
	LEAQ (R11)(CX*1), R12
	LEAQ (R12)(CX*1), R13
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ AX, AX
	TESTQ R14, R14
	JZ f32tail

	// Two vectors of x per step and eight accumulators, so that enough
	// independent FMA chains cover the FMA latency.
f32loop:
	VMOVUPS (SI)(AX*1), Z16
	VMOVUPS 64(SI)(AX*1), Z17
	VFMADD231PS (BX)(AX*1), Z16, Z0
	VFMADD231PS 64(BX)(AX*1), Z17, Z4
	VFMADD231PS (R11)(AX*1), Z16, Z1
	VFMADD231PS 64(R11)(AX*1), Z17, Z5
	VFMADD231PS (R12)(AX*1), Z16, Z2
	VFMADD231PS 64(R12)(AX*1), Z17, Z6
	VFMADD231PS (R13)(AX*1), Z16, Z3
	VFMADD231PS 64(R13)(AX*1), Z17, Z7
	ADDQ $128, AX
	CMPQ AX, R14
	JLT f32loop

f32tail:
	CMPQ AX, CX
	JGE f32reduce
	VMOVUPS (SI)(AX*1), Z16
	VFMADD231PS (BX)(AX*1), Z16, Z0
	VFMADD231PS (R11)(AX*1), Z16, Z1
	VFMADD231PS (R12)(AX*1), Z16, Z2
	VFMADD231PS (R13)(AX*1), Z16, Z3

f32reduce:
	VADDPS Z4, Z0, Z0
	VADDPS Z5, Z1, Z1
	VADDPS Z6, Z2, Z2
	VADDPS Z7, Z3, Z3
	REDUCE4(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1, Y16)
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	LEAQ (BX)(CX*4), BX
	SUBQ $4, DX
	JNZ f32rows

f32done:
	VZEROUPPER
	RET

// func gemvF16AVX512(k, n int, x *float32, w *uint16, out *float32)
// out[j] = sum over p < k of x[p]*float32(w[j*k+p]) for j < n, where w
// holds IEEE half-precision values; k%16 == 0, n%4 == 0.
TEXT ·gemvF16AVX512(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	SHLQ $1, CX                // row length in bytes
	MOVQ n+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ w+24(FP), BX
	MOVQ out+32(FP), DI
	MOVQ CX, R14
	ANDQ $-64, R14             // bytes of w covered by the two-vector loop
	TESTQ DX, DX
	JZ f16done

f16rows:
	LEAQ (BX)(CX*1), R11
	LEAQ (R11)(CX*1), R12
	LEAQ (R12)(CX*1), R13
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ AX, AX                // byte offset in the rows of w
	TESTQ R14, R14
	JZ f16tail

f16loop:
	VMOVUPS (SI)(AX*2), Z16
	VMOVUPS 64(SI)(AX*2), Z17
	VCVTPH2PS (BX)(AX*1), Z18
	VCVTPH2PS 32(BX)(AX*1), Z19
	VCVTPH2PS (R11)(AX*1), Z20
	VCVTPH2PS 32(R11)(AX*1), Z21
	VCVTPH2PS (R12)(AX*1), Z22
	VCVTPH2PS 32(R12)(AX*1), Z23
	VCVTPH2PS (R13)(AX*1), Z24
	VCVTPH2PS 32(R13)(AX*1), Z25
	VFMADD231PS Z18, Z16, Z0
	VFMADD231PS Z19, Z17, Z4
	VFMADD231PS Z20, Z16, Z1
	VFMADD231PS Z21, Z17, Z5
	VFMADD231PS Z22, Z16, Z2
	VFMADD231PS Z23, Z17, Z6
	VFMADD231PS Z24, Z16, Z3
	VFMADD231PS Z25, Z17, Z7
	ADDQ $64, AX
	CMPQ AX, R14
	JLT f16loop

f16tail:
	CMPQ AX, CX
	JGE f16reduce
	VMOVUPS (SI)(AX*2), Z16
	VCVTPH2PS (BX)(AX*1), Z18
	VCVTPH2PS (R11)(AX*1), Z20
	VCVTPH2PS (R12)(AX*1), Z22
	VCVTPH2PS (R13)(AX*1), Z24
	VFMADD231PS Z18, Z16, Z0
	VFMADD231PS Z20, Z16, Z1
	VFMADD231PS Z22, Z16, Z2
	VFMADD231PS Z24, Z16, Z3

f16reduce:
	VADDPS Z4, Z0, Z0
	VADDPS Z5, Z1, Z1
	VADDPS Z6, Z2, Z2
	VADDPS Z7, Z3, Z3
	REDUCE4(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1, Y16)
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	LEAQ (BX)(CX*4), BX
	SUBQ $4, DX
	JNZ f16rows

f16done:
	VZEROUPPER
	RET

// func mixAVX512(n, hd int, p, v, y *float32)
// y[d] = sum over j < n of p[j]*v[j*hd+d] for d < hd; hd%16 == 0.
TEXT ·mixAVX512(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ hd+8(FP), DX
	MOVQ p+16(FP), SI
	MOVQ v+24(FP), BX
	MOVQ y+32(FP), DI
	MOVQ DX, R8
	SHLQ $2, R8                // row stride of v in bytes
	XORQ R9, R9                // byte offset of the current 16 columns

mixcols:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	LEAQ (BX)(R9*1), R10       // v[0][cols]
	XORQ AX, AX                // j
	MOVQ CX, R11
	ANDQ $-4, R11
	TESTQ R11, R11
	JZ mixtail

	// Four rows per step into four accumulators.
mixloop:
	VBROADCASTSS (SI)(AX*4), Z16
	VBROADCASTSS 4(SI)(AX*4), Z17
	VBROADCASTSS 8(SI)(AX*4), Z18
	VBROADCASTSS 12(SI)(AX*4), Z19
	LEAQ (R10)(R8*1), R12
	LEAQ (R12)(R8*1), R13
	LEAQ (R13)(R8*1), R14
	VFMADD231PS (R10), Z16, Z0
	VFMADD231PS (R12), Z17, Z1
	VFMADD231PS (R13), Z18, Z2
	VFMADD231PS (R14), Z19, Z3
	LEAQ (R10)(R8*4), R10
	ADDQ $4, AX
	CMPQ AX, R11
	JLT mixloop

mixtail:
	CMPQ AX, CX
	JGE mixstore
	VBROADCASTSS (SI)(AX*4), Z16
	VFMADD231PS (R10), Z16, Z0
	ADDQ R8, R10
	INCQ AX
	JMP mixtail

mixstore:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VMOVUPS Z0, (DI)(R9*1)
	ADDQ $64, R9
	CMPQ R9, R8
	JLT mixcols

	VZEROUPPER
	RET

// func toHalfAVX512(n int, src *float32, dst *uint16)
// dst[i] = src[i] rounded to the nearest half-precision value; n%16 == 0.
TEXT ·toHalfAVX512(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
	XORQ AX, AX
	TESTQ CX, CX
	JZ halfdone

halfloop:
	VMOVUPS (SI)(AX*4), Z0
	VCVTPS2PH $0, Z0, (DI)(AX*2)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT halfloop

halfdone:
	VZEROUPPER
	RET

// func gemvQ8AVX512(k, n int, x *float32, w *int8, scale *float32, out *float32)
// out[j] = scale[j] * sum over p < k of x[p]*float32(w[j*k+p]) for j < n;
// k%16 == 0, n%4 == 0.
TEXT ·gemvQ8AVX512(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX           // row length in bytes
	MOVQ n+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ w+24(FP), BX
	MOVQ scale+32(FP), R9
	MOVQ out+40(FP), DI
	MOVQ CX, R14
	ANDQ $-32, R14             // bytes of w covered by the two-vector loop
	TESTQ DX, DX
	JZ q8done

q8rows:
	LEAQ (BX)(CX*1), R11
	LEAQ (R11)(CX*1), R12
	LEAQ (R12)(CX*1), R13
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ AX, AX                // byte offset in the rows of w
	TESTQ R14, R14
	JZ q8tail

q8loop:
	VMOVUPS (SI)(AX*4), Z16
	VMOVUPS 64(SI)(AX*4), Z17
	VPMOVSXBD (BX)(AX*1), Z18
	VPMOVSXBD 16(BX)(AX*1), Z19
	VPMOVSXBD (R11)(AX*1), Z20
	VPMOVSXBD 16(R11)(AX*1), Z21
	VPMOVSXBD (R12)(AX*1), Z22
	VPMOVSXBD 16(R12)(AX*1), Z23
	VPMOVSXBD (R13)(AX*1), Z24
	VPMOVSXBD 16(R13)(AX*1), Z25
	VCVTDQ2PS Z18, Z18
	VCVTDQ2PS Z19, Z19
	VCVTDQ2PS Z20, Z20
	VCVTDQ2PS Z21, Z21
	VCVTDQ2PS Z22, Z22
	VCVTDQ2PS Z23, Z23
	VCVTDQ2PS Z24, Z24
	VCVTDQ2PS Z25, Z25
	VFMADD231PS Z18, Z16, Z0
	VFMADD231PS Z19, Z17, Z4
	VFMADD231PS Z20, Z16, Z1
	VFMADD231PS Z21, Z17, Z5
	VFMADD231PS Z22, Z16, Z2
	VFMADD231PS Z23, Z17, Z6
	VFMADD231PS Z24, Z16, Z3
	VFMADD231PS Z25, Z17, Z7
	ADDQ $32, AX
	CMPQ AX, R14
	JLT q8loop

q8tail:
	CMPQ AX, CX
	JGE q8reduce
	VMOVUPS (SI)(AX*4), Z16
	VPMOVSXBD (BX)(AX*1), Z18
	VPMOVSXBD (R11)(AX*1), Z20
	VPMOVSXBD (R12)(AX*1), Z22
	VPMOVSXBD (R13)(AX*1), Z24
	VCVTDQ2PS Z18, Z18
	VCVTDQ2PS Z20, Z20
	VCVTDQ2PS Z22, Z22
	VCVTDQ2PS Z24, Z24
	VFMADD231PS Z18, Z16, Z0
	VFMADD231PS Z20, Z16, Z1
	VFMADD231PS Z22, Z16, Z2
	VFMADD231PS Z24, Z16, Z3

q8reduce:
	VADDPS Z4, Z0, Z0
	VADDPS Z5, Z1, Z1
	VADDPS Z6, Z2, Z2
	VADDPS Z7, Z3, Z3
	REDUCE4(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1, Y16)
	VMULPS (R9), X0, X0
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	ADDQ $16, R9
	LEAQ (BX)(CX*4), BX
	SUBQ $4, DX
	JNZ q8rows

q8done:
	VZEROUPPER
	RET

// Constants of expSumAVX512: log2(e), ln 2, the clamp of x·log2(e), the
// Taylor coefficients 1/2 to 1/720 of e^y, and 1.
DATA expconst<>+0(SB)/4, $0x3fb8aa3b
DATA expconst<>+4(SB)/4, $0x3f317218
DATA expconst<>+8(SB)/4, $0xc3160000
DATA expconst<>+12(SB)/4, $0x3f000000
DATA expconst<>+16(SB)/4, $0x3e2aaaab
DATA expconst<>+20(SB)/4, $0x3d2aaaab
DATA expconst<>+24(SB)/4, $0x3c088889
DATA expconst<>+28(SB)/4, $0x3ab60b61
DATA expconst<>+32(SB)/4, $0x3f800000
GLOBL expconst<>(SB), RODATA|NOPTR, $36

// func expSumAVX512(n int, x *float32, shift, scale float32) float32
// x[i] = e^((x[i]-shift)·scale) for i < n, and returns their sum;
// n%16 == 0. The exponent t = (x-shift)·scale·log2(e) is clamped at -150,
// split into its nearest integer m and a rest f, and e^(f·ln 2) from its
// degree-6 Taylor series is scaled by 2^m with VSCALEFPS, which returns 0
// for results below the float32 range.
TEXT ·expSumAVX512(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	VBROADCASTSS shift+16(FP), Z20
	VBROADCASTSS scale+20(FP), Z21
	VBROADCASTSS expconst<>+0(SB), Z22
	VBROADCASTSS expconst<>+4(SB), Z23
	VBROADCASTSS expconst<>+8(SB), Z24
	VBROADCASTSS expconst<>+12(SB), Z26
	VBROADCASTSS expconst<>+16(SB), Z27
	VBROADCASTSS expconst<>+20(SB), Z28
	VBROADCASTSS expconst<>+24(SB), Z29
	VBROADCASTSS expconst<>+28(SB), Z30
	VBROADCASTSS expconst<>+32(SB), Z31
	VPXORD Z0, Z0, Z0
	XORQ AX, AX

exploop:
	CMPQ AX, CX
	JGE expdone
	VMOVUPS (SI)(AX*4), Z1
	VSUBPS Z20, Z1, Z1
	VMULPS Z21, Z1, Z1
	VMULPS Z22, Z1, Z1
	VMAXPS Z24, Z1, Z1
	VRNDSCALEPS $0, Z1, Z2
	VSUBPS Z2, Z1, Z1
	VMULPS Z23, Z1, Z1
	VMOVAPS Z30, Z3
	VFMADD213PS Z29, Z1, Z3
	VFMADD213PS Z28, Z1, Z3
	VFMADD213PS Z27, Z1, Z3
	VFMADD213PS Z26, Z1, Z3
	VFMADD213PS Z31, Z1, Z3
	VFMADD213PS Z31, Z1, Z3
	VSCALEFPS Z2, Z3, Z3
	VMOVUPS Z3, (SI)(AX*4)
	VADDPS Z3, Z0, Z0
	ADDQ $16, AX
	JMP exploop

expdone:
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func mixF16AVX512(n, hd int, p *float32, v *uint16, y *float32)
// y[d] = sum over j < n of p[j]*float32(v[j*hd+d]) for d < hd, where v
// holds half-precision values; hd%16 == 0.
TEXT ·mixF16AVX512(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ hd+8(FP), DX
	MOVQ p+16(FP), SI
	MOVQ v+24(FP), BX
	MOVQ y+32(FP), DI
	MOVQ DX, R8
	SHLQ $1, R8                // row stride of v in bytes
	XORQ R9, R9                // byte offset in v of the current 16 columns

mixhcols:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	LEAQ (BX)(R9*1), R10
	XORQ AX, AX
	MOVQ CX, R11
	ANDQ $-4, R11
	TESTQ R11, R11
	JZ mixhtail

mixhloop:
	VBROADCASTSS (SI)(AX*4), Z16
	VBROADCASTSS 4(SI)(AX*4), Z17
	VBROADCASTSS 8(SI)(AX*4), Z18
	VBROADCASTSS 12(SI)(AX*4), Z19
	LEAQ (R10)(R8*1), R12
	LEAQ (R12)(R8*1), R13
	LEAQ (R13)(R8*1), R14
	VCVTPH2PS (R10), Z20
	VCVTPH2PS (R12), Z21
	VCVTPH2PS (R13), Z22
	VCVTPH2PS (R14), Z23
	VFMADD231PS Z20, Z16, Z0
	VFMADD231PS Z21, Z17, Z1
	VFMADD231PS Z22, Z18, Z2
	VFMADD231PS Z23, Z19, Z3
	LEAQ (R10)(R8*4), R10
	ADDQ $4, AX
	CMPQ AX, R11
	JLT mixhloop

mixhtail:
	CMPQ AX, CX
	JGE mixhstore
	VBROADCASTSS (SI)(AX*4), Z16
	VCVTPH2PS (R10), Z20
	VFMADD231PS Z20, Z16, Z0
	ADDQ R8, R10
	INCQ AX
	JMP mixhtail

mixhstore:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VMOVUPS Z0, (DI)(R9*2)
	ADDQ $32, R9
	CMPQ R9, R8
	JLT mixhcols

	VZEROUPPER
	RET

// func quantI16AVX512(n int, x *float32, dst *int16) (maxAbs, sum float32)
// Sets dst[i] = round(x[i]·32767/maxAbs) for i < n, n%16 == 0, and
// returns maxAbs = max|x[i]| and the sum of x, by which the caller tells
// a vector holding NaN or an infinity. With maxAbs 0 or not finite, dst
// is left unset.
TEXT ·quantI16AVX512(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ dst+16(FP), DI
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z31       // mask of everything but the sign bit
	VPXORD Z0, Z0, Z0          // max |x|
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2          // sum of x
	VPXORD Z3, Z3, Z3
	XORQ AX, AX

qmax:
	VMOVUPS (SI)(AX*4), Z16
	VADDPS Z16, Z2, Z2
	VPANDD Z31, Z16, Z16
	VMAXPS Z16, Z0, Z0
	ADDQ $16, AX
	CMPQ AX, CX
	JLT qmax

	VMAXPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS Y1, Y0, Y0
	VEXTRACTF64X4 $1, Z2, Y3
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
	JP qdone
	JAE qdone
	VXORPS X5, X5, X5
	UCOMISS X5, X0
	JE qdone
	MOVL $0x46fffe00, AX       // 32767
	MOVD AX, X4
	DIVSS X0, X4
	VBROADCASTSS X4, Z4
	XORQ AX, AX

qscale:
	VMULPS (SI)(AX*4), Z4, Z16
	VCVTPS2DQ Z16, Z16         // round to nearest even
	VPMOVDW Z16, (DI)(AX*2)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT qscale

qdone:
	VZEROUPPER
	RET

// func gemvQ8I16AVX512(k, n int, x *int16, w *int8, scale *float32, xs float32, out *float32)
// out[j] = xs·scale[j]·(sum over p < k of x[p]·w[j*k+p]) for j < n, with
// the sums in int32 lanes; k%16 == 0, n%4 == 0. Each VPMADDWD multiplies
// 32 pairs of 16-bit values and adds neighbours into 16 int32 lanes, which
// hold k/32 such sums each, so for k <= 8192 they cannot overflow; the
// lanes are added in float32.
TEXT ·gemvQ8I16AVX512(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), CX           // row length in bytes
	MOVQ n+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ w+24(FP), BX
	MOVQ scale+32(FP), R9
	VBROADCASTSS xs+40(FP), X15
	MOVQ out+48(FP), DI
	MOVQ CX, R14
	ANDQ $-64, R14             // bytes of w covered by the two-vector loop
	TESTQ DX, DX
	JZ qidone

qirows:
	LEAQ (BX)(CX*1), R11
	LEAQ (R11)(CX*1), R12
	LEAQ (R12)(CX*1), R13
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ AX, AX                // byte offset in the rows of w
	TESTQ R14, R14
	JZ qitail

qiloop:
	VMOVDQU64 (SI)(AX*2), Z16
	VMOVDQU64 64(SI)(AX*2), Z17
	VPMOVSXBW (BX)(AX*1), Z18
	VPMOVSXBW 32(BX)(AX*1), Z19
	VPMOVSXBW (R11)(AX*1), Z20
	VPMOVSXBW 32(R11)(AX*1), Z21
	VPMOVSXBW (R12)(AX*1), Z22
	VPMOVSXBW 32(R12)(AX*1), Z23
	VPMOVSXBW (R13)(AX*1), Z24
	VPMOVSXBW 32(R13)(AX*1), Z25
	VPMADDWD Z18, Z16, Z18
	VPMADDWD Z19, Z17, Z19
	VPMADDWD Z20, Z16, Z20
	VPMADDWD Z21, Z17, Z21
	VPMADDWD Z22, Z16, Z22
	VPMADDWD Z23, Z17, Z23
	VPMADDWD Z24, Z16, Z24
	VPMADDWD Z25, Z17, Z25
	VPADDD Z18, Z0, Z0
	VPADDD Z19, Z4, Z4
	VPADDD Z20, Z1, Z1
	VPADDD Z21, Z5, Z5
	VPADDD Z22, Z2, Z2
	VPADDD Z23, Z6, Z6
	VPADDD Z24, Z3, Z3
	VPADDD Z25, Z7, Z7
	ADDQ $64, AX
	CMPQ AX, R14
	JLT qiloop

qitail:
	MOVQ CX, R10
	SUBQ AX, R10
	CMPQ R10, $32
	JLT qitail16
	VMOVDQU64 (SI)(AX*2), Z16
	VPMOVSXBW (BX)(AX*1), Z18
	VPMOVSXBW (R11)(AX*1), Z20
	VPMOVSXBW (R12)(AX*1), Z22
	VPMOVSXBW (R13)(AX*1), Z24
	VPMADDWD Z18, Z16, Z18
	VPMADDWD Z20, Z16, Z20
	VPMADDWD Z22, Z16, Z22
	VPMADDWD Z24, Z16, Z24
	VPADDD Z18, Z0, Z0
	VPADDD Z20, Z1, Z1
	VPADDD Z22, Z2, Z2
	VPADDD Z24, Z3, Z3
	ADDQ $32, AX

qitail16:
	// 16 elements left at most: ymm products, whose upper halves are 0,
	// added to the zmm lanes.
	CMPQ AX, CX
	JGE qireduce
	VMOVDQU64 (SI)(AX*2), Y16
	VPMOVSXBW (BX)(AX*1), Y18
	VPMOVSXBW (R11)(AX*1), Y20
	VPMOVSXBW (R12)(AX*1), Y22
	VPMOVSXBW (R13)(AX*1), Y24
	VPMADDWD Y18, Y16, Y18
	VPMADDWD Y20, Y16, Y20
	VPMADDWD Y22, Y16, Y22
	VPMADDWD Y24, Y16, Y24
	VPADDD Z18, Z0, Z0
	VPADDD Z20, Z1, Z1
	VPADDD Z22, Z2, Z2
	VPADDD Z24, Z3, Z3

qireduce:
	VPADDD Z4, Z0, Z0
	VPADDD Z5, Z1, Z1
	VPADDD Z6, Z2, Z2
	VPADDD Z7, Z3, Z3
	VCVTDQ2PS Z0, Z0
	VCVTDQ2PS Z1, Z1
	VCVTDQ2PS Z2, Z2
	VCVTDQ2PS Z3, Z3
	REDUCE4(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1, Y16)
	VMULPS (R9), X0, X0
	VMULPS X15, X0, X0
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	ADDQ $16, R9
	LEAQ (BX)(CX*4), BX
	SUBQ $4, DX
	JNZ qirows

qidone:
	VZEROUPPER
	RET

// func quantRowAVX512(k int, w *float32, q *int8) (maxAbs float32)
// Returns m = max|w[i]| over the k%16 == 0 weights and, when m is not 0,
// sets q[i] to w[i]·127/m rounded half away from zero, as the Go loop of
// quantizeRows does: x + copysign(0.5, x), truncated.
TEXT ·quantRowAVX512(SB), NOSPLIT, $0-28
	MOVQ k+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ q+16(FP), DI
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z31       // everything but the sign bit
	VPXORD Z0, Z0, Z0
	XORQ AX, AX

rmax:
	VPANDD (SI)(AX*4), Z31, Z16
	VMAXPS Z16, Z0, Z0
	ADDQ $16, AX
	CMPQ AX, CX
	JLT rmax

	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	MOVSS X0, maxAbs+24(FP)
	VXORPS X5, X5, X5
	UCOMISS X5, X0
	JE rdone
	JP rdone
	MOVL $0x42fe0000, AX       // 127
	MOVD AX, X4
	DIVSS X0, X4
	VBROADCASTSS X4, Z4
	MOVL $0x3f000000, AX       // 0.5
	VPBROADCASTD AX, Z30
	VPTERNLOGD $0xff, Z29, Z29, Z29
	VPXORD Z31, Z29, Z29       // the sign bit alone
	XORQ AX, AX

rscale:
	VMULPS (SI)(AX*4), Z4, Z16
	VPANDD Z29, Z16, Z17       // sign of x
	VPORD Z30, Z17, Z17        // ±0.5
	VADDPS Z17, Z16, Z16
	VCVTTPS2DQ Z16, Z16
	VPMOVDB Z16, (DI)(AX*1)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT rscale

rdone:
	VZEROUPPER
	RET

// func gemvQ8I16VNNI(k, n int, x *int16, w *int8, scale *float32, xs float32, out *float32)
// gemvQ8I16AVX512 with VPDPWSSD (AVX512-VNNI), which multiplies and adds
// the pairs into the lanes in one instruction; k%16 == 0, n%4 == 0.
TEXT ·gemvQ8I16VNNI(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), CX           // row length in bytes
	MOVQ n+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ w+24(FP), BX
	MOVQ scale+32(FP), R9
	VBROADCASTSS xs+40(FP), X15
	MOVQ out+48(FP), DI
	MOVQ CX, R14
	ANDQ $-64, R14             // bytes of w covered by the two-vector loop
	TESTQ DX, DX
	JZ qvdone

qvrows:
	LEAQ (BX)(CX*1), R11
	LEAQ (R11)(CX*1), R12
	LEAQ (R12)(CX*1), R13
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ AX, AX                // byte offset in the rows of w
	TESTQ R14, R14
	JZ qvtail

qvloop:
	VMOVDQU64 (SI)(AX*2), Z16
	VMOVDQU64 64(SI)(AX*2), Z17
	VPMOVSXBW (BX)(AX*1), Z18
	VPMOVSXBW 32(BX)(AX*1), Z19
	VPMOVSXBW (R11)(AX*1), Z20
	VPMOVSXBW 32(R11)(AX*1), Z21
	VPMOVSXBW (R12)(AX*1), Z22
	VPMOVSXBW 32(R12)(AX*1), Z23
	VPMOVSXBW (R13)(AX*1), Z24
	VPMOVSXBW 32(R13)(AX*1), Z25
	VPDPWSSD Z18, Z16, Z0
	VPDPWSSD Z19, Z17, Z4
	VPDPWSSD Z20, Z16, Z1
	VPDPWSSD Z21, Z17, Z5
	VPDPWSSD Z22, Z16, Z2
	VPDPWSSD Z23, Z17, Z6
	VPDPWSSD Z24, Z16, Z3
	VPDPWSSD Z25, Z17, Z7
	ADDQ $64, AX
	CMPQ AX, R14
	JLT qvloop

qvtail:
	MOVQ CX, R10
	SUBQ AX, R10
	CMPQ R10, $32
	JLT qvtail16
	VMOVDQU64 (SI)(AX*2), Z16
	VPMOVSXBW (BX)(AX*1), Z18
	VPMOVSXBW (R11)(AX*1), Z20
	VPMOVSXBW (R12)(AX*1), Z22
	VPMOVSXBW (R13)(AX*1), Z24
	VPDPWSSD Z18, Z16, Z0
	VPDPWSSD Z20, Z16, Z1
	VPDPWSSD Z22, Z16, Z2
	VPDPWSSD Z24, Z16, Z3
	ADDQ $32, AX

qvtail16:
	// 16 elements left at most: ymm products, whose upper halves are 0,
	// added to the zmm lanes.
	CMPQ AX, CX
	JGE qvreduce
	VMOVDQU64 (SI)(AX*2), Y16
	VPMOVSXBW (BX)(AX*1), Y18
	VPMOVSXBW (R11)(AX*1), Y20
	VPMOVSXBW (R12)(AX*1), Y22
	VPMOVSXBW (R13)(AX*1), Y24
	VPDPWSSD Z18, Z16, Z0
	VPDPWSSD Z20, Z16, Z1
	VPDPWSSD Z22, Z16, Z2
	VPDPWSSD Z24, Z16, Z3

qvreduce:
	VPADDD Z4, Z0, Z0
	VPADDD Z5, Z1, Z1
	VPADDD Z6, Z2, Z2
	VPADDD Z7, Z3, Z3
	VCVTDQ2PS Z0, Z0
	VCVTDQ2PS Z1, Z1
	VCVTDQ2PS Z2, Z2
	VCVTDQ2PS Z3, Z3
	REDUCE4(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1, Y16)
	VMULPS (R9), X0, X0
	VMULPS X15, X0, X0
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	ADDQ $16, R9
	LEAQ (BX)(CX*4), BX
	SUBQ $4, DX
	JNZ qvrows

qvdone:
	VZEROUPPER
	RET
