package corpus

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

func TestDecodeTextByteOrderMarks(t *testing.T) {
	cases := []struct {
		name    string
		in      []byte
		want    string
		wantEnc string
	}{
		// 中 is U+4E2D and 文 is U+6587.
		{"UTF-8 BOM", []byte("\xef\xbb\xbf中文"), "中文", EncodingUTF8},
		{"UTF-16LE BOM", []byte{0xff, 0xfe, 0x2d, 0x4e, 0x87, 0x65}, "中文", EncodingUTF16LE},
		{"UTF-16BE BOM", []byte{0xfe, 0xff, 0x4e, 0x2d, 0x65, 0x87}, "中文", EncodingUTF16BE},
		// U+1F600 is the surrogate pair D83D DE00.
		{"UTF-16LE pair", []byte{0xff, 0xfe, 0x3d, 0xd8, 0x00, 0xde}, "😀", EncodingUTF16LE},
		{"plain UTF-8", []byte("中文"), "中文", EncodingUTF8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, enc, err := DecodeText("x.txt", c.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("text = %q, want %q", got, c.want)
			}
			if enc != c.wantEnc {
				t.Errorf("encoding = %s, want %s", enc, c.wantEnc)
			}
		})
	}
}

// The legacy byte values come from the GB2312 and Big5 code tables:
// 中 is D6D0 and 文 is CEC4 in GB2312, 中 is A4A4 and 文 is A4E5 in Big5.
func TestDecodeTextLegacyBytes(t *testing.T) {
	cases := []struct {
		name    string
		in      []byte
		wantEnc string
	}{
		{"GBK", []byte{0xd6, 0xd0, 0xce, 0xc4}, EncodingGB18030},
		{"Big5", []byte{0xa4, 0xa4, 0xa4, 0xe5}, EncodingBig5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, enc, err := DecodeText("x.txt", c.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != "中文" {
				t.Errorf("text = %q, want 中文", got)
			}
			if enc != c.wantEnc {
				t.Errorf("encoding = %s, want %s", enc, c.wantEnc)
			}
		})
	}
}

func writeEncoded(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadFileGBKAndBig5(t *testing.T) {
	simplified := "家人们谁懂啊，今天我终于买到了这瓶矿泉水，我们都很开心。"
	traditional := "家人們誰懂啊，今天我終於買到了這瓶礦泉水，我們都很開心。"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(simplified)
	if err != nil {
		t.Fatal(err)
	}
	big5, err := traditionalchinese.Big5.NewEncoder().String(traditional)
	if err != nil {
		t.Fatal(err)
	}
	// 家人们 is BCD2 C8CB C3C7 in the GB2312 table and 家人們 is AE61 A448
	// ADCC in the Big5 table, so the files really are in those encodings.
	cases := []struct {
		name, data, want, wantEnc string
		head                      []byte
	}{
		{"gbk.txt", gbk, simplified, EncodingGB18030,
			[]byte{0xbc, 0xd2, 0xc8, 0xcb, 0xc3, 0xc7}},
		{"big5.txt", big5, traditional, EncodingBig5,
			[]byte{0xae, 0x61, 0xa4, 0x48, 0xad, 0xcc}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.HasPrefix(c.data, string(c.head)) {
				t.Fatalf("encoded file starts % X, want % X", c.data[:len(c.head)], c.head)
			}
			path := writeEncoded(t, c.name, []byte(c.data))
			recs, enc, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if enc != c.wantEnc {
				t.Errorf("encoding = %s, want %s", enc, c.wantEnc)
			}
			if len(recs) != 1 || strings.TrimSpace(recs[0].Text) != c.want {
				t.Errorf("records = %q, want one with %q", recs, c.want)
			}
		})
	}
}

func TestDecodeTextReportsOffsets(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want map[string]int
	}{
		// E4B8AD is 中 in UTF-8, so UTF-8 fails at the lone 0x80 (offset
		// 3). GB18030 reads E4B8 and AD80 as characters and fails at 0xFF,
		// which no GB18030 character starts with (offset 4). Big5 reads
		// E4B8 and then rejects the trail byte 0x80 of AD80 (offset 2).
		{"three offsets", []byte{0xe4, 0xb8, 0xad, 0x80, 0xff},
			map[string]int{EncodingUTF8: 3, EncodingGB18030: 4, EncodingBig5: 2}},
		{"odd UTF-16 length", []byte{0xff, 0xfe, 0x2d, 0x4e, 0x87},
			map[string]int{EncodingUTF16LE: 4}},
		{"unpaired surrogate", []byte{0xff, 0xfe, 0x00, 0xd8, 0x41, 0x00},
			map[string]int{EncodingUTF16LE: 2}},
		{"bad UTF-8 after BOM", []byte{0xef, 0xbb, 0xbf, 'a', 0xff},
			map[string]int{EncodingUTF8: 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := DecodeText("bad.txt", c.in)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want a *DecodeError", err)
			}
			if len(de.Offsets) != len(c.want) {
				t.Errorf("offsets = %v, want %v", de.Offsets, c.want)
			}
			for enc, off := range c.want {
				if de.Offsets[enc] != off {
					t.Errorf("%s offset = %d, want %d", enc, de.Offsets[enc], off)
				}
			}
			if !strings.Contains(err.Error(), "bad.txt") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// Short GBK texts whose bytes also decode as Big5. Read as Big5, their
// punctuation turns into bopomofo and small forms (GBK ， A3AC is Big5 ㄛ,
// 。 A1A3 is ﹝), which must count against that reading.
func TestDecodeTextShortGBK(t *testing.T) {
	for _, text := range []string{
		"临江仙\n王观\n别岸相逢何草草，扁舟两岸垂杨。\n绣屏珠箔绮香囊",
		"恋绣衾\n陈允平\n银鸳金凤画暗销。\n晓帘栊、新翠渐交。\n算多少",
		"菩萨蛮\n石孝友\n花销玉瘦斜平薄。\n舞衣宽",
	} {
		gbk, err := simplifiedchinese.GBK.NewEncoder().String(text)
		if err != nil {
			t.Fatal(err)
		}
		asBig5, err := traditionalchinese.Big5.NewDecoder().String(gbk)
		if err != nil || strings.ContainsRune(asBig5, '\uFFFD') {
			t.Fatalf("%q: GBK bytes do not decode as Big5, so the case tests nothing", text)
		}
		got, enc, err := DecodeText("x.txt", []byte(gbk))
		if err != nil {
			t.Fatal(err)
		}
		if got != text || enc != EncodingGB18030 {
			t.Errorf("decoded as %s to %q, want GB18030 %q", enc, got, text)
		}
	}
}

// TestDecodeTextGB18030KeepsReplacementChar reads GB18030 text that
// contains U+FFFD, as text converted from UTF-8 with a replacement
// character does. The four bytes 84 31 A4 37 are that character, not
// undecodable bytes.
func TestDecodeTextGB18030KeepsReplacementChar(t *testing.T) {
	text := "春眠不觉晓，\uFFFD处处闻啼鸟。\n夜来风雨声，花落知多少。"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(gb, "\x84\x31\xa4\x37") {
		t.Fatalf("GB18030 bytes % x lack 84 31 A4 37 for U+FFFD", gb)
	}
	got, enc, err := DecodeText("x.txt", []byte(gb))
	if err != nil || got != text || enc != EncodingGB18030 {
		t.Errorf("decoded as %s to %q (%v), want GB18030 %q", enc, got, err, text)
	}
	// A byte that no GB18030 character starts with is still an error.
	if _, _, err := DecodeText("x.txt", append([]byte(gb), 0xff)); err == nil {
		t.Error("GB18030 text ending in 0xff decoded without error")
	}
}

func TestDecodeErrorNamesLikelyEncoding(t *testing.T) {
	// 30 characters of 3 UTF-8 bytes each, then a stray continuation byte:
	// valid UTF-8 up to offset 90.
	text := strings.Repeat("家人们谁懂啊", 5)
	_, _, err := DecodeText("cut.txt", append([]byte(text), 0x80))
	want := "the file looks like UTF-8 up to offset 90, so repair or remove the bytes there"
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("err = %v, want it to end with %q", err, want)
	}

	// A short file gives no guess.
	_, _, err = DecodeText("short.txt", []byte{'a', 0xff})
	want = "convert the file to UTF-8, or leave it out if it is not text"
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("err = %v, want it to end with %q", err, want)
	}
}

func TestDecodeTextMostlyUTF8ListsBadBytes(t *testing.T) {
	// "abc", two stray bytes, then "def 天下\n": 6 bytes of valid UTF-8
	// characters against 2 invalid ones. GB18030 decodes every byte (to
	// "abc€乨ef 澶╀笅"), which must not be taken.
	in := []byte("abc\x80\x81def 天下\n")
	got, enc, err := DecodeText("mixed.txt", in)
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("DecodeText = %q as %s, %v; want a *DecodeError", got, enc, err)
	}
	if de.InvalidCount != 2 || len(de.InvalidUTF8) != 2 ||
		de.InvalidUTF8[0] != 3 || de.InvalidUTF8[1] != 4 {
		t.Errorf("invalid bytes = %v (%d), want [3 4] (2)", de.InvalidUTF8, de.InvalidCount)
	}
	want := "mixed.txt: 2 invalid UTF-8 bytes at byte offsets 3, 4 in otherwise valid " +
		"UTF-8 text; the file looks like UTF-8 up to offset 3, so repair or remove " +
		"the bytes there"
	if err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}

	// Ten stray bytes among 30 characters: the list stops at maxListedBad.
	var b []byte
	for range 10 {
		b = append(b, "家人们"...)
		b = append(b, 0xff)
	}
	_, _, err = DecodeText("many.txt", b)
	if !errors.As(err, &de) || de.InvalidCount != 10 || len(de.InvalidUTF8) != maxListedBad {
		t.Fatalf("err = %v, want 10 invalid bytes with %d listed", err, maxListedBad)
	}
	if !strings.Contains(err.Error(), "10 invalid UTF-8 bytes at byte offsets 9, 19, ") ||
		!strings.Contains(err.Error(), ", 79, ... in") {
		t.Errorf("err = %q, want offsets 9, 19, ... 79, ...", err)
	}
}
