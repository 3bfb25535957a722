package tensor

import (
	"fmt"
	"testing"
)

// BenchmarkPack measures the packing routines in floats per second.
func BenchmarkPack(b *testing.B) {
	const rows, kb, ld = 120, 256, 264
	a := make([]float32, rows*ld)
	for _, ks := range kernelSets {
		d := make([]float32, roundUp(rows, ks.mr)*kb)
		b.Run(fmt.Sprintf("A/NN/%s", ks.name), func(b *testing.B) {
			b.SetBytes(4 * rows * kb)
			for b.Loop() {
				packABlock(ks, d, false, a, ld, 0, rows, 0, kb)
			}
		})
		bp := make([]float32, ks.nr*kb)
		b.Run(fmt.Sprintf("B/NT/%s", ks.name), func(b *testing.B) {
			b.SetBytes(int64(4 * ks.nr * kb))
			for b.Loop() {
				packBPanel(ks, bp, true, a, ld, 0, kb, 0, ks.nr)
			}
		})
	}
}

// BenchmarkPackTrans measures packing a transposed A (a weight gradient's
// dYᵀ) and a row-major B, the packing of TN products.
func BenchmarkPackTrans(b *testing.B) {
	const rows, kb, ld = 192, 256, 1024
	a := make([]float32, kb*ld)
	for _, ks := range kernelSets {
		d := make([]float32, roundUp(rows, ks.mr)*kb)
		b.Run(fmt.Sprintf("A/T/%s", ks.name), func(b *testing.B) {
			b.SetBytes(4 * rows * kb)
			for b.Loop() {
				packABlock(ks, d, true, a, ld, 0, rows, 0, kb)
			}
		})
		const n = 256
		bp := make([]float32, n*kb)
		b.Run(fmt.Sprintf("B/N/%s", ks.name), func(b *testing.B) {
			b.SetBytes(4 * n * kb)
			for b.Loop() {
				packBRows(bp, a, ld, 0, kb, 0, n, 0, n/ks.nr, ks.nr)
			}
		})
	}
}
