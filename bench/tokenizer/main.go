//go:build linux

// Command tokenizer measures goushi's BPE tokenizer beside SentencePiece
// (spm_train, spm_encode) and Hugging Face tokenizers (npm `tokenizers`,
// Rust core) on the same Chinese corpus, and prints a Markdown report with
// the ratios.
//
// The corpus is the chinese-poetry JSON flattened to text plus the
// project's own .txt corpus. Every 20th document is held out for the
// compression figure. The rest is repeated until it reaches -min-mb, and
// all three trainers read that same file. Peak memory is the maximum RSS of
// each child process (getrusage), so the command is Linux only.
//
// Example:
//
//	D=$(mktemp -d); npm install --prefix $D tokenizers@0.23.2
//	go run ./bench/tokenizer -node-modules $D/node_modules
package main

import (
	"bufio"
	"bytes"
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
	"unicode/utf8"

	"github.com/goushi/goushi/bpe"
)

type config struct {
	poetry, extra, anchors, nodeModules, work, goushi string
	minMB, heldoutEvery, vocab, hfVocab               int
	skipSPM, skipHF                                   bool
}

func main() {
	var c config
	flag.StringVar(&c.poetry, "poetry", "/work/shared/data/chinese-poetry-2.0.1",
		"chinese-poetry folder of .json files")
	flag.StringVar(&c.extra, "extra", "corpus/embedded/chouxiang",
		"folder of the project's .txt corpus files added to the corpus")
	flag.StringVar(&c.anchors, "anchors", "/work/shared/anchors",
		"folder of the peer scripts hf_bpe_train.cjs and hf_bpe_encode.cjs")
	flag.StringVar(&c.nodeModules, "node-modules", "", "node_modules folder with tokenizers@0.23.2")
	flag.StringVar(&c.work, "work", "", "folder for the corpus and models (default: a temp dir)")
	flag.StringVar(&c.goushi, "goushi", "", "goushi binary (default: go build ./cmd/goushi)")
	flag.IntVar(&c.minMB, "min-mb", 20, "repeat the training corpus up to this many MB")
	flag.IntVar(&c.heldoutEvery, "heldout-every", 20, "hold out every Nth document")
	flag.IntVar(&c.vocab, "vocab", 16000, "vocabulary size compared with SentencePiece")
	flag.IntVar(&c.hfVocab, "hf-vocab", 30000, "vocabulary size of the Hugging Face trainer")
	flag.BoolVar(&c.skipSPM, "skip-spm", false, "skip SentencePiece")
	flag.BoolVar(&c.skipHF, "skip-hf", false, "skip Hugging Face tokenizers")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench tokenizer:", err)
		os.Exit(1)
	}
}

// measurement is one child process: wall time and peak RSS.
type measurement struct {
	seconds float64
	rssMB   float64
	stdout  string
}

// measure runs a command with stdin from the file stdin (if not empty) and
// returns its wall time, peak RSS and standard output.
func measure(stdin string, name string, args ...string) (measurement, error) {
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		f, err := os.Open(stdin)
		if err != nil {
			return measurement{}, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	start := time.Now()
	err := cmd.Run()
	secs := time.Since(start).Seconds()
	if err != nil {
		return measurement{}, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err,
			tail(errb.String(), 2000))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return measurement{seconds: secs, rssMB: float64(ru.Maxrss) / 1024, stdout: out.String()}, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func run(c config) error {
	if c.work == "" {
		dir, err := os.MkdirTemp("", "goushi-bench-tokenizer-")
		if err != nil {
			return err
		}
		c.work = dir
	}
	if c.goushi == "" {
		c.goushi = filepath.Join(c.work, "goushi")
		if out, err := exec.Command("go", "build", "-o", c.goushi, "./cmd/goushi").
			CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/goushi: %w\n%s", err, out)
		}
	}
	corpusPath := filepath.Join(c.work, "corpus.txt")
	heldoutPath := filepath.Join(c.work, "heldout.txt")
	corpusBytes, heldoutChars, err := buildCorpus(c, corpusPath, heldoutPath)
	if err != nil {
		return err
	}
	mb := float64(corpusBytes) / 1e6
	r := &report{corpusMB: mb, heldoutChars: heldoutChars}
	fmt.Fprintf(os.Stderr, "corpus %.1f MB in %s\n", mb, c.work)

	if err := runGoushi(c, r, corpusPath, heldoutPath); err != nil {
		return err
	}
	if !c.skipSPM {
		if err := runSPM(c, r, corpusPath, heldoutPath); err != nil {
			return err
		}
	}
	if !c.skipHF {
		if err := runHF(c, r, corpusPath, heldoutPath); err != nil {
			return err
		}
	}
	if err := measureEncoding(r); err != nil {
		return err
	}
	r.print(c)
	return nil
}

// encodeRounds is the number of encoding passes per system. The passes
// of all systems alternate, so a change in machine load during the run
// hits them alike, and the best pass of each counts.
const encodeRounds = 3

func measureEncoding(r *report) error {
	for round := 1; round <= encodeRounds; round++ {
		fmt.Fprintf(os.Stderr, "encoding round %d of %d\n", round, encodeRounds)
		for i := range r.rows {
			speed, err := r.rows[i].encode()
			if err != nil {
				return err
			}
			r.rows[i].encodeMBps = max(r.rows[i].encodeMBps, speed)
		}
	}
	return nil
}

// buildCorpus writes the training corpus and the held-out text and returns
// the corpus size in bytes and the held-out size in characters.
func buildCorpus(c config, corpusPath, heldoutPath string) (int, int, error) {
	docs, err := flattenJSONDir(c.poetry)
	if err != nil {
		return 0, 0, err
	}
	extra, _ := filepath.Glob(filepath.Join(c.extra, "*.txt"))
	slices.Sort(extra)
	for _, p := range extra {
		data, err := os.ReadFile(p)
		if err != nil {
			return 0, 0, err
		}
		docs = append(docs, string(data))
	}

	var train, held []string
	for i, d := range docs {
		if i%c.heldoutEvery == c.heldoutEvery-1 {
			held = append(held, d)
		} else {
			train = append(train, d)
		}
	}
	once := strings.Join(train, "\n\n") + "\n"
	var b strings.Builder
	for b.Len() < c.minMB*1_000_000 {
		b.WriteString(once)
	}

	heldText := strings.Join(held, "\n\n") + "\n"
	if err := os.WriteFile(corpusPath, []byte(b.String()), 0o644); err != nil {
		return 0, 0, err
	}
	if err := os.WriteFile(heldoutPath, []byte(heldText), 0o644); err != nil {
		return 0, 0, err
	}
	return b.Len(), utf8.RuneCountInString(heldText), nil
}

// report collects the figures of all systems.
type report struct {
	corpusMB     float64
	heldoutChars int
	rows         []row
	hfAgree      []string
}

type row struct {
	system        string
	vocab         int
	train         measurement
	encodeMBps    float64
	charsPerToken float64
	encode        func() (float64, error) // one encoding pass over the corpus, in MB/s
}

func (r *report) find(prefix string, vocab int) (row, bool) {
	for _, x := range r.rows {
		if strings.HasPrefix(x.system, prefix) && x.vocab == vocab {
			return x, true
		}
	}
	return row{}, false
}

var statsLine = regexp.MustCompile(`(?m)^(characters/token|encode MB/s)\s+([0-9.]+)$`)

// goushiStats runs 'goushi tokenizer stats' and returns its figure name.
func goushiStats(c config, model, text, name string) (float64, error) {
	m, err := measure("", c.goushi, "tokenizer", "stats", "--tokenizer", model, text)
	if err != nil {
		return 0, err
	}
	for _, g := range statsLine.FindAllStringSubmatch(m.stdout, -1) {
		if g[1] == name {
			return strconv.ParseFloat(g[2], 64)
		}
	}
	return 0, fmt.Errorf("goushi tokenizer stats printed no %q line:\n%s", name, m.stdout)
}

func runGoushi(c config, r *report, corpusPath, heldoutPath string) error {
	for _, v := range []int{c.vocab, c.hfVocab} {
		model := filepath.Join(c.work, fmt.Sprintf("goushi-%d.bpe", v))
		fmt.Fprintf(os.Stderr, "goushi train vocab %d\n", v)
		m, err := measure("", c.goushi, "tokenizer", "train", "--input", corpusPath,
			"--vocab-size", strconv.Itoa(v), "--out", model)
		if err != nil {
			return err
		}
		x := row{system: "goushi", vocab: v, train: m}
		x.encode = func() (float64, error) {
			return goushiStats(c, model, corpusPath, "encode MB/s")
		}
		if x.charsPerToken, err = goushiStats(c, model, heldoutPath, "characters/token"); err != nil {
			return err
		}
		r.rows = append(r.rows, x)
	}
	return nil
}

func runSPM(c config, r *report, corpusPath, heldoutPath string) error {
	prefix := filepath.Join(c.work, "spm")
	fmt.Fprintf(os.Stderr, "spm_train vocab %d\n", c.vocab)
	m, err := measure("", "spm_train", "--input="+corpusPath, "--model_prefix="+prefix,
		"--vocab_size="+strconv.Itoa(c.vocab), "--model_type=bpe", "--byte_fallback=true",
		"--character_coverage=0.9995", "--input_sentence_size=100000000",
		"--num_threads="+strconv.Itoa(runtime.NumCPU()))
	if err != nil {
		return err
	}
	x := row{system: "SentencePiece", vocab: c.vocab, train: m}
	x.encode = func() (float64, error) {
		e, err := measure(corpusPath, "spm_encode", "--model="+prefix+".model",
			"--output_format=id")
		return r.corpusMB / e.seconds, err
	}
	e, err := measure(heldoutPath, "spm_encode", "--model="+prefix+".model", "--output_format=id")
	if err != nil {
		return err
	}
	if n := len(strings.Fields(e.stdout)); n > 0 {
		x.charsPerToken = float64(r.heldoutChars) / float64(n)
	}
	r.rows = append(r.rows, x)
	return nil
}

var hfTrainLine = regexp.MustCompile(`train: ([0-9.]+) s, vocab (\d+)`)
var hfEncodeLine = regexp.MustCompile(`encodeBatch: ([0-9.]+) MB/s, ([0-9.]+) chars/token`)

func runHF(c config, r *report, corpusPath, heldoutPath string) error {
	if c.nodeModules == "" {
		return fmt.Errorf("missing -node-modules; install the peer with " +
			"'npm install --prefix DIR tokenizers@0.23.2' and pass DIR/node_modules, or use -skip-hf")
	}
	os.Setenv("NODE_PATH", c.nodeModules)
	hfJSON := filepath.Join(c.work, "hf.json")
	fmt.Fprintf(os.Stderr, "hf tokenizers train\n")
	m, err := measure("", "node", filepath.Join(c.anchors, "hf_bpe_train.cjs"), corpusPath, hfJSON)
	if err != nil {
		return err
	}
	g := hfTrainLine.FindStringSubmatch(m.stdout)
	if g == nil {
		return fmt.Errorf("hf_bpe_train.cjs printed no time: %q", m.stdout)
	}
	vocab, _ := strconv.Atoi(g[2])
	x := row{system: "HF tokenizers", vocab: vocab, train: m}
	x.train.seconds, _ = strconv.ParseFloat(g[1], 64) // the script's own timer skips node start-up
	encode := func(text string) ([]string, error) {
		e, err := measure("", "node", filepath.Join(c.anchors, "hf_bpe_encode.cjs"), hfJSON, text)
		if err != nil {
			return nil, err
		}
		g := hfEncodeLine.FindStringSubmatch(e.stdout)
		if g == nil {
			return nil, fmt.Errorf("hf_bpe_encode.cjs printed no speed: %q", e.stdout)
		}
		return g, nil
	}
	x.encode = func() (float64, error) {
		g, err := encode(corpusPath)
		if err != nil {
			return 0, err
		}
		return strconv.ParseFloat(g[1], 64)
	}
	g, err = encode(heldoutPath)
	if err != nil {
		return err
	}
	x.charsPerToken, _ = strconv.ParseFloat(g[2], 64)
	r.rows = append(r.rows, x)

	for _, text := range []string{heldoutPath, "bench/tokenizer/mixed.txt"} {
		agree, err := checkHFExport(c, text)
		if err != nil {
			return err
		}
		r.hfAgree = append(r.hfAgree, agree)
	}
	return nil
}

// checkHFExport exports goushi's tokenizer as tokenizer.json, encodes the
// lines of textPath with Hugging Face and counts the lines whose ids equal
// goushi's. mixed.txt beside this file holds English, digits, runs of
// spaces, emoji and full-width forms that the Chinese held-out text lacks.
func checkHFExport(c config, textPath string) (string, error) {
	model := filepath.Join(c.work, fmt.Sprintf("goushi-%d.bpe", c.vocab))
	out := filepath.Join(c.work, "goushi-tokenizer.json")
	if _, err := measure("", c.goushi, "tokenizer", "export", "--format", "hf",
		"--tokenizer", model, "--out", out); err != nil {
		return "", err
	}
	m, err := measure("", "node", "bench/tokenizer/hf_check.cjs", out, textPath)
	if err != nil {
		return "", err
	}

	tok, err := bpe.Load(model)
	if err != nil {
		return "", err
	}
	text, err := os.ReadFile(textPath)
	if err != nil {
		return "", err
	}

	lines := strings.Split(string(text), "\n")
	sc := bufio.NewScanner(strings.NewReader(m.stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	same, shown, i := 0, 0, 0
	for ; sc.Scan() && i < len(lines); i++ {
		want := tok.Encode(lines[i])
		var got []int
		for _, f := range strings.Fields(sc.Text()) {
			id, _ := strconv.Atoi(f)
			got = append(got, id)
		}
		if slices.Equal(got, want) {
			same++
		} else if shown < 3 {
			shown++
			fmt.Fprintf(os.Stderr, "%s line %d encodes differently in HF: %q\n", textPath, i,
				lines[i])
		}
	}
	return fmt.Sprintf("%d of %d lines of %s", same, len(lines), filepath.Base(textPath)), nil
}

func (r *report) print(c config) {
	fmt.Printf("Corpus: %.1f MB for training, %d characters held out; %d CPUs (GOMAXPROCS %d).\n\n",
		r.corpusMB, r.heldoutChars, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Println("| system | vocab | train s | peak RSS MB | encode MB/s | held-out chars/token |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, x := range r.rows {
		fmt.Printf("| %s | %d | %.1f | %.0f | %.1f | %.3f |\n", x.system, x.vocab,
			x.train.seconds, x.train.rssMB, x.encodeMBps, x.charsPerToken)
	}
	fmt.Println()
	g, _ := r.find("goushi", c.vocab)
	if s, ok := r.find("SentencePiece", c.vocab); ok {
		fmt.Printf("- vs SentencePiece at vocab %d: train time %.3fx, peak RSS %.2fx, "+
			"encode speed %.1fx, chars/token %.3f vs %.3f\n", c.vocab,
			g.train.seconds/s.train.seconds, g.train.rssMB/s.train.rssMB,
			g.encodeMBps/s.encodeMBps, g.charsPerToken, s.charsPerToken)
	}
	if h, ok := r.find("HF", c.hfVocab); ok {
		g30, _ := r.find("goushi", c.hfVocab)
		fmt.Printf("- vs HF tokenizers at vocab %d: train time %.3fx, peak RSS %.2fx, "+
			"encode speed %.1fx, chars/token %.3f vs %.3f\n", c.hfVocab,
			g30.train.seconds/h.train.seconds, g30.train.rssMB/h.train.rssMB,
			g30.encodeMBps/h.encodeMBps, g30.charsPerToken, h.charsPerToken)
	}
	for _, agree := range r.hfAgree {
		fmt.Printf("- goushi's tokenizer.json in HF tokenizers gives goushi's ids on %s\n", agree)
	}
}
