package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	if got := strings.Fields(allowed); len(got) != 1 {
		t.Errorf("--allow-specials printed %q; want one id", allowed)
	}
	if got := strings.Fields(plain); len(got) < 2 {
		t.Errorf("plain encode printed %q; want the text as ordinary tokens", plain)
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
			Type string `json:"type"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Model.Type != "BPE" {
		t.Errorf("tokenizer.json model type %q, error %v; want BPE", doc.Model.Type, err)
	}
}

func TestTokenizerErrors(t *testing.T) {
	tok, text := trainSmall(t)
	missing := filepath.Join(t.TempDir(), "absent.txt")
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
			"--out", filepath.Join(t.TempDir(), "t.bpe")}, "vocab size 100 is below"},
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
