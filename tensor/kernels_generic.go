package tensor

import "unsafe"

// genericKernels is the pure-Go kernel set, used on every architecture
// without assembly kernels, under the purego build tag, and as the reference
// path that tests compare the assembly against.
var genericKernels = &kernelSet{
	name: "generic",
	mr:   4, nr: 4,
	// Blocks sized for a 32 KiB L1 and 1 MiB L2 like the SIMD paths; the
	// generic microkernel is compute bound, so they matter little.
	kc: 256, mc: 128, nc: 2048,
	micro:  microGeneric,
	dotNT4: dotNT4Generic,
	dotNT1: dotNT1Generic,
	vecLen: 1,
	add:    addGeneric,
	mul:    mulGeneric,
	axpy:   axpyGeneric,
	scale:  scaleGeneric,
	expSum: expSumGeneric,
}

// microGeneric is the 4×4 microkernel in plain Go: 16 scalar accumulators
// updated from one column of the A panel and one row of the B panel per step.
func microGeneric(k int, a, b, c *float32, ldc int, alpha, beta float32) {
	ap := unsafe.Slice(a, 4*k)
	bp := unsafe.Slice(b, 4*k)
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := 0; p < k; p++ {
		av := ap[4*p : 4*p+4 : 4*p+4]
		bv := bp[4*p : 4*p+4 : 4*p+4]
		a0, a1, a2, a3 := av[0], av[1], av[2], av[3]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	acc := [16]float32{c00, c01, c02, c03, c10, c11, c12, c13,
		c20, c21, c22, c23, c30, c31, c32, c33}
	cs := unsafe.Slice(c, 3*ldc+4)
	for i := 0; i < 4; i++ {
		row := cs[i*ldc : i*ldc+4 : i*ldc+4]
		for j := 0; j < 4; j++ {
			if beta == 0 {
				row[j] = alpha * acc[4*i+j]
			} else {
				row[j] = alpha*acc[4*i+j] + beta*row[j]
			}
		}
	}
}

func dotNT4Generic(k int, a *float32, lda int, b *float32, ldb int, out *float32, groups int) {
	as := unsafe.Slice(a, 3*lda+k)
	bs := unsafe.Slice(b, (4*groups-1)*ldb+k)
	o := unsafe.Slice(out, 16*groups)
	for g := 0; g < groups; g++ {
		for i := 0; i < 4; i++ {
			for j := 0; j < 4; j++ {
				row := (4*g + j) * ldb
				o[16*g+4*i+j] = dotGeneric(as[i*lda:i*lda+k], bs[row:row+k])
			}
		}
	}
}

func dotNT1Generic(k int, a *float32, b *float32, ldb int, out *float32, groups int) {
	as := unsafe.Slice(a, k)
	bs := unsafe.Slice(b, (4*groups-1)*ldb+k)
	o := unsafe.Slice(out, 4*groups)
	for j := range o {
		o[j] = dotGeneric(as, bs[j*ldb:j*ldb+k])
	}
}

// dotGeneric returns sum(a[i]*b[i]) with four partial sums, so that the
// multiply-adds of neighbouring elements do not wait on each other.
func dotGeneric(a, b []float32) float32 {
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

func addGeneric(dst, a, b *float32, n int) {
	d, x, y := unsafe.Slice(dst, n), unsafe.Slice(a, n), unsafe.Slice(b, n)
	for i := range d {
		d[i] = x[i] + y[i]
	}
}

func mulGeneric(dst, a, b *float32, n int) {
	d, x, y := unsafe.Slice(dst, n), unsafe.Slice(a, n), unsafe.Slice(b, n)
	for i := range d {
		d[i] = x[i] * y[i]
	}
}

func axpyGeneric(dst, x *float32, alpha float32, n int) {
	d, s := unsafe.Slice(dst, n), unsafe.Slice(x, n)
	for i := range d {
		d[i] += alpha * s[i]
	}
}

func scaleGeneric(x *float32, s float32, n int) {
	d := unsafe.Slice(x, n)
	for i := range d {
		d[i] *= s
	}
}

func expSumGeneric(dst, src *float32, n int, shift float32) float32 {
	d, s := unsafe.Slice(dst, n), unsafe.Slice(src, n)
	var sum float32
	for i, v := range s {
		e := expf(v - shift)
		d[i] = e
		sum += e
	}
	return sum
}
