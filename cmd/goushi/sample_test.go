package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/gpt"
)

// sampleCheckpoint saves a random tiny model with a small tokenizer and
// the style "抽象", and returns its directory and the loaded checkpoint.
func sampleCheckpoint(t *testing.T) (string, *gpt.Checkpoint) {
	t.Helper()
	tok, err := bpe.Train([]string{"今天天气很好，我们去公园玩吧。"},
		bpe.TrainOptions{VocabSize: 270, Specials: gpt.TokenizerSpecials([]string{"抽象"})})
	if err != nil {
		t.Fatal(err)
	}
	cfg := gpt.Config{VocabSize: tok.VocabSize(), ContextLen: 16, Layers: 1, Heads: 2,
		Embd: 32, Styles: []string{"抽象"}}
	dir := filepath.Join(t.TempDir(), "ck")
	if err := gpt.SaveCheckpoint(dir, &gpt.Checkpoint{Model: gpt.New(cfg, 3), Tokenizer: tok},
		nil); err != nil {
		t.Fatal(err)
	}
	ck, err := gpt.LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, ck
}

// runSample runs `goushi sample` with args and returns its stdout and
// stderr.
func runSample(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	savedOut, savedErr := sampleStdout, sampleStderr
	sampleStdout, sampleStderr = &out, &errOut
	defer func() { sampleStdout, sampleStderr = savedOut, savedErr }()
	err := cmdSample(args)
	return out.String(), errOut.String(), err
}

// TestSamplePrintsGreedyText checks that the command prints the prompt and
// the same continuation as Generate, past the context length.
func TestSamplePrintsGreedyText(t *testing.T) {
	dir, ck := sampleCheckpoint(t)
	out, errOut, err := runSample(t, "--checkpoint", dir, "--prompt", "今天", "--style", "抽象",
		"--temperature", "0", "--max-new-tokens", "40", "--seed", "5", "--weights", "f32")
	if err != nil {
		t.Fatal(err)
	}

	opts := gpt.DefaultSampleOptions()
	opts.Temperature, opts.MaxNewTokens, opts.Style, opts.Seed = 0, 40, "抽象", 5
	opts.Weights = gpt.PrecisionF32
	var want strings.Builder
	for ev, err := range ck.Model.Generate(context.Background(), ck.Tokenizer, "今天", opts) {
		if err != nil {
			t.Fatal(err)
		}
		want.WriteString(ev.Text)
	}
	if got := strings.TrimSuffix(out, "\n"); got != "今天"+want.String() {
		t.Errorf("stdout %q; want %q", got, "今天"+want.String())
	}
	if !strings.Contains(errOut, "seed 5") {
		t.Errorf("stderr %q does not report the seed", errOut)
	}
}

// TestSampleBatchPrintsEverySample checks that each sample of a batch is
// printed once under its own header.
func TestSampleBatchPrintsEverySample(t *testing.T) {
	dir, _ := sampleCheckpoint(t)
	out, _, err := runSample(t, "--checkpoint", dir, "--prompt", "我们", "--num-samples", "3",
		"--max-new-tokens", "12", "--temperature", "1.5", "--seed", "1")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		header := "--- sample " + string(rune('0'+i)) + " ---\n我们"
		if strings.Count(out, header) != 1 {
			t.Errorf("output has %d copies of %q:\n%s", strings.Count(out, header), header, out)
		}
	}
}

func TestSampleRejectsBadFlags(t *testing.T) {
	dir, _ := sampleCheckpoint(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--prompt", "x"}, "--checkpoint"},
		{[]string{"--checkpoint", dir, "--temperature", "-1"}, "temperature"},
		{[]string{"--checkpoint", dir, "--top-p", "2"}, "--top-p 2 is outside [0, 1]"},
		{[]string{"--checkpoint", dir, "--min-p", "-1"}, "--min-p -1 is outside"},
		{[]string{"--checkpoint", dir, "--repetition-window", "-1"}, "--repetition-window -1"},
		{[]string{"--checkpoint", dir, "--max-new-tokens", "0"}, "--max-new-tokens 0"},
		{[]string{"--checkpoint", dir, "--num-samples", "0"}, "--num-samples 0 is invalid"},
		{[]string{"--checkpoint", dir, "--stop", ""}, "--stop 0 is empty"},
		{[]string{"--checkpoint", dir, "--style", "诗"}, "--style \"诗\" is unknown"},
		{[]string{"--checkpoint", dir, "--weights", "int4"}, "--weights \"int4\" is unknown"},
		{[]string{"--checkpoint", dir, "--slide-by", "-2"}, "--slide-by -2 is outside [0, "},
		{[]string{"--checkpoint", dir, "--seed", "-5"}, "seed"},
		{[]string{"--checkpoint", dir, "stray"}, "--prompt"},
	}
	for _, c := range cases {
		_, _, err := runSample(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("args %q: error %v; want one naming %s", c.args, err, c.want)
		}
	}
}

func TestSampleHelpShowsShortDefaults(t *testing.T) {
	_, help, err := runSample(t, "-h")
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("sample -h: error %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"(default 0.8)", "(default 0.95)", "(default 0.05)"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	if strings.Contains(help, "0000") {
		t.Errorf("help shows a float32 default in float64 digits:\n%s", help)
	}
}

func TestParseBatches(t *testing.T) {
	got, err := parseBatches("1, 8,2")
	if err != nil || len(got) != 3 || got[0] != 1 || got[1] != 8 || got[2] != 2 {
		t.Errorf("parseBatches(\"1, 8,2\") = %v, %v; want [1 8 2]", got, err)
	}
	for _, bad := range []string{"", "0", "1,x", "65"} {
		if _, err := parseBatches(bad); err == nil {
			t.Errorf("parseBatches(%q) accepted it", bad)
		}
	}
}
