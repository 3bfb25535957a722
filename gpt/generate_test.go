package gpt

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/goushi/goushi/autograd"
	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/layers"
)

// memoText is what the fixture model learns by heart. Few merges leave
// most characters split over two or three byte tokens.
const memoText = "今天我去超市买了一颗白菜，白菜对我说你好，我吓得把购物车推进了河里。"

var (
	memoOnce  sync.Once
	memoModel *Model
	memoTok   *bpe.Tokenizer
	memoErr   error
)

// memorized returns a tiny model trained until it continues memoText
// greedily, with a tokenizer of 256 bytes, 24 merges and the specials of
// the style "抽象". The model's vocab has 3 ids more than the tokenizer.
func memorized(t *testing.T) (*Model, *bpe.Tokenizer) {
	t.Helper()
	memoOnce.Do(func() {
		styles := []string{"抽象"}
		memoTok, memoErr = bpe.Train([]string{memoText, memoText},
			bpe.TrainOptions{VocabSize: 256 + 24 + 2, Specials: TokenizerSpecials(styles)})
		if memoErr != nil {
			return
		}
		eot, _ := memoTok.SpecialID(bpe.EndOfText)
		style, _ := memoTok.SpecialID(StyleToken("抽象"))
		// One training sequence: the context Generate builds, the text and
		// <|endoftext|>, at the positions it has when generating.
		seq := append([]int{eot, style}, memoTok.Encode(memoText)...)
		seq = append(seq, eot)

		T := len(seq) - 1
		cfg := Config{VocabSize: memoTok.VocabSize() + 3, ContextLen: T, Layers: 2, Heads: 2,
			Embd: 64, Styles: styles}
		memoModel = New(cfg, 5)
		opt := layers.NewAdamW(memoModel.Params(), layers.AdamWConfig{LR: 1e-2,
			Beta1: 0.9, Beta2: 0.95, Eps: 1e-8})
		tp := autograd.NewTape()
		for range 120 {
			tp.Reset()
			opt.ZeroGrad()
			tp.Backward(memoModel.Loss(tp, seq[:T], seq[1:], 1, T))
			opt.Step(1e-2)
		}
	})
	if memoErr != nil {
		t.Fatal(memoErr)
	}
	return memoModel, memoTok
}

// collected is what Generate sent for one sample.
type collected struct {
	ids    []int
	chunks []string
	reason string
	done   int // number of Done events
}

func (c collected) text() string { return strings.Join(c.chunks, "") }

func collect(t *testing.T, m *Model, tok *bpe.Tokenizer, prompt string,
	opts SampleOptions) []collected {
	t.Helper()
	out := make([]collected, max(opts.NumSamples, 1))
	for ev, err := range m.Generate(context.Background(), tok, prompt, opts) {
		if err != nil {
			t.Fatalf("generate: %v", err)
		}
		c := &out[ev.Sample]
		if c.done > 0 {
			t.Fatalf("sample %d got an event after its last", ev.Sample)
		}
		c.ids = append(c.ids, ev.TokenID)
		c.chunks = append(c.chunks, ev.Text)
		if ev.Done {
			c.done++
			c.reason = ev.FinishReason
		}
	}
	return out
}

// streamDecode decodes ids the way a reader of raw bytes would: each byte
// that does not belong to a valid UTF-8 sequence becomes U+FFFD. With
// length set, it first drops an unfinished last character, as Generate
// does at a length stop.
func streamDecode(tok *bpe.Tokenizer, ids []int, length bool) string {
	var raw []byte
	for _, id := range ids {
		raw = append(raw, tok.TokenBytes(id)...)
	}
	if length {
		raw = raw[:len(raw)-unfinishedTail(raw)]
	}
	var b strings.Builder
	for len(raw) > 0 {
		r, n := utf8.DecodeRune(raw)
		if r == utf8.RuneError && n <= 1 {
			b.WriteString("\uFFFD")
			raw = raw[1:]
			continue
		}
		b.Write(raw[:n])
		raw = raw[n:]
	}
	return b.String()
}

// unfinishedTail returns the length of the suffix of raw that starts a
// multi-byte character and is too short to complete it, or 0.
func unfinishedTail(raw []byte) int {
	for n := 1; n < utf8.UTFMax && n <= len(raw); n++ {
		tail := raw[len(raw)-n:]
		if tail[0] >= 0xC0 { // a lead byte
			if utf8.FullRune(tail) {
				return 0
			}
			return n
		}
	}
	return 0
}

func greedy(maxNew int) SampleOptions {
	o := DefaultSampleOptions()
	o.Temperature, o.MaxNewTokens, o.Style = 0, maxNew, "抽象"
	return o
}

// TestGenerateStreamsWholeCharacters checks that a Chinese generation
// whose characters span several tokens arrives as valid UTF-8 in every
// chunk and joins to the non-streamed decode.
func TestGenerateStreamsWholeCharacters(t *testing.T) {
	m, tok := memorized(t)
	got := collect(t, m, tok, "今天我去", greedy(40))[0]

	want := streamDecode(tok, got.ids, got.reason == FinishLength)
	if got.text() != want {
		t.Errorf("streamed text %q differs from the decode %q", got.text(), want)
	}
	split := 0
	for i, c := range got.chunks {
		if !utf8.ValidString(c) {
			t.Errorf("chunk %d %q is not valid UTF-8", i, c)
		}
		if c == "" {
			split++
		}
	}
	if split == 0 {
		t.Errorf("no token ended inside a character; the test does not cover splits")
	}
	han := 0
	for _, r := range got.text() {
		if unicode.Is(unicode.Han, r) {
			han++
		}
	}
	if n := utf8.RuneCountInString(got.text()); han < n*3/4 {
		t.Errorf("generation %q has %d Han characters of %d; the fixture did not learn "+
			"its text", got.text(), han, n)
	}
	if !strings.HasPrefix(memoText, "今天我去"+got.text()[:9]) {
		t.Errorf("greedy continuation %q does not follow the memorized text", got.text())
	}
}

func TestGenerateStopString(t *testing.T) {
	m, tok := memorized(t)
	o := greedy(60)
	o.Stop = []string{"你好"}
	got := collect(t, m, tok, "今天我去", o)[0]
	if got.reason != FinishStop {
		t.Fatalf("finish reason %q; want %q", got.reason, FinishStop)
	}
	// The memorized text goes on "…白菜对我说你好…": everything up to the
	// stop string and nothing after it.
	if want := "超市买了一颗白菜，白菜对我说"; got.text() != want {
		t.Errorf("text %q; want %q", got.text(), want)
	}
	if got.done != 1 {
		t.Errorf("%d Done events; want 1", got.done)
	}
}

func TestGenerateMaxNewTokens(t *testing.T) {
	m, tok := memorized(t)
	got := collect(t, m, tok, "河里", greedy(7))[0]
	if len(got.ids) != 7 || got.reason != FinishLength || got.done != 1 {
		t.Errorf("%d tokens, reason %q, %d Done; want 7, %q, 1", len(got.ids), got.reason,
			got.done, FinishLength)
	}
}

func TestGenerateSeedReproducible(t *testing.T) {
	m, tok := memorized(t)
	o := DefaultSampleOptions()
	o.Temperature, o.TopK, o.TopP, o.MinP, o.MaxNewTokens = 1.5, 0, 1, 0, 30
	o.Seed = 42
	a := collect(t, m, tok, "白菜", o)[0]
	b := collect(t, m, tok, "白菜", o)[0]
	if !slices.Equal(a.ids, b.ids) || a.text() != b.text() {
		t.Errorf("the same seed gave %v and %v", a.ids, b.ids)
	}
	o.Seed = 43
	c := collect(t, m, tok, "白菜", o)[0]
	if slices.Equal(a.ids, c.ids) {
		t.Errorf("seeds 42 and 43 gave the same ids %v", a.ids)
	}
}

// TestGenerateBatch checks that the samples of a batch are independent
// streams whose texts each equal their decode, and that drawn ids are
// never banned ones.
func TestGenerateBatch(t *testing.T) {
	m, tok := memorized(t)
	o := DefaultSampleOptions()
	o.Temperature, o.TopK, o.TopP, o.MinP = 2, 0, 1, 0
	o.NumSamples, o.MaxNewTokens, o.Stop, o.TopAlternatives = 4, 50, []string{"鱼"}, 3
	got := collect(t, m, tok, "我", o)
	eot, _ := tok.SpecialID(bpe.EndOfText)
	for i, c := range got {
		if c.done != 1 {
			t.Errorf("sample %d: %d Done events; want 1", i, c.done)
		}
		ids := c.ids
		if c.reason == FinishStop && ids[len(ids)-1] == eot {
			ids = ids[:len(ids)-1]
		}
		want := streamDecode(tok, ids, c.reason == FinishLength)
		if cut := strings.Index(want, "鱼"); cut >= 0 {
			want = want[:cut]
		}
		if c.text() != want {
			t.Errorf("sample %d: text %q; want %q", i, c.text(), want)
		}
		for _, id := range c.ids {
			if id >= tok.VocabSize() || (id != eot && tok.IsSpecial(id)) {
				t.Errorf("sample %d drew the banned id %d", i, id)
			}
		}
	}
	if slices.Equal(got[0].ids, got[1].ids) && slices.Equal(got[1].ids, got[2].ids) {
		t.Errorf("three samples drew the same ids %v", got[0].ids)
	}
}

func TestGenerateAlternatives(t *testing.T) {
	m, tok := memorized(t)
	o := greedy(5)
	o.TopAlternatives = 4
	for ev, err := range m.Generate(context.Background(), tok, "今天", o) {
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Top) != 4 {
			t.Fatalf("%d alternatives; want 4", len(ev.Top))
		}
		if ev.Top[0].ID != ev.TokenID || ev.Top[0].Prob != ev.Prob {
			t.Errorf("greedy token %d (p %g) is not the first alternative %+v", ev.TokenID,
				ev.Prob, ev.Top[0])
		}
		for i, a := range ev.Top {
			if i > 0 && a.Prob > ev.Top[i-1].Prob {
				t.Errorf("alternatives out of order: %+v", ev.Top)
			}
			if !utf8.ValidString(a.Text) {
				t.Errorf("alternative text %q is not valid UTF-8", a.Text)
			}
		}
	}
}

// TestGenerateLengthDropsPartial checks that a sample cut by MaxNewTokens
// inside a character ends without it, not with U+FFFD, and that the
// Bytes of its events still hold the cut character's first bytes.
func TestGenerateLengthDropsPartial(t *testing.T) {
	m, tok := memorized(t)
	cut := 0
	for n := 1; n <= 20; n++ {
		var raw []byte
		var last Event
		text := ""
		for ev, err := range m.Generate(context.Background(), tok, "今天", greedy(n)) {
			if err != nil {
				t.Fatal(err)
			}
			raw = append(raw, ev.Bytes...)
			text += ev.Text
			last = ev
		}
		if !last.Done || last.FinishReason != FinishLength {
			t.Fatalf("max %d: last event %+v; want a length stop", n, last)
		}
		tail := unfinishedTail(raw)
		if tail > 0 {
			cut++
		}
		if strings.Contains(text, "\uFFFD") {
			t.Errorf("max %d: text %q shows U+FFFD", n, text)
		}
		if want := string(raw[:len(raw)-tail]); text != want {
			t.Errorf("max %d: text %q; want %q", n, text, want)
		}
	}
	if cut == 0 {
		t.Fatalf("no length stop fell inside a character; the test needs one")
	}
}

// TestGenerateRawBytes checks that each event carries its token's raw
// bytes and its alternatives theirs, as copies: with characters split over
// tokens, some tokens' bytes are not valid UTF-8 on their own.
func TestGenerateRawBytes(t *testing.T) {
	m, tok := memorized(t)
	o := greedy(30)
	o.TopAlternatives = 3
	var raw []byte
	split := false
	for ev, err := range m.Generate(context.Background(), tok, "今天", o) {
		if err != nil {
			t.Fatal(err)
		}
		want := tok.TokenBytes(ev.TokenID)
		if !bytes.Equal(ev.Bytes, want) {
			t.Errorf("token %d: Bytes %q; want %q", ev.TokenID, ev.Bytes, want)
		}
		split = split || !utf8.Valid(ev.Bytes)
		if !ev.Done || ev.FinishReason == FinishLength {
			raw = append(raw, ev.Bytes...)
		}
		for _, a := range ev.Top {
			if !bytes.Equal(a.Bytes, tok.TokenBytes(a.ID)) {
				t.Errorf("alternative %d: Bytes %q; want %q", a.ID, a.Bytes, tok.TokenBytes(a.ID))
			}
			if a.Text != strings.ToValidUTF8(string(a.Bytes), "\uFFFD") {
				t.Errorf("alternative %d: Text %q does not match Bytes %q", a.ID, a.Text, a.Bytes)
			}
		}
		if len(ev.Bytes) > 0 {
			ev.Bytes[0] ^= 0xff // must not reach the tokenizer
			if bytes.Equal(tok.TokenBytes(ev.TokenID), ev.Bytes) {
				t.Fatalf("token %d: Bytes aliases the tokenizer's table", ev.TokenID)
			}
		}
	}
	if !split {
		t.Fatalf("no token split a character; the test needs one")
	}
	if want := memoText[len("今天"):]; !strings.HasPrefix(want, string(raw)) || len(raw) == 0 {
		t.Errorf("joined Bytes %q are not a start of %q", raw, want)
	}
}

// TestGenerateSlidesWindow generates three context lengths greedily and
// checks every token against an argmax over a full recompute of the
// window that the sliding rule gives: the last T tokens by default, and
// with SlideBy s, the last T-s+1 once every s tokens.
func TestGenerateSlidesWindow(t *testing.T) {
	for _, slideBy := range []int{0, 1, 4} {
		checkSlides(t, slideBy)
	}
}

func checkSlides(t *testing.T, slideBy int) {
	cfg := tinyInferConfig
	cfg.VocabSize = 300
	m := New(cfg, 21)
	randomizeBiases(m, 22)
	tok := byteTokenizer(t)
	T := cfg.ContextLen
	o := DefaultSampleOptions()
	o.Temperature, o.MaxNewTokens, o.SlideBy = 0, 3*T, slideBy
	// The recompute below is float32; so must the generation be, for the
	// argmax to agree exactly.
	o.Weights = PrecisionF32

	got := collect(t, m, tok, "abcdefg", o)[0]
	if len(got.ids) != 3*T {
		t.Fatalf("slide by %d: %d tokens before %q; want %d", slideBy, len(got.ids),
			got.reason, 3*T)
	}
	eot, _ := tok.SpecialID(bpe.EndOfText)
	body := tok.Encode("abcdefg")
	ctxIDs := append([]int{eot}, body...) // the positions in the cache
	keep := T
	if slideBy > 1 {
		keep = T - slideBy + 1
	}
	slides := 0
	for step, id := range got.ids {
		logits := recomputeLast(m, ctxIDs)
		for b := tok.VocabSize(); b < cfg.VocabSize; b++ {
			logits[b] = -1e30
		}
		if want := argmax(logits); id != want {
			t.Fatalf("slide by %d, step %d (context %d tokens): generated %d; recompute "+
				"gives %d", slideBy, step, len(ctxIDs), id, want)
		}
		body = append(body, id)
		if len(ctxIDs) < T {
			ctxIDs = append(ctxIDs, id)
		} else {
			ctxIDs = append([]int{eot}, body[len(body)-(keep-1):]...)
			slides++
		}
	}
	// 1 + 7 prompt tokens and 3T new ones: 3T + 8 - T positions past the
	// first full window, one slide per SlideBy of them.
	if want := (2*T + 8 + max(slideBy, 1) - 1) / max(slideBy, 1); slides != want {
		t.Errorf("slide by %d: %d slides; want %d", slideBy, slides, want)
	}
}

// byteTokenizer returns a tokenizer with only the byte tokens and
// <|endoftext|>.
func byteTokenizer(t *testing.T) *bpe.Tokenizer {
	t.Helper()
	tok, err := bpe.Train([]string{"abcdefg"}, bpe.TrainOptions{VocabSize: 256 + 1,
		Specials: []string{bpe.EndOfText}, MinFrequency: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestGenerateCancel(t *testing.T) {
	m, tok := memorized(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := 0
	var last error
	for ev, err := range m.Generate(ctx, tok, "今天", greedy(50)) {
		if err != nil {
			last = err
			break
		}
		events++
		if ev.Done {
			t.Fatal("generation finished before the cancel took effect")
		}
		if events == 3 {
			cancel()
		}
	}
	if !errors.Is(last, context.Canceled) || events != 3 {
		t.Errorf("after cancel: %d events, error %v; want 3 and context.Canceled", events, last)
	}
}

func TestGenerateRejectsBadInput(t *testing.T) {
	m, tok := memorized(t)
	cases := []struct {
		name string
		tok  *bpe.Tokenizer
		edit func(o *SampleOptions)
		want string
	}{
		{"negative temperature", tok, func(o *SampleOptions) { o.Temperature = -1 },
			"temperature"},
		{"unknown style", tok, func(o *SampleOptions) { o.Style = "诗" }, "style"},
		{"nil tokenizer", nil, func(o *SampleOptions) {}, "tokenizer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultSampleOptions()
			c.edit(&o)
			n := 0
			for _, err := range m.Generate(context.Background(), c.tok, "x", o) {
				n++
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("got error %v; want one naming %s", err, c.want)
				}
			}
			if n != 1 {
				t.Errorf("%d results; want one error", n)
			}
		})
	}

	small := New(Config{VocabSize: 100, ContextLen: 8, Layers: 1, Heads: 1, Embd: 8}, 1)
	for _, err := range small.Generate(context.Background(), tok, "x", DefaultSampleOptions()) {
		if err == nil || !strings.Contains(err.Error(), "tokenizer has") {
			t.Errorf("tokenizer larger than the model: error %v", err)
		}
	}
}

func TestHeldTail(t *testing.T) {
	cases := []struct {
		s     string
		stops []string
		want  int
	}{
		{"abc", []string{"cd"}, 1},
		{"abc", []string{"bcd", "cd"}, 2},
		{"abc", []string{"x"}, 0},
		{"abc", []string{"abc"}, 0}, // a whole match is a stop, not a tail
		{"你好", []string{"好的"}, 3},
	}
	for _, c := range cases {
		if got := heldTail(c.s, c.stops); got != c.want {
			t.Errorf("heldTail(%q, %q) = %d; want %d", c.s, c.stops, got, c.want)
		}
	}
}

func TestWindowKeepsHeader(t *testing.T) {
	header, body := []int{1, 2}, []int{10, 11, 12, 13, 14}
	cases := []struct {
		limit int
		want  []int
	}{
		{10, []int{1, 2, 10, 11, 12, 13, 14}},
		{5, []int{1, 2, 12, 13, 14}},
		{2, []int{13, 14}},
		{1, []int{14}},
	}
	for _, c := range []struct {
		limit int
		want  []int
	}{{2, []int{2, 10}}, {1, []int{10}}} {
		// A header that fills the limit is cut from the left, with the
		// body's ids kept.
		if got := window(header, body[:1], c.limit); !slices.Equal(got, c.want) {
			t.Errorf("window of one body id, limit %d = %v; want %v", c.limit, got, c.want)
		}
	}
	for _, c := range cases {
		if got := window(header, body, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("window limit %d = %v; want %v", c.limit, got, c.want)
		}
	}
}

// TestGenerateTinyContext runs a context of 2 positions, which the header
// of <|endoftext|> and a style token fills alone, and rejects 1.
func TestGenerateTinyContext(t *testing.T) {
	_, tok := memorized(t)
	cfg := Config{VocabSize: tok.VocabSize(), ContextLen: 2, Layers: 1, Heads: 1, Embd: 16,
		Styles: []string{"抽象"}}
	o := greedy(9)
	got := collect(t, New(cfg, 2), tok, "今天我去", o)[0]
	if len(got.ids) == 0 || got.done != 1 {
		t.Errorf("%d ids and %d Done events; want some ids and one Done", len(got.ids), got.done)
	}

	cfg.ContextLen = 1
	for _, err := range New(cfg, 2).Generate(context.Background(), tok, "x", o) {
		if err == nil || !strings.Contains(err.Error(), "context length 1") {
			t.Errorf("context of 1: error %v; want one naming the context length", err)
		}
	}
}
