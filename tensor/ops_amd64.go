//go:build amd64 && !purego

package tensor

// The elementwise kernels in ops_amd64.s. n is a multiple of 16 (AVX-512)
// or 8 (AVX2).

//go:noescape
func addAVX512(dst, a, b *float32, n int)

//go:noescape
func mulAVX512(dst, a, b *float32, n int)

//go:noescape
func axpyAVX512(dst, x *float32, alpha float32, n int)

//go:noescape
func scaleAVX512(x *float32, s float32, n int)

// expSumAVX512 sets dst[i] = exp(src[i] - shift) and returns the sum of
// dst. Inputs below -104 give 0 and inputs above 100 give +Inf.
//
//go:noescape
func expSumAVX512(dst, src *float32, n int, shift float32) float32

//go:noescape
func addAVX2(dst, a, b *float32, n int)

//go:noescape
func mulAVX2(dst, a, b *float32, n int)

//go:noescape
func axpyAVX2(dst, x *float32, alpha float32, n int)

//go:noescape
func scaleAVX2(x *float32, s float32, n int)

// expSumAVX2 is expSumAVX512 with AVX2 instructions.
//
//go:noescape
func expSumAVX2(dst, src *float32, n int, shift float32) float32
