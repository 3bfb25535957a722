package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goushi/goushi/tensor"
)

// matmulRow is one measured product; its JSON form is one line of
// 'goushi bench matmul --json'.
type matmulRow struct {
	Batch   int     `json:"batch,omitempty"`
	M       int     `json:"m"`
	N       int     `json:"n"`
	K       int     `json:"k"`
	Op      string  `json:"op"`
	Kernel  string  `json:"kernel"`
	Threads int     `json:"threads"`
	GFLOPS  float64 `json:"gflops"`
	Shape   string  `json:"shape"`
}

// matmulShape is a product C (m, n) = op(A) (m, k) · op(B) (k, n), or batch
// independent ones through GemmBatched when batch > 1.
type matmulShape struct {
	m, n, k int
	op      string // "NN", "NT" or "TN": whether A and B are transposed
	label   string
	batch   int
}

// squareShapes are the square products n = 128..2048.
func squareShapes() []matmulShape {
	var s []matmulShape
	for _, n := range []int{128, 256, 512, 1024, 2048} {
		s = append(s, matmulShape{n, n, n, "NN", "square", 0})
	}
	return s
}

// gptShapes are the products of one training step of the small preset:
// B·T = 2048 rows, C = 256, vocab V = 4096. Each linear layer (in, out) runs
// forward as x·Wᵀ (NT), backward to the input as dY·W (NN) and to the
// weight as dYᵀ·x (TN).
func gptShapes() []matmulShape {
	const rows, c, v = 2048, 256, 4096
	layers := []struct {
		name    string
		in, out int
	}{
		{"qkv", c, 3 * c}, {"attn.proj", c, c}, {"mlp.fc", c, 4 * c},
		{"mlp.proj", 4 * c, c}, {"lm_head", c, v},
	}
	var s []matmulShape
	for _, l := range layers {
		s = append(s,
			matmulShape{rows, l.out, l.in, "NT", l.name + " forward", 0},
			matmulShape{rows, l.in, l.out, "NN", l.name + " dX", 0},
			matmulShape{l.out, l.in, rows, "TN", l.name + " dW", 0})
	}
	// Attention with B = 16 sequences of T = 128 and H = 4 heads of 64:
	// scores Q·Kᵀ and dP = dO·Vᵀ (NT), P·V and dQ = dS·K (NN), and
	// dV = Pᵀ·dO and dK = dSᵀ·Q (TN), 64 products each.
	const heads, t, hd = 64, 128, 64
	return append(s,
		matmulShape{t, t, hd, "NT", "attention Q·Kᵀ", heads},
		matmulShape{t, hd, t, "NN", "attention P·V", heads},
		matmulShape{t, hd, t, "TN", "attention Pᵀ·dO", heads})
}

// gemvShapes are the generation-time products of the small preset: a batch
// of 1, 4 or 8 rows of activations times each nn.Linear weight (out, in),
// the NT form that streams the weight without packing it.
func gemvShapes() []matmulShape {
	const c, v = 256, 4096
	var s []matmulShape
	for _, m := range []int{1, 4, 8} {
		for _, l := range []struct {
			name    string
			in, out int
		}{{"qkv", c, 3 * c}, {"mlp.fc", c, 4 * c}, {"mlp.proj", 4 * c, c}, {"lm_head", c, v}} {
			s = append(s, matmulShape{m, l.out, l.in, "NT", fmt.Sprintf("%s batch %d", l.name, m), 0})
		}
	}
	return s
}

func benchMatmul(args []string) error {
	fs := flag.NewFlagSet("bench matmul", flag.ContinueOnError)
	jsonOut := fs.Bool("json", false, "print one JSON object per row (JSON Lines) instead of a table")
	kernels := fs.String("kernels", strings.Join(tensor.Kernels(), ","),
		"comma-separated kernel paths to measure")
	defaultThreads := "1"
	if w := tensor.Workers(); w > 1 {
		defaultThreads += "," + strconv.Itoa(w)
	}
	threads := fs.String("threads", defaultThreads, "comma-separated thread counts")
	shapes := fs.String("shapes", "square,gpt,gemv",
		"comma-separated shape sets: square, gpt (training step), gemv (generation)")
	minTime := fs.Duration("min-time", 300*time.Millisecond,
		"time spent on each row; the best single call counts")
	peak := fs.Bool("peak", true, "also measure each path's FMA peak and L1 microkernel speed")
	only := fs.String("shape", "",
		"measure only this product, given as m,n,k,op or m,n,k,op,batch (op: NN, NT, TN or TT)")
	list := fs.Bool("list", false, "print the selected shapes as JSON Lines without measuring")
	fs.SetOutput(os.Stderr)
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; bench matmul takes only flags", fs.Arg(0))
	}
	if *minTime <= 0 {
		return fmt.Errorf("--min-time %v must be positive, e.g. 300ms", *minTime)
	}

	kernelList, err := parseKernels(*kernels)
	if err != nil {
		return err
	}
	threadList, err := parseThreads(*threads)
	if err != nil {
		return err
	}
	var shapeList []matmulShape
	for _, name := range strings.Split(*shapes, ",") {
		switch strings.TrimSpace(name) {
		case "square":
			shapeList = append(shapeList, squareShapes()...)
		case "gpt":
			shapeList = append(shapeList, gptShapes()...)
		case "gemv":
			shapeList = append(shapeList, gemvShapes()...)
		default:
			return fmt.Errorf("unknown shape set %q in --shapes; use some of square,gpt,gemv", name)
		}
	}

	if *only != "" {
		s, err := parseShape(*only, shapeList)
		if err != nil {
			return err
		}
		shapeList = []matmulShape{s}
	}
	if *list {
		enc := json.NewEncoder(os.Stdout)
		for _, s := range shapeList {
			row := matmulRow{Batch: s.batch, M: s.m, N: s.n, K: s.k, Op: s.op, Shape: s.label}
			if err := enc.Encode(row); err != nil {
				return err
			}
		}
		return nil
	}

	saved := tensor.KernelName()
	defer tensor.SetKernels(saved) //nolint:errcheck // saved is always supported
	defer tensor.SetThreads(tensor.SetThreads(0))

	out := os.Stdout
	if !*jsonOut {
		printMachine(out)
		if *peak {
			if err := printPeaks(out, kernelList, *minTime); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, rowFormat, "m", "n", "k", "op", "kernel", "threads", "GFLOP/s", "shape")
	}
	enc := json.NewEncoder(out)
	for _, s := range shapeList {
		for _, kern := range kernelList {
			for _, t := range threadList {
				row, err := measureMatmul(s, kern, t, *minTime)
				if err != nil {
					return err
				}
				if *jsonOut {
					if err := enc.Encode(row); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(out, rowFormat, strconv.Itoa(row.M), strconv.Itoa(row.N),
					strconv.Itoa(row.K), row.Op, row.Kernel, strconv.Itoa(row.Threads),
					strconv.FormatFloat(row.GFLOPS, 'f', 1, 64), row.Shape)
			}
		}
	}
	return nil
}

// rowFormat lays out one table row; rows print as they are measured.
const rowFormat = "%6s %6s %6s  %-2s  %-8s %7s %9s  %s\n"

// parseShape reads m,n,k,op[,batch] and labels it after the matching shape
// in known, or "custom".
func parseShape(spec string, known []matmulShape) (matmulShape, error) {
	f := strings.Split(spec, ",")
	bad := fmt.Errorf("invalid --shape %q; use m,n,k,op or m,n,k,op,batch, e.g. 2048,768,256,NT", spec)
	if len(f) != 4 && len(f) != 5 {
		return matmulShape{}, bad
	}
	var dims [4]int
	for i, x := range append(f[:3:3], append(f[4:], "1")[0]) {
		v, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil || v < 1 {
			return matmulShape{}, bad
		}
		dims[i] = v
	}
	op := strings.ToUpper(strings.TrimSpace(f[3]))
	if op != "NN" && op != "NT" && op != "TN" && op != "TT" {
		return matmulShape{}, bad
	}
	s := matmulShape{m: dims[0], n: dims[1], k: dims[2], op: op, label: "custom"}
	if dims[3] > 1 {
		s.batch = dims[3]
	}
	for _, x := range known {
		if x.m == s.m && x.n == s.n && x.k == s.k && x.op == s.op && x.batch == s.batch {
			s.label = x.label
			break
		}
	}
	return s, nil
}

func parseKernels(list string) ([]string, error) {
	var names []string
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if !contains(tensor.Kernels(), name) {
			return nil, fmt.Errorf("kernel path %q in --kernels is not supported here; use some of %s",
				name, strings.Join(tensor.Kernels(), ","))
		}
		names = append(names, name)
	}
	return names, nil
}

func parseThreads(list string) ([]int, error) {
	var counts []int
	for _, f := range strings.Split(list, ",") {
		t, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || t < 1 {
			return nil, fmt.Errorf("thread count %q in --threads is not a positive integer", f)
		}
		if t > tensor.Workers() {
			return nil, fmt.Errorf("thread count %d in --threads exceeds the %d workers (GOMAXPROCS)",
				t, tensor.Workers())
		}
		counts = append(counts, t)
	}
	return counts, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// measureMatmul times one shape on one kernel path and thread count and
// returns the GFLOP/s of the fastest call. Calls repeat until minTime has
// passed (at least two calls, the first a warm-up unless it alone used up
// minTime), so that other load on the machine inflates fewer samples.
func measureMatmul(s matmulShape, kernel string, threads int, minTime time.Duration) (matmulRow, error) {
	if err := tensor.SetKernels(kernel); err != nil {
		return matmulRow{}, err
	}
	tensor.SetThreads(threads)
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = rng.Float32()*2 - 1
		}
		return x
	}
	transA, transB := s.op[0] == 'T', s.op[1] == 'T'
	batch := max(s.batch, 1)
	a, b, c := fill(batch*s.m*s.k), fill(batch*s.k*s.n), make([]float32, batch*s.m*s.n)
	lda, ldb := s.k, s.n
	if transA {
		lda = s.m
	}
	if transB {
		ldb = s.k
	}

	call := func() time.Duration {
		start := time.Now()
		if s.batch > 1 {
			tensor.GemmBatched(transA, transB, s.batch, s.m, s.n, s.k, 1, a, lda, s.m*s.k,
				b, ldb, s.k*s.n, 0, c, s.n, s.m*s.n)
		} else {
			tensor.Gemm(transA, transB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n)
		}
		return time.Since(start)
	}

	best := call()
	if best < minTime {
		best = time.Duration(1 << 62)
		for end := time.Now().Add(minTime); time.Now().Before(end); {
			best = min(best, call())
		}
	}
	flops := 2 * float64(batch) * float64(s.m) * float64(s.n) * float64(s.k)
	return matmulRow{
		Batch: s.batch, M: s.m, N: s.n, K: s.k, Op: s.op, Kernel: kernel, Threads: threads,
		GFLOPS: flops / best.Seconds() / 1e9, Shape: s.label,
	}, nil
}

// printMachine prints the CPU model and core count the table was taken on.
func printMachine(w io.Writer) {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	fmt.Fprintf(w, "machine: %s, %d workers, kernel paths %s\n",
		model, tensor.Workers(), strings.Join(tensor.Kernels(), ", "))
}

// printPeaks prints each path's register-only FMA peak on one core and its
// microkernel speed on L1-resident panels as a share of that peak.
func printPeaks(w io.Writer, kernels []string, d time.Duration) error {
	for _, k := range kernels {
		peak, err := tensor.PeakGFLOPS(k, d)
		if err != nil {
			return err
		}
		micro, err := tensor.MicrokernelGFLOPS(k, d)
		if err != nil {
			return err
		}
		if peak == 0 {
			fmt.Fprintf(w, "%s: microkernel %.1f GFLOP/s on one core (no FMA peak to compare)\n",
				k, micro)
			continue
		}
		fmt.Fprintf(w, "%s: FMA peak %.1f GFLOP/s on one core, microkernel %.1f GFLOP/s (%.0f%%)\n",
			k, peak, micro, 100*micro/peak)
	}
	fmt.Fprintln(w)
	return nil
}
