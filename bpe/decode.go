package bpe

import (
	"unicode/utf8"
)

// replacement is the UTF-8 encoding of U+FFFD.
const replacement = "\uFFFD"

// Decode returns the bytes of ids joined: exactly the bytes that Encode
// was given, and the text of each special. An id outside the vocabulary
// decodes to U+FFFD.
func (t *Tokenizer) Decode(ids []int) []byte {
	n := 0
	for _, id := range ids {
		n += len(t.TokenBytes(id))
	}
	out := make([]byte, 0, n)
	for _, id := range ids {
		b := t.TokenBytes(id)
		if b == nil {
			out = append(out, replacement...)
			continue
		}
		out = append(out, b...)
	}
	return out
}

// StreamDecoder turns ids into text one id at a time without ever
// emitting part of a character: a multi-byte character whose bytes are
// split across tokens is held back until its last byte arrives.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte
}

// NewStreamDecoder returns a decoder with nothing pending.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t}
}

// Push adds the bytes of id and returns the text that is now complete.
// Bytes that cannot start or continue a valid UTF-8 sequence are emitted
// as U+FFFD at once, so invalid input never stalls the stream. Only a tail
// that may still become a valid character is held back. An id outside the
// vocabulary yields U+FFFD.
func (d *StreamDecoder) Push(id int) string {
	b := d.t.TokenBytes(id)
	if b == nil {
		b = []byte(replacement)
	}
	d.pending = append(d.pending, b...)
	var out []byte
	i := 0
	for i < len(d.pending) {
		r, size := utf8.DecodeRune(d.pending[i:])
		if r == utf8.RuneError && size <= 1 {
			if !utf8.FullRune(d.pending[i:]) {
				break
			}
			out = append(out, replacement...)
			i++
			continue
		}
		out = append(out, d.pending[i:i+size]...)
		i += size
	}
	d.pending = append(d.pending[:0], d.pending[i:]...)
	return string(out)
}

// Flush returns what is still pending, each invalid byte as U+FFFD, and
// leaves the decoder empty.
func (d *StreamDecoder) Flush() string {
	var out []byte
	for i := 0; i < len(d.pending); {
		r, size := utf8.DecodeRune(d.pending[i:])
		if r == utf8.RuneError && size <= 1 {
			out = append(out, replacement...)
			i++
			continue
		}
		out = append(out, d.pending[i:i+size]...)
		i += size
	}
	d.pending = d.pending[:0]
	return string(out)
}
