package gpt

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"unsafe"

	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/corpus"
)

// StyleToken returns the special token that starts a document of the given
// style, such as "<|style:抽象|>".
func StyleToken(style string) string { return "<|style:" + style + "|>" }

// TokenizerSpecials returns the specials a training tokenizer needs for
// styles: <|endoftext|>, then one style token per style in the given order.
func TokenizerSpecials(styles []string) []string {
	out := []string{bpe.EndOfText}
	for _, s := range styles {
		out = append(out, StyleToken(s))
	}
	return out
}

// StyleSpan is the [Start, End) range of token positions in a token file
// that holds the documents of one style.
type StyleSpan struct {
	Style string `json:"style"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	Docs  int    `json:"docs"`
	Bytes int    `json:"bytes"` // UTF-8 bytes of the documents' text
}

// Token file layout: a 16-byte header, then the ids little-endian.
//
//	[0:8)   magic "GSTOKENS"
//	[8:12)  bytes per id, 2 or 4 (uint32 LE)
//	[12:16) reserved, 0
//	[16:)   ids
const (
	tokenMagic      = "GSTOKENS"
	tokenHeaderSize = 16
)

// TokenFile is a read-only, memory-mapped file of token ids: uint16 when
// the vocabulary fits, uint32 otherwise. Close unmaps it.
type TokenFile struct {
	Path  string
	Spans []StyleSpan

	mapped []byte
	u16    []uint16
	u32    []uint32
}

// Len returns the number of ids.
func (f *TokenFile) Len() int {
	if f.u16 != nil {
		return len(f.u16)
	}
	return len(f.u32)
}

// At returns id i.
func (f *TokenFile) At(i int) int {
	if f.u16 != nil {
		return int(f.u16[i])
	}
	return int(f.u32[i])
}

// Close unmaps the file. The TokenFile must not be used afterwards.
func (f *TokenFile) Close() error {
	if f.mapped == nil {
		return nil
	}
	err := unmapFile(f.mapped)
	f.mapped, f.u16, f.u32 = nil, nil, nil
	return err
}

// EncodeDocuments encodes docs as one id stream and writes it to path as a
// token file, with its style spans in path+".json". Documents are grouped by
// style, styles sorted by name, so that each style is one span. Each
// document is its style token (when the tokenizer has one), the text, then
// <|endoftext|>.
func EncodeDocuments(path string, tok *bpe.Tokenizer, docs []corpus.Document) error {
	eot, ok := tok.SpecialID(bpe.EndOfText)
	if !ok {
		return fmt.Errorf("encode documents: the tokenizer has no %s token; train it "+
			"with that special", bpe.EndOfText)
	}
	width := 2
	if tok.VocabSize() > math.MaxUint16+1 {
		width = 4
	}

	groups := map[string][]string{}
	var order []string
	for _, d := range docs {
		if _, seen := groups[d.Style]; !seen {
			order = append(order, d.Style)
		}
		groups[d.Style] = append(groups[d.Style], d.Text)
	}
	slices.Sort(order) // a fixed order, so the same corpus gives the same file

	var spans []StyleSpan
	err := writeFileAtomic(path, func(f *os.File) error {
		w := bufio.NewWriterSize(f, 1<<20)
		var hdr [tokenHeaderSize]byte
		copy(hdr[:], tokenMagic)
		binary.LittleEndian.PutUint32(hdr[8:], uint32(width))
		if _, err := w.Write(hdr[:]); err != nil {
			return err
		}
		pos := 0
		var buf [4]byte
		put := func(id int) error {
			pos++
			binary.LittleEndian.PutUint32(buf[:], uint32(id))
			_, err := w.Write(buf[:width])
			return err
		}
		for _, style := range order {
			texts := groups[style]
			span := StyleSpan{Style: style, Start: pos, Docs: len(texts)}
			styleID, hasStyle := tok.SpecialID(StyleToken(style))
			for i, ids := range tok.EncodeBatch(texts) {
				span.Bytes += len(texts[i])
				if hasStyle && style != "" {
					if err := put(styleID); err != nil {
						return err
					}
				}
				for _, id := range ids {
					if err := put(id); err != nil {
						return err
					}
				}
				if err := put(eot); err != nil {
					return err
				}
			}
			span.End = pos
			spans = append(spans, span)
		}
		return w.Flush()
	})
	if err != nil {
		return fmt.Errorf("encode documents: %w", err)
	}
	js, err := json.MarshalIndent(spans, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path+".json", func(f *os.File) error {
		_, err := f.Write(js)
		return err
	})
}

// OpenTokenFile maps a token file written by EncodeDocuments, with its
// spans. It rejects files whose header or size does not match the layout.
func OpenTokenFile(path string) (*TokenFile, error) {
	js, err := os.ReadFile(path + ".json")
	if err != nil {
		return nil, fmt.Errorf("open token file: %w", err)
	}
	var spans []StyleSpan
	if err := json.Unmarshal(js, &spans); err != nil {
		return nil, fmt.Errorf("open token file %s.json: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open token file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open token file: %w", err)
	}
	size := st.Size()
	if size < tokenHeaderSize {
		return nil, fmt.Errorf("open token file %s: %d bytes is shorter than the %d-byte "+
			"header: the file is truncated or not a token file", path, size, tokenHeaderSize)
	}
	data, err := mapFile(f, int(size))
	if err != nil {
		return nil, fmt.Errorf("open token file %s: %w", path, err)
	}
	tf := &TokenFile{Path: path, Spans: spans, mapped: data}
	width := binary.LittleEndian.Uint32(data[8:12])
	body := data[tokenHeaderSize:]
	switch {
	case string(data[:8]) != tokenMagic:
		err = fmt.Errorf("open token file %s: not a goushi token file", path)
	case (width != 2 && width != 4) || len(body)%int(width) != 0:
		err = fmt.Errorf("open token file %s: %d data bytes do not hold ids of %d bytes",
			path, len(body), width)
	}
	if err != nil {
		tf.Close()
		return nil, err
	}
	// The mapping is page aligned and the header is 16 bytes, so the ids
	// are aligned for both widths. The ids are read in place, which needs a
	// little-endian machine.
	if !littleEndian() {
		tf.Close()
		return nil, fmt.Errorf("open token file %s: this machine is big-endian; "+
			"token files are read only on little-endian machines", path)
	}
	if width == 2 {
		tf.u16 = unsafeSlice[uint16](body)
	} else {
		tf.u32 = unsafeSlice[uint32](body)
	}
	n := tf.Len()
	for _, s := range spans {
		if s.Start < 0 || s.End < s.Start || s.End > n {
			tf.Close()
			return nil, fmt.Errorf("open token file %s: style span %q [%d, %d) is outside "+
				"the %d ids: the file is truncated or its .json belongs to another file", path,
				s.Style, s.Start, s.End, n)
		}
	}
	return tf, nil
}

// StyleMix sets how often each style's span is drawn. A style's weight is
// its token count raised to Alpha: 1 keeps the corpus proportions, 0 draws
// every style equally, 0.5 is between. Floors then raise the share of the
// named styles to at least the given fraction, scaling the others down.
type StyleMix struct {
	Alpha  float64
	Floors map[string]float64
}

// DefaultStyleMix flattens the style proportions with Alpha 0.5, because
// two styles (宋词 and 元曲) make up over 80% of the embedded corpus. It
// gives the 抽象 copypasta, the model's intended voice but under 5% of the
// text, at least a quarter of the windows.
func DefaultStyleMix() StyleMix {
	return StyleMix{Alpha: 0.5, Floors: map[string]float64{corpus.CopypastaStyle: 0.25}}
}

// Shares returns the fraction of windows that each span gets, in span
// order. Spans too short for one window of n ids get nothing.
func (m StyleMix) Shares(spans []StyleSpan, n int) ([]float64, error) {
	w := make([]float64, len(spans))
	var total float64
	for i, s := range spans {
		if s.End-s.Start >= n {
			w[i] = math.Pow(float64(s.End-s.Start), m.Alpha)
			total += w[i]
		}
	}
	if total == 0 {
		return nil, fmt.Errorf("no style has a document span of %d tokens; use a larger "+
			"corpus or a shorter context", n)
	}
	for i := range w {
		w[i] /= total
	}
	var floorSum, freeSum float64
	raised := make([]bool, len(w))
	for i, s := range spans {
		f, ok := m.Floors[s.Style]
		if ok && w[i] > 0 && w[i] < f {
			w[i], raised[i] = f, true
			floorSum += f
		} else {
			freeSum += w[i]
		}
	}
	if floorSum > 1 {
		return nil, fmt.Errorf("style floors add up to %g, more than 1", floorSum)
	}
	if floorSum > 0 && freeSum > 0 {
		for i := range w {
			if !raised[i] {
				w[i] *= (1 - floorSum) / freeSum
			}
		}
	}
	return w, nil
}

// Sampler draws random (B, T+1) windows from a token file: a style span by
// the mix's shares, then a uniform start inside it. Its state is one PCG
// generator, so saving that state saves the data position.
type Sampler struct {
	data   *TokenFile
	T      int
	cum    []float64 // cumulative shares, one per span
	pcg    *rand.PCG
	rng    *rand.Rand
	Drawn  int64 // windows drawn so far
	shares []float64
}

// NewSampler returns a sampler of windows of T+1 ids seeded with seed.
func NewSampler(data *TokenFile, T int, mix StyleMix, seed uint64) (*Sampler, error) {
	shares, err := mix.Shares(data.Spans, T+1)
	if err != nil {
		return nil, fmt.Errorf("sample %s: %w", data.Path, err)
	}
	s := &Sampler{data: data, T: T, shares: shares, pcg: rand.NewPCG(seed, 0x64617461)} // "data"
	s.rng = rand.New(s.pcg)
	var c float64
	for _, w := range shares {
		c += w
		s.cum = append(s.cum, c)
	}
	return s, nil
}

// Shares returns each span's fraction of the windows.
func (s *Sampler) Shares() []float64 { return s.shares }

// Batch fills ids and targets (each B·T) with B windows: targets are the
// ids shifted by one.
func (s *Sampler) Batch(B int, ids, targets []int) {
	T := s.T
	for b := 0; b < B; b++ {
		start := s.draw()
		for t := 0; t < T; t++ {
			ids[b*T+t] = s.data.At(start + t)
			targets[b*T+t] = s.data.At(start + t + 1)
		}
	}
}

// draw returns the start of the next window of T+1 ids.
func (s *Sampler) draw() int {
	u := s.rng.Float64() * s.cum[len(s.cum)-1]
	k, _ := slices.BinarySearch(s.cum, u)
	k = min(k, len(s.cum)-1)
	for s.shares[k] == 0 { // BinarySearch lands on a span without share when u == 0
		k++
	}
	span := s.data.Spans[k]
	s.Drawn++
	return span.Start + s.rng.IntN(span.End-span.Start-s.T)
}

// State returns the generator state, for a checkpoint.
func (s *Sampler) State() ([]byte, error) { return s.pcg.MarshalBinary() }

// SetState restores a state returned by State.
func (s *Sampler) SetState(state []byte, drawn int64) error {
	if err := s.pcg.UnmarshalBinary(state); err != nil {
		return fmt.Errorf("restore data sampler: %w", err)
	}
	s.Drawn = drawn
	return nil
}

// unsafeSlice views b as a slice of T. The caller guarantees that b is
// aligned for T and that its length is a multiple of T's size.
func unsafeSlice[T uint16 | uint32](b []byte) []T {
	if len(b) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/int(unsafe.Sizeof(zero)))
}

func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

// describeShares formats each span's style and share for a log line.
func describeShares(spans []StyleSpan, shares []float64) string {
	var parts []string
	for i, s := range spans {
		name := s.Style
		if name == "" {
			name = "(none)"
		}
		parts = append(parts, fmt.Sprintf("%s %.1f%%", name, 100*shares[i]))
	}
	return strings.Join(parts, ", ")
}
