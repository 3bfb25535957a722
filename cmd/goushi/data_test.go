package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/goushi/goushi/corpus"
)

// runData runs `goushi data` with args and returns what it printed.
func runData(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	old := dataStdout
	dataStdout = &out
	defer func() { dataStdout = old }()
	err := cmdData(args)
	return out.String(), err
}

const (
	pieceA = "家人们谁懂啊，今天我终于走进了传说中的矿泉水精品店，导购小姐戴着白手套问我想品鉴哪一座山的眼泪。"
	pieceB = "同事在群里回了一个收到，就两个字，没有句号也没有表情，我盯着这两个字看了整整四十分钟。"
)

func TestDataAddStatsCredits(t *testing.T) {
	in, store := t.TempDir(), filepath.Join(t.TempDir(), "store")
	f := filepath.Join(in, "a.txt")
	if err := os.WriteFile(f, []byte(pieceA+"\n===\n"+pieceB+"\n===\n"+pieceA), 0o644); err != nil {
		t.Fatal(err)
	}
	// Flags after the path, as the usage line shows them.
	out, err := runData(t, "add", f, "--source", "saved", "--license", "CC-BY-4.0",
		"--url", "https://example.com", "--notice", "Copyright (c) 2020 某人",
		"--style", "抽象", "--store", store)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(UTF-8): 3 documents", "kept 2 of 3", "1 exact duplicate",
		"now has 2 documents from 1 source\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("add output lacks %q:\n%s", want, out)
		}
	}

	out, err = runData(t, "add", f, "--source", "saved", "--store", store)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "nothing new") {
		t.Errorf("second add output lacks \"nothing new\":\n%s", out)
	}

	out, err = runData(t, "stats", "--store", store)
	if err != nil {
		t.Fatal(err)
	}
	chars := len([]rune(pieceA)) + len([]rune(pieceB))
	for _, want := range []string{"documents:  2", "characters: " + strconv.Itoa(chars), "saved", "抽象"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats output lacks %q:\n%s", want, out)
		}
	}

	out, err = runData(t, "credits", "--store", store)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Licence: CC-BY-4.0", "**saved**, <https://example.com>",
		"> Copyright (c) 2020 某人"} {
		if !strings.Contains(out, want) {
			t.Errorf("credits output lacks %q:\n%s", want, out)
		}
	}
}

func TestDataAddRejectsMissingSource(t *testing.T) {
	f := filepath.Join(t.TempDir(), "a.txt")
	if err := os.WriteFile(f, []byte(pieceA), 0o644); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(t.TempDir(), "store")
	_, err := runData(t, "add", f, "--store", store)
	if !errors.Is(err, corpus.ErrNoSource) {
		t.Errorf("err = %v, want ErrNoSource", err)
	}
	if _, statErr := os.Stat(store); !os.IsNotExist(statErr) {
		t.Errorf("a rejected add created the store folder (stat: %v)", statErr)
	}
}

func TestDataAddRejectsBadFlags(t *testing.T) {
	f := filepath.Join(t.TempDir(), "a.txt")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--source", "s", "--license", "not a licence"}, "invalid --license"},
		{[]string{"--source", "s", "--min-han", "1.5"}, "invalid --min-han"},
		{[]string{"--source", "s", "--min-chars", "0"}, "invalid --min-chars"},
		{[]string{"--source", "s", "--near", "0"}, "invalid --near"},
	}
	for _, c := range cases {
		_, err := runData(t, append([]string{"add", f}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("args %q: err = %v, want %q", c.args, err, c.want)
		}
	}
}

func TestDataStatsAndCreditsDefaultToEmbedded(t *testing.T) {
	out, err := runData(t, "credits")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**" + corpus.CopypastaSource + "**", "**" + corpus.ClassicalSource + "**",
		"## Licence: MIT", "Copyright (c) 2016 JackeyGao"} {
		if !strings.Contains(out, want) {
			t.Errorf("credits lack %q:\n%s", want, out)
		}
	}
	out, err = runData(t, "stats")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"embedded default corpus", "宋词", "抽象", corpus.ClassicalSource} {
		if !strings.Contains(out, want) {
			t.Errorf("stats lack %q:\n%s", want, out)
		}
	}
}

func TestDataStatsMissingStore(t *testing.T) {
	store := filepath.Join(t.TempDir(), "nowhere")
	_, err := runData(t, "stats", "--store", store)
	if err == nil || !strings.Contains(err.Error(), store) {
		t.Errorf("err = %v, want an error naming %s", err, store)
	}
}

func TestDisplayWidth(t *testing.T) {
	if got := displayWidth("ab宋词"); got != 6 {
		t.Errorf("displayWidth = %d, want 2 + 2*2 = 6", got)
	}
}
