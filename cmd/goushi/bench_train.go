package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/cpuid/v2"

	"github.com/goushi/goushi/autograd"
	"github.com/goushi/goushi/gpt"
	"github.com/goushi/goushi/layers"
	"github.com/goushi/goushi/tensor"
)

// benchTrainStdout receives the report of `goushi bench train`. Tests
// replace it.
var benchTrainStdout io.Writer = os.Stdout

const benchTrainUsage = `usage: goushi bench train [--vocab V] [--ctx T] [--layers L] [--heads H]
                         [--embd C] [--batch B] [--micro M] [--steps N] [--json]

Times full training steps (forward, backward, AdamW) of a GPT on random
token ids and prints tokens/s, the peak resident memory and the model FLOPs
utilisation (MFU). Steps are timed after two warm-up steps and the median
is reported, as the PyTorch reference script does. Like 'goushi train', a
step passes the batch through the model a few sequences at a time, which
bounds the activation memory; --micro B passes it whole.

MFU is the model FLOPs per second over the peak. Model FLOPs per token are
6·N (N: the parameters that take part in a matmul, so all but the position
table, which is only looked up) plus 12·L·T·C for the attention scores and
their weighted sum, forward and backward, without halving for the causal
mask. The peak is cores × the measured FMA throughput of one core; with
--flops-per-cycle or --clock-ghz it is cores × FLOPs per cycle × clock.

Flags:`

// benchTrainResult is the JSON form of the report.
type benchTrainResult struct {
	TokensPerSec float64 `json:"tokens_per_s"`
	PeakRSSMB    float64 `json:"peak_rss_mb"` // -1 where the system does not report it
	MFU          float64 `json:"mfu"`
	StepMS       float64 `json:"step_ms"`
	Params       int     `json:"params"`
	FLOPsPerTok  float64 `json:"flops_per_token"`
	PeakGFLOPS   float64 `json:"peak_gflops"`
	Threads      int     `json:"threads"`
	Kernel       string  `json:"kernel"`
	Loss         float64 `json:"loss"`
}

func benchTrain(args []string) error {
	fs := flag.NewFlagSet("bench train", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, benchTrainUsage)
		fs.PrintDefaults()
	}
	cfg, _ := gpt.Preset("small")
	fs.IntVar(&cfg.VocabSize, "vocab", cfg.VocabSize, "vocabulary size V")
	fs.IntVar(&cfg.ContextLen, "ctx", cfg.ContextLen, "context length T")
	fs.IntVar(&cfg.Layers, "layers", cfg.Layers, "transformer blocks L")
	fs.IntVar(&cfg.Heads, "heads", cfg.Heads, "attention heads H")
	fs.IntVar(&cfg.Embd, "embd", cfg.Embd, "embedding dim C")
	batch := fs.Int("batch", 16, "sequences per step B")
	steps := fs.Int("steps", 10, "timed steps, after two warm-up steps")
	micro := fs.Int("micro", 0, "sequences per forward and backward pass; 0 fits "+
		strconv.Itoa(gpt.DefaultMicroRows)+" rows of B·T, and B passes the whole batch at once")
	asJSON := fs.Bool("json", false, "print one JSON object")
	flopsPerCycle := fs.Float64("flops-per-cycle", 0,
		"peak fp32 FLOPs per cycle per core (default from the CPU's vector units)")
	clockGHz := fs.Float64("clock-ghz", 0, "core clock in GHz (default from /proc/cpuinfo)")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; bench train takes only flags", fs.Arg(0))
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if *batch <= 0 {
		return fmt.Errorf("--batch %d is invalid; use 1 or more, such as 16", *batch)
	}
	if *steps <= 0 {
		return fmt.Errorf("--steps %d is invalid; use 1 or more, such as 10", *steps)
	}
	if *micro < 0 {
		return fmt.Errorf("--micro %d must be 0 (automatic) or more", *micro)
	}

	res, err := runTrainBench(cfg, *batch, *micro, *steps)
	if err != nil {
		return err
	}
	peak, err := peakGFLOPS(*flopsPerCycle, *clockGHz)
	if err != nil {
		return err
	}
	res.PeakGFLOPS = peak
	res.MFU = res.TokensPerSec * res.FLOPsPerTok / (peak * 1e9)

	if *asJSON {
		return json.NewEncoder(benchTrainStdout).Encode(res)
	}
	fmt.Fprintf(benchTrainStdout, "goushi %s threads=%d params=%.2fM V=%d T=%d L=%d H=%d C=%d "+
		"B=%d: median step %.0f ms, %.0f tokens/s, peak RSS %.0f MB, MFU %.1f%% of %.0f "+
		"GFLOP/s, loss %.3f\n", res.Kernel, res.Threads, float64(res.Params)/1e6,
		cfg.VocabSize, cfg.ContextLen, cfg.Layers, cfg.Heads, cfg.Embd, *batch, res.StepMS,
		res.TokensPerSec, res.PeakRSSMB, 100*res.MFU, peak, res.Loss)
	return nil
}

// runTrainBench times steps training steps of a model of cfg on one batch
// of random ids, after two untimed ones. Each step runs the batch through
// the model micro sequences at a time, as `goushi train` does. Micro 0 is
// LossBackward's default.
func runTrainBench(cfg gpt.Config, B, micro, steps int) (benchTrainResult, error) {
	m := gpt.New(cfg, 0)
	opt := layers.NewAdamW(m.Params(), layers.AdamWConfig{LR: 3e-4, Beta1: 0.9, Beta2: 0.999,
		Eps: 1e-8, WeightDecay: 0.1})
	T := cfg.ContextLen
	rng := rand.New(rand.NewPCG(0, 0))
	ids, targets := make([]int, B*T), make([]int, B*T)
	for i := range ids {
		ids[i], targets[i] = rng.IntN(cfg.VocabSize), rng.IntN(cfg.VocabSize)
	}
	tp := autograd.NewTape()
	var times []float64
	var loss float32
	for i := 0; i < steps+2; i++ {
		t0 := time.Now()
		opt.ZeroGrad()
		loss = m.LossBackward(tp, ids, targets, B, T, micro, 1)
		opt.Step(3e-4)
		times = append(times, time.Since(t0).Seconds())
	}
	times = times[2:]
	slices.Sort(times)
	med := times[len(times)/2]

	// Matmul parameters: everything except the position table.
	n := m.NumParams() - m.Param("wpe.weight").Value.Size()
	flops := 6*float64(n) + 12*float64(cfg.Layers*T*cfg.Embd)
	rss, err := peakRSSMB()
	if err != nil {
		return benchTrainResult{}, err
	}
	return benchTrainResult{
		TokensPerSec: float64(B*T) / med,
		PeakRSSMB:    rss,
		StepMS:       med * 1000,
		Params:       m.NumParams(),
		FLOPsPerTok:  flops,
		Threads:      tensor.Workers(),
		Kernel:       tensor.KernelName(),
		Loss:         float64(loss),
	}, nil
}

// peakGFLOPS returns the fp32 peak of min(NumCPU, GOMAXPROCS) cores in
// GFLOP/s. With both flags unset it is cores × the FMA throughput of one
// core, measured on registers by tensor.PeakGFLOPS. It is measured because
// a virtual CPU's pipe width and boost clock cannot be read reliably.
// Setting either flag switches to cores × FLOPs per cycle × clock. FLOPs per
// cycle then default to two FMA pipes of the widest vector unit, and the
// clock to /proc/cpuinfo.
func peakGFLOPS(flopsPerCycle, clockGHz float64) (float64, error) {
	cores := min(runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if flopsPerCycle <= 0 && clockGHz <= 0 {
		perCore, err := tensor.PeakGFLOPS(tensor.KernelName(), 300*time.Millisecond)
		if err == nil && perCore > 0 {
			return float64(cores) * perCore, nil
		}
	}
	if flopsPerCycle <= 0 {
		c := cpuid.CPU
		switch {
		case c.Supports(cpuid.AVX512F) && !(c.VendorID == cpuid.AMD && c.Family == 25):
			flopsPerCycle = 64
		case c.Supports(cpuid.AVX2, cpuid.FMA3):
			flopsPerCycle = 32
		default:
			flopsPerCycle = 8
		}
	}
	if clockGHz <= 0 {
		mhz, err := cpuinfoMHz()
		if err != nil {
			return 0, fmt.Errorf("cannot find the clock for the MFU peak (%w); pass --clock-ghz",
				err)
		}
		clockGHz = mhz / 1000
	}
	return float64(cores) * flopsPerCycle * clockGHz, nil
}

func cpuinfoMHz() (float64, error) {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "cpu MHz" {
			return strconv.ParseFloat(strings.TrimSpace(val), 64)
		}
	}
	return 0, errors.New("/proc/cpuinfo has no cpu MHz line")
}

// peakRSSMB returns the peak resident set size of this process in MB
// (10^6 bytes): VmHWM from /proc/self/status, or getrusage's maximum RSS
// where /proc is missing. It returns -1 on systems that report neither.
func peakRSSMB() (float64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(
					strings.TrimSpace(v), "kB")), 64)
				if err != nil {
					return 0, fmt.Errorf("parse VmHWM %q: %w", line, err)
				}
				return kb * 1024 / 1e6, nil
			}
		}
	}
	return maxRSSMB()
}
