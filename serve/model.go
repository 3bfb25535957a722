package serve

import (
	"context"
	"iter"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/gpt"
)

// ModelGenerator serves a gpt.Model with its tokenizer. It is safe for
// concurrent use because each Generate call keeps its own KV cache.
type ModelGenerator struct {
	Model     *gpt.Model
	Tokenizer *bpe.Tokenizer
}

// options converts p to the model's sampling options. The repetition
// window is the default of gpt.DefaultSampleOptions.
func (g *ModelGenerator) options(p Params) gpt.SampleOptions {
	o := gpt.DefaultSampleOptions()
	o.Temperature = p.Temperature
	o.TopK = p.TopK
	o.TopP = p.TopP
	o.MinP = p.MinP
	o.RepetitionPenalty = p.RepetitionPenalty
	o.Seed = p.Seed
	o.MaxNewTokens = p.MaxNewTokens
	o.Stop = p.Stop
	o.Style = p.Style
	o.NumSamples = max(1, p.N)
	o.TopAlternatives = p.TopAlternatives
	o.SlideBy = p.SlideBy
	return o
}

// Generate streams the model's events for prompt.
func (g *ModelGenerator) Generate(ctx context.Context, prompt string,
	p Params) iter.Seq2[Event, error] {

	return func(yield func(Event, error) bool) {
		for ev, err := range g.Model.Generate(ctx, g.Tokenizer, prompt, g.options(p)) {
			if err != nil {
				yield(Event{}, err)
				return
			}
			out := Event{
				Sample:       ev.Sample,
				TokenID:      ev.TokenID,
				Bytes:        ev.Bytes,
				Text:         ev.Text,
				Prob:         ev.Prob,
				Done:         ev.Done,
				FinishReason: ev.FinishReason,
			}
			if len(ev.Top) > 0 {
				out.Top = make([]Alternative, len(ev.Top))
				for i, a := range ev.Top {
					out.Top[i] = Alternative{ID: a.ID, Text: a.Text, Bytes: a.Bytes,
						Prob: a.Prob}
				}
			}
			if !yield(out, nil) {
				return
			}
		}
	}
}

// Validate checks p with gpt.SampleOptions.Validate.
func (g *ModelGenerator) Validate(p Params) error {
	return g.options(p).Validate(g.Model.Config)
}

// CountTokens returns the number of tokens of prompt, encoded with
// special-token text as ordinary text, as Generate encodes it.
func (g *ModelGenerator) CountTokens(prompt string) int {
	return len(g.Tokenizer.Encode(prompt))
}

// FromCheckpoint returns a generator for ck and the model card that
// describes it, with the model id "goushi".
func FromCheckpoint(ck *gpt.Checkpoint) (*ModelGenerator, Card) {
	cfg := ck.Model.Config
	st := ck.State
	card := Card{
		ID:          "goushi",
		VocabSize:   cfg.VocabSize,
		ContextLen:  cfg.ContextLen,
		Layers:      cfg.Layers,
		Heads:       cfg.Heads,
		Embd:        cfg.Embd,
		Params:      ck.Model.NumParams(),
		Styles:      append([]string(nil), cfg.Styles...),
		Step:        st.Step,
		TokensSeen:  st.TokensSeen,
		BestValLoss: st.BestValLoss,
		ValBPB:      st.ValBPB,
		LossHistory: mergeLoss(st.LossHistory),
		Credits:     ck.Credits,
	}
	if ck.Dir != "" {
		if svg, err := os.ReadFile(filepath.Join(ck.Dir, gpt.LossCurveFile)); err == nil {
			card.LossSVG = svg
		}
		if fi, err := os.Stat(filepath.Join(ck.Dir, gpt.ConfigFile)); err == nil {
			card.Created = fi.ModTime()
		}
	}
	return &ModelGenerator{Model: ck.Model, Tokenizer: ck.Tokenizer}, card
}

// mergeLoss joins the training and validation histories by step.
func mergeLoss(h gpt.LossHistory) []LossPoint {
	byStep := map[int]*LossPoint{}
	get := func(step int) *LossPoint {
		p, ok := byStep[step]
		if !ok {
			p = &LossPoint{Step: step, Train: math.NaN(), Val: math.NaN()}
			byStep[step] = p
		}
		return p
	}
	for _, p := range h.Train {
		get(p.Step).Train = p.Loss
	}
	for _, p := range h.Val {
		get(p.Step).Val = p.Loss
	}
	out := make([]LossPoint, 0, len(byStep))
	for _, p := range byStep {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out
}
