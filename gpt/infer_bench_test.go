package gpt

import "testing"

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
