// Command matmul measures goushi's Gemm against OpenBLAS sgemm (through
// Debian's numpy) on the same shapes and thread counts in one run, and
// writes the ratio table into the Matmul section of BENCHMARKS.md.
//
// Run it from the repository root:
//
//	go run ./bench/matmul
//
// It builds cmd/goushi and, for each shape of 'goushi bench matmul', runs
// goushi and then the numpy peer script, for --rounds rounds. It keeps the
// best GFLOP/s of each row across rounds (the machine may be shared), and
// replaces the text between the matmul markers in BENCHMARKS.md.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// row is one JSON line of 'goushi bench matmul --json' or of the peer.
type row struct {
	Batch   int     `json:"batch,omitempty"`
	M       int     `json:"m"`
	N       int     `json:"n"`
	K       int     `json:"k"`
	Op      string  `json:"op"`
	Kernel  string  `json:"kernel,omitempty"`
	Threads int     `json:"threads,omitempty"`
	GFLOPS  float64 `json:"gflops"`
	Shape   string  `json:"shape,omitempty"`
}

type shapeKey struct {
	batch, m, n, k int
	op             string
}

type resultKey struct {
	shape   shapeKey
	kernel  string // "openblas" for the peer
	threads int
}

const (
	beginMarker = "<!-- matmul:begin (written by go run ./bench/matmul) -->"
	endMarker   = "<!-- matmul:end -->"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/matmul:", err)
		os.Exit(1)
	}
}

func run() error {
	python := flag.String("python", "/usr/bin/python3",
		"Python interpreter that sees Debian's python3-numpy")
	peer := flag.String("peer", "bench/matmul/sgemm_peer.py", "numpy peer script")
	kernels := flag.String("kernels", "", "goushi kernel paths (default: every SIMD path here)")
	rounds := flag.Int("rounds", 3, "rounds over all shapes; the best call of each row counts")
	minTime := flag.Duration("min-time", 300*time.Millisecond, "time spent on each row")
	shapes := flag.String("shapes", "square,gpt,gemv", "shape sets: square, gpt, gemv")
	out := flag.String("out", "BENCHMARKS.md", "file whose Matmul section is replaced")
	dryRun := flag.Bool("n", false, "print the section instead of writing it")
	flag.Parse()
	if *rounds < 1 {
		return fmt.Errorf("--rounds %d must be at least 1", *rounds)
	}

	dir, err := os.MkdirTemp("", "goushi-bench-matmul")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "goushi")
	build := exec.Command("go", "build", "-o", bin, "./cmd/goushi")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building cmd/goushi failed: %w (run from the repository root)", err)
	}

	threads := runtime.GOMAXPROCS(0)
	threadList := []int{1, threads}
	args := []string{"bench", "matmul", "--json", "--peak=false", "--min-time", minTime.String(),
		"--threads", "1," + strconv.Itoa(threads)}
	if *kernels != "" {
		args = append(args, "--kernels", *kernels)
	} else {
		paths, err := simdPaths(bin)
		if err != nil {
			return err
		}
		args = append(args, "--kernels", strings.Join(paths, ","))
	}
	shapeList, err := runGoushi(bin, []string{"bench", "matmul", "--list", "--shapes", *shapes})
	if err != nil {
		return err
	}

	// Each shape runs on goushi and then on the peer before the next shape
	// starts, so that both sides of a ratio see the same load on a shared
	// machine. Rounds repeat the whole list, and the best call counts.
	loadBefore := loadAverage()
	best := map[resultKey]float64{}
	var order []row // goushi rows in output order, from the first round
	for r := 0; r < *rounds; r++ {
		fmt.Fprintf(os.Stderr, "round %d/%d\n", r+1, *rounds)
		for _, s := range shapeList {
			spec := fmt.Sprintf("%d,%d,%d,%s,%d", s.M, s.N, s.K, s.Op, max(s.Batch, 1))
			rows, err := runGoushi(bin, append(args, "--shape", spec))
			if err != nil {
				return err
			}
			if r == 0 {
				order = append(order, rows...)
			}
			for _, x := range rows {
				keep(best, resultKey{key(x), x.Kernel, x.Threads}, x.GFLOPS)
			}
			for _, t := range threadList {
				prow, err := runPeer(*python, *peer, []row{s}, t, *minTime)
				if err != nil {
					return err
				}
				for _, x := range prow {
					keep(best, resultKey{key(x), "openblas", t}, x.GFLOPS)
				}
			}
		}
	}
	load := fmt.Sprintf("%s before, %s after", loadBefore, loadAverage())

	section := render(order, best, append(args, "--shapes", *shapes), *python,
		peerCore(*python, *peer), *rounds, load)
	if *dryRun {
		fmt.Print(section)
		return nil
	}
	return replaceSection(*out, section)
}

func key(x row) shapeKey { return shapeKey{x.Batch, x.M, x.N, x.K, x.Op} }

func keep(best map[resultKey]float64, k resultKey, v float64) {
	if v > best[k] {
		best[k] = v
	}
}

// simdPaths returns the kernel paths of this machine other than generic,
// whose pure-Go loops would take minutes on the larger shapes.
func simdPaths(bin string) ([]string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "bench", "matmul", "-h")
	cmd.Stderr = &stderr
	_ = cmd.Run() // -h exits 0 and prints the defaults to stderr
	for _, line := range strings.Split(stderr.String(), "\n") {
		if i := strings.Index(line, `(default "`); i >= 0 && strings.Contains(line, "kernel paths") {
			var paths []string
			list := strings.TrimSuffix(line[i+len(`(default "`):], `")`)
			for _, p := range strings.Split(list, ",") {
				if p != "generic" {
					paths = append(paths, p)
				}
			}
			if len(paths) > 0 {
				return paths, nil
			}
		}
	}
	return []string{"generic"}, nil
}

func runGoushi(bin string, args []string) ([]row, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	data, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("goushi %s failed: %w", strings.Join(args, " "), err)
	}
	return parseRows(data)
}

// runPeer times every distinct shape of rows with numpy at the given
// OpenBLAS thread count. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed
// from its environment: some machines set them, and a forced core type can
// hold OpenBLAS to older, slower kernels.
func runPeer(python, script string, rows []row, threads int, minTime time.Duration) ([]row, error) {
	var in bytes.Buffer
	seen := map[shapeKey]bool{}
	for _, x := range rows {
		if seen[key(x)] {
			continue
		}
		seen[key(x)] = true
		fmt.Fprintf(&in, `{"batch":%d,"m":%d,"n":%d,"k":%d,"op":%q}`+"\n",
			x.Batch, x.M, x.N, x.K, x.Op)
	}
	cmd := exec.Command(python, script, "--min-time", strconv.FormatFloat(minTime.Seconds(), 'f', 3, 64))
	cmd.Env = peerEnv(threads)
	cmd.Stdin = &in
	cmd.Stderr = os.Stderr
	data, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("peer %s %s failed: %w (is python3-numpy installed?)", python, script, err)
	}
	return parseRows(data)
}

// peerEnv returns this process's environment for the peer at the given
// OpenBLAS thread count, without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE.
func peerEnv(threads int) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OPENBLAS_CORETYPE=") || strings.HasPrefix(kv, "OPENBLAS_L2_SIZE=") ||
			strings.HasPrefix(kv, "OPENBLAS_NUM_THREADS=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "OPENBLAS_NUM_THREADS="+strconv.Itoa(threads))
}

// peerCore returns the kernel set that OpenBLAS picks in the peer's
// environment, as the peer script reports it.
func peerCore(python, script string) string {
	cmd := exec.Command(python, script, "--core")
	cmd.Env = peerEnv(1)
	out, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func parseRows(data []byte) ([]row, error) {
	var rows []row
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var x row
		if err := json.Unmarshal(sc.Bytes(), &x); err != nil {
			return nil, fmt.Errorf("invalid JSON line %q: %w", sc.Text(), err)
		}
		rows = append(rows, x)
	}
	if len(rows) == 0 {
		return nil, errors.New("no rows in output")
	}
	return rows, sc.Err()
}

// render returns the Markdown between the markers: how the table was made
// and one line per (shape, kernel, threads) with the OpenBLAS ratio.
func render(order []row, best map[resultKey]float64, args []string, python, core string,
	rounds int, load string) string {
	var b strings.Builder
	fmt.Fprintln(&b, beginMarker)
	fmt.Fprintf(&b, "Measured %s on %s (%d cores), Go %s; peer: numpy %s with OpenBLAS "+
		"through %s, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset; OpenBLAS kernels: %s. "+
		"Each shape ran on goushi and then on the peer, in %d rounds; "+
		"each row is the best call over all rounds. Load average (1 min): %s.\n\n",
		time.Now().UTC().Format("2006-01-02"), cpuModel(), runtime.NumCPU(),
		strings.TrimPrefix(runtime.Version(), "go"), numpyVersion(python), python, core, rounds, load)
	fmt.Fprintf(&b, "Command: `go run ./bench/matmul` (goushi side: `goushi %s`)\n\n",
		strings.Join(args, " "))
	fmt.Fprintln(&b, "| shape | batch | m | n | k | op | kernel | threads | goushi GFLOP/s | OpenBLAS GFLOP/s | ratio |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|")
	done := map[resultKey]bool{}
	for _, x := range order {
		k := resultKey{key(x), x.Kernel, x.Threads}
		if done[k] {
			continue
		}
		done[k] = true
		ours := best[k]
		theirs := best[resultKey{key(x), "openblas", x.Threads}]
		ratio := "n/a"
		if theirs > 0 {
			ratio = fmt.Sprintf("%.2fx", ours/theirs)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s | %s | %d | %.1f | %.1f | %s |\n",
			x.Shape, max(x.Batch, 1), x.M, x.N, x.K, x.Op, x.Kernel, x.Threads, ours, theirs, ratio)
	}
	fmt.Fprintln(&b, endMarker)
	return b.String()
}

// loadAverage returns the 1-minute load average: how much other work
// shared the machine during the run.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(data))[0]
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
		}
	}
	return "unknown CPU"
}

func numpyVersion(python string) string {
	out, err := exec.Command(python, "-c", "import numpy; print(numpy.__version__)").Output()
	if err != nil {
		return "(version unknown)"
	}
	return strings.TrimSpace(string(out))
}

// replaceSection swaps the text between the markers in path for section.
// Without markers it puts section under the "## Matmul" heading, or appends
// that heading and section at the end. The file is
// written to a temporary file and renamed, so a failure leaves it intact.
func replaceSection(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	text := string(old)

	i := strings.Index(text, beginMarker)
	j := strings.Index(text, endMarker)
	const heading = "## Matmul\n"
	switch h := strings.Index(text, heading); {
	case i >= 0 && j > i:
		rest := strings.TrimPrefix(text[j+len(endMarker):], "\n")
		text = text[:i] + section + rest
	case h >= 0:
		at := h + len(heading)
		text = text[:at] + "\n" + section + text[at:]
	default:
		text += "\n" + heading + "\n" + section
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), ".benchmarks-*.md")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
