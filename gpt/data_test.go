package gpt

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/corpus"
)

func TestEncodeDocumentsLayout(t *testing.T) {
	docs := []corpus.Document{
		{Text: "天地玄黄", Style: "b"},
		{Text: "宇宙洪荒", Style: "a"},
		{Text: "日月盈昃", Style: ""},
		{Text: "辰宿列张", Style: "a"},
	}
	tok, err := bpe.Train([]string{"天地玄黄宇宙洪荒", "日月盈昃辰宿列张"},
		bpe.TrainOptions{VocabSize: 280, Specials: TokenizerSpecials([]string{"a", "b"})})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x.tokens")
	if err := EncodeDocuments(path, tok, docs); err != nil {
		t.Fatal(err)
	}
	f, err := OpenTokenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	eot, _ := tok.SpecialID(bpe.EndOfText)
	styleA, _ := tok.SpecialID("<|style:a|>")
	styleB, _ := tok.SpecialID("<|style:b|>")
	// Styles sorted by name: "" first (no style token), then a, then b.
	var want []int
	want = append(append(want, tok.Encode("日月盈昃")...), eot)
	spanA := len(want)
	want = append(append(append(want, styleA), tok.Encode("宇宙洪荒")...), eot)
	want = append(append(append(want, styleA), tok.Encode("辰宿列张")...), eot)
	spanB := len(want)
	want = append(append(append(want, styleB), tok.Encode("天地玄黄")...), eot)

	got := make([]int, f.Len())
	for i := range got {
		got[i] = f.At(i)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ids = %v, want %v", got, want)
	}
	wantSpans := []StyleSpan{
		{Style: "", Start: 0, End: spanA, Docs: 1, Bytes: 12},
		{Style: "a", Start: spanA, End: spanB, Docs: 2, Bytes: 24},
		{Style: "b", Start: spanB, End: len(want), Docs: 1, Bytes: 12},
	}
	if !slices.Equal(f.Spans, wantSpans) {
		t.Errorf("spans = %+v, want %+v", f.Spans, wantSpans)
	}
}

func TestOpenTokenFileRejectsDamage(t *testing.T) {
	docs := []corpus.Document{{Text: "天地玄黄", Style: ""}}
	tok, err := bpe.Train([]string{"天地玄黄"}, bpe.TrainOptions{VocabSize: 260,
		Specials: TokenizerSpecials(nil)})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x.tokens")
	if err := EncodeDocuments(path, tok, docs); err != nil {
		t.Fatal(err)
	}
	truncate(t, path, 17) // half an id past the header
	if _, err := OpenTokenFile(path); err == nil {
		t.Error("OpenTokenFile accepted a file with half an id")
	}
	truncate(t, path, 4)
	if _, err := OpenTokenFile(path); err == nil {
		t.Error("OpenTokenFile accepted a file shorter than its header")
	}
}

func TestStyleMixSharesByHand(t *testing.T) {
	spans := []StyleSpan{
		{Style: "a", Start: 0, End: 100},
		{Style: "b", Start: 100, End: 500},
		{Style: "c", Start: 500, End: 509}, // 9 ids: too short for a window of 10
	}
	cases := []struct {
		name string
		mix  StyleMix
		want []float64
	}{
		// √100 = 10 and √400 = 20 of 30.
		{"sqrt", StyleMix{Alpha: 0.5}, []float64{1.0 / 3, 2.0 / 3, 0}},
		{"proportional", StyleMix{Alpha: 1}, []float64{0.2, 0.8, 0}},
		{"uniform", StyleMix{Alpha: 0}, []float64{0.5, 0.5, 0}},
		// a is raised from 1/3 to 0.6 and b scaled from 2/3 to 0.4.
		{"floor", StyleMix{Alpha: 0.5, Floors: map[string]float64{"a": 0.6}},
			[]float64{0.6, 0.4, 0}},
		// A floor below the share changes nothing.
		{"floor met", StyleMix{Alpha: 0.5, Floors: map[string]float64{"b": 0.5}},
			[]float64{1.0 / 3, 2.0 / 3, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.mix.Shares(spans, 10)
			if err != nil {
				t.Fatal(err)
			}
			for i := range c.want {
				if math.Abs(got[i]-c.want[i]) > 1e-12 {
					t.Errorf("share of %s = %.6f, want %.6f", spans[i].Style, got[i], c.want[i])
				}
			}
		})
	}
	if _, err := (StyleMix{Alpha: 0.5}).Shares(spans[2:], 10); err == nil {
		t.Error("Shares with no span long enough succeeded")
	}
}

func TestSamplerWindows(t *testing.T) {
	texts := []string{"天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。", "寒来暑往，秋收冬藏。闰余成岁，律吕调阳。"}
	var docs []corpus.Document
	for i := 0; i < 40; i++ {
		docs = append(docs, corpus.Document{Text: texts[i%2], Style: []string{"x", "y"}[i%2]})
	}
	docs = append(docs, corpus.Document{Text: texts[0], Style: "x"})
	tok, err := bpe.Train(texts, bpe.TrainOptions{VocabSize: 270,
		Specials: TokenizerSpecials([]string{"x", "y"})})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x.tokens")
	if err := EncodeDocuments(path, tok, docs); err != nil {
		t.Fatal(err)
	}
	f, err := OpenTokenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const T, B = 8, 4
	s, err := NewSampler(f, T, StyleMix{Alpha: 1, Floors: map[string]float64{"y": 0.8}}, 5)
	if err != nil {
		t.Fatal(err)
	}
	ids, targets := make([]int, B*T), make([]int, B*T)
	inY := 0
	const batches = 500
	for n := 0; n < batches; n++ {
		s.Batch(B, ids, targets)
		for b := 0; b < B; b++ {
			for i := 0; i < T-1; i++ {
				if targets[b*T+i] != ids[b*T+i+1] {
					t.Fatalf("window %d: target %d is %d, want the next id %d", b, i,
						targets[b*T+i], ids[b*T+i+1])
				}
			}
		}
	}
	if s.Drawn != batches*B {
		t.Errorf("Drawn = %d, want %d", s.Drawn, batches*B)
	}
	shares := s.Shares()
	if math.Abs(shares[1]-0.8) > 1e-12 {
		t.Errorf("share of y = %v, want 0.8", shares[1])
	}

	// Every window lies inside one span, and about 80% lie in y's. With
	// 4000 draws the standard error of the fraction is 0.0063, so 0.03 is
	// almost five of them.
	const draws = 4000
	for n := 0; n < draws; n++ {
		start := s.draw()
		span := -1
		for k, sp := range f.Spans {
			if start >= sp.Start && start+T+1 <= sp.End {
				span = k
			}
		}
		if span < 0 {
			t.Fatalf("window at %d of %d ids crosses a span boundary %+v", start, T+1, f.Spans)
		}
		if f.Spans[span].Style == "y" {
			inY++
		}
	}
	if frac := float64(inY) / draws; math.Abs(frac-0.8) > 0.03 {
		t.Errorf("%.3f of the windows are of style y, want 0.8", frac)
	}
}
