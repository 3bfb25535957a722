package gpt

import (
	"math"

	"github.com/goushi/goushi/tensor"
)

// The decode kernels: matrix-vector products against weights stored as
// float32, IEEE half precision or 8-bit integers, and the attention mix.
// Each uses the AVX-512 or the AVX2 assembly for the part of its shape
// that the assembly covers (rows of a multiple of 16 floats, groups of 4
// weight rows) and plain Go for the rest and on other machines. gemvQ8,
// the 8-bit product for the inputs that quantizeVec refuses, has AVX-512
// assembly only.

// kernelLevel names a set of decode kernels.
type kernelLevel int

const (
	levelGo     kernelLevel = iota // plain Go
	levelAVX2                      // AVX2, FMA and F16C
	levelAVX512                    // AVX-512 F, VL and BW
)

// level is the set the decode kernels use: the one matching the tensor
// package's kernels (GOUSHI_KERNELS chooses both) where this CPU has it.
// Tests lower it to check the others against each other.
var level = detectLevel(tensor.KernelName())

// useVNNI makes the AVX-512 level run the 8-bit product with VPDPWSSD,
// where the CPU has it; tests turn it off to check the other kernel.
var useVNNI = hasVNNI

// gemvF32 sets out[j] = x·w[j] for the n rows of w (n, k).
func gemvF32(x, w, out []float32, n, k int) {
	_ = w[n*k-1]
	_ = out[n-1]
	_ = x[k-1]
	n4 := 0
	if level > levelGo && k%16 == 0 {
		n4 = n &^ 3
		if n4 > 0 && level == levelAVX512 {
			gemvF32AVX512(k, n4, &x[0], &w[0], &out[0])
		} else if n4 > 0 {
			gemvF32AVX2(k, n4, &x[0], &w[0], &out[0])
		}
	}
	for j := n4; j < n; j++ {
		out[j] = dot(x[:k], w[j*k:(j+1)*k])
	}
}

// gemvF16 sets out[j] = x·w[j] for the n rows of w (n, k) in half
// precision.
func gemvF16(x []float32, w []uint16, out []float32, n, k int) {
	_ = w[n*k-1]
	_ = out[n-1]
	_ = x[k-1]
	n4 := 0
	if level > levelGo && k%16 == 0 {
		n4 = n &^ 3
		if n4 > 0 && level == levelAVX512 {
			gemvF16AVX512(k, n4, &x[0], &w[0], &out[0])
		} else if n4 > 0 {
			gemvF16AVX2(k, n4, &x[0], &w[0], &out[0])
		}
	}
	for j := n4; j < n; j++ {
		row := w[j*k : (j+1)*k]
		var s float32
		for p, h := range row {
			s += x[p] * halfToFloat(h)
		}
		out[j] = s
	}
}

// gemvQ8 sets out[j] = scale[j]·(x·w[j]) for the n rows of w (n, k) in
// 8-bit integers. The decode step calls it only for inputs that
// quantizeVec rejects.
//
// NOTE: it has AVX-512 assembly only, so at the AVX2 level a model whose
// widths are not multiples of 16 (or exceed maxQuantLen) decodes 8-bit
// weights in plain Go, slower than with --weights f16.
func gemvQ8(x []float32, w []int8, scale, out []float32, n, k int) {
	_ = w[n*k-1]
	_ = out[n-1]
	_ = scale[n-1]
	_ = x[k-1]
	n4 := 0
	if level == levelAVX512 && k%16 == 0 {
		n4 = n &^ 3
		if n4 > 0 {
			gemvQ8AVX512(k, n4, &x[0], &w[0], &scale[0], &out[0])
		}
	}
	for j := n4; j < n; j++ {
		row := w[j*k : (j+1)*k]
		var s float32
		for p, q := range row {
			s += x[p] * float32(q)
		}
		out[j] = s * scale[j]
	}
}

// maxQuantLen is the longest vector quantizeVec rounds: the int32 lanes of
// the AVX2 kernel hold len/16 sums of two products of at most 32767·127,
// which stay below 2^31 up to 4,128 elements.
const maxQuantLen = 4096

// quantizeVec sets xq to x rounded to 16-bit integers at the scale
// max|x|/32767, for the 8-bit kernels, and returns that scale and true. It
// returns false, and the caller keeps x in float32, when the assembly
// does not run, len(x) is not a multiple of 16 or is above maxQuantLen,
// or x is all zero or holds NaN or an infinity.
func quantizeVec(xq []int16, x []float32) (float32, bool) {
	n := len(x)
	if level == levelGo || n == 0 || n%16 != 0 || n > maxQuantLen {
		return 0, false
	}
	_ = xq[n-1]
	var m, sum float32
	if level == levelAVX512 {
		m, sum = quantI16AVX512(n, &x[0], &xq[0])
	} else {
		m, sum = quantI16AVX2(n, &x[0], &xq[0])
	}
	if m == 0 || math.IsInf(float64(m), 0) || math.IsNaN(float64(sum)) ||
		math.IsInf(float64(sum), 0) {
		return 0, false
	}
	return m / 32767, true
}

// gemvQ8I16 sets out[j] = scale[j]·xs·(xq·w[j]) for the n rows of w (n, k)
// in 8-bit integers and xq from quantizeVec, so that the assembly runs and
// k is a multiple of 16 up to maxQuantLen. The products are summed in
// integer lanes without overflow, and the lanes are added in float32. Each
// result thus differs from gemvQ8 of the float32 input by the rounding of
// that input (at most xs/2 per element) and the float32 rounding of the
// lane sums.
func gemvQ8I16(xq []int16, xs float32, w []int8, scale, out []float32, n, k int) {
	_ = w[n*k-1]
	_ = out[n-1]
	_ = scale[n-1]
	_ = xq[k-1]
	n4 := n &^ 3
	if n4 > 0 && level == levelAVX512 && useVNNI {
		gemvQ8I16VNNI(k, n4, &xq[0], &w[0], &scale[0], xs, &out[0])
	} else if n4 > 0 && level == levelAVX512 {
		gemvQ8I16AVX512(k, n4, &xq[0], &w[0], &scale[0], xs, &out[0])
	} else if n4 > 0 {
		gemvQ8I16AVX2(k, n4, &xq[0], &w[0], &scale[0], xs, &out[0])
	}
	for j := n4; j < n; j++ {
		row := w[j*k : (j+1)*k]
		var s int64
		for p, q := range row {
			s += int64(xq[p]) * int64(q)
		}
		out[j] = float32(s) * scale[j] * xs
	}
}

// quantizeRows rounds each row of w (rows, k) to 8-bit integers q with
// one scale per row, w ≈ scale·q, where scale = max|w|/127 so that the
// largest weight of the row maps to ±127; halves round away from zero. An
// all-zero row gets scale 0. Rows are split over the tensor pool.
func quantizeRows(q []int8, scale, w []float32, rows, k int) {
	tensor.ParallelGrain(rows, max(1, 1<<14/k), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row, qr := w[r*k:(r+1)*k], q[r*k:(r+1)*k]
			if level > levelGo && k%16 == 0 {
				// Bit for bit the loop below, for finite rows. A NaN
				// weight, which the assembly's maximum may skip, gives
				// arbitrary values, as it would give NaN logits in float32.
				var m float32
				if level == levelAVX512 {
					m = quantRowAVX512(k, &row[0], &qr[0])
				} else {
					m = quantRowAVX2(k, &row[0], &qr[0])
				}
				scale[r] = m / 127
				if m == 0 || m != m {
					clear(qr)
				}
				continue
			}
			var m float32
			for _, v := range row {
				m = max(m, v, -v)
			}
			scale[r] = m / 127
			if m == 0 {
				clear(qr)
				continue
			}
			inv := 127 / m
			for i, v := range row {
				x := v * inv
				if x >= 0 {
					qr[i] = int8(x + 0.5)
				} else {
					qr[i] = int8(x - 0.5)
				}
			}
		}
	})
}

// mix sets y (hd) to the sum of p[j]·v[j] over the n rows of v (n, hd).
func mix(p, v, y []float32, n, hd int) {
	if n == 0 {
		clear(y[:hd])
		return
	}
	_ = v[n*hd-1]
	_ = p[n-1]
	_ = y[hd-1]
	if level == levelAVX512 && hd%16 == 0 {
		mixAVX512(n, hd, &p[0], &v[0], &y[0])
		return
	}
	if level == levelAVX2 && hd%16 == 0 {
		mixAVX2(n, hd, &p[0], &v[0], &y[0])
		return
	}
	clear(y[:hd])
	for j := 0; j < n; j++ {
		pj, row := p[j], v[j*hd:(j+1)*hd]
		for d, vd := range row {
			y[d] += pj * vd
		}
	}
}

// mixF16 is mix with v in half precision.
func mixF16(p []float32, v []uint16, y []float32, n, hd int) {
	if n == 0 {
		clear(y[:hd])
		return
	}
	_ = v[n*hd-1]
	_ = p[n-1]
	_ = y[hd-1]
	if level == levelAVX512 && hd%16 == 0 {
		mixF16AVX512(n, hd, &p[0], &v[0], &y[0])
		return
	}
	if level == levelAVX2 && hd%16 == 0 {
		mixF16AVX2(n, hd, &p[0], &v[0], &y[0])
		return
	}
	clear(y[:hd])
	for j := 0; j < n; j++ {
		pj, row := p[j], v[j*hd:(j+1)*hd]
		for d, h := range row {
			y[d] += pj * halfToFloat(h)
		}
	}
}

// expSum sets x[i] = e^((x[i]-shift)·scale), as expf computes it, and
// returns the sum of the results.
func expSum(x []float32, shift, scale float32) float32 {
	var sum float32
	n16 := 0
	switch level {
	case levelAVX512:
		n16 = len(x) &^ 15
		if n16 > 0 {
			sum = expSumAVX512(n16, &x[0], shift, scale)
		}
	case levelAVX2:
		n16 = len(x) &^ 7
		if n16 > 0 {
			sum = expSumAVX2(n16, &x[0], shift, scale)
		}
	}
	for i := n16; i < len(x); i++ {
		e := expf((x[i] - shift) * scale)
		x[i] = e
		sum += e
	}
	return sum
}

// toHalf rounds src to half precision into dst, nearest even, as the
// F16C instruction VCVTPS2PH does.
func toHalf(dst []uint16, src []float32) {
	n := len(src)
	_ = dst[n-1]
	n16 := 0
	switch level {
	case levelAVX512:
		n16 = n &^ 15
		if n16 > 0 {
			toHalfAVX512(n16, &src[0], &dst[0])
		}
	case levelAVX2:
		n16 = n &^ 7
		if n16 > 0 {
			toHalfAVX2(n16, &src[0], &dst[0])
		}
	}
	for i := n16; i < n; i++ {
		dst[i] = floatToHalf(src[i])
	}
}

// dot returns the sum of a[i]·b[i] with four partial sums.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// halfToFloat converts an IEEE 754 binary16 value to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: mant·2^-24.
	v := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}

// floatToHalf converts f to the nearest IEEE 754 binary16 value, ties to
// even; values beyond the half range become ±Inf.
func floatToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff { // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal half or zero: shift the full mantissa (with its
		// implicit 1) right and round to nearest even.
		if e < -10 {
			return sign
		}
		m := mant | 0x800000
		shift := uint(14 - e)
		half := m >> shift
		rem := m & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || (rem == mid && half&1 == 1) {
			half++
		}
		return sign | uint16(half)
	}
	half := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++ // may carry into the exponent, which is still correct
	}
	return sign | uint16(half)
}
