package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// forEachKernel runs f once per kernel path this machine supports and
// restores the start-up path afterwards.
func forEachKernel(t testing.TB, f func(name string)) {
	saved := KernelName()
	defer func() {
		if err := SetKernels(saved); err != nil {
			t.Fatal(err)
		}
	}()
	for _, name := range Kernels() {
		if err := SetKernels(name); err != nil {
			t.Fatal(err)
		}
		f(name)
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

// guarded is a matrix stored inside a NaN-filled buffer. Guard elements sit
// before the first row, after the last row, and in the ld-cols gap at the
// end of every row. A kernel that reads or writes outside the matrix turns
// up NaN in the result or overwrites a guard.
type guarded struct {
	buf        []float32
	rows, cols int
	ld         int
}

const guardLen = 64

func newGuarded(rng *rand.Rand, rows, cols, gap int) *guarded {
	g := &guarded{rows: rows, cols: cols, ld: cols + gap}
	g.buf = make([]float32, 2*guardLen+max(rows*g.ld, 1))
	for i := range g.buf {
		g.buf[i] = float32(math.NaN())
	}
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			g.buf[guardLen+r*g.ld+c] = rng.Float32()*2 - 1
		}
	}
	return g
}

// data returns the slice a kernel sees: from the first element to the end
// of the last row, excluding the trailing guard.
func (g *guarded) data() []float32 {
	if g.rows == 0 {
		return g.buf[guardLen:guardLen]
	}
	return g.buf[guardLen : guardLen+(g.rows-1)*g.ld+g.cols]
}

// checkGuards reports any guard element that is no longer NaN.
func (g *guarded) checkGuards(t *testing.T) {
	t.Helper()
	for i, v := range g.buf {
		off := i - guardLen
		inside := off >= 0 && off < g.rows*g.ld && off%g.ld < g.cols
		if !inside && !math.IsNaN(float64(v)) {
			t.Fatalf("guard element at offset %d was overwritten with %v", off, v)
		}
	}
}

func (g *guarded) at(r, c int) float32 { return g.buf[guardLen+r*g.ld+c] }

func trName(ta, tb bool) string {
	s := [2]string{"N", "T"}
	x := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	return s[x(ta)] + s[x(tb)]
}

// checkGemmCase runs one Gemm against gemmRef with guarded operands.
func checkGemmCase(t *testing.T, rng *rand.Rand, ta, tb bool, m, n, k int, alpha, beta float32) {
	t.Helper()
	ar, ac := m, k
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	a := newGuarded(rng, ar, ac, 3)
	b := newGuarded(rng, br, bc, 1)
	c := newGuarded(rng, m, n, 2)
	if beta == 0 {
		// beta 0 must not read C: fill it with NaN.
		for r := 0; r < m; r++ {
			for j := 0; j < n; j++ {
				c.buf[guardLen+r*c.ld+j] = float32(math.NaN())
			}
		}
	}
	want := make([]float32, m*n)
	for r := 0; r < m; r++ {
		for j := 0; j < n; j++ {
			want[r*n+j] = c.at(r, j)
		}
	}
	// The reference reads dense copies so that guard NaNs cannot reach it.
	ad, bd := dense(a), dense(b)
	gemmRef(ta, tb, m, n, k, alpha, ad, max(ac, 1), bd, max(bc, 1), beta, want, max(n, 1))

	Gemm(ta, tb, m, n, k, alpha, a.data(), a.ld, b.data(), b.ld, beta, c.data(), c.ld)

	// Each element sums k products of values in [-1, 1]; float32 rounding
	// error grows at most like k·eps in the worst case.
	tol := float64(abs32(alpha))*float64(k)*2e-7*4 + 1e-5
	for r := 0; r < m; r++ {
		for j := 0; j < n; j++ {
			got, w := c.at(r, j), want[r*n+j]
			if math.IsNaN(float64(got)) || math.Abs(float64(got-w)) > tol {
				t.Fatalf("C[%d,%d] = %v, want %v (tolerance %g)", r, j, got, w, tol)
			}
		}
	}
	c.checkGuards(t)
	a.checkGuards(t)
	b.checkGuards(t)
}

func dense(g *guarded) []float32 {
	d := make([]float32, g.rows*g.cols)
	for r := 0; r < g.rows; r++ {
		for c := 0; c < g.cols; c++ {
			d[r*g.cols+c] = g.at(r, c)
		}
	}
	return d
}

func abs32(x float32) float32 { return float32(math.Abs(float64(x))) }

func TestGemmAwkwardShapes(t *testing.T) {
	sizes := []int{1, 3, 15, 17, 255, 257, 1000}
	rng := rand.New(rand.NewPCG(1, 2))
	forEachKernel(t, func(kern string) {
		for _, m := range sizes {
			for _, n := range sizes {
				for _, k := range sizes {
					// Keep the reference triple loop cheap: every size
					// still appears in every dimension.
					if m*n*k > 1<<22 {
						continue
					}
					for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
						name := fmt.Sprintf("%s/%s/%dx%dx%d", kern, trName(tr[0], tr[1]), m, n, k)
						t.Run(name, func(t *testing.T) {
							checkGemmCase(t, rng, tr[0], tr[1], m, n, k, 1, 0)
						})
					}
				}
			}
		}
	})
}

func TestGemmAlphaBeta(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := []struct{ alpha, beta float32 }{
		{1, 0}, {1, 1}, {0.5, -2}, {-1.5, 0.25}, {2, 1},
	}
	forEachKernel(t, func(kern string) {
		for _, tc := range cases {
			// (800, 70, 600) takes the path that packs all of a narrow
			// op(B) first (gemmDeep) on every kernel set, with beta.
			for _, shape := range [][3]int{{5, 7, 300}, {70, 130, 600}, {4, 40, 33}, {37, 64, 64},
				{800, 70, 600}} {
				for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
					name := fmt.Sprintf("%s/a%v_b%v/%s/%v", kern, tc.alpha, tc.beta,
						trName(tr[0], tr[1]), shape)
					t.Run(name, func(t *testing.T) {
						checkGemmCase(t, rng, tr[0], tr[1], shape[0], shape[1], shape[2],
							tc.alpha, tc.beta)
					})
				}
			}
		}
	})
}

// TestGemmBlockEdges crosses every cache block boundary (kc, mc, nc) of
// every kernel path, so multi-block accumulation and edge tiles both run.
func TestGemmBlockEdges(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	forEachKernel(t, func(kern string) {
		ks := active
		shapes := [][3]int{
			{ks.mc + 1, ks.nr + 1, ks.kc + 1},
			{2*ks.mr + 1, ks.nc + 3, 2*ks.kc + 5},
			{ks.mc*2 + ks.mr - 1, 2*ks.nr - 1, ks.kc - 1},
		}
		for _, s := range shapes {
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				name := fmt.Sprintf("%s/%s/%v", kern, trName(tr[0], tr[1]), s)
				t.Run(name, func(t *testing.T) {
					checkGemmCase(t, rng, tr[0], tr[1], s[0], s[1], s[2], 1, 0.5)
				})
			}
		}
	})
}

func TestGemmZeroSizes(t *testing.T) {
	c := []float32{1, 2, 3, 4}
	Gemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 3, c, 2)
	for i, want := range []float32{3, 6, 9, 12} {
		if c[i] != want {
			t.Fatalf("k=0, beta=3: c[%d] = %v, want %v", i, c[i], want)
		}
	}
	nan := float32(math.NaN())
	c = []float32{nan, nan}
	Gemm(false, false, 1, 2, 0, 1, nil, 1, nil, 2, 0, c, 2)
	if c[0] != 0 || c[1] != 0 {
		t.Fatalf("k=0, beta=0: c = %v, want zeros", c)
	}
	Gemm(false, false, 0, 0, 5, 1, nil, 5, nil, 1, 0, nil, 1)
}

func TestGemmPanicsOnShortSlice(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Gemm with a short A did not panic")
		}
	}()
	a := make([]float32, 5)
	b := make([]float32, 6)
	c := make([]float32, 4)
	Gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
}

func TestGemmNaNInfPropagate(t *testing.T) {
	forEachKernel(t, func(kern string) {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			const m, n, k = 20, 40, 50
			a := make([]float32, m*k)
			b := make([]float32, k*n)
			for i := range a {
				a[i] = 1
			}
			for i := range b {
				b[i] = 1
			}
			// op(A)[3, 7] = NaN poisons row 3; op(A)[5, 9] = +Inf makes row
			// 5 +Inf unless it meets a zero or -Inf of op(B).
			set := func(x []float32, trans bool, rows, cols, r, c int, v float32) {
				if trans {
					x[c*rows+r] = v
				} else {
					x[r*cols+c] = v
				}
			}
			set(a, tr[0], m, k, 3, 7, float32(math.NaN()))
			set(a, tr[0], m, k, 5, 9, float32(math.Inf(1)))
			// op(B)[8, 11] = -Inf: C[5, 11] sums -Inf (from column 8) and +Inf
			// (from column 9), which is NaN.
			set(b, tr[1], k, n, 8, 11, float32(math.Inf(-1)))
			lda, ldb := k, n
			if tr[0] {
				lda = m
			}
			if tr[1] {
				ldb = k
			}
			c := make([]float32, m*n)
			Gemm(tr[0], tr[1], m, n, k, 1, a, lda, b, ldb, 0, c, n)
			name := kern + "/" + trName(tr[0], tr[1])
			for j := 0; j < n; j++ {
				if !math.IsNaN(float64(c[3*n+j])) {
					t.Fatalf("%s: C[3,%d] = %v, want NaN", name, j, c[3*n+j])
				}
				want5 := math.Inf(1)
				if j == 11 {
					want5 = math.NaN()
				}
				got5 := float64(c[5*n+j])
				if math.IsNaN(want5) != math.IsNaN(got5) || (!math.IsNaN(want5) && got5 != want5) {
					t.Fatalf("%s: C[5,%d] = %v, want %v", name, j, got5, want5)
				}
			}
			if c[0] != k {
				t.Fatalf("%s: C[0,0] = %v, want %d", name, c[0], k)
			}
		}
	})
}

func TestGemmBatchedMatchesLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	forEachKernel(t, func(kern string) {
		for _, s := range [][4]int{{64, 16, 16, 8}, {3, 33, 17, 40}, {9, 5, 70, 3}} {
			batch, m, n, k := s[0], s[1], s[2], s[3]
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				a := randSlice(rng, batch*m*k+3)
				b := randSlice(rng, batch*k*n+5)
				c := randSlice(rng, batch*m*n)
				want := append([]float32(nil), c...)
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				for i := 0; i < batch; i++ {
					gemmRef(tr[0], tr[1], m, n, k, 0.5, a[i*m*k:], lda, b[i*k*n:], ldb,
						2, want[i*m*n:], n)
				}
				GemmBatched(tr[0], tr[1], batch, m, n, k, 0.5, a, lda, m*k, b, ldb, k*n,
					2, c, n, m*n)
				for i := range c {
					if math.Abs(float64(c[i]-want[i])) > 1e-4 {
						t.Fatalf("%s %s %v: c[%d] = %v, want %v", kern, trName(tr[0], tr[1]),
							s, i, c[i], want[i])
					}
				}
			}
		}
	})
}

// TestGemmParallelRace runs parallel products concurrently from several
// goroutines; under -race it checks the pool and the packing buffers.
func TestGemmParallelRace(t *testing.T) {
	done := make(chan bool)
	for g := 0; g < 3; g++ {
		go func(seed uint64) {
			rng := rand.New(rand.NewPCG(seed, 9))
			for i := 0; i < 4; i++ {
				m, n, k := 70+i, 90, 80
				a := randSlice(rng, m*k)
				b := randSlice(rng, k*n)
				c := make([]float32, m*n)
				want := make([]float32, m*n)
				Gemm(false, true, m, n, k, 1, a, k, b[:n*k], k, 0, c, n)
				gemmRef(false, true, m, n, k, 1, a, k, b[:n*k], k, 0, want, n)
				for x := range c {
					if math.Abs(float64(c[x]-want[x])) > 1e-4 {
						t.Errorf("c[%d] = %v, want %v", x, c[x], want[x])
						break
					}
				}
			}
			done <- true
		}(uint64(g))
	}
	for g := 0; g < 3; g++ {
		<-done
	}
}

func FuzzGemm(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint8(1), false, false, uint64(1))
	f.Add(uint8(17), uint8(33), uint8(255), true, false, uint64(2))
	f.Add(uint8(13), uint8(64), uint8(100), false, true, uint64(3))
	f.Add(uint8(200), uint8(3), uint8(7), true, true, uint64(4))
	f.Fuzz(func(t *testing.T, m, n, k uint8, ta, tb bool, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 10))
		forEachKernel(t, func(string) {
			checkGemmCase(t, rng, ta, tb, int(m), int(n), int(k), 1, 0.5)
		})
	})
}
