package gpt

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/goushi/goushi/bpe"
)

// Alternative is one of the most likely tokens at a step.
type Alternative struct {
	ID    int
	Text  string  // token bytes, invalid UTF-8 shown as U+FFFD
	Bytes []byte  // the token's raw bytes (a special token's name), a copy
	Prob  float32 // in the same distribution as Event.Prob
}

// Event is one generated token of one sample.
type Event struct {
	Sample       int     // which sample of the batch
	TokenID      int     // the token drawn
	Bytes        []byte  // raw bytes of TokenID, a copy; empty for <|endoftext|>
	Text         string  // newly completed UTF-8 text (may be "")
	Prob         float32 // probability of the chosen token after temperature
	Top          []Alternative
	Done         bool   // last event of this sample
	FinishReason string // "stop" or "length" when Done
}

// Finish reasons of the last Event of a sample.
const (
	FinishStop   = "stop"   // a stop string or <|endoftext|> ended the sample
	FinishLength = "length" // the sample reached MaxNewTokens
)

// Generate streams the tokens that continue prompt, NumSamples samples
// drawn together as a batch. Each sample's context is <|endoftext|> (when
// the tokenizer has it), the style token of opts.Style (when set), then
// the encoded prompt; special-token text inside prompt stays ordinary text.
//
// A sample ends after MaxNewTokens tokens ("length"), when it draws
// <|endoftext|>, or when its text contains a stop string ("stop"); the
// stop string and the text after it are not sent. Text comes out through
// the streaming decoder, so a character split across tokens appears once
// and whole. Concatenating Text per sample equals the decode of its
// generated ids (without <|endoftext|>), cut before the stop string, with
// each invalid byte shown as U+FFFD. One exception: when a sample reaches
// MaxNewTokens inside a multi-byte character, that unfinished character is
// dropped instead of shown as U+FFFD, since more tokens could have
// completed it. Event.Bytes still carries its bytes.
//
// Each new token is computed from a copy of the weight matrices in
// opts.Weights. The copy is made per call, so it matches the current
// weights, unless m is frozen (see Freeze): then all calls share one copy
// per precision. The prompt always uses the float32 weights. The default
// 8-bit copy moves the logits by up to a few percent of their scale (half
// precision: about 1e-3), which can change a greedy choice between tokens
// whose logits are that close.
//
// When prompt and output pass the context length T, the window slides: it
// keeps the prompt's special tokens and the latest tokens, T in all, and
// recomputes their cache. The model's learned position embeddings make
// every cached key and value depend on its position, so no part of the
// old cache can be kept. By default the window moves for every new token;
// opts.SlideBy trades context for speed.
// Style tokens other than <|endoftext|> are never drawn.
//
// Generate stops early when ctx is cancelled, yielding ctx.Err(). Invalid
// options or a tokenizer that does not fit the model yield one error.
func (m *Model) Generate(ctx context.Context, tok *bpe.Tokenizer, prompt string,
	opts SampleOptions) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		g, err := newGeneration(m, tok, prompt, opts)
		if err != nil {
			yield(Event{}, err)
			return
		}
		defer g.inf.close()
		g.run(ctx, yield)
	}
}

// generation is the state of one Generate call.
type generation struct {
	m      *Model
	tok    *bpe.Tokenizer
	opts   SampleOptions
	eot    int   // id of <|endoftext|>, or -1
	header []int // the special tokens that start the context
	banned []int // ids never drawn
	inf    *inferer
	samp   *sampler
	seqs   []*sequence // one per sample
	active []int       // sample index of each inferer row
	tokBuf []int       // ids fed to the inferer
	altBuf []int
}

// sequence is one sample's text and stop-string state.
type sequence struct {
	index   int
	body    []int // prompt and generated ids, without the header
	newIDs  int   // generated ids so far
	rng     *rand.Rand
	dec     *bpe.StreamDecoder
	pending string // decoded text held back: it may begin a stop string
}

func newGeneration(m *Model, tok *bpe.Tokenizer, prompt string,
	opts SampleOptions) (*generation, error) {
	cfg := m.Config
	if err := opts.Validate(cfg); err != nil {
		return nil, fmt.Errorf("gpt: sample options: %w", err)
	}
	if tok == nil {
		return nil, fmt.Errorf("gpt: generate needs a tokenizer")
	}
	if cfg.ContextLen < 2 {
		return nil, fmt.Errorf("gpt: context length %d leaves no room to generate; "+
			"use a model with a context of 2 or more", cfg.ContextLen)
	}
	if tok.VocabSize() > cfg.VocabSize {
		return nil, fmt.Errorf("gpt: tokenizer has %d ids but the model only %d; "+
			"use the tokenizer saved with the checkpoint", tok.VocabSize(), cfg.VocabSize)
	}
	g := &generation{m: m, tok: tok, opts: opts, eot: -1}
	if id, ok := tok.SpecialID(bpe.EndOfText); ok {
		g.eot = id
		g.header = append(g.header, id)
	}
	if opts.Style != "" {
		id, ok := tok.SpecialID(StyleToken(opts.Style))
		if !ok {
			return nil, fmt.Errorf("gpt: style %q has no token %s in the tokenizer",
				opts.Style, StyleToken(opts.Style))
		}
		g.header = append(g.header, id)
	}
	for id := tok.VocabSize(); id < cfg.VocabSize; id++ {
		g.banned = append(g.banned, id)
	}
	for id := 0; id < tok.VocabSize(); id++ {
		if id != g.eot && tok.IsSpecial(id) {
			g.banned = append(g.banned, id)
		}
	}

	n := max(opts.NumSamples, 1)
	body := tok.Encode(prompt)
	for i := 0; i < n; i++ {
		g.seqs = append(g.seqs, &sequence{
			index: i,
			body:  append([]int(nil), body...),
			rng:   rand.New(rand.NewPCG(opts.Seed, uint64(i))),
			dec:   tok.NewStreamDecoder(),
		})
		g.active = append(g.active, i)
	}
	if len(g.header)+len(body) == 0 {
		return nil, fmt.Errorf("gpt: the prompt is empty and the tokenizer has no %s; "+
			"give a prompt", bpe.EndOfText)
	}
	g.inf = newInferer(m, n, opts.Weights)
	g.samp = newSampler(opts, cfg.VocabSize)
	return g, nil
}

// window returns the context that fits in at most limit positions: the
// header followed by the latest body ids. The header is dropped only when
// it alone would fill the limit.
func window(header, body []int, limit int) []int {
	if len(header)+len(body) <= limit {
		return append(append([]int(nil), header...), body...)
	}
	if len(header) >= limit {
		full := append(append([]int(nil), header...), body...)
		return full[len(full)-limit:]
	}
	tail := body[len(body)-(limit-len(header)):]
	return append(append([]int(nil), header...), tail...)
}

// keepLen returns how many positions a slid window keeps for context
// length T when it moves by slideBy: T for 0 or 1, else T-slideBy+1, and
// at least 1.
func keepLen(T, slideBy int) int {
	return max(T-max(slideBy, 1)+1, 1)
}

// run prefills the prompt and generates until every sample is done.
func (g *generation) run(ctx context.Context, yield func(Event, error) bool) {
	if err := ctx.Err(); err != nil {
		yield(Event{}, err)
		return
	}
	T, V := g.m.Config.ContextLen, g.m.Config.VocabSize

	// The prompt is prefilled once and its cache copied to every sample.
	ctxIDs := window(g.header, g.seqs[0].body, T)
	g.inf.reset(1)
	g.inf.forward(ctxIDs, len(ctxIDs))
	logits := g.inf.broadcast(len(g.seqs))

	for {
		if err := ctx.Err(); err != nil {
			yield(Event{}, err)
			return
		}
		// Draw one token per active row; finished rows leave the batch.
		g.tokBuf = g.tokBuf[:0]
		for r := 0; r < len(g.active); {
			seq := g.seqs[g.active[r]]
			ev := g.step(seq, logits[r*V:(r+1)*V])
			if !yield(ev, nil) {
				return
			}
			if ev.Done {
				g.removeRow(r)
				continue
			}
			g.tokBuf = append(g.tokBuf, seq.body[len(seq.body)-1])
			r++
		}
		if len(g.active) == 0 {
			return
		}

		if g.inf.pos < T {
			logits = g.inf.forward(g.tokBuf, 1)
			continue
		}
		// The context is full: slide every row's window. All rows have
		// the same length, so they stay one batch.
		keep := keepLen(T, g.opts.SlideBy)
		g.tokBuf = g.tokBuf[:0]
		for _, i := range g.active {
			g.tokBuf = append(g.tokBuf, window(g.header, g.seqs[i].body, keep)...)
		}
		g.inf.reset(len(g.active))
		logits = g.inf.forward(g.tokBuf, keep)
	}
}

// step draws the next token of seq from its logits (V), which it may
// modify, and returns the event for it.
func (g *generation) step(seq *sequence, logits []float32) Event {
	for _, id := range g.banned {
		logits[id] = float32(math.Inf(-1))
	}
	// The repetition penalty looks at the body ids still in the context.
	recent := seq.body[max(0, len(seq.body)-g.m.Config.ContextLen):]
	id, prob := g.samp.sample(logits, recent, seq.rng)
	ev := Event{Sample: seq.index, TokenID: id, Prob: prob,
		Bytes: bytes.Clone(g.tok.TokenBytes(id))}
	if n := g.opts.TopAlternatives; n > 0 {
		g.altBuf = g.samp.alternatives(g.altBuf[:0], n)
		ev.Top = make([]Alternative, len(g.altBuf))
		for i, a := range g.altBuf {
			raw := g.tok.TokenBytes(a)
			ev.Top[i] = Alternative{ID: a, Text: strings.ToValidUTF8(string(raw), "\uFFFD"),
				Bytes: bytes.Clone(raw), Prob: g.samp.p[a]}
		}
	}
	seq.newIDs++

	if id == g.eot {
		ev.Bytes = ev.Bytes[:0] // it ends the text and adds no bytes to it
		ev.Text, _ = seq.finish(g.opts.Stop, false)
		ev.Done, ev.FinishReason = true, FinishStop
		return ev
	}
	seq.body = append(seq.body, id)
	text, stopped := seq.push(seq.dec.Push(id), g.opts.Stop)
	if !stopped && seq.newIDs >= g.opts.MaxNewTokens {
		rest, restStopped := seq.finish(g.opts.Stop, true)
		text += rest
		ev.Done, ev.FinishReason = true, FinishLength
		if restStopped {
			ev.FinishReason = FinishStop
		}
	}
	if stopped {
		ev.Done, ev.FinishReason = true, FinishStop
	}
	ev.Text = text
	return ev
}

// push adds newly decoded text and returns what can be sent: everything
// before the first stop string (and true) when one appears, or else all
// but the longest tail that could still begin a stop string.
func (s *sequence) push(chunk string, stops []string) (string, bool) {
	buf := s.pending + chunk
	if cut := firstStop(buf, stops); cut >= 0 {
		s.pending = ""
		return buf[:cut], true
	}
	h := heldTail(buf, stops)
	s.pending = buf[len(buf)-h:]
	return buf[:len(buf)-h], false
}

// finish flushes the decoder and returns the rest of the text, cut before
// a stop string (and true) if the flushed bytes complete one. With
// dropPartial, the bytes the decoder holds are dropped instead of shown as
// U+FFFD. After Push they are always the start of one character that
// later tokens could have completed, because Push sends invalid bytes as
// U+FFFD at once.
func (s *sequence) finish(stops []string, dropPartial bool) (string, bool) {
	flushed := s.dec.Flush()
	if dropPartial {
		flushed = ""
	}
	buf := s.pending + flushed
	s.pending = ""
	if cut := firstStop(buf, stops); cut >= 0 {
		return buf[:cut], true
	}
	return buf, false
}

// firstStop returns the index of the earliest stop string in s, or -1.
func firstStop(s string, stops []string) int {
	cut := -1
	for _, st := range stops {
		if i := strings.Index(s, st); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	return cut
}

// heldTail returns the length of the longest suffix of s that is a proper
// prefix of some stop string.
func heldTail(s string, stops []string) int {
	best := 0
	for _, st := range stops {
		for n := min(len(st)-1, len(s)); n > best; n-- {
			if strings.HasSuffix(s, st[:n]) {
				best = n
				break
			}
		}
	}
	return best
}

// removeRow drops inferer row r from the batch by moving the last row
// into its place.
func (g *generation) removeRow(r int) {
	last := len(g.active) - 1
	V := g.m.Config.VocabSize
	if r != last {
		g.inf.copyRow(r, last)
		copy(g.inf.logits[r*V:(r+1)*V], g.inf.logits[last*V:(last+1)*V])
		g.active[r] = g.active[last]
	}
	g.active = g.active[:last]
	if last > 0 {
		g.inf.rows = last
	}
}
