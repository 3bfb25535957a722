package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/goushi/goushi/corpus"
	"golang.org/x/text/width"
)

// dataStdout receives the reports of `goushi data` and dataStderr its
// notes. Tests replace them.
var (
	dataStdout io.Writer = os.Stdout
	dataStderr io.Writer = os.Stderr
)

const defaultStore = "./goushi-data"

const dataUsage = `usage:
  goushi data add PATH... --source NAME [--url URL] [--license SPDX] [--author NAME]
                          [--notice TEXT] [--style TAG] [--store DIR]
  goushi data stats [--store DIR | PATH]
  goushi data credits [--store DIR | PATH]

add reads .txt, .md, .jsonl and chinese-poetry .json files, folders of
them, and other named files as plain text. It cleans and deduplicates the
text and records it in the store (default ` + defaultStore + `) with its
provenance. stats and credits describe the store named by --store, the
corpus at PATH, or the embedded default corpus when neither is given.`

func cmdData(args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, dataUsage)
		return errors.New("missing subcommand; use add, stats or credits")
	}
	switch args[0] {
	case "add":
		return dataAdd(args[1:])
	case "stats":
		return dataStats(args[1:])
	case "credits":
		return dataCredits(args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(os.Stderr, dataUsage)
		return flag.ErrHelp
	}
	return fmt.Errorf("unknown subcommand %q; use add, stats or credits", args[0])
}

// newDataFlagSet returns a flag set whose -h output starts with the
// usage lines of goushi data.
func newDataFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nflags of %s:\n", dataUsage, name)
		fs.PrintDefaults()
	}
	return fs
}

// parseInterspersed parses flags that may follow positional arguments, as
// in `goushi data add a.txt b.txt --source x`, and returns the positional
// arguments in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
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

// spdxExpr accepts SPDX identifiers and simple AND/OR/WITH expressions.
var spdxExpr = regexp.MustCompile(`^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$`)

// commonLicenses are identifiers from the SPDX licence list
// (https://spdx.org/licenses/) that text and code sources often carry,
// keyed by lower case. The list is not complete, so an identifier outside
// it gets a note rather than an error.
var commonLicenses = func() map[string]string {
	m := map[string]string{}
	for id := range strings.FieldsSeq(`0BSD AGPL-3.0 AGPL-3.0-only AGPL-3.0-or-later
		Apache-2.0 BSD-2-Clause BSD-3-Clause CC-BY-2.0 CC-BY-3.0 CC-BY-4.0
		CC-BY-NC-3.0 CC-BY-NC-4.0 CC-BY-NC-ND-3.0 CC-BY-NC-ND-4.0 CC-BY-NC-SA-3.0
		CC-BY-NC-SA-4.0 CC-BY-ND-3.0 CC-BY-ND-4.0 CC-BY-SA-2.0 CC-BY-SA-3.0
		CC-BY-SA-4.0 CC0-1.0 GFDL-1.3-only GFDL-1.3-or-later GPL-2.0 GPL-2.0-only
		GPL-2.0-or-later GPL-3.0 GPL-3.0-only GPL-3.0-or-later ISC LGPL-2.1
		LGPL-2.1-only LGPL-2.1-or-later LGPL-3.0-only LGPL-3.0-or-later MIT MIT-0
		MPL-2.0 ODC-By-1.0 ODbL-1.0 OFL-1.1 PDDL-1.0 Unlicense WTFPL Zlib`) {
		m[strings.ToLower(id)] = id
	}
	m[corpus.UnknownLicense] = corpus.UnknownLicense
	return m
}()

// canonicalLicense returns the expression with each common identifier in
// its SPDX spelling, so that "mit" and "MIT" are credited as one licence,
// and the identifiers that are neither common nor a LicenseRef-.
func canonicalLicense(expr string) (string, []string) {
	words := strings.Fields(expr)
	var unknown []string
	for i, w := range words {
		switch {
		case w == "AND" || w == "OR" || w == "WITH":
		case i > 0 && words[i-1] == "WITH":
			// An exception such as Classpath-exception-2.0, not a licence.
		case commonLicenses[strings.ToLower(w)] != "":
			words[i] = commonLicenses[strings.ToLower(w)]
		case !strings.HasPrefix(w, "LicenseRef-"):
			unknown = append(unknown, w)
		}
	}
	return strings.Join(words, " "), unknown
}

func dataAdd(args []string) error {
	fs := newDataFlagSet("data add")
	store := fs.String("store", defaultStore, "store directory to add to")
	source := fs.String("source", "", "name of the source the text came from (required)")
	url := fs.String("url", "", "URL of the source")
	license := fs.String("license", "", "SPDX licence identifier of the source, e.g. MIT or CC-BY-4.0")
	author := fs.String("author", "", "author or rights holder of the source")
	notice := fs.String("notice", "",
		"copyright notice that copies must carry, e.g. \"Copyright (c) 2020 Someone\"")
	style := fs.String("style", "", "style tag for documents that carry none, e.g. 抽象")
	minChars := fs.Int("min-chars", corpus.DefaultMinChars,
		"drop documents shorter than this many characters")
	minHan := fs.Float64("min-han", corpus.DefaultMinHanRatio,
		"drop documents whose share of Han characters is below this (0 to 1)")
	near := fs.Float64("near", corpus.DefaultNearThreshold,
		"drop near duplicates at or above this shingle Jaccard similarity; above 1 turns it off")
	verbose := fs.Bool("v", false, "list every dropped document with the reason")
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}

	switch {
	case strings.TrimSpace(*source) == "":
		return corpus.ErrNoSource
	case len(paths) == 0:
		return errors.New("no input files given; name at least one file or folder")
	case *license != "" && !spdxExpr.MatchString(*license):
		return fmt.Errorf("invalid --license %q: use an SPDX identifier such as MIT or CC-BY-4.0",
			*license)
	case *minChars < 1:
		return fmt.Errorf("invalid --min-chars %d: use 1 or more", *minChars)
	case *minHan < 0 || *minHan > 1:
		return fmt.Errorf("invalid --min-han %v: use a share from 0 to 1", *minHan)
	case *near <= 0:
		return fmt.Errorf("invalid --near %v: use a similarity above 0, or above 1 to turn it off",
			*near)
	}

	if err := corpus.ValidateStyle(*style); err != nil {
		return fmt.Errorf("invalid --style: %w", err)
	}

	lic, unknown := canonicalLicense(*license)
	for _, id := range unknown {
		fmt.Fprintf(dataStderr, "note: --license %s is not a common SPDX identifier; check "+
			"the spelling at https://spdx.org/licenses/ or use LicenseRef-NAME for a "+
			"licence that has none\n", id)
	}

	s, err := corpus.OpenStore(*store)
	if err != nil {
		return err
	}
	res, err := s.Add(corpus.AddRequest{
		Paths: paths,
		Source: corpus.Source{Name: *source, URL: *url, License: lic, Author: *author,
			Notice: *notice},
		Style: *style,
		Options: corpus.Options{
			Filter:        corpus.Filter{MinChars: *minChars, MinHanRatio: *minHan},
			NearThreshold: *near,
		},
	})
	if err != nil {
		return err
	}
	printAddResult(dataStdout, res, *verbose)
	c := s.Corpus()
	if res.Changed {
		fmt.Fprintf(dataStdout, "store %s now has %s from %s\n",
			*store, plural(len(c.Docs), "document"), plural(len(c.Sources), "source"))
	} else {
		fmt.Fprintf(dataStdout, "nothing new; store %s unchanged\n", *store)
	}
	// goushi train reads the embedded corpus unless it is given one.
	fmt.Fprintf(dataStdout, "train on it with: goushi train --corpus %s\n", *store)
	return nil
}

// plural returns "1 document" or "2 documents".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func printAddResult(w io.Writer, res *corpus.AddResult, verbose bool) {
	for _, f := range res.Files {
		fmt.Fprintf(w, "read %s (%s): %s\n", f.Path, f.Encoding, plural(f.Records, "document"))
	}
	fmt.Fprintln(w, res.Report.Summary())
	if verbose {
		for _, d := range res.Report.Drops {
			fmt.Fprintf(w, "  dropped %s: %s\n", d.Origin, d.Reason)
		}
	}
}

// openNamedCorpus parses the flags of stats and credits and loads the
// store named by --store, the corpus at PATH, or the embedded corpus.
func openNamedCorpus(name string, args []string) (*corpus.Corpus, string, error) {
	fs := newDataFlagSet(name)
	store := fs.String("store", "",
		"store directory made by goushi data add (default: the embedded corpus)")
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, "", err
	}
	storeSet := *store != ""
	switch {
	case len(paths) > 1:
		return nil, "", fmt.Errorf("%d paths given; name one store, file or folder", len(paths))
	case len(paths) == 1 && storeSet:
		return nil, "", fmt.Errorf("both --store %s and path %s given; name one", *store, paths[0])
	case len(paths) == 1:
		c, err := corpus.Load(paths[0])
		return c, paths[0], err
	case storeSet:
		if !corpus.IsStore(*store) {
			return nil, "", fmt.Errorf("store %s not found (no %s); create it with "+
				"`goushi data add PATH --source NAME --store %s`", *store, corpus.ManifestName, *store)
		}
		c, err := corpus.Load(*store)
		return c, *store, err
	}
	if corpus.IsStore(defaultStore) {
		fmt.Fprintf(dataStderr, "note: describing the embedded default corpus; "+
			"add --store %s for the store in this folder\n", defaultStore)
	}
	c, err := corpus.Embedded()
	return c, "embedded default corpus", err
}

func dataStats(args []string) error {
	c, name, err := openNamedCorpus("data stats", args)
	if err != nil {
		return err
	}
	printStats(dataStdout, name, c.Stats())
	return nil
}

func printStats(w io.Writer, name string, st corpus.Stats) {
	fmt.Fprintf(w, "corpus: %s\n", name)
	fmt.Fprintf(w, "documents:  %d (train %d, validation %d)\n", st.Docs, st.TrainDocs, st.ValDocs)
	fmt.Fprintf(w, "characters: %d (Han ratio: %.1f%% of non-space characters are Han)\n", st.Chars,
		100*st.HanRatio())
	fmt.Fprintf(w, "bytes:      %d (UTF-8)\n", st.Bytes)
	printShares(w, "source", st.BySource, st.Chars)
	printShares(w, "style", st.ByStyle, st.Chars)
}

// printShares prints a table whose first column is padded by display
// width, because tabwriter counts a CJK character as one column.
func printShares(w io.Writer, column string, shares []corpus.Share, total int) {
	names := make([]string, len(shares))
	nameWidth := displayWidth(column)
	for i, s := range shares {
		names[i] = s.Name
		if names[i] == "" {
			names[i] = "(none)"
		}
		nameWidth = max(nameWidth, displayWidth(names[i]))
	}
	pad := func(s string) string { return s + strings.Repeat(" ", nameWidth-displayWidth(s)) }

	fmt.Fprintf(w, "\nby %s:\n", column)
	fmt.Fprintf(w, "  %s  %10s  %11s  %6s\n", pad(column), "documents", "characters", "share")
	for i, s := range shares {
		share := 0.0
		if total > 0 {
			share = 100 * float64(s.Chars) / float64(total)
		}
		fmt.Fprintf(w, "  %s  %10d  %11d  %5.1f%%\n", pad(names[i]), s.Docs, s.Chars, share)
	}
}

// displayWidth returns the terminal columns of s: two for East Asian wide
// and fullwidth characters, one for the rest.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}

func dataCredits(args []string) error {
	c, _, err := openNamedCorpus("data credits", args)
	if err != nil {
		return err
	}
	fmt.Fprint(dataStdout, c.CreditsMarkdown())
	return nil
}
