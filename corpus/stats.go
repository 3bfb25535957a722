package corpus

import (
	"slices"
	"strings"
	"unicode"
)

// Share is the part of a corpus that one source or style contributes.
type Share struct {
	Name  string
	Docs  int
	Chars int
}

// Stats are summary figures of a corpus. Chars counts runes.
type Stats struct {
	Docs      int
	Chars     int
	Bytes     int
	HanChars  int
	Spaces    int // whitespace runes, line breaks included
	TrainDocs int
	ValDocs   int
	BySource  []Share // largest first by characters
	ByStyle   []Share // largest first by characters, with "" for untagged text
}

// HanRatio returns the share of Han characters among the non-space
// characters, the same measure as the HanRatio function.
func (s Stats) HanRatio() float64 {
	if s.Chars == s.Spaces {
		return 0
	}
	return float64(s.HanChars) / float64(s.Chars-s.Spaces)
}

// Stats computes the summary figures of the corpus.
func (c *Corpus) Stats() Stats {
	var st Stats
	bySource := map[string]*Share{}
	byStyle := map[string]*Share{}
	for _, d := range c.Docs {
		chars := CharCount(d.Text)
		st.Docs++
		st.Chars += chars
		st.Bytes += len(d.Text)
		st.HanChars += HanCount(d.Text)
		st.Spaces += spaceCount(d.Text)
		if IsValidation(d.ID) {
			st.ValDocs++
		} else {
			st.TrainDocs++
		}
		addShare(bySource, d.Source, chars)
		addShare(byStyle, d.Style, chars)
	}
	st.BySource = sortedShares(bySource)
	st.ByStyle = sortedShares(byStyle)
	return st
}

func spaceCount(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

func addShare(m map[string]*Share, name string, chars int) {
	s := m[name]
	if s == nil {
		s = &Share{Name: name}
		m[name] = s
	}
	s.Docs++
	s.Chars += chars
}

func sortedShares(m map[string]*Share) []Share {
	out := make([]Share, 0, len(m))
	for _, s := range m {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Share) int {
		if a.Chars != b.Chars {
			return b.Chars - a.Chars
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}
