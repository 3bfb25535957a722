package gpt

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/goushi/goushi/bpe"
)

// Settings of the samples that a training run prints: short, at
// temperature 0.8 with top-k 40, so they show the style without the
// tail of the distribution.
const (
	previewTokens = 64
	previewTemp   = 0.8
	previewTopK   = 40
)

// previewText generates up to maxTokens tokens after <|endoftext|> and the
// style token of style (when it has one), as a document starts in the
// training data, and returns them decoded. It stops at any special. It runs the
// full forward pass over the window for each token: slower than a KV
// cache, but a training preview is only a few dozen tokens.
func previewText(m *Model, tok *bpe.Tokenizer, style string, maxTokens int,
	rng *rand.Rand) string {
	eot, _ := tok.SpecialID(bpe.EndOfText)
	ctx := []int{eot}
	if id, ok := tok.SpecialID(StyleToken(style)); ok && style != "" {
		ctx = append(ctx, id)
	}
	T := m.Config.ContextLen
	var out []int
	probs := make([]float64, m.Config.VocabSize)
	for len(out) < maxTokens {
		window := ctx[max(0, len(ctx)-T):]
		logits := m.Forward(nil, window, 1, len(window)).Value
		next := sampleTopK(logits.Row(len(window)-1), probs, previewTemp, previewTopK, rng)
		if tok.IsSpecial(next) {
			break
		}
		ctx = append(ctx, next)
		out = append(out, next)
	}
	return strings.ToValidUTF8(string(tok.Decode(out)), "")
}

// sampleTopK draws an id from softmax(logits/temp) restricted to the topK
// largest logits. probs is scratch space of the vocabulary's size.
func sampleTopK(logits []float32, probs []float64, temp float64, topK int,
	rng *rand.Rand) int {
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		if logits[idx[a]] != logits[idx[b]] {
			return logits[idx[a]] > logits[idx[b]]
		}
		return idx[a] < idx[b]
	})
	idx = idx[:min(topK, len(idx))]
	top := float64(logits[idx[0]])
	var sum float64
	for j, i := range idx {
		probs[j] = math.Exp((float64(logits[i]) - top) / temp)
		sum += probs[j]
	}
	u := rng.Float64() * sum
	for j, i := range idx {
		u -= probs[j]
		if u <= 0 {
			return i
		}
	}
	return idx[len(idx)-1]
}

// previewSample emits a sample in the style after the last one sampled,
// so periodic previews cycle through the styles.
func (tr *Trainer) previewSample(step int) {
	styles := tr.Model.Config.Styles
	style := ""
	if len(styles) > 0 {
		style = styles[(step/tr.opts.SampleEvery)%len(styles)]
	}
	rng := rand.New(rand.NewPCG(tr.opts.Seed, uint64(step)))
	text := previewText(tr.Model, tr.Tok, style, previewTokens, rng)
	tr.emit(TrainEvent{Kind: TrainSample, Step: step, Style: style, Text: text})
}

// StyleSamples generates one preview sample per style of the model, or one
// without a style when it has none, from a fixed seed.
func StyleSamples(m *Model, tok *bpe.Tokenizer, seed uint64) []StyleSample {
	styles := m.Config.Styles
	if len(styles) == 0 {
		styles = []string{""}
	}
	out := make([]StyleSample, 0, len(styles))
	for i, s := range styles {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		out = append(out, StyleSample{Style: s, Text: previewText(m, tok, s, previewTokens, rng)})
	}
	return out
}
