package tensor

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMicrokernel runs each microkernel on L1-resident panels, which
// bounds what the blocked product can reach on one core.
func BenchmarkMicrokernel(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, ks := range kernelSets {
		const k = 256
		a := randSlice(rng, ks.mr*k)
		bp := randSlice(rng, ks.nr*k)
		c := make([]float32, ks.mr*ks.nr)
		b.Run(ks.name, func(b *testing.B) {
			for b.Loop() {
				ks.micro(k, &a[0], &bp[0], &c[0], ks.nr, 1, 1)
			}
			b.ReportMetric(2*float64(ks.mr*ks.nr*k)*float64(b.N)/b.Elapsed().Seconds()/1e9,
				"GFLOP/s")
		})
	}
}
