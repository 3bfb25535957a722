package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchGemm reports GFLOP/s of one product shape on every kernel path.
func benchGemm(b *testing.B, ta, tb bool, m, n, k int) {
	rng := rand.New(rand.NewPCG(1, 1))
	a := randSlice(rng, m*k)
	bm := randSlice(rng, k*n)
	c := make([]float32, m*n)
	lda, ldb := k, n
	if ta {
		lda = m
	}
	if tb {
		ldb = k
	}
	forEachKernel(b, func(kern string) {
		b.Run(fmt.Sprintf("%s/%s/%dx%dx%d", kern, trName(ta, tb), m, n, k), func(b *testing.B) {
			for b.Loop() {
				Gemm(ta, tb, m, n, k, 1, a, lda, bm, ldb, 0, c, n)
			}
			b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/
				b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	})
}

func BenchmarkGemmSquare(b *testing.B) {
	for _, n := range []int{128, 256, 512, 1024, 2048} {
		benchGemm(b, false, false, n, n, n)
	}
}

// BenchmarkGemmGPT runs the products of one training step of the small
// preset (B·T = 2048 rows, C = 256, V = 4096).
func BenchmarkGemmGPT(b *testing.B) {
	const rows, c, v = 2048, 256, 4096
	for _, out := range []int{3 * c, c, 4 * c, v} {
		benchGemm(b, false, true, rows, out, c)  // forward: x · Wᵀ
		benchGemm(b, false, false, rows, c, out) // backward: dY · W
		benchGemm(b, true, false, out, c, rows)  // weight gradient: dYᵀ · X
	}
}

// BenchmarkGemv runs generation-time products: a few rows of activations
// times an nn.Linear weight (n, k).
func BenchmarkGemv(b *testing.B) {
	for _, m := range []int{1, 4, 8} {
		benchGemm(b, false, true, m, 1024, 256)
		benchGemm(b, false, true, m, 4096, 256)
	}
}

func BenchmarkGemmBatchedAttention(b *testing.B) {
	const batch, t, hd = 64, 128, 64
	rng := rand.New(rand.NewPCG(1, 1))
	q := randSlice(rng, batch*t*hd)
	kk := randSlice(rng, batch*t*hd)
	s := make([]float32, batch*t*t)
	forEachKernel(b, func(kern string) {
		b.Run(kern+"/QKt", func(b *testing.B) {
			for b.Loop() {
				GemmBatched(false, true, batch, t, t, hd, 1, q, hd, t*hd, kk, hd, t*hd,
					0, s, t, t*t)
			}
			b.ReportMetric(2*float64(batch*t*t*hd)*float64(b.N)/b.Elapsed().Seconds()/1e9,
				"GFLOP/s")
		})
		b.Run(kern+"/PV", func(b *testing.B) {
			for b.Loop() {
				GemmBatched(false, false, batch, t, hd, t, 1, s, t, t*t, kk, hd, t*hd,
					0, q, hd, t*hd)
			}
			b.ReportMetric(2*float64(batch*t*t*hd)*float64(b.N)/b.Elapsed().Seconds()/1e9,
				"GFLOP/s")
		})
	})
}
