// Command generate measures `goushi bench generate` beside the PyTorch
// generation script (batch 1, KV cache, greedy) on the same model shapes
// and prints a Markdown table with the ratios. It alternates the two in
// rounds, so that other load on the machine hits both alike.
//
// PyTorch runs at 1 and 2 intra-op threads, each with the same number of
// OpenBLAS threads. Each setting runs in the environment as inherited and,
// when it sets them, without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which
// can hold OpenBLAS to older kernels (Haswell's AVX2 ones, say). The best
// of those settings and rounds is PyTorch's figure, and the output names
// the environment that won.
//
// goushi runs with its default weights (8-bit where AVX-512 or AVX2 runs)
// and with half-precision and float32 weights, on a frozen model as sample
// and serve use it. Each figure is the best of its rounds. Both systems
// generate the same number of tokens per run: the context length minus
// the 64-token prompt that goushi prefills.
//
// GOUSHI_KERNELS in the environment chooses goushi's kernels, as for
// goushi itself; PyTorch ignores it.
//
// Example:
//
//	go run ./bench/generate -rounds 5
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

type shape struct{ V, T, L, H, C int }

func (s shape) String() string {
	return fmt.Sprintf("V=%d T=%d L=%d H=%d C=%d", s.V, s.T, s.L, s.H, s.C)
}

type config struct {
	anchors, python, goushi string
	rounds, prompt          int
	shapes                  []shape
}

func main() {
	var c config
	var shapes string
	flag.StringVar(&c.anchors, "anchors", "/work/shared/anchors",
		"folder of the peer script gpt_generate_torch.py")
	flag.StringVar(&c.python, "python", "/usr/bin/python3", "Python with torch installed")
	flag.StringVar(&c.goushi, "goushi", "", "goushi binary (default: go build ./cmd/goushi)")
	flag.IntVar(&c.rounds, "rounds", 3, "alternating rounds of each system per shape")
	flag.IntVar(&c.prompt, "prompt-tokens", 64, "prompt tokens goushi prefills")
	flag.StringVar(&shapes, "shapes", "4096,256,4,4,256;8192,512,6,6,384",
		"model shapes V,T,L,H,C separated by semicolons")
	flag.Parse()
	var err error
	if c.shapes, err = parseShapes(shapes); err != nil {
		fmt.Fprintln(os.Stderr, "bench generate:", err)
		os.Exit(2)
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench generate:", err)
		os.Exit(1)
	}
}

func parseShapes(s string) ([]shape, error) {
	var out []shape
	for _, part := range strings.Split(s, ";") {
		var v [5]int
		fields := strings.Split(part, ",")
		if len(fields) != 5 {
			return nil, fmt.Errorf("shape %q: want V,T,L,H,C", part)
		}
		for i, f := range fields {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("shape %q: %q is not a positive integer", part, f)
			}
			v[i] = n
		}
		out = append(out, shape{v[0], v[1], v[2], v[3], v[4]})
	}
	return out, nil
}

// goushiResult is one line of `goushi bench generate --json`.
type goushiResult struct {
	Batch      int     `json:"batch"`
	TokensPerS float64 `json:"tokens_per_s"`
	TTFTms     float64 `json:"ttft_ms"`
}

// precisions are the values of goushi's --weights that the harness runs,
// "" being the default.
var precisions = []string{"", "f16", "f32"}

// goushiBest is the best of every round for one precision.
type goushiBest struct {
	b1, b8 float64 // batch 1 and 8
	ttft1  float64
}

// row is the best of every round for one shape.
type row struct {
	shape     shape
	newTokens int
	torch     float64
	torchSet  string
	envBest   [2]float64   // PyTorch's best per entry of torchEnvs
	goushi    []goushiBest // per entry of precisions
}

func run(c config) error {
	if c.goushi == "" {
		dir, err := os.MkdirTemp("", "goushi-bench-generate")
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
	script := filepath.Join(c.anchors, "gpt_generate_torch.py")
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("peer script: %w; pass -anchors", err)
	}

	envs := torchEnvs()
	var rows []row
	for _, s := range c.shapes {
		r := row{shape: s, newTokens: s.T - c.prompt,
			goushi: make([]goushiBest, len(precisions))}
		if r.newTokens < 2 {
			return fmt.Errorf("shape %v: context %d leaves no room after the %d-token prompt",
				s, s.T, c.prompt)
		}
		for round := 1; round <= c.rounds; round++ {
			for i, weights := range precisions {
				res, err := runGoushi(c, s, r.newTokens, weights)
				if err != nil {
					return err
				}
				best := &r.goushi[i]
				for _, g := range res {
					switch g.Batch {
					case 1:
						best.b1 = max(best.b1, g.TokensPerS)
						best.ttft1 = minPositive(best.ttft1, g.TTFTms)
					case 8:
						best.b8 = max(best.b8, g.TokensPerS)
					}
				}
			}
			for _, threads := range []int{1, 2} {
				for i, env := range envs {
					tps, err := runTorch(c, script, s, r.newTokens, threads, env.vars)
					if err != nil {
						return err
					}
					r.envBest[i] = max(r.envBest[i], tps)
					if tps > r.torch {
						r.torch = tps
						r.torchSet = fmt.Sprintf("%d thread", threads)
						if threads > 1 {
							r.torchSet += "s"
						}
						r.torchSet += ", " + env.name
					}
				}
			}
			fmt.Fprintf(os.Stderr, "%v round %d: best so far goushi %.0f (f16 %.0f, "+
				"f32 %.0f), torch %.0f tokens/s\n", s, round, r.goushi[0].b1, r.goushi[1].b1,
				r.goushi[2].b1, r.torch)
		}
		rows = append(rows, r)
	}

	fmt.Printf("Generation, %s, %s, %d rounds, a %d-token prompt, then T-%d new tokens\n\n",
		time.Now().UTC().Format("2006-01-02"), cpuModel(), c.rounds, c.prompt, c.prompt)
	fmt.Println("| shape | PyTorch batch 1 (best setting) | weights | goushi batch 1 | ratio | " +
		"goushi batch 8 | time to first token, batch 1 |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, r := range rows {
		for i, g := range r.goushi {
			peer, name := "", precisions[i]
			if i == 0 {
				peer = fmt.Sprintf("%.0f tokens/s (%s)", r.torch, r.torchSet)
				name = "default"
			}
			fmt.Printf("| %v | %s | %s | %.0f tokens/s | %.2fx | %.0f tokens/s | %.1f ms |\n",
				r.shape, peer, name, g.b1, g.b1/r.torch, g.b8, g.ttft1)
		}
	}
	fmt.Println()
	if k := os.Getenv("GOUSHI_KERNELS"); k != "" {
		fmt.Printf("goushi ran with GOUSHI_KERNELS=%s.\n", k)
	}
	if len(envs) == 1 {
		fmt.Printf("PyTorch ran in the environment as inherited: it sets none of %s.\n",
			strings.Join(blasOverrides, ", "))
		return nil
	}
	for _, r := range rows {
		won := envs[0].name
		if r.envBest[1] > r.envBest[0] {
			won = envs[1].name
		}
		fmt.Printf("%v: PyTorch's best was %.0f tokens/s %s and %.0f tokens/s %s; "+
			"%s won.\n", r.shape, r.envBest[0], envs[0].name, r.envBest[1], envs[1].name, won)
	}
	return nil
}

// blasOverrides are the variables that, when the environment sets them,
// fix the OpenBLAS core type and cache size instead of letting OpenBLAS
// detect them.
var blasOverrides = []string{"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"}

// torchEnv is an environment for the PyTorch child.
type torchEnv struct {
	name string
	vars []string
}

// torchEnvs returns the environment as inherited and, when it sets any of
// blasOverrides, the same environment without them.
func torchEnvs() []torchEnv {
	inherited := torchEnv{name: "environment as is", vars: os.Environ()}
	var cleaned []string
	var removed []string
	for _, kv := range inherited.vars {
		name, _, _ := strings.Cut(kv, "=")
		if slices.Contains(blasOverrides, name) {
			removed = append(removed, kv)
			continue
		}
		cleaned = append(cleaned, kv)
	}
	if len(removed) == 0 {
		return []torchEnv{inherited}
	}
	inherited.name = "with " + strings.Join(removed, " ")
	names := make([]string, len(removed))
	for i, kv := range removed {
		names[i], _, _ = strings.Cut(kv, "=")
	}
	return []torchEnv{inherited, {name: "without " + strings.Join(names, " "), vars: cleaned}}
}

func minPositive(a, b float64) float64 {
	if a == 0 || b < a {
		return b
	}
	return a
}

// runGoushi runs one round of `goushi bench generate` at batch 1 and 8
// with the given weight precision ("" for the default).
func runGoushi(c config, s shape, newTokens int, weights string) ([]goushiResult, error) {
	cmd := exec.Command(c.goushi, "bench", "generate", "--json", "--runs", "1",
		"--weights", weights,
		"--batches", "1,8", "--new-tokens", strconv.Itoa(newTokens),
		"--prompt-tokens", strconv.Itoa(c.prompt),
		"--vocab", strconv.Itoa(s.V), "--ctx", strconv.Itoa(s.T), "--layers", strconv.Itoa(s.L),
		"--heads", strconv.Itoa(s.H), "--embd", strconv.Itoa(s.C))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("goushi bench generate %v: %w", s, err)
	}
	var res []goushiResult
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var g goushiResult
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			return nil, fmt.Errorf("goushi output %q: %w", sc.Text(), err)
		}
		res = append(res, g)
	}
	return res, nil
}

var torchRate = regexp.MustCompile(`: (\d+) tokens/s generated`)

// runTorch runs the PyTorch script once in the environment env with
// threads intra-op threads and as many OpenBLAS threads.
func runTorch(c config, script string, s shape, newTokens, threads int,
	env []string) (float64, error) {
	cmd := exec.Command(c.python, script, strconv.Itoa(s.V), strconv.Itoa(s.T),
		strconv.Itoa(s.L), strconv.Itoa(s.H), strconv.Itoa(s.C), strconv.Itoa(newTokens),
		strconv.Itoa(threads))
	cmd.Env = append(slices.Clip(env), "OPENBLAS_NUM_THREADS="+strconv.Itoa(threads),
		"OMP_NUM_THREADS="+strconv.Itoa(threads))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("torch %v: %w", s, err)
	}
	m := torchRate.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("torch %v: no tokens/s in %q", s, out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// cpuModel returns the CPU model name and core count from /proc/cpuinfo.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	name, cores := "unknown CPU", 0
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			switch strings.TrimSpace(k) {
			case "model name":
				name = strings.TrimSpace(v)
			case "processor":
				cores++
			}
		}
	}
	return fmt.Sprintf("%s, %d cores", name, cores)
}
