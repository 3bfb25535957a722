package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// opLengths cover empty, sub-vector, vector-tail and parallel lengths.
var opLengths = []int{0, 1, 3, 15, 17, 255, 257, 1000, 100_003}

// guardedSlice returns a slice of n values inside NaN guard bands, and a
// function that fails the test if a guard changed.
func guardedSlice(t *testing.T, rng *rand.Rand, n int) ([]float32, func()) {
	buf := make([]float32, n+2*guardLen)
	for i := range buf {
		buf[i] = float32(math.NaN())
	}
	s := buf[guardLen : guardLen+n : guardLen+n]
	for i := range s {
		s[i] = rng.Float32()*4 - 2
	}
	return s, func() {
		t.Helper()
		for i := 0; i < guardLen; i++ {
			if !math.IsNaN(float64(buf[i])) || !math.IsNaN(float64(buf[guardLen+n+i])) {
				t.Fatalf("guard band around %d elements was overwritten", n)
			}
		}
	}
}

func closeTo(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	if math.IsInf(want, 0) {
		return got == want
	}
	return math.Abs(got-want) <= tol*(1+math.Abs(want))
}

func TestElementwiseOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	forEachKernel(t, func(kern string) {
		for _, n := range opLengths {
			a := randSlice(rng, n)
			b := randSlice(rng, n)
			cases := []struct {
				name string
				run  func(dst []float32)
				want func(i int, old float32) float64
			}{
				{"Add", func(d []float32) { Add(d, a, b) },
					func(i int, _ float32) float64 { return float64(a[i]) + float64(b[i]) }},
				{"Mul", func(d []float32) { Mul(d, a, b) },
					func(i int, _ float32) float64 { return float64(a[i]) * float64(b[i]) }},
				{"Axpy", func(d []float32) { Axpy(d, -1.5, a) },
					func(i int, old float32) float64 { return float64(old) - 1.5*float64(a[i]) }},
				{"Scale", func(d []float32) { Scale(d, 0.25) },
					func(i int, old float32) float64 { return 0.25 * float64(old) }},
				{"GELU", func(d []float32) { GELU(d, a) },
					func(i int, _ float32) float64 { return geluRef(float64(a[i])) }},
				{"GELUBackward", func(d []float32) { GELUBackward(d, a, b) },
					func(i int, old float32) float64 {
						return float64(old) + float64(b[i])*geluGradRef(float64(a[i]))
					}},
			}
			for _, tc := range cases {
				t.Run(fmt.Sprintf("%s/%s/%d", kern, tc.name, n), func(t *testing.T) {
					dst, check := guardedSlice(t, rng, n)
					old := append([]float32(nil), dst...)
					tc.run(dst)
					for i := range dst {
						if w := tc.want(i, old[i]); !closeTo(float64(dst[i]), w, 2e-6) {
							t.Fatalf("element %d = %v, want %v", i, dst[i], w)
						}
					}
					check()
				})
			}
		}
	})
}

func geluRef(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}

// geluGradRef differentiates geluRef by central differences in float64.
func geluGradRef(x float64) float64 {
	const h = 1e-6
	return (geluRef(x+h) - geluRef(x-h)) / (2 * h)
}

func TestGELUSpecialValues(t *testing.T) {
	inf := float32(math.Inf(1))
	x := []float32{0, inf, -inf, float32(math.NaN()), 30, -30}
	forEachKernel(t, func(kern string) {
		// Pad to a full vector so that the SIMD path sees every value.
		in := make([]float32, 16)
		copy(in, x)
		out := make([]float32, 16)
		GELU(out, in)
		want := []float64{0, math.Inf(1), math.NaN(), math.NaN(), 30, 0}
		for i, w := range want {
			if !closeTo(float64(out[i]), w, 1e-6) {
				t.Fatalf("%s: GELU(%v) = %v, want %v", kern, x[i], out[i], w)
			}
		}
	})
}

// ulpDiff returns |got-want| in units of the float32 spacing at want.
func ulpDiff(got float32, want float64) float64 {
	w := float32(want)
	ulp := float64(math.Nextafter32(float32(math.Abs(float64(w))), float32(math.Inf(1)))) -
		math.Abs(float64(w))
	if w == 0 || math.Abs(want) < 1.1754944e-38 {
		ulp = 1.401298464324817e-45 // the smallest subnormal
	}
	return math.Abs(float64(got)-want) / ulp
}

// TestExpfULP checks the scalar and vector exponentials against math.Exp
// from deep in the subnormal range up to the float32 overflow threshold,
// and the special values.
func TestExpfULP(t *testing.T) {
	const lo, hi, steps = -103.0, 88.72, 1 << 20
	xs := make([]float32, steps)
	for i := range xs {
		xs[i] = float32(lo + (hi-lo)*float64(i)/steps)
	}
	worst := 0.0
	for _, x := range xs {
		worst = max(worst, ulpDiff(expf(x), math.Exp(float64(x))))
	}
	if worst > 2 {
		t.Fatalf("expf: max error %.2f ulp, want <= 2", worst)
	}
	forEachKernel(t, func(kern string) {
		out := make([]float32, steps)
		active.expSum(&out[0], &xs[0], steps, 0)
		worst := 0.0
		for i, x := range xs {
			worst = max(worst, ulpDiff(out[i], math.Exp(float64(x))))
		}
		if worst > 2 {
			t.Fatalf("%s: exp max error %.2f ulp, want <= 2", kern, worst)
		}
		special := make([]float32, 16)
		copy(special, []float32{float32(math.Inf(-1)), -200, float32(math.NaN()), 0})
		res := make([]float32, 16)
		active.expSum(&res[0], &special[0], 16, 0)
		if res[0] != 0 || res[1] != 0 {
			t.Fatalf("%s: exp(-Inf), exp(-200) = %v, %v, want 0, 0", kern, res[0], res[1])
		}
		if !math.IsNaN(float64(res[2])) {
			t.Fatalf("%s: exp(NaN) = %v, want NaN", kern, res[2])
		}
		if res[3] != 1 {
			t.Fatalf("%s: exp(0) = %v, want 1", kern, res[3])
		}
	})
	if v := expf(float32(math.Inf(1))); !math.IsInf(float64(v), 1) {
		t.Fatalf("expf(+Inf) = %v, want +Inf", v)
	}
}

func softmaxRef(row []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range row {
		m = math.Max(m, float64(v))
	}
	out := make([]float64, len(row))
	var s float64
	for i, v := range row {
		out[i] = math.Exp(float64(v) - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

func TestSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	ninf := float32(math.Inf(-1))
	forEachKernel(t, func(kern string) {
		for _, cols := range []int{1, 3, 15, 17, 255, 257, 1000} {
			const rows = 5
			x := randSlice(rng, rows*cols)
			for i := range x {
				x[i] *= 8
			}
			x[0] = ninf // row 0 has one masked entry
			for j := 0; j < cols; j++ {
				x[cols+j] = ninf                // row 1 is fully masked
				x[2*cols+j] = 1e30 - float32(j) // row 2 has huge logits
			}
			dst, check := guardedSlice(t, rng, rows*cols)
			Softmax(dst, x, rows, cols)
			check()
			for r := 0; r < rows; r++ {
				row := x[r*cols : (r+1)*cols]
				got := dst[r*cols : (r+1)*cols]
				if r == 1 || (r == 0 && cols == 1) {
					for j, v := range got {
						if v != 0 {
							t.Fatalf("%s cols=%d: fully masked row [%d] = %v, want 0", kern, cols, j, v)
						}
					}
					continue
				}
				want := softmaxRef(row)
				for j := range got {
					if !closeTo(float64(got[j]), want[j], 1e-5) {
						t.Fatalf("%s cols=%d row %d: [%d] = %v, want %v", kern, cols, r, j, got[j], want[j])
					}
				}
			}
			if cols > 1 && dst[0] != 0 {
				t.Fatalf("%s: masked entry = %v, want 0", kern, dst[0])
			}
		}
	})
}

func TestSoftmaxAliasesInput(t *testing.T) {
	x := []float32{1, 2, 3, 4}
	want := softmaxRef(x)
	Softmax(x, x, 1, 4)
	for i := range x {
		if !closeTo(float64(x[i]), want[i], 1e-6) {
			t.Fatalf("in-place softmax [%d] = %v, want %v", i, x[i], want[i])
		}
	}
}

// layerNormRef is the float64 two-pass LayerNorm of one row.
func layerNormRef(row, gamma, beta []float64, eps float64) []float64 {
	var mu float64
	for _, v := range row {
		mu += v
	}
	mu /= float64(len(row))
	var v float64
	for _, x := range row {
		v += (x - mu) * (x - mu)
	}
	rs := 1 / math.Sqrt(v/float64(len(row))+eps)
	out := make([]float64, len(row))
	for j, x := range row {
		out[j] = (x-mu)*rs*gamma[j] + beta[j]
	}
	return out
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func TestLayerNormLargeMean(t *testing.T) {
	forEachKernel(t, func(kern string) {
		for _, cols := range []int{256, 300, 1000} {
			t.Run(fmt.Sprint(kern, "/", cols), func(t *testing.T) { checkLayerNormLargeMean(t, cols) })
		}
	})
}

// checkLayerNormLargeMean normalises rows of 4e4 and 4e4+1. With 300 or
// 1000 columns the mean is not a float32, so subtracting a rounded mean
// would be off by up to 0.002, or 0.4% of the spread.
func checkLayerNormLargeMean(t *testing.T, cols int) {
	rng := rand.New(rand.NewPCG(15, 16))
	const rows = 4
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = 40000 + float32(rng.IntN(2)) // 4e4 and 4e4+1
	}
	gamma, beta := randSlice(rng, cols), randSlice(rng, cols)
	out := make([]float32, rows*cols)
	mean, rstd := make([]float32, rows), make([]float32, rows)
	LayerNorm(out, mean, rstd, x, gamma, beta, rows, cols, 1e-5)
	for r := 0; r < rows; r++ {
		want := layerNormRef(to64(x[r*cols:(r+1)*cols]), to64(gamma), to64(beta), 1e-5)
		for j := range want {
			if math.Abs(float64(out[r*cols+j])-want[j]) > 1e-4 {
				t.Fatalf("row %d col %d = %v, want %v", r, j, out[r*cols+j], want[j])
			}
		}
	}
}

// TestLayerNormBackwardFiniteDifferences compares the analytic gradients
// with central differences of the float64 reference for the loss
// L = sum(out · w).
func TestLayerNormBackwardFiniteDifferences(t *testing.T) {
	forEachKernel(t, func(kern string) {
		t.Run(kern, checkLayerNormBackward)
	})
}

func checkLayerNormBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	// The third case has rows around 4e4 whose mean is not a float32.
	for _, shape := range [][3]int{{3, 7, 0}, {200, 300, 0}, {3, 300, 40000}} {
		rows, cols := shape[0], shape[1]
		x, w := randSlice(rng, rows*cols), randSlice(rng, rows*cols)
		for i := range x {
			x[i] += float32(shape[2])
		}
		gamma, beta := randSlice(rng, cols), randSlice(rng, cols)
		const eps = 1e-5
		out := make([]float32, rows*cols)
		mean, rstd := make([]float32, rows), make([]float32, rows)
		LayerNorm(out, mean, rstd, x, gamma, beta, rows, cols, eps)
		dx := make([]float32, rows*cols)
		dgamma, dbeta := make([]float32, cols), make([]float32, cols)
		LayerNormBackward(dx, dgamma, dbeta, w, x, mean, rstd, gamma, rows, cols)

		loss := func(x64, g64, b64 []float64) float64 {
			var l float64
			for r := 0; r < rows; r++ {
				o := layerNormRef(x64[r*cols:(r+1)*cols], g64, b64, eps)
				for j, v := range o {
					l += v * float64(w[r*cols+j])
				}
			}
			return l
		}
		x64, g64, b64 := to64(x), to64(gamma), to64(beta)
		const h = 1e-5
		fd := func(p []float64, i int) float64 {
			old := p[i]
			p[i] = old + h
			up := loss(x64, g64, b64)
			p[i] = old - h
			down := loss(x64, g64, b64)
			p[i] = old
			return (up - down) / (2 * h)
		}
		for _, i := range []int{0, cols - 1, rows*cols/2 + 1, rows*cols - 1} {
			if want := fd(x64, i); !closeTo(float64(dx[i]), want, 1e-3) {
				t.Fatalf("%v: dx[%d] = %v, want %v", shape, i, dx[i], want)
			}
		}
		for _, j := range []int{0, cols / 2, cols - 1} {
			if want := fd(g64, j); !closeTo(float64(dgamma[j]), want, 1e-3) {
				t.Fatalf("%v: dgamma[%d] = %v, want %v", shape, j, dgamma[j], want)
			}
			if want := fd(b64, j); !closeTo(float64(dbeta[j]), want, 1e-3) {
				t.Fatalf("%v: dbeta[%d] = %v, want %v", shape, j, dbeta[j], want)
			}
		}
	}
}

func TestAdamWMatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	const n = 70_001
	p, g := randSlice(rng, n), randSlice(rng, n)
	m, v := make([]float32, n), make([]float32, n)
	p64, m64, v64 := to64(p), make([]float64, n), make([]float64, n)
	const lr, b1, b2, eps, wd = 1e-2, 0.9, 0.95, 1e-8, 0.1
	for step := 1; step <= 3; step++ {
		AdamW(p, g, m, v, lr, b1, b2, eps, wd, step)
		for i := range p64 {
			gi := float64(g[i])
			m64[i] = b1*m64[i] + (1-b1)*gi
			v64[i] = b2*v64[i] + (1-b2)*gi*gi
			mh := m64[i] / (1 - math.Pow(b1, float64(step)))
			vh := v64[i] / (1 - math.Pow(b2, float64(step)))
			p64[i] -= lr * (mh/(math.Sqrt(vh)+eps) + wd*p64[i])
		}
	}
	for i := range p {
		if math.Abs(float64(p[i])-p64[i]) > 1e-5 {
			t.Fatalf("param[%d] = %v, want %v", i, p[i], p64[i])
		}
	}
}

func TestRowReductionsAndBias(t *testing.T) {
	x := []float32{1, 5, 2, -1, float32(math.NaN()), 3, 4, 4, 4}
	sum, mx := make([]float32, 3), make([]float32, 3)
	RowSum(sum, x, 3, 3)
	RowMax(mx, x, 3, 3)
	if sum[0] != 8 || sum[2] != 12 || !math.IsNaN(float64(sum[1])) {
		t.Fatalf("RowSum = %v, want [8 NaN 12]", sum)
	}
	if mx[0] != 5 || mx[2] != 4 || !math.IsNaN(float64(mx[1])) {
		t.Fatalf("RowMax = %v, want [5 NaN 4]", mx)
	}
	y := []float32{1, 2, 3, 4, 5, 6}
	AddBias(y, []float32{10, 20, 30}, 2)
	for i, want := range []float32{11, 22, 33, 14, 25, 36} {
		if y[i] != want {
			t.Fatalf("AddBias [%d] = %v, want %v", i, y[i], want)
		}
	}
	cs := []float32{1, 1, 1}
	ColSumAdd(cs, y, 2)
	for i, want := range []float32{26, 48, 70} {
		if cs[i] != want {
			t.Fatalf("ColSumAdd [%d] = %v, want %v", i, cs[i], want)
		}
	}
}

func TestEmbeddingScatterAddRepeats(t *testing.T) {
	table := make([]float32, 3*2)
	src := []float32{1, 2, 3, 4, 5, 6}
	EmbeddingScatterAdd(table, []int{2, 0, 2}, src, 2)
	for i, want := range []float32{3, 4, 0, 0, 6, 8} {
		if table[i] != want {
			t.Fatalf("table[%d] = %v, want %v", i, table[i], want)
		}
	}
	dst := make([]float32, 4)
	EmbeddingGather(dst, table, []int{2, 0}, 2)
	for i, want := range []float32{6, 8, 3, 4} {
		if dst[i] != want {
			t.Fatalf("gather [%d] = %v, want %v", i, dst[i], want)
		}
	}
}

func TestOpsPanicOnShortOperand(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Add with a short operand did not panic")
		}
	}()
	Add(make([]float32, 4), make([]float32, 4), make([]float32, 3))
}
