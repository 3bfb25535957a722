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
		"now has 2 documents from 1 source\n", "goushi train --corpus " + store + "\n"} {
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
		{[]string{"--source", "s", "--style", "x<|endoftext|>"},
			`invalid --style: style tag "x<|endoftext|>" contains "<|" or "|>"`},
		{[]string{"--source", "s", "--style", "bad style|>"}, `style tag "bad style|>"`},
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

func TestDataStatsNotesStoreInFolder(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("a.txt", []byte(pieceA), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runData(t, "add", "a.txt", "--source", "s"); err != nil {
		t.Fatal(err)
	}
	var notes bytes.Buffer
	old := dataStderr
	dataStderr = &notes
	defer func() { dataStderr = old }()
	out, err := runData(t, "stats")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "corpus: embedded default corpus") {
		t.Errorf("stats without flags did not describe the embedded corpus:\n%s", out)
	}
	if want := "add --store " + defaultStore; !strings.Contains(notes.String(), want) {
		t.Errorf("note %q lacks %q", notes.String(), want)
	}
}

func TestPrintStatsFigures(t *testing.T) {
	// The first 8 bytes of an ID, mod 1000, put it in validation below 50:
	// 0 is validation and 0x32 = 50 is training.
	val := strings.Repeat("0", 64)
	train := "0000000000000032" + strings.Repeat("0", 48)
	c := &corpus.Corpus{Docs: []corpus.Document{
		{ID: val, Text: "春眠不觉晓", Source: "poems", Style: "唐诗"},
		{ID: train, Text: "你好 ab", Source: "chat"},
		{ID: train, Text: "处处闻啼鸟", Source: "poems", Style: "唐诗"},
	}}
	var out bytes.Buffer
	printStats(&out, "test", c.Stats())
	// 15 characters with one space; 12 of the 14 others are Han (85.7%).
	// Bytes: 5 Han of 3 bytes, twice, plus 2 Han, a space and 2 letters.
	// poems and 唐诗 have 10 of 15 characters (66.7%). 唐诗 is 4 columns
	// wide on a terminal, so it gets 2 spaces of padding, not 4.
	want := `corpus: test
documents:  3 (train 2, validation 1)
characters: 15 (Han ratio: 85.7% of non-space characters are Han)
bytes:      39 (UTF-8)

by source:
  source   documents   characters   share
  poems            2           10   66.7%
  chat             1            5   33.3%

by style:
  style    documents   characters   share
  唐诗             2           10   66.7%
  (none)           1            5   33.3%
`
	if out.String() != want {
		t.Errorf("stats:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestCanonicalLicense(t *testing.T) {
	cases := []struct {
		in, want, unknown string
	}{
		{"mit", "MIT", ""},
		{"cc-by-sa-4.0", "CC-BY-SA-4.0", ""},
		{"MIT OR apache-2.0", "MIT OR Apache-2.0", ""},
		{"GPL-2.0-or-later WITH Classpath-exception-2.0",
			"GPL-2.0-or-later WITH Classpath-exception-2.0", ""},
		{"LicenseRef-weibo-terms", "LicenseRef-weibo-terms", ""},
		{"CC-BY4.0", "CC-BY4.0", "CC-BY4.0"},
		{"", "", ""},
	}
	for _, c := range cases {
		got, unknown := canonicalLicense(c.in)
		if got != c.want {
			t.Errorf("canonicalLicense(%q) = %q, want %q", c.in, got, c.want)
		}
		if strings.Join(unknown, " ") != c.unknown {
			t.Errorf("canonicalLicense(%q) unknown = %q, want %q", c.in, unknown, c.unknown)
		}
	}
}

func TestDataAddLicenseSpelling(t *testing.T) {
	f := filepath.Join(t.TempDir(), "a.txt")
	if err := os.WriteFile(f, []byte(pieceA), 0o644); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(t.TempDir(), "store")
	_, err := runData(t, "add", f, "--source", "s", "--license", "mit", "--store", store)
	if err != nil {
		t.Fatal(err)
	}
	out, err := runData(t, "credits", "--store", store)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "## Licence: MIT\n") {
		t.Errorf("credits lack the SPDX spelling MIT:\n%s", out)
	}

	var notes bytes.Buffer
	old := dataStderr
	dataStderr = &notes
	defer func() { dataStderr = old }()
	g := filepath.Join(t.TempDir(), "b.txt")
	if err := os.WriteFile(g, []byte(pieceB), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = runData(t, "add", g, "--source", "t", "--license", "CC-BY4.0", "--store", store)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notes.String(), "--license CC-BY4.0 is not a common SPDX identifier") {
		t.Errorf("notes %q lack a warning about CC-BY4.0", notes.String())
	}
}
