package serve

import "time"

// Card describes the served model for /v1/models and the page's model
// card.
type Card struct {
	ID      string    // model id in the API; the default is "goushi"
	Created time.Time // when the model was made; the default is when New ran

	VocabSize  int
	ContextLen int
	Layers     int
	Heads      int
	Embd       int
	Params     int // number of scalar parameters
	Styles     []string

	Step        int         // training steps taken
	TokensSeen  int64       // training tokens, 0 when unknown
	BestValLoss float64     // mean cross-entropy in nats, 0 when unknown
	ValBPB      float64     // validation bits per byte, 0 when unknown
	LossHistory []LossPoint // for the loss curve drawn in the page
	LossSVG     []byte      // the checkpoint's loss.svg, if any
	Credits     string      // Markdown: every data source and its licence
}

// LossPoint is the training and validation loss at one step. A loss that
// was not measured at that step is NaN and is left out of the JSON.
type LossPoint struct {
	Step  int
	Train float64
	Val   float64
}

type cardConfig struct {
	VocabSize  int `json:"vocab_size"`
	ContextLen int `json:"context_len"`
	Layers     int `json:"layers"`
	Heads      int `json:"heads"`
	Embd       int `json:"embd"`
	Params     int `json:"params"`
}

type lossPointJSON struct {
	Step  int      `json:"step"`
	Train *float64 `json:"train,omitempty"`
	Val   *float64 `json:"val,omitempty"`
}

// cardJSON returns the body of GET /api/card.
func (s *Server) cardJSON() map[string]any {
	c := s.card
	history := make([]lossPointJSON, 0, len(c.LossHistory))
	for _, p := range c.LossHistory {
		lp := lossPointJSON{Step: p.Step}
		if p.Train == p.Train { // not NaN
			lp.Train = &p.Train
		}
		if p.Val == p.Val {
			lp.Val = &p.Val
		}
		history = append(history, lp)
	}
	styles := c.Styles
	if styles == nil {
		styles = []string{}
	}
	return map[string]any{
		"id": c.ID,
		"config": cardConfig{VocabSize: c.VocabSize, ContextLen: c.ContextLen,
			Layers: c.Layers, Heads: c.Heads, Embd: c.Embd, Params: c.Params},
		"styles":        styles,
		"step":          c.Step,
		"tokens_seen":   c.TokensSeen,
		"best_val_loss": c.BestValLoss,
		"val_bpb":       c.ValBPB,
		"loss_history":  history,
		"has_loss_svg":  len(c.LossSVG) > 0,
		"credits":       c.Credits,
		"limits": map[string]any{
			"max_new_tokens":   s.opts.MaxNewTokens,
			"max_prompt_chars": s.opts.MaxPromptRunes,
			"max_samples":      s.opts.MaxSamples,
		},
	}
}
