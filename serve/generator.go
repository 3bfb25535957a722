package serve

import (
	"context"
	"iter"
)

// Generator produces text from a language model. Implementations must be
// safe for concurrent use; the server bounds how many calls of Generate
// run at once.
type Generator interface {
	// Generate streams the events of one request. It stops early when ctx
	// is cancelled and then yields ctx.Err(). Concatenating the Text of
	// one sample's events gives that sample's completion.
	Generate(ctx context.Context, prompt string, p Params) iter.Seq2[Event, error]

	// Validate checks p against the model (for example top-k against the
	// vocab size) and returns an error that names the field.
	Validate(p Params) error

	// CountTokens returns how many tokens prompt encodes to, with
	// special-token text treated as ordinary text.
	CountTokens(prompt string) int
}

// Params are the sampling settings of one request after the server has
// checked their ranges.
type Params struct {
	Temperature       float32 // 0 picks the most likely token
	TopK              int     // 0 = off
	TopP              float32 // 1 = off
	MinP              float32 // 0 = off
	RepetitionPenalty float32 // 1 = off
	MaxNewTokens      int
	Seed              uint64
	Stop              []string
	Style             string // "" = none
	N                 int    // number of samples, at least 1
	TopAlternatives   int    // alternatives per Event, 0 = none
	// SlideBy is how far the window moves at once past the context
	// length; 0 or 1 keeps it at the last T tokens (gpt.SampleOptions).
	SlideBy int
}

// Alternative is one candidate token at a sampling step.
type Alternative struct {
	ID    int
	Text  string // the token's bytes, invalid UTF-8 shown as U+FFFD
	Bytes []byte // the token's raw bytes; nil if the generator does not know them
	Prob  float32
}

// Event is one sampled token of one sample.
type Event struct {
	Sample  int // index of the sample, 0 ≤ Sample < Params.N
	TokenID int
	// Bytes are the token's raw bytes, which may end inside a character,
	// and empty for a token that adds no text such as <|endoftext|>; nil
	// if the generator does not know them.
	Bytes []byte
	// Text is the UTF-8 text this token completes. It is "" while a
	// multi-byte character is still split across tokens.
	Text         string
	Prob         float32 // probability of the chosen token
	Top          []Alternative
	Done         bool   // last event of this sample
	FinishReason string // "stop" or "length" when Done
}
