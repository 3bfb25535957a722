package tensor

import "math"

// expf returns e^x in float32 by the method of the SIMD kernels, but with
// the reduction and polynomial in float64, so that the only large rounding
// is the final one: x = n·ln 2 + r with n = round(x·log2 e) and
// |r| <= ln2/2, then e^x = 2^n · p(r) with p the degree-7 Taylor polynomial
// of e^r, whose truncation error is below r^8/8! < 5.2e-9 relative (a
// twentieth of a float32 ulp). The vector kernels evaluate the same steps in float32 with
// FMA; TestExpfULP bounds both at 2 ulp against math.Exp. Inputs below -104
// give 0, above 88.73 +Inf, and NaN gives NaN.
func expf(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > 88.73:
		return float32(math.Inf(1))
	case x < -104:
		return 0
	}
	const (
		c7 = 1.0 / 5040
		c6 = 1.0 / 720
		c5 = 1.0 / 120
		c4 = 1.0 / 24
		c3 = 1.0 / 6
	)
	n := math.RoundToEven(float64(x) * math.Log2E)
	r := float64(x) - n*math.Ln2
	p := ((((((c7*r+c6)*r+c5)*r+c4)*r+c3)*r+0.5)*r+1)*r + 1
	return float32(math.Ldexp(p, int(n)))
}
