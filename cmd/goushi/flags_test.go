package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func TestParseArgsBadFlag(t *testing.T) {
	var out bytes.Buffer
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	fs.SetOutput(&out)
	helped := false
	fs.Usage = func() { helped = true }
	fs.Float64("temperature", 0.8, "")
	fs.Duration("time", 0, "")

	err := parseArgs(fs, []string{"--temprature", "0.5"})
	for _, want := range []string{"-temprature", "did you mean --temperature?",
		"run 'goushi sample -h'"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
	if helped || out.Len() > 0 {
		t.Errorf("a bad flag printed the help (%t) or %q", helped, out.String())
	}

	err = parseArgs(fs, []string{"--time", "10"})
	if err == nil || !strings.Contains(err.Error(), "a duration such as 10m") {
		t.Errorf("a bad duration gave %v, want the form of a duration", err)
	}
	err = parseArgs(fs, []string{"--zzzzzzzz"})
	if err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("a flag far from every name gave %v, want no suggestion", err)
	}

	if err := parseArgs(fs, []string{"-h"}); !errors.Is(err, flag.ErrHelp) || !helped {
		t.Errorf("-h gave %v and help printed %t; want flag.ErrHelp and the help", err, helped)
	}
	if err := parseArgs(fs, []string{"--time", "90s"}); err != nil || fs.Lookup("time").Value.(flag.Getter).Get() != 90*time.Second {
		t.Errorf("--time 90s: %v", err)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"temprature", "temperature", 1}, {"licence", "license", 1},
		{"vocb", "vocab", 1}, {"kitten", "sitting", 3}} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d; want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestHelpCommandShowsCommandUsage(t *testing.T) {
	var stderr bytes.Buffer
	saved := sampleStderr
	sampleStderr = &stderr
	defer func() { sampleStderr = saved }()
	if code := run([]string{"help", "sample"}, &stderr); code != 0 {
		t.Fatalf("goushi help sample exited %d", code)
	}
	if !strings.Contains(stderr.String(), "usage: goushi sample") {
		t.Errorf("goushi help sample printed %q, want the usage of sample", stderr.String())
	}
}
