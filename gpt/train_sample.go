package gpt

import (
	"context"
	"strings"

	"github.com/goushi/goushi/bpe"
)

// previewTokens is the length of the samples that a training run prints:
// enough to show a style, short enough to cost seconds.
const previewTokens = 64

// sampleStyle generates up to previewTokens tokens in style ("" for none)
// with the default sampling options and the given seed.
func sampleStyle(m *Model, tok *bpe.Tokenizer, style string, seed uint64) (string, error) {
	opts := DefaultSampleOptions()
	opts.Style = style
	opts.MaxNewTokens = previewTokens
	opts.Seed = seed
	var sb strings.Builder
	for ev, err := range m.Generate(context.Background(), tok, "", opts) {
		if err != nil {
			return "", err
		}
		sb.WriteString(ev.Text)
	}
	// The last token may stop inside a character, whose bytes the decoder
	// flushes as U+FFFD, so a preview drops it.
	return strings.TrimSuffix(sb.String(), "\uFFFD"), nil
}

// previewSample emits a sample in the next style, so that periodic
// previews cycle through the styles.
func (tr *Trainer) previewSample(step int) {
	styles := tr.Model.Config.Styles
	style := ""
	if len(styles) > 0 {
		style = styles[(step/tr.opts.SampleEvery)%len(styles)]
	}
	text, err := sampleStyle(tr.Model, tr.Tok, style, mixSeed(tr.opts.Seed, uint64(step)))
	if err != nil {
		tr.log.Warn("preview sample failed", "step", step, "style", style, "err", err)
		return
	}
	tr.emit(TrainEvent{Kind: TrainSample, Step: step, Style: style, Text: text})
}

// StyleSamples generates one short sample per style of the model, or one
// without a style when it has none, from a fixed seed.
func StyleSamples(m *Model, tok *bpe.Tokenizer, seed uint64) ([]StyleSample, error) {
	styles := m.Config.Styles
	if len(styles) == 0 {
		styles = []string{""}
	}
	out := make([]StyleSample, 0, len(styles))
	for i, s := range styles {
		text, err := sampleStyle(m, tok, s, mixSeed(seed, uint64(i)))
		if err != nil {
			return nil, err
		}
		out = append(out, StyleSample{Style: s, Text: text})
	}
	return out, nil
}
