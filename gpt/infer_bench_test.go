package gpt

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// benchDecode times single-token steps of batch rows on a random model,
// with the cache filled from position 64 on, as after a 64-token prompt,
// reading float32 or half-precision weights.
func benchDecode(b *testing.B, cfg Config, rows int, p Precision) {
	m := New(cfg, 1)
	s := newInferer(m, rows, p)
	defer s.close()
	prompt := make([]int, 64*rows)
	ids := make([]int, rows)
	s.reset(rows)
	s.forward(prompt, 64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if s.pos == cfg.ContextLen {
			s.reset(rows)
			s.forward(prompt, 64)
		}
		s.forward(ids, 1)
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "tokens/s")
}

var (
	smallShape  = Config{VocabSize: 4096, ContextLen: 256, Layers: 4, Heads: 4, Embd: 256}
	mediumShape = Config{VocabSize: 8192, ContextLen: 512, Layers: 6, Heads: 6, Embd: 384}
)

func BenchmarkDecodeSmall(b *testing.B)        { benchDecode(b, smallShape, 1, PrecisionF32) }
func BenchmarkDecodeSmallHalf(b *testing.B)    { benchDecode(b, smallShape, 1, PrecisionF16) }
func BenchmarkDecodeMedium(b *testing.B)       { benchDecode(b, mediumShape, 1, PrecisionF32) }
func BenchmarkDecodeMediumHalf(b *testing.B)   { benchDecode(b, mediumShape, 1, PrecisionF16) }
func BenchmarkDecodeSmallBatch8(b *testing.B)  { benchDecode(b, smallShape, 8, PrecisionF32) }
func BenchmarkDecodeMediumBatch8(b *testing.B) { benchDecode(b, mediumShape, 8, PrecisionF16) }
func BenchmarkDecodeSmallQ8(b *testing.B)      { benchDecode(b, smallShape, 1, PrecisionQ8) }
func BenchmarkDecodeMediumQ8(b *testing.B)     { benchDecode(b, mediumShape, 1, PrecisionQ8) }

// benchGemv times gemv over a weight matrix of size bytes with rows of k
// weights, split by rows between workers goroutines, in bytes of weights
// read per second. Sizes of 16 KiB, 1 MiB and 8 MiB stay in L1, L2 and
// L3.
func benchGemv(b *testing.B, p Precision, size, workers int) {
	const k = 256
	per := map[Precision]int{PrecisionF16: 2, PrecisionQ8: 1}[p]
	n := size / (k * per) &^ 3
	w := newWeight(randSlice(rand.New(rand.NewPCG(1, 2)), n*k), n, k, p)
	s := &inferer{dec: &decodeWeights{head: w}}
	x := make([]float32, k)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	in := s.input(x, make([]int16, k))
	out := make([]float32, n)
	b.SetBytes(int64(n * k * per))
	var wg sync.WaitGroup
	for range b.N {
		if workers == 1 {
			w.gemv(in, out, 0, n, k)
			continue
		}
		for t := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lo, hi := t*n/workers&^3, (t+1)*n/workers&^3
				w.gemv(in, out[lo:hi], lo, hi, k)
			}()
		}
		wg.Wait()
	}
}

func BenchmarkGemv(b *testing.B) {
	for _, p := range []Precision{PrecisionF16, PrecisionQ8} {
		for _, c := range []struct {
			name          string
			size, workers int
		}{{"16KiB", 16 << 10, 1}, {"1MiB", 1 << 20, 1}, {"8MiB", 8 << 20, 1},
			{"8MiB-2", 8 << 20, 2}} {
			b.Run(string(p)+"-"+c.name, func(b *testing.B) { benchGemv(b, p, c.size, c.workers) })
		}
	}
}
