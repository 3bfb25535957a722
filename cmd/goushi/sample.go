package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/goushi/goushi/gpt"
)

// sampleStdout receives the generated text and sampleStderr the seed and
// speed lines of `goushi sample`. Tests replace them.
var (
	sampleStdout io.Writer = os.Stdout
	sampleStderr io.Writer = os.Stderr
)

const sampleUsage = `usage: goushi sample --checkpoint DIR --prompt TEXT [--style TAG]
       [--num-samples N] [--temperature T] [--top-k K] [--top-p P] [--min-p P]
       [--repetition-penalty R] [--repetition-window N] [--seed S]
       [--max-new-tokens N] [--stop TEXT]... [--weights f32|f16|q8] [--slide-by N]

Continues the prompt with a trained checkpoint and streams the text to
standard output. With --num-samples above 1 the samples are generated
together as a batch and printed one after another, each under a
"--- sample I ---" line; the first streams live and the others appear as
soon as the ones before them are done. The seed and the speed go to
standard error. Ctrl-C stops generation and keeps what was printed.

When prompt and output pass the model's context length T, each new token
is predicted from the last T tokens, which are recomputed for it: such a
token costs as much as a prompt of T tokens, 40 to 70 times a token
before that point on the default model. With --slide-by N the window
moves N tokens at once and is recomputed once per N tokens instead, at
the price of less context.

Flags:`

// stopFlags is the repeatable --stop flag.
type stopFlags []string

func (s *stopFlags) String() string     { return strings.Join(*s, ", ") }
func (s *stopFlags) Set(v string) error { *s = append(*s, v); return nil }

func cmdSample(args []string) error {
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	fs.SetOutput(sampleStderr)
	fs.Usage = func() {
		fmt.Fprintln(sampleStderr, sampleUsage)
		fs.PrintDefaults()
	}
	def := gpt.DefaultSampleOptions()
	ckDir := fs.String("checkpoint", "", "checkpoint directory, such as runs/NAME/best")
	prompt := fs.String("prompt", "", "text to continue (may be empty)")
	style := fs.String("style", "", "style tag of the checkpoint, such as 抽象 (default none)")
	num := fs.Int("num-samples", 1, "samples generated together as a batch")
	temp := fs.Float64("temperature", flagFloat(def.Temperature),
		"softmax temperature; 0 picks the most likely token")
	topK := fs.Int("top-k", def.TopK, "keep the K most likely tokens; 0 turns it off")
	topP := fs.Float64("top-p", flagFloat(def.TopP),
		"keep the smallest set of tokens whose probability reaches P; 1 turns it off")
	minP := fs.Float64("min-p", flagFloat(def.MinP),
		"drop tokens below P times the probability of the most likely one; 0 turns it off")
	repPen := fs.Float64("repetition-penalty", flagFloat(def.RepetitionPenalty),
		"divide the positive logits (multiply the negative) of recent tokens by R; 1 is off")
	repWin := fs.Int("repetition-window", def.RepetitionWindow,
		"tokens the repetition penalty looks back over; 0 means the whole context")
	seed := fs.Int64("seed", -1, "random seed; -1 picks one and prints it")
	maxNew := fs.Int("max-new-tokens", def.MaxNewTokens, "tokens generated per sample")
	weights := fs.String("weights", "", "weight precision of each new token within the "+
		"context: auto, f32, f16 or q8 (auto: q8 where AVX-512 or AVX2 runs, else f32); the "+
		"prompt and a slid window are always computed in f32")
	slideBy := fs.Int("slide-by", 0, "past the context length, move the window N tokens "+
		"at once (0 or 1: always the last T tokens)")
	var stops stopFlags
	fs.Var(&stops, "stop", "end a sample before this `text`; repeat for several")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; pass the prompt with --prompt", fs.Arg(0))
	}
	if *ckDir == "" {
		return errors.New("missing --checkpoint DIR; pass a directory written by goushi train")
	}
	if *num < 1 || *num > gpt.MaxNumSamples {
		return fmt.Errorf("--num-samples %d is invalid; use 1 to %d", *num, gpt.MaxNumSamples)
	}
	if *seed < -1 {
		return fmt.Errorf("--seed %d is negative; use 0 or more, or -1 for a random seed", *seed)
	}

	opts := gpt.SampleOptions{
		Temperature:       float32(*temp),
		TopK:              *topK,
		TopP:              float32(*topP),
		MinP:              float32(*minP),
		RepetitionPenalty: float32(*repPen),
		RepetitionWindow:  *repWin,
		MaxNewTokens:      *maxNew,
		Stop:              stops,
		Style:             *style,
		NumSamples:        *num,
		Weights:           gpt.Precision(*weights),
		SlideBy:           *slideBy,
	}
	if *seed == -1 {
		opts.Seed = rand.Uint64() >> 1
	} else {
		opts.Seed = uint64(*seed)
	}
	ck, err := gpt.LoadCheckpoint(*ckDir)
	if err != nil {
		return err
	}
	// A loaded checkpoint never trains, so Generate may keep its copy of
	// the weights.
	gpt.Freeze(ck.Model)
	if err := opts.Validate(ck.Model.Config); err != nil {
		return flagError(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Fprintf(sampleStderr, "seed %d\n", opts.Seed)
	return streamSamples(ctx, ck, *prompt, opts)
}

// flagFloat returns the float64 that prints as the shortest decimal of v,
// so that a float32 default shows as 0.8 in the help, not 0.800000011920929.
func flagFloat(v float32) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
	return f
}

// sampleFieldFlags maps the field names that SampleOptions.Validate starts
// its messages with to the flags of `goushi sample` that set them.
var sampleFieldFlags = []struct{ field, flag string }{
	{"temperature ", "--temperature "},
	{"top_p ", "--top-p "},
	{"min_p ", "--min-p "},
	{"repetition_penalty ", "--repetition-penalty "},
	{"repetition_window ", "--repetition-window "},
	{"max_new_tokens ", "--max-new-tokens "},
	{"num_samples ", "--num-samples "},
	{"weights precision ", "--weights "},
	{"stop string ", "--stop "},
	{"style ", "--style "},
	{"slide_by ", "--slide-by "},
}

// flagError rewrites a SampleOptions.Validate error to name the flag the
// user typed in place of the API's field name.
func flagError(err error) error {
	msg := err.Error()
	for _, m := range sampleFieldFlags {
		if rest, ok := strings.CutPrefix(msg, m.field); ok {
			return errors.New(m.flag + rest)
		}
	}
	return fmt.Errorf("invalid flag: %w", err)
}

// streamSamples prints every sample in order: the current one live, the
// later ones from a buffer once the current one is done.
func streamSamples(ctx context.Context, ck *gpt.Checkpoint, prompt string,
	opts gpt.SampleOptions) error {
	n := max(opts.NumSamples, 1)
	bufs := make([]strings.Builder, n)
	done := make([]bool, n)
	tokens, cur := 0, 0
	header := func(i int) {
		if n > 1 {
			if i > 0 {
				fmt.Fprintln(sampleStdout)
			}
			fmt.Fprintf(sampleStdout, "--- sample %d ---\n", i+1)
		}
		fmt.Fprint(sampleStdout, prompt)
	}
	header(0)

	start := time.Now()
	for ev, err := range ck.Model.Generate(ctx, ck.Tokenizer, prompt, opts) {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(sampleStdout)
			fmt.Fprintln(sampleStderr, "stopped by interrupt")
			return nil
		}
		if err != nil {
			return err
		}
		tokens++
		if ev.Sample == cur {
			fmt.Fprint(sampleStdout, ev.Text)
		} else {
			bufs[ev.Sample].WriteString(ev.Text)
		}
		done[ev.Sample] = done[ev.Sample] || ev.Done
		// Move on to the next samples whose text is already complete or
		// can now stream live.
		for cur < n && done[cur] {
			cur++
			if cur < n {
				header(cur)
				fmt.Fprint(sampleStdout, bufs[cur].String())
				bufs[cur].Reset()
			}
		}
	}
	fmt.Fprintln(sampleStdout)
	secs := time.Since(start).Seconds()
	fmt.Fprintf(sampleStderr, "%d tokens in %.2f s (%.0f tokens/s)\n", tokens, secs,
		float64(tokens)/secs)
	return nil
}
