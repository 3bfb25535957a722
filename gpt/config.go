package gpt

import "fmt"

// Config describes a GPT-2 style model. The JSON form is stored in
// checkpoints.
type Config struct {
	VocabSize  int     `json:"vocab_size"`
	ContextLen int     `json:"context_len"` // T, the maximum number of positions
	Layers     int     `json:"layers"`
	Heads      int     `json:"heads"`
	Embd       int     `json:"embd"` // C, the embedding dim
	Dropout    float32 `json:"dropout"`
	// Styles lists the style tags of the training corpus, one token each.
	Styles []string `json:"styles,omitempty"`
}

// presets are the named model sizes. tiny is small enough for tests;
// small and medium are the sizes the training benchmarks use.
var presets = map[string]Config{
	"tiny":   {VocabSize: 512, ContextLen: 64, Layers: 2, Heads: 2, Embd: 64},
	"small":  {VocabSize: 4096, ContextLen: 128, Layers: 4, Heads: 4, Embd: 256},
	"medium": {VocabSize: 8192, ContextLen: 256, Layers: 6, Heads: 6, Embd: 384},
}

// PresetNames lists the names Preset accepts, smallest first.
var PresetNames = []string{"tiny", "small", "medium"}

// Preset returns the named configuration with dropout 0.
func Preset(name string) (Config, error) {
	c, ok := presets[name]
	if !ok {
		return Config{}, fmt.Errorf("gpt: unknown preset %q; use one of %v", name, PresetNames)
	}
	return c, nil
}

// Validate returns an error naming the first invalid field.
func (c Config) Validate() error {
	checks := []struct {
		name string
		v    int
	}{
		{"vocab_size", c.VocabSize},
		{"context_len", c.ContextLen},
		{"layers", c.Layers},
		{"heads", c.Heads},
		{"embd", c.Embd},
	}
	for _, ch := range checks {
		if ch.v <= 0 {
			return fmt.Errorf("gpt: config %s is %d; it must be positive", ch.name, ch.v)
		}
	}
	if c.Embd%c.Heads != 0 {
		return fmt.Errorf("gpt: config embd %d is not divisible by heads %d; "+
			"pick embd as a multiple of heads", c.Embd, c.Heads)
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) {
		return fmt.Errorf("gpt: config dropout %g is outside [0, 1)", c.Dropout)
	}
	seen := make(map[string]bool, len(c.Styles))
	for i, s := range c.Styles {
		if s == "" {
			return fmt.Errorf("gpt: config styles has an empty tag at index %d", i)
		}
		if seen[s] {
			return fmt.Errorf("gpt: config styles lists %q twice", s)
		}
		seen[s] = true
	}
	return nil
}
