package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// awkwardCols are row lengths around the vector widths (8 and 16) and the
// block sizes, with tails after the vectors.
var awkwardCols = []int{1, 3, 15, 17, 255, 257, 1000}

// TestRowKernelsAwkwardShapes checks AddBias, RowSum, RowMax and LayerNorm
// on every kernel path against float64 loops, with outputs inside NaN
// guard bands. The larger row counts split the rows over the pool.
func TestRowKernelsAwkwardShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	forEachKernel(t, func(kern string) {
		for _, cols := range awkwardCols {
			for _, rows := range []int{1, 3, 2*opGrain/cols + 5} {
				t.Run(fmt.Sprintf("%s/%dx%d", kern, rows, cols), func(t *testing.T) {
					checkRowKernels(t, rng, rows, cols)
				})
			}
		}
	})
}

func checkRowKernels(t *testing.T, rng *rand.Rand, rows, cols int) {
	x := randSlice(rng, rows*cols)
	bias := randSlice(rng, cols)

	y, check := guardedSlice(t, rng, rows*cols)
	old := append([]float32(nil), y...)
	AddBias(y, bias, rows)
	check()
	for i := range y {
		if w := float64(old[i]) + float64(bias[i%cols]); !closeTo(float64(y[i]), w, 1e-6) {
			t.Fatalf("AddBias [%d] = %v, want %v", i, y[i], w)
		}
	}

	sum, checkSum := guardedSlice(t, rng, rows)
	mx, checkMax := guardedSlice(t, rng, rows)
	RowSum(sum, x, rows, cols)
	RowMax(mx, x, rows, cols)
	checkSum()
	checkMax()
	for r := 0; r < rows; r++ {
		var s float64
		m := math.Inf(-1)
		for _, v := range x[r*cols : (r+1)*cols] {
			s += float64(v)
			m = math.Max(m, float64(v))
		}
		// Each term is at most 1 in size: float32 sums of cols terms are
		// within cols·2^-24 of the exact sum.
		if math.Abs(float64(sum[r])-s) > float64(cols)*6e-8 {
			t.Fatalf("RowSum [%d] = %v, want %v", r, sum[r], s)
		}
		if float64(mx[r]) != m {
			t.Fatalf("RowMax [%d] = %v, want %v", r, mx[r], m)
		}
	}

	gamma, beta := randSlice(rng, cols), randSlice(rng, cols)
	out, checkOut := guardedSlice(t, rng, rows*cols)
	mean, rstd := make([]float32, rows), make([]float32, rows)
	LayerNorm(out, mean, rstd, x, gamma, beta, rows, cols, 1e-5)
	checkOut()
	for r := 0; r < rows; r++ {
		want := layerNormRef(to64(x[r*cols:(r+1)*cols]), to64(gamma), to64(beta), 1e-5)
		for j, w := range want {
			if got := out[r*cols+j]; !closeTo(float64(got), w, 2e-5) {
				t.Fatalf("LayerNorm [%d, %d] = %v, want %v", r, j, got, w)
			}
		}
	}
}

// TestAdamWAwkwardLengths runs one AdamW step on every kernel path over
// lengths with tails after the vectors, inside NaN guard bands, against a
// float64 step.
func TestAdamWAwkwardLengths(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	const lr, b1, b2, eps, wd = 1e-2, 0.9, 0.95, 1e-8, 0.1
	forEachKernel(t, func(kern string) {
		for _, n := range opLengths {
			t.Run(fmt.Sprintf("%s/%d", kern, n), func(t *testing.T) {
				p, checkP := guardedSlice(t, rng, n)
				m, checkM := guardedSlice(t, rng, n)
				v, checkV := guardedSlice(t, rng, n)
				for i := range v {
					v[i] = abs32(v[i]) // a second moment is not negative
				}
				g := randSlice(rng, n)
				p0, m0, v0 := to64(p), to64(m), to64(v)
				AdamW(p, g, m, v, lr, b1, b2, eps, wd, 2)
				checkP()
				checkM()
				checkV()
				for i := range p {
					gi := float64(g[i])
					mi := b1*m0[i] + (1-b1)*gi
					vi := b2*v0[i] + (1-b2)*gi*gi
					mh := mi / (1 - b1*b1)
					vh := vi / (1 - b2*b2)
					want := p0[i] - lr*(mh/(math.Sqrt(vh)+eps)+wd*p0[i])
					if !closeTo(float64(p[i]), want, 1e-5) || !closeTo(float64(m[i]), mi, 1e-6) ||
						!closeTo(float64(v[i]), vi, 1e-6) {
						t.Fatalf("element %d: param, m, v = %v, %v, %v; want %v, %v, %v",
							i, p[i], m[i], v[i], want, mi, vi)
					}
				}
			})
		}
	})
}
