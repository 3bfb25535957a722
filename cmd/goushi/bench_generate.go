package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/gpt"
	"github.com/goushi/goushi/tensor"
)

// benchGenerateStdout receives the report of `goushi bench generate`.
var benchGenerateStdout io.Writer = os.Stdout

const benchGenerateUsage = `usage: goushi bench generate --vocab V --ctx T --layers L --heads H --embd C
       [--new-tokens N] [--prompt-tokens P] [--batches 1,8] [--runs R]
       [--weights f32|f16|q8] [--freeze=false] [--json]

Measures generation with the KV cache on a randomly initialised model of
the given shape, greedy decoding, through the same Generate call that the
CLI and the server use. For each batch size it reports the time to first
token for a P-token prompt (prefill and the first draw) and the tokens per
second after it. Each figure is the best of R runs. The model is frozen
(gpt.Freeze) as in sample and serve, so only the first run makes the copy
of the weights; --freeze=false makes one per run, as training's previews do.

Flags:`

// genResult is one batch size's figures; its JSON form is the --json line.
type genResult struct {
	Batch      int     `json:"batch"`
	TokensPerS float64 `json:"tokens_per_s"`
	TTFTms     float64 `json:"ttft_ms"`
}

func benchGenerate(args []string) error {
	fs := flag.NewFlagSet("bench generate", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, benchGenerateUsage)
		fs.PrintDefaults()
	}
	var cfg gpt.Config
	fs.IntVar(&cfg.VocabSize, "vocab", 4096, "vocab size V")
	fs.IntVar(&cfg.ContextLen, "ctx", 256, "context length T")
	fs.IntVar(&cfg.Layers, "layers", 4, "transformer blocks L")
	fs.IntVar(&cfg.Heads, "heads", 4, "attention heads H")
	fs.IntVar(&cfg.Embd, "embd", 256, "embedding dim C")
	newTokens := fs.Int("new-tokens", 0, "tokens generated per sample (default: ctx minus prompt)")
	promptTokens := fs.Int("prompt-tokens", 64, "tokens in the prompt")
	batches := fs.String("batches", "1,8", "comma-separated batch sizes")
	runs := fs.Int("runs", 3, "runs per batch size; the best is reported")
	asJSON := fs.Bool("json", false, "print one JSON object per batch size")
	freeze := fs.Bool("freeze", true, "share one weight copy between runs (gpt.Freeze)")
	weights := fs.String("weights", "", "weight precision of each new token: f32, f16 or q8 "+
		"(default q8 where AVX-512 or AVX2 runs, else f32)")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid model shape: %w", err)
	}
	if cfg.VocabSize < 256 {
		return fmt.Errorf("--vocab %d is below the 256 byte tokens the prompt uses", cfg.VocabSize)
	}
	if *promptTokens < 1 || *promptTokens >= cfg.ContextLen {
		return fmt.Errorf("--prompt-tokens %d must be in [1, %d), below --ctx", *promptTokens,
			cfg.ContextLen)
	}
	if *newTokens == 0 {
		*newTokens = cfg.ContextLen - *promptTokens
	}
	if *newTokens < 2 {
		return fmt.Errorf("--new-tokens %d must be at least 2", *newTokens)
	}
	if *runs < 1 {
		return fmt.Errorf("--runs %d must be at least 1", *runs)
	}
	prec := gpt.Precision(*weights)
	check := gpt.DefaultSampleOptions()
	check.Weights = prec
	if err := check.Validate(cfg); err != nil {
		return fmt.Errorf("invalid --weights: %w", err)
	}
	sizes, err := parseBatches(*batches)
	if err != nil {
		return err
	}

	tok, err := byteTokenizer()
	if err != nil {
		return err
	}
	m := gpt.New(cfg, 1)
	if *freeze {
		gpt.Freeze(m)
		defer gpt.Unfreeze(m)
	}
	prompt := strings.Repeat("goushi! ", *promptTokens/8+1)[:*promptTokens]

	if !*asJSON {
		name := *weights
		if name == "" {
			name = "default"
		}
		fmt.Fprintf(benchGenerateStdout, "generate V=%d T=%d L=%d H=%d C=%d, %d-token prompt, "+
			"%d new tokens, greedy, %s weights, frozen %t, %d workers, kernels %s\n",
			cfg.VocabSize, cfg.ContextLen, cfg.Layers, cfg.Heads, cfg.Embd, *promptTokens,
			*newTokens, name, *freeze, tensor.Workers(), tensor.KernelName())
	}
	for _, b := range sizes {
		best := genResult{Batch: b}
		for range *runs {
			r, err := timeGeneration(m, tok, prompt, b, *newTokens, prec)
			if err != nil {
				return err
			}
			if r.TokensPerS > best.TokensPerS {
				best.TokensPerS = r.TokensPerS
			}
			if best.TTFTms == 0 || r.TTFTms < best.TTFTms {
				best.TTFTms = r.TTFTms
			}
		}
		if *asJSON {
			if err := json.NewEncoder(benchGenerateStdout).Encode(best); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(benchGenerateStdout, "batch %d: %.0f tokens/s, time to first token %.2f ms\n",
			best.Batch, best.TokensPerS, best.TTFTms)
	}
	return nil
}

// timeGeneration generates newTokens tokens for each of batch samples and
// returns the time to the first event and the rate of the tokens after the
// first draw: (newTokens-1)·batch tokens over the time from the first
// event to the last.
func timeGeneration(m *gpt.Model, tok *bpe.Tokenizer, prompt string, batch,
	newTokens int, prec gpt.Precision) (genResult, error) {
	opts := gpt.DefaultSampleOptions()
	opts.Temperature, opts.MaxNewTokens, opts.NumSamples = 0, newTokens, batch
	opts.Weights = prec
	var first time.Time
	events := 0
	start := time.Now()
	for ev, err := range m.Generate(context.Background(), tok, prompt, opts) {
		if err != nil {
			return genResult{}, err
		}
		if events == 0 {
			first = time.Now()
		}
		events++
		if ev.Done && ev.FinishReason != gpt.FinishLength {
			return genResult{}, fmt.Errorf("sample %d stopped early (%s)", ev.Sample,
				ev.FinishReason)
		}
	}
	end := time.Now()
	if events != batch*newTokens {
		return genResult{}, fmt.Errorf("generated %d tokens; want %d", events, batch*newTokens)
	}
	return genResult{
		Batch:      batch,
		TokensPerS: float64((newTokens-1)*batch) / end.Sub(first).Seconds(),
		TTFTms:     float64(first.Sub(start).Microseconds()) / 1000,
	}, nil
}

// byteTokenizer returns a tokenizer of the 256 byte tokens and no
// specials, so that a random model can never end a sample early.
func byteTokenizer() (*bpe.Tokenizer, error) {
	return bpe.Train([]string{"goushi"}, bpe.TrainOptions{VocabSize: 256, MinFrequency: 1 << 30})
}

// parseBatches parses a comma-separated list of positive batch sizes.
func parseBatches(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > gpt.MaxNumSamples {
			return nil, fmt.Errorf("--batches %q: %q is not a batch size in [1, %d]", s, f,
				gpt.MaxNumSamples)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("--batches is empty; give sizes such as 1,8")
	}
	return out, nil
}
