package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/goushi/goushi/gpt"
)

// trainStdout receives the samples and the summary of `goushi train`;
// trainStderr its logs and progress. Tests replace them.
var (
	trainStdout io.Writer = os.Stdout
	trainStderr io.Writer = os.Stderr
)

const trainUsage = `usage: goushi train [flags]

Trains a byte-level BPE tokenizer and a GPT on a corpus, then prints one
sample per style and the checkpoint to give 'goushi sample' and
'goushi serve'. With no flags: the embedded corpus, the small preset and a
ten-minute budget, tokenizer training and samples included.

Checkpoints go to --out (default runs/PRESET-YYYYMMDD-HHMMSS):
  step-NNNNNN/  the last --keep evaluated steps
  best/         the lowest validation loss so far
  latest        a link to the newest step-NNNNNN
  data/         the encoded training and validation tokens
Ctrl-C saves a checkpoint and exits; --resume DIR continues bit for bit.
An --out that is not empty is refused unless --force replaces its run.
--init-from DIR starts a new run from a checkpoint's weights and tokenizer,
such as one that 'goushi import hf' wrote.

Flags:`

// trainFlags are the parsed flags of `goushi train`.
type trainFlags struct {
	opts     gpt.TrainOptions
	preset   string
	dims     map[string]*int
	duration time.Duration
	floors   string
	progress string
	force    bool
}

func parseTrainFlags(args []string) (*trainFlags, error) {
	d := gpt.DefaultTrainOptions()
	f := &trainFlags{opts: d}
	o := &f.opts
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(trainStderr)
	fs.Usage = func() {
		fmt.Fprintln(trainStderr, trainUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.Corpus, "corpus", "",
		"corpus: a store from 'goushi data add', a text file or a folder (default: embedded)")
	fs.StringVar(&f.preset, "preset", "small", "model size: "+strings.Join(gpt.PresetNames, ", "))
	f.dims = map[string]*int{}
	for _, dim := range []struct{ name, help string }{
		{"vocab", "vocabulary size of a newly trained tokenizer (overrides the preset)"},
		{"ctx", "context length T in tokens (overrides the preset)"},
		{"layers", "transformer blocks (overrides the preset)"},
		{"heads", "attention heads (overrides the preset)"},
		{"embd", "embedding dim C (overrides the preset)"},
	} {
		f.dims[dim.name] = fs.Int(dim.name, 0, dim.help)
	}
	dropout := fs.Float64("dropout", 0, "dropout probability")
	fs.IntVar(&o.Steps, "steps", 0,
		"optimizer steps; 0 derives them from --time, or keeps those of --resume")
	fs.DurationVar(&f.duration, "time", d.Duration,
		"wall-clock budget of the whole run when --steps is 0, e.g. 10m or 90s")
	fs.IntVar(&o.Batch, "batch", d.Batch, "sequences per batch")
	fs.IntVar(&o.Accum, "accum", d.Accum, "batches whose gradients add up to one optimizer step")
	fs.Float64Var(&o.LR, "lr", d.LR, "peak learning rate")
	fs.Float64Var(&o.MinLR, "min-lr", 0, "learning rate at the end of the decay (default lr/10)")
	fs.IntVar(&o.Warmup, "warmup", d.Warmup, "warmup steps; -1 is 5% of the steps, at most 100,\n"+
		"and at least 10 or a quarter of the steps, whichever is fewer")
	fs.Float64Var(&o.WeightDecay, "weight-decay", d.WeightDecay, "AdamW weight decay")
	fs.Float64Var(&o.Clip, "clip", d.Clip, "global gradient norm limit; 0 disables clipping")
	fs.Uint64Var(&o.Seed, "seed", d.Seed, "seed of the weights, data order and dropout")
	fs.StringVar(&o.Out, "out", "", "run directory (default runs/PRESET-YYYYMMDD-HHMMSS)")
	fs.BoolVar(&f.force, "force", false, "replace the run in a non-empty --out: remove its "+
		"best/, data/, latest and step-NNNNNN/ first")
	fs.StringVar(&o.Resume, "resume", "", "checkpoint directory to continue from")
	fs.StringVar(&o.InitFrom, "init-from", "", "checkpoint directory whose weights and "+
		"tokenizer start a new run\n(fresh optimizer and schedule), such as one from "+
		"'goushi import hf'")
	fs.StringVar(&o.Tokenizer, "tokenizer", "", "tokenizer file to reuse instead of training one")
	fs.IntVar(&o.EvalEvery, "eval-every", d.EvalEvery,
		"steps between validation evaluations and checkpoints")
	fs.IntVar(&o.EvalTokens, "eval-tokens", d.EvalTokens, "validation tokens per evaluation")
	fs.IntVar(&o.SampleEvery, "sample-every", 0, "steps between preview samples; 0 for none")
	fs.IntVar(&o.Keep, "keep", d.Keep, "step checkpoints to keep besides best")
	fs.Float64Var(&o.Mix.Alpha, "style-alpha", d.Mix.Alpha,
		"style mix exponent: windows per style ∝ tokens^alpha (1 = corpus proportions)")
	fs.StringVar(&f.floors, "style-floor", "抽象=0.25",
		"minimum shares of styles' windows, as STYLE=FRACTION,...; empty for none")
	fs.StringVar(&f.progress, "progress", "auto",
		"progress display: bar, plain, or auto (a bar on a terminal)")
	if err := parseArgs(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q; train takes only flags", fs.Arg(0))
	}

	if o.Resume != "" {
		// A resumed run takes these from the checkpoint's state.json so that
		// it continues bit for bit, so a flag would be ignored.
		var bad string
		fs.Visit(func(fl *flag.Flag) {
			switch fl.Name {
			case "corpus", "batch", "accum", "lr", "min-lr", "warmup", "weight-decay", "clip",
				"seed", "style-alpha", "style-floor", "dropout":
				if bad == "" {
					bad = "--" + fl.Name + " " + fl.Value.String()
				}
			}
		})
		if bad != "" {
			return nil, fmt.Errorf("%s does not apply with --resume: the run's settings come "+
				"from %s; drop the flag, or start a new run from the weights with --init-from",
				bad, filepath.Join(o.Resume, gpt.StateFile))
		}
	}
	if from := cmp.Or(o.Resume, o.InitFrom); from != "" {
		// The checkpoint's config.json fixes the model, so a dim flag would be
		// ignored. Reject it instead.
		var bad string
		fs.Visit(func(fl *flag.Flag) {
			switch fl.Name {
			case "preset", "vocab", "ctx", "layers", "heads", "embd", "tokenizer":
				if bad == "" {
					bad = "--" + fl.Name + " " + fl.Value.String()
				}
			}
		})
		if bad != "" {
			return nil, fmt.Errorf("%s does not apply with a checkpoint: the model's dims and "+
				"tokenizer come from %s; drop the flag, or train a new model without it",
				bad, filepath.Join(from, gpt.ConfigFile))
		}
	}
	if !slices.Contains(gpt.PresetNames, f.preset) {
		return nil, fmt.Errorf("--preset %q is unknown; use %s", f.preset,
			orList(gpt.PresetNames))
	}
	cfg, err := gpt.Preset(f.preset)
	if err != nil {
		return nil, err
	}
	for name, dst := range map[string]*int{"vocab": &cfg.VocabSize, "ctx": &cfg.ContextLen,
		"layers": &cfg.Layers, "heads": &cfg.Heads, "embd": &cfg.Embd} {
		v := *f.dims[name]
		if v < 0 {
			return nil, fmt.Errorf("--%s %d is invalid; use a positive value, or 0 for "+
				"the preset's", name, v)
		}
		if v > 0 {
			*dst = v
		}
	}
	cfg.Dropout = float32(*dropout)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o.Model = cfg
	if o.Steps < 0 {
		return nil, fmt.Errorf("--steps %d must not be negative", o.Steps)
	}
	if o.Steps == 0 && o.Resume == "" {
		o.Duration = f.duration
	}
	if o.Steps == 0 && o.Duration <= 0 && o.Resume == "" {
		return nil, fmt.Errorf("--time %v must be positive when --steps is 0", f.duration)
	}
	if err := checkTrainNumbers(o); err != nil {
		return nil, err
	}
	if o.EvalEvery <= 0 {
		return nil, fmt.Errorf("--eval-every %d is invalid; use 1 or more steps", o.EvalEvery)
	}
	if o.Keep <= 0 {
		return nil, fmt.Errorf("--keep %d is invalid; keep 1 or more checkpoints", o.Keep)
	}
	floors, err := parseStyleFloors(f.floors)
	if err != nil {
		return nil, err
	}
	o.Mix.Floors = floors
	switch f.progress {
	case "auto", "bar", "plain":
	default:
		return nil, fmt.Errorf("--progress %q is invalid; use bar, plain or auto", f.progress)
	}
	return f, nil
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// maxTrainCtx bounds --ctx: attention keeps a (T, T) score matrix per head
// and layer for the backward pass, 4·T² bytes each, so at T = 4096 one
// sequence of the small preset already needs about 2 GiB for them.
const maxTrainCtx = 4096

// checkTrainNumbers rejects flag values that would train nothing, train on
// NaN, or fail only at the first checkpoint.
func checkTrainNumbers(o *gpt.TrainOptions) error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case o.Batch <= 0:
		return fmt.Errorf("--batch %d must be positive, such as 8", o.Batch)
	case o.Accum <= 0:
		return fmt.Errorf("--accum %d must be positive; 1 is no accumulation", o.Accum)
	case !finite(o.LR) || o.LR <= 0:
		return fmt.Errorf("--lr %v must be a positive number, such as 1e-3", o.LR)
	case !finite(o.MinLR) || o.MinLR < 0 || o.MinLR > o.LR:
		return fmt.Errorf("--min-lr %v must be from 0 to --lr %v (0 means lr/10)", o.MinLR, o.LR)
	case o.Warmup < -1:
		return fmt.Errorf("--warmup %d is invalid; use 0 or more steps, or -1 for 5%% "+
			"of the run (at least 10, at most 100)", o.Warmup)
	case !finite(o.WeightDecay) || o.WeightDecay < 0:
		return fmt.Errorf("--weight-decay %v must be 0 or more, such as 0.1", o.WeightDecay)
	case !finite(o.Clip) || o.Clip < 0:
		return fmt.Errorf("--clip %v must be 0 or more; 0 disables clipping", o.Clip)
	case !finite(o.Mix.Alpha) || o.Mix.Alpha < 0 || o.Mix.Alpha > 1:
		return fmt.Errorf("--style-alpha %v must be from 0 to 1", o.Mix.Alpha)
	case o.EvalTokens <= 0:
		return fmt.Errorf("--eval-tokens %d must be positive, such as 32768", o.EvalTokens)
	case o.SampleEvery < 0:
		return fmt.Errorf("--sample-every %d must be 0 (none) or more", o.SampleEvery)
	case o.Model.ContextLen > maxTrainCtx:
		return fmt.Errorf("--ctx %d is above %d, too long to train on a CPU: attention "+
			"memory grows with ctx²; use 1024 or less", o.Model.ContextLen, maxTrainCtx)
	}
	return nil
}

// parseStyleFloors parses "STYLE=FRACTION,..." into a map.
func parseStyleFloors(s string) (map[string]float64, error) {
	floors := map[string]float64{}
	if strings.TrimSpace(s) == "" {
		return floors, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		v, err := strconv.ParseFloat(val, 64)
		if !ok || name == "" || err != nil || v < 0 || v > 1 {
			return nil, fmt.Errorf("--style-floor entry %q is invalid; use STYLE=FRACTION "+
				"with a fraction from 0 to 1, such as 抽象=0.25", part)
		}
		floors[name] = v
	}
	return floors, nil
}

func cmdTrain(args []string) error {
	start := time.Now()
	f, err := parseTrainFlags(args)
	if err != nil {
		return err
	}
	o := &f.opts
	o.Start = start
	if o.Out == "" {
		o.Out = defaultRunDir(f.preset, o.Resume, start)
	} else if err := claimOutDir(o.Out, o.Resume, f.force); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the process at once
	}()

	useBar := f.progress == "bar" || (f.progress == "auto" && isTerminal(trainStderr))
	display := newTrainDisplay(useBar)
	o.Progress = display.event
	o.Logger = slog.New(slog.NewTextHandler(display, nil))

	tr, err := gpt.NewTrainer(*o)
	if err != nil {
		return trimTrainPrefix(err)
	}
	defer tr.Close()
	res, err := tr.Run(ctx)
	display.finish(err == nil && !res.Interrupted)
	if err != nil {
		return trimTrainPrefix(err)
	}

	w := trainStdout
	if res.Interrupted {
		fmt.Fprintf(w, "\nStopped at step %d. Continue with:\n  goushi train --resume %s\n",
			res.Step, res.Latest)
		return nil
	}
	samples, err := gpt.StyleSamples(tr.Model, tr.Tok, o.Seed)
	if err != nil {
		return fmt.Errorf("samples from %s: %w", res.Best, err)
	}
	fmt.Fprintf(w, "\nSamples after %d steps:\n", res.Step)
	for _, s := range samples {
		name := s.Style
		if name == "" {
			name = "text"
		}
		fmt.Fprintf(w, "\n[%s] %s\n", name, oneLine(s.Text))
	}
	valPath := filepath.Join(filepath.Dir(res.Best), "data", "val.tokens")
	if res.ValBPB > 0 {
		fmt.Fprintf(w, "\nValidation: %.4f nats per token, %.4f bits per byte", res.ValLoss,
			res.ValBPB)
		if n := tr.ValTokens(); n > o.EvalTokens {
			fmt.Fprintf(w, " on %d of the %d held-out tokens", o.EvalTokens, n)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "\nValidation: none; the corpus is one document after deduplication, "+
			"so none was held out. Add documents for a validation loss.\n")
	}
	if styles := tr.EvaluateStyles(); len(styles) > 0 {
		parts := make([]string, len(styles))
		for i, s := range styles {
			name := s.Style
			if name == "" {
				name = "(no style)"
			}
			parts[i] = fmt.Sprintf("%s %.3f", name, s.BPB)
		}
		fmt.Fprintf(w, "Validation bits per byte by style: %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "Loss curve: %s\n", filepath.Join(res.Best, gpt.LossCurveFile))
	fmt.Fprintf(w, "Checkpoint: %s (%s total)\n", res.Best,
		time.Since(start).Round(time.Second))
	fmt.Fprintf(w, "Next:\n  goushi sample --checkpoint %s\n  goushi serve --checkpoint %s\n",
		res.Best, res.Best)
	if res.ValBPB > 0 {
		fmt.Fprintf(w, "  goushi eval --checkpoint %s %s\n", res.Best, valPath)
	}
	return nil
}

// defaultRunDir is runs/PRESET-YYYYMMDD-HHMMSS, or the run directory of the
// checkpoint being resumed.
func defaultRunDir(preset, resume string, now time.Time) string {
	if resume != "" {
		if real, err := filepath.EvalSymlinks(resume); err == nil {
			resume = real
		}
		return filepath.Dir(filepath.Clean(resume))
	}
	return filepath.Join("runs", preset+"-"+now.Format("20060102-150405"))
}

// claimOutDir rejects a non-empty out unless it is the run being resumed,
// because a new run would replace its best/, data/ and latest and mix in
// its old step folders. With force it removes those entries and keeps the
// rest of out.
func claimOutDir(out, resume string, force bool) error {
	entries, err := os.ReadDir(out)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	if resume != "" && sameDir(out, defaultRunDir("", resume, time.Time{})) {
		return nil
	}
	// A run that stopped before its first checkpoint leaves only data/,
	// the encoded corpus, which every run writes again.
	if len(entries) == 1 && entries[0].Name() == "data" {
		if err := os.RemoveAll(filepath.Join(out, "data")); err != nil {
			return fmt.Errorf("--out %s: %w", out, err)
		}
		return nil
	}
	if !force {
		fix := "--resume " + filepath.Join(out, "latest") + " to continue that run"
		if resume != "" {
			fix = "drop --out to continue in the resumed run's folder"
		}
		return fmt.Errorf("--out %s is not empty and would lose its model; use %s, "+
			"another --out, or --force to replace it", out, fix)
	}
	for _, e := range entries {
		name := e.Name()
		if name == "best" || name == "data" || name == "latest" || isStepDir(name) {
			if err := os.RemoveAll(filepath.Join(out, name)); err != nil {
				return fmt.Errorf("--force: %w", err)
			}
		}
	}
	return nil
}

// isStepDir reports whether name is a step-NNNNNN checkpoint folder.
func isStepDir(name string) bool {
	digits, ok := strings.CutPrefix(name, "step-")
	if !ok || digits == "" {
		return false
	}
	_, err := strconv.Atoi(digits)
	return err == nil
}

// sameDir reports whether a and b name one folder, links resolved.
func sameDir(a, b string) bool {
	ia, errA := os.Stat(a)
	ib, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(ia, ib)
}

// trimTrainPrefix drops the "train: " that gpt puts before its errors,
// since main already prints "goushi train: " before them.
func trimTrainPrefix(err error) error {
	msg, ok := strings.CutPrefix(err.Error(), "train: ")
	if !ok {
		return err
	}
	return &messageError{msg: msg, err: err}
}

// messageError is an error printed as msg that still unwraps to err.
type messageError struct {
	msg string
	err error
}

func (e *messageError) Error() string { return e.msg }
func (e *messageError) Unwrap() error { return e.err }

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// trainDisplay shows training progress: a progress bar on a terminal, or a
// plain line every plainEvery otherwise.
type trainDisplay struct {
	bar       *progressbar.ProgressBar
	lastPlain time.Time
	valLoss   float64
}

const plainEvery = 10 * time.Second

func newTrainDisplay(useBar bool) *trainDisplay {
	d := &trainDisplay{}
	if useBar {
		d.bar = progressbar.NewOptions(-1,
			progressbar.OptionSetWriter(trainStderr),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetDescription("training"),
		)
	}
	return d
}

func (d *trainDisplay) event(e gpt.TrainEvent) {
	switch e.Kind {
	case gpt.TrainEval:
		d.valLoss = e.ValLoss
		if d.bar == nil {
			fmt.Fprintf(trainStderr, "step %d: validation loss %.4f, %.4f bits per byte\n",
				e.Step, e.ValLoss, e.ValBPB)
		}
	case gpt.TrainSample:
		d.println(fmt.Sprintf("sample at step %d [%s] %s", e.Step, e.Style, oneLine(e.Text)))
	case gpt.TrainStep:
		d.step(e)
	}
}

func (d *trainDisplay) step(e gpt.TrainEvent) {
	val := "n/a"
	if d.valLoss > 0 {
		val = fmt.Sprintf("%.3f", d.valLoss)
	}
	eta := "n/a"
	if e.Total > 0 {
		eta = e.ETA.Round(time.Second).String()
	}
	desc := fmt.Sprintf("loss %.3f, val %s, %.0f tok/s, eta %s", e.Loss, val, e.TokensPerSec,
		eta)
	if d.bar != nil {
		if e.Total > 0 && d.bar.GetMax() != e.Total {
			d.bar.ChangeMax(e.Total)
		}
		d.bar.Describe(desc)
		_ = d.bar.Set(e.Step)
		return
	}
	if time.Since(d.lastPlain) >= plainEvery || e.Step == e.Total {
		d.lastPlain = time.Now()
		total := "?"
		if e.Total > 0 {
			total = strconv.Itoa(e.Total)
		}
		fmt.Fprintf(trainStderr, "step %d/%s: %s, lr %.2e, elapsed %s\n", e.Step, total, desc,
			e.LR, e.Elapsed.Round(time.Second))
	}
}

func (d *trainDisplay) println(s string) {
	_, _ = d.Write([]byte(s + "\n"))
}

// Write writes p to the standard error, first clearing the progress bar's
// line so that log lines do not run into it. The bar redraws itself on the
// next step.
func (d *trainDisplay) Write(p []byte) (int, error) {
	if d.bar != nil {
		_ = d.bar.Clear()
	}
	return trainStderr.Write(p)
}

// finish leaves the bar where it is: full when the run completed, at the
// step reached when it stopped early.
func (d *trainDisplay) finish(completed bool) {
	if d.bar == nil {
		return
	}
	if completed {
		_ = d.bar.Finish()
	} else {
		_ = d.bar.Exit()
	}
	fmt.Fprintln(trainStderr)
}
