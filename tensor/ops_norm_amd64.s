//go:build amd64 && !purego

#include "textflag.h"

// LayerNorm row kernels: the shifted sums and the normalisation, with
// the shift and mean chosen by ops_norm.go. n is a multiple of the vector
// width; the Go wrappers run the tails.

// func sumDiffAVX512(x *float32, n int, shift float32) float32
TEXT ·sumDiffAVX512(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHLQ $2, CX
	VBROADCASTSS shift+16(FP), Z8
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	XORQ DX, DX
sumdiff512:
	CMPQ DX, CX
	JGE sumdiffdone512
	VMOVUPS (SI)(DX*1), Z4
	VSUBPS Z8, Z4, Z4
	VADDPS Z4, Z2, Z2
	ADDQ $64, DX
	CMPQ DX, CX
	JGE sumdiffdone512
	VMOVUPS (SI)(DX*1), Z5
	VSUBPS Z8, Z5, Z5
	VADDPS Z5, Z3, Z3
	ADDQ $64, DX
	JMP sumdiff512
sumdiffdone512:
	VADDPS Z3, Z2, Z2
	VEXTRACTF64X4 $1, Z2, Y1
	VADDPS Y1, Y2, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func sumSqDiffAVX512(x *float32, n int, shift, dm float32) float32
TEXT ·sumSqDiffAVX512(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHLQ $2, CX
	VBROADCASTSS shift+16(FP), Z8
	VBROADCASTSS dm+20(FP), Z9
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	XORQ DX, DX
sumsq512:
	CMPQ DX, CX
	JGE sumsqdone512
	VMOVUPS (SI)(DX*1), Z4
	VSUBPS Z8, Z4, Z4
	VSUBPS Z9, Z4, Z4
	VFMADD231PS Z4, Z4, Z2
	ADDQ $64, DX
	CMPQ DX, CX
	JGE sumsqdone512
	VMOVUPS (SI)(DX*1), Z5
	VSUBPS Z8, Z5, Z5
	VSUBPS Z9, Z5, Z5
	VFMADD231PS Z5, Z5, Z3
	ADDQ $64, DX
	JMP sumsq512
sumsqdone512:
	VADDPS Z3, Z2, Z2
	VEXTRACTF64X4 $1, Z2, Y1
	VADDPS Y1, Y2, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func lnNormAVX512(out, x, gamma, beta *float32, n int, shift, dm, rs float32)
TEXT ·lnNormAVX512(SB), NOSPLIT, $0-52
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gamma+16(FP), R8
	MOVQ beta+24(FP), R9
	MOVQ n+32(FP), CX
	SHLQ $2, CX
	VBROADCASTSS shift+40(FP), Z8
	VBROADCASTSS dm+44(FP), Z9
	VBROADCASTSS rs+48(FP), Z10
	XORQ DX, DX
lnnorm512:
	CMPQ DX, CX
	JGE lnnormdone512
	VMOVUPS (SI)(DX*1), Z0
	VSUBPS Z8, Z0, Z0
	VSUBPS Z9, Z0, Z0
	VMULPS Z10, Z0, Z0 // xhat
	VMOVUPS (R9)(DX*1), Z1
	VFMADD231PS (R8)(DX*1), Z0, Z1 // xhat·gamma + beta
	VMOVUPS Z1, (DI)(DX*1)
	ADDQ $64, DX
	JMP lnnorm512
lnnormdone512:
	VZEROUPPER
	RET

// func sumDiffAVX2(x *float32, n int, shift float32) float32
TEXT ·sumDiffAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHLQ $2, CX
	VBROADCASTSS shift+16(FP), Y8
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ DX, DX
sumdiff256:
	CMPQ DX, CX
	JGE sumdiffdone256
	VMOVUPS (SI)(DX*1), Y4
	VSUBPS Y8, Y4, Y4
	VADDPS Y4, Y2, Y2
	ADDQ $32, DX
	CMPQ DX, CX
	JGE sumdiffdone256
	VMOVUPS (SI)(DX*1), Y5
	VSUBPS Y8, Y5, Y5
	VADDPS Y5, Y3, Y3
	ADDQ $32, DX
	JMP sumdiff256
sumdiffdone256:
	VADDPS Y3, Y2, Y2
	VMOVAPS Y2, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func sumSqDiffAVX2(x *float32, n int, shift, dm float32) float32
TEXT ·sumSqDiffAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHLQ $2, CX
	VBROADCASTSS shift+16(FP), Y8
	VBROADCASTSS dm+20(FP), Y9
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ DX, DX
sumsq256:
	CMPQ DX, CX
	JGE sumsqdone256
	VMOVUPS (SI)(DX*1), Y4
	VSUBPS Y8, Y4, Y4
	VSUBPS Y9, Y4, Y4
	VFMADD231PS Y4, Y4, Y2
	ADDQ $32, DX
	CMPQ DX, CX
	JGE sumsqdone256
	VMOVUPS (SI)(DX*1), Y5
	VSUBPS Y8, Y5, Y5
	VSUBPS Y9, Y5, Y5
	VFMADD231PS Y5, Y5, Y3
	ADDQ $32, DX
	JMP sumsq256
sumsqdone256:
	VADDPS Y3, Y2, Y2
	VMOVAPS Y2, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func lnNormAVX2(out, x, gamma, beta *float32, n int, shift, dm, rs float32)
TEXT ·lnNormAVX2(SB), NOSPLIT, $0-52
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gamma+16(FP), R8
	MOVQ beta+24(FP), R9
	MOVQ n+32(FP), CX
	SHLQ $2, CX
	VBROADCASTSS shift+40(FP), Y8
	VBROADCASTSS dm+44(FP), Y9
	VBROADCASTSS rs+48(FP), Y10
	XORQ DX, DX
lnnorm256:
	CMPQ DX, CX
	JGE lnnormdone256
	VMOVUPS (SI)(DX*1), Y0
	VSUBPS Y8, Y0, Y0
	VSUBPS Y9, Y0, Y0
	VMULPS Y10, Y0, Y0 // xhat
	VMOVUPS (R9)(DX*1), Y1
	VFMADD231PS (R8)(DX*1), Y0, Y1 // xhat·gamma + beta
	VMOVUPS Y1, (DI)(DX*1)
	ADDQ $32, DX
	JMP lnnorm256
lnnormdone256:
	VZEROUPPER
	RET

// func lnBackSumsAVX512(dgamma, dbeta, dout, x, gamma *float32, n int, shift, dm, rs float32) (sumG, sumGX float32)
// Adds dout·xhat to dgamma and dout to dbeta, and returns the sums of
// dout·gamma and dout·gamma·xhat, with xhat = ((x-shift)-dm)·rs.
TEXT ·lnBackSumsAVX512(SB), NOSPLIT, $0-72
	MOVQ dgamma+0(FP), R10
	MOVQ dbeta+8(FP), R11
	MOVQ dout+16(FP), BX
	MOVQ x+24(FP), SI
	MOVQ gamma+32(FP), R8
	MOVQ n+40(FP), CX
	SHLQ $2, CX
	VBROADCASTSS shift+48(FP), Z8
	VBROADCASTSS dm+52(FP), Z9
	VBROADCASTSS rs+56(FP), Z10
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	XORQ DX, DX
lnb1512:
	CMPQ DX, CX
	JGE lnb1done512
	VMOVUPS (SI)(DX*1), Z0
	VSUBPS Z8, Z0, Z0
	VSUBPS Z9, Z0, Z0
	VMULPS Z10, Z0, Z0 // xhat
	VMOVUPS (BX)(DX*1), Z4 // dout
	VMOVUPS (R10)(DX*1), Z5
	VFMADD231PS Z4, Z0, Z5 // dgamma += dout·xhat
	VMOVUPS Z5, (R10)(DX*1)
	VADDPS (R11)(DX*1), Z4, Z6 // dbeta += dout
	VMOVUPS Z6, (R11)(DX*1)
	VMULPS (R8)(DX*1), Z4, Z4 // dout·gamma
	VADDPS Z4, Z2, Z2
	VFMADD231PS Z4, Z0, Z3
	ADDQ $64, DX
	JMP lnb1512
lnb1done512:
	VMOVAPS Z3, Z7
	VEXTRACTF64X4 $1, Z2, Y1
	VADDPS Y1, Y2, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, sumG+64(FP)
	VEXTRACTF64X4 $1, Z7, Y1
	VADDPS Y1, Y7, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, sumGX+68(FP)
	VZEROUPPER
	RET

// func lnBackDxAVX512(dx, dout, x, gamma *float32, n int, shift, dm, rs, meanG, meanGX float32)
// Adds (dout·gamma − meanG − xhat·meanGX)·rs to dx.
TEXT ·lnBackDxAVX512(SB), NOSPLIT, $0-60
	MOVQ dx+0(FP), DI
	MOVQ dout+8(FP), BX
	MOVQ x+16(FP), SI
	MOVQ gamma+24(FP), R8
	MOVQ n+32(FP), CX
	SHLQ $2, CX
	VBROADCASTSS shift+40(FP), Z8
	VBROADCASTSS dm+44(FP), Z9
	VBROADCASTSS rs+48(FP), Z10
	VBROADCASTSS meanG+52(FP), Z11
	VBROADCASTSS meanGX+56(FP), Z12
	XORQ DX, DX
lnb2512:
	CMPQ DX, CX
	JGE lnb2done512
	VMOVUPS (SI)(DX*1), Z0
	VSUBPS Z8, Z0, Z0
	VSUBPS Z9, Z0, Z0
	VMULPS Z10, Z0, Z0 // xhat
	VMOVUPS (BX)(DX*1), Z4
	VMULPS (R8)(DX*1), Z4, Z4 // dout·gamma
	VSUBPS Z11, Z4, Z4
	VFNMADD231PS Z12, Z0, Z4 // − xhat·meanGX
	VMOVUPS (DI)(DX*1), Z5
	VFMADD231PS Z10, Z4, Z5
	VMOVUPS Z5, (DI)(DX*1)
	ADDQ $64, DX
	JMP lnb2512
lnb2done512:
	VZEROUPPER
	RET

// func lnBackSumsAVX2(dgamma, dbeta, dout, x, gamma *float32, n int, shift, dm, rs float32) (sumG, sumGX float32)
// Adds dout·xhat to dgamma and dout to dbeta, and returns the sums of
// dout·gamma and dout·gamma·xhat, with xhat = ((x-shift)-dm)·rs.
TEXT ·lnBackSumsAVX2(SB), NOSPLIT, $0-72
	MOVQ dgamma+0(FP), R10
	MOVQ dbeta+8(FP), R11
	MOVQ dout+16(FP), BX
	MOVQ x+24(FP), SI
	MOVQ gamma+32(FP), R8
	MOVQ n+40(FP), CX
	SHLQ $2, CX
	VBROADCASTSS shift+48(FP), Y8
	VBROADCASTSS dm+52(FP), Y9
	VBROADCASTSS rs+56(FP), Y10
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ DX, DX
lnb1256:
	CMPQ DX, CX
	JGE lnb1done256
	VMOVUPS (SI)(DX*1), Y0
	VSUBPS Y8, Y0, Y0
	VSUBPS Y9, Y0, Y0
	VMULPS Y10, Y0, Y0 // xhat
	VMOVUPS (BX)(DX*1), Y4 // dout
	VMOVUPS (R10)(DX*1), Y5
	VFMADD231PS Y4, Y0, Y5 // dgamma += dout·xhat
	VMOVUPS Y5, (R10)(DX*1)
	VADDPS (R11)(DX*1), Y4, Y6 // dbeta += dout
	VMOVUPS Y6, (R11)(DX*1)
	VMULPS (R8)(DX*1), Y4, Y4 // dout·gamma
	VADDPS Y4, Y2, Y2
	VFMADD231PS Y4, Y0, Y3
	ADDQ $32, DX
	JMP lnb1256
lnb1done256:
	VMOVAPS Y3, Y7
	VMOVAPS Y2, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, sumG+64(FP)
	VMOVAPS Y7, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, sumGX+68(FP)
	VZEROUPPER
	RET

// func lnBackDxAVX2(dx, dout, x, gamma *float32, n int, shift, dm, rs, meanG, meanGX float32)
// Adds (dout·gamma − meanG − xhat·meanGX)·rs to dx.
TEXT ·lnBackDxAVX2(SB), NOSPLIT, $0-60
	MOVQ dx+0(FP), DI
	MOVQ dout+8(FP), BX
	MOVQ x+16(FP), SI
	MOVQ gamma+24(FP), R8
	MOVQ n+32(FP), CX
	SHLQ $2, CX
	VBROADCASTSS shift+40(FP), Y8
	VBROADCASTSS dm+44(FP), Y9
	VBROADCASTSS rs+48(FP), Y10
	VBROADCASTSS meanG+52(FP), Y11
	VBROADCASTSS meanGX+56(FP), Y12
	XORQ DX, DX
lnb2256:
	CMPQ DX, CX
	JGE lnb2done256
	VMOVUPS (SI)(DX*1), Y0
	VSUBPS Y8, Y0, Y0
	VSUBPS Y9, Y0, Y0
	VMULPS Y10, Y0, Y0 // xhat
	VMOVUPS (BX)(DX*1), Y4
	VMULPS (R8)(DX*1), Y4, Y4 // dout·gamma
	VSUBPS Y11, Y4, Y4
	VFNMADD231PS Y12, Y0, Y4 // − xhat·meanGX
	VMOVUPS (DI)(DX*1), Y5
	VFMADD231PS Y10, Y4, Y5
	VMOVUPS Y5, (DI)(DX*1)
	ADDQ $32, DX
	JMP lnb2256
lnb2done256:
	VZEROUPPER
	RET
