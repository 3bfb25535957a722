package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/corpus"
	"golang.org/x/term"
)

// tokenizerStdout receives the output of `goushi tokenizer`. Tests replace it.
var tokenizerStdout io.Writer = os.Stdout

const tokenizerUsage = `usage:
  goushi tokenizer train --input PATH... --vocab-size N --out FILE
                         [--specials LIST] [--min-frequency N]
  goushi tokenizer encode --tokenizer FILE [--allow-specials] [TEXT]
  goushi tokenizer decode --tokenizer FILE [ID...]
  goushi tokenizer stats --tokenizer FILE PATH
  goushi tokenizer export --format hf --tokenizer FILE --out tokenizer.json

train learns a byte-level BPE from UTF-8 text files. encode prints the ids
of TEXT (or of standard input) separated by spaces; decode writes the bytes
of the ids (or of the ids read from standard input). stats prints bytes and
characters per token on a text file.`

func cmdTokenizer(args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, tokenizerUsage)
		return errors.New("missing subcommand; use train, encode, decode, stats or export")
	}
	sub := map[string]func([]string) error{
		"train":  tokenizerTrain,
		"encode": tokenizerEncode,
		"decode": tokenizerDecode,
		"stats":  tokenizerStats,
		"export": tokenizerExport,
	}
	if run, ok := sub[args[0]]; ok {
		return run(args[1:])
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(os.Stderr, tokenizerUsage)
		return flag.ErrHelp
	}
	return fmt.Errorf("unknown subcommand %q; use train, encode, decode, stats or export", args[0])
}

// parseTokenizerFlags parses flags that may come before, between or after
// positional arguments and returns the positional arguments in order.
func parseTokenizerFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := parseArgs(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// inputPaths is a flag that may be repeated and also collects the
// positional arguments that follow it.
type inputPaths []string

func (p *inputPaths) String() string     { return strings.Join(*p, " ") }
func (p *inputPaths) Set(v string) error { *p = append(*p, v); return nil }

func tokenizerTrain(args []string) error {
	fs := flag.NewFlagSet("tokenizer train", flag.ContinueOnError)
	var inputs inputPaths
	fs.Var(&inputs, "input", "UTF-8 text `file` or directory of .txt and .md files to learn "+
		"from; repeat it or list more paths after it")
	vocab := fs.Int("vocab-size", 4096, "total vocabulary size: 256 bytes + merges + specials")
	out := fs.String("out", "", "tokenizer file to write (required)")
	specials := fs.String("specials", bpe.EndOfText, "comma-separated special tokens, in id order")
	minFreq := fs.Int("min-frequency", 2, "smallest pair count that is still merged")
	rest, err := parseTokenizerFlags(fs, args)
	if err != nil {
		return err
	}
	inputs = append(inputs, rest...)
	if len(inputs) == 0 {
		return errors.New("missing --input; name at least one text file")
	}
	if *out == "" {
		return errors.New("missing --out; name the tokenizer file to write")
	}
	if *minFreq < 1 {
		return fmt.Errorf("--min-frequency %d is below 1; use 1 or more", *minFreq)
	}
	specialList := splitSpecials(*specials)
	// Checked before the inputs are read, which can take a while.
	if need := 256 + len(specialList); *vocab < need {
		return fmt.Errorf("--vocab-size %d is below the 256 byte tokens plus %d specials; "+
			"use %d or more", *vocab, len(specialList), need)
	}

	files, err := expandInputs(inputs)
	if err != nil {
		return err
	}
	texts := make([]string, 0, len(files))
	total := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read input: %w", err)
		}
		if err := checkUTF8(path, data); err != nil {
			return err
		}
		texts = append(texts, string(data))
		total += len(data)
	}
	if total == 0 && len(files) == 1 {
		return fmt.Errorf("input file %s is empty; give text to learn from", files[0])
	}
	if total == 0 {
		return fmt.Errorf("all %d input files are empty (the first is %s); "+
			"give text to learn from", len(files), files[0])
	}
	opts := bpe.TrainOptions{
		VocabSize:    *vocab,
		Specials:     specialList,
		MinFrequency: *minFreq,
	}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		opts.Progress = os.Stderr
	} else {
		opts.OnMerges = logMerges(10 * time.Second)
	}
	slog.Info("training tokenizer", "files", len(files), "bytes", total, "vocab_size", *vocab)
	start := time.Now()
	tok, err := trainLowMemory(texts, opts)
	if err != nil {
		return err
	}
	if err := tok.Save(*out); err != nil {
		return err
	}
	slog.Info("tokenizer written", "path", *out, "vocab_size", tok.VocabSize(),
		"merges", len(tok.Merges()), "seconds", time.Since(start).Seconds())
	return nil
}

// logMerges returns a bpe.TrainOptions.OnMerges function that logs the
// merge count at most once per interval, and when all merges are done.
func logMerges(interval time.Duration) func(done, total int) {
	last := time.Now()
	return func(done, total int) {
		if done < total && time.Since(last) < interval {
			return
		}
		last = time.Now()
		slog.Info("bpe merges", "done", done, "total", total)
	}
}

// trainLowMemory runs bpe.Train with the garbage collector at GOGC=50
// unless the GOGC environment variable is set. Most of the trainer's heap
// lives until the end, so the default GOGC=100 lets the process grow to
// about twice that.
func trainLowMemory(texts []string, opts bpe.TrainOptions) (*bpe.Tokenizer, error) {
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(50))
	}
	return bpe.Train(texts, opts)
}

// expandInputs replaces each directory in paths by the .txt and .md files
// under it, in lexical order.
func expandInputs(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read input: %w", err)
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		before := len(files)
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if ext := filepath.Ext(path); !d.IsDir() && (ext == ".txt" || ext == ".md") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read input directory: %w", err)
		}
		if len(files) == before {
			return nil, fmt.Errorf("input directory %s has no .txt or .md files", p)
		}
	}
	return files, nil
}

// checkUTF8 returns an error naming path and the offset of the first
// invalid UTF-8 byte in data, or nil when data is valid UTF-8. The
// tokenizer learns and measures bytes, so text in GBK or another legacy
// encoding would give a tokenizer for the wrong bytes.
func checkUTF8(path string, data []byte) error {
	if utf8.Valid(data) {
		return nil
	}
	off := 0
	for off < len(data) {
		r, size := utf8.DecodeRune(data[off:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		off += size
	}
	return fmt.Errorf("%s is not UTF-8: invalid byte 0x%02x at byte offset %d; convert it "+
		"first, e.g. iconv -f GBK -t UTF-8, or add it to a store with goushi data add, "+
		"which converts GB18030, Big5 and UTF-16", path, data[off], off)
}

// splitSpecials parses a comma-separated list, dropping empty items.
func splitSpecials(list string) []string {
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// loadTokenizerFlag returns the tokenizer named by a required --tokenizer.
func loadTokenizerFlag(path string) (*bpe.Tokenizer, error) {
	if path == "" {
		return nil, errors.New("missing --tokenizer; name a file written by 'goushi tokenizer train'")
	}
	return bpe.Load(path)
}

func tokenizerEncode(args []string) error {
	fs := flag.NewFlagSet("tokenizer encode", flag.ContinueOnError)
	path := fs.String("tokenizer", "", "tokenizer file (required)")
	allow := fs.Bool("allow-specials", false, "encode special-token text as special ids")
	rest, err := parseTokenizerFlags(fs, args)
	if err != nil {
		return err
	}
	tok, err := loadTokenizerFlag(*path)
	if err != nil {
		return err
	}

	text := strings.Join(rest, " ")
	if len(rest) == 0 {
		data, err := io.ReadAll(os.Stdin)
		if err != nil {
			return fmt.Errorf("read standard input: %w", err)
		}
		text = string(data)
	}

	var ids []int
	if *allow {
		ids = tok.EncodeWithSpecials(text, tok.Specials())
	} else {
		ids = tok.Encode(text)
	}

	w := bufio.NewWriter(tokenizerStdout)
	for i, id := range ids {
		if i > 0 {
			w.WriteByte(' ')
		}
		w.WriteString(strconv.Itoa(id))
	}
	w.WriteByte('\n')
	return w.Flush()
}

func tokenizerDecode(args []string) error {
	fs := flag.NewFlagSet("tokenizer decode", flag.ContinueOnError)
	path := fs.String("tokenizer", "", "tokenizer file (required)")
	rest, err := parseTokenizerFlags(fs, args)
	if err != nil {
		return err
	}
	tok, err := loadTokenizerFlag(*path)
	if err != nil {
		return err
	}
	fields := rest
	if len(rest) == 0 {
		data, err := io.ReadAll(os.Stdin)
		if err != nil {
			return fmt.Errorf("read standard input: %w", err)
		}
		fields = strings.Fields(string(data))
	}
	ids := make([]int, len(fields))
	for i, f := range fields {
		id, err := strconv.Atoi(f)
		if err != nil || id < 0 || id >= tok.VocabSize() {
			return fmt.Errorf("invalid token id %q; ids run from 0 to %d", f, tok.VocabSize()-1)
		}
		ids[i] = id
	}
	_, err = tokenizerStdout.Write(tok.Decode(ids))
	return err
}

func tokenizerStats(args []string) error {
	fs := flag.NewFlagSet("tokenizer stats", flag.ContinueOnError)
	path := fs.String("tokenizer", "", "tokenizer file (required)")
	rest, err := parseTokenizerFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return fmt.Errorf("want one text file after the flags, got %d arguments", len(rest))
	}
	tok, err := loadTokenizerFlag(*path)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(rest[0])
	if err != nil {
		return fmt.Errorf("read text: %w", err)
	}
	if len(data) == 0 {
		return fmt.Errorf("text file %s is empty; name a file with text to measure", rest[0])
	}
	if err := checkUTF8(rest[0], data); err != nil {
		return err
	}

	text := string(data)
	start := time.Now()
	ids := tok.Encode(text)
	secs := time.Since(start).Seconds()

	chars := utf8.RuneCountInString(text)
	fmt.Fprintf(tokenizerStdout, "file             %s\n", rest[0])
	fmt.Fprintf(tokenizerStdout, "bytes            %d\n", len(data))
	fmt.Fprintf(tokenizerStdout, "characters       %d\n", chars)
	fmt.Fprintf(tokenizerStdout, "tokens           %d\n", len(ids))
	if len(ids) > 0 {
		fmt.Fprintf(tokenizerStdout, "bytes/token      %.3f\n", float64(len(data))/float64(len(ids)))
		fmt.Fprintf(tokenizerStdout, "characters/token %.3f\n", float64(chars)/float64(len(ids)))
	}
	fmt.Fprintf(tokenizerStdout, "encode MB/s      %.1f\n", float64(len(data))/1e6/secs)
	return nil
}

func tokenizerExport(args []string) error {
	fs := flag.NewFlagSet("tokenizer export", flag.ContinueOnError)
	path := fs.String("tokenizer", "", "tokenizer file (required)")
	format := fs.String("format", "hf", "output format; only hf (Hugging Face tokenizer.json)")
	out := fs.String("out", "", "file to write (required)")
	if _, err := parseTokenizerFlags(fs, args); err != nil {
		return err
	}
	if *format != "hf" {
		return fmt.Errorf("unknown --format %q; use hf", *format)
	}
	if *out == "" {
		return errors.New("missing --out; name the tokenizer.json to write")
	}
	tok, err := loadTokenizerFlag(*path)
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := tok.WriteHFJSON(&b); err != nil {
		return err
	}
	return saveFileAtomic(*out, []byte(b.String()))
}

// saveFileAtomic writes data to a new temporary file beside path, syncs
// it and renames it over path, so readers see the old file or the whole
// new one. Each writer gets its own temporary name, so two exports to the
// same path do not write into one file.
func saveFileAtomic(path string, data []byte) error {
	if err := corpus.WriteFileAtomic(path, data); err != nil {
		return writeError(path, err)
	}
	return nil
}

// writeError reports a failed saveFileAtomic under the target path, with
// the cause but without the temporary file name the user never gave.
func writeError(path string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return fmt.Errorf("write %s: %w; check that the folder %s exists and is writable",
		path, err, filepath.Dir(path))
}
