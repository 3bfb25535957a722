package autograd

import "math"

// expf returns e^x in float32 with a relative error below 3e-7 (about
// 2.5 ulp), faster than math.Exp because it works in float32 with a short
// polynomial. Inputs outside [-87, 88], where the result nears the
// float32 limits, and NaN go to math.Exp.
//
// NOTE: scalar Go. The softmax and GELU loops that call it would gain
// most from a SIMD version in package tensor.
func expf(x float32) float32 {
	if !(x >= -87 && x <= 88) {
		return float32(math.Exp(float64(x)))
	}
	// x = k·ln2 + r with |r| ≤ ln2/2, ln2 split in two parts so that k·ln2hi
	// is exact for |k| < 256.
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	t := x * log2e
	var k int32
	if t >= 0 {
		k = int32(t + 0.5)
	} else {
		k = int32(t - 0.5)
	}
	kf := float32(k)
	r := x - kf*ln2hi - kf*ln2lo
	// Taylor polynomial of e^r to degree 6: the first omitted term is
	// r^7/5040 ≤ 1.2e-7 for |r| ≤ 0.347.
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(k+127)<<23)
}

// softmaxRow replaces row with its softmax and returns the row's max m and
// s = Σ exp(row − m), so that log-softmax is row − m − log s.
func softmaxRow(row []float32) (m, s float32) {
	m = row[0]
	for _, x := range row {
		if x > m {
			m = x
		}
	}
	for j, x := range row {
		e := expf(x - m)
		row[j] = e
		s += e
	}
	inv := 1 / s
	for j := range row {
		row[j] *= inv
	}
	return m, s
}
