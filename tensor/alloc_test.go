package tensor

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// The steady state of a training step must not allocate: the garbage of
// tens of thousands of kernel calls per step would raise the process's peak
// memory far above its live data. These tests run each hot kernel once to
// fill the buffer and job free lists, then count allocations.

// allocsAfterWarmup returns the allocations per call of f, rounded down,
// after calls that fill the free lists. testing.AllocsPerRun runs f with
// GOMAXPROCS at 1, where a helper can hold a job or a buffer longer, so the
// warm-up runs at both settings. Under load from other processes a helper
// may still be descheduled while it holds a buffer, and the free lists then
// grow to a new high-water mark once; so the measurement is repeated up to
// three times and the lowest count returned. A kernel that allocates on
// every call fails all three.
func allocsAfterWarmup(f func()) float64 {
	f()
	f()
	old := runtime.GOMAXPROCS(1)
	f()
	runtime.GOMAXPROCS(old)
	best := testing.AllocsPerRun(8, f)
	for try := 1; try < 3 && best > 0; try++ {
		best = min(best, testing.AllocsPerRun(8, f))
	}
	return best
}

// trainingProducts returns the products of one training step of the small
// preset with bt rows of activations (B·T), as closures over fresh operands.
func trainingProducts(bt int) map[string]func() {
	rng := rand.New(rand.NewPCG(5, 6))
	const c, v = 256, 4096
	out := map[string]func(){}
	for _, l := range []struct {
		name    string
		in, out int
	}{{"qkv", c, 3 * c}, {"attn.proj", c, c}, {"mlp.fc", c, 4 * c},
		{"mlp.proj", 4 * c, c}, {"lm_head", c, v}} {
		x := randSlice(rng, bt*l.in)
		w := randSlice(rng, l.out*l.in)
		y := randSlice(rng, bt*l.out)
		dx := make([]float32, bt*l.in)
		dw := make([]float32, l.out*l.in)
		in, o := l.in, l.out
		out[l.name+" forward NT"] = func() {
			Gemm(false, true, bt, o, in, 1, x, in, w, in, 0, y, o)
		}
		out[l.name+" dX NN"] = func() {
			Gemm(false, false, bt, in, o, 1, y, o, w, in, 0, dx, in)
		}
		out[l.name+" dW TN"] = func() {
			Gemm(true, false, o, in, bt, 1, y, o, x, in, 1, dw, in)
		}
	}
	// Attention: heads of (T, hd) = (128, 64), bt/128·4 heads.
	const t, hd = 128, 64
	heads := max(1, bt/t*4)
	q := randSlice(rng, heads*t*hd)
	k := randSlice(rng, heads*t*hd)
	s := make([]float32, heads*t*t)
	o := make([]float32, heads*t*hd)
	out["attention Q·Kᵀ"] = func() {
		GemmBatched(false, true, heads, t, t, hd, 0.125, q, hd, t*hd, k, hd, t*hd,
			0, s, t, t*t)
	}
	out["attention P·V"] = func() {
		GemmBatched(false, false, heads, t, hd, t, 1, s, t, t*t, k, hd, t*hd,
			0, o, hd, t*hd)
	}
	out["attention Pᵀ·dO"] = func() {
		GemmBatched(true, false, heads, t, hd, t, 1, s, t, t*t, q, hd, t*hd,
			0, o, hd, t*hd)
	}
	// Generation: three rows of activations (a padded group of 4) times
	// a weight.
	w := randSlice(rng, 3*c*c)
	x := randSlice(rng, 3*c)
	y := make([]float32, 3*3*c)
	out["generation qkv"] = func() { Gemm(false, true, 3, 3*c, c, 1, x, c, w, c, 0, y, 3*c) }
	return out
}

func TestGemmSteadyStateAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	if Workers() < 2 {
		t.Log("one worker: the parallel path is not exercised")
	}
	fastest := KernelName()
	forEachKernel(t, func(name string) {
		// The whole small preset on the fastest path; fewer rows on the
		// slower ones keep the test short.
		bt := 256
		if name == fastest {
			bt = 2048
		}
		if name == "generic" {
			bt = 64
		}
		for shape, f := range trainingProducts(bt) {
			if a := allocsAfterWarmup(f); a != 0 {
				t.Errorf("%s: %s (B·T = %d): %v allocations per call, want 0",
					name, shape, bt, a)
			}
		}
	})
}

func TestKernelsSteadyStateAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	const rows, cols = 2048, 256 + 3 // a tail after the vectors
	n := rows * cols
	a, b, d := randSlice(rng, n), randSlice(rng, n), make([]float32, n)
	m, v := make([]float32, n), make([]float32, n)
	bias, gamma, beta := randSlice(rng, cols), randSlice(rng, cols), randSlice(rng, cols)
	mean, rstd := make([]float32, rows), make([]float32, rows)
	dg, db := make([]float32, cols), make([]float32, cols)
	kernels := map[string]func(){
		"Add":       func() { Add(d, a, b) },
		"Mul":       func() { Mul(d, a, b) },
		"Axpy":      func() { Axpy(d, 0.5, a) },
		"Scale":     func() { Scale(d, 0.999) },
		"AddBias":   func() { AddBias(d, bias, rows) },
		"RowSum":    func() { RowSum(mean, a, rows, cols) },
		"RowMax":    func() { RowMax(mean, a, rows, cols) },
		"Softmax":   func() { Softmax(d, a, rows, cols) },
		"LayerNorm": func() { LayerNorm(d, mean, rstd, a, gamma, beta, rows, cols, 1e-5) },
		"LayerNormBackward": func() {
			LayerNormBackward(d, dg, db, b, a, mean, rstd, gamma, rows, cols)
		},
		"GELU":         func() { GELU(d, a) },
		"GELUBackward": func() { GELUBackward(d, a, b) },
		"AdamW":        func() { AdamW(d, a, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.01, 3) },
	}
	forEachKernel(t, func(name string) {
		for op, f := range kernels {
			if a := allocsAfterWarmup(f); a != 0 {
				t.Errorf("%s: %s: %v allocations per call, want 0", name, op, a)
			}
		}
	})
}

// BenchmarkTrainingProducts runs every product of one training step of the
// small preset (B·T = 2048) once per iteration; -benchmem shows what the
// products allocate per step.
func BenchmarkTrainingProducts(b *testing.B) {
	products := trainingProducts(2048)
	for _, f := range products {
		f()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, f := range products {
			f()
		}
	}
}
