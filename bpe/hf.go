package bpe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ByteToUnicode returns GPT-2's byte-to-unicode alphabet: the printable
// Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') map to themselves and the
// other 68 bytes, in increasing order, to U+0100, U+0101, ... So a space
// (0x20) becomes 'Ġ' (U+0120) and every token is a printable string.
func ByteToUnicode() [256]rune {
	var m [256]rune
	next := rune(256)
	for b := 0; b < 256; b++ {
		printable := (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		if printable {
			m[b] = rune(b)
		} else {
			m[b] = next
			next++
		}
	}
	return m
}

// hfPreTokenizerPattern is the pre-tokenizer of this package written as an
// Oniguruma regular expression, for the Split step of tokenizer.json. Each
// alternative is one rule of nextPiece, in the same order.
//
// NOTE: agreement with PreTokenize was checked through Hugging Face
// tokenizers 0.23.2 on the benchmark's Chinese held-out text and on
// bench/tokenizer/mixed.txt (English, digits, spaces, emoji, full-width
// forms), not on every Unicode class.
var hfPreTokenizerPattern = strings.Join([]string{
	`'(?i:[sdmt]|ll|ve|re)`,
	` ?\p{Han}[\p{Han}\p{M}]*`,
	` ?[\p{L}\p{M}&&[^\p{Han}]]+`,
	`\p{N}{1,3}`,
	` ?[` + fullWidthSet + `&&[^\s\p{L}\p{N}\p{M}]]+[\r\n]*`,
	` ?[^\s\p{L}\p{N}\p{M}` + fullWidthSet + `]+[\r\n]*`,
	`\s*[\r\n]`,
	`\s+(?!\S)`,
	`\s+`,
}, "|")

// fullWidthSet is the set of isFullWidthPunct, without brackets.
const fullWidthSet = `\x{3001}-\x{303F}\x{FE30}-\x{FE4F}\x{FF00}-\x{FFEF}` +
	`\x{2018}\x{2019}\x{201C}\x{201D}\x{2026}\x{2014}\x{00B7}\x{FF5E}`

// WriteHFJSON writes t as a Hugging Face tokenizer.json: a BPE model over
// GPT-2's byte-to-unicode alphabet, with vocab ids equal to this package's
// ids, the merges in rank order, and the specials as added tokens. The
// pre-tokenizer is a regex Split followed by ByteLevel without its own
// regex, so Hugging Face splits text as PreTokenize does.
func (t *Tokenizer) WriteHFJSON(w io.Writer) error {
	alphabet := ByteToUnicode()
	name := func(id int) string {
		var b strings.Builder
		for _, c := range t.tokens[id] {
			b.WriteRune(alphabet[c])
		}
		return b.String()
	}

	var buf bytes.Buffer
	buf.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n")
	buf.WriteString("  \"added_tokens\": [")
	for i, s := range t.specials {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, "\n    {\"id\": %d, \"content\": %s, \"single_word\": false, "+
			"\"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}",
			len(t.tokens)+i, jsonString(s))
	}
	buf.WriteString("\n  ],\n  \"normalizer\": null,\n")
	fmt.Fprintf(&buf, "  \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [\n"+
		"    {\"type\": \"Split\", \"pattern\": {\"Regex\": %s}, \"behavior\": \"Isolated\", "+
		"\"invert\": false},\n"+
		"    {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, "+
		"\"use_regex\": false}\n  ]},\n", jsonString(hfPreTokenizerPattern))
	buf.WriteString("  \"post_processor\": null,\n")
	buf.WriteString("  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, " +
		"\"trim_offsets\": true, \"use_regex\": false},\n")
	buf.WriteString("  \"model\": {\n    \"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, " +
		"\"continuing_subword_prefix\": null, \"end_of_word_suffix\": null, " +
		"\"fuse_unk\": false, \"byte_fallback\": false, \"ignore_merges\": false,\n")
	buf.WriteString("    \"vocab\": {")
	for id := range t.tokens {
		if id > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, "\n      %s: %d", jsonString(name(id)), id)
	}
	for i, s := range t.specials {
		fmt.Fprintf(&buf, ",\n      %s: %d", jsonString(s), len(t.tokens)+i)
	}
	buf.WriteString("\n    },\n    \"merges\": [")
	for i, m := range t.merges {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, "\n      %s", jsonString(name(int(m[0]))+" "+name(int(m[1]))))
	}
	buf.WriteString("\n    ]\n  }\n}\n")
	_, err := w.Write(buf.Bytes())
	return err
}

// jsonString returns s as a JSON string literal without HTML escaping.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

type hfAddedToken struct {
	ID      int    `json:"id"`
	Content string `json:"content"`
}

// hfFile is the part of tokenizer.json that ReadHFJSON uses.
type hfFile struct {
	AddedTokens []hfAddedToken `json:"added_tokens"`
	Model       struct {
		Type   string            `json:"type"`
		Vocab  map[string]int    `json:"vocab"`
		Merges []json.RawMessage `json:"merges"`
	} `json:"model"`
}

// ReadHFJSON reads a tokenizer.json with the layout WriteHFJSON writes:
// a byte-level BPE whose ids 0..255 are the bytes in order, whose merge i
// creates id 256+i, and whose added tokens follow the merges. Other
// layouts, such as GPT-2's own vocabulary, are rejected with an error.
func ReadHFJSON(r io.Reader) (*Tokenizer, error) {
	var f hfFile
	if err := json.NewDecoder(r).Decode(&f); err != nil {
		return nil, fmt.Errorf("bpe: parse tokenizer.json: %w", err)
	}
	if f.Model.Type != "BPE" {
		return nil, fmt.Errorf("bpe: tokenizer.json model type %q is not supported; want \"BPE\"",
			f.Model.Type)
	}
	alphabet := ByteToUnicode()
	for b := 0; b < 256; b++ {
		name := string(alphabet[b])
		if id, ok := f.Model.Vocab[name]; !ok || id != b {
			return nil, fmt.Errorf("bpe: tokenizer.json vocab gives byte token %q id %d; "+
				"only files with the bytes as ids 0..255 are supported", name, id)
		}
	}

	byName := make(map[string]int32, 256+len(f.Model.Merges))
	for b := 0; b < 256; b++ {
		byName[string(alphabet[b])] = int32(b)
	}
	merges := make([][2]int32, len(f.Model.Merges))
	for i, raw := range f.Model.Merges {
		left, right, err := parseHFMerge(raw)
		if err != nil {
			return nil, fmt.Errorf("bpe: tokenizer.json merge %d: %w", i, err)
		}
		a, okA := byName[left]
		b, okB := byName[right]
		if !okA || !okB {
			return nil, fmt.Errorf("bpe: tokenizer.json merge %d (%q %q) uses a token that no "+
				"earlier merge creates", i, left, right)
		}
		id := 256 + i
		if got, ok := f.Model.Vocab[left+right]; !ok || got != id {
			return nil, fmt.Errorf("bpe: tokenizer.json merge %d creates %q with vocab id %d; "+
				"want %d (merges in id order)", i, left+right, got, id)
		}
		byName[left+right] = int32(id)
		merges[i] = [2]int32{a, b}
	}

	added := slices.Clone(f.AddedTokens)
	slices.SortFunc(added, func(x, y hfAddedToken) int { return x.ID - y.ID })
	specials := make([]string, len(added))
	for i, a := range added {
		if want := 256 + len(merges) + i; a.ID != want {
			return nil, fmt.Errorf("bpe: tokenizer.json added token %q has id %d; want %d "+
				"(added tokens right after the merges)", a.Content, a.ID, want)
		}
		specials[i] = a.Content
	}
	return newTokenizer(merges, specials)
}

// parseHFMerge accepts both merge forms of tokenizer.json: "a b" and
// ["a", "b"].
func parseHFMerge(raw json.RawMessage) (string, string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		left, right, ok := strings.Cut(s, " ")
		if !ok {
			return "", "", fmt.Errorf("invalid merge %q; want two tokens separated by a space", s)
		}
		return left, right, nil
	}
	var pair []string
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return "", "", fmt.Errorf("invalid merge %s; want \"a b\" or [\"a\", \"b\"]", raw)
	}
	return pair[0], pair[1], nil
}
