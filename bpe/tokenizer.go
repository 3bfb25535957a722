package bpe

import (
	"fmt"
	"sync"
)

// EndOfText is the special token that separates documents.
const EndOfText = "<|endoftext|>"

// Tokenizer is a trained byte-level BPE vocabulary. Ids 0..255 are the
// bytes, 256..256+len(merges)-1 the merges in rank order, then the
// specials. A Tokenizer is safe for concurrent use.
type Tokenizer struct {
	merges   [][2]int32
	tokens   [][]byte // bytes of every non-special id
	specials []string
	special  map[string]int

	// bytePairs maps a pair of byte tokens (a<<8|b) to its merged id, or
	// to -1, so the first round of lookups on every piece needs no hashing.
	// ranks maps any other pair to its merged id.
	bytePairs []int32
	ranks     *pairTable
	han       *hanTable // built on first use; nil when the Han fast path is off
	hanOnce   sync.Once

	encoders sync.Pool // *encoder
}

// newTokenizer checks merges and specials and builds the lookup tables.
func newTokenizer(merges [][2]int32, specials []string) (*Tokenizer, error) {
	if err := checkSpecials(specials); err != nil {
		return nil, err
	}
	t := &Tokenizer{
		merges:    merges,
		tokens:    make([][]byte, 256, 256+len(merges)),
		specials:  append([]string(nil), specials...),
		special:   make(map[string]int, len(specials)),
		bytePairs: make([]int32, 1<<16),
		ranks:     newPairTable(len(merges)),
	}
	for b := 0; b < 256; b++ {
		t.tokens[b] = []byte{byte(b)}
	}
	for i := range t.bytePairs {
		t.bytePairs[i] = -1
	}
	if err := checkTokenSizes(merges); err != nil {
		return nil, err
	}
	seen := make(map[string]int, len(merges))
	for i, m := range merges {
		id := int32(256 + i)
		a, b := m[0], m[1]
		tok := append(append([]byte{}, t.tokens[a]...), t.tokens[b]...)
		if j, dup := seen[string(tok)]; dup || len(tok) == 1 {
			return nil, fmt.Errorf("bpe: merge %d (%d %d) gives the bytes %q of token %d again",
				i, a, b, tok, j)
		}
		seen[string(tok)] = int(id)
		t.tokens = append(t.tokens, tok)
		if a < 256 && b < 256 {
			t.bytePairs[a<<8|b] = id
		} else if !t.ranks.insert(pairKey(a, b), id) {
			return nil, fmt.Errorf("bpe: merge %d (%d %d) is listed twice", i, a, b)
		}
	}
	for i, s := range specials {
		t.special[s] = 256 + len(merges) + i
	}
	t.encoders.New = func() any { return newEncoder(t) }
	return t, nil
}

// maxTokenBytes returns the limit on the bytes that the tokens of n merges
// hold together: 1 MiB plus 4 KiB per merge. A merge can double a token's
// length, so without a limit 40 lines of a tokenizer file could ask for a
// terabyte. Trained vocabularies average a few bytes per token.
func maxTokenBytes(n int) int64 { return 1<<20 + 4096*int64(n) }

// checkTokenSizes checks that every merge refers to ids defined before it
// and that the merged tokens fit in maxTokenBytes, before any token is
// built.
func checkTokenSizes(merges [][2]int32) error {
	size := make([]int64, 256, 256+len(merges))
	for b := range size {
		size[b] = 1
	}
	total, limit := int64(0), maxTokenBytes(len(merges))
	for i, m := range merges {
		id := int32(256 + i)
		a, b := m[0], m[1]
		if a < 0 || b < 0 || a >= id || b >= id {
			return fmt.Errorf("bpe: merge %d (%d %d) refers to a token that is not "+
				"defined before it", i, a, b)
		}
		n := size[a] + size[b]
		total += n
		if total > limit {
			return fmt.Errorf("bpe: merge %d (%d %d) brings the tokens to %d bytes, above the "+
				"limit of %d for %d merges (1 MiB + 4 KiB per merge)", i, a, b, total, limit,
				len(merges))
		}
		size = append(size, n)
	}
	return nil
}

// VocabSize returns the number of ids: bytes, merges and specials.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) + len(t.specials) }

// TokenBytes returns the bytes of id: the text of a special, or nil for
// an id outside the vocabulary. The caller must not modify the result.
func (t *Tokenizer) TokenBytes(id int) []byte {
	switch {
	case id >= 0 && id < len(t.tokens):
		return t.tokens[id]
	case id >= len(t.tokens) && id < t.VocabSize():
		return []byte(t.specials[id-len(t.tokens)])
	}
	return nil
}

// SpecialID returns the id of the special token named name.
func (t *Tokenizer) SpecialID(name string) (int, bool) {
	id, ok := t.special[name]
	return id, ok
}

// Specials returns the special tokens in id order.
func (t *Tokenizer) Specials() []string { return append([]string(nil), t.specials...) }

// Merges returns the merges in rank order: merge i created id 256+i.
func (t *Tokenizer) Merges() [][2]int {
	out := make([][2]int, len(t.merges))
	for i, m := range t.merges {
		out[i] = [2]int{int(m[0]), int(m[1])}
	}
	return out
}

// IsSpecial reports whether id is a special token.
func (t *Tokenizer) IsSpecial(id int) bool {
	return id >= len(t.tokens) && id < t.VocabSize()
}

// hanFast returns the Han fast-path table, building it on first use
// (about a millisecond), or nil when the fast path is off.
func (t *Tokenizer) hanFast() *hanTable {
	t.hanOnce.Do(func() { t.han = buildHanTable(t) })
	return t.han
}

// mergedID returns the id that merges a and b, or -1.
func (t *Tokenizer) mergedID(a, b int32) int32 {
	if a < 256 && b < 256 {
		return t.bytePairs[a<<8|b]
	}
	return t.ranks.get(pairKey(a, b))
}

// pairTable is an open-addressing hash map from a packed pair to a merged
// id. It is built once and then only read. Keys and values sit side by
// side, so a lookup touches one cache line.
type pairTable struct {
	slots []pairSlot
	mask  uint64
}

type pairSlot struct {
	key uint64
	val int32
}

const emptyKey = ^uint64(0)

func newPairTable(n int) *pairTable {
	size := 16
	for size < 2*n {
		size *= 2
	}
	t := &pairTable{slots: make([]pairSlot, size), mask: uint64(size - 1)}
	for i := range t.slots {
		t.slots[i].key = emptyKey
	}
	return t
}

// hashPair is Fibonacci hashing: the multiply spreads the two ids over the
// high bits, which the shift brings down.
func hashPair(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> 32 }

// insert adds k and reports false when k is already present.
func (t *pairTable) insert(k uint64, v int32) bool {
	for i := hashPair(k) & t.mask; ; i = (i + 1) & t.mask {
		switch t.slots[i].key {
		case emptyKey:
			t.slots[i] = pairSlot{k, v}
			return true
		case k:
			return false
		}
	}
}

func (t *pairTable) get(k uint64) int32 {
	for i := hashPair(k) & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.key == k {
			return s.val
		}
		if s.key == emptyKey {
			return -1
		}
	}
}
