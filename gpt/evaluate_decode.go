package gpt

import (
	"math"

	"github.com/goushi/goushi/bpe"
)

// EvaluateDecode is EvaluateStream through the path that generation takes:
// each window is fed one token at a time through the KV cache, with the
// weight matrices read in precision p as SampleOptions.Weights would read
// them. It scores the same windows as EvaluateStream, so the two agree up
// to rounding for PrecisionF32, and the gap at another precision is what
// that precision costs the model's predictions.
func EvaluateDecode(m *Model, tok *bpe.Tokenizer, ids TokenStream, maxTokens int,
	p Precision) (loss, bpb float64) {
	T, V := m.Config.ContextLen, m.Config.VocabSize
	n := ids.Len() - 1 // targets
	if n <= 0 {
		return math.NaN(), math.NaN()
	}
	s := newInferer(m, 1, p)
	defer s.close()
	var nats float64
	var targets, bytes int
	in := make([]int, 1)
	for _, start := range windowStarts(n, T, maxTokens) {
		s.reset(1)
		for t := 0; t < min(T, n-start); t++ {
			in[0] = ids.At(start + t)
			logits := s.forward(in, 1)[:V]
			id := ids.At(start + t + 1)
			nats += logSumExp(logits) - float64(logits[id])
			if !tok.IsSpecial(id) {
				bytes += len(tok.TokenBytes(id))
			}
			targets++
		}
	}
	loss = nats / float64(targets)
	if bytes == 0 {
		return loss, math.NaN()
	}
	return loss, nats / math.Ln2 / float64(bytes)
}

// logSumExp returns log Σ e^x in float64.
func logSumExp(x []float32) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, float64(v))
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v) - m)
	}
	return m + math.Log(sum)
}
