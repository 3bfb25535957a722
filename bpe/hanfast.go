package bpe

import "unicode/utf8"

// The Han fast path. In a piece of CJK Unified Ideographs (U+4E00 to
// U+9FFF, three bytes each) most merges only assemble single characters.
// If no merge can join part of a character to its neighbour, each
// character ends as the tokens its own three bytes merge into, whatever
// surrounds it, because merges at disjoint positions do not interact.
// The encoder then starts from those precomputed tokens, not from bytes,
// and does about a third of the work.
//
// A merge can join part of a character to a neighbour only by creating a
// token that is neither valid UTF-8 nor a part of one character, such as
// "鹧\xe9\xb8" (a character and the first two bytes of the next). For each
// such token, some Han character without which it cannot form is marked
// unsafe (see markUnsafe). A piece takes the fast path only when all its
// characters are safe Han or ASCII.

const (
	hanFirst = 0x4E00
	hanLast  = 0x9FFF
)

// hanTable holds, for every character from hanFirst to hanLast, the tokens
// its three bytes merge into (n of them) and whether it is safe.
type hanTable struct {
	tokens [hanLast - hanFirst + 1][3]int32
	n      [hanLast - hanFirst + 1]uint8
	unsafe [hanLast - hanFirst + 1]bool
}

// buildHanTable returns the table for t, or nil when some merged token
// breaks characters in a way the fast path cannot account for.
func buildHanTable(t *Tokenizer) *hanTable {
	h := &hanTable{}
	for id := 256; id < len(t.tokens); id++ {
		b := t.tokens[id]
		if utf8.Valid(b) || withinOneChar(b) {
			continue
		}
		if !h.markUnsafe(b) {
			return nil
		}
	}
	e := newEncoder(t)
	var buf [3]byte
	for r := rune(hanFirst); r <= hanLast; r++ {
		utf8.EncodeRune(buf[:], r)
		syms := e.mergeBytes(string(buf[:]))
		i := r - hanFirst
		h.n[i] = uint8(copy(h.tokens[i][:], syms))
	}
	return h
}

// withinOneChar reports whether b is a contiguous part of the UTF-8
// encoding of one character: at most one lead byte, at its start, and no
// more bytes than that lead byte announces.
func withinOneChar(b []byte) bool {
	for i := 1; i < len(b); i++ {
		if !utf8.RuneStart(b[i]) {
			continue
		}
		return false
	}
	if utf8.RuneStart(b[0]) {
		return len(b) <= seqLen(b[0])
	}
	return len(b) <= 3
}

// seqLen returns the length of the UTF-8 sequence that lead byte c starts.
func seqLen(c byte) int {
	switch {
	case c < 0xC0:
		return 1
	case c < 0xE0:
		return 2
	case c < 0xF0:
		return 3
	}
	return 4
}

// markUnsafe marks Han characters so that no fast-path piece can contain
// the bytes of the cross-character token b. Every character that b
// contains whole must be present for b to form, so marking one of them is
// enough. When b contains no whole Han character, the characters whose
// head (or tail) b cuts are marked. markUnsafe reports false when b has
// another shape, such as bytes that are invalid in any position.
func (h *hanTable) markUnsafe(b []byte) bool {
	head := 0 // continuation bytes that open b: the tail of a character
	for head < len(b) && !utf8.RuneStart(b[head]) {
		head++
	}
	if head > 3 {
		return false
	}
	tail := len(b) // start of an unfinished character that ends b
	for i := len(b) - 1; i >= head && i >= len(b)-3; i-- {
		if utf8.RuneStart(b[i]) {
			if len(b)-i < seqLen(b[i]) {
				tail = i
			}
			break
		}
	}
	middle := b[head:tail]
	if !utf8.Valid(middle) {
		return false
	}
	for _, r := range string(middle) {
		switch {
		case r >= hanFirst && r <= hanLast:
			h.unsafe[r-hanFirst] = true
			return true
		case r >= utf8.RuneSelf:
			return true // fast-path pieces never contain r
		}
	}
	switch {
	case tail < len(b) && len(b)-tail < 3 && seqLen(b[tail]) == 3:
		// Characters whose encoding starts with b[tail:]: a block of 4096
		// (one lead byte) or 64 (lead and one continuation byte).
		lo := rune(b[tail]&0x0F) << 12
		hi := lo + 0xFFF
		if len(b)-tail == 2 {
			lo |= rune(b[tail+1]&0x3F) << 6
			hi = lo + 0x3F
		}
		h.markRange(lo, hi, 1)
	case tail == len(b) && head > 0 && head < 3:
		// Characters whose encoding ends with b[:head]: every 64th (one
		// byte) or every 4096th (two bytes) code point.
		low := rune(b[head-1] & 0x3F)
		step := rune(64)
		if head == 2 {
			low |= rune(b[0]&0x3F) << 6
			step = 4096
		}
		first := hanFirst - hanFirst%step + low
		h.markRange(first, hanLast, step)
	}
	return true
}

// markRange marks the Han characters lo, lo+step, ... up to hi.
func (h *hanTable) markRange(lo, hi, step rune) {
	for r := lo; r <= hi; r += step {
		if r >= hanFirst && r <= hanLast {
			h.unsafe[r-hanFirst] = true
		}
	}
}

// initHan fills syms with the precomputed tokens of piece p and reports
// true when every character of p is ASCII or a safe Han character.
func (e *encoder) initHan(p string) ([]int32, bool) {
	h := e.t.han
	syms := e.syms[:0]
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			syms = append(syms, int32(c))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(p[i:])
		if r < hanFirst || r > hanLast || h.unsafe[r-hanFirst] {
			return nil, false
		}
		k := r - hanFirst
		syms = append(syms, h.tokens[k][:h.n[k]]...)
		i += size
	}
	e.syms = syms
	return syms, true
}
