package corpus

import (
	"fmt"
	"sort"
	"strings"
)

// Options control how records become documents.
type Options struct {
	Filter Filter
	// NearThreshold is the shingle Jaccard similarity at or above which a
	// document is dropped as a near duplicate. Above 1 turns the check
	// off, and 0 means DefaultNearThreshold.
	NearThreshold float64
}

// DefaultOptions returns the default filter and near-duplicate threshold.
func DefaultOptions() Options {
	return Options{Filter: DefaultFilter(), NearThreshold: DefaultNearThreshold}
}

// Drop records one document that was not kept.
type Drop struct {
	Origin string
	Reason Reason
}

// Report counts what a Builder kept and dropped.
type Report struct {
	Read  int // documents after chunking, before filtering
	Kept  int
	Drops []Drop
}

// Count returns the number of documents dropped for the reason.
func (r Report) Count(reason Reason) int {
	n := 0
	for _, d := range r.Drops {
		if d.Reason == reason {
			n++
		}
	}
	return n
}

// Summary returns one line such as "kept 10 of 13 documents; dropped 2
// exact duplicates, 1 too short", with the reasons in alphabetical order.
func (r Report) Summary() string {
	s := fmt.Sprintf("kept %d of %d documents", r.Kept, r.Read)
	counts := map[Reason]int{}
	for _, d := range r.Drops {
		counts[d.Reason]++
	}
	if len(counts) == 0 {
		return s
	}
	reasons := make([]string, 0, len(counts))
	for reason := range counts {
		reasons = append(reasons, string(reason))
	}
	sort.Strings(reasons)
	parts := make([]string, len(reasons))
	for i, reason := range reasons {
		n := counts[Reason(reason)]
		parts[i] = fmt.Sprintf("%d %s", n, reason)
		if n != 1 && strings.HasSuffix(reason, "duplicate") {
			parts[i] += "s"
		}
	}
	return s + "; dropped " + strings.Join(parts, ", ")
}

// Builder cleans, chunks, filters and deduplicates records into documents.
type Builder struct {
	opts    Options
	dedup   *Deduper
	Docs    []Document // documents kept so far, in input order
	Origins []string   // input position of each document in Docs
	Report  Report
}

// NewBuilder returns an empty Builder.
func NewBuilder(opts Options) *Builder {
	return &Builder{opts: opts, dedup: NewDeduper(opts.NearThreshold)}
}

// Seed registers documents that are already kept elsewhere, such as those
// in a store, so that new records duplicating them are dropped. Seeded
// documents are not added to Docs or the report.
func (b *Builder) Seed(docs []Document) {
	for _, d := range docs {
		b.dedup.Add(d.ID, d.Text)
	}
}

// Add cleans one record and keeps each of its chunks that passes the
// filter and is not a duplicate. The record's own style wins over style.
func (b *Builder) Add(rec Record, source, style string) {
	if rec.Style != "" {
		style = rec.Style
	}
	chunks := Chunk(Clean(rec.Text), MaxDocChars)
	if len(chunks) == 0 {
		chunks = []string{""}
	}
	for i, text := range chunks {
		origin := rec.Origin
		if len(chunks) > 1 {
			origin = fmt.Sprintf("%s (chunk %d)", origin, i+1)
		}
		b.Report.Read++
		reason := b.opts.Filter.Check(text)
		id := TextID(text)
		if reason == Kept {
			reason = b.dedup.Add(id, text)
		}
		if reason != Kept {
			b.Report.Drops = append(b.Report.Drops, Drop{Origin: origin, Reason: reason})
			continue
		}
		b.Report.Kept++
		b.Docs = append(b.Docs, Document{ID: id, Text: text, Source: source, Style: style})
		b.Origins = append(b.Origins, origin)
	}
}

// Chunk cuts cleaned text into pieces of at most maxChars characters,
// preferring to cut at line ends, then after sentence-final punctuation,
// then anywhere. Text within the limit is returned whole; empty text gives
// no chunks.
func Chunk(text string, maxChars int) []string {
	if text == "" {
		return nil
	}
	if CharCount(text) <= maxChars {
		return []string{text}
	}
	var chunks []string
	var cur []rune
	flush := func() {
		if s := strings.TrimSpace(string(cur)); s != "" {
			chunks = append(chunks, s)
		}
		cur = cur[:0]
	}
	for _, piece := range splitKeep(text, maxChars) {
		pr := []rune(piece)
		if len(cur)+len(pr) > maxChars {
			flush()
		}
		cur = append(cur, pr...)
	}
	flush()
	return chunks
}

// splitKeep splits text after each newline, and lines longer than
// maxChars after each sentence end (。！？!?), then at maxChars, so that
// every piece fits in a chunk. Concatenating the pieces gives text back.
func splitKeep(text string, maxChars int) []string {
	var pieces []string
	for line := range strings.SplitAfterSeq(text, "\n") {
		if CharCount(line) <= maxChars {
			pieces = append(pieces, line)
			continue
		}
		var cur []rune
		for _, r := range line {
			cur = append(cur, r)
			if strings.ContainsRune("。！？!?", r) || len(cur) == maxChars {
				pieces = append(pieces, string(cur))
				cur = nil
			}
		}
		if len(cur) > 0 {
			pieces = append(pieces, string(cur))
		}
	}
	return pieces
}
