package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goushi/goushi/bpe"
)

// captureTokenizer runs 'goushi tokenizer ARGS' and returns its output.
func captureTokenizer(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	old := tokenizerStdout
	tokenizerStdout = &out
	defer func() { tokenizerStdout = old }()
	err := cmdTokenizer(args)
	return out.String(), err
}

// trainSmall trains a tokenizer on a small Chinese and English file and
// returns the tokenizer path and the text file path.
func trainSmall(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	text := filepath.Join(dir, "text.txt")
	body := strings.Repeat("床前明月光，疑是地上霜。Hello world!\n", 50)
	if err := os.WriteFile(text, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	tok := filepath.Join(dir, "tok.bpe")
	if _, err := captureTokenizer(t, "train", "--input", text, "--vocab-size", "300",
		"--out", tok); err != nil {
		t.Fatal(err)
	}
	return tok, text
}

func TestTokenizerEncodeDecode(t *testing.T) {
	tok, _ := trainSmall(t)
	out, err := captureTokenizer(t, "encode", "--tokenizer", tok, "明月 hello")
	if err != nil {
		t.Fatal(err)
	}
	ids := strings.Fields(out)
	if len(ids) == 0 || len(ids) >= len("明月 hello") {
		t.Fatalf("encode printed %q; want fewer ids than the 12 bytes", out)
	}
	text, err := captureTokenizer(t, append([]string{"decode", "--tokenizer", tok}, ids...)...)
	if err != nil {
		t.Fatal(err)
	}
	if text != "明月 hello" {
		t.Errorf("decode = %q, want %q", text, "明月 hello")
	}
}

func TestTokenizerEncodeSpecials(t *testing.T) {
	tok, _ := trainSmall(t)
	plain, _ := captureTokenizer(t, "encode", "--tokenizer", tok, "<|endoftext|>")
	allowed, _ := captureTokenizer(t, "encode", "--tokenizer", tok, "--allow-specials",
		"<|endoftext|>")
	// With --allow-specials the text is the one special id; without it the
	// text is ordinary bytes, which no merge of this corpus covers whole.
	loaded, err := bpe.Load(tok)
	if err != nil {
		t.Fatal(err)
	}
	eot, _ := loaded.SpecialID(bpe.EndOfText)
	if want := strconv.Itoa(eot) + "\n"; allowed != want {
		t.Errorf("--allow-specials printed %q; want %q", allowed, want)
	}
	ids := strings.Fields(plain)
	if len(ids) < 2 || slices.Contains(ids, strconv.Itoa(eot)) {
		t.Errorf("plain encode printed %q; want the text as ordinary tokens", plain)
	}
	text, err := captureTokenizer(t, append([]string{"decode", "--tokenizer", tok}, ids...)...)
	if err != nil || text != bpe.EndOfText {
		t.Errorf("decode of the plain ids = %q, %v; want %q", text, err, bpe.EndOfText)
	}
}

func TestTokenizerStats(t *testing.T) {
	tok, text := trainSmall(t)
	out, err := captureTokenizer(t, "stats", "--tokenizer", tok, text)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"bytes/token", "characters/token", "encode MB/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats output lacks %q:\n%s", want, out)
		}
	}
	// 50 lines of 25 characters: 10 Han, 2 full-width marks, "Hello
	// world!" (12) and the line break.
	if !strings.Contains(out, "characters       1250\n") {
		t.Errorf("stats output lacks the character count 1250:\n%s", out)
	}
	// Each line is 12 three-byte characters, 12 ASCII bytes and the line
	// break: 49 bytes.
	if !strings.Contains(out, "bytes            2450\n") {
		t.Errorf("stats output lacks the byte count 2450:\n%s", out)
	}
}

func TestTokenizerExportHF(t *testing.T) {
	tok, _ := trainSmall(t)
	out := filepath.Join(t.TempDir(), "tokenizer.json")
	if _, err := captureTokenizer(t, "export", "--format", "hf", "--tokenizer", tok,
		"--out", out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Model struct {
			Type   string         `json:"type"`
			Vocab  map[string]int `json:"vocab"`
			Merges []string       `json:"merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Model.Type != "BPE" {
		t.Errorf("tokenizer.json model type %q, error %v; want BPE", doc.Model.Type, err)
	}
	loaded, err := bpe.Load(tok)
	if err != nil {
		t.Fatal(err)
	}
	// The vocab lists every id, the specials included, and GPT-2's alphabet
	// writes the space byte as Ġ.
	if got, want := len(doc.Model.Vocab), loaded.VocabSize(); got != want {
		t.Errorf("tokenizer.json vocab has %d entries, want %d", got, want)
	}
	if got := doc.Model.Vocab["Ġ"]; got != ' ' {
		t.Errorf("vocab[Ġ] = %d, want 32", got)
	}
	if got, want := len(doc.Model.Merges), len(loaded.Merges()); got != want {
		t.Errorf("tokenizer.json has %d merges, want %d", got, want)
	}
}

func TestSaveFileAtomicLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokenizer.json")
	// A leftover file with the old fixed temporary name must not be used.
	if err := os.WriteFile(path+".tmp", []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := saveFileAtomic(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "new" {
		t.Errorf("file = %q, %v; want \"new\"", got, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("file mode = %v, want 0644", st.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("folder has %d entries, want the file and the stale .tmp", len(entries))
	}

	// Writers racing on one path each finish with a whole file.
	a, b := strings.Repeat("a", 1<<16), strings.Repeat("b", 1<<16)
	errs := make(chan error, 2)
	for _, body := range []string{a, b} {
		go func() { errs <- saveFileAtomic(path, []byte(body)) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got, err := os.ReadFile(path); err != nil || (string(got) != a && string(got) != b) {
		t.Errorf("after two writers the file has %d bytes (%v), want one whole body",
			len(got), err)
	}

	missing := filepath.Join(dir, "missing", "tokenizer.json")
	err = saveFileAtomic(missing, []byte("x"))
	want := "write " + missing + ": no such file or directory; check that the folder " +
		filepath.Dir(missing) + " exists and is writable"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestTokenizerErrors(t *testing.T) {
	tok, text := trainSmall(t)
	missing := filepath.Join(t.TempDir(), "absent.txt")
	empty := filepath.Join(t.TempDir(), "empty.txt")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// 你好 in GBK: C4E3 BAC3. C4 starts a two-byte UTF-8 sequence and E3
	// does not continue it, so the first invalid byte is at offset 3.
	gbk := filepath.Join(t.TempDir(), "gbk.txt")
	if err := os.WriteFile(gbk, []byte("ab \xc4\xe3\xba\xc3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", nil, "missing subcommand"},
		{"unknown subcommand", []string{"frobnicate"}, `unknown subcommand "frobnicate"`},
		{"train without input", []string{"train", "--out", "x"}, "missing --input"},
		{"train unreadable input", []string{"train", "--input", missing, "--out", "x"},
			"absent.txt"},
		{"train small vocab", []string{"train", "--input", text, "--vocab-size", "100",
			"--out", filepath.Join(t.TempDir(), "t.bpe")},
			"--vocab-size 100 is below the 256 byte tokens plus 1 specials; use 257 or more"},
		{"train empty input", []string{"train", "--input", empty, "--out", "x"},
			"input file " + empty + " is empty"},
		{"train GBK input", []string{"train", "--input", gbk, "--out", "x"},
			gbk + " is not UTF-8: invalid byte 0xc4 at byte offset 3; convert it first"},
		{"stats GBK text", []string{"stats", "--tokenizer", tok, gbk},
			gbk + " is not UTF-8: invalid byte 0xc4 at byte offset 3"},
		{"stats empty text", []string{"stats", "--tokenizer", tok, empty},
			"text file " + empty + " is empty"},
		{"encode without tokenizer", []string{"encode", "x"}, "missing --tokenizer"},
		{"decode bad id", []string{"decode", "--tokenizer", tok, "99999"},
			`invalid token id "99999"`},
		{"export other format", []string{"export", "--format", "spm", "--tokenizer", tok,
			"--out", "x"}, `unknown --format "spm"`},
		{"load corrupt", []string{"encode", "--tokenizer", text, "x"}, "text.txt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := captureTokenizer(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestBenchTokenizerJSON(t *testing.T) {
	_, text := trainSmall(t)
	saved := filepath.Join(t.TempDir(), "bench.bpe")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	err = benchTokenizer([]string{"--corpus", text, "--heldout", text, "--vocab-size", "300",
		"--json", "--out", saved})
	os.Stdout = stdout
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	var res tokenizerBenchResult
	if err := json.NewDecoder(r).Decode(&res); err != nil {
		t.Fatalf("bench tokenizer --json printed no JSON object: %v", err)
	}

	// trainSmall's text is 50 lines of 49 bytes and 25 characters. A token
	// holds at least one byte, so there are at most 2450 tokens and at
	// least 1250/2450 characters per token.
	if res.CorpusBytes != 2450 || res.HeldoutBytes != 2450 {
		t.Errorf("corpus %d bytes, held-out %d bytes; want 2450 each", res.CorpusBytes,
			res.HeldoutBytes)
	}
	if res.CharsPerToken < 1250.0/2450 || res.CharsPerToken > 1250 {
		t.Errorf("characters per token %.3f, want between 0.510 and 1250", res.CharsPerToken)
	}
	if res.EncodeMBps <= 0 || res.TrainSeconds <= 0 {
		t.Errorf("encode %.1f MB/s, train %.3f s; want both above 0", res.EncodeMBps,
			res.TrainSeconds)
	}
	loaded, err := bpe.Load(saved)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.VocabSize() != res.VocabSize || res.VocabSize > 300 || res.VocabSize <= 257 {
		t.Errorf("vocab %d in JSON, %d in the saved file; want equal, from 258 to 300",
			res.VocabSize, loaded.VocabSize())
	}
}

func TestBenchTokenizerHelp(t *testing.T) {
	var out bytes.Buffer
	old := benchTokenizerStderr
	benchTokenizerStderr = &out
	defer func() { benchTokenizerStderr = old }()
	if err := benchTokenizer([]string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	help := out.String()
	for _, want := range []string{"usage: goushi bench tokenizer --corpus FILE",
		"Trains a byte-level BPE tokenizer", "Flags:\n", "-vocab-size"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
}

func TestLogMergesThrottles(t *testing.T) {
	var out bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&out, nil)))

	// Within the hour only the call with all merges done is logged.
	progress := logMerges(time.Hour)
	progress(64, 200)
	progress(128, 200)
	progress(200, 200)
	if got := strings.Count(out.String(), "bpe merges"); got != 1 {
		t.Fatalf("%d log lines within the interval, want 1:\n%s", got, out.String())
	}
	if !strings.Contains(out.String(), "done=200 total=200") {
		t.Errorf("log %q lacks done=200 total=200", out.String())
	}

	// With no interval every call is logged.
	out.Reset()
	progress = logMerges(0)
	progress(64, 200)
	progress(128, 200)
	if got := strings.Count(out.String(), "bpe merges"); got != 2 {
		t.Errorf("%d log lines with no interval, want 2:\n%s", got, out.String())
	}
}
