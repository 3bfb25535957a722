package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goushi/goushi/bpe"
)

// tokenizerBenchResult is the output of 'goushi bench tokenizer'.
type tokenizerBenchResult struct {
	CorpusBytes   int     `json:"corpus_bytes"`
	VocabSize     int     `json:"vocab_size"`
	TrainSeconds  float64 `json:"train_seconds"`
	EncodeMBps    float64 `json:"encode_mb_per_s"`
	HeldoutBytes  int     `json:"heldout_bytes,omitempty"`
	CharsPerToken float64 `json:"heldout_chars_per_token,omitempty"`
	Threads       int     `json:"threads"`
}

// benchTokenizerStderr receives the help of `goushi bench tokenizer`.
var benchTokenizerStderr io.Writer = os.Stderr

const benchTokenizerUsage = `usage: goushi bench tokenizer --corpus FILE [--vocab-size N] [--heldout FILE]
       [--out FILE] [--json]

Trains a byte-level BPE tokenizer on the corpus with all threads and
reports the training time, the encoding speed (the best of three passes
over the whole corpus) and, with --heldout, the characters per token on
held-out text.

Flags:`

func benchTokenizer(args []string) error {
	fs := flag.NewFlagSet("bench tokenizer", flag.ContinueOnError)
	fs.SetOutput(benchTokenizerStderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), benchTokenizerUsage)
		fs.PrintDefaults()
	}
	corpusPath := fs.String("corpus", "", "UTF-8 text file to train on and encode (required)")
	heldout := fs.String("heldout", "", "UTF-8 text file for characters per token (optional)")
	vocab := fs.Int("vocab-size", 16000, "vocabulary size to train")
	out := fs.String("out", "", "also save the trained tokenizer to this file")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if *corpusPath == "" {
		return errors.New("missing --corpus; name a UTF-8 text file of a few MB or more")
	}
	data, err := os.ReadFile(*corpusPath)
	if err != nil {
		return fmt.Errorf("read corpus: %w", err)
	}
	if err := checkUTF8(*corpusPath, data); err != nil {
		return err
	}
	text := string(data)
	data = nil

	res := tokenizerBenchResult{CorpusBytes: len(text), Threads: runtime.GOMAXPROCS(0)}
	start := time.Now()
	tok, err := trainLowMemory([]string{text}, bpe.TrainOptions{
		VocabSize: *vocab, Specials: []string{bpe.EndOfText},
	})
	if err != nil {
		return err
	}
	res.TrainSeconds = time.Since(start).Seconds()
	res.VocabSize = tok.VocabSize()
	if *out != "" {
		if err := tok.Save(*out); err != nil {
			return err
		}
	}

	// Encoding speed: the best of three passes over the whole corpus.
	best := 0.0
	for range 3 {
		start = time.Now()
		tok.Encode(text)
		best = max(best, float64(len(text))/1e6/time.Since(start).Seconds())
	}
	res.EncodeMBps = best

	if *heldout != "" {
		h, err := os.ReadFile(*heldout)
		if err != nil {
			return fmt.Errorf("read held-out text: %w", err)
		}
		ids := tok.Encode(string(h))
		res.HeldoutBytes = len(h)
		if len(ids) > 0 {
			res.CharsPerToken = float64(utf8.RuneCount(h)) / float64(len(ids))
		}
	}

	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "corpus            %d bytes, %d threads\n", res.CorpusBytes, res.Threads)
	fmt.Fprintf(&b, "train             %.2f s to vocab %d\n", res.TrainSeconds, res.VocabSize)
	fmt.Fprintf(&b, "encode            %.1f MB/s\n", res.EncodeMBps)
	if res.HeldoutBytes > 0 {
		fmt.Fprintf(&b, "held-out          %.3f characters/token on %d bytes\n",
			res.CharsPerToken, res.HeldoutBytes)
	}
	_, err = fmt.Print(b.String())
	return err
}
