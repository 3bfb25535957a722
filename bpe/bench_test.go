package bpe

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// zipfCorpus returns about size bytes of Chinese-like text: clauses of 4
// to 7 characters drawn with a Zipf law from 3,000 Han characters, joined
// by full-width punctuation and line breaks. The real-corpus figures come
// from bench/tokenizer; this keeps 'go test -bench' self-contained.
func zipfCorpus(size int) string {
	r := rand.New(rand.NewPCG(42, 42))
	zipf := rand.NewZipf(r, 1.1, 8, 2999)
	punct := []string{"，", "。", "！", "？", "。\n"}
	var b strings.Builder
	for b.Len() < size {
		n := 4 + r.IntN(4)
		for range n {
			b.WriteRune(rune(0x4E00 + zipf.Uint64()))
		}
		b.WriteString(punct[r.IntN(len(punct))])
	}
	return b.String()
}

var (
	benchOnce sync.Once
	benchText string
	benchTok  *Tokenizer
)

func benchSetup(b *testing.B) (string, *Tokenizer) {
	benchOnce.Do(func() {
		benchText = zipfCorpus(4 << 20)
		tok, err := Train([]string{benchText}, TrainOptions{VocabSize: 4096})
		if err != nil {
			panic(err)
		}
		benchTok = tok
	})
	return benchText, benchTok
}

func BenchmarkTrain4096(b *testing.B) {
	text, _ := benchSetup(b)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := Train([]string{text}, TrainOptions{VocabSize: 4096}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	text, tok := benchSetup(b)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Encode(text)
	}
}

func BenchmarkEncodeLongPiece(b *testing.B) {
	_, tok := benchSetup(b)
	text := strings.Repeat("的", 100_000)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Encode(text)
	}
}

func BenchmarkStreamDecode(b *testing.B) {
	text, tok := benchSetup(b)
	ids := tok.Encode(text[:1<<20])
	b.SetBytes(1 << 20)
	for b.Loop() {
		d := tok.NewStreamDecoder()
		for _, id := range ids {
			d.Push(id)
		}
		d.Flush()
	}
}
