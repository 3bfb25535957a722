package gpt

import (
	"fmt"
	"math"

	"github.com/goushi/goushi/layers"
	"github.com/goushi/goushi/tensor"
)

// inferLayer holds flat views of one block's parameters for the tape-free
// inference path. The views alias the model's tensors, so prefill sees
// training steps taken after the views were made. Single-token steps read
// the weight matrices from the copies that newInferer makes or takes from
// Freeze. In float32 only the two projections are copied, because they are
// rearranged by column blocks; the other matrices are the views themselves.
type inferLayer struct {
	ln1W, ln1B   []float32 // (C)
	attnW, attnB []float32 // (3C, C), (3C): rows q, k, v
	projW, projB []float32 // (C, C), (C)
	ln2W, ln2B   []float32 // (C)
	fcW, fcB     []float32 // (4C, C), (4C)
	outW, outB   []float32 // (C, 4C), (C)
}

// inferer runs the model forward without a tape for a batch of sequences
// that all have the same length, keeping each layer's keys and values in a
// KV cache so that a new token costs one pass over the weights.
//
// The cache of layer l is (rows, H, T, hd): the keys of one head of one
// sequence are contiguous, so attention for a new token reads them as one
// stream.
type inferer struct {
	cfg          Config
	C, H, hd     int
	maxRows      int
	layers       []inferLayer
	wte, wpe     []float32 // (V, C), (T, C)
	lnFW, lnFB   []float32 // (C)
	kCache       [][]float32
	vCache       [][]float32
	kHalf, vHalf [][]uint16 // the cache in half precision, read by single-token steps
	rows         int        // sequences in the batch, at most maxRows
	pos          int        // positions filled in every sequence
	scale        float32
	x, h, qkv    []float32 // (M, C), (M, C), (M, 3C) for M = rows·n
	att, ff      []float32 // (M, C), (M, 4C)
	mean, rstd   []float32 // (M)
	last, logits []float32 // (rows, C), (rows, V)
	scores       []float32 // (rows·H, T) for single-token steps
	part         []float32 // (rows, nPart, C): partial sums of single-token steps
	nPart        int       // max(H, the decode copies' parts)
	hIn          []input   // (rows): the rows of s.h as inputs
	hq, attQ     []int16   // (rows, C): 16-bit copies for 8-bit weights
	ffQ          []int16   // (rows, 4C)

	// The single-token step: its copies of the weight matrices and the
	// team that runs its parallel sections.
	dec  *decodeWeights
	team *team
}

// newInferer returns an inferer for up to maxRows sequences with an empty
// cache and one active row. Single-token steps read copies of the weight
// matrices in precision p, made here unless m is frozen (see Freeze).
// Call close when done with it.
func newInferer(m *Model, maxRows int, p Precision) *inferer {
	cfg := m.Config
	if maxRows <= 0 {
		panic(fmt.Sprintf("gpt: inferer for %d rows", maxRows))
	}
	s := &inferer{
		cfg:     cfg,
		C:       cfg.Embd,
		H:       cfg.Heads,
		hd:      cfg.Embd / cfg.Heads,
		maxRows: maxRows,
		rows:    1,
		wte:     m.wte.Weight.Value.Data,
		wpe:     m.wpe.Weight.Value.Data,
		lnFW:    m.lnF.Weight.Value.Data,
		lnFB:    m.lnF.Bias.Value.Data,
	}
	s.scale = float32(1 / math.Sqrt(float64(s.hd)))

	for _, b := range m.blocks {
		s.layers = append(s.layers, inferLayer{
			ln1W: b.LN1.Weight.Value.Data, ln1B: b.LN1.Bias.Value.Data,
			attnW: b.Attn.CAttn.Weight.Value.Data, attnB: b.Attn.CAttn.Bias.Value.Data,
			projW: b.Attn.CProj.Weight.Value.Data, projB: b.Attn.CProj.Bias.Value.Data,
			ln2W: b.LN2.Weight.Value.Data, ln2B: b.LN2.Bias.Value.Data,
			fcW: b.MLP.CFc.Weight.Value.Data, fcB: b.MLP.CFc.Bias.Value.Data,
			outW: b.MLP.CProj.Weight.Value.Data, outB: b.MLP.CProj.Bias.Value.Data,
		})
	}

	per := maxRows * cfg.ContextLen * cfg.Embd
	for range m.blocks {
		s.kCache = append(s.kCache, make([]float32, per))
		s.vCache = append(s.vCache, make([]float32, per))
		// Outside float32, single-token steps read a half-precision copy of
		// the cache, which halves the bytes attention streams.
		if p.resolve() != PrecisionF32 {
			s.kHalf = append(s.kHalf, make([]uint16, per))
			s.vHalf = append(s.vHalf, make([]uint16, per))
		}
	}
	s.last = make([]float32, maxRows*s.C)
	s.logits = make([]float32, maxRows*cfg.VocabSize)
	s.scores = make([]float32, maxRows*s.H*cfg.ContextLen)
	s.grow(maxRows)

	s.team = newTeam(s.work)
	parts := mlpParts(4*s.C, s.team.workers)
	s.dec = s.decodeWeightsFor(m, p.resolve(), parts)
	s.nPart = max(s.H, parts)
	s.part = make([]float32, maxRows*s.nPart*s.C)
	s.hIn = make([]input, maxRows)
	s.hq = make([]int16, maxRows*s.C)
	s.attQ = make([]int16, maxRows*s.C)
	s.ffQ = make([]int16, maxRows*4*s.C)
	return s
}

// close stops the goroutines of the decode team.
func (s *inferer) close() { s.team.close() }

// reset empties the cache and sets the number of active rows.
func (s *inferer) reset(rows int) {
	if rows <= 0 || rows > s.maxRows {
		panic(fmt.Sprintf("gpt: inferer reset to %d rows of %d", rows, s.maxRows))
	}
	s.rows, s.pos = rows, 0
}

// grow makes the activation buffers hold m rows.
func (s *inferer) grow(m int) {
	if len(s.x) >= m*s.C {
		return
	}
	C := s.C
	s.x = make([]float32, m*C)
	s.h = make([]float32, m*C)
	s.qkv = make([]float32, m*3*C)
	s.att = make([]float32, m*C)
	s.ff = make([]float32, m*4*C)
	s.mean = make([]float32, m)
	s.rstd = make([]float32, m)
}

// headCache returns the keys and values (T, hd) of head h of row r in
// layer l.
func (s *inferer) headCache(l, r, h int) (k, v []float32) {
	T := s.cfg.ContextLen
	off := (r*s.H + h) * T * s.hd
	return s.kCache[l][off : off+T*s.hd], s.vCache[l][off : off+T*s.hd]
}

// headCacheHalf is headCache for the half-precision copy.
func (s *inferer) headCacheHalf(l, r, h int) (k, v []uint16) {
	T := s.cfg.ContextLen
	off := (r*s.H + h) * T * s.hd
	return s.kHalf[l][off : off+T*s.hd], s.vHalf[l][off : off+T*s.hd]
}

// forward appends n tokens to every row, ids (rows, n) at positions pos to
// pos+n-1, and returns the logits (rows, V) that predict the token after
// each row's last one. The result is valid until the next call. It panics
// when the tokens do not fit in the context length.
func (s *inferer) forward(ids []int, n int) []float32 {
	rows, C, T, V := s.rows, s.C, s.cfg.ContextLen, s.cfg.VocabSize
	if n <= 0 || len(ids) != rows*n {
		panic(fmt.Sprintf("gpt: inferer forward of %d ids as %d rows of %d", len(ids), rows, n))
	}
	if s.pos+n > T {
		panic(fmt.Sprintf("gpt: inferer positions %d..%d pass the context length %d",
			s.pos, s.pos+n-1, T))
	}
	if n == 1 {
		return s.decode(ids)
	}
	M := rows * n
	s.grow(M)
	x := s.x[:M*C]
	for i, id := range ids {
		if id < 0 || id >= V {
			panic(fmt.Sprintf("gpt: token id %d outside the vocab of %d", id, V))
		}
		p := s.pos + i%n
		tensor.Add(x[i*C:(i+1)*C], s.wte[id*C:(id+1)*C], s.wpe[p*C:(p+1)*C])
	}

	for l := range s.layers {
		s.block(l, n)
	}
	s.pos += n

	// Only the last position of each row needs the final LayerNorm and the
	// output head.
	last := s.last[:rows*C]
	for r := 0; r < rows; r++ {
		copy(last[r*C:(r+1)*C], x[((r+1)*n-1)*C:(r+1)*n*C])
	}
	tensor.LayerNorm(last, s.mean[:rows], s.rstd[:rows], last, s.lnFW, s.lnFB, rows, C,
		layers.LayerNormEps)
	logits := s.logits[:rows*V]
	tensor.Gemm(false, true, rows, V, C, 1, last, C, s.wte, C, 0, logits, V)
	return logits
}

// block runs layer l on the M = rows·n activations in s.x, in place.
func (s *inferer) block(l, n int) {
	w := &s.layers[l]
	M, C := s.rows*n, s.C
	x, h, qkv := s.x[:M*C], s.h[:M*C], s.qkv[:M*3*C]
	att, ff := s.att[:M*C], s.ff[:M*4*C]
	mean, rstd := s.mean[:M], s.rstd[:M]

	tensor.LayerNorm(h, mean, rstd, x, w.ln1W, w.ln1B, M, C, layers.LayerNormEps)
	linear(qkv, h, w.attnW, w.attnB, M, 3*C, C)
	s.storeKV(l, n)
	s.attention(l, n)
	linearAdd(x, att, w.projW, w.projB, M, C, C)

	tensor.LayerNorm(h, mean, rstd, x, w.ln2W, w.ln2B, M, C, layers.LayerNormEps)
	linear(ff, h, w.fcW, w.fcB, M, 4*C, C)
	tensor.GELU(ff, ff)
	linearAdd(x, ff, w.outW, w.outB, M, C, 4*C)
}

// linear sets y (m, n) = x (m, k) · Wᵀ + b for W (n, k).
func linear(y, x, w, b []float32, m, n, k int) {
	tensor.Gemm(false, true, m, n, k, 1, x, k, w, k, 0, y, n)
	tensor.AddBias(y, b, m)
}

// linearAdd adds x (m, k) · Wᵀ + b to y (m, n) for W (n, k).
func linearAdd(y, x, w, b []float32, m, n, k int) {
	tensor.Gemm(false, true, m, n, k, 1, x, k, w, k, 1, y, n)
	tensor.AddBias(y, b, m)
}

// storeKV copies the keys and values of the n new tokens of every row from
// s.qkv into the cache of layer l at positions pos..pos+n-1.
func (s *inferer) storeKV(l, n int) {
	C, hd := s.C, s.hd
	for r := 0; r < s.rows; r++ {
		for i := 0; i < n; i++ {
			row := s.qkv[(r*n+i)*3*C : (r*n+i+1)*3*C]
			p := s.pos + i
			for h := 0; h < s.H; h++ {
				k, v := s.headCache(l, r, h)
				copy(k[p*hd:(p+1)*hd], row[C+h*hd:C+(h+1)*hd])
				copy(v[p*hd:(p+1)*hd], row[2*C+h*hd:2*C+(h+1)*hd])
				if s.kHalf != nil {
					kh, vh := s.headCacheHalf(l, r, h)
					toHalf(kh[p*hd:(p+1)*hd], row[C+h*hd:C+(h+1)*hd])
					toHalf(vh[p*hd:(p+1)*hd], row[2*C+h*hd:2*C+(h+1)*hd])
				}
			}
		}
	}
}

// attention writes into s.att (M, C) the causal attention of the n > 1 new
// queries of every row over the cached keys and values of layer l, which
// already hold the new tokens.
func (s *inferer) attention(l, n int) {
	C, hd := s.C, s.hd
	t := s.pos + n // keys visible to the last query
	tensor.Parallel(s.rows*s.H, func(lo, hi int) {
		sc := make([]float32, n*t)
		for rh := lo; rh < hi; rh++ {
			r, h := rh/s.H, rh%s.H
			k, v := s.headCache(l, r, h)
			q := s.qkv[r*n*3*C+h*hd:]
			y := s.att[r*n*C+h*hd:]
			// Scores (n, t) of the new queries. Query i is at position
			// pos+i and attends to keys 0..pos+i.
			tensor.Gemm(false, true, n, t, hd, s.scale, q, 3*C, k, hd, 0, sc, t)
			for i := 0; i < n; i++ {
				row := sc[i*t : (i+1)*t]
				vis := s.pos + i + 1
				tensor.Softmax(row[:vis], row[:vis], 1, vis)
				clear(row[vis:])
			}
			tensor.Gemm(false, false, n, hd, t, 1, sc, t, v, hd, 0, y, C)
		}
	})
}

// copyRow copies the cached keys and values of row src over row dst.
func (s *inferer) copyRow(dst, src int) {
	if dst == src {
		return
	}
	n := s.pos * s.hd
	for l := range s.layers {
		for h := 0; h < s.H; h++ {
			kd, vd := s.headCache(l, dst, h)
			ks, vs := s.headCache(l, src, h)
			copy(kd[:n], ks[:n])
			copy(vd[:n], vs[:n])
			if s.kHalf != nil {
				kd, vd := s.headCacheHalf(l, dst, h)
				ks, vs := s.headCacheHalf(l, src, h)
				copy(kd[:n], ks[:n])
				copy(vd[:n], vs[:n])
			}
		}
	}
}

// broadcast copies the cache and the last logits of row 0 to rows 1 to
// rows-1, makes them active and returns the logits (rows, V).
func (s *inferer) broadcast(rows int) []float32 {
	if rows <= 0 || rows > s.maxRows || s.rows != 1 {
		panic(fmt.Sprintf("gpt: inferer broadcast of %d rows to %d", s.rows, rows))
	}
	V := s.cfg.VocabSize
	for r := 1; r < rows; r++ {
		s.copyRow(r, 0)
		copy(s.logits[r*V:(r+1)*V], s.logits[:V])
	}
	s.rows = rows
	return s.logits[:rows*V]
}
