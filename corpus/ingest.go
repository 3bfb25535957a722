package corpus

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Record is one document as read from a file, before cleaning.
type Record struct {
	Text  string
	Style string // style given inside the file, "" when none
	// Origin names the place in the input, such as "a.jsonl:12", for
	// reports of dropped documents.
	Origin string
}

// PieceSeparator is the line that separates documents inside a plain text
// or Markdown file.
const PieceSeparator = "==="

// MaxDocChars is the length, in characters, above which a cleaned
// document is cut into chunks at line or sentence ends. Chunks keep the
// deterministic split fine-grained: a whole novel as one document would
// land entirely in training or entirely in validation.
const MaxDocChars = 4000

// Formats recognised by file extension.
var formatByExt = map[string]string{
	".txt":   "text",
	".text":  "text",
	".md":    "markdown",
	".jsonl": "jsonl",
	".json":  "poetry",
}

// IsSupported reports whether the extension of path is one that folder
// walks pick up: .txt, .text, .md, .jsonl or .json.
func IsSupported(path string) bool {
	_, ok := formatByExt[strings.ToLower(filepath.Ext(path))]
	return ok
}

// ReadFile reads one input file and returns its records and the text
// encoding it was read as. The extension picks the format: .md is
// Markdown, .jsonl is JSON Lines with a "text" field per line, .json is
// the chinese-poetry layout, and any other file is plain text.
func ReadFile(path string) ([]Record, string, error) {
	format, ok := formatByExt[strings.ToLower(filepath.Ext(path))]
	if !ok {
		format = "text"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	text, enc, err := DecodeText(path, data)
	if err != nil {
		return nil, "", err
	}
	var recs []Record
	switch format {
	case "text":
		recs = ParseText(path, text)
	case "markdown":
		recs = ParseMarkdown(path, text)
	case "jsonl":
		recs, err = ParseJSONLines(path, text)
	case "poetry":
		recs, err = ParsePoetryJSON(path, text)
	}
	return recs, enc, err
}

// ParseText splits plain text into pieces at lines that are exactly
// PieceSeparator. A file without separators is one piece.
func ParseText(name, text string) []Record {
	var recs []Record
	var cur strings.Builder
	n := 0
	flush := func() {
		if strings.TrimSpace(cur.String()) != "" {
			n++
			recs = append(recs, Record{Text: cur.String(), Origin: fmt.Sprintf("%s#%d", name, n)})
		}
		cur.Reset()
	}
	for line := range strings.SplitSeq(text, "\n") {
		if strings.TrimSpace(line) == PieceSeparator {
			flush()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	return recs
}

var (
	mdFrontMatter = regexp.MustCompile(`(?s)\A---\n.*?\n---\n`)
	mdFence       = regexp.MustCompile("(?ms)^ {0,3}(```|~~~).*?^ {0,3}(```|~~~)[^\n]*$")
	mdImage       = regexp.MustCompile(`!\[[^\]]*\]\([^)]*\)`)
	mdLink        = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	mdRefLink     = regexp.MustCompile(`\[([^\]]*)\]\[[^\]]*\]`)
	mdRefDef      = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:[ \t]*\S+.*$`)
	mdATXClose    = regexp.MustCompile(`(?m)^( {0,3}#{1,6} .*?)[ \t]+#+[ \t]*$`)
	mdTableDelim  = regexp.MustCompile(`(?m)^[ \t]*\|?[ \t]*:?-+:?[ \t]*` +
		`(\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$\n?`)
	mdTableRow = regexp.MustCompile(`(?m)^[ \t]*\|.*\|[ \t]*$`)
	// List and quote markers nest ("> - item", "    1. item"), so any
	// run of them at any indentation is removed.
	mdLineMarker = regexp.MustCompile(`(?m)^[ \t]*(?:#{1,6} +|(?:> ?|[-*+] +|\d+[.)] +)+)`)
	// Emphasis and code marks are removed only in pairs around text, so a
	// lone * as in 5*3 stays. RE2 has no backreferences, so the counts of
	// opening and closing marks are not matched.
	mdEmphasis = []*regexp.Regexp{
		regexp.MustCompile(`\*{1,3}(\S(?:[^*\n]*?\S)?)\*{1,3}`),
		regexp.MustCompile(`_{2,3}(\S(?:[^_\n]*?\S)?)_{2,3}`),
		regexp.MustCompile(`~~([^~\n]+)~~`),
		regexp.MustCompile("`+([^`\n]+)`+"),
	}
	mdSetext = regexp.MustCompile(`^ {0,3}(=+|-+) *$`)
	mdBreak  = regexp.MustCompile(`^ {0,3}((- *){3,}|(\* *){3,}|(_ *){3,})$`)
)

// ParseMarkdown strips Markdown syntax that is not text (front matter,
// code blocks, images, link targets and reference definitions, heading,
// quote and list markers, table pipes and delimiter rows, emphasis marks)
// and splits the rest into pieces. A thematic break (---,
// *** or ___ on its own line) separates pieces, as does a PieceSeparator
// line after a blank line. Directly under a line of text, === and ---
// underline a setext heading, so they are dropped and split nothing.
func ParseMarkdown(name, text string) []Record {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = mdFrontMatter.ReplaceAllString(text, "")
	text = mdFence.ReplaceAllString(text, "")
	text = markdownPieces(text)
	text = mdImage.ReplaceAllString(text, "")
	text = mdRefDef.ReplaceAllString(text, "")
	text = mdLink.ReplaceAllString(text, "$1")
	text = mdRefLink.ReplaceAllString(text, "$1")
	text = mdATXClose.ReplaceAllString(text, "$1")
	text = mdTableDelim.ReplaceAllString(text, "")
	text = mdTableRow.ReplaceAllStringFunc(text, func(row string) string {
		return strings.ReplaceAll(row, "|", " ")
	})
	text = mdLineMarker.ReplaceAllString(text, "")
	for _, re := range mdEmphasis {
		text = re.ReplaceAllString(text, "$1")
	}
	return ParseText(name, text)
}

// markdownPieces drops setext heading underlines and replaces thematic
// breaks with PieceSeparator lines.
func markdownPieces(text string) string {
	var sb strings.Builder
	prevBlank := true
	for line := range strings.SplitSeq(text, "\n") {
		switch {
		case !prevBlank && mdSetext.MatchString(line):
		case mdBreak.MatchString(line):
			sb.WriteString(PieceSeparator + "\n")
		default:
			sb.WriteString(line + "\n")
		}
		prevBlank = strings.TrimSpace(line) == ""
	}
	return sb.String()
}

// jsonLine is one line of a JSON Lines input. Content is accepted in
// place of text, and a title becomes the first line of the document.
type jsonLine struct {
	Text    *string `json:"text"`
	Content *string `json:"content"`
	Title   string  `json:"title"`
	Style   string  `json:"style"`
}

// ParseJSONLines reads one JSON object per line with a "text" (or
// "content") string and optional "title" and "style". Blank lines are
// skipped; any other line that is not such an object is an error naming
// the line.
func ParseJSONLines(name, text string) ([]Record, error) {
	var recs []Record
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 64<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var jl jsonLine
		if err := json.Unmarshal(line, &jl); err != nil {
			return nil, fmt.Errorf("%s:%d: invalid JSON object: %w", name, lineNo, err)
		}
		body := jl.Text
		if body == nil {
			body = jl.Content
		}
		if body == nil {
			return nil, fmt.Errorf("%s:%d: missing \"text\" field; each line needs "+
				"{\"text\": \"...\"}", name, lineNo)
		}
		if err := ValidateStyle(jl.Style); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
		t := *body
		if jl.Title != "" {
			t = jl.Title + "\n" + t
		}
		recs = append(recs, Record{Text: t, Style: jl.Style,
			Origin: fmt.Sprintf("%s:%d", name, lineNo)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, lineNo+1, err)
	}
	return recs, nil
}
