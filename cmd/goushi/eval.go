package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/corpus"
	"github.com/goushi/goushi/gpt"
)

// evalStdout receives the report of `goushi eval`. Tests replace it.
var evalStdout io.Writer = os.Stdout

const evalUsage = `usage: goushi eval --checkpoint DIR [--json] [--batch N] [--weights auto|f32|f16|q8] FILE...

Reports how well a checkpoint predicts each UTF-8 text file: the mean loss
in nats per token and the bits per byte, which is the loss in bits summed
over all tokens divided by the file's bytes. Bits per byte does not depend
on the tokenizer, so it compares models with different vocabularies. Each
file is scored as one document that starts after <|endoftext|>.

A FILE ending in .tokens is a token file that goushi train wrote, such as
runs/NAME/data/val.tokens, the held-out split of that run: its ids are
scored as they are, and its bytes are those of its documents' text.

With --weights, the tokens go one at a time through the KV cache, the path
that sample and serve take for tokens within the context, with the weights
in that precision: the gap to the plain run is what the precision costs
the model.

Flags:`

// evalFileResult is the report on one file; its JSON form is the --json
// output.
type evalFileResult struct {
	File   string  `json:"file"`
	Bytes  int     `json:"bytes"`
	Tokens int     `json:"tokens"`
	Loss   float64 `json:"loss"` // nats per token
	BPB    float64 `json:"bpb"`
}

func cmdEval(args []string) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, evalUsage)
		fs.PrintDefaults()
	}
	ckDir := fs.String("checkpoint", "", "checkpoint directory, such as runs/NAME/best")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	batch := fs.Int("batch", 8, "windows of the context length scored at once")
	weights := fs.String("weights", "", "score through single-token steps with the weights "+
		"in this precision: auto (what sample uses), f32, f16 or q8, one window at a time, so --batch does not "+
		"apply (default: the training forward pass)")
	files, err := parseTokenizerFlags(fs, args)
	if err != nil {
		return err
	}
	if *ckDir == "" {
		return errors.New("missing --checkpoint DIR; pass a directory written by goushi train")
	}
	if len(files) == 0 {
		return errors.New("missing FILE; name one or more UTF-8 text files to score")
	}
	if *batch <= 0 {
		return fmt.Errorf("--batch %d must be positive", *batch)
	}
	switch gpt.Precision(*weights) {
	case "", "auto", gpt.PrecisionF32, gpt.PrecisionF16, gpt.PrecisionQ8:
	default:
		return fmt.Errorf("--weights %q is unknown; use auto, f32, f16 or q8, or leave it out",
			*weights)
	}
	ck, err := gpt.LoadCheckpoint(*ckDir)
	if err != nil {
		return err
	}

	var results []evalFileResult
	for _, path := range files {
		r, err := evalFile(ck, path, *batch, *weights)
		if err != nil {
			return err
		}
		results = append(results, r)
	}

	if *asJSON {
		enc := json.NewEncoder(evalStdout)
		return enc.Encode(struct {
			Checkpoint string           `json:"checkpoint"`
			Files      []evalFileResult `json:"files"`
		}{*ckDir, results})
	}
	fmt.Fprintf(evalStdout, "%-40s %10s %10s %10s %8s\n", "file", "bytes", "tokens",
		"loss/tok", "bpb")
	for _, r := range results {
		fmt.Fprintf(evalStdout, "%-40s %10d %10d %10.4f %8.4f\n", r.File, r.Bytes, r.Tokens,
			r.Loss, r.BPB)
	}
	return nil
}

// evalFile scores one file. The token stream is <|endoftext|> followed by
// the file's tokens, so every token of the file, the first included, is a
// target and the targets' bytes are exactly the file's bytes.
func evalFile(ck *gpt.Checkpoint, path string, batch int, weights string) (evalFileResult,
	error) {
	if strings.HasSuffix(path, ".tokens") {
		return evalTokenFile(ck, path, batch, weights)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return evalFileResult{}, err
	}
	// A byte order mark is not text: the corpus loaders drop it too.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if len(data) == 0 {
		return evalFileResult{}, fmt.Errorf("%s is empty; give a file with text", path)
	}
	if !utf8.Valid(data) {
		return evalFileResult{}, notUTF8Error(path, data)
	}
	eot, ok := ck.Tokenizer.SpecialID(bpe.EndOfText)
	if !ok {
		return evalFileResult{}, fmt.Errorf("the tokenizer of %s has no %s token",
			ck.Dir, bpe.EndOfText)
	}
	ids := append([]int{eot}, ck.Tokenizer.Encode(string(data))...)
	loss, bpb := evaluate(ck, gpt.IntStream(ids), batch, weights)
	return evalFileResult{File: path, Bytes: len(data), Tokens: len(ids) - 1, Loss: loss,
		BPB: bpb}, nil
}

// evaluate scores ids through the forward pass when weights is empty,
// else through single-token steps with the weights in that precision,
// "auto" being the one that sample and serve use by default.
func evaluate(ck *gpt.Checkpoint, ids gpt.TokenStream, batch int,
	weights string) (loss, bpb float64) {
	if weights == "" {
		return gpt.EvaluateStream(ck.Model, ck.Tokenizer, ids, 0, batch)
	}
	return gpt.EvaluateDecode(ck.Model, ck.Tokenizer, ids, 0, gpt.Precision(weights))
}

// evalTokenFile scores a token file written by goushi train. The file
// records its documents' bytes per style, and these must equal the bytes
// of its ids under the checkpoint's tokenizer. A mismatch means another
// tokenizer wrote the file, so its ids stand for other text.
func evalTokenFile(ck *gpt.Checkpoint, path string, batch int,
	weights string) (evalFileResult, error) {
	if _, err := os.Stat(path + ".json"); err != nil {
		return evalFileResult{}, fmt.Errorf("%s has no %s.json beside it (%v); goushi train "+
			"writes the two together, so copy both", path, filepath.Base(path), err)
	}
	f, err := gpt.OpenTokenFile(path)
	if err != nil {
		return evalFileResult{}, fmt.Errorf("%w; score a token file as goushi train wrote "+
			"it, such as runs/NAME/data/val.tokens with its .json", err)
	}
	defer f.Close()
	if f.Len() < 2 {
		return evalFileResult{}, fmt.Errorf("%s contains %d ids; scoring needs at least 2",
			path, f.Len())
	}
	tok := ck.Tokenizer
	recorded, textBytes := 0, 0
	for _, s := range f.Spans {
		recorded += s.Bytes
	}
	for i := range f.Len() {
		id := f.At(i)
		if id >= tok.VocabSize() {
			return evalFileResult{}, fmt.Errorf("%s contains id %d, outside the %d tokens of "+
				"%s; score it with the checkpoint of the run that wrote it", path, id,
				tok.VocabSize(), ck.Dir)
		}
		if !tok.IsSpecial(id) {
			textBytes += len(tok.TokenBytes(id))
		}
	}
	if textBytes != recorded {
		return evalFileResult{}, fmt.Errorf("%s decodes to %d bytes with the tokenizer of "+
			"%s, but its documents had %d: another tokenizer wrote it; score it with the "+
			"checkpoint of the run that wrote it", path, textBytes, ck.Dir, recorded)
	}
	loss, bpb := evaluate(ck, f, batch, weights)
	return evalFileResult{File: path, Bytes: textBytes, Tokens: f.Len() - 1, Loss: loss,
		BPB: bpb}, nil
}

// notUTF8Error says that the file at path is not UTF-8, where its first bad
// byte is, and, when the file reads whole as UTF-16 or a Chinese legacy
// encoding, the iconv command that converts it.
func notUTF8Error(path string, data []byte) error {
	off := 0
	for off < len(data) {
		r, n := utf8.DecodeRune(data[off:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		off += n
	}
	_, enc, err := corpus.DecodeText(path, data)
	if err != nil {
		return fmt.Errorf("%s is not UTF-8 (a bad byte at offset %d) nor any encoding "+
			"goushi recognises; eval scores UTF-8 text only: %w", path, off, err)
	}
	return fmt.Errorf("%s is not UTF-8 (a bad byte at offset %d) but reads as %s; eval "+
		"scores UTF-8 text, so convert it first: iconv -f %s -t UTF-8 %s > converted.txt",
		path, off, enc, enc, path)
}
