package corpus

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"slices"
	"unicode"
)

// Near-duplicate detection uses MinHash over character shingles with
// locality-sensitive hashing (LSH) to find candidates, then confirms each
// candidate with the exact Jaccard similarity of the shingle sets.
const (
	// ShingleSize is the n of the character n-grams. Five characters is
	// longer than most set phrases (成语 have four), so two texts share a
	// shingle mostly when they share a clause.
	ShingleSize = 5
	// DefaultNearThreshold is the Jaccard similarity of the shingle sets
	// at or above which a document counts as a near duplicate.
	DefaultNearThreshold = 0.7

	// With 20 bands of 4 rows a pair at Jaccard 0.7 becomes a candidate
	// with probability 1-(1-0.7^4)^20 ≈ 0.996, and a pair at 0.3 with
	// probability ≈ 0.15, so few dissimilar pairs reach the exact check.
	lshBands   = 20
	lshRows    = 4
	minHashLen = lshBands * lshRows
)

// minHashSeeds are the seeds of the minHashLen hash functions, fixed so
// that signatures are reproducible across runs.
var minHashSeeds = func() [minHashLen]uint64 {
	var seeds [minHashLen]uint64
	x := uint64(0x676f75736869) // "goushi"
	for i := range seeds {
		x += 0x9e3779b97f4a7c15
		seeds[i] = mix64(x)
	}
	return seeds
}()

// mix64 is the splitmix64 finalizer, a bijective 64-bit mixer.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// TextID returns the document ID of a cleaned text: its hex SHA-256.
func TextID(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

func hashBytes(b []byte) []byte {
	sum := sha256.Sum256(b)
	return sum[:]
}

// Shingles returns the sorted, distinct hashes of the character n-grams of
// text, taken over its letters and digits only, so that texts differing in
// punctuation and spacing alone share every shingle. A text shorter than
// ShingleSize yields a single shingle of its whole content.
func Shingles(text string) []uint64 {
	runes := make([]rune, 0, len(text)/3)
	for _, r := range text {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			runes = append(runes, unicode.ToLower(r))
		}
	}
	if len(runes) == 0 {
		return nil
	}
	n := min(ShingleSize, len(runes))
	out := make([]uint64, 0, len(runes)-n+1)
	var buf [ShingleSize * 4]byte
	for i := 0; i+n <= len(runes); i++ {
		b := buf[:0]
		for _, r := range runes[i : i+n] {
			b = binary.LittleEndian.AppendUint32(b, uint32(r))
		}
		h := fnv.New64a()
		h.Write(b)
		out = append(out, h.Sum64())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Jaccard returns |a ∩ b| / |a ∪ b| for two sorted, distinct slices, and 1
// when both are empty.
func Jaccard(a, b []uint64) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	inter := 0
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			inter++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

func minHash(shingles []uint64) [minHashLen]uint64 {
	var sig [minHashLen]uint64
	for i := range sig {
		sig[i] = ^uint64(0)
	}
	for _, s := range shingles {
		for i, seed := range minHashSeeds {
			if h := mix64(s ^ seed); h < sig[i] {
				sig[i] = h
			}
		}
	}
	return sig
}

// Deduper drops exact duplicates by ID and near duplicates by shingle
// similarity. The first document seen wins, so feed documents in order of
// preference. It is not safe for concurrent use.
type Deduper struct {
	threshold float64
	ids       map[string]bool
	buckets   [lshBands]map[uint64][]int32
	shingles  [][]uint64 // shingles of each kept document, by kept index
}

// NewDeduper returns a Deduper that drops documents whose shingle Jaccard
// similarity with a kept document is at least threshold. A threshold above
// 1 turns near-duplicate detection off, and 0 or less means
// DefaultNearThreshold, because such a threshold would drop every document
// that shares a single shingle with an earlier one.
func NewDeduper(threshold float64) *Deduper {
	if threshold <= 0 {
		threshold = DefaultNearThreshold
	}
	d := &Deduper{threshold: threshold, ids: map[string]bool{}}
	for i := range d.buckets {
		d.buckets[i] = map[uint64][]int32{}
	}
	return d
}

// Add checks a document against those kept so far. It returns Kept and
// remembers the document, or ExactDuplicate or NearDuplicate.
func (d *Deduper) Add(id, text string) Reason {
	if d.ids[id] {
		return ExactDuplicate
	}
	if d.threshold > 1 {
		d.ids[id] = true
		return Kept
	}
	sh := Shingles(text)
	sig := minHash(sh)
	var keys [lshBands]uint64
	checked := map[int32]bool{}
	for band := range lshBands {
		keys[band] = bandKey(sig[band*lshRows : (band+1)*lshRows])
		for _, k := range d.buckets[band][keys[band]] {
			if checked[k] {
				continue
			}
			checked[k] = true
			if Jaccard(sh, d.shingles[k]) >= d.threshold {
				return NearDuplicate
			}
		}
	}

	d.ids[id] = true
	idx := int32(len(d.shingles))
	d.shingles = append(d.shingles, sh)
	for band, k := range keys {
		d.buckets[band][k] = append(d.buckets[band][k], idx)
	}
	return Kept
}

func bandKey(rows []uint64) uint64 {
	h := uint64(len(rows))
	for _, r := range rows {
		h = mix64(h ^ r)
	}
	return h
}
