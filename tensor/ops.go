package tensor

import (
	"fmt"
	"math"
)

// opGrain is the number of elements per parallel range of an elementwise
// kernel: 32K floats (128 KiB), tens of microseconds of work even at memory
// bandwidth, so a handoff to the pool is worth it.
const opGrain = 1 << 15

// maxKernelCall bounds the elements one assembly call covers, so that a
// long slice does not hold off goroutine preemption for long (assembly
// functions cannot be preempted asynchronously).
const maxKernelCall = 1 << 16

func checkLen(op string, n int, lens ...int) {
	for _, l := range lens {
		if l < n {
			panic(fmt.Sprintf("tensor: %s: operand has %d elements, want %d", op, l, n))
		}
	}
}

// elementwise runs tf(*t, lo, hi) over [0, n) on the pool in ranges of at
// least opGrain, each cut into calls of at most maxKernelCall elements.
func elementwise(n int, tf taskFunc, t *taskArgs) {
	t.fn = tf
	parallelTask(n, opGrain, inChunks, t)
}

// inChunks calls t.fn on [lo, hi) in pieces of at most maxKernelCall.
func inChunks(t taskArgs, lo, hi int) {
	for lo < hi {
		end := min(hi, lo+maxKernelCall)
		t.fn(t, lo, end)
		lo = end
	}
}

// vecSplit returns the largest multiple of the active vector width <= n.
func vecSplit(ks *kernelSet, n int) int { return n - n%ks.vecLen }

// Add sets dst[i] = a[i] + b[i].
func Add(dst, a, b []float32) {
	checkLen("Add", len(dst), len(a), len(b))
	elementwise(len(dst), addRange, &taskArgs{ks: active, s: [8][]float32{dst, a, b}})
}

// addRange is Add on [lo, hi) of s[0], s[1] and s[2].
func addRange(t taskArgs, lo, hi int) {
	ks := t.ks
	d, x, y := t.s[0][lo:hi], t.s[1][lo:hi], t.s[2][lo:hi]
	nv := vecSplit(ks, len(d))
	if nv > 0 {
		ks.add(&d[0], &x[0], &y[0], nv)
	}
	for i := nv; i < len(d); i++ {
		d[i] = x[i] + y[i]
	}
}

// Axpy sets dst[i] += alpha * x[i].
func Axpy(dst []float32, alpha float32, x []float32) {
	checkLen("Axpy", len(dst), len(x))
	elementwise(len(dst), axpyTask,
		&taskArgs{ks: active, s: [8][]float32{dst, x}, f: [9]float32{alpha}})
}

// axpyTask is Axpy on [lo, hi) of s[0] and s[1] with alpha f[0].
func axpyTask(t taskArgs, lo, hi int) { axpyRange(t.ks, t.s[0][lo:hi], t.f[0], t.s[1][lo:hi]) }

func axpyRange(ks *kernelSet, d []float32, alpha float32, x []float32) {
	nv := vecSplit(ks, len(d))
	if nv > 0 {
		ks.axpy(&d[0], &x[0], alpha, nv)
	}
	for i := nv; i < len(d); i++ {
		d[i] += alpha * x[i]
	}
}

// Mul sets dst[i] = a[i] * b[i].
func Mul(dst, a, b []float32) {
	checkLen("Mul", len(dst), len(a), len(b))
	elementwise(len(dst), mulRange, &taskArgs{ks: active, s: [8][]float32{dst, a, b}})
}

// mulRange is Mul on [lo, hi) of s[0], s[1] and s[2].
func mulRange(t taskArgs, lo, hi int) {
	ks := t.ks
	d, x, y := t.s[0][lo:hi], t.s[1][lo:hi], t.s[2][lo:hi]
	nv := vecSplit(ks, len(d))
	if nv > 0 {
		ks.mul(&d[0], &x[0], &y[0], nv)
	}
	for i := nv; i < len(d); i++ {
		d[i] = x[i] * y[i]
	}
}

// Scale sets x[i] *= s.
func Scale(x []float32, s float32) {
	elementwise(len(x), scaleTask, &taskArgs{ks: active, s: [8][]float32{x}, f: [9]float32{s}})
}

// scaleTask is Scale on [lo, hi) of s[0] by f[0].
func scaleTask(t taskArgs, lo, hi int) { scaleRange(t.ks, t.s[0][lo:hi], t.f[0]) }

func scaleRange(ks *kernelSet, d []float32, s float32) {
	nv := vecSplit(ks, len(d))
	if nv > 0 {
		ks.scale(&d[0], s, nv)
	}
	for i := nv; i < len(d); i++ {
		d[i] *= s
	}
}

// Dot returns the sum of a[i]*b[i].
func Dot(a, b []float32) float32 {
	checkLen("Dot", len(a), len(b))
	return dotGeneric(a, b[:len(a)])
}

// rowGrain returns how many rows of cols elements make one parallel range.
func rowGrain(cols int) int { return max(1, opGrain/max(cols, 1)) }

// AddBias adds bias (n) to every row of x (rows, n).
func AddBias(x, bias []float32, rows int) {
	n := len(bias)
	checkLen("AddBias", rows*n, len(x))
	parallelTask(rows, rowGrain(n), addBiasRows,
		&taskArgs{ks: active, s: [8][]float32{x, bias}})
}

// addBiasRows is AddBias on rows [lo, hi) of s[0] with bias s[1].
func addBiasRows(t taskArgs, lo, hi int) {
	ks, x, bias := t.ks, t.s[0], t.s[1]
	n := len(bias)
	for r := lo; r < hi; r++ {
		row := x[r*n : (r+1)*n]
		nv := vecSplit(ks, n)
		if nv > 0 {
			ks.add(&row[0], &row[0], &bias[0], nv)
		}
		for j := nv; j < n; j++ {
			row[j] += bias[j]
		}
	}
}

// ColSumAdd adds the column sums of x (rows, n) into dst (n): the bias
// gradient of AddBias. Rows are added in order, so the result does not
// depend on the number of workers.
func ColSumAdd(dst, x []float32, rows int) {
	n := len(dst)
	checkLen("ColSumAdd", rows*n, len(x))
	ks := active
	for r := 0; r < rows; r++ {
		axpyRange(ks, dst, 1, x[r*n:(r+1)*n])
	}
}

// RowSum sets dst[r] to the sum of row r of x (rows, cols).
func RowSum(dst, x []float32, rows, cols int) {
	checkLen("RowSum", rows*cols, len(x))
	checkLen("RowSum", rows, len(dst))
	parallelTask(rows, rowGrain(cols), rowSums,
		&taskArgs{s: [8][]float32{dst, x}, n: [10]int{cols}})
}

// rowSums is RowSum on rows [lo, hi) of s[1] (n[0] columns) into s[0].
func rowSums(t taskArgs, lo, hi int) {
	dst, x, cols := t.s[0], t.s[1], t.n[0]
	for r := lo; r < hi; r++ {
		var s0, s1, s2, s3 float32
		row := x[r*cols : (r+1)*cols]
		j := 0
		for ; j+4 <= len(row); j += 4 {
			s0 += row[j]
			s1 += row[j+1]
			s2 += row[j+2]
			s3 += row[j+3]
		}
		for ; j < len(row); j++ {
			s0 += row[j]
		}
		dst[r] = (s0 + s1) + (s2 + s3)
	}
}

// RowMax sets dst[r] to the maximum of row r of x (rows, cols). NaN entries
// propagate.
func RowMax(dst, x []float32, rows, cols int) {
	checkLen("RowMax", rows*cols, len(x))
	checkLen("RowMax", rows, len(dst))
	parallelTask(rows, rowGrain(cols), rowMaxes,
		&taskArgs{s: [8][]float32{dst, x}, n: [10]int{cols}})
}

// rowMaxes is RowMax on rows [lo, hi) of s[1] (n[0] columns) into s[0].
func rowMaxes(t taskArgs, lo, hi int) {
	dst, x, cols := t.s[0], t.s[1], t.n[0]
	for r := lo; r < hi; r++ {
		dst[r] = rowMax(x[r*cols : (r+1)*cols])
	}
}

// rowMax returns the maximum of row, NaN if row contains NaN, and -Inf for
// an empty row.
func rowMax(row []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range row {
		if v > m {
			m = v
		} else if v != v {
			return v
		}
	}
	return m
}

// Softmax writes the softmax of each row of x (rows, cols) into dst, which
// may alias x. The row maximum is subtracted first, so large logits stay
// finite. A row whose entries are all -Inf becomes all zeros, and a row
// containing NaN becomes NaN. The exponential is expf's method (at most 2
// ulp from math.Exp; see exp.go), vectorised on the SIMD paths.
func Softmax(dst, x []float32, rows, cols int) {
	checkLen("Softmax", rows*cols, len(x), len(dst))
	parallelTask(rows, rowGrain(cols), softmaxRows,
		&taskArgs{ks: active, s: [8][]float32{dst, x}, n: [10]int{cols}})
}

// softmaxRows is Softmax on rows [lo, hi) of s[1] into s[0], n[0] columns.
func softmaxRows(t taskArgs, lo, hi int) {
	cols := t.n[0]
	for r := lo; r < hi; r++ {
		softmaxRow(t.ks, t.s[0][r*cols:(r+1)*cols], t.s[1][r*cols:(r+1)*cols])
	}
}

func softmaxRow(ks *kernelSet, out, in []float32) {
	if len(in) == 0 {
		return
	}
	m := rowMaxFast(ks, in)
	if math.IsInf(float64(m), -1) {
		clear(out)
		return
	}
	nv := vecSplit(ks, len(in))
	var s float32
	if nv > 0 {
		s = ks.expSum(&out[0], &in[0], nv, m)
	}
	for j := nv; j < len(in); j++ {
		e := expf(in[j] - m)
		out[j] = e
		s += e
	}
	scaleRange(ks, out, 1/s)
}

// rowMaxFast returns the maximum of row with the vector kernel when there
// is one. It may ignore NaN entries, which suits Softmax: a NaN entry still
// turns the row's sum, and so the whole row, into NaN.
func rowMaxFast(ks *kernelSet, row []float32) float32 {
	nv := vecSplit(ks, len(row))
	if ks.max == nil || nv == 0 {
		return rowMax(row)
	}
	m := ks.max(&row[0], nv)
	for _, v := range row[nv:] {
		if v > m {
			m = v
		}
	}
	return m
}
