package tensor

import (
	"math/rand/v2"
	"testing"
)

// The row and elementwise kernels on small-preset training shapes, in bytes
// moved per second (b.SetBytes counts every float read and written once),
// next to a large copy that measures the memory bandwidth they compete for.

func BenchmarkOpsMemCopy(b *testing.B) {
	const n = 16 << 20 // 64 MiB, far above the L3
	src, dst := make([]float32, n), make([]float32, n)
	b.SetBytes(2 * 4 * n)
	for b.Loop() {
		copy(dst, src)
	}
}

func benchOp(b *testing.B, floatsMoved int, run func()) {
	forEachKernel(b, func(kern string) {
		b.Run(kern, func(b *testing.B) {
			b.SetBytes(int64(4 * floatsMoved))
			for b.Loop() {
				run()
			}
		})
	})
}

// BenchmarkOpsSoftmax runs the logits softmax: B·T = 2048 rows of V = 4096.
func BenchmarkOpsSoftmax(b *testing.B) {
	const rows, cols = 2048, 4096
	x := randSlice(rand.New(rand.NewPCG(1, 1)), rows*cols)
	out := make([]float32, rows*cols)
	benchOp(b, 2*rows*cols, func() { Softmax(out, x, rows, cols) })
}

// BenchmarkOpsLayerNorm runs 2048 rows of C = 256.
func BenchmarkOpsLayerNorm(b *testing.B) {
	const rows, cols = 2048, 256
	rng := rand.New(rand.NewPCG(1, 1))
	x, g, be := randSlice(rng, rows*cols), randSlice(rng, cols), randSlice(rng, cols)
	out, mean, rstd := make([]float32, rows*cols), make([]float32, rows), make([]float32, rows)
	benchOp(b, 2*rows*cols, func() { LayerNorm(out, mean, rstd, x, g, be, rows, cols, 1e-5) })
}

// BenchmarkOpsGELU runs the MLP activation: 2048 rows of 4C = 1024.
func BenchmarkOpsGELU(b *testing.B) {
	const n = 2048 * 1024
	x := randSlice(rand.New(rand.NewPCG(1, 1)), n)
	out := make([]float32, n)
	benchOp(b, 2*n, func() { GELU(out, x) })
}

// BenchmarkOpsAdamW updates 4M parameters, about the small preset's count:
// it reads param, grad, m and v and writes param, m and v.
func BenchmarkOpsAdamW(b *testing.B) {
	const n = 4 << 20
	rng := rand.New(rand.NewPCG(1, 1))
	p, g := randSlice(rng, n), randSlice(rng, n)
	m, v := make([]float32, n), make([]float32, n)
	benchOp(b, 7*n, func() { AdamW(p, g, m, v, 1e-3, 0.9, 0.95, 1e-8, 0.1, 10) })
}

func BenchmarkOpsAdd(b *testing.B) {
	const n = 2048 * 256
	rng := rand.New(rand.NewPCG(1, 1))
	x, y, out := randSlice(rng, n), randSlice(rng, n), make([]float32, n)
	benchOp(b, 3*n, func() { Add(out, x, y) })
}

// BenchmarkOpsLayerNormBackward runs the backward pass of 2048 rows of
// C = 256: it reads x, dout and dx and writes dx.
func BenchmarkOpsLayerNormBackward(b *testing.B) {
	const rows, cols = 2048, 256
	rng := rand.New(rand.NewPCG(1, 1))
	x, g, be := randSlice(rng, rows*cols), randSlice(rng, cols), randSlice(rng, cols)
	dout, dx := randSlice(rng, rows*cols), make([]float32, rows*cols)
	out, mean, rstd := make([]float32, rows*cols), make([]float32, rows), make([]float32, rows)
	LayerNorm(out, mean, rstd, x, g, be, rows, cols, 1e-5)
	dg, db := make([]float32, cols), make([]float32, cols)
	benchOp(b, 4*rows*cols, func() { LayerNormBackward(dx, dg, db, dout, x, mean, rstd, g, rows, cols) })
}
