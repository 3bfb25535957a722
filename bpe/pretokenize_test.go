package bpe

import (
	"reflect"
	"strings"
	"testing"
)

func TestPreTokenizeSplits(t *testing.T) {
	cases := []struct {
		name string
		text string
		want []string
	}{
		{"han clause", "床前明月光，疑是地上霜。", []string{"床前明月光", "，", "疑是地上霜", "。"}},
		{"punct takes line break", "举头望明月。\n低头思故乡", []string{"举头望明月", "。\n", "低头思故乡"}},
		{"quote run", "他说：“好！”", []string{"他说", "：“", "好", "！”"}},
		{"han then latin", "中文English混排", []string{"中文", "English", "混排"}},
		{"english words", "Hello world", []string{"Hello", " world"}},
		{"contraction", "I'm here", []string{"I", "'m", " here"}},
		{"digits in threes", "1234567", []string{"123", "456", "7"}},
		{"digit no leading space", "a 12", []string{"a", " ", "12"}},
		{"space run before word", "a   b", []string{"a", "  ", " b"}},
		{"trailing spaces", "a  ", []string{"a", "  "}},
		{"crlf", "a\r\nb", []string{"a", "\r\n", "b"}},
		{"crlf after full stop", "好。\r\n坏", []string{"好", "。\r\n", "坏"}},
		{"han with digits", "第2026年", []string{"第", "202", "6", "年"}},
		{"crlf runs", "甲\r\n\r\n  乙", []string{"甲", "\r\n\r\n", " ", " 乙"}},
		{"spaces then newline", "a  \n  b", []string{"a", "  \n", " ", " b"}},
		{"ascii punct run", "wow!!! ok", []string{"wow", "!!!", " ok"}},
		{"space before han", "x 中文", []string{"x", " 中文"}},
		{"full-width digits", "第１２３４", []string{"第", "１２３", "４"}},
		{"ideographic space", "甲　乙", []string{"甲", "　", "乙"}},
		{"invalid bytes", "a\xe6\xadb", []string{"a", "\xe6\xad", "b"}},
		{"emoji", "好😀😀", []string{"好", "😀😀"}},
		{"combining mark", "e\u0301t", []string{"e\u0301t"}},
		{"empty", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := PreTokenize(tc.text)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("PreTokenize(%q) = %q, want %q", tc.text, got, tc.want)
			}
			if joined := strings.Join(got, ""); joined != tc.text {
				t.Errorf("joined pieces %q differ from input %q", joined, tc.text)
			}
		})
	}
}

func TestSplitPointsKeepPieces(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 300; i++ {
		b.WriteString("春眠不觉晓，处处闻啼鸟。\n  夜来 风雨声\r\n")
		b.WriteString("word 123\n\n花落知多少\n")
	}
	text := b.String()
	whole := PreTokenize(text)
	for _, parts := range []int{2, 3, 7, 64} {
		cuts := splitPoints(text, parts)
		if len(cuts) == 0 {
			t.Fatalf("parts %d: no cut found", parts)
		}
		var got []string
		prev := 0
		for _, c := range append(cuts, len(text)) {
			got = append(got, PreTokenize(text[prev:c])...)
			prev = c
		}
		if !reflect.DeepEqual(got, whole) {
			t.Errorf("parts %d: chunked pre-tokenization differs from whole", parts)
		}
	}
}
