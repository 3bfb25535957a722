package corpus

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// poetrySkipKeys are the keys of the chinese-poetry layout whose values are
// commentary or metadata rather than the work itself.
var poetrySkipKeys = map[string]bool{
	"notes": true, "comment": true, "abstract": true, "prologue": true,
	"desc": true, "description": true, "preface": true, "spells": true,
	"tags": true, "strains": true,
}

// maxAuthorChars bounds the author line: some files put a biography in the
// author field, which is commentary and not part of the work.
const maxAuthorChars = 24

// ParsePoetryJSON reads the JSON layout of the chinese-poetry collection.
// The folders differ, so the parser walks the whole tree: every object
// with a "paragraphs", "para" or "content" list of strings (or a
// "content" string) is one work, and other objects and arrays are
// searched for works. Commentary fields (notes, comment, abstract,
// prologue, preface and the like) are skipped. Each work becomes a
// document whose first line is its title ("title", else "rhythmic", else
// "chapter"), second line its author when short, then one line per
// paragraph.
func ParsePoetryJSON(name, text string) ([]Record, error) {
	var root any
	if err := json.Unmarshal([]byte(text), &root); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", name, err)
	}
	p := poetryParser{name: name}
	p.walk(root)
	if len(p.recs) == 0 {
		return nil, fmt.Errorf("%s: no chinese-poetry works found (objects with a "+
			"\"paragraphs\", \"para\" or \"content\" list of strings)", name)
	}
	return p.recs, nil
}

type poetryParser struct {
	name string
	recs []Record
}

func (p *poetryParser) walk(v any) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			p.walk(e)
		}
	case map[string]any:
		if lines, ok := poetryBody(v); ok {
			p.add(v, lines)
			return
		}
		// Sorted keys keep the document order the same on every run.
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if !poetrySkipKeys[k] {
				p.walk(v[k])
			}
		}
	}
}

// poetryBody returns the lines of a work, or false when the object is
// not one.
func poetryBody(obj map[string]any) ([]string, bool) {
	for _, key := range []string{"paragraphs", "para", "content"} {
		switch v := obj[key].(type) {
		case string:
			if key == "content" {
				return []string{v}, true
			}
		case []any:
			lines := make([]string, 0, len(v))
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					lines = nil
					break
				}
				lines = append(lines, s)
			}
			if lines != nil {
				return lines, true
			}
		}
	}
	return nil, false
}

func (p *poetryParser) add(obj map[string]any, lines []string) {
	var sb strings.Builder
	for _, key := range []string{"title", "rhythmic", "chapter"} {
		if s, ok := obj[key].(string); ok && strings.TrimSpace(s) != "" {
			sb.WriteString(strings.TrimSpace(s))
			sb.WriteByte('\n')
			break
		}
	}
	if a, ok := obj["author"].(string); ok {
		a = strings.TrimSpace(a)
		if a != "" && CharCount(a) <= maxAuthorChars {
			sb.WriteString(a)
			sb.WriteByte('\n')
		}
	}
	for _, l := range lines {
		sb.WriteString(l)
		sb.WriteByte('\n')
	}
	p.recs = append(p.recs, Record{
		Text:   sb.String(),
		Origin: fmt.Sprintf("%s#%d", p.name, len(p.recs)+1),
	})
}
