package bpe

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// mixedAlphabet is the rune set of the random corpora: Han characters,
// ASCII letters and digits, spaces, a line break and both kinds of
// punctuation.
var mixedAlphabet = []rune("中文字春眠不觉晓处闻啼鸟abcxyz019 ,.，。！\n")

// randomCorpus returns docs random documents over mixedAlphabet with a
// skewed rune distribution, so that some pairs are frequent.
func randomCorpus(seed uint64, docs, maxLen int) []string {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]string, docs)
	for i := range out {
		var b strings.Builder
		n := r.IntN(maxLen) + 1
		for j := 0; j < n; j++ {
			k := r.IntN(len(mixedAlphabet))
			k = k * r.IntN(len(mixedAlphabet)) / len(mixedAlphabet)
			b.WriteRune(mixedAlphabet[k])
		}
		out[i] = b.String()
	}
	return out
}

// sampleCorpus is a fixed corpus of Chinese and English text with a few
// emoji, big enough for a few hundred merges.
func sampleCorpus() []string {
	base := []string{
		"床前明月光，疑是地上霜。举头望明月，低头思故乡。",
		"春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。",
		"The quick brown fox jumps over the lazy dog, doesn't it?",
		"家人们谁懂啊，今天又被 AI 整破防了😭😭 笑死我了 2026 年",
		"白日依山尽，黄河入海流。欲穷千里目，更上一层楼。",
		"Hello world 123456, hello again!\r\n你好，世界。",
	}
	var docs []string
	for i := 0; i < 40; i++ {
		for j, s := range base {
			if (i+j)%3 != 0 {
				docs = append(docs, s)
			}
		}
	}
	return docs
}

var (
	sampleOnce sync.Once
	sampleTok  *Tokenizer
)

// sampleTokenizer returns a tokenizer trained on sampleCorpus and a random
// corpus at vocab 600
// with two specials; tests must not modify it.
func sampleTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	sampleOnce.Do(func() {
		docs := append(sampleCorpus(), randomCorpus(99, 300, 60)...)
		tok, err := Train(docs, TrainOptions{
			VocabSize: 600, Specials: []string{EndOfText, "<|style:抽象|>"}, MinFrequency: 2,
		})
		if err != nil {
			panic(err)
		}
		sampleTok = tok
	})
	return sampleTok
}

func TestTrainHandExample(t *testing.T) {
	// "aaabdaaabac": (a,a) has count 4 and merges first into 256. Then
	// (256,a) and (a,b) both have count 2; the tie goes to the smaller left
	// id, a = 97, so (a,b) becomes 257. Last (256,257) has count 2 and
	// becomes 258; every other pair has count 1, below MinFrequency.
	tok, err := Train([]string{"aaabdaaabac"}, TrainOptions{VocabSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]int{{'a', 'a'}, {'a', 'b'}, {256, 257}}
	if got := tok.Merges(); !reflect.DeepEqual(got, want) {
		t.Fatalf("merges = %v, want %v", got, want)
	}
	if got := tok.VocabSize(); got != 259 {
		t.Errorf("vocab size = %d, want 259 (training stops when no pair reaches 2)", got)
	}
	if got := string(tok.TokenBytes(258)); got != "aaab" {
		t.Errorf("token 258 = %q, want %q", got, "aaab")
	}
	ids := tok.Encode("aaabdaaabac")
	if want := []int{258, 'd', 258, 'a', 'c'}; !reflect.DeepEqual(ids, want) {
		t.Errorf("Encode = %v, want %v", ids, want)
	}
}

// recountPairs counts the adjacent pairs of the current words from scratch.
func recountPairs(st *trainState) map[uint64]int64 {
	counts := make(map[uint64]int64)
	for wi, s := range st.syms {
		for j := 0; j+1 < len(s); j++ {
			counts[pairKey(s[j], s[j+1])] += st.counts[wi]
		}
	}
	return counts
}

func TestTrainPairCountsMatchRecount(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		docs := randomCorpus(seed, 60, 40)
		minFreq := int64(1 + seed%3)
		merges, floors := 0, map[int64]bool{}
		hooks := trainHooks{afterMerge: func(st *trainState) {
			merges++
			floors[st.floor] = true
			fresh := recountPairs(st)
			for k, c := range fresh {
				pi, ok := st.pairIndex[k]
				if c >= st.floor && !ok {
					t.Fatalf("seed %d merge %d: pair %x with count %d is not tracked",
						seed, merges, k, c)
				}
				if ok && st.pairs.at(pi).count != c {
					t.Fatalf("seed %d merge %d: pair %x count %d, recount %d",
						seed, merges, k, st.pairs.at(pi).count, c)
				}
			}
			for k, pi := range st.pairIndex {
				if c := st.pairs.at(pi).count; c != fresh[k] {
					t.Fatalf("seed %d merge %d: tracked pair %x count %d, recount %d",
						seed, merges, k, c, fresh[k])
				}
			}
			// A merge rewrites only the words in the pair's list, so the
			// list of a tracked pair must name every word that has it.
			for wi, s := range st.syms {
				for j := 0; j+1 < len(s); j++ {
					k := pairKey(s[j], s[j+1])
					pi, ok := st.pairIndex[k]
					if ok && !slices.Contains(st.pairs.at(pi).where, int32(wi)) {
						t.Fatalf("seed %d merge %d: word %d has pair %x but is not in its list",
							seed, merges, wi, k)
					}
				}
			}
		}}
		_, err := train(docs, TrainOptions{VocabSize: 256 + 120, MinFrequency: int(minFreq)}, hooks)
		if err != nil {
			t.Fatal(err)
		}
		if merges < 20 {
			t.Errorf("seed %d: only %d merges; the corpus is too small to test", seed, merges)
		}
		// The counts must also hold across a rescan that lowers the floor.
		if len(floors) < 2 {
			t.Errorf("seed %d: the floor stayed at %v; want at least one rescan", seed, floors)
		}
	}
}

func TestTrainFloorKeepsMerges(t *testing.T) {
	// Tracking only pairs above a floor, and rescanning when the best
	// pair falls below it, must give the merges of a full pair table.
	corpora := [][]string{sampleCorpus(), append(randomCorpus(31, 400, 120), sampleCorpus()...)}
	for seed := uint64(40); seed < 44; seed++ {
		corpora = append(corpora, randomCorpus(seed, 300, 100))
	}
	for i, docs := range corpora {
		for _, minFreq := range []int{1, 2, 3} {
			opts := TrainOptions{VocabSize: 256 + 400, MinFrequency: minFreq}
			rescans := 0
			floor := int64(-1)
			hooks := trainHooks{afterMerge: func(st *trainState) {
				if st.floor != floor {
					rescans++
					floor = st.floor
				}
			}}
			got, err := train(docs, opts, hooks)
			if err != nil {
				t.Fatal(err)
			}
			want, err := train(docs, opts, trainHooks{noFloor: true})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Merges(), want.Merges()) {
				t.Errorf("corpus %d min frequency %d: merges differ from the full table",
					i, minFreq)
			}
			if rescans < 2 {
				t.Errorf("corpus %d min frequency %d: floor changed %d times; want a rescan",
					i, minFreq, rescans)
			}
		}
	}
}

func TestTrainTieRuleIgnoresOrder(t *testing.T) {
	// Each document is one pre-token and each occurs twice, so most pairs
	// tie at count 2; only the documented rule (smaller left id, then
	// smaller right id) decides, whatever comes first in the input.
	words := []string{"zy", "xw", "ba", "dc", "春天", "秋天"}
	forward := append(append([]string(nil), words...), words...)
	var backward []string
	for i := len(forward) - 1; i >= 0; i-- {
		backward = append(backward, forward[i])
	}
	a, err := Train(forward, TrainOptions{VocabSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(backward, TrainOptions{VocabSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Merges(), b.Merges()) {
		t.Fatalf("merges differ with input order:\n%v\n%v", a.Merges(), b.Merges())
	}
	// By hand: 天 is E5 A4 A9 and occurs 4 times, so (A4, A9) and (E5, A4)
	// tie at 4 and the smaller left id A4 wins. Then E5+256 makes 天. All
	// other pairs have count 2 and go by left id: b(98) d(100) x(120)
	// z(122), then the last byte of 秋 (E7 A7 8B) with 天, then the
	// middle and last bytes of 春 (E6 98 A5).
	want := [][2]int{{0xA4, 0xA9}, {0xE5, 256}, {'b', 'a'}, {'d', 'c'}, {'x', 'w'},
		{'z', 'y'}, {0x8B, 257}, {0x98, 0xA5}}
	if got := a.Merges()[:len(want)]; !reflect.DeepEqual(got, want) {
		t.Errorf("first merges = %v, want %v", got, want)
	}

	docs := randomCorpus(7, 200, 30)
	shuffled := append([]string(nil), docs...)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	x, _ := Train(docs, TrainOptions{VocabSize: 400})
	y, _ := Train(shuffled, TrainOptions{VocabSize: 400})
	if !reflect.DeepEqual(x.Merges(), y.Merges()) {
		t.Error("merges differ after shuffling the documents")
	}
}

func TestTrainDeterministicFiles(t *testing.T) {
	docs := append(randomCorpus(11, 400, 200), sampleCorpus()...)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var first []byte
	for run := 0; run < 20; run++ {
		runtime.GOMAXPROCS(1 + run%4)
		tok, err := Train(docs, TrainOptions{VocabSize: 700, Specials: []string{EndOfText}})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := tok.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			first = buf.Bytes()
			continue
		}
		if !bytes.Equal(buf.Bytes(), first) {
			t.Fatalf("run %d (GOMAXPROCS %d) wrote a different file", run, 1+run%4)
		}
	}
}

func TestTrainTokensHaveDistinctBytes(t *testing.T) {
	for seed := uint64(20); seed < 30; seed++ {
		docs := randomCorpus(seed, 80, 60)
		tok, err := Train(docs, TrainOptions{VocabSize: 256 + 300, MinFrequency: 1})
		if err != nil {
			t.Fatal(err)
		}
		seen := make(map[string]int)
		for id := 0; id < tok.VocabSize(); id++ {
			b := string(tok.TokenBytes(id))
			if prev, dup := seen[b]; dup {
				t.Fatalf("seed %d: tokens %d and %d both have bytes %q", seed, prev, id, b)
			}
			seen[b] = id
		}
	}
}

func TestCutSpecialsLeftmostLongest(t *testing.T) {
	// Specials that overlap and share prefixes: at each point the leftmost
	// occurrence is cut, the longest one when several start there.
	specials := []string{"<a>", "<a>b", "a><", "zz"}
	cases := []struct {
		text string
		want []string
	}{
		{"", nil},
		{"plain", []string{"plain"}},
		{"<a>", nil},
		{"x<a>y", []string{"x", "y"}},
		{"x<a>by", []string{"x", "y"}},
		{"xa><a>y", []string{"x", "a>y"}},
		{"<a><a>b<a>", nil},
		{"1<a>2<a>b3zz4<a>", []string{"1", "2", "3", "4"}},
	}
	for _, tc := range cases {
		if got := cutSpecials(tc.text, specials); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("cutSpecials(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}

	// One frequent special and one that never occurs: a fresh search for
	// each special at each cut would make this quadratic.
	text := strings.Repeat("春眠不觉晓"+EndOfText, 20_000)
	got := cutSpecials(text, []string{EndOfText, "<|style:absent|>"})
	if len(got) != 20_000 || got[0] != "春眠不觉晓" || got[19_999] != "春眠不觉晓" {
		t.Errorf("cut %d parts, first %q; want 20000 parts of 春眠不觉晓", len(got), got[0])
	}
}

func TestTrainSpecialsAreCutOut(t *testing.T) {
	doc := strings.Repeat("你好"+EndOfText, 50)
	tok, err := Train([]string{doc}, TrainOptions{VocabSize: 400, Specials: []string{EndOfText}})
	if err != nil {
		t.Fatal(err)
	}
	for id := 256; id < tok.VocabSize()-1; id++ {
		if b := tok.TokenBytes(id); bytes.ContainsAny(b, "<|>") {
			t.Errorf("merge token %d = %q contains special-token text", id, b)
		}
	}
	id, ok := tok.SpecialID(EndOfText)
	if !ok || id != tok.VocabSize()-1 {
		t.Errorf("SpecialID(EndOfText) = %d, %v; want %d, true", id, ok, tok.VocabSize()-1)
	}
}

func TestTrainProgressBar(t *testing.T) {
	var out bytes.Buffer
	_, err := Train(sampleCorpus(), TrainOptions{VocabSize: 400, Progress: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "bpe merges") {
		t.Errorf("progress output %q lacks the bar description", out.String())
	}
}

func TestTrainOnMerges(t *testing.T) {
	// The hand example makes 3 merges of the 744 asked for, so the only
	// call is the final one.
	var calls [][2]int
	_, err := Train([]string{"aaabdaaabac"}, TrainOptions{VocabSize: 1000,
		OnMerges: func(done, total int) { calls = append(calls, [2]int{done, total}) }})
	if err != nil {
		t.Fatal(err)
	}
	if want := [][2]int{{3, 744}}; !reflect.DeepEqual(calls, want) {
		t.Errorf("OnMerges calls = %v, want %v", calls, want)
	}

	calls = nil
	_, err = Train(sampleCorpus(), TrainOptions{VocabSize: 256 + 130,
		OnMerges: func(done, total int) { calls = append(calls, [2]int{done, total}) }})
	if err != nil {
		t.Fatal(err)
	}
	if want := [][2]int{{64, 130}, {128, 130}, {130, 130}}; !reflect.DeepEqual(calls, want) {
		t.Errorf("OnMerges calls = %v, want %v", calls, want)
	}
}

func TestTrainErrors(t *testing.T) {
	cases := []struct {
		name string
		docs []string
		opts TrainOptions
		want string
	}{
		{"vocab below bytes", []string{"abc"}, TrainOptions{VocabSize: 200},
			"vocab size 200 is below the 256 byte tokens plus 0 specials; use 256 or more"},
		{"vocab below specials", []string{"abc"},
			TrainOptions{VocabSize: 256, Specials: []string{EndOfText}}, "use 257 or more"},
		{"no texts", nil, TrainOptions{VocabSize: 300}, "training corpus is empty"},
		{"empty texts", []string{"", ""}, TrainOptions{VocabSize: 300}, "training corpus is empty"},
		{"only specials", []string{EndOfText},
			TrainOptions{VocabSize: 300, Specials: []string{EndOfText}}, "training corpus is empty"},
		{"duplicate special", []string{"abc"},
			TrainOptions{VocabSize: 300, Specials: []string{"<a>", "<a>"}}, `"<a>" is listed twice`},
		{"empty special", []string{"abc"},
			TrainOptions{VocabSize: 300, Specials: []string{""}}, "empty special token"},
		{"negative min frequency", []string{"abc"},
			TrainOptions{VocabSize: 300, MinFrequency: -1}, "min frequency -1 is negative"},
		// Two runs of 2^21 '=' merge into tokens of 2, 4, ... 2^21 bytes:
		// 2^22-2 bytes in 21 merges, above 2^20 + 21*4096.
		{"huge tokens", []string{strings.Repeat("=", 1<<21), strings.Repeat("=", 1<<21)},
			TrainOptions{VocabSize: 300}, "the corpus repeats very long pre-tokens"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Train(tc.docs, tc.opts)
			if err == nil {
				t.Fatalf("Train succeeded; want error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestTrainSkipsPairDuplicatingToken(t *testing.T) {
	// "ab" occurs 3 times and "cd" twice. Pretend a token with bytes "ab"
	// already exists: best must skip (a, b) and return (c, d).
	st := newTrainState([]wordCount{{"ab", 3}, {"cd", 2}}, 1)
	st.known["ab"] = true
	pi, ok := st.best(1)
	if !ok {
		t.Fatal("best found no pair; want (c, d)")
	}
	if p := st.pairs.at(pi); p.a != 'c' || p.b != 'd' {
		t.Errorf("best = (%d, %d), want (99, 100)", p.a, p.b)
	}
}
