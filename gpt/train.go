package gpt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/goushi/goushi/autograd"
	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/corpus"
	"github.com/goushi/goushi/layers"
)

// TrainOptions configures a training run. Zero fields take the defaults
// that DefaultTrainOptions lists.
type TrainOptions struct {
	Model Config // the model; VocabSize also sizes a newly trained tokenizer

	Corpus    string // corpus path for corpus.Load; "" is the embedded corpus
	Tokenizer string // tokenizer file to reuse; "" trains one on the training split
	Out       string // run directory: checkpoints and token files go here
	// Resume is a checkpoint directory to continue from, or "" to start
	// afresh. A resumed run keeps the saved run's data and optimizer
	// settings and its number of steps, unless Steps is set.
	Resume string
	// InitFrom is a checkpoint directory whose weights, config and
	// tokenizer start the run, with a fresh optimizer, schedule and data
	// order, such as one that 'goushi import hf' wrote. It excludes Resume.
	InitFrom string

	// Steps is the number of optimizer steps the schedule spans. When it is
	// 0, Duration sets it from the measured speed, so that the run,
	// evaluations included, ends about Duration after Start. The speed is
	// measured again every 10 steps, moving the end of the decay with it.
	Steps    int
	Duration time.Duration
	Start    time.Time // when the time budget began; zero means when Run starts
	// StopAt ends the run after this step with a checkpoint, leaving the
	// schedule as Steps laid it out, as an interrupt would; 0 means never.
	StopAt int

	Batch int // sequences per batch, passed through the model a few at a time
	Accum int // batches whose gradients add up to one optimizer step
	// Micro is the number of sequences per forward and backward pass. 0
	// lets LossBackward fit DefaultMicroRows rows. It changes the dropout
	// masks, so a resumed run keeps the saved run's value.
	Micro       int
	LR          float64 // peak learning rate
	MinLR       float64 // learning rate at the end of the cosine decay; 0 means LR/10
	Warmup      int     // warmup steps, 0 for none; -1 lets AutoWarmup pick them
	WeightDecay float64
	Clip        float64 // global gradient norm limit; 0 disables clipping
	Seed        uint64

	EvalEvery   int // steps between validation evaluations and checkpoints
	EvalTokens  int // validation tokens per evaluation
	SampleEvery int // steps between preview samples; 0 for none
	Keep        int // step checkpoints kept besides the best

	Mix StyleMix

	// Logger receives starts, stops, evaluations and checkpoints. Nil
	// discards them.
	Logger *slog.Logger
	// Progress receives an event after each step, evaluation and sample.
	Progress func(TrainEvent)
}

// DefaultTrainOptions returns the settings of `goushi train` with no flags.
// They train the small preset on the embedded corpus for ten minutes with
// batch 8 and AdamW (peak 1e-3, β1 0.9, β2 0.95, weight decay 0.1). The
// rate warms up, then decays along a cosine to 1e-4, and gradients are
// clipped at norm 1.
//
// Batch 8 rather than 16: at the same 307,200 training tokens (300 steps
// against 150) it reached 3.03 validation bits per byte against 3.10, and
// it halves the activation memory. A ten-minute run on two cores sees too
// few tokens for the larger batch's smoother gradients to pay off.
func DefaultTrainOptions() TrainOptions {
	cfg, _ := Preset("small")
	return TrainOptions{
		Model:       cfg,
		Duration:    10 * time.Minute,
		Batch:       8,
		Accum:       1,
		LR:          1e-3,
		MinLR:       1e-4,
		Warmup:      -1,
		WeightDecay: 0.1,
		Clip:        1,
		Seed:        1,
		EvalEvery:   200,
		EvalTokens:  32768,
		SampleEvery: 0,
		Keep:        3,
		Mix:         DefaultStyleMix(),
	}
}

// AdamW's moment decay rates and epsilon, as GPT-2 style runs use them.
const (
	adamBeta1 = 0.9
	adamBeta2 = 0.95
	adamEps   = 1e-8
)

// TrainEventKind is the kind of a TrainEvent, which decides the fields set.
type TrainEventKind int

// Kinds of TrainEvent.
const (
	TrainStep TrainEventKind = iota
	TrainEval
	TrainSample
	TrainCheckpoint
)

// TrainEvent reports the progress of a run.
type TrainEvent struct {
	Kind         TrainEventKind
	Step         int // steps done
	Total        int // steps the schedule spans; 0 until a time budget fixes it
	Loss         float64
	LR           float64
	ValLoss      float64
	ValBPB       float64
	TokensPerSec float64 // training tokens per second over the last steps
	Elapsed      time.Duration
	ETA          time.Duration // estimated time to the last step; 0 when unknown
	Style        string        // of a sample
	Text         string        // a sample, or the directory of a checkpoint
}

// ErrNonFinite is wrapped by the error Run returns when a loss is NaN or
// infinite.
var ErrNonFinite = errors.New("loss is not finite")

// Result summarises a finished or stopped run.
type Result struct {
	Step        int
	Interrupted bool          // stopped by the context or StopAt before the last step
	Best        string        // directory of the best checkpoint
	Latest      string        // directory of the latest checkpoint
	ValLoss     float64       // final validation loss, nats per token
	ValBPB      float64       // final validation bits per byte
	Samples     []StyleSample // one per style at the end of a finished run
	Elapsed     time.Duration
}

// StyleSample is generated text that started from one style token.
type StyleSample struct {
	Style string
	Text  string
}

// Trainer runs the training loop of one run. Build it with NewTrainer.
type Trainer struct {
	opts    TrainOptions
	log     *slog.Logger
	Model   *Model
	Tok     *bpe.Tokenizer
	Opt     *layers.AdamW
	State   TrainState
	Credits string

	train, val *TokenFile
	sampler    *Sampler
	tape       *autograd.Tape
	ids, tgts  []int

	sched     Schedule
	evalStep  time.Duration // measured cost of one validation evaluation
	started   time.Time
	lastSaved string // directory of the newest step checkpoint
}

// NewTrainer loads the corpus, trains or loads the tokenizer, encodes the
// training and validation splits into token files under opts.Out/data, and
// builds the model and optimizer, from opts.Resume when it is set.
func NewTrainer(opts TrainOptions) (*Trainer, error) {
	opts = withDefaults(opts)
	tr := &Trainer{opts: opts, log: opts.Logger, tape: autograd.NewTape()}
	if tr.log == nil {
		tr.log = slog.New(slog.DiscardHandler)
	}
	if opts.Out == "" {
		return nil, errors.New("train: no output directory; set one with --out")
	}
	if opts.Batch <= 0 || opts.Accum <= 0 || opts.Micro < 0 {
		return nil, fmt.Errorf("train: batch %d and accum %d must be positive and micro %d "+
			"not negative", opts.Batch, opts.Accum, opts.Micro)
	}
	if opts.Steps <= 0 && opts.Duration <= 0 && opts.Resume == "" {
		return nil, errors.New("train: neither steps nor a time budget is set; " +
			"set --steps or --time")
	}

	if opts.Resume != "" && opts.InitFrom != "" {
		return nil, fmt.Errorf("train: --resume %s and --init-from %s exclude each other; "+
			"resume continues a run, init-from starts a new one from the weights",
			opts.Resume, opts.InitFrom)
	}
	var resumed, initial *Checkpoint
	if opts.Resume != "" {
		ck, err := LoadCheckpoint(opts.Resume)
		if err != nil {
			return nil, fmt.Errorf("train: resume: %w", err)
		}
		opt := filepath.Join(ck.Dir, OptimizerFile)
		if _, err := os.Stat(opt); errNotExist(err) {
			return nil, fmt.Errorf("train: resume: %s is missing, so %s cannot continue "+
				"bit for bit (an imported checkpoint has no optimizer state); start a new "+
				"run from its weights with --init-from %s", opt, ck.Dir, ck.Dir)
		}
		resumed = ck
		tr.applyResumedFlags(ck.State.Flags)
	}
	if opts.InitFrom != "" {
		ck, err := LoadCheckpoint(opts.InitFrom)
		if err != nil {
			return nil, fmt.Errorf("train: init-from: %w", err)
		}
		initial = ck
	}

	removeStaleTemps(opts.Out, tr.log)

	// tr.opts, not opts: a resumed run trains on the corpus it was started on.
	corpusName := cmp.Or(tr.opts.Corpus, "embedded")
	tr.log.Info("preparing data", "corpus", corpusName, "out", opts.Out)
	c, err := corpus.Load(tr.opts.Corpus)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	tr.Credits = c.CreditsMarkdown()
	trainDocs, valDocs := splitForTraining(c)
	if len(trainDocs) == 0 {
		return nil, fmt.Errorf("train: corpus %q has no training documents", tr.opts.Corpus)
	}

	if err := tr.setupModel(resumed, initial, c.Styles(), trainDocs); err != nil {
		return nil, err
	}
	if err := tr.encodeSplits(trainDocs, valDocs); err != nil {
		return nil, err
	}
	if err := tr.setupSampler(resumed); err != nil {
		tr.Close()
		return nil, err
	}
	return tr, nil
}

func withDefaults(o TrainOptions) TrainOptions {
	d := DefaultTrainOptions()
	if o.Batch == 0 {
		o.Batch = d.Batch
	}
	if o.Accum == 0 {
		o.Accum = d.Accum
	}
	if o.LR == 0 {
		o.LR = d.LR
	}
	if o.MinLR == 0 {
		o.MinLR = o.LR / 10
	}
	if o.EvalEvery == 0 {
		o.EvalEvery = d.EvalEvery
	}
	if o.EvalTokens == 0 {
		o.EvalTokens = d.EvalTokens
	}
	if o.Keep == 0 {
		o.Keep = d.Keep
	}
	if o.Mix.Alpha == 0 && o.Mix.Floors == nil {
		o.Mix = d.Mix
	}
	return o
}

// applyResumedFlags takes the data and optimizer settings of the run being
// resumed, so that it continues bit for bit.
func (tr *Trainer) applyResumedFlags(f RunFlags) {
	o := &tr.opts
	o.Corpus, o.Seed, o.Batch, o.Accum, o.Micro = f.Corpus, f.Seed, f.Batch, f.Accum, f.Micro
	o.LR, o.MinLR, o.Warmup, o.WeightDecay, o.Clip = f.LR, f.MinLR, f.Warmup, f.WeightDecay, f.Clip
	o.Mix = f.StyleMix
}

// splitForTraining returns the corpus's split. A corpus too small to put a
// document in the validation split gives its last training document to
// it, so that a run on a few files still reports a validation loss.
func splitForTraining(c *corpus.Corpus) (train, val []corpus.Document) {
	train, val = c.Split()
	if len(val) == 0 && len(train) > 1 {
		val = train[len(train)-1:]
		train = train[:len(train)-1]
	}
	return train, val
}

func (tr *Trainer) setupModel(resumed, initial *Checkpoint, styles []string,
	docs []corpus.Document) error {
	o := &tr.opts
	if resumed != nil {
		tr.Model, tr.Tok, tr.State = resumed.Model, resumed.Tokenizer, resumed.State
		tr.newOptimizer()
		if err := LoadOptimizer(resumed.Dir, tr.Model, tr.Opt); err != nil {
			return fmt.Errorf("train: resume: %w", err)
		}
		if tr.Opt.StepCount() != tr.State.Step {
			return fmt.Errorf("train: resume %s: the optimizer is at step %d but state.json "+
				"at step %d", resumed.Dir, tr.Opt.StepCount(), tr.State.Step)
		}
		if o.Steps > 0 && o.Steps != tr.State.TotalSteps {
			// A new total moves the end of the cosine decay, so the run no
			// longer matches an uninterrupted one; the user asked for that.
			tr.log.Warn("resuming with a new number of steps; the schedule changes",
				"saved_total", tr.State.TotalSteps, "total", o.Steps)
			tr.State.TotalSteps = o.Steps
		}
		o.Steps = tr.State.TotalSteps
		tr.lastSaved = resumed.Dir
		tr.log.Info("resuming", "checkpoint", resumed.Dir, "step", tr.State.Step,
			"total_steps", tr.State.TotalSteps)
		return nil
	}

	cfg := o.Model
	cfg.Styles = append([]string(nil), styles...)
	if initial != nil {
		// The weights fix the dims and the tokenizer. Only dropout comes
		// from the run's options.
		dropout := cfg.Dropout
		cfg = initial.Model.Config
		cfg.Dropout = dropout
		tr.Tok = initial.Tokenizer
		tr.log.Info("starting from weights", "checkpoint", initial.Dir,
			"params", initial.Model.NumParams())
	} else if o.Tokenizer != "" {
		tok, err := bpe.Load(o.Tokenizer)
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		tr.Tok = tok
	} else {
		texts := make([]string, len(docs))
		for i, d := range docs {
			texts[i] = d.Text
		}
		start := time.Now()
		tok, err := bpe.Train(texts, bpe.TrainOptions{
			VocabSize: cfg.VocabSize,
			Specials:  TokenizerSpecials(styles),
		})
		if err != nil {
			return fmt.Errorf("train: tokenizer: %w", err)
		}
		tr.Tok = tok
		tr.log.Info("trained tokenizer", "vocab", tok.VocabSize(), "documents", len(texts),
			"seconds", time.Since(start).Seconds())
	}
	if initial == nil {
		// A reused tokenizer may lack some styles' tokens. Their documents
		// are encoded without one, and the model cannot be prompted in them.
		var have, missing []string
		for _, st := range cfg.Styles {
			if _, ok := tr.Tok.SpecialID(StyleToken(st)); ok {
				have = append(have, st)
			} else {
				missing = append(missing, st)
			}
		}
		if len(missing) > 0 {
			tr.log.Warn("the tokenizer has no token for some styles; their documents train "+
				"without one", "tokenizer", o.Tokenizer, "styles", strings.Join(missing, ","))
		}
		cfg.Styles = have
	}
	if _, ok := tr.Tok.SpecialID(bpe.EndOfText); !ok {
		return fmt.Errorf("train: tokenizer %s has no %s special; train it with one",
			o.Tokenizer, bpe.EndOfText)
	}
	// The model's vocabulary is the tokenizer's: training stops merging
	// early on a small corpus, and a reused tokenizer may differ in size.
	cfg.VocabSize = tr.Tok.VocabSize()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	tr.Model = New(cfg, o.Seed)
	if initial != nil {
		// A new model, rather than the loaded one, so the blocks take the
		// run's dropout.
		src := initial.Model.Params()
		for i, p := range tr.Model.Params() {
			copy(p.Value.Data, src[i].Value.Data)
		}
	}
	tr.newOptimizer()
	tr.State = TrainState{TotalSteps: o.Steps, Flags: RunFlags{
		Corpus: o.Corpus, Seed: o.Seed, Batch: o.Batch, Accum: o.Accum, Micro: o.Micro, LR: o.LR,
		MinLR: o.MinLR, Warmup: o.Warmup, WeightDecay: o.WeightDecay, Clip: o.Clip,
		StyleMix: o.Mix,
	}}
	return nil
}

func (tr *Trainer) newOptimizer() {
	tr.Opt = layers.NewAdamW(tr.Model.Params(), layers.AdamWConfig{
		LR: float32(tr.opts.LR), Beta1: adamBeta1, Beta2: adamBeta2, Eps: adamEps,
		WeightDecay: float32(tr.opts.WeightDecay),
	})
}

// encodeSplits writes the token files of both splits. They are rebuilt on
// every start: encoding the embedded corpus takes under a second, and a
// fresh file cannot disagree with the tokenizer.
func (tr *Trainer) encodeSplits(trainDocs, valDocs []corpus.Document) error {
	dataDir := filepath.Join(tr.opts.Out, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	start := time.Now()
	for _, split := range []struct {
		name string
		docs []corpus.Document
		dst  **TokenFile
	}{{"train", trainDocs, &tr.train}, {"val", valDocs, &tr.val}} {
		if len(split.docs) == 0 {
			continue
		}
		path := filepath.Join(dataDir, split.name+".tokens")
		if err := EncodeDocuments(path, tr.Tok, split.docs); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		f, err := OpenTokenFile(path)
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		*split.dst = f
	}
	tr.log.Info("encoded corpus", "train_tokens", tr.train.Len(), "val_tokens", tr.valLen(),
		"seconds", time.Since(start).Seconds())
	if tr.train.Len() <= tr.Model.Config.ContextLen {
		return fmt.Errorf("train: the training split has %d tokens, fewer than the context "+
			"of %d plus one; add text or lower --ctx", tr.train.Len(), tr.Model.Config.ContextLen)
	}
	return nil
}

// ValTokens returns the number of tokens in the validation split.
func (tr *Trainer) ValTokens() int { return tr.valLen() }

func (tr *Trainer) valLen() int {
	if tr.val == nil {
		return 0
	}
	return tr.val.Len()
}

func (tr *Trainer) setupSampler(resumed *Checkpoint) error {
	T := tr.Model.Config.ContextLen
	s, err := NewSampler(tr.train, T, tr.opts.Mix, tr.opts.Seed)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if resumed != nil {
		if err := s.SetState(tr.State.SamplerState, tr.State.WindowsDrawn); err != nil {
			return fmt.Errorf("train: resume %s: %w", resumed.Dir, err)
		}
	}
	tr.sampler = s
	tr.log.Info("style mix", "shares", describeShares(tr.train.Spans, s.Shares()))
	n := tr.opts.Batch * T
	tr.ids, tr.tgts = make([]int, n), make([]int, n)
	return nil
}

// Close unmaps the token files.
func (tr *Trainer) Close() {
	if tr.train != nil {
		tr.train.Close()
	}
	if tr.val != nil {
		tr.val.Close()
	}
}

// Step runs one optimizer step over Accum batches at the schedule's
// rate and returns the mean training loss.
func (tr *Trainer) Step() float64 {
	o := tr.opts
	T := tr.Model.Config.ContextLen
	tr.Opt.ZeroGrad()
	var sum float64
	for k := 0; k < o.Accum; k++ {
		tr.sampler.Batch(o.Batch, tr.ids, tr.tgts)
		// Dropout masks depend on the tape seed, so derive it from the run
		// seed, step and micro-batch: a resumed run draws the same masks.
		tr.tape.Seed = mixSeed(o.Seed, uint64(tr.State.Step), uint64(k))
		// LossBackward passes a few sequences at a time, so the tape holds
		// the activations of DefaultMicroRows rows rather than the batch's.
		sum += float64(tr.Model.LossBackward(tr.tape, tr.ids, tr.tgts, o.Batch, T, o.Micro,
			1/float32(o.Accum)))
	}
	if o.Clip > 0 {
		layers.ClipGradNorm(tr.Model.Params(), float32(o.Clip))
	}
	lr := tr.sched.LR(tr.State.Step)
	tr.Opt.Step(float32(lr))
	tr.State.Step++
	tr.State.TokensSeen += int64(o.Accum * o.Batch * T)
	return sum / float64(o.Accum)
}

// mixSeed hashes its inputs with SplitMix64's finaliser.
func mixSeed(xs ...uint64) uint64 {
	var h uint64 = 0x9e3779b97f4a7c15
	for _, x := range xs {
		h ^= x + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
		h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9
		h = (h ^ (h >> 27)) * 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}

// Evaluate returns the mean validation loss in nats per token and the bits
// per byte over up to EvalTokens validation tokens. It returns NaN, NaN
// when the run has no validation split.
func (tr *Trainer) Evaluate() (loss, bpb float64) {
	if tr.val == nil || tr.val.Len() <= 1 {
		return math.NaN(), math.NaN()
	}
	return evaluateStream(tr.tape, tr.Model, tr.Tok, tr.val, tr.opts.EvalTokens, tr.opts.Batch)
}

// StyleEval is the validation result of one style.
type StyleEval struct {
	Style  string
	Tokens int     // targets scored
	Loss   float64 // nats per token
	BPB    float64
}

// styleEvalTokens bounds the validation tokens scored per style, so that
// the breakdown of the 15 embedded styles costs about one evaluation.
const styleEvalTokens = 2048

// EvaluateStyles returns the validation loss and bits per byte of each
// style's span, over up to styleEvalTokens tokens spread over the span.
// Spans shorter than a window plus one token are skipped.
func (tr *Trainer) EvaluateStyles() []StyleEval {
	if tr.val == nil {
		return nil
	}
	var out []StyleEval
	for _, sp := range tr.val.Spans {
		if sp.End-sp.Start <= tr.Model.Config.ContextLen {
			continue
		}
		sub := subStream{tr.val, sp.Start, sp.End}
		loss, bpb := evaluateStream(tr.tape, tr.Model, tr.Tok, sub, styleEvalTokens,
			tr.opts.Batch)
		T := tr.Model.Config.ContextLen
		n := min(sub.Len()-1, max(1, styleEvalTokens/T)*T)
		out = append(out, StyleEval{Style: sp.Style, Tokens: n, Loss: loss, BPB: bpb})
	}
	return out
}

// subStream is the ids [start, end) of a stream.
type subStream struct {
	s          TokenStream
	start, end int
}

func (s subStream) Len() int     { return s.end - s.start }
func (s subStream) At(i int) int { return s.s.At(s.start + i) }

// TokenStream is a sequence of token ids, such as a TokenFile.
type TokenStream interface {
	Len() int
	At(i int) int
}

// IntStream is a TokenStream over a slice.
type IntStream []int

// Len returns the number of ids.
func (s IntStream) Len() int { return len(s) }

// At returns id i.
func (s IntStream) At(i int) int { return s[i] }

// EvaluateStream measures how well m predicts each token of ids from the
// tokens before it. It cuts ids into windows of up to T+1 tokens that
// overlap by one, so every token after the first is a target once. When
// the stream has more than maxTokens targets, it takes windows at evenly
// spaced positions instead, so that every part of the stream counts.
// loss is the mean cross-entropy in nats per target; bpb is the summed loss
// in bits over the UTF-8 bytes of the targets, where a special token counts
// as no bytes. B windows go through the model at a time.
func EvaluateStream(m *Model, tok *bpe.Tokenizer, ids TokenStream, maxTokens, B int) (loss,
	bpb float64) {
	return evaluateStream(autograd.NewTape(), m, tok, ids, maxTokens, B)
}

// windowStarts returns the first target of each window of up to T
// targets that EvaluateStream scores among n: every T-th, or, when n is
// more than maxTokens > 0, maxTokens/T windows at evenly spaced starts.
func windowStarts(n, T, maxTokens int) []int {
	var starts []int
	if maxTokens <= 0 || n <= maxTokens {
		for s := 0; s < n; s += T {
			starts = append(starts, s)
		}
		return starts
	}
	count := max(1, maxTokens/T)
	for k := 0; k < count; k++ {
		starts = append(starts, k*(n-T)/max(1, count-1))
	}
	return starts
}

// evaluateStream is EvaluateStream on tp, whose arena the passes reuse: a
// trainer passes its own tape, so evaluations need no memory of their own.
func evaluateStream(tp *autograd.Tape, m *Model, tok *bpe.Tokenizer, ids TokenStream,
	maxTokens, B int) (loss, bpb float64) {
	T := m.Config.ContextLen
	n := ids.Len() - 1 // targets
	if n <= 0 {
		return math.NaN(), math.NaN()
	}
	starts := windowStarts(n, T, maxTokens)

	var nats float64
	var targets, bytes int
	in, tg := make([]int, 0, B*T), make([]int, 0, B*T)
	flush := func(rows, width int) {
		if rows == 0 {
			return
		}
		nats += m.EvalLoss(tp, in, tg, rows, width) * float64(rows*width)
		in, tg = in[:0], tg[:0]
	}
	rows := 0
	for i, s := range starts {
		width := min(T, n-s)
		if width < T {
			// A short last window goes through the model on its own.
			flush(rows, T)
			rows = 0
		}
		for t := 0; t < width; t++ {
			in = append(in, ids.At(s+t))
			id := ids.At(s + t + 1)
			tg = append(tg, id)
			if !tok.IsSpecial(id) {
				bytes += len(tok.TokenBytes(id))
			}
		}
		targets += width
		rows++
		if width < T {
			flush(1, width)
			rows = 0
			continue
		}
		if rows == B || i == len(starts)-1 {
			flush(rows, T)
			rows = 0
		}
	}
	loss = nats / float64(targets)
	if bytes == 0 {
		return loss, math.NaN()
	}
	return loss, nats / math.Ln2 / float64(bytes)
}

// Run trains until the schedule's last step, StopAt, the deadline of a time
// budget or the end of ctx, evaluating and saving a checkpoint every
// EvalEvery steps and at the end. It returns ErrNonFinite, wrapped with the
// step, when a loss is NaN or infinite, leaving the checkpoints saved
// before it as they are.
func (tr *Trainer) Run(ctx context.Context) (*Result, error) {
	o := tr.opts
	tr.started = time.Now()
	budgetStart := o.Start
	if budgetStart.IsZero() {
		budgetStart = tr.started
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if o.Steps > 0 {
		tr.fixSchedule(o.Steps)
	} else {
		tr.planSteps(tr.timeStep(), budgetStart)
	}
	priorElapsed := tr.State.ElapsedSeconds
	tr.log.Info("training", "params", tr.Model.NumParams(), "step", tr.State.Step,
		"total_steps", tr.sched.Total, "batch", o.Batch, "accum", o.Accum, "out", o.Out)

	var recent []float64 // seconds of the last steps, for tokens/s
	interrupted := false
	for tr.State.Step < tr.sched.Total {
		if ctx.Err() != nil || (o.StopAt > 0 && tr.State.Step >= o.StopAt) {
			interrupted = true
			break
		}
		t0 := time.Now()
		loss := tr.Step()
		dt := time.Since(t0).Seconds()
		tr.State.ElapsedSeconds = priorElapsed + time.Since(tr.started).Seconds()
		step := tr.State.Step
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return tr.nonFinite(step, loss)
		}
		tr.State.LossHistory.Train = append(tr.State.LossHistory.Train,
			LossPoint{Step: step, Loss: loss})

		recent = append(recent, dt)
		if len(recent) > 20 {
			recent = recent[1:]
		}
		if o.Steps == 0 && step%10 == 0 {
			tr.planSteps(median(recent), budgetStart)
		}
		tr.emit(TrainEvent{Kind: TrainStep, Step: step, Total: tr.sched.Total, Loss: loss,
			LR: tr.sched.LR(step - 1), TokensPerSec: tokensPerSec(recent, o.Batch*o.Accum*
				tr.Model.Config.ContextLen), Elapsed: time.Since(tr.started),
			ETA: tr.eta(recent)})

		if o.SampleEvery > 0 && step%o.SampleEvery == 0 {
			tr.previewSample(step)
		}
		if step%o.EvalEvery == 0 && step < tr.sched.Total {
			if err := tr.evalAndSave(true); err != nil {
				return nil, err
			}
		}
		if o.Steps == 0 && time.Since(budgetStart) > o.Duration+o.Duration/10 {
			// The plan was off by over 10%: stop rather than overrun much.
			tr.log.Warn("time budget exceeded before the last step; stopping",
				"step", step, "total_steps", tr.sched.Total)
			break
		}
	}

	// An interrupted run saves at once, without the evaluation, because the
	// user who pressed Ctrl-C is waiting.
	if err := tr.evalAndSave(!interrupted || o.StopAt > 0); err != nil {
		return nil, err
	}
	res := &Result{
		Step: tr.State.Step, Interrupted: interrupted, ValLoss: tr.State.ValLoss,
		ValBPB: tr.State.ValBPB, Best: filepath.Join(o.Out, "best"),
		Latest: tr.lastSaved, Elapsed: time.Since(tr.started),
	}
	if _, err := os.Stat(res.Best); err != nil {
		res.Best = tr.lastSaved
	}
	if interrupted {
		tr.log.Info("training stopped", "step", tr.State.Step, "checkpoint", tr.lastSaved)
	} else {
		tr.log.Info("training finished", "step", tr.State.Step, "val_loss", tr.State.ValLoss,
			"val_bpb", tr.State.ValBPB, "checkpoint", res.Best)
	}
	return res, nil
}

// fixSchedule lays the learning-rate schedule out over total steps.
func (tr *Trainer) fixSchedule(total int) {
	o := tr.opts
	warmup := o.Warmup
	if warmup < 0 {
		warmup = AutoWarmup(total)
	}
	warmup = min(warmup, total)
	tr.sched = Schedule{Max: o.LR, Min: o.MinLR, Warmup: warmup, Total: total}
	tr.State.TotalSteps = total
	tr.State.Flags.Warmup = warmup
	tr.opts.Warmup = warmup
}

// timeStep measures the seconds of a forward and backward pass on a batch
// of token 0, twice, and returns the second: the first also sizes the tape
// arena. It changes no weight, moment or data position, so a planned run
// trains exactly like one given the same number of steps.
func (tr *Trainer) timeStep() float64 {
	o := tr.opts
	T := tr.Model.Config.ContextLen
	ids := make([]int, o.Batch*T)
	var seconds float64
	for range 2 {
		t0 := time.Now()
		tr.Model.LossBackward(tr.tape, ids, ids, o.Batch, T, o.Micro, 1)
		seconds = time.Since(t0).Seconds() * float64(o.Accum)
	}
	tr.Opt.ZeroGrad()
	return seconds
}

// planSteps sets the number of steps of a time-budgeted run from the
// measured seconds per step: the steps and their evaluations must end
// before the budget does, less a reserve for the final evaluation,
// checkpoint and samples. The first call also fixes the warmup; later calls
// move only the end of the cosine decay, as the measured speed changes.
func (tr *Trainer) planSteps(perStep float64, budgetStart time.Time) {
	o := tr.opts
	// An evaluation runs forward passes only, about a third of a training
	// step's work per token; measure it if one has run.
	evalCost := tr.evalStep.Seconds()
	if evalCost == 0 {
		evalTokens := min(o.EvalTokens, tr.valLen())
		evalCost = perStep * float64(evalTokens) / float64(o.Batch*o.Accum*
			tr.Model.Config.ContextLen) / 3
	}
	// The final samples, about 15 styles × 64 tokens with a KV cache, take
	// a few seconds; 5 training steps is a generous estimate.
	// The final evaluation and the per-style one cost about an evaluation
	// each.
	reserve := 3*evalCost + 5*perStep + 5
	left := (o.Duration - time.Since(budgetStart)).Seconds() - reserve
	steps := tr.State.Step + int(left/(perStep+evalCost/float64(o.EvalEvery)))
	steps = max(steps, tr.State.Step+1)
	if tr.sched.Total == 0 {
		tr.fixSchedule(steps)
		tr.log.Info("planned steps for the time budget", "total_steps", steps,
			"seconds_per_step", perStep, "budget", o.Duration.String())
		return
	}
	tr.sched.Total = max(steps, tr.sched.Warmup)
	tr.State.TotalSteps = tr.sched.Total
}

func (tr *Trainer) eta(recent []float64) time.Duration {
	left := float64(tr.sched.Total-tr.State.Step) * median(recent)
	return time.Duration(left * float64(time.Second))
}

func tokensPerSec(recent []float64, tokensPerStep int) float64 {
	return float64(tokensPerStep) / median(recent)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func (tr *Trainer) emit(e TrainEvent) {
	if tr.opts.Progress != nil {
		tr.opts.Progress(e)
	}
}

// evalAndSave evaluates when eval is set, then saves a step checkpoint,
// updates latest and, when the validation loss improved, best.
func (tr *Trainer) evalAndSave(eval bool) error {
	if tr.lastSaved != "" && filepath.Base(filepath.Clean(tr.lastSaved)) ==
		stepDirName(tr.State.Step) {
		return nil // this step is already saved
	}
	loss, bpb := math.NaN(), math.NaN()
	if eval {
		t0 := time.Now()
		loss, bpb = tr.Evaluate()
		tr.evalStep = time.Since(t0)
	}
	st := &tr.State
	if !math.IsNaN(loss) {
		st.ValLoss, st.ValBPB = loss, bpb
		st.LossHistory.Val = append(st.LossHistory.Val, LossPoint{Step: st.Step, Loss: loss,
			BPB: bpb})
		tr.log.Info("validation", "step", st.Step, "loss", loss, "bpb", bpb,
			"seconds", tr.evalStep.Seconds())
		tr.emit(TrainEvent{Kind: TrainEval, Step: st.Step, Total: tr.sched.Total, ValLoss: loss,
			ValBPB: bpb, Elapsed: time.Since(tr.started)})
	}
	improved := !math.IsNaN(loss) && (st.BestStep == 0 || loss < st.BestValLoss)
	if improved {
		st.BestValLoss, st.BestStep = loss, st.Step
	}

	state, err := tr.sampler.State()
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	st.SamplerState, st.WindowsDrawn = state, tr.sampler.Drawn
	dir := filepath.Join(tr.opts.Out, stepDirName(st.Step))
	if err := tr.Save(dir); err != nil {
		return err
	}
	tr.lastSaved = dir
	if err := pointLatest(tr.opts.Out, dir); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if improved {
		if err := tr.Save(filepath.Join(tr.opts.Out, "best")); err != nil {
			return err
		}
	}
	tr.prune()
	tr.emit(TrainEvent{Kind: TrainCheckpoint, Step: st.Step, Text: dir})
	return nil
}

// Save writes a checkpoint of the current weights, optimizer and state.
func (tr *Trainer) Save(dir string) error {
	ck := &Checkpoint{Model: tr.Model, Tokenizer: tr.Tok, State: tr.State, Credits: tr.Credits}
	t0 := time.Now()
	if err := SaveCheckpoint(dir, ck, tr.Opt); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	tr.log.Info("saved checkpoint", "dir", dir, "step", tr.State.Step,
		"seconds", time.Since(t0).Seconds())
	return nil
}

func stepDirName(step int) string { return fmt.Sprintf("step-%06d", step) }

// pointLatest makes out/latest a symbolic link to dir, replacing the old
// link atomically. Where links are not supported, latest is a copy.
func pointLatest(out, dir string) error {
	link := filepath.Join(out, "latest")
	tmp := link + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(filepath.Base(dir), tmp); err != nil {
		return copyDir(dir, link)
	}
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		os.RemoveAll(link)
	}
	return os.Rename(tmp, link)
}

func copyDir(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	tmp := dst + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	os.RemoveAll(dst)
	return os.Rename(tmp, dst)
}

// removeStaleTemps deletes what an earlier run killed in the middle of a
// save left in the run directory out and its data folder: the hidden
// temporary files and checkpoint directories that SaveCheckpoint and
// writeFileAtomic name ".NAME.tmp-*", and the link latest.tmp. A finished
// save has renamed them all, so none holds anything of value, except an
// old checkpoint moved aside whose replacement never arrived: that one is
// put back.
func removeStaleTemps(out string, log *slog.Logger) {
	for _, dir := range []string{out, filepath.Join(out, "data")} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			stale := strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-")
			if dir == out && name == "latest.tmp" {
				stale = true
			}
			if !stale {
				continue
			}
			path := filepath.Join(dir, name)
			if target, _, _ := strings.Cut(name[1:], ".tmp-"); strings.HasSuffix(name, ".old") {
				// SaveCheckpoint moved the old checkpoint here and was killed
				// before the new one took its place: put the old one back.
				if _, err := os.Lstat(filepath.Join(dir, target)); errNotExist(err) {
					if os.Rename(path, filepath.Join(dir, target)) == nil {
						log.Info("restored a checkpoint an interrupted save had moved",
							"dir", filepath.Join(dir, target))
						continue
					}
				}
			}
			if err := os.RemoveAll(path); err != nil {
				log.Warn("could not delete a stale temporary file", "path", path, "err", err)
				continue
			}
			log.Info("deleted what an interrupted save left", "path", path)
		}
	}
}

// prune deletes step checkpoints beyond the newest Keep.
func (tr *Trainer) prune() {
	entries, err := os.ReadDir(tr.opts.Out)
	if err != nil {
		return
	}
	var steps []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "step-") {
			steps = append(steps, e.Name())
		}
	}
	sort.Strings(steps) // zero-padded, so name order is step order
	for len(steps) > tr.opts.Keep {
		dir := filepath.Join(tr.opts.Out, steps[0])
		if err := os.RemoveAll(dir); err != nil {
			tr.log.Warn("could not delete an old checkpoint", "dir", dir, "err", err)
		}
		steps = steps[1:]
	}
}

func (tr *Trainer) nonFinite(step int, loss float64) (*Result, error) {
	last := tr.lastSaved
	tr.log.Error("loss is not finite; stopping", "step", step, "loss", loss,
		"last_checkpoint", last)
	if last == "" {
		return nil, fmt.Errorf("train: %w: loss %v at step %d, before any checkpoint; "+
			"lower --lr and start again", ErrNonFinite, loss, step)
	}
	return nil, fmt.Errorf("train: %w: loss %v at step %d; the last good checkpoint is %s; "+
		"lower --lr and start a new run from it with --init-from",
		ErrNonFinite, loss, step, last)
}
