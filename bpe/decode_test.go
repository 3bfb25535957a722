package bpe

import (
	"strings"
	"testing"
)

// byteTokenizer returns a tokenizer with the given merges and no specials.
func byteTokenizer(t *testing.T, merges ...[2]int32) *Tokenizer {
	t.Helper()
	tok, err := newTokenizer(merges, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// pushAll feeds ids to a new stream decoder and returns each Push result
// and the final Flush.
func pushAll(tok *Tokenizer, ids []int) ([]string, string) {
	d := tok.NewStreamDecoder()
	var outs []string
	for _, id := range ids {
		outs = append(outs, d.Push(id))
	}
	return outs, d.Flush()
}

func TestStreamHoldsSplitCharacter(t *testing.T) {
	// 中 is E4 B8 AD. In every case the character must come out whole and
	// once, in the Push of the token that holds its last byte.
	cases := []struct {
		name   string
		merges [][2]int32
		ids    []int
		outs   []string
	}{
		{"head pair then tail", [][2]int32{{0xE4, 0xB8}}, []int{256, 0xAD},
			[]string{"", "中"}},
		{"head then tail pair", [][2]int32{{0xB8, 0xAD}}, []int{0xE4, 256},
			[]string{"", "中"}},
		{"three tokens", nil, []int{0xE4, 0xB8, 0xAD}, []string{"", "", "中"}},
		// "a" + E4 is one token and B8 AD + "b" another.
		{"text around", [][2]int32{{'a', 0xE4}, {0xB8, 0xAD}, {257, 'b'}},
			[]int{256, 258}, []string{"a", "中b"}},
		// 文 is E6 96 87. Token 258 is "中" + E6 and token 261 is 96 87 + "文",
		// so the first 文 is cut between them.
		{"cut between characters", [][2]int32{{0xE4, 0xB8}, {256, 0xAD}, {257, 0xE6},
			{0x96, 0x87}, {0xE6, 259}, {259, 260}}, []int{258, 261},
			[]string{"中", "文文"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := byteTokenizer(t, tc.merges...)
			outs, rest := pushAll(tok, tc.ids)
			for i, out := range outs {
				if out != tc.outs[i] {
					t.Errorf("Push %d (id %d) = %q, want %q", i, tc.ids[i], out, tc.outs[i])
				}
			}
			if rest != "" {
				t.Errorf("Flush = %q, want nothing", rest)
			}
		})
	}
}

func TestStreamEmojiByteByByte(t *testing.T) {
	tok := byteTokenizer(t)
	emoji := "😀" // F0 9F 98 80
	ids := []int{0xF0, 0x9F, 0x98, 0x80}
	outs, rest := pushAll(tok, ids)
	if got := strings.Join(outs, "|"); got != "|||"+emoji {
		t.Errorf("pushes = %q, want three empty and then %q", got, emoji)
	}
	if rest != "" {
		t.Errorf("Flush = %q, want nothing", rest)
	}
}

func TestStreamInvalidBytes(t *testing.T) {
	tok := byteTokenizer(t)
	cases := []struct {
		name  string
		ids   []int
		outs  []string
		flush string
	}{
		// FF can never start a character, so it is replaced at once.
		{"ff", []int{0xFF, 'a'}, []string{"\uFFFD", "a"}, ""},
		// E6 AD may still become a character until 'A' arrives.
		{"cut by ascii", []int{0xE6, 0xAD, 'A'}, []string{"", "", "\uFFFD\uFFFDA"}, ""},
		// An unfinished tail at the end is flushed byte by byte.
		{"flush tail", []int{'x', 0xE6, 0xAD}, []string{"x", "", ""}, "\uFFFD\uFFFD"},
		// A continuation byte alone is invalid at once.
		{"lone continuation", []int{0x80, 0x80}, []string{"\uFFFD", "\uFFFD"}, ""},
		// The surrogate ED A0 80 is rejected at its second byte.
		{"surrogate", []int{0xED, 0xA0, 0x80}, []string{"", "\uFFFD\uFFFD", "\uFFFD"}, ""},
		{"unknown id", []int{'a', 9999}, []string{"a", "\uFFFD"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			outs, rest := pushAll(tok, tc.ids)
			for i := range outs {
				if outs[i] != tc.outs[i] {
					t.Errorf("Push %d (id %d) = %q, want %q", i, tc.ids[i], outs[i], tc.outs[i])
				}
			}
			if rest != tc.flush {
				t.Errorf("Flush = %q, want %q", rest, tc.flush)
			}
		})
	}
}

func TestStreamMatchesDecode(t *testing.T) {
	tok := sampleTokenizer(t)
	for _, text := range append(sampleCorpus()[:6], "混合 text 😀 é 中文。") {
		ids := tok.Encode(text)
		outs, rest := pushAll(tok, ids)
		got := strings.Join(outs, "") + rest
		if got != text {
			t.Errorf("streamed %q, want %q", got, text)
		}
		for i, out := range outs {
			if strings.ContainsRune(out, '\uFFFD') {
				t.Errorf("Push %d of valid text %q emitted U+FFFD: %q", i, text, out)
			}
		}
	}
}

func TestStreamSpecials(t *testing.T) {
	tok := sampleTokenizer(t)
	eot, _ := tok.SpecialID(EndOfText)
	d := tok.NewStreamDecoder()
	if got := d.Push(eot); got != EndOfText {
		t.Errorf("Push(endoftext) = %q, want %q", got, EndOfText)
	}
}
