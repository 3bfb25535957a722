package corpus

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	xunicode "golang.org/x/text/encoding/unicode"
)

// Encoding names returned by DecodeText.
const (
	EncodingUTF8    = "UTF-8"
	EncodingUTF16LE = "UTF-16LE"
	EncodingUTF16BE = "UTF-16BE"
	EncodingGB18030 = "GB18030"
	EncodingBig5    = "Big5"
)

// DecodeError reports bytes that no supported encoding could decode.
type DecodeError struct {
	Name string
	// Offsets maps each encoding tried to the byte offset of the first
	// sequence it could not decode.
	Offsets map[string]int
	// InvalidUTF8 lists the offsets of the first invalid bytes of a file
	// that is mostly UTF-8 (see mostlyUTF8), at most maxListedBad of them,
	// and InvalidCount counts them all. Both are empty for other files.
	InvalidUTF8  []int
	InvalidCount int
	tried        []string
}

// maxListedBad is how many invalid byte offsets a DecodeError lists.
const maxListedBad = 8

// likelyReadAt is the offset from which the encoding that decodes the
// longest prefix is named as the likely one. 64 bytes is over 20 Chinese
// characters, and a wrong encoding usually fails sooner, but GBK bytes can
// also read as Big5 for a long way, so the name is only a guess.
const likelyReadAt = 64

func (e *DecodeError) Error() string {
	if e.InvalidCount > 0 {
		return e.invalidUTF8Error()
	}
	parts := make([]string, 0, len(e.tried))
	best, bestEnc, tie := -1, "", false
	for _, enc := range e.tried {
		off := e.Offsets[enc]
		parts = append(parts, fmt.Sprintf("%s at byte offset %d", enc, off))
		switch {
		case off > best:
			best, bestEnc, tie = off, enc, false
		case off == best:
			tie = true
		}
	}
	fix := "convert the file to UTF-8, or leave it out if it is not text"
	if best >= likelyReadAt && !tie {
		fix = fmt.Sprintf("the file looks like %s up to offset %d, so repair or remove "+
			"the bytes there", bestEnc, best)
		if bestEnc != EncodingUTF8 {
			fix += ", or convert the file to UTF-8"
		}
	}
	return fmt.Sprintf("%s: undecodable bytes (%s); %s", e.Name, strings.Join(parts, ", "), fix)
}

func (e *DecodeError) invalidUTF8Error() string {
	offs := make([]string, len(e.InvalidUTF8))
	for i, off := range e.InvalidUTF8 {
		offs[i] = fmt.Sprint(off)
	}
	list := strings.Join(offs, ", ")
	if e.InvalidCount > len(e.InvalidUTF8) {
		list += ", ..."
	}
	return fmt.Sprintf("%s: %d invalid UTF-8 bytes at byte offsets %s in otherwise valid "+
		"UTF-8 text; the file looks like UTF-8 up to offset %d, so repair or remove "+
		"the bytes there", e.Name, e.InvalidCount, list, e.Offsets[EncodingUTF8])
}

// DecodeText converts the bytes of a text file to UTF-8 and returns the
// text with the name of the encoding it was read as. A UTF-8 or UTF-16
// byte order mark decides the encoding. Without one, valid UTF-8 is taken
// as UTF-8. Otherwise GB18030 (a superset of GBK and GB2312) and Big5 are
// tried, and when both decode every byte the one whose text has more
// common Chinese characters wins. Bytes that none of them decode give a
// *DecodeError naming the file and the offsets. Text that is mostly valid
// UTF-8 with a few invalid bytes is not read as a legacy encoding, which
// would garble it, but gives a *DecodeError listing the invalid bytes.
func DecodeText(name string, data []byte) (string, string, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xef, 0xbb, 0xbf}):
		body := data[3:]
		if off := invalidUTF8(body); off >= 0 {
			return "", "", decodeErr(name, EncodingUTF8, off+3)
		}
		return string(body), EncodingUTF8, nil
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}):
		return decodeUTF16(name, data, binary.LittleEndian)
	case bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		return decodeUTF16(name, data, binary.BigEndian)
	}
	utf8Off := invalidUTF8(data)
	if utf8Off < 0 {
		return string(data), EncodingUTF8, nil
	}
	if bad, count := mostlyUTF8(data); count > 0 {
		return "", "", &DecodeError{
			Name:         name,
			Offsets:      map[string]int{EncodingUTF8: utf8Off},
			InvalidUTF8:  bad,
			InvalidCount: count,
			tried:        []string{EncodingUTF8},
		}
	}

	gb, gbOff := decodeStrict(simplifiedchinese.GB18030, data, gb18030CharLen, gb18030FFFD)
	big5, big5Off := decodeStrict(traditionalchinese.Big5, data, big5CharLen, nil)
	switch {
	case gbOff < 0 && big5Off < 0:
		if commonCharScore(big5) > commonCharScore(gb) {
			return big5, EncodingBig5, nil
		}
		return gb, EncodingGB18030, nil
	case gbOff < 0:
		return gb, EncodingGB18030, nil
	case big5Off < 0:
		return big5, EncodingBig5, nil
	}
	return "", "", &DecodeError{
		Name:    name,
		Offsets: map[string]int{EncodingUTF8: utf8Off, EncodingGB18030: gbOff, EncodingBig5: big5Off},
		tried:   []string{EncodingUTF8, EncodingGB18030, EncodingBig5},
	}
}

func decodeErr(name, enc string, off int) *DecodeError {
	return &DecodeError{Name: name, Offsets: map[string]int{enc: off}, tried: []string{enc}}
}

// invalidUTF8 returns the offset of the first invalid UTF-8 sequence, or
// -1 when b is valid.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// mostlyUTF8 reports whether data is UTF-8 text with a few invalid bytes.
// It returns the first maxListedBad offsets of invalid bytes and their
// count when the non-ASCII bytes in valid multi-byte sequences are at
// least twice the invalid bytes, and nil and 0 otherwise. GBK and Big5
// text fails that test: a two-byte character reads as UTF-8 only when its
// lead byte is 0xC2 to 0xDF and its trail byte 0x80 to 0xBF, so most of
// its bytes are invalid UTF-8.
func mostlyUTF8(data []byte) ([]int, int) {
	var bad []int
	count, good := 0, 0
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			count++
			if len(bad) < maxListedBad {
				bad = append(bad, i)
			}
		case size > 1:
			good += size
		}
		i += size
	}
	if count == 0 || good < 2*count {
		return nil, 0
	}
	return bad, count
}

// decodeUTF16 checks the code units for an odd length or an unpaired
// surrogate, so the error can name the offset, and decodes with x/text.
func decodeUTF16(name string, data []byte, order binary.ByteOrder) (string, string, error) {
	encName, endian := EncodingUTF16LE, xunicode.LittleEndian
	if order == binary.BigEndian {
		encName, endian = EncodingUTF16BE, xunicode.BigEndian
	}
	if len(data)%2 != 0 {
		return "", "", decodeErr(name, encName, len(data)-1)
	}
	for i := 2; i < len(data); i += 2 {
		u := rune(order.Uint16(data[i:]))
		switch {
		case utf16.IsSurrogate(u) && u < 0xdc00:
			if i+4 > len(data) {
				return "", "", decodeErr(name, encName, i)
			}
			if next := rune(order.Uint16(data[i+2:])); next < 0xdc00 || next > 0xdfff {
				return "", "", decodeErr(name, encName, i)
			}
			i += 2
		case utf16.IsSurrogate(u):
			return "", "", decodeErr(name, encName, i)
		}
	}
	dec := xunicode.UTF16(endian, xunicode.ExpectBOM).NewDecoder()
	out, err := dec.Bytes(data)
	if err != nil {
		return "", "", fmt.Errorf("%s: decode %s: %w", name, encName, err)
	}
	return string(out), encName, nil
}

// decodeStrict decodes data and returns the offset of the first byte
// sequence that the encoding cannot map, or -1. The x/text decoders
// replace such sequences with U+FFFD, so when the fast whole-buffer pass
// shows one, a second pass decodes character by character to find it.
// fffd is the encoding's own bytes for U+FFFD, if it has any, which the
// second pass accepts.
func decodeStrict(enc encoding.Encoding, data []byte, charLen func([]byte) int,
	fffd []byte) (string, int) {
	out, err := enc.NewDecoder().Bytes(data)
	if err == nil && !bytes.ContainsRune(out, utf8.RuneError) {
		return string(out), -1
	}
	dec := enc.NewDecoder()
	var dst [16]byte
	for i := 0; i < len(data); {
		n := charLen(data[i:])
		if n == 0 {
			return "", i
		}
		if n > 1 && !bytes.Equal(data[i:i+n], fffd) {
			dec.Reset()
			nDst, _, err := dec.Transform(dst[:], data[i:i+n], true)
			if err != nil || bytes.ContainsRune(dst[:nDst], utf8.RuneError) {
				return "", i
			}
		}
		i += n
	}
	// Every character maps, so the U+FFFD was encoded in the input itself.
	return string(out), -1
}

// gb18030FFFD is U+FFFD in GB18030. Text converted from UTF-8 contains it
// wherever the UTF-8 contained U+FFFD, so the decoder's U+FFFD for these
// bytes is a character, not a failure.
var gb18030FFFD = []byte{0x84, 0x31, 0xa4, 0x37}

// gb18030CharLen returns the length of the GB18030 character at the start
// of b from its byte ranges, or 0 when the bytes cannot start one. The
// single byte 0x80 is the euro sign, as in the WHATWG decoder of x/text.
func gb18030CharLen(b []byte) int {
	c0 := b[0]
	switch {
	case c0 <= 0x80:
		return 1
	case c0 == 0xff || len(b) < 2:
		return 0
	}
	c1 := b[1]
	if (c1 >= 0x40 && c1 <= 0x7e) || (c1 >= 0x80 && c1 <= 0xfe) {
		return 2
	}
	if len(b) >= 4 && c1 >= 0x30 && c1 <= 0x39 && b[2] >= 0x81 && b[2] <= 0xfe &&
		b[3] >= 0x30 && b[3] <= 0x39 {
		return 4
	}
	return 0
}

// big5CharLen returns the length of the Big5 character at the start of b,
// or 0 when the bytes cannot start one.
func big5CharLen(b []byte) int {
	c0 := b[0]
	switch {
	case c0 < 0x80:
		return 1
	case c0 == 0x80 || c0 == 0xff || len(b) < 2:
		return 0
	}
	if c1 := b[1]; (c1 >= 0x40 && c1 <= 0x7e) || (c1 >= 0xa1 && c1 <= 0xfe) {
		return 2
	}
	return 0
}

// commonChars are frequent Chinese characters in both simplified and
// traditional forms. Text decoded with the wrong legacy encoding turns
// into rare characters, so the share of these separates right from wrong.
const commonChars = "的一是不了在人有我他这這个個们們中来來上大为為和国國地到以说說时時要" +
	"就出会會可也你对對生能而子那得于於着著下自之年过過发發后後作里裏用道行所然家种種事成" +
	"方多经經么麼去法学學如都同现現当當没沒动動面起看定天分还還进進好小部其些主样樣理心她" +
	"本前开開但因只从從想实實日月水山风風花春秋雨无無不长長见見明白今东東西南北几幾头頭手" +
	"心情爱愛吗嗎呢吧啊很真买買卖賣钱錢店吃喝话話问問说請请谢謝再还"

var commonCharSet = func() map[rune]bool {
	m := map[rune]bool{}
	for _, r := range commonChars {
		m[r] = true
	}
	return m
}()

// commonCharScore returns the share of Han characters in s that are in
// commonCharSet, minus the share of characters that ordinary Chinese text
// does not contain. Those are private use, Hangul and kana, and the symbol
// rows of the legacy tables that a wrong reading of punctuation lands in:
// bopomofo, roman numerals, box drawing and the vertical and small forms.
// For example GBK 。 (A1A3) read as Big5 is the small bracket ﹝.
func commonCharScore(s string) float64 {
	han, common, odd := 0, 0, 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Han, r):
			han++
			if commonCharSet[r] {
				common++
			}
		case isOddInChinese(r):
			odd++
		}
	}
	total := han + odd
	if total == 0 {
		return 0
	}
	return float64(common-odd) / float64(total)
}

func isOddInChinese(r rune) bool {
	switch {
	case r >= 0x2150 && r <= 0x218f, // number forms (roman numerals)
		r >= 0x2500 && r <= 0x257f, // box drawing
		r >= 0xfe30 && r <= 0xfe6f: // vertical and small form variants
		return true
	}
	return unicode.In(r, unicode.Co, unicode.Hangul, unicode.Hiragana, unicode.Katakana,
		unicode.Bopomofo)
}
