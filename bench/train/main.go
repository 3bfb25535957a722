//go:build linux

// Command train measures goushi's training step beside the PyTorch
// reference script gpt_train_torch.py (same model, same dims, random token
// ids, AdamW) and prints a Markdown table with the ratios.
//
// Both run as child processes, one after the other and alternating for
// -rounds rounds, so machine noise hits both alike. The peak RSS of each is
// the child's maximum resident set (getrusage), so the command is Linux
// only. PyTorch runs at each pair of -torch-threads (torch intra-op
// threads) and -openblas-threads (OPENBLAS_NUM_THREADS). Each pair runs with
// the environment as inherited and, when it sets them, with
// OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed, because a CORETYPE of
// Haswell holds OpenBLAS to its AVX2 kernels on a CPU with AVX-512. The best
// setting is compared.
//
// Example:
//
//	go run ./bench/train -rounds 3
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	script, python, goushi     string
	vocab, ctx, layers, heads  int
	embd, batch, steps, rounds int
	torchThreads, blasThreads  string
	flopsPerCycle, clockGHz    float64
}

func main() {
	var c config
	flag.StringVar(&c.script, "script", "/work/shared/anchors/gpt_train_torch.py",
		"the PyTorch reference script")
	flag.StringVar(&c.python, "python", "/usr/bin/python3", "Python with torch installed")
	flag.StringVar(&c.goushi, "goushi", "", "goushi binary (default: go build ./cmd/goushi)")
	flag.IntVar(&c.vocab, "vocab", 4096, "vocabulary size V")
	flag.IntVar(&c.ctx, "ctx", 128, "context length T")
	flag.IntVar(&c.layers, "layers", 4, "transformer blocks L")
	flag.IntVar(&c.heads, "heads", 4, "attention heads H")
	flag.IntVar(&c.embd, "embd", 256, "embedding dim C")
	flag.IntVar(&c.batch, "batch", 16, "sequences per step B")
	flag.IntVar(&c.steps, "steps", 10, "timed steps per run")
	flag.IntVar(&c.rounds, "rounds", 2, "alternating rounds of goushi and PyTorch")
	flag.StringVar(&c.torchThreads, "torch-threads", "1,2",
		"comma-separated torch thread counts to try")
	flag.StringVar(&c.blasThreads, "openblas-threads", strconv.Itoa(runtime.NumCPU()),
		"comma-separated OPENBLAS_NUM_THREADS values to try with each torch setting")
	flag.Float64Var(&c.flopsPerCycle, "flops-per-cycle", 0,
		"passed to goushi bench train for the MFU peak")
	flag.Float64Var(&c.clockGHz, "clock-ghz", 0, "passed to goushi bench train for the MFU peak")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench train:", err)
		os.Exit(1)
	}
}

// result is one run of either side.
type result struct {
	tokensPerSec float64
	rssMB        float64
	mfu          float64 // goushi only
	flopsPerTok  float64 // goushi only
	peakGFLOPS   float64 // goushi only
	label        string
}

func run(c config) error {
	if c.goushi == "" {
		dir, err := os.MkdirTemp("", "bench-train-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.goushi = filepath.Join(dir, "goushi")
		build := exec.Command("go", "build", "-o", c.goushi, "./cmd/goushi")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build goushi: %w", err)
		}
	}
	dims := []string{strconv.Itoa(c.vocab), strconv.Itoa(c.ctx), strconv.Itoa(c.layers),
		strconv.Itoa(c.heads), strconv.Itoa(c.embd), strconv.Itoa(c.batch)}

	var best, ours result
	for round := 0; round < c.rounds; round++ {
		g, err := runGoushi(c)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "round %d goushi: %.0f tokens/s, %.0f MB\n", round+1,
			g.tokensPerSec, g.rssMB)
		if g.tokensPerSec > ours.tokensPerSec {
			ours = g
		}
		for _, th := range strings.Split(c.torchThreads, ",") {
			for _, blas := range strings.Split(c.blasThreads, ",") {
				for _, env := range peerEnvs() {
					p, err := runTorch(c, dims, strings.TrimSpace(th), strings.TrimSpace(blas),
						env)
					if err != nil {
						return err
					}
					fmt.Fprintf(os.Stderr, "round %d %s: %.0f tokens/s, %.0f MB\n", round+1,
						p.label, p.tokensPerSec, p.rssMB)
					if p.tokensPerSec > best.tokensPerSec {
						best = p
					}
				}
			}
		}
	}

	torchMFU := best.tokensPerSec * ours.flopsPerTok / (ours.peakGFLOPS * 1e9)
	host, _ := os.Hostname()
	fmt.Printf("Training step, V=%d T=%d L=%d H=%d C=%d B=%d, random ids, %d timed steps, "+
		"best of %d rounds; %s, %d cores, %s\n\n", c.vocab, c.ctx, c.layers, c.heads, c.embd,
		c.batch, c.steps, c.rounds, host, runtime.NumCPU(), time.Now().Format("2006-01-02"))
	fmt.Println("| system | tokens/s | peak RSS (MB) | MFU |")
	fmt.Println("|---|---:|---:|---:|")
	fmt.Printf("| goushi | %.0f | %.0f | %.1f%% |\n", ours.tokensPerSec, ours.rssMB, 100*ours.mfu)
	fmt.Printf("| %s | %.0f | %.0f | %.1f%% |\n", best.label, best.tokensPerSec, best.rssMB,
		100*torchMFU)
	fmt.Printf("\ngoushi / PyTorch: %.2fx tokens/s, %.2fx peak RSS (MFU peak %.0f GFLOP/s, "+
		"%.1f MFLOP per token)\n", ours.tokensPerSec/best.tokensPerSec, ours.rssMB/best.rssMB,
		ours.peakGFLOPS, ours.flopsPerTok/1e6)
	return nil
}

func runGoushi(c config) (result, error) {
	args := []string{"bench", "train", "--json",
		"--vocab", strconv.Itoa(c.vocab), "--ctx", strconv.Itoa(c.ctx),
		"--layers", strconv.Itoa(c.layers), "--heads", strconv.Itoa(c.heads),
		"--embd", strconv.Itoa(c.embd), "--batch", strconv.Itoa(c.batch),
		"--steps", strconv.Itoa(c.steps)}
	if c.flopsPerCycle > 0 {
		args = append(args, "--flops-per-cycle", fmt.Sprint(c.flopsPerCycle))
	}
	if c.clockGHz > 0 {
		args = append(args, "--clock-ghz", fmt.Sprint(c.clockGHz))
	}
	out, rss, err := measure(exec.Command(c.goushi, args...))
	if err != nil {
		return result{}, err
	}
	var r struct {
		TokensPerSec float64 `json:"tokens_per_s"`
		MFU          float64 `json:"mfu"`
		FLOPsPerTok  float64 `json:"flops_per_token"`
		PeakGFLOPS   float64 `json:"peak_gflops"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return result{}, fmt.Errorf("parse goushi output %q: %w", out, err)
	}
	return result{tokensPerSec: r.TokensPerSec, rssMB: rss, mfu: r.MFU,
		flopsPerTok: r.FLOPsPerTok, peakGFLOPS: r.PeakGFLOPS, label: "goushi"}, nil
}

var torchRate = regexp.MustCompile(`([0-9.]+) tokens/s`)

// peerEnv is one environment the PyTorch peer runs in.
type peerEnv struct {
	name string
	vars []string
}

// peerEnvs returns the inherited environment and, when it sets
// OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE, the same without them.
func peerEnvs() []peerEnv {
	inherited := peerEnv{name: "environment as set", vars: os.Environ()}
	var cleared []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENBLAS_CORETYPE=") &&
			!strings.HasPrefix(kv, "OPENBLAS_L2_SIZE=") {
			cleared = append(cleared, kv)
		}
	}
	if len(cleared) == len(inherited.vars) {
		return []peerEnv{inherited}
	}
	if ct := os.Getenv("OPENBLAS_CORETYPE"); ct != "" {
		inherited.name = "OPENBLAS_CORETYPE=" + ct
	}
	return []peerEnv{inherited,
		{name: "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset", vars: cleared}}
}

func runTorch(c config, dims []string, threads, blasThreads string, env peerEnv) (result,
	error) {
	args := append([]string{c.script}, dims...)
	args = append(args, strconv.Itoa(c.steps), threads)
	cmd := exec.Command(c.python, args...)
	cmd.Env = append(slices.Clone(env.vars), "OPENBLAS_NUM_THREADS="+blasThreads)
	out, rss, err := measure(cmd)
	if err != nil {
		return result{}, err
	}
	m := torchRate.FindSubmatch(out)
	if m == nil {
		return result{}, fmt.Errorf("no tokens/s in the PyTorch output %q", out)
	}
	rate, _ := strconv.ParseFloat(string(m[1]), 64)
	version := "PyTorch"
	if f := strings.Fields(string(out)); len(f) > 1 && f[0] == "torch" {
		version = "PyTorch " + f[1]
	}
	label := fmt.Sprintf("%s (torch threads %s, OpenBLAS threads %s, %s)", version, threads,
		blasThreads, env.name)
	return result{tokensPerSec: rate, rssMB: rss, label: label}, nil
}

// measure runs cmd and returns its standard output and peak RSS in MB
// (10^6 bytes).
func measure(cmd *exec.Cmd) ([]byte, float64, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, 0, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, stderr.Bytes())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return nil, 0, fmt.Errorf("%s: no resource usage", cmd.Args[0])
	}
	return stdout.Bytes(), float64(ru.Maxrss) * 1024 / 1e6, nil
}
