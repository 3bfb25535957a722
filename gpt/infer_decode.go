package gpt

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"weak"

	"github.com/goushi/goushi/layers"
	"github.com/goushi/goushi/tensor"
)

// The single-token step. Generating one token reads every weight once and
// does little arithmetic per weight, so its speed is set by memory
// bandwidth: the weights are streamed once per step by the matrix-vector
// kernels, optionally from a half-precision or 8-bit copy that has fewer
// bytes, and the step's parallel sections run on a spinning team instead
// of the tensor pool.

// section is the kind of parallel work a decode step hands to its team. A
// step runs two sections per layer and one for the output head, and the
// caller adds up their partial sums in between:
//
//   - secAttn has one task per head. It computes the head's q, k and v,
//     stores k and v in the cache and attends over the cache. It then adds
//     the head's partial sum of the output projection: att_h times the
//     head's columns of Wproj.
//   - secMLP has one task per slice of the hidden layer. It computes the
//     slice's rows of the first matrix and GELU, then the slice's partial
//     sum of the second matrix.
//   - secHead has one task per range of vocab rows of the logits.
//
// Splitting each projection by its input columns lets a head and its share
// of the projection, or a hidden slice and its share of the output, run in
// one task with no barrier between them. A step thus waits on its team
// 2L+1 times, and the partial sums are added in a fixed order, so the
// result does not depend on which worker ran which task.
type section int

const (
	secAttn section = iota
	secMLP
	secHead
)

// decodeChunk is the number of weight rows that every batch row reads in
// turn when a task serves several rows. 32 rows of 384 half-precision
// values are 24 KiB, so they stay in L1 while each batch row reads them.
const decodeChunk = 32

// headTasks is the number of tasks of the output head per worker: enough
// for the caller to take over the tasks of a helper that the OS has
// descheduled, few enough that claiming them costs little.
const headTasks = 4

// Precision is the number format of the weight matrices that single-token
// steps read. Outside float32 they also read the KV cache in half
// precision. Prefill always reads the float32 weights and cache.
type Precision string

// The precisions of SampleOptions.Weights.
const (
	// PrecisionAuto is PrecisionQ8 where the AVX-512 or AVX2 kernels run
	// and PrecisionF32 elsewhere, where the Go kernels would convert every
	// weight on the fly. On the default model trained for ten minutes,
	// 8-bit weights move the held-out bits per byte by about 0.04%
	// (BENCHMARKS.md), and they make a step two to three times as fast as
	// half precision.
	PrecisionAuto Precision = ""
	// PrecisionF32 reads the weights themselves.
	PrecisionF32 Precision = "f32"
	// PrecisionF16 reads an IEEE half-precision copy: half the bytes, and
	// each weight within 2^-11 of its size.
	PrecisionF16 Precision = "f16"
	// PrecisionQ8 reads an 8-bit copy with one scale per row, w ≈ s·q with
	// s = max|row|/127: a quarter of the bytes, and each weight within
	// max|row|/254. The assembly rounds each input vector to 16-bit
	// integers (within max|x|/65534 of each element) and sums the
	// products exactly in int32.
	PrecisionQ8 Precision = "q8"
)

// resolve returns the precision that PrecisionAuto stands for here.
func (p Precision) resolve() Precision {
	if p != PrecisionAuto && p != "auto" {
		return p
	}
	if level > levelGo {
		return PrecisionQ8
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

// input is a vector that the decode step multiplies by weight matrices:
// its float32 values and, for 8-bit weights, its 16-bit copy (see
// quantizeVec) when ok.
type input struct {
	f  []float32
	q  []int16
	qs float32
	ok bool
}

// gemv sets out[j-lo] = x·w[j] for rows j in [lo, hi).
func (w *weight) gemv(x input, out []float32, lo, hi, k int) {
	switch {
	case w.f16 != nil:
		gemvF16(x.f, w.f16[lo*k:hi*k], out, hi-lo, k)
	case w.q8 != nil && x.ok:
		gemvQ8I16(x.q, x.qs, w.q8[lo*k:hi*k], w.scale[lo:hi], out, hi-lo, k)
	case w.q8 != nil:
		gemvQ8(x.f, w.q8[lo*k:hi*k], w.scale[lo:hi], out, hi-lo, k)
	default:
		gemvF32(x.f, w.f32[lo*k:hi*k], out, hi-lo, k)
	}
}

// input returns f as an input to the decode step's matrices, rounded
// into q when they are in 8 bits.
func (s *inferer) input(f []float32, q []int16) input {
	in := input{f: f}
	if s.dec.head.q8 != nil {
		in.q = q[:len(f)]
		in.qs, in.ok = quantizeVec(in.q, f)
	}
	return in
}

// decodeLayer is one block's matrices for the decode step. attn and fc
// keep the model's layout. proj and out are stored by blocks of input
// columns, so that a task's share of a projection is one contiguous
// matrix: block j is the C rows of the j-th column slice.
type decodeLayer struct {
	attn weight // (3C, C): rows q, k, v
	proj weight // (H·C, hd): block h is Wproj[:, h·hd:(h+1)·hd]
	fc   weight // (4C, C)
	out  weight // (P·C, 4C/P): block p is Wout[:, p·f:(p+1)·f]
}

// decodeWeights is every matrix the decode step reads, in one precision,
// with the MLP's second matrix split into parts column blocks. Once built
// it is only read, so inferers may share it.
type decodeWeights struct {
	layers []decodeLayer
	head   weight // wte as the output head (V, C)
	parts  int
}

// columnBlocks returns w (rows, k) rearranged as the blocks
// w[:, j·f:(j+1)·f] for j in [0, k/f), each (rows, f), one after another.
func columnBlocks(w []float32, rows, k, f int) []float32 {
	out := make([]float32, 0, len(w))
	for j := 0; j < k; j += f {
		for r := 0; r < rows; r++ {
			out = append(out, w[r*k+j:r*k+j+f]...)
		}
	}
	return out
}

// mlpParts returns the number of slices the decode step splits a hidden
// layer of width hidden into for a team of workers. It prefers two per
// worker, so that the caller can take over a descheduled helper's slice.
// It also prefers widths that are a multiple of 32, then of 16, because
// the assembly kernels take those whole.
func mlpParts(hidden, workers int) int {
	for _, width := range []int{32, 16, 1} {
		for p := 2 * workers; p >= 1; p-- {
			if hidden%p == 0 && (hidden/p)%width == 0 {
				return p
			}
		}
	}
	return 1
}

// makeDecodeWeights builds the copies of every matrix the decode step
// reads in precision p, from the views in s.layers and s.wte, with the
// hidden layer in parts slices.
func (s *inferer) makeDecodeWeights(p Precision, parts int) *decodeWeights {
	C, H, hd := s.C, s.H, s.hd
	f := 4 * C / parts
	d := &decodeWeights{layers: make([]decodeLayer, len(s.layers)), parts: parts}
	for l, w := range s.layers {
		d.layers[l] = decodeLayer{
			attn: newWeight(w.attnW, 3*C, C, p),
			proj: newWeight(columnBlocks(w.projW, C, C, hd), H*C, hd, p),
			fc:   newWeight(w.fcW, 4*C, C, p),
			out:  newWeight(columnBlocks(w.outW, C, 4*C, f), parts*C, f, p),
		}
	}
	d.head = newWeight(s.wte, s.cfg.VocabSize, C, p)
	return d
}

// frozenCopies holds the decode copies of a frozen model, one set per
// precision and split of the hidden layer, each built on first use.
type frozenCopies struct {
	mu     sync.Mutex
	byPrec map[decodeKey]*decodeWeights
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

// decodeKey names a set of decode copies.
type decodeKey struct {
	prec  Precision
	parts int
}

// decodeWeightsFor returns the decode copies of m in precision p, with
// the hidden layer in parts slices: the shared copies when m is frozen,
// built by the first caller, or else a fresh set.
func (s *inferer) decodeWeightsFor(m *Model, p Precision, parts int) *decodeWeights {
	v, ok := frozen.Load(weak.Make(m))
	if !ok {
		return s.makeDecodeWeights(p, parts)
	}
	fc := v.(*frozenCopies)
	fc.mu.Lock()
	defer fc.mu.Unlock()
	key := decodeKey{p, parts}
	d := fc.byPrec[key]
	if d == nil {
		d = s.makeDecodeWeights(p, parts)
		if fc.byPrec == nil {
			fc.byPrec = make(map[decodeKey]*decodeWeights)
		}
		fc.byPrec[key] = d
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
		s.team.run(secAttn, l, s.H)
		s.addParts(s.H, w.projB)
		s.normRows(x, w.ln2W, w.ln2B)
		s.team.run(secMLP, l, s.dec.parts)
		s.addParts(s.dec.parts, w.outB)
	}
	s.pos++
	s.normRows(x, s.lnFW, s.lnFB)
	s.team.run(secHead, 0, s.headTasks())
	return s.logits[:rows*V]
}

// headTasks returns the number of tasks of the output head.
func (s *inferer) headTasks() int {
	return min(chunks(s.cfg.VocabSize), headTasks*s.team.workers)
}

func chunks(n int) int { return (n + decodeChunk - 1) / decodeChunk }

// normRows sets s.h to the LayerNorm of every row of x, and s.hIn to the
// rows as inputs.
func (s *inferer) normRows(x, g, b []float32) {
	C, rows := s.C, s.rows
	tensor.LayerNorm(s.h[:rows*C], s.mean[:rows], s.rstd[:rows], x, g, b, rows, C,
		layers.LayerNormEps)
	for r := 0; r < rows; r++ {
		s.hIn[r] = s.input(s.h[r*C:(r+1)*C], s.hq[r*C:(r+1)*C])
	}
}

// addParts adds to every row of s.x the bias b and the first n partial
// sums of the row in s.part, in order.
func (s *inferer) addParts(n int, b []float32) {
	C, np := s.C, s.nPart
	for r := 0; r < s.rows; r++ {
		xr := s.x[r*C : (r+1)*C]
		tensor.Add(xr, xr, b)
		for j := 0; j < n; j++ {
			tensor.Add(xr, xr, s.part[(r*np+j)*C:(r*np+j+1)*C])
		}
	}
}

// work runs task t of a section.
func (s *inferer) work(kind section, layer, t int) {
	switch kind {
	case secAttn:
		s.attnTask(layer, t)
	case secMLP:
		s.mlpTask(layer, t)
	case secHead:
		s.headTask(t)
	}
}

// attnTask runs head h of layer l for every batch row: q, k and v, the
// cache, attention, and the head's partial sum of the output projection.
func (s *inferer) attnTask(l, h int) {
	C, hd, np := s.C, s.hd, s.nPart
	w, dw := &s.layers[l], &s.dec.layers[l]
	for r := 0; r < s.rows; r++ {
		in := s.hIn[r]
		qkv := s.qkv[r*3*C : (r+1)*3*C]
		for j := 0; j < 3; j++ {
			lo := j*C + h*hd
			dw.attn.gemv(in, qkv[lo:lo+hd], lo, lo+hd, C)
			addTo(qkv[lo:lo+hd], w.attnB[lo:lo+hd])
		}
		s.storeHead(l, r, h)
		y := s.att[r*C+h*hd : r*C+(h+1)*hd]
		s.attend(l, r, h, y)
		yIn := s.input(y, s.attQ[r*C+h*hd:r*C+(h+1)*hd])
		dw.proj.gemv(yIn, s.part[(r*np+h)*C:(r*np+h+1)*C], h*C, (h+1)*C, hd)
	}
}

// storeHead copies the key and value of head h of row r from s.qkv into
// the cache of layer l at position s.pos.
func (s *inferer) storeHead(l, r, h int) {
	C, hd, p := s.C, s.hd, s.pos
	key := s.qkv[r*3*C+C+h*hd : r*3*C+C+(h+1)*hd]
	val := s.qkv[r*3*C+2*C+h*hd : r*3*C+2*C+(h+1)*hd]
	k, v := s.headCache(l, r, h)
	copy(k[p*hd:(p+1)*hd], key)
	copy(v[p*hd:(p+1)*hd], val)
	if s.kHalf != nil {
		kh, vh := s.headCacheHalf(l, r, h)
		toHalf(kh[p*hd:(p+1)*hd], key)
		toHalf(vh[p*hd:(p+1)*hd], val)
	}
}

// attend sets y to softmax(q·kᵀ/√hd)·v for head h of row r over the cached
// keys and values of layer l, which hold the new token. q is scaled by
// 1/√hd in place first. The kernel scores keys in groups of 4, so when the
// cache has room it also scores up to 3 positions past the new token, and
// those scores are ignored.
func (s *inferer) attend(l, r, h int, y []float32) {
	C, hd, T := s.C, s.hd, s.cfg.ContextLen
	n := s.pos + 1
	n4 := n
	if up := (n + 3) &^ 3; up <= T {
		n4 = up
	}
	q := s.qkv[r*3*C+h*hd : r*3*C+(h+1)*hd]
	tensor.Scale(q, s.scale)
	t := r*s.H + h
	p := s.scores[t*T : t*T+n4]
	if s.kHalf != nil {
		k, v := s.headCacheHalf(l, r, h)
		gemvF16(q, k[:n4*hd], p, n4, hd)
		tensor.Softmax(p[:n], p[:n], 1, n)
		mixF16(p, v[:n*hd], y, n, hd)
		return
	}
	k, v := s.headCache(l, r, h)
	gemvF32(q, k[:n4*hd], p, n4, hd)
	tensor.Softmax(p[:n], p[:n], 1, n)
	mix(p, v[:n*hd], y, n, hd)
}

// mlpTask runs slice j of the hidden layer of layer l for every batch row:
// the slice of GELU(LN2(x)·Wfcᵀ + b) and its partial sum of the output.
func (s *inferer) mlpTask(l, j int) {
	C, np := s.C, s.nPart
	w, dw := &s.layers[l], &s.dec.layers[l]
	f := 4 * C / s.dec.parts
	lo, hi := j*f, (j+1)*f
	for r := 0; r < s.rows; r++ {
		ff := s.ff[r*4*C+lo : r*4*C+hi]
		dw.fc.gemv(s.hIn[r], ff, lo, hi, C)
		addTo(ff, w.fcB[lo:hi])
		tensor.GELU(ff, ff)
		ffIn := s.input(ff, s.ffQ[r*4*C+lo:r*4*C+hi])
		dw.out.gemv(ffIn, s.part[(r*np+j)*C:(r*np+j+1)*C], j*C, (j+1)*C, f)
	}
}

// headTask computes task t's range of vocab rows of the logits for every
// batch row, decodeChunk rows at a time.
func (s *inferer) headTask(t int) {
	C, V := s.C, s.cfg.VocabSize
	per := (chunks(V) + s.headTasks() - 1) / s.headTasks() * decodeChunk
	end := min((t+1)*per, V)
	step := decodeChunk
	if s.rows == 1 {
		step = per
	}
	for lo := t * per; lo < end; lo += step {
		hi := min(lo+step, end)
		for r := 0; r < s.rows; r++ {
			s.dec.head.gemv(s.hIn[r], s.logits[r*V+lo:r*V+hi], lo, hi, C)
		}
	}
}

func addTo(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
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
