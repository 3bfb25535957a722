//go:build amd64 && !purego

package tensor

import "github.com/klauspost/cpuid/v2"

// avx512Kernels use a 12×32 register tile: 24 Z accumulators, two Z
// registers for the B row and broadcasts of A in the rest. Zen 5 retires two
// 512-bit FMAs per cycle with a latency of 4, so 24 independent chains keep
// both pipes busy. A B micro-panel of kc=256 steps is 32 KiB, which stays in
// the 48 KiB L1 while the packed A block (mc=192 rows, 192 KiB) streams from
// the 1 MiB L2. A packed B slice of nc=1024 columns is 1 MiB.
var avx512Kernels = &kernelSet{
	name: "avx512",
	mr:   12, nr: 32,
	kc: 256, mc: 192, nc: 1024,
	micro:      microAVX512,
	dotNT4:     dotNT4AVX512,
	dotNT1:     dotNT1AVX512,
	vecLen:     16,
	add:        addAVX512,
	mul:        mulAVX512,
	axpy:       axpyAVX512,
	scale:      scaleAVX512,
	expSum:     expSumAVX512,
	gelu:       geluAVX512,
	geluBack:   geluBackAVX512,
	adamw:      adamwAVX512,
	max:        maxAVX512,
	sumDiff:    sumDiffAVX512,
	sumSqDiff:  sumSqDiffAVX512,
	lnNorm:     lnNormAVX512,
	lnBackSums: lnBackSumsAVX512,
	lnBackDx:   lnBackDxAVX512,
	packT:      packA4,
	peak:       func(n int) { fmaLoopAVX512(n) },
	peakFlops:  384,
}

// avx2Kernels use the 6×16 tile: 12 Y accumulators, two Y registers for the
// B row and two for broadcasts of A, all 16 Y registers.
var avx2Kernels = &kernelSet{
	name: "avx2",
	mr:   6, nr: 16,
	kc: 256, mc: 144, nc: 1024,
	micro:      microAVX2,
	dotNT4:     dotNT4AVX2,
	dotNT1:     dotNT1AVX2,
	vecLen:     8,
	add:        addAVX2,
	mul:        mulAVX2,
	axpy:       axpyAVX2,
	scale:      scaleAVX2,
	expSum:     expSumAVX2,
	max:        maxAVX2,
	sumDiff:    sumDiffAVX2,
	sumSqDiff:  sumSqDiffAVX2,
	lnNorm:     lnNormAVX2,
	lnBackSums: lnBackSumsAVX2,
	lnBackDx:   lnBackDxAVX2,
	packT:      packA4,
	gelu:       geluAVX2,
	geluBack:   geluBackAVX2,
	adamw:      adamwAVX2,
	peak:       func(n int) { fmaLoopAVX2(n) },
	peakFlops:  192,
}

func supportedKernels() []*kernelSet {
	var sets []*kernelSet
	if cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512VL, cpuid.AVX2, cpuid.FMA3) {
		sets = append(sets, avx512Kernels)
	}
	if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) {
		sets = append(sets, avx2Kernels)
	}
	return append(sets, genericKernels)
}

// microAVX512 is the 12×32 microkernel: for p < k it adds the outer product
// of a[12p : 12p+12] and b[32p : 32p+32] to the tile, then stores
// C = alpha*tile + beta*C, without reading C when beta is ±0.
//
//go:noescape
func microAVX512(k int, a, b, c *float32, ldc int, alpha, beta float32)

// microAVX2 is the 6×16 microkernel, with a[6p:] and b[16p:] per step.
//
//go:noescape
func microAVX2(k int, a, b, c *float32, ldc int, alpha, beta float32)

// dotNT4AVX512 sets out[16g+4i+j] = sum over p < k of a[i*lda+p] *
// b[(4g+j)*ldb+p] for i, j < 4 and g < groups; k is a multiple of 16.
//
//go:noescape
func dotNT4AVX512(k int, a *float32, lda int, b *float32, ldb int, out *float32, groups int)

// dotNT1AVX512 sets out[4g+j] = sum over p < k of a[p] * b[(4g+j)*ldb+p]
// for j < 4 and g < groups; k is a multiple of 16.
//
//go:noescape
func dotNT1AVX512(k int, a *float32, b *float32, ldb int, out *float32, groups int)

// dotNT4AVX2 is dotNT4AVX512 with k a multiple of 8.
//
//go:noescape
func dotNT4AVX2(k int, a *float32, lda int, b *float32, ldb int, out *float32, groups int)

// dotNT1AVX2 is dotNT1AVX512 with k a multiple of 8.
//
//go:noescape
func dotNT1AVX2(k int, a *float32, b *float32, ldb int, out *float32, groups int)

// fmaLoopAVX512 runs n rounds of 12 independent 512-bit FMAs (384 flops).
//
//go:noescape
func fmaLoopAVX512(n int)

// fmaLoopAVX2 runs n rounds of 12 independent 256-bit FMAs (192 flops).
//
//go:noescape
func fmaLoopAVX2(n int)

// packA4 sets d[p*mr+r] = a[r*lda+p] for r < mr and p < kb, both multiples
// of 4: the 4×4 register transpose behind packTransposed.
//
//go:noescape
func packA4(d, a *float32, lda, kb, mr int)
