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
