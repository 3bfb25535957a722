package corpus

import (
	"html"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Default cleaning thresholds. Eight characters keeps a four-character
// couplet pair from the classics and drops stray headings and signatures.
const (
	DefaultMinChars    = 8
	DefaultMinHanRatio = 0.3
)

// Filter holds the thresholds that decide which cleaned documents to keep.
type Filter struct {
	// MinChars is the minimum length in characters (runes) after cleaning.
	MinChars int
	// MinHanRatio is the minimum share of Han characters among the
	// non-space characters, from 0 to 1.
	MinHanRatio float64
}

// DefaultFilter returns the thresholds used when none are given.
func DefaultFilter() Filter {
	return Filter{MinChars: DefaultMinChars, MinHanRatio: DefaultMinHanRatio}
}

// Reason is the cause for dropping a document.
type Reason string

// Reasons reported by Filter.Check and the deduplicator.
const (
	Kept           Reason = ""
	TooShort       Reason = "too short"
	LowHanRatio    Reason = "low Han ratio"
	ExactDuplicate Reason = "exact duplicate"
	NearDuplicate  Reason = "near duplicate"
)

// Check returns Kept when the cleaned text passes both thresholds, or the
// reason it fails.
func (f Filter) Check(text string) Reason {
	if CharCount(text) < f.MinChars {
		return TooShort
	}
	if HanRatio(text) < f.MinHanRatio {
		return LowHanRatio
	}
	return Kept
}

var (
	htmlComment   = regexp.MustCompile(`(?s)<!--.*?-->`)
	htmlScript    = regexp.MustCompile(`(?is)<(script|style)\b[^>]*>.*?</(script|style)\s*>`)
	htmlLineBreak = regexp.MustCompile(`(?i)<br\s*/?>|</(p|div|li|h[1-6]|tr)\s*>`)
	htmlTag       = regexp.MustCompile(`</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>`)
)

// Clean normalizes text for training. It removes HTML comments, scripts
// and tags, decodes entities (and removes tags that decoding reveals), and
// puts the text in Unicode NFC. It drops control and invisible format
// characters, turns each run of whitespace inside a line into one space,
// trims lines, and keeps at most one blank line in a row. Line breaks
// survive because poems and dialogues need them.
func Clean(s string) string {
	s = stripHTML(s)
	if strings.ContainsRune(s, '&') {
		// Scraped text often carries tags escaped once more
		// (&lt;p&gt;), which only show up after decoding.
		s = stripHTML(html.UnescapeString(s))
	}
	s = norm.NFC.String(s)

	var sb strings.Builder
	sb.Grow(len(s))
	blankLines := 0
	wrote := false
	for line := range strings.SplitSeq(normalizeNewlines(s), "\n") {
		line = cleanLine(line)
		if line == "" {
			blankLines++
			continue
		}
		if wrote {
			sb.WriteByte('\n')
			if blankLines > 0 {
				sb.WriteByte('\n')
			}
		}
		sb.WriteString(line)
		wrote = true
		blankLines = 0
	}
	return sb.String()
}

func stripHTML(s string) string {
	if !strings.ContainsRune(s, '<') {
		return s
	}
	s = htmlComment.ReplaceAllString(s, "")
	s = htmlScript.ReplaceAllString(s, "")
	s = htmlLineBreak.ReplaceAllString(s, "\n")
	return htmlTag.ReplaceAllString(s, "")
}

func normalizeNewlines(s string) string {
	if !strings.ContainsRune(s, '\r') {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// cleanLine drops control and invisible characters, collapses whitespace
// runs (the ideographic space U+3000 included) to one ASCII space, and
// trims the line.
func cleanLine(line string) string {
	var sb strings.Builder
	space := false
	for _, r := range line {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case isInvisible(r):
			continue
		}
		if space && sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		space = false
		sb.WriteRune(r)
	}
	return sb.String()
}

// isInvisible reports control characters and the format characters that
// carry no text: zero-width space, byte order mark, soft hyphen, word
// joiner and direction marks. The zero-width joiner stays because emoji
// sequences need it.
func isInvisible(r rune) bool {
	if unicode.IsControl(r) {
		return true
	}
	switch r {
	case '\u200b', '\ufeff', '\u00ad', '\u2060', '\u200e', '\u200f', '\ufffe':
		return true
	}
	return false
}

// CharCount returns the number of runes in s.
func CharCount(s string) int {
	n := 0
	for range s {
		n++
	}
	return n
}

// HanRatio returns the share of Han characters among the non-space runes
// of s, or 0 for text without any.
func HanRatio(s string) float64 {
	han, total := 0, 0
	for _, r := range s {
		if unicode.IsSpace(r) {
			continue
		}
		total++
		if unicode.Is(unicode.Han, r) {
			han++
		}
	}
	if total == 0 {
		return 0
	}
	return float64(han) / float64(total)
}

// HanCount returns the number of Han characters in s.
func HanCount(s string) int {
	n := 0
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			n++
		}
	}
	return n
}
