package bpe

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// roundTripCases are byte strings that decoding the encoding must return
// unchanged.
var roundTripCases = map[string]string{
	"empty":             "",
	"truncated han":     "\xe6\xad",
	"lone ff":           "\xff",
	"overlong slash":    "\xc0\xaf",
	"surrogate":         "\xed\xa0\x80",
	"nul":               "a\x00b\x00",
	"crlf":              "第一行\r\n第二行\r\n",
	"emoji":             "😀👍🏽👨‍👩‍👧",
	"combining marks":   "e\u0301 n\u0303 a\u0308\u0301",
	"mixed":             "家人们谁懂啊，AI 又 broke 了 123456 次！！！",
	"special text":      "<|endoftext|><|style:抽象|>",
	"replacement char":  "\uFFFD\xef\xbf",
	"spaces only":       "   \t\t  ",
	"han then invalid":  "中\x80文\xe4\xb8",
	"long digits":       "12345678901234567890",
	"fullwidth forms":   "ＡＢＣ１２３，。！",
	"ideographic space": "甲　　乙",
}

func TestRoundTrip(t *testing.T) {
	tok := sampleTokenizer(t)
	for name, text := range roundTripCases {
		t.Run(name, func(t *testing.T) {
			ids := tok.Encode(text)
			if got := tok.Decode(ids); !bytes.Equal(got, []byte(text)) {
				t.Errorf("Decode(Encode(%q)) = %q", text, got)
			}
		})
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, text := range roundTripCases {
		f.Add([]byte(text))
	}
	tok := sampleTokenizer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		text := string(data)
		ids := tok.Encode(text)
		if got := tok.Decode(ids); !bytes.Equal(got, data) {
			t.Fatalf("Decode(Encode(%q)) = %q", text, got)
		}
		if want := referenceEncode(tok, text); !slices.Equal(ids, want) {
			t.Fatalf("Encode(%q) = %v, reference %v", text, ids, want)
		}
	})
}

// referenceEncode is the textbook BPE encoder, independent of encode.go:
// for every merge in rank order it rewrites each pre-token, merging each
// occurrence of the pair from left to right.
func referenceEncode(tok *Tokenizer, text string) []int {
	var out []int
	for _, piece := range PreTokenize(text) {
		syms := make([]int, len(piece))
		for i := 0; i < len(piece); i++ {
			syms[i] = int(piece[i])
		}
		for rank, m := range tok.Merges() {
			var next []int
			for i := 0; i < len(syms); i++ {
				if i+1 < len(syms) && syms[i] == m[0] && syms[i+1] == m[1] {
					next = append(next, 256+rank)
					i++
					continue
				}
				next = append(next, syms[i])
			}
			syms = next
		}
		out = append(out, syms...)
	}
	return out
}

func TestEncodeMatchesReference(t *testing.T) {
	tok := sampleTokenizer(t)
	texts := append(sampleCorpus()[:6], randomCorpus(5, 30, 80)...)
	for _, text := range roundTripCases {
		texts = append(texts, text)
	}
	for _, text := range texts {
		if got, want := tok.Encode(text), referenceEncode(tok, text); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, reference %v", text, got, want)
		}
	}
}

func TestEncodeLongPieceMatchesShort(t *testing.T) {
	// Pieces above longPiece bytes take the heap path; both paths must
	// give the textbook result.
	tok := sampleTokenizer(t)
	r := rand.New(rand.NewPCG(9, 9))
	hans := []rune("明月光疑是地上霜举头望低思故乡")
	for trial := 0; trial < 20; trial++ {
		var b strings.Builder
		for b.Len() <= longPiece+r.IntN(600) {
			b.WriteRune(hans[r.IntN(len(hans))])
		}
		piece := b.String()
		if n := nextPiece(piece); n != len(piece) {
			t.Fatalf("test piece splits at %d; want one pre-token", n)
		}
		e := newEncoder(tok)
		long := slices.Clone(e.mergeLong(piece))
		short := slices.Clone(e.mergeShort(piece))
		if !slices.Equal(long, short) {
			t.Fatalf("mergeLong and mergeShort differ on %q", piece)
		}
		want := referenceEncode(tok, piece)
		if got := tok.Encode(piece); !slices.Equal(got, want) {
			t.Fatalf("Encode of a %d-byte piece differs from the reference", len(piece))
		}
	}
}

func TestEncodeHugePieces(t *testing.T) {
	// One pre-token of 100,000 Han characters and one of 1,000,000 '^'.
	// The vocabulary merges runs of both into tokens of up to 32
	// characters (a pair of 32-runs occurs only once), so encoding does
	// about a million merges. The heap path keeps that O(n log n) and
	// free of recursion, where the short-piece scan would be O(n²).
	var docs []string
	for n := 1; n <= 64; n++ {
		docs = append(docs, strings.Repeat("^", n), strings.Repeat("月", n))
	}
	tok, err := Train(docs, TrainOptions{VocabSize: 400})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{strings.Repeat("月", 100_000), strings.Repeat("^", 1_000_000)} {
		if len(PreTokenize(text)) != 1 {
			t.Fatalf("%d-byte test text is not one pre-token", len(text))
		}
		ids := tok.Encode(text)
		if got := tok.Decode(ids); !bytes.Equal(got, []byte(text)) {
			t.Fatalf("round trip of a %d-byte piece failed", len(text))
		}
		if len(ids) > len(text)/32 {
			t.Errorf("%d bytes of %q encode to %d ids; want at most %d from the run merges",
				len(text), text[:3], len(ids), len(text)/32)
		}
	}
	// The same pieces at a size the textbook encoder can still handle.
	for _, text := range []string{strings.Repeat("月", 3000), strings.Repeat("^", 5000)} {
		if got, want := tok.Encode(text), referenceEncode(tok, text); !slices.Equal(got, want) {
			t.Errorf("Encode of %d bytes of %q differs from the reference", len(text), text[:3])
		}
	}
}

func TestEncodeIgnoresSpecialText(t *testing.T) {
	tok := sampleTokenizer(t)
	eot, _ := tok.SpecialID(EndOfText)
	style, _ := tok.SpecialID("<|style:抽象|>")
	text := "你好" + EndOfText + "<|style:抽象|>世界"
	for _, id := range tok.Encode(text) {
		if tok.IsSpecial(id) {
			t.Fatalf("Encode produced special id %d from user text", id)
		}
	}

	got := tok.EncodeWithSpecials(text, []string{EndOfText})
	want := append(append(tok.Encode("你好"), eot), tok.Encode("<|style:抽象|>世界")...)
	if !slices.Equal(got, want) {
		t.Errorf("EncodeWithSpecials(EndOfText only) = %v, want %v", got, want)
	}
	got = tok.EncodeWithSpecials(text, []string{EndOfText, "<|style:抽象|>", "<|unknown|>"})
	want = append(append(tok.Encode("你好"), eot, style), tok.Encode("世界")...)
	if !slices.Equal(got, want) {
		t.Errorf("EncodeWithSpecials(both) = %v, want %v", got, want)
	}
	if got := string(tok.Decode(got)); got != text {
		t.Errorf("Decode = %q, want %q", got, text)
	}
}

func TestEncodeParallelMatchesSequential(t *testing.T) {
	tok := sampleTokenizer(t)
	var b strings.Builder
	docs := append(sampleCorpus(), randomCorpus(13, 500, 300)...)
	for b.Len() < 2*parallelBytes {
		for _, d := range docs {
			b.WriteString(d)
			b.WriteString("\n")
		}
	}
	text := b.String()
	got := tok.Encode(text)
	want := newEncoder(tok).encodeText(text, nil)
	if !slices.Equal(got, want) {
		t.Fatalf("parallel Encode of %d bytes differs from sequential", len(text))
	}
	batch := tok.EncodeBatch(docs)
	for i, d := range docs {
		if !slices.Equal(batch[i], tok.Encode(d)) {
			t.Fatalf("EncodeBatch[%d] differs from Encode", i)
		}
	}
}

func TestDecodeUnknownID(t *testing.T) {
	tok := sampleTokenizer(t)
	got := tok.Decode([]int{'a', -1, tok.VocabSize(), 'b'})
	if want := "a\uFFFD\uFFFDb"; string(got) != want {
		t.Errorf("Decode = %q, want %q", got, want)
	}
}

func TestTokenizerAccessors(t *testing.T) {
	tok := sampleTokenizer(t)
	if got := tok.VocabSize(); got != 600 {
		t.Errorf("VocabSize = %d, want 600", got)
	}
	if got := tok.Specials(); !reflect.DeepEqual(got, []string{EndOfText, "<|style:抽象|>"}) {
		t.Errorf("Specials = %q", got)
	}
	if id, ok := tok.SpecialID("<|style:抽象|>"); !ok || id != 599 {
		t.Errorf("SpecialID(style) = %d, %v; want 599, true", id, ok)
	}
	if _, ok := tok.SpecialID("<|nope|>"); ok {
		t.Error("SpecialID of an unknown name reports true")
	}
	if got := string(tok.TokenBytes(598)); got != EndOfText {
		t.Errorf("TokenBytes(598) = %q, want %q", got, EndOfText)
	}
	for i, m := range tok.Merges() {
		want := string(tok.TokenBytes(m[0])) + string(tok.TokenBytes(m[1]))
		if got := string(tok.TokenBytes(256 + i)); got != want {
			t.Fatalf("token %d = %q, want the bytes of its merge %q", 256+i, got, want)
		}
	}
	if got := tok.TokenBytes(600); got != nil {
		t.Errorf("TokenBytes(600) = %q, want nil", got)
	}
}

func TestHanFastPathMatchesReference(t *testing.T) {
	// In words whose characters occur only together (鹧鸪, 蝴蝶, ...), the
	// merge of a whole character with the head of the next ties with the
	// completion of that next character. The vocabulary then gets tokens
	// that cross characters, and the table must mark characters unsafe.
	r := rand.New(rand.NewPCG(5, 6))
	words := []string{"鹧鸪", "蝴蝶", "葡萄", "枇杷", "琵琶", "的", "一", "是", "不", "了",
		"人", "我", "在", "有", "他", "这", "中", "大", "来", "上"}
	piece := func(n int) string {
		var b strings.Builder
		if r.IntN(4) == 0 {
			b.WriteByte(' ')
		}
		for range n {
			b.WriteString(words[r.IntN(len(words))])
		}
		return b.String()
	}

	var docs []string
	for range 400 {
		docs = append(docs, piece(2+r.IntN(12)))
	}
	tok, err := Train(docs, TrainOptions{VocabSize: 256 + 600, MinFrequency: 1})
	if err != nil {
		t.Fatal(err)
	}
	if tok.hanFast() == nil {
		t.Fatal("Han fast path is off for this vocabulary; want it on")
	}

	cross, unsafe := 0, 0
	for id := 256; id < len(tok.tokens); id++ {
		if b := tok.tokens[id]; !utf8.Valid(b) && !withinOneChar(b) {
			cross++
		}
	}
	for _, u := range tok.hanFast().unsafe {
		if u {
			unsafe++
		}
	}
	if cross == 0 || unsafe == 0 {
		t.Fatalf("%d cross-character tokens, %d unsafe characters; want both above 0",
			cross, unsafe)
	}

	for range 2000 {
		text := piece(1 + r.IntN(20))
		if got, want := tok.Encode(text), referenceEncode(tok, text); !slices.Equal(got, want) {
			t.Fatalf("Encode(%q) = %v, reference %v", text, got, want)
		}
	}
}

func TestWithinOneChar(t *testing.T) {
	cases := []struct {
		b    string
		want bool
	}{
		{"\xe4\xb8", true},  // head of 中
		{"\xb8\xad", true},  // tail of 中
		{"\xad", true},      // last byte
		{"中", true},         // a whole character is within one character
		{"\xad\xe4", false}, // tail of one character and head of the next
		{"\xe4\xb8\xad\xe4", false},
		{"a\xe4", false},
	}
	for _, tc := range cases {
		if got := withinOneChar([]byte(tc.b)); got != tc.want {
			t.Errorf("withinOneChar(%q) = %v, want %v", tc.b, got, tc.want)
		}
	}
}
