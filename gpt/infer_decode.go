package gpt

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"weak"
)

// The single-token step. Generating one token reads every weight once and
// does little arithmetic per weight, so its speed is set by memory
// bandwidth: the weights are streamed once per step by the matrix-vector
// kernels, optionally from a half-precision or 8-bit copy that has fewer
// bytes, and the step's parallel sections run on a spinning team instead
// of the tensor pool.

// section is the kind of parallel work a decode step hands to its team.
type section int

const (
	secQKV  section = iota // qkv = LN1(x)·Wattnᵀ + b, by chunks of weight rows
	secAttn                // attention, one task per (row, head)
	secProj                // x += att·Wprojᵀ + b, by chunks of weight rows
	secFC                  // ff = GELU(LN2(x)·Wfcᵀ + b), by chunks of weight rows
	secOut                 // x += ff·Woutᵀ + b, by chunks of weight rows
	secHead                // logits = LN_f(x)·wteᵀ, by chunks of vocab rows
)

// decodeChunk is the number of weight rows per task. 32 rows of 384
// half-precision values are 24 KiB (96 KiB for the 1536-wide rows of the
// MLP output), small enough to balance two workers and to stay in L1 or L2
// while every batch row reads them.
const decodeChunk = 32

// Precision is the number format of the weight matrices that single-token
// steps read. Outside float32 they also read the KV cache in half
// precision. Prefill always reads the float32 weights and cache.
type Precision string

// The precisions of SampleOptions.Weights.
const (
	// PrecisionAuto is PrecisionF16 where the AVX-512 kernels run and
	// PrecisionF32 elsewhere, where the Go kernels would convert every
	// weight on the fly.
	PrecisionAuto Precision = ""
	// PrecisionF32 reads the weights themselves.
	PrecisionF32 Precision = "f32"
	// PrecisionF16 reads an IEEE half-precision copy: half the bytes, and
	// each weight within 2^-11 of its size.
	PrecisionF16 Precision = "f16"
	// PrecisionQ8 reads an 8-bit copy with one scale per row, w ≈ s·q with
	// s = max|row|/127: a quarter of the bytes, and each weight within
	// max|row|/254.
	PrecisionQ8 Precision = "q8"
)

// resolve returns the precision that PrecisionAuto stands for here.
func (p Precision) resolve() Precision {
	if p != PrecisionAuto {
		return p
	}
	if hasAVX512 {
		return PrecisionF16
	}
	return PrecisionF32
}

// weight is a matrix (rows, k) as the decode step reads it: the float32
// values, and the copy in the inferer's precision.
type weight struct {
	f32   []float32
	f16   []uint16
	q8    []int8
	scale []float32 // (rows) for q8
}

// newWeight returns w with a copy in precision p.
func newWeight(w []float32, rows, k int, p Precision) weight {
	out := weight{f32: w}
	switch p {
	case PrecisionF16:
		out.f16 = make([]uint16, len(w))
		toHalf(out.f16, w)
	case PrecisionQ8:
		out.q8 = make([]int8, len(w))
		out.scale = make([]float32, rows)
		quantizeRows(out.q8, out.scale, w, rows, k)
	}
	return out
}

// gemv sets out[j-lo] = x·w[j] for rows j in [lo, hi).
func (w *weight) gemv(x, out []float32, lo, hi, k int) {
	switch {
	case w.f16 != nil:
		gemvF16(x, w.f16[lo*k:hi*k], out, hi-lo, k)
	case w.q8 != nil:
		gemvQ8(x, w.q8[lo*k:hi*k], w.scale[lo:hi], out, hi-lo, k)
	default:
		gemvF32(x, w.f32[lo*k:hi*k], out, hi-lo, k)
	}
}

// decodeLayer holds one block's matrices for the decode step.
type decodeLayer struct {
	attn, proj, fc, out weight
}

// decodeWeights is every matrix the decode step reads, in one precision.
// Once built it is only read, so inferers may share it.
type decodeWeights struct {
	layers []decodeLayer
	head   weight // wte as the output head (V, C)
}

// makeDecodeWeights builds the copies of every matrix the decode step
// reads in precision p, from the views in s.layers and s.wte.
func (s *inferer) makeDecodeWeights(p Precision) *decodeWeights {
	C := s.C
	d := &decodeWeights{layers: make([]decodeLayer, len(s.layers))}
	for l, w := range s.layers {
		d.layers[l] = decodeLayer{
			attn: newWeight(w.attnW, 3*C, C, p),
			proj: newWeight(w.projW, C, C, p),
			fc:   newWeight(w.fcW, 4*C, C, p),
			out:  newWeight(w.outW, C, 4*C, p),
		}
	}
	d.head = newWeight(s.wte, s.cfg.VocabSize, C, p)
	return d
}

// frozenCopies holds the decode copies of a frozen model, one set per
// precision, each built on first use.
type frozenCopies struct {
	mu     sync.Mutex
	byPrec map[Precision]*decodeWeights
}

// frozen maps weak.Pointer[Model] to *frozenCopies. A weak key lets a
// frozen model be collected; a cleanup then deletes its entry.
var frozen sync.Map

// Freeze marks m's weights as fixed. Generate then keeps the half-precision
// or 8-bit copy of the weight matrices it makes, and every later call on
// m, concurrent ones included, reads that copy instead of making its own.
// Making a copy costs about as much time as a few generated tokens, and it
// takes as much memory as the weights in that precision.
//
// After Freeze, changing m's weights (a training step, loading other
// values) leaves single-token steps reading the old copy: call Unfreeze
// first. Freeze is safe for concurrent use and freezing twice is a no-op.
func Freeze(m *Model) {
	key := weak.Make(m)
	if _, loaded := frozen.LoadOrStore(key, &frozenCopies{}); !loaded {
		runtime.AddCleanup(m, func(k weak.Pointer[Model]) { frozen.Delete(k) }, key)
	}
}

// Unfreeze drops the copies that Freeze kept for m; later Generate calls
// make their own copy again. Calls already running keep the copy they use.
func Unfreeze(m *Model) {
	frozen.Delete(weak.Make(m))
}

// Frozen reports whether Freeze has been called on m and Unfreeze not
// since.
func Frozen(m *Model) bool {
	_, ok := frozen.Load(weak.Make(m))
	return ok
}

// decodeWeightsFor returns the decode copies of m in precision p for s:
// the shared copies when m is frozen, built by the first caller, or else
// a fresh set.
func (s *inferer) decodeWeightsFor(m *Model, p Precision) *decodeWeights {
	v, ok := frozen.Load(weak.Make(m))
	if !ok {
		return s.makeDecodeWeights(p)
	}
	fc := v.(*frozenCopies)
	fc.mu.Lock()
	defer fc.mu.Unlock()
	d := fc.byPrec[p]
	if d == nil {
		d = s.makeDecodeWeights(p)
		if fc.byPrec == nil {
			fc.byPrec = make(map[Precision]*decodeWeights)
		}
		fc.byPrec[p] = d
	}
	return d
}

// decode appends one token to every row, ids (rows), and returns the
// logits (rows, V) after it.
func (s *inferer) decode(ids []int) []float32 {
	rows, C, V := s.rows, s.C, s.cfg.VocabSize
	x := s.x[:rows*C]
	p := s.pos
	for r, id := range ids {
		if id < 0 || id >= V {
			panic(fmt.Sprintf("gpt: token id %d outside the vocab of %d", id, V))
		}
		xr, e, pe := x[r*C:(r+1)*C], s.wte[id*C:(id+1)*C], s.wpe[p*C:(p+1)*C]
		for i := range xr {
			xr[i] = e[i] + pe[i]
		}
	}

	for l := range s.layers {
		w := &s.layers[l]
		s.normRows(x, w.ln1W, w.ln1B)
		s.runSection(secQKV, l, chunks(3*C))
		s.storeKV(l, 1)
		s.runSection(secAttn, l, rows*s.H)
		s.runSection(secProj, l, chunks(C))
		s.normRows(x, w.ln2W, w.ln2B)
		s.runSection(secFC, l, chunks(4*C))
		s.runSection(secOut, l, chunks(C))
	}
	s.pos++
	s.normRows(x, s.lnFW, s.lnFB)
	s.runSection(secHead, 0, chunks(V))
	return s.logits[:rows*V]
}

func chunks(n int) int { return (n + decodeChunk - 1) / decodeChunk }

// normRows sets s.h to the LayerNorm of every row of x.
func (s *inferer) normRows(x, g, b []float32) {
	C := s.C
	for r := 0; r < s.rows; r++ {
		layerNormRow(s.h[r*C:(r+1)*C], x[r*C:(r+1)*C], g, b)
	}
}

// runSection runs tasks [0, n) of one section on the team.
func (s *inferer) runSection(kind section, layer, n int) {
	s.team.run(kind, layer, n)
}

// work runs task t of a section.
func (s *inferer) work(kind section, layer, t int) {
	switch kind {
	case secAttn:
		s.attendTask(layer, t)
	case secHead:
		s.headTask(t)
	default:
		s.linearTask(kind, layer, t)
	}
}

// linearTask computes one chunk of weight rows of a block's linear layer
// for every batch row.
func (s *inferer) linearTask(kind section, layer, t int) {
	C := s.C
	w, dw := &s.layers[layer], &s.dec.layers[layer]
	var buf [decodeChunk]float32
	lo := t * decodeChunk
	switch kind {
	case secQKV:
		hi := min(lo+decodeChunk, 3*C)
		for r := 0; r < s.rows; r++ {
			out := s.qkv[r*3*C+lo : r*3*C+hi]
			dw.attn.gemv(s.h[r*C:(r+1)*C], out, lo, hi, C)
			addTo(out, w.attnB[lo:hi])
		}
	case secProj, secOut:
		hi := min(lo+decodeChunk, C)
		mat, b, in, k := &dw.proj, w.projB, s.att, C
		if kind == secOut {
			mat, b, in, k = &dw.out, w.outB, s.ff, 4*C
		}
		for r := 0; r < s.rows; r++ {
			out := buf[:hi-lo]
			mat.gemv(in[r*k:(r+1)*k], out, lo, hi, k)
			xr := s.x[r*C+lo : r*C+hi]
			for i := range xr {
				xr[i] += out[i] + b[lo+i]
			}
		}
	case secFC:
		hi := min(lo+decodeChunk, 4*C)
		for r := 0; r < s.rows; r++ {
			out := s.ff[r*4*C+lo : r*4*C+hi]
			dw.fc.gemv(s.h[r*C:(r+1)*C], out, lo, hi, C)
			for i, v := range out {
				out[i] = gelu(v + w.fcB[lo+i])
			}
		}
	}
}

// headTask computes one chunk of vocab rows of the logits for every batch
// row.
func (s *inferer) headTask(t int) {
	C, V := s.C, s.cfg.VocabSize
	lo := t * decodeChunk
	hi := min(lo+decodeChunk, V)
	for r := 0; r < s.rows; r++ {
		s.dec.head.gemv(s.h[r*C:(r+1)*C], s.logits[r*V+lo:r*V+hi], lo, hi, C)
	}
}

// attendTask computes head h of row r over the cached keys and values of
// the current layer: softmax(q·kᵀ/√hd)·v into s.att.
func (s *inferer) attendTask(layer, t int) {
	r, h := t/s.H, t%s.H
	C, hd, T := s.C, s.hd, s.cfg.ContextLen
	n := s.pos + 1
	q := s.qkv[r*3*C+h*hd : r*3*C+(h+1)*hd]
	p := s.scores[t*T : t*T+n]
	y := s.att[r*C+h*hd : r*C+(h+1)*hd]
	if s.kHalf != nil {
		k, v := s.headCacheHalf(layer, r, h)
		gemvF16(q, k[:n*hd], p, n, hd)
		softmaxScaled(p, s.scale)
		mixF16(p, v[:n*hd], y, n, hd)
		return
	}
	k, v := s.headCache(layer, r, h)
	gemvF32(q, k[:n*hd], p, n, hd)
	softmaxScaled(p, s.scale)
	mix(p, v[:n*hd], y, n, hd)
}

// softmaxScaled sets p to softmax(p·scale).
func softmaxScaled(p []float32, scale float32) {
	m := p[0]
	for _, v := range p {
		m = max(m, v)
	}
	inv := 1 / expSum(p, m, scale)
	for i := range p {
		p[i] *= inv
	}
}

// layerNormRow sets out to the LayerNorm of x with gain g and bias b,
// with the mean and variance summed in float64 like tensor.LayerNorm.
func layerNormRow(out, x, g, b []float32) {
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	mu := float32(sum / float64(len(x)))
	var ss float64
	for _, v := range x {
		d := float64(v - mu)
		ss += d * d
	}
	rs := float32(1 / math.Sqrt(ss/float64(len(x))+1e-5))
	out = out[:len(x)]
	g, b = g[:len(x)], b[:len(x)]
	for i, v := range x {
		out[i] = (v-mu)*rs*g[i] + b[i]
	}
}

func addTo(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// gelu is the tanh approximation of GELU written as x·σ(2u), which equals
// 0.5·x·(1 + tanh(u)) for u = √(2/π)·(x + 0.044715·x³).
func gelu(x float32) float32 {
	u := 0.7978845608028654 * (x + 0.044715*x*x*x)
	return x / (1 + expf(-2*u))
}

// expf returns e^x in float32 to within about 2 ulp. It splits
// x·log2(e) into an integer n and a rest f in [-0.5, 0.5], evaluates 2^f
// by its degree-6 Taylor series in f·ln 2 (truncation error below 1.2e-7
// relative), and scales by 2^n through the exponent bits. Results below
// 2^-126 flush to 0 and above 2^127 become +Inf.
func expf(x float32) float32 {
	t := x * 1.4426950408889634
	if t < -126 {
		return 0
	}
	if t > 127 {
		return float32(math.Inf(1))
	}
	n := int32(t+128.5) - 128 // round to nearest for t > -128.5
	y := (t - float32(n)) * 0.6931471805599453
	p := 1 + y*(1+y*(0.5+y*(1.0/6+y*(1.0/24+y*(1.0/120+y*(1.0/720))))))
	return p * math.Float32frombits(uint32(n+127)<<23)
}
