package corpus

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// A store is a directory with two parts:
//
//	manifest.json            sources and one record per document
//	packs/<hash>.jsonl.gz    document texts, one JSON object per line
//
// Each add writes a new pack and then replaces the manifest by renaming a
// synced temporary file over it. The manifest rename is the commit point.
// Until it happens the old manifest names only the old packs, so an
// interrupted add leaves the previous store intact. At most an
// unreferenced pack or temporary file remains, and later loads ignore it.
const (
	ManifestName    = "manifest.json"
	packDir         = "packs"
	manifestVersion = 1
)

// ManifestDoc is the manifest record of one document.
type ManifestDoc struct {
	SHA256  string    `json:"sha256"` // also the document ID
	Source  string    `json:"source"`
	URL     string    `json:"url,omitempty"`
	License string    `json:"license"`
	Author  string    `json:"author,omitempty"`
	Style   string    `json:"style,omitempty"`
	Added   time.Time `json:"added"`
	Bytes   int       `json:"bytes"`
	Chars   int       `json:"chars"`
	Origin  string    `json:"origin"` // input file and position
	Pack    string    `json:"pack"`   // pack file name under packs/
}

// Manifest is the index of a store.
type Manifest struct {
	Version   int           `json:"version"`
	Sources   []Source      `json:"sources"`
	Documents []ManifestDoc `json:"documents"`
}

type packLine struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// Store is a corpus directory made by `goushi data add`.
type Store struct {
	Dir      string
	Manifest Manifest
	docs     []Document
	// manifestID is the TextID of the manifest bytes as read, or "" when
	// there was none. A commit checks it to detect a concurrent add.
	manifestID string
}

// IsStore reports whether dir contains a store manifest.
func IsStore(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, ManifestName))
	return err == nil && st.Mode().IsRegular()
}

// OpenStore reads the store in dir and checks every text against its
// SHA-256. A directory without a manifest, or one that does not exist yet,
// opens as an empty store that the first Add creates.
func OpenStore(dir string) (*Store, error) {
	s := &Store{Dir: dir, Manifest: Manifest{Version: manifestVersion}}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("store %s is a file, not a folder; name a new or existing "+
			"store folder", dir)
	}

	data, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	s.manifestID = TextID(string(data))
	if err := json.Unmarshal(data, &s.Manifest); err != nil {
		return nil, fmt.Errorf("open store %s: invalid %s: %w", dir, ManifestName, err)
	}
	if s.Manifest.Version != manifestVersion {
		return nil, fmt.Errorf("open store %s: manifest version %d is not supported; "+
			"this goushi reads version %d", dir, s.Manifest.Version, manifestVersion)
	}

	texts := map[string]string{}
	packs := map[string]bool{}
	for _, md := range s.Manifest.Documents {
		if err := ValidateStyle(md.Style); err != nil {
			return nil, fmt.Errorf("open store %s: document %s in %s: %w", dir, md.SHA256,
				ManifestName, err)
		}
		if packs[md.Pack] {
			continue
		}
		packs[md.Pack] = true
		if md.Pack != filepath.Base(md.Pack) || !strings.HasSuffix(md.Pack, ".jsonl.gz") {
			return nil, fmt.Errorf("open store %s: invalid pack name %q in %s; packs are "+
				"files directly under %s/", dir, md.Pack, ManifestName, packDir)
		}
		if err := readPack(filepath.Join(dir, packDir, md.Pack), texts); err != nil {
			return nil, fmt.Errorf("open store %s: %w", dir, err)
		}
	}

	for _, md := range s.Manifest.Documents {
		text, ok := texts[md.SHA256]
		if !ok {
			return nil, fmt.Errorf("open store %s: document %s is missing from pack %s",
				dir, md.SHA256, md.Pack)
		}
		s.docs = append(s.docs, Document{ID: md.SHA256, Text: text, Source: md.Source, Style: md.Style})
	}
	return s, nil
}

// readPack adds the texts of one pack to texts, keyed by ID, after
// checking that each ID is the SHA-256 of its text.
func readPack(path string, texts map[string]string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("read pack %s: %w", path, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64*1024), 64<<20)
	for line := 1; sc.Scan(); line++ {
		var pl packLine
		if err := json.Unmarshal(sc.Bytes(), &pl); err != nil {
			return fmt.Errorf("read pack %s:%d: %w", path, line, err)
		}
		if TextID(pl.Text) != pl.ID {
			return fmt.Errorf("read pack %s:%d: text does not match its SHA-256 %s; "+
				"the pack is corrupt, add the source files again", path, line, pl.ID)
		}
		texts[pl.ID] = pl.Text
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read pack %s: %w", path, err)
	}
	return nil
}

// Corpus returns the documents and sources of the store.
func (s *Store) Corpus() *Corpus {
	return &Corpus{
		Docs:    append([]Document(nil), s.docs...),
		Sources: append([]Source(nil), s.Manifest.Sources...),
	}
}

// AddRequest describes one `data add`.
type AddRequest struct {
	Paths   []string // files, or folders searched for supported files
	Source  Source   // Name is required; empty License becomes "unknown"
	Style   string   // style tag for records that do not carry one
	Options Options
	Now     time.Time // date added; zero means time.Now()
}

// FileResult is the outcome of reading one input file.
type FileResult struct {
	Path     string
	Encoding string
	Records  int
}

// AddResult reports an add.
type AddResult struct {
	Files   []FileResult
	Report  Report
	Changed bool // false when nothing new was kept and the store was not written
}

// ErrNoSource is returned by Add when the request names no source.
var ErrNoSource = errors.New("missing source name: provenance is required, " +
	"so name where the text came from (for example --source weibo-2024)")

// beforeCommit runs after the new pack is written and before the manifest
// is replaced. Tests set it to simulate an add interrupted at that point.
var beforeCommit func() error

// Add reads the files, cleans and deduplicates their documents against
// the store and each other, and writes the kept ones. Every file is read
// before anything is written, so a bad file leaves the store unchanged.
// Input without any text, such as empty files, is an error.
func (s *Store) Add(req AddRequest) (*AddResult, error) {
	if strings.TrimSpace(req.Source.Name) == "" {
		return nil, ErrNoSource
	}
	if err := ValidateStyle(req.Style); err != nil {
		return nil, err
	}
	src, sourceIsNew, err := s.mergeSource(req.Source)
	if err != nil {
		return nil, err
	}
	files, err := expandPaths(req.Paths)
	if err != nil {
		return nil, err
	}

	res := &AddResult{}
	b := NewBuilder(req.Options)
	b.Seed(s.docs)
	for _, path := range files {
		recs, enc, err := ReadFile(path)
		if err != nil {
			return nil, err
		}
		res.Files = append(res.Files, FileResult{Path: path, Encoding: enc, Records: len(recs)})
		for _, r := range recs {
			b.Add(r, src.Name, req.Style)
		}
	}
	if b.Report.Read == 0 {
		return nil, fmt.Errorf("no text found in %s; name files that contain text",
			strings.Join(req.Paths, ", "))
	}
	res.Report = b.Report
	if len(b.Docs) == 0 && (sourceIsNew || s.hasSource(src)) {
		// Nothing to record: no documents, and no new facts about a
		// source that is already stored.
		return res, nil
	}

	now := req.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	if err := s.commit(b.Docs, b.Origins, src, sourceIsNew, now); err != nil {
		return nil, err
	}
	res.Changed = true
	return res, nil
}

// hasSource reports whether the store records src exactly as given.
func (s *Store) hasSource(src Source) bool {
	for _, old := range s.Manifest.Sources {
		if old == src {
			return true
		}
	}
	return false
}

// mergeSource returns the stored source with the given name, filled in
// with any fields the request adds. A request that contradicts a stored
// field is an error, because the documents already stored would silently
// change licence.
func (s *Store) mergeSource(req Source) (Source, bool, error) {
	req.Name = strings.TrimSpace(req.Name)
	for _, old := range s.Manifest.Sources {
		if old.Name != req.Name {
			continue
		}
		merged := old
		for _, f := range []struct {
			flag      string
			old, next string
			dst       *string
		}{
			{"--url", old.URL, req.URL, &merged.URL},
			{"--license", old.License, req.License, &merged.License},
			{"--author", old.Author, req.Author, &merged.Author},
			{"--notice", old.Notice, req.Notice, &merged.Notice},
		} {
			switch {
			case f.next == "" || f.next == f.old:
			case f.old == "" || f.old == UnknownLicense:
				*f.dst = f.next
			default:
				return Source{}, false, fmt.Errorf("source %q is stored with %s %q, not %q; "+
					"repeat the stored value or use a new --source name", req.Name, f.flag, f.old, f.next)
			}
		}
		return merged, false, nil
	}
	if req.License == "" {
		req.License = UnknownLicense
	}
	return req, true, nil
}

// expandPaths replaces each folder by the supported files under it, in
// lexical order, leaving out store folders. A file named directly is kept whatever its extension,
// and ReadFile reads it as plain text unless the extension names a format.
func expandPaths(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, errors.New("no input files given; name at least one file or folder")
	}
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("input %s not found; check the path: %w", p, err)
		}
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		if IsStore(p) {
			return nil, fmt.Errorf("%s is a store made by goushi data add, not input text; "+
				"name the text files or folders to add", p)
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && IsStore(path) {
				// A store's manifest.json is not a chinese-poetry file, so
				// adding "." next to the default store must skip it.
				return filepath.SkipDir
			}
			if d.Type().IsRegular() && IsSupported(path) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no .txt, .md, .jsonl or .json files in this folder", p)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// commit writes the pack of docs (if any) and then the manifest, which
// records the new documents and src. When src updates a stored source,
// the copies of its fields in the existing document records change too.
func (s *Store) commit(docs []Document, origins []string, src Source, sourceIsNew bool,
	now time.Time) error {
	packName, err := s.writePack(docs)
	if err != nil {
		return err
	}

	next := s.Manifest
	next.Version = manifestVersion
	next.Sources = append([]Source(nil), s.Manifest.Sources...)
	if sourceIsNew {
		next.Sources = append(next.Sources, src)
	}
	for i := range next.Sources {
		if next.Sources[i].Name == src.Name {
			next.Sources[i] = src
		}
	}
	next.Documents = append([]ManifestDoc(nil), s.Manifest.Documents...)
	for i := range next.Documents {
		if md := &next.Documents[i]; md.Source == src.Name {
			md.URL, md.License, md.Author = src.URL, src.License, src.Author
		}
	}
	for i, d := range docs {
		next.Documents = append(next.Documents, ManifestDoc{
			SHA256: d.ID, Source: src.Name, URL: src.URL, License: src.License,
			Author: src.Author, Style: d.Style, Added: now, Bytes: len(d.Text),
			Chars: CharCount(d.Text), Origin: origins[i], Pack: packName,
		})
	}
	data, err := encodeManifest(next)
	if err != nil {
		return err
	}
	if beforeCommit != nil {
		if err := beforeCommit(); err != nil {
			return err
		}
	}
	if err := s.checkUnchanged(); err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return unwritableStore(s.Dir, err)
	}
	if err := WriteFileAtomic(filepath.Join(s.Dir, ManifestName), data); err != nil {
		return unwritableStore(s.Dir, err)
	}
	s.manifestID = TextID(string(data))
	s.Manifest = next
	s.docs = append(s.docs, docs...)
	return nil
}

// writePack writes the texts of docs to a new pack named after its
// content and returns the name, or "" when there are no documents.
func (s *Store) writePack(docs []Document) (string, error) {
	if len(docs) == 0 {
		return "", nil
	}
	if err := os.MkdirAll(filepath.Join(s.Dir, packDir), 0o755); err != nil {
		return "", unwritableStore(s.Dir, err)
	}
	var pack bytes.Buffer
	zw := gzip.NewWriter(&pack)
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	for _, d := range docs {
		if err := enc.Encode(packLine{ID: d.ID, Text: d.Text}); err != nil {
			return "", err
		}
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	name := TextID(pack.String())[:16] + ".jsonl.gz"
	if err := WriteFileAtomic(filepath.Join(s.Dir, packDir, name), pack.Bytes()); err != nil {
		return "", unwritableStore(s.Dir, err)
	}
	return name, nil
}

// unwritableStore wraps a failed write to the store with the fix.
func unwritableStore(dir string, err error) error {
	return fmt.Errorf("write store %s: %w; use a folder that you can write to "+
		"and that has free space", dir, err)
}

// encodeManifest writes the manifest as JSON with one source or document
// per line, which keeps it readable and line-diffable without the size of
// fully indented JSON.
func encodeManifest(m Manifest) ([]byte, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "{\"version\": %d,\n\"sources\": [", m.Version)
	for i, src := range m.Sources {
		if err := encodeManifestLine(&buf, i, src); err != nil {
			return nil, err
		}
	}
	buf.WriteString("],\n\"documents\": [")
	for i, md := range m.Documents {
		if err := encodeManifestLine(&buf, i, md); err != nil {
			return nil, err
		}
	}
	buf.WriteString("]}\n")
	return buf.Bytes(), nil
}

func encodeManifestLine(buf *bytes.Buffer, i int, v any) error {
	if i > 0 {
		buf.WriteByte(',')
	}
	buf.WriteString("\n  ")
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode ends each value with a newline
	return nil
}

// checkUnchanged returns an error when the manifest on disk is no longer
// the one this Store read, because replacing it would lose the documents
// another add recorded in between.
// NOTE: two adds that reach this check at the same instant can both pass
// it. The later rename then wins and the earlier add's documents are lost.
func (s *Store) checkUnchanged() error {
	data, err := os.ReadFile(filepath.Join(s.Dir, ManifestName))
	current := ""
	switch {
	case err == nil:
		current = TextID(string(data))
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("check store %s: %w", s.Dir, err)
	}
	if current != s.manifestID {
		return fmt.Errorf("store %s changed during this add, probably by another "+
			"`goushi data add`; nothing was recorded, so run the add again", s.Dir)
	}
	return nil
}

// WriteFileAtomic writes data to a temporary file in the same folder,
// syncs it, renames it over path and syncs the folder, so that readers
// see either the old file or the whole new one.
func WriteFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if _, err = io.Copy(tmp, bytes.NewReader(data)); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
