package autograd

import "math"

// expInPlace replaces each x[i] with e^x[i] in float32, with a relative
// error below 3e-7 (about 2.5 ulp). It is faster than math.Exp because it
// works in float32 with a short polynomial, and the loop body is written
// out so that no call happens per element. Inputs outside [-87, 88], where
// the result nears the float32 limits, and NaN go to math.Exp.
//
// NOTE: scalar Go. The softmax and GELU loops that call it would gain
// most from a SIMD version in package tensor.
func expInPlace(x []float32) {
	// x = k·ln2 + r with |r| ≤ ln2/2, and ln2 split in two parts so that
	// k·ln2hi is exact.
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
		round = 12582912 // 1.5·2²³: adding it rounds a float32 to an integer
	)
	for i, v := range x {
		if !(v >= -87 && v <= 88) {
			x[i] = float32(math.Exp(float64(v)))
			continue
		}
		kf := (v*log2e + round) - round
		r := v - kf*ln2hi - kf*ln2lo
		// Taylor polynomial of e^r to degree 6: the first omitted term is
		// r^7/5040 ≤ 1.2e-7 for |r| ≤ 0.347.
		p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
		x[i] = p * math.Float32frombits(uint32(int32(kf)+127)<<23)
	}
}

// expf returns e^x with expInPlace's accuracy.
func expf(x float32) float32 {
	v := [1]float32{x}
	expInPlace(v[:])
	return v[0]
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
	for j := range row {
		row[j] -= m
	}
	expInPlace(row)
	for _, e := range row {
		s += e
	}
	inv := 1 / s
	for j := range row {
		row[j] *= inv
	}
	return m, s
}
