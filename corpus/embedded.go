package corpus

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"sync"
)

//go:generate go run ./internal/gen -src $CHINESE_POETRY_DIR -out embedded/classical.jsonl.gz

// The embedded corpus has two parts. The 抽象 copypasta was written for
// goushi and is read from the .txt files at start-up, with pieces
// separated by PieceSeparator lines. The classical part is generated from
// chinese-poetry 2.0.1 by internal/gen and stored compressed.
var (
	//go:embed embedded/chouxiang/*.txt
	copypastaFS embed.FS

	//go:embed embedded/classical.jsonl.gz
	classicalGz []byte
)

// Names and styles of the embedded sources.
const (
	CopypastaSource = "goushi 抽象 copypasta"
	CopypastaStyle  = "抽象"
	ClassicalSource = "chinese-poetry"
)

// EmbeddedSources are the credits of the embedded corpus.
var EmbeddedSources = []Source{
	{
		Name:    CopypastaSource,
		URL:     "https://github.com/goushi/goushi",
		License: "MIT",
		Author:  "The goushi authors",
		Notice:  "Copyright (c) 2026 The goushi authors",
	},
	{
		Name:    ClassicalSource,
		URL:     "https://github.com/chinese-poetry/chinese-poetry",
		License: "MIT",
		Author:  "JackeyGao and the chinese-poetry contributors (npm package chinese-poetry 2.0.1)",
		Notice:  "Copyright (c) 2016 JackeyGao",
	},
}

var embedded struct {
	once   sync.Once
	docs   []Document
	report Report // of the copypasta part
	err    error
}

// Embedded returns the default corpus built into the binary: the 抽象
// copypasta (style 抽象) and the classical texts with their style tags.
// The documents are parsed once; each call returns a new Corpus whose
// slices the caller may modify.
func Embedded() (*Corpus, error) {
	embedded.once.Do(loadEmbedded)
	if embedded.err != nil {
		return nil, embedded.err
	}
	return &Corpus{
		Docs:    append([]Document(nil), embedded.docs...),
		Sources: append([]Source(nil), EmbeddedSources...),
	}, nil
}

// EmbeddedCopypastaReport returns what cleaning and deduplication kept of
// the embedded copypasta pieces.
func EmbeddedCopypastaReport() (Report, error) {
	embedded.once.Do(loadEmbedded)
	return embedded.report, embedded.err
}

func loadEmbedded() {
	b := NewBuilder(DefaultOptions())
	for _, r := range CopypastaRecords() {
		b.Add(r, CopypastaSource, CopypastaStyle)
	}
	embedded.report = b.Report
	classical, err := readClassical(classicalGz)
	if err != nil {
		embedded.err = err
		return
	}
	embedded.docs = append(b.Docs, classical...)
}

// CopypastaRecords returns the raw embedded copypasta pieces, in file name
// order.
func CopypastaRecords() []Record {
	names, err := fs.Glob(copypastaFS, "embedded/chouxiang/*.txt")
	if err != nil {
		panic(err) // the pattern is a constant and valid
	}
	sort.Strings(names)
	var recs []Record
	for _, name := range names {
		data, err := copypastaFS.ReadFile(name)
		if err != nil {
			panic(err) // embedded files are always readable
		}
		recs = append(recs, ParseText(path.Base(name), string(data))...)
	}
	return recs
}

// readClassical decodes the generated classical part. It was cleaned and
// deduplicated when generated, so only the IDs are computed here.
func readClassical(gz []byte) ([]Document, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("embedded corpus: %w", err)
	}
	var docs []Document
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for n := 1; sc.Scan(); n++ {
		var l struct{ Style, Text string }
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("embedded corpus line %d: %w", n, err)
		}
		docs = append(docs, Document{ID: TextID(l.Text), Text: l.Text, Source: ClassicalSource,
			Style: l.Style})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("embedded corpus: %w", err)
	}
	return docs, nil
}
