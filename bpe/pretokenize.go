package bpe

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// Rune classes of the pre-tokenizer.
const (
	classOther     = iota // ASCII and other half-width punctuation, symbols, invalid bytes
	classLetter           // letters and combining marks outside the Han script
	classHan              // Han characters
	classDigit            // \p{N}
	classSpace            // unicode.IsSpace
	classFullPunct        // full-width (CJK) punctuation
)

// asciiClass caches the class of every ASCII byte.
var asciiClass = func() [128]uint8 {
	var t [128]uint8
	for b := 0; b < 128; b++ {
		t[b] = uint8(classifyRune(rune(b)))
	}
	return t
}()

// classifyRune returns the pre-tokenizer class of r.
func classifyRune(r rune) int {
	switch {
	case r >= 0x4E00 && r <= 0x9FFF:
		return classHan
	case r == utf8.RuneError:
		return classOther
	case unicode.IsSpace(r):
		return classSpace
	case unicode.Is(unicode.Han, r):
		return classHan
	case unicode.IsLetter(r) || unicode.IsMark(r):
		return classLetter
	case unicode.IsNumber(r):
		return classDigit
	case isFullWidthPunct(r):
		return classFullPunct
	}
	return classOther
}

// isFullWidthPunct reports whether r is punctuation used in Chinese text:
// the CJK Symbols and Punctuation block (。、《》「」), the full-width forms
// (，！？：；（）), CJK compatibility forms, and the curly quotes, dashes,
// ellipsis and middle dot that Chinese typesetting uses.
func isFullWidthPunct(r rune) bool {
	switch {
	case r >= 0x3001 && r <= 0x303F:
		return true
	case r >= 0xFE30 && r <= 0xFE4F:
		return true
	case r >= 0xFF00 && r <= 0xFFEF:
		return true
	}
	switch r {
	case '‘', '’', '“', '”', '…', '—', '·', '～':
		return true
	}
	return false
}

// bmpClass caches the class of every rune of the Basic Multilingual
// Plane; the unicode table searches in classifyRune dominated the
// pre-tokenizer on Chinese text. It is built on first use (about 5 ms).
var (
	bmpOnce  sync.Once
	bmpClass []uint8
)

func buildBMPClass() {
	bmpClass = make([]uint8, 1<<16)
	for r := range bmpClass {
		bmpClass[r] = uint8(classifyRune(rune(r)))
	}
}

// class returns the class and byte length of the rune at the start of s.
// An invalid byte is one rune of classOther.
func class(s string) (int, int) {
	if b := s[0]; b < utf8.RuneSelf {
		return int(asciiClass[b]), 1
	}
	r, size := utf8.DecodeRuneInString(s)
	if r < 1<<16 {
		bmpOnce.Do(buildBMPClass)
		return int(bmpClass[r]), size
	}
	return classifyRune(r), size
}

// nextPiece returns the byte length of the pre-token at the start of s,
// which must not be empty. The rules, tried in order at each position:
//
//   - An English contraction ('s 't 're 've 'm 'll 'd, any case) is a piece.
//   - One space (U+0020) followed by a letter, a Han character or
//     punctuation joins the piece that follows it (the leading-space rule).
//   - A run of non-Han letters (with combining marks) is a piece.
//   - A run of Han characters is a piece, however long: a Chinese clause
//     between two punctuation marks stays whole, so merges may span words.
//   - Digits come in groups of at most three, without a leading space.
//   - A run of full-width punctuation, or a run of other punctuation and
//     symbols, is a piece and takes the line breaks (\r, \n) right after it.
//   - A whitespace run that contains a line break ends after its last line
//     break. Otherwise a whitespace run followed by a non-space gives its
//     last space to the next piece (trailing-space rule): "a   b" splits as
//     "a", "  ", " b".
func nextPiece(s string) int {
	if n := contraction(s); n > 0 {
		return n
	}
	c, size := class(s)
	start := 0
	if s[0] == ' ' && len(s) > 1 {
		next, _ := class(s[1:])
		switch next {
		case classLetter, classHan, classOther, classFullPunct:
			c, start = next, 1
			_, size = class(s[1:])
		}
	}
	i := start + size
	switch c {
	case classLetter, classHan:
		for i < len(s) {
			nc, n := class(s[i:])
			if nc != c && !(nc == classLetter && c == classHan && isMarkAt(s[i:])) {
				break
			}
			i += n
		}
		return i
	case classDigit:
		for k := 1; k < 3 && i < len(s); k++ {
			nc, n := class(s[i:])
			if nc != classDigit {
				break
			}
			i += n
		}
		return i
	case classOther, classFullPunct:
		for i < len(s) {
			nc, n := class(s[i:])
			if nc != c {
				break
			}
			i += n
		}
		for i < len(s) && (s[i] == '\r' || s[i] == '\n') {
			i++
		}
		return i
	}
	return spacePiece(s)
}

// isMarkAt reports whether s starts with a combining mark, which extends a
// run of Han characters as it extends a run of letters.
func isMarkAt(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r >= utf8.RuneSelf && unicode.IsMark(r)
}

// spacePiece returns the length of the whitespace piece at the start of s.
func spacePiece(s string) int {
	end, lastBreak, runes, lastStart := 0, -1, 0, 0
	for end < len(s) {
		c, n := class(s[end:])
		if c != classSpace {
			break
		}
		if s[end] == '\r' || s[end] == '\n' {
			lastBreak = end
		}
		lastStart = end
		runes++
		end += n
	}
	if lastBreak >= 0 {
		return lastBreak + 1
	}
	if end < len(s) && runes > 1 {
		return lastStart
	}
	return end
}

// contraction returns the length of an English contraction at the start of
// s, or 0.
func contraction(s string) int {
	if len(s) < 2 || s[0] != '\'' {
		return 0
	}
	lower := func(b byte) byte { return b | 0x20 }
	switch lower(s[1]) {
	case 's', 't', 'm', 'd':
		return 2
	}
	if len(s) < 3 {
		return 0
	}
	two := string([]byte{lower(s[1]), lower(s[2])})
	switch two {
	case "re", "ve", "ll":
		return 3
	}
	return 0
}

// PreTokenize splits text into the pieces that merges never cross. Joining
// the pieces gives text back byte for byte, invalid UTF-8 included.
func PreTokenize(text string) []string {
	var pieces []string
	for len(text) > 0 {
		n := nextPiece(text)
		pieces = append(pieces, text[:n])
		text = text[n:]
	}
	return pieces
}

// splitPoints returns up to parts-1 offsets that cut text into chunks of
// about equal size at pre-token boundaries, so that each chunk can be
// pre-tokenized on its own with the same result. A cut is placed right
// after a line break that is followed by a letter, Han character or digit:
// no rule of nextPiece joins a line break to what follows it.
func splitPoints(text string, parts int) []int {
	var cuts []int
	prev := 0
	for k := 1; k < parts; k++ {
		at := len(text) * k / parts
		if at < prev {
			at = prev
		}
		for at < len(text)-1 {
			if text[at] == '\n' {
				c, _ := class(text[at+1:])
				if c == classLetter || c == classHan || c == classDigit {
					break
				}
			}
			at++
		}
		if at >= len(text)-1 {
			break
		}
		cuts = append(cuts, at+1)
		prev = at + 1
	}
	return cuts
}
