package bpe

import (
	"container/heap"
	"hash/maphash"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Tuning of the encoder, measured on 2 cores of an AMD EPYC (Zen 4) with
// Chinese poetry, where most pieces are 15 to 30 bytes.
const (
	// longPiece is the length in bytes above which a piece is merged with
	// a heap in O(n log n) instead of the O(n²) scan that is faster on
	// short pieces.
	longPiece = 256
	// cachedPiece is the longest piece kept in the per-worker cache. On
	// Chinese text most longer pieces are whole clauses seen once, and
	// caching them cost more than it saved.
	cachedPiece = 12
	// cacheSlots is the size of each worker's direct-mapped cache.
	cacheSlots = 1 << 14
	// parallelBytes is the input size above which Encode splits the text
	// across GOMAXPROCS goroutines.
	parallelBytes = 1 << 18
)

// encoder holds one goroutine's scratch buffers and piece cache.
type encoder struct {
	t     *Tokenizer
	syms  []int32
	ranks []int32
	cache []cacheSlot
	seed  maphash.Seed
	heap  mergeHeap
	next  []int32
	prev  []int32
}

func newEncoder(t *Tokenizer) *encoder {
	return &encoder{t: t, cache: make([]cacheSlot, cacheSlots), seed: maphash.MakeSeed()}
}

// Encode returns the token ids of text. Special-token text in text is
// encoded as ordinary bytes, so user input cannot produce a special id.
// Inputs over 256 KiB are cut after line breaks that start a word and
// encoded in parallel. Text without such breaks is encoded on one goroutine.
func (t *Tokenizer) Encode(text string) []int {
	if len(text) < parallelBytes || runtime.GOMAXPROCS(0) == 1 {
		e := t.encoders.Get().(*encoder)
		out := e.encodeText(text, nil)
		t.encoders.Put(e)
		return out
	}
	cuts := splitPoints(text, runtime.GOMAXPROCS(0)*4)
	chunks := make([]string, 0, len(cuts)+1)
	prev := 0
	for _, c := range cuts {
		chunks = append(chunks, text[prev:c])
		prev = c
	}
	chunks = append(chunks, text[prev:])
	parts := t.encodeAll(chunks)
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]int, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// EncodeWithSpecials encodes text like Encode, except that occurrences of
// the specials named in allowed become their special ids. Names in allowed
// that are not specials of t are ignored.
func (t *Tokenizer) EncodeWithSpecials(text string, allowed []string) []int {
	var names []string
	for _, s := range allowed {
		if _, ok := t.special[s]; ok {
			names = append(names, s)
		}
	}
	var out []int
	f := newSpecialFinder(text, names)
	from := 0
	for {
		at, n := f.find(from)
		if at < 0 {
			break
		}
		out = append(out, t.Encode(text[from:at])...)
		out = append(out, t.special[text[at:at+n]])
		from = at + n
	}
	return append(out, t.Encode(text[from:])...)
}

// EncodeBatch encodes each text like Encode, spread over GOMAXPROCS
// goroutines.
func (t *Tokenizer) EncodeBatch(texts []string) [][]int {
	return t.encodeAll(texts)
}

func (t *Tokenizer) encodeAll(texts []string) [][]int {
	out := make([][]int, len(texts))
	workers := min(runtime.GOMAXPROCS(0), len(texts))
	var next int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := t.encoders.Get().(*encoder)
			defer t.encoders.Put(e)
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if int(i) >= len(texts) {
					return
				}
				out[i] = e.encodeText(texts[i], nil)
			}
		}()
	}
	wg.Wait()
	return out
}

// encodeText appends the ids of text to out.
func (e *encoder) encodeText(text string, out []int) []int {
	if out == nil {
		out = make([]int, 0, len(text)/2+1)
	}
	for len(text) > 0 {
		n := nextPiece(text)
		out = e.encodePiece(text[:n], out)
		text = text[n:]
	}
	return out
}

// encodePiece appends the ids of one pre-token to out.
func (e *encoder) encodePiece(p string, out []int) []int {
	if len(p) == 1 {
		return append(out, int(p[0]))
	}
	var slot *cacheSlot
	if len(p) <= cachedPiece {
		slot = &e.cache[maphash.String(e.seed, p)&(cacheSlots-1)]
		if slot.piece == p {
			for _, id := range slot.ids {
				out = append(out, int(id))
			}
			return out
		}
	}
	var syms []int32
	if len(p) > longPiece {
		syms = e.mergeLong(p)
	} else {
		syms = e.mergeShort(p)
	}
	if slot != nil {
		// The piece is copied so the cache does not keep the caller's
		// text alive.
		*slot = cacheSlot{strings.Clone(p), slices.Clone(syms)}
	}
	for _, id := range syms {
		out = append(out, int(id))
	}
	return out
}

// cacheSlot is one entry of the direct-mapped piece cache: a pre-token
// and its ids. A new piece that hashes to a used slot replaces it.
type cacheSlot struct {
	piece string
	ids   []int32
}

// mergeShort applies the merges to p, from the precomputed tokens of its
// characters when the Han fast path allows it and from its bytes
// otherwise.
func (e *encoder) mergeShort(p string) []int32 {
	if len(p) >= 6 && e.t.hanFast() != nil {
		if syms, ok := e.initHan(p); ok {
			ranks := e.ranks[:0]
			for i := 0; i+1 < len(syms); i++ {
				ranks = append(ranks, noMerge(e.t.mergedID(syms[i], syms[i+1])))
			}
			return e.mergeLoop(syms, ranks)
		}
	}
	return e.mergeBytes(p)
}

// mergeBytes applies the merges to the bytes of p.
func (e *encoder) mergeBytes(p string) []int32 {
	syms := e.syms[:0]
	for i := 0; i < len(p); i++ {
		syms = append(syms, int32(p[i]))
	}
	ranks := e.ranks[:0]
	for i := 0; i+1 < len(p); i++ {
		ranks = append(ranks, noMerge(e.t.bytePairs[int(p[i])<<8|int(p[i+1])]))
	}
	return e.mergeLoop(syms, ranks)
}

// mergeLoop repeatedly merges the adjacent pair of lowest rank, the
// leftmost one on ties. ranks[i] caches the merged id of (syms[i],
// syms[i+1]), so each merge costs one scan for the minimum and two table
// lookups. This is O(n²) and meant for short pieces.
func (e *encoder) mergeLoop(syms, ranks []int32) []int32 {
	t := e.t
	for {
		best, at := int32(math.MaxInt32), -1
		for i, r := range ranks {
			if r < best {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		syms[at] = best
		syms = append(syms[:at+1], syms[at+2:]...)
		ranks = append(ranks[:at], ranks[at+1:]...)
		if at > 0 {
			ranks[at-1] = noMerge(t.mergedID(syms[at-1], syms[at]))
		}
		if at < len(ranks) {
			ranks[at] = noMerge(t.mergedID(syms[at], syms[at+1]))
		}
	}
	e.syms, e.ranks = syms, ranks
	return syms
}

// noMerge maps the "no merge" id -1 to MaxInt32, so that the smallest
// rank is found with a single comparison per pair.
func noMerge(id int32) int32 {
	if id < 0 {
		return math.MaxInt32
	}
	return id
}

// mergeLong gives the same result as mergeShort in O(n log n): the
// symbols form a doubly linked list and a heap holds the candidate pairs
// ordered by rank, then position. An entry is stale when its position was
// merged away or now starts another pair; it is skipped when popped.
func (e *encoder) mergeLong(p string) []int32 {
	t := e.t
	n := len(p)
	syms, next, prev := e.syms[:0], e.next[:0], e.prev[:0]
	for i := 0; i < n; i++ {
		syms = append(syms, int32(p[i]))
		next = append(next, int32(i+1))
		prev = append(prev, int32(i-1))
	}
	next[n-1] = -1

	h := e.heap[:0]
	for i := 0; i+1 < n; i++ {
		if r := t.bytePairs[int(p[i])<<8|int(p[i+1])]; r >= 0 {
			h = append(h, mergeCand{r, int32(i)})
		}
	}
	heap.Init(&h)
	for h.Len() > 0 {
		c := heap.Pop(&h).(mergeCand)
		i := c.pos
		j := next[i]
		if syms[i] < 0 || j < 0 || t.mergedID(syms[i], syms[j]) != c.rank {
			continue
		}
		syms[i] = c.rank
		syms[j] = -1
		next[i] = next[j]
		if k := next[j]; k >= 0 {
			prev[k] = i
			if r := t.mergedID(syms[i], syms[k]); r >= 0 {
				heap.Push(&h, mergeCand{r, i})
			}
		}
		if k := prev[i]; k >= 0 {
			if r := t.mergedID(syms[k], syms[i]); r >= 0 {
				heap.Push(&h, mergeCand{r, k})
			}
		}
	}

	out := make([]int32, 0, n/2)
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	e.syms, e.next, e.prev, e.heap = syms, next, prev, h
	return out
}

// mergeCand is a candidate merge of the pair starting at pos.
type mergeCand struct {
	rank int32
	pos  int32
}

type mergeHeap []mergeCand

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(mergeCand)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
