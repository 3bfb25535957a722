package corpus

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Document is one unit of training text: a poem, a chapter, a copypasta
// piece or a chunk of a longer file.
type Document struct {
	ID     string // hex SHA-256 of the cleaned text
	Text   string
	Source string // source name as given to `data add`
	Style  string // style tag, e.g. "抽象", "宋词"; may be ""
}

// Source is the provenance of a group of documents.
type Source struct {
	Name    string `json:"name"`
	URL     string `json:"url,omitempty"`
	License string `json:"license"` // SPDX identifier where known, "unknown" otherwise
	Author  string `json:"author,omitempty"`
	Notice  string `json:"notice,omitempty"` // copyright notice that copies must carry
}

// Corpus is a list of documents and the sources they came from.
type Corpus struct {
	Docs    []Document
	Sources []Source
}

// MaxStyleChars is the longest style tag, in characters. Tags name a
// register such as "抽象" or "宋词", so a few words are plenty.
const MaxStyleChars = 32

// ValidateStyle checks a style tag. The trainer writes each tag into a
// special token <|style:TAG|>, so a tag must not contain "<|" or "|>",
// and it must be valid UTF-8 without whitespace or control characters
// and at most MaxStyleChars characters long. The empty tag is valid.
func ValidateStyle(style string) error {
	if style == "" {
		return nil
	}
	if !utf8.ValidString(style) {
		return fmt.Errorf("style tag %q is not valid UTF-8; give the tag as UTF-8 text",
			style)
	}
	if strings.Contains(style, "<|") || strings.Contains(style, "|>") {
		return fmt.Errorf("style tag %q contains \"<|\" or \"|>\", which would break its "+
			"special token <|style:TAG|>; remove them", style)
	}
	for _, r := range style {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("style tag %q contains whitespace or a control character "+
				"(%U); use a tag without them, e.g. 抽象", style, r)
		}
	}
	if n := utf8.RuneCountInString(style); n > MaxStyleChars {
		return fmt.Errorf("style tag %q is %d characters long; use at most %d",
			style, n, MaxStyleChars)
	}
	return nil
}

// UnknownLicense is the licence recorded for text whose licence was not
// given.
const UnknownLicense = "unknown"

// valPerMille is the share of documents, in thousandths, that Split puts in
// the validation set.
const valPerMille = 50

// IsValidation reports whether the document with the given ID belongs to
// the validation split. The decision depends on the ID alone, so it never
// changes when other documents are added.
func IsValidation(id string) bool {
	b, err := hex.DecodeString(id)
	if err != nil || len(b) < 8 {
		// An ID that is not hex is hashed first, so it still lands in a
		// fixed split.
		b = hashBytes([]byte(id))
	}
	return binary.BigEndian.Uint64(b[:8])%1000 < valPerMille
}

// Split divides the documents deterministically by ID into a training and
// a validation set. About 5% go to validation, and adding documents never
// moves existing ones between the sets.
func (c *Corpus) Split() (train, val []Document) {
	for _, d := range c.Docs {
		if IsValidation(d.ID) {
			val = append(val, d)
		} else {
			train = append(train, d)
		}
	}
	return train, val
}

// Styles returns the distinct non-empty style tags, sorted.
func (c *Corpus) Styles() []string {
	seen := map[string]bool{}
	for _, d := range c.Docs {
		if d.Style != "" {
			seen[d.Style] = true
		}
	}
	styles := make([]string, 0, len(seen))
	for s := range seen {
		styles = append(styles, s)
	}
	sort.Strings(styles)
	return styles
}

// Source returns the source with the given name.
func (c *Corpus) Source(name string) (Source, bool) {
	for _, s := range c.Sources {
		if s.Name == name {
			return s, true
		}
	}
	return Source{}, false
}

// CreditsMarkdown renders every source once, grouped by licence, as
// Markdown. Licences are sorted by name with "unknown" last, and sources by
// name within a licence. Sources that no document uses are listed too,
// because a store may keep a source whose documents were all duplicates.
func (c *Corpus) CreditsMarkdown() string {
	byLicense := map[string][]Source{}
	seen := map[string]bool{}
	for _, s := range c.Sources {
		if seen[s.Name] {
			continue
		}
		seen[s.Name] = true
		lic := s.License
		if lic == "" {
			lic = UnknownLicense
		}
		byLicense[lic] = append(byLicense[lic], s)
	}
	licenses := make([]string, 0, len(byLicense))
	for lic := range byLicense {
		licenses = append(licenses, lic)
	}
	slices.SortFunc(licenses, func(a, b string) int {
		if (a == UnknownLicense) != (b == UnknownLicense) {
			if a == UnknownLicense {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})

	var sb strings.Builder
	sb.WriteString("# Data sources\n")
	for _, lic := range licenses {
		fmt.Fprintf(&sb, "\n## Licence: %s\n\n", lic)
		sources := byLicense[lic]
		slices.SortFunc(sources, func(a, b Source) int { return strings.Compare(a.Name, b.Name) })
		for _, s := range sources {
			writeCredit(&sb, s)
		}
	}
	return sb.String()
}

func writeCredit(sb *strings.Builder, s Source) {
	fmt.Fprintf(sb, "- **%s**", s.Name)
	if s.Author != "" {
		fmt.Fprintf(sb, " by %s", s.Author)
	}
	if s.URL != "" {
		fmt.Fprintf(sb, ", <%s>", s.URL)
	}
	sb.WriteString("\n")
	if s.Notice != "" {
		for line := range strings.SplitSeq(strings.TrimSpace(s.Notice), "\n") {
			fmt.Fprintf(sb, "  > %s\n", line)
		}
	}
}
