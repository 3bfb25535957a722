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

// geluAVX512 sets dst[i] = GELU(x[i]) (tanh form) for i < n, n a multiple
// of 16. dst may alias x.
//
//go:noescape
func geluAVX512(dst, x *float32, n int)

// geluBackAVX512 adds dout[i]·GELU'(x[i]) to dx[i] for i < n, n a multiple
// of 16.
//
//go:noescape
func geluBackAVX512(dx, x, dout *float32, n int)

// adamwAVX512 applies the update of AdamW to n elements, n a multiple of
// 16. hp holds beta1, 1-beta1, beta2, 1-beta2, 1/bc1, 1/bc2, lr, eps, wd.
//
//go:noescape
func adamwAVX512(param, grad, mom, vel *float32, n int, hp *[9]float32)

// maxAVX512 returns the maximum of x[:n], n a multiple of 16. A NaN entry
// may or may not be ignored; callers that must see NaN check separately.
//
//go:noescape
func maxAVX512(x *float32, n int) float32

// maxAVX2 is maxAVX512 with n a multiple of 8.
//
//go:noescape
func maxAVX2(x *float32, n int) float32

// geluAVX2 is geluAVX512 with n a multiple of 8.
//
//go:noescape
func geluAVX2(dst, x *float32, n int)

// geluBackAVX2 is geluBackAVX512 with n a multiple of 8.
//
//go:noescape
func geluBackAVX2(dx, x, dout *float32, n int)

// adamwAVX2 is adamwAVX512 with n a multiple of 8.
//
//go:noescape
func adamwAVX2(param, grad, mom, vel *float32, n int, hp *[9]float32)

// sumDiffAVX512 returns the sum of x[i]-shift for i < n, n a multiple of 16.
//
//go:noescape
func sumDiffAVX512(x *float32, n int, shift float32) float32

// sumSqDiffAVX512 returns the sum of ((x[i]-shift)-dm)² for i < n, n a
// multiple of 16.
//
//go:noescape
func sumSqDiffAVX512(x *float32, n int, shift, dm float32) float32

// lnNormAVX512 sets out[i] = ((x[i]-shift)-dm)·rs·gamma[i] + beta[i] for
// i < n, n a multiple of 16.
//
//go:noescape
func lnNormAVX512(out, x, gamma, beta *float32, n int, shift, dm, rs float32)

// sumDiffAVX2 is sumDiffAVX512 with n a multiple of 8.
//
//go:noescape
func sumDiffAVX2(x *float32, n int, shift float32) float32

// sumSqDiffAVX2 is sumSqDiffAVX512 with n a multiple of 8.
//
//go:noescape
func sumSqDiffAVX2(x *float32, n int, shift, dm float32) float32

// lnNormAVX2 is lnNormAVX512 with n a multiple of 8.
//
//go:noescape
func lnNormAVX2(out, x, gamma, beta *float32, n int, shift, dm, rs float32)

// lnBackSumsAVX512 adds dout[i]·xhat[i] to dgamma[i] and dout[i] to
// dbeta[i], with xhat = ((x-shift)-dm)·rs, and returns the sums of
// dout·gamma and dout·gamma·xhat, for i < n, n a multiple of 16.
//
//go:noescape
func lnBackSumsAVX512(dgamma, dbeta, dout, x, gamma *float32, n int,
	shift, dm, rs float32) (sumG, sumGX float32)

// lnBackDxAVX512 adds (dout·gamma − meanG − xhat·meanGX)·rs to dx for
// i < n, n a multiple of 16.
//
//go:noescape
func lnBackDxAVX512(dx, dout, x, gamma *float32, n int, shift, dm, rs, meanG, meanGX float32)

// lnBackSumsAVX2 is lnBackSumsAVX512 with n a multiple of 8.
//
//go:noescape
func lnBackSumsAVX2(dgamma, dbeta, dout, x, gamma *float32, n int,
	shift, dm, rs float32) (sumG, sumGX float32)

// lnBackDxAVX2 is lnBackDxAVX512 with n a multiple of 8.
//
//go:noescape
func lnBackDxAVX2(dx, dout, x, gamma *float32, n int, shift, dm, rs, meanG, meanGX float32)
