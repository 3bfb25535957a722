package bpe

import (
	"container/heap"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/schollz/progressbar/v3"
)

// TrainOptions sets the size and special tokens of a trained tokenizer.
type TrainOptions struct {
	// VocabSize is the total vocabulary: 256 byte tokens, the merges and the
	// specials. Training stops early when no pair reaches MinFrequency.
	VocabSize int
	// Specials are appended after the merges, in this order. Their text is
	// cut out of the training documents, so no merge learns a piece of it.
	Specials []string
	// MinFrequency is the smallest pair count that is still merged; 0 means 2.
	MinFrequency int
	// Progress receives a progress bar of the merges when non-nil.
	Progress io.Writer
	// OnMerges, when non-nil, is called with the number of merges done
	// and the number asked for, every 64 merges and once at the end, for
	// progress output where a bar does not fit, such as a log.
	OnMerges func(done, total int)
}

// trainHooks lets tests observe the trainer's state after each merge.
type trainHooks struct {
	afterMerge func(st *trainState)
	noFloor    bool // track every pair from the start, as a reference
}

// Train learns merges from texts, each string one document, and returns a
// tokenizer with ids 0..255 for the bytes, then the merges in rank order,
// then opts.Specials.
//
// The most frequent adjacent pair is merged first. Equal counts are broken
// by the smaller left token id, then the smaller right token id, so the
// result depends only on the multiset of pre-tokens: neither document order
// nor GOMAXPROCS changes it. A pair whose merged bytes equal an existing
// token is never merged, so every token has distinct bytes. Train fails
// when the tokens would hold more than 1 MiB plus 4 KiB per merge in all,
// the limit that Read also applies, which takes megabytes of one repeated
// pre-token.
func Train(texts []string, opts TrainOptions) (*Tokenizer, error) {
	return train(texts, opts, trainHooks{})
}

func train(texts []string, opts TrainOptions, hooks trainHooks) (*Tokenizer, error) {
	if err := checkTrainOptions(opts); err != nil {
		return nil, err
	}
	minFreq := int64(opts.MinFrequency)
	if minFreq == 0 {
		minFreq = 2
	}

	words := countWords(texts, opts.Specials)
	if len(words) == 0 {
		return nil, errors.New("bpe: training corpus is empty; pass at least one non-empty text")
	}
	st := newTrainState(words, minFreq)
	if !hooks.noFloor {
		st.raiseFloor(minFreq)
	}
	numMerges := opts.VocabSize - 256 - len(opts.Specials)
	bar := newMergeBar(opts.Progress, numMerges)
	for len(st.merges) < numMerges {
		p, ok := st.best(minFreq)
		if !ok {
			break
		}
		st.merge(p)
		if hooks.afterMerge != nil {
			hooks.afterMerge(st)
		}
		if len(st.merges)%64 == 0 {
			if bar != nil {
				_ = bar.Set(len(st.merges))
			}
			if opts.OnMerges != nil {
				opts.OnMerges(len(st.merges), numMerges)
			}
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	if opts.OnMerges != nil {
		opts.OnMerges(len(st.merges), numMerges)
	}
	if err := checkTokenSizes(st.merges); err != nil {
		return nil, fmt.Errorf("%w; the corpus repeats very long pre-tokens, such as runs of "+
			"one character, so shorten them", err)
	}
	return newTokenizer(st.merges, opts.Specials)
}

func checkTrainOptions(opts TrainOptions) error {
	need := 256 + len(opts.Specials)
	if opts.VocabSize < need {
		return fmt.Errorf("bpe: vocab size %d is below the 256 byte tokens plus %d specials; "+
			"use %d or more", opts.VocabSize, len(opts.Specials), need)
	}
	if opts.MinFrequency < 0 {
		return fmt.Errorf("bpe: min frequency %d is negative; use 0 for the default of 2",
			opts.MinFrequency)
	}
	return checkSpecials(opts.Specials)
}

func checkSpecials(specials []string) error {
	seen := make(map[string]bool, len(specials))
	for _, s := range specials {
		if s == "" {
			return errors.New("bpe: empty special token; give each special a non-empty text")
		}
		if seen[s] {
			return fmt.Errorf("bpe: special token %q is listed twice", s)
		}
		seen[s] = true
	}
	return nil
}

func newMergeBar(w io.Writer, numMerges int) *progressbar.ProgressBar {
	if w == nil {
		return nil
	}
	return progressbar.NewOptions(numMerges,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("bpe merges"),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(200_000_000),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}

// wordCount is one distinct pre-token and its count in the corpus.
type wordCount struct {
	text  string
	count int64
}

// countWords pre-tokenizes texts on GOMAXPROCS goroutines and returns the
// distinct pre-tokens sorted by bytes. Special-token text is cut out first.
func countWords(texts []string, specials []string) []wordCount {
	chunks := chunkTexts(texts, specials, runtime.GOMAXPROCS(0))
	maps := make([]map[string]int64, len(chunks))
	var wg sync.WaitGroup
	for i, chunk := range chunks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := make(map[string]int64)
			for _, text := range chunk {
				for len(text) > 0 {
					n := nextPiece(text)
					m[text[:n]]++
					text = text[n:]
				}
			}
			maps[i] = m
		}()
	}
	wg.Wait()

	total := maps[0]
	for _, m := range maps[1:] {
		if len(m) > len(total) {
			total, m = m, total
		}
		for w, c := range m {
			total[w] += c
		}
	}
	words := make([]wordCount, 0, len(total))
	for w, c := range total {
		words = append(words, wordCount{w, c})
	}
	slices.SortFunc(words, func(a, b wordCount) int { return strings.Compare(a.text, b.text) })
	return words
}

// chunkTexts removes special-token text and deals the texts out into at
// most parts lists of about equal byte size. A long text is cut at
// pre-token boundaries so one document does not serialise the count.
func chunkTexts(texts []string, specials []string, parts int) [][]string {
	var segs []string
	total := 0
	for _, t := range texts {
		for _, s := range cutSpecials(t, specials) {
			segs = append(segs, s)
			total += len(s)
		}
	}
	target := total/parts + 1
	var pieces []string
	for _, s := range segs {
		if len(s) <= target {
			pieces = append(pieces, s)
			continue
		}
		prev := 0
		for _, c := range splitPoints(s, len(s)/target+1) {
			pieces = append(pieces, s[prev:c])
			prev = c
		}
		pieces = append(pieces, s[prev:])
	}
	chunks := make([][]string, 0, parts)
	var cur []string
	size := 0
	for _, p := range pieces {
		cur = append(cur, p)
		size += len(p)
		if size >= target && len(chunks) < parts-1 {
			chunks = append(chunks, cur)
			cur, size = nil, 0
		}
	}
	return append(chunks, cur)
}

// cutSpecials returns the parts of text between occurrences of specials.
func cutSpecials(text string, specials []string) []string {
	if len(specials) == 0 {
		return []string{text}
	}
	var out []string
	f := newSpecialFinder(text, specials)
	from := 0
	for {
		at, n := f.find(from)
		if at < 0 {
			break
		}
		if at > from {
			out = append(out, text[from:at])
		}
		from = at + n
	}
	if from < len(text) {
		out = append(out, text[from:])
	}
	return out
}

// specialFinder finds the specials in a text from left to right. It keeps
// the next offset of each special, so each special's search only moves
// forward. A fresh search for every special at every cut would be
// quadratic in a text where one special is frequent and another absent.
type specialFinder struct {
	text     string
	specials []string
	next     []int // offset of each special's next occurrence, -1 if none, -2 before a search
}

func newSpecialFinder(text string, specials []string) *specialFinder {
	next := make([]int, len(specials))
	for i := range next {
		next[i] = -2
	}
	return &specialFinder{text, specials, next}
}

// find returns the offset and length of the leftmost special at or after
// offset from (the longest one when several start there), or -1. The
// offsets from of successive calls must not decrease.
func (f *specialFinder) find(from int) (int, int) {
	best, bestLen := -1, 0
	for i, s := range f.specials {
		at := f.next[i]
		if at == -2 || (at >= 0 && at < from) {
			at = strings.Index(f.text[from:], s)
			if at >= 0 {
				at += from
			}
			f.next[i] = at
		}
		if at < 0 {
			continue
		}
		if best < 0 || at < best || (at == best && len(s) > bestLen) {
			best, bestLen = at, len(s)
		}
	}
	return best, bestLen
}

// pairKey packs a left and right token id into one map key.
func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// trainState holds the word table and the incremental pair statistics.
//
// Each distinct pre-token is a word: its current symbols and its corpus
// count. For every tracked pair, pairs holds its weighted count and the
// list of words that contained it when it was tracked. A list may keep
// words that lost the pair to a later merge, and merge rescans them and
// finds nothing. The heap holds (count, pair) entries whose count is at
// least the current count, because a pair's count only falls after the
// merge that created it. best re-pushes stale entries with their fresh
// count.
type trainState struct {
	syms   [][]int32
	counts []int64
	tokens [][]byte // bytes of every token id

	pairIndex map[uint64]int32
	pairs     pairStore
	queue     pairHeap
	banned    map[int32]bool // pairs whose merge would duplicate a token's bytes

	known  map[string]bool // bytes of every token, to reject duplicates
	merges [][2]int32

	// floor is the count below which a new pair is not tracked. Every
	// pair missing from pairIndex has a count below floor, so while the
	// best tracked pair reaches floor it is the best of all pairs.
	floor int64
}

type pairStat struct {
	a, b  int32
	count int64
	where []int32
}

// pairChunk is the number of pairStats in each chunk of a pairStore.
const pairChunk = 1 << 16

// pairStore is a growable array of pairStat kept in fixed-size chunks, so
// growing it never copies the table or leaves the old copy as garbage.
// On 22 MB of Chinese it holds about 1.4 million pairs (56 MB).
type pairStore struct {
	chunks [][]pairStat
	n      int32
}

func (s *pairStore) len() int32 { return s.n }

func (s *pairStore) at(i int32) *pairStat { return &s.chunks[i/pairChunk][i%pairChunk] }

func (s *pairStore) add(p pairStat) int32 {
	if int(s.n) == len(s.chunks)*pairChunk {
		s.chunks = append(s.chunks, make([]pairStat, pairChunk))
	}
	i := s.n
	s.n++
	*s.at(i) = p
	return i
}

// truncate drops the pairs from index n on.
func (s *pairStore) truncate(n int32) {
	for i := n; i < s.n; i++ {
		*s.at(i) = pairStat{}
	}
	s.n = n
	keep := (int(n) + pairChunk - 1) / pairChunk
	clear(s.chunks[keep:])
	s.chunks = s.chunks[:keep]
}

// newTrainState builds the word table and tracks every pair of it.
func newTrainState(words []wordCount, minFreq int64) *trainState {
	st := &trainState{
		floor:     minFreq,
		syms:      make([][]int32, len(words)),
		counts:    make([]int64, len(words)),
		pairIndex: make(map[uint64]int32),
		known:     make(map[string]bool),
		banned:    make(map[int32]bool),
	}
	total := 0
	for _, w := range words {
		total += len(w.text)
	}
	backing := make([]int32, total)
	for i, w := range words {
		s := backing[:len(w.text):len(w.text)]
		backing = backing[len(w.text):]
		for j := 0; j < len(w.text); j++ {
			s[j] = int32(w.text[j])
		}
		st.syms[i] = s
		st.counts[i] = w.count
	}
	for b := 0; b < 256; b++ {
		st.tokens = append(st.tokens, []byte{byte(b)})
		st.known[string([]byte{byte(b)})] = true
	}
	st.countInitialPairs()
	st.queue = pairHeap{pairs: &st.pairs, items: make([]queueEntry, 0, st.pairs.len())}
	for i := int32(0); i < st.pairs.len(); i++ {
		st.queue.items = append(st.queue.items, queueEntry{st.pairs.at(i).count, i})
	}
	heap.Init(&st.queue)
	return st
}

// countInitialPairs fills the pair statistics of the byte-level words. All
// pairs are byte pairs here, so a dense table replaces the map lookups, and
// a counting pass sizes every where list exactly, which keeps the peak
// memory down on large corpora.
func (st *trainState) countInitialPairs() {
	dense := make([]int32, 1<<16)
	for i := range dense {
		dense[i] = -1
	}
	lastWord := make([]int32, 0, 1<<10)
	var counts []int64
	var sizes []int
	for wi, s := range st.syms {
		c := st.counts[wi]
		for j := 0; j+1 < len(s); j++ {
			k := s[j]<<8 | s[j+1]
			pi := dense[k]
			if pi < 0 {
				pi = int32(len(counts))
				dense[k] = pi
				counts = append(counts, 0)
				sizes = append(sizes, 0)
				lastWord = append(lastWord, -1)
			}
			counts[pi] += c
			if lastWord[pi] != int32(wi) {
				lastWord[pi] = int32(wi)
				sizes[pi]++
			}
		}
	}

	total := 0
	for _, n := range sizes {
		total += n
	}
	backing := make([]int32, total)
	for range counts {
		st.pairs.add(pairStat{})
	}
	for k, pi := range dense {
		if pi < 0 {
			continue
		}
		a, b := int32(k>>8), int32(k&0xFF)
		n := sizes[pi]
		*st.pairs.at(pi) = pairStat{a: a, b: b, count: counts[pi], where: backing[:0:n]}
		backing = backing[n:]
		st.pairIndex[pairKey(a, b)] = pi
	}

	for wi, s := range st.syms {
		for j := 0; j+1 < len(s); j++ {
			p := st.pairs.at(dense[s[j]<<8|s[j+1]])
			if n := len(p.where); n == 0 || p.where[n-1] != int32(wi) {
				p.where = append(p.where, int32(wi))
			}
		}
	}
}

// addPair adds c to the count of pair (a, b) and records that word wi
// contains it.
func (st *trainState) addPair(a, b int32, c int64, wi int32) int32 {
	k := pairKey(a, b)
	pi, ok := st.pairIndex[k]
	if !ok {
		pi = st.pairs.add(pairStat{a: a, b: b})
		st.pairIndex[k] = pi
	}
	p := st.pairs.at(pi)
	p.count += c
	if n := len(p.where); n == 0 || p.where[n-1] != wi {
		p.where = append(p.where, wi)
	}
	return pi
}

// subPair subtracts c from the count of an existing pair (a, b).
// A pair that falls to zero releases its word list: no merge can create it
// again, because new pairs always contain the newest token.
func (st *trainState) subPair(a, b int32, c int64) {
	pi, ok := st.pairIndex[pairKey(a, b)]
	if !ok {
		return // below the floor when it was created
	}
	p := st.pairs.at(pi)
	p.count -= c
	if p.count == 0 {
		p.where = nil
	}
}

// best pops the pair to merge next, or reports false when no pair left
// reaches minFreq.
func (st *trainState) best(minFreq int64) (int32, bool) {
	for {
		pi, count, ok := st.peek(minFreq)
		if ok && count >= st.floor {
			heap.Pop(&st.queue)
			return pi, true
		}
		if st.floor <= minFreq {
			if ok {
				heap.Pop(&st.queue)
			}
			return pi, ok
		}
		// An untracked pair may now beat the best tracked one.
		st.lowerFloor(max(minFreq, count/floorDivisor))
	}
}

// peek drops stale, banned and too rare entries from the top of the queue
// and returns the best tracked pair and its count, without popping it.
func (st *trainState) peek(minFreq int64) (int32, int64, bool) {
	for st.queue.Len() > 0 {
		top := st.queue.items[0]
		p := st.pairs.at(top.pair)
		if p.count < minFreq || st.banned[top.pair] {
			heap.Pop(&st.queue)
			continue
		}
		if top.count != p.count {
			st.queue.items[0].count = p.count
			heap.Fix(&st.queue, 0)
			continue
		}
		merged := string(st.tokens[p.a]) + string(st.tokens[p.b])
		if st.known[merged] {
			st.banned[top.pair] = true
			heap.Pop(&st.queue)
			continue
		}
		return top.pair, p.count, true
	}
	return 0, 0, false
}

// raiseFloor sets the floor to the best count over floorDivisor, at least
// minFreq. It is valid only while every pair is tracked.
func (st *trainState) raiseFloor(minFreq int64) {
	if st.queue.Len() > 0 {
		st.floor = max(minFreq, st.queue.items[0].count/floorDivisor)
	}
}

// floorDivisor sets how far lowerFloor drops the floor below the best
// tracked count. A smaller divisor tracks fewer pairs but rescans the
// words more often. With 4, training a vocab of 16,000 on 22 MB of
// Chinese rescans 6 times and tracks 34,000 pairs instead of 1.4 million.
const floorDivisor = 4

// sketchBits is log2 of the number of counters in lowerFloor's sketch.
const sketchBits = 22

// lowerFloor starts tracking every untracked pair whose count is at least
// floor, then sets st.floor to floor. Each untracked pair's count is below
// the old floor, so afterwards every untracked pair is below the new one.
//
// A first pass adds each pair's count into a counter chosen by hashing the
// pair (a count-min sketch with one row). A counter is at least the count
// of every pair that hashes to it, so only pairs whose counter reaches the
// floor need exact counting in a map, and the full pair table is never
// built.
func (st *trainState) lowerFloor(floor int64) {
	sketch := make([]uint32, 1<<sketchBits)
	slot := func(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> (64 - sketchBits) }
	for wi, s := range st.syms {
		c := uint64(st.counts[wi])
		for j := 0; j+1 < len(s); j++ {
			h := slot(pairKey(s[j], s[j+1]))
			sketch[h] = uint32(min(uint64(sketch[h])+c, math.MaxUint32))
		}
	}

	exact := make(map[uint64]int64)
	for wi, s := range st.syms {
		for j := 0; j+1 < len(s); j++ {
			k := pairKey(s[j], s[j+1])
			if int64(sketch[slot(k)]) < floor {
				continue
			}
			if _, tracked := st.pairIndex[k]; !tracked {
				exact[k] += st.counts[wi]
			}
		}
	}

	var keys []uint64
	for k, c := range exact {
		if c >= floor {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)

	first := st.pairs.len()
	for _, k := range keys {
		a, b := int32(k>>32), int32(uint32(k))
		pi := st.pairs.add(pairStat{a: a, b: b, count: exact[k]})
		st.pairIndex[k] = pi
	}

	for wi, s := range st.syms {
		for j := 0; j+1 < len(s); j++ {
			pi, ok := st.pairIndex[pairKey(s[j], s[j+1])]
			if !ok || pi < first {
				continue
			}
			p := st.pairs.at(pi)
			if n := len(p.where); n == 0 || p.where[n-1] != int32(wi) {
				p.where = append(p.where, int32(wi))
			}
		}
	}
	for pi := first; pi < st.pairs.len(); pi++ {
		heap.Push(&st.queue, queueEntry{st.pairs.at(pi).count, pi})
	}
	st.floor = floor
}

// merge replaces every occurrence of pair pi by a new token and updates
// the counts of the neighbouring pairs.
func (st *trainState) merge(pi int32) {
	p := *st.pairs.at(pi)
	a, b := p.a, p.b
	id := int32(len(st.tokens))
	tok := append(append([]byte{}, st.tokens[a]...), st.tokens[b]...)
	st.tokens = append(st.tokens, tok)
	st.known[string(tok)] = true
	st.merges = append(st.merges, [2]int32{a, b})

	firstNew := st.pairs.len()
	for _, wi := range p.where {
		w := st.syms[wi]
		c := st.counts[wi]
		j := 0
		for i := 0; i < len(w); {
			if i+1 < len(w) && w[i] == a && w[i+1] == b {
				if j > 0 {
					prev := w[j-1]
					st.subPair(prev, a, c)
					st.addPair(prev, id, c, wi)
				}
				if i+2 < len(w) {
					next := w[i+2]
					st.subPair(b, next, c)
					st.addPair(id, next, c, wi)
				}
				w[j] = id
				j++
				i += 2
				continue
			}
			w[j] = w[i]
			j++
			i++
		}
		st.syms[wi] = w[:j]
	}
	st.pairs.at(pi).count = 0
	st.pairs.at(pi).where = nil

	// Every pair created here contains the new token and only grows during
	// this merge. Afterwards its count can only fall, so a new pair below
	// the floor can never rise above it and is dropped now. Most new pairs
	// on Chinese text are rare, so this keeps the pair table small. The
	// others enter the queue once, now, with their final count.
	kept := firstNew
	for q := firstNew; q < st.pairs.len(); q++ {
		s := *st.pairs.at(q)
		k := pairKey(s.a, s.b)
		if s.count < st.floor {
			delete(st.pairIndex, k)
			continue
		}
		*st.pairs.at(kept) = s
		st.pairIndex[k] = kept
		heap.Push(&st.queue, queueEntry{s.count, kept})
		kept++
	}
	st.pairs.truncate(kept)
}

// queueEntry is one pair in the merge queue with the count it had when
// pushed.
type queueEntry struct {
	count int64
	pair  int32
}

// pairHeap orders entries by count, then by smaller left id, then by
// smaller right id: the documented tie rule.
type pairHeap struct {
	items []queueEntry
	pairs *pairStore
}

func (h *pairHeap) Len() int { return len(h.items) }
func (h *pairHeap) Less(i, j int) bool {
	x, y := h.items[i], h.items[j]
	if x.count != y.count {
		return x.count > y.count
	}
	p, q := h.pairs.at(x.pair), h.pairs.at(y.pair)
	if p.a != q.a {
		return p.a < q.a
	}
	return p.b < q.b
}
func (h *pairHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *pairHeap) Push(x any)    { h.items = append(h.items, x.(queueEntry)) }
func (h *pairHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}
