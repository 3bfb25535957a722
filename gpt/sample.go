package gpt

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// SampleOptions are the sampling controls of Generate. The filters apply in
// this order: repetition penalty on the logits, temperature, softmax, top-k,
// top-p on what top-k kept, then min-p. The token is drawn from what is
// left, renormalised.
type SampleOptions struct {
	Temperature       float32  // 0 = greedy
	TopK              int      // <=0 or >= vocab = off
	TopP              float32  // in [0,1]; 1 = off; 0 = keep the most likely only
	MinP              float32  // in [0,1]; 0 = off
	RepetitionPenalty float32  // 1 = off; must be > 0
	RepetitionWindow  int      // last N tokens; 0 = whole context
	Seed              uint64   // the same seed and options give the same text
	MaxNewTokens      int      // generated tokens per sample, at least 1
	Stop              []string // generation of a sample ends before the first match
	Style             string   // "" = none; else one of Config.Styles
	NumSamples        int      // batch; 0 means 1
	TopAlternatives   int      // how many alternatives each Event carries (0 = none)
	// SlideBy is how far the window moves at once when prompt and output
	// pass the context length T. 0 or 1 keeps it at the last T tokens and
	// recomputes the window for every new token. A larger value keeps the
	// last T-SlideBy+1 tokens and recomputes them once per SlideBy new
	// tokens, which is that many times cheaper but gives less context. At
	// most T-1.
	SlideBy int
	// Weights is the precision of the weights each new token is computed
	// from while it fits in the context: "" or "auto" (q8 where the AVX-512
	// or AVX2 kernels run, else f32), "f32", "f16" or "q8". The prompt and
	// every slid window are computed from the float32 weights.
	Weights Precision
}

// Limits of SampleOptions that Validate enforces.
const (
	MaxTemperature     = 100
	MaxNumSamples      = 64
	MaxTopAlternatives = 20
	MaxStopStrings     = 16
)

// DefaultSampleOptions returns the settings of the CLI and the web UI:
// temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no repetition
// penalty (window 64 when one is set), seed 0, 200 new tokens, one sample.
func DefaultSampleOptions() SampleOptions {
	return SampleOptions{
		Temperature:       0.8,
		TopK:              40,
		TopP:              0.95,
		MinP:              0.05,
		RepetitionPenalty: 1,
		RepetitionWindow:  64,
		MaxNewTokens:      200,
		NumSamples:        1,
	}
}

// Validate returns an error naming the first field outside its allowed
// range for a model of configuration cfg.
func (o SampleOptions) Validate(cfg Config) error {
	finite := func(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
	switch {
	case !finite(o.Temperature) || o.Temperature < 0 || o.Temperature > MaxTemperature:
		return fmt.Errorf("temperature %g is outside [0, %d]; use 0 for greedy decoding",
			o.Temperature, MaxTemperature)
	case !finite(o.TopP) || o.TopP < 0 || o.TopP > 1:
		return fmt.Errorf("top_p %g is outside [0, 1]; use 1 to turn it off", o.TopP)
	case !finite(o.MinP) || o.MinP < 0 || o.MinP > 1:
		return fmt.Errorf("min_p %g is outside [0, 1]; use 0 to turn it off", o.MinP)
	case !finite(o.RepetitionPenalty) || o.RepetitionPenalty <= 0:
		return fmt.Errorf("repetition_penalty %g must be a finite number above 0; "+
			"use 1 to turn it off", o.RepetitionPenalty)
	case o.RepetitionWindow < 0:
		return fmt.Errorf("repetition_window %d is negative; use 0 for the whole context",
			o.RepetitionWindow)
	case o.MaxNewTokens < 1:
		return fmt.Errorf("max_new_tokens %d must be at least 1", o.MaxNewTokens)
	case o.SlideBy < 0 || o.SlideBy >= max(cfg.ContextLen, 1):
		return fmt.Errorf("slide_by %d is outside [0, %d]; use 0 or 1 to keep the window at "+
			"the last %d tokens", o.SlideBy, max(cfg.ContextLen-1, 0), cfg.ContextLen)
	case o.NumSamples < 0 || o.NumSamples > MaxNumSamples:
		return fmt.Errorf("num_samples %d is outside [0, %d]", o.NumSamples, MaxNumSamples)
	case o.TopAlternatives < 0 || o.TopAlternatives > MaxTopAlternatives:
		return fmt.Errorf("top_alternatives %d is outside [0, %d]",
			o.TopAlternatives, MaxTopAlternatives)
	case len(o.Stop) > MaxStopStrings:
		return fmt.Errorf("%d stop strings are more than the %d allowed", len(o.Stop),
			MaxStopStrings)
	}
	switch o.Weights {
	case PrecisionAuto, "auto", PrecisionF32, PrecisionF16, PrecisionQ8:
	default:
		return fmt.Errorf("weights precision %q is unknown; use auto, f32, f16 or q8",
			o.Weights)
	}
	for i, s := range o.Stop {
		if s == "" {
			return fmt.Errorf("stop string %d is empty; remove it", i)
		}
	}
	if o.Style != "" && !slices.Contains(cfg.Styles, o.Style) {
		if len(cfg.Styles) == 0 {
			return fmt.Errorf("style %q is unknown: this model was trained without styles; "+
				"leave style empty", o.Style)
		}
		return fmt.Errorf("style %q is unknown; use one of %s or leave it empty", o.Style,
			strings.Join(cfg.Styles, ", "))
	}
	return nil
}

// sampler draws tokens from logits under one SampleOptions. Its scratch
// buffers make a draw allocation-free; it is not safe for concurrent use.
type sampler struct {
	opts   SampleOptions
	V      int
	z      []float32 // (V) logits after the repetition penalty
	p      []float32 // (V) probabilities after temperature
	cand   []int     // candidate ids, most likely first
	marked []uint32  // (V) penalty stamp of each id
	stamp  uint32
}

func newSampler(opts SampleOptions, vocab int) *sampler {
	return &sampler{
		opts:   opts,
		V:      vocab,
		z:      make([]float32, vocab),
		p:      make([]float32, vocab),
		cand:   make([]int, 0, vocab),
		marked: make([]uint32, vocab),
	}
}

// sample returns the next token drawn from logits (V) with rng, and its
// probability after the penalty and temperature. recent lists the tokens
// the repetition penalty looks at, oldest first; the window is applied
// here. At temperature 0 the token is the most likely one (the lowest id
// among equals), and the reported probability is taken at temperature 1.
//
// After sample, s.p holds the distribution the probability comes from, for
// alternatives.
func (s *sampler) sample(logits []float32, recent []int, rng *rand.Rand) (int, float32) {
	z := s.z
	copy(z, logits[:s.V])
	s.penalize(recent)

	temp := s.opts.Temperature
	if temp == 0 {
		softmaxTemp(s.p, z, 1)
		id := argmax(z)
		return id, s.p[id]
	}
	softmaxTemp(s.p, z, temp)
	keep := s.filter()
	id := s.draw(keep, rng)
	return id, s.p[id]
}

// penalize applies the repetition penalty to s.z for every distinct id in
// the last RepetitionWindow tokens of recent. A positive logit is divided
// by the penalty and a negative one multiplied, so a penalty above 1 always
// makes the token less likely. Logits stay finite, so the softmax never
// computes Inf - Inf.
func (s *sampler) penalize(recent []int) {
	pen := s.opts.RepetitionPenalty
	if pen == 1 || len(recent) == 0 {
		return
	}
	if w := s.opts.RepetitionWindow; w > 0 && len(recent) > w {
		recent = recent[len(recent)-w:]
	}
	s.stamp++
	if s.stamp == 0 { // wrapped: old marks could collide with the new stamp
		clear(s.marked)
		s.stamp = 1
	}
	for _, id := range recent {
		if id < 0 || id >= s.V || s.marked[id] == s.stamp {
			continue
		}
		s.marked[id] = s.stamp
		v := s.z[id]
		if v > 0 {
			v /= pen
		} else {
			v *= pen
		}
		s.z[id] = max(min(v, math.MaxFloat32), -math.MaxFloat32)
	}
}

// filter applies top-k, top-p and min-p to s.p and returns the number of
// kept candidates, which it leaves in s.cand[:keep], most likely first. It
// returns 0 when no filter is on, because then every id is a candidate, and
// leaves s.cand unfilled.
func (s *sampler) filter() int {
	o := s.opts
	topK := o.TopK > 0 && o.TopK < s.V
	if !topK && o.TopP >= 1 && o.MinP <= 0 {
		return 0
	}
	if topK {
		s.cand = topIndices(s.cand[:0], s.p, o.TopK)
	} else {
		s.cand = s.headCandidates(o.TopP, o.MinP)
	}
	cand := s.cand

	// Top-p on the distribution renormalised over what top-k kept: keep the
	// shortest prefix whose mass reaches p. The comparison allows for the
	// float32 rounding of the probabilities, so that a prefix whose exact
	// mass is p counts as reaching it.
	if o.TopP < 1 {
		var total float64
		for _, id := range cand {
			total += float64(s.p[id])
		}
		target := float64(o.TopP) * total * (1 - 1e-6)
		var cum float64
		for i, id := range cand {
			cum += float64(s.p[id])
			if cum >= target {
				cand = cand[:i+1]
				break
			}
		}
	}
	if o.MinP > 0 {
		floor := o.MinP * s.p[cand[0]]
		n := 1
		for n < len(cand) && s.p[cand[n]] >= floor {
			n++
		}
		cand = cand[:n]
	}
	return len(cand)
}

// headCandidates returns, most likely first, enough of the most likely ids
// to decide top-p (mass at least topP) and min-p (every id at or above
// minP times the largest probability). It avoids sorting the whole vocab:
// it collects ids above a threshold that it lowers by 16x until the
// collected ids cover both rules.
func (s *sampler) headCandidates(topP, minP float32) []int {
	pmax := s.p[argmax(s.p)]
	thr := pmax
	for {
		thr /= 16
		if thr < 1e-30 {
			thr = 0
		}
		cand := s.cand[:0]
		var mass float64
		for id, v := range s.p {
			if v >= thr {
				cand = append(cand, id)
				mass += float64(v)
			}
		}
		enoughP := topP >= 1 || mass >= float64(topP)
		enoughMin := minP <= 0 || thr <= minP*pmax
		if (enoughP && enoughMin) || thr == 0 {
			sortByProb(cand, s.p)
			return cand
		}
	}
}

// draw picks an id with probability proportional to s.p among the first
// keep candidates, or among all ids when keep is 0.
func (s *sampler) draw(keep int, rng *rand.Rand) int {
	u := rng.Float64()
	if keep == 0 {
		var total float64
		for _, v := range s.p {
			total += float64(v)
		}
		u *= total
		var cum float64
		last := 0
		for id, v := range s.p {
			if v > 0 {
				last = id
			}
			cum += float64(v)
			if u < cum {
				return id
			}
		}
		return last // u landed on the rounding error at the end
	}
	cand := s.cand[:keep]
	var total float64
	for _, id := range cand {
		total += float64(s.p[id])
	}
	u *= total
	var cum float64
	for _, id := range cand {
		cum += float64(s.p[id])
		if u < cum {
			return id
		}
	}
	return cand[len(cand)-1]
}

// alternatives returns the n most likely ids of the last distribution
// sample used, most likely first, appended to dst.
func (s *sampler) alternatives(dst []int, n int) []int {
	return topIndices(dst, s.p, n)
}

// softmaxTemp sets p to softmax(z / temp). The maximum is subtracted before
// dividing, so every exponent is at most 0 and no temperature above 0
// overflows; the largest logit always gets exp(0) = 1, so the sum is never
// 0. Probabilities below about 1e-38 may flush to 0.
func softmaxTemp(p, z []float32, temp float32) {
	zmax := z[argmax(z)]
	copy(p, z)
	sum := expSum(p, zmax, 1/temp)
	scale := 1 / sum
	for i := range p {
		p[i] *= scale
	}
}

// argmax returns the index of the largest value, the lowest among equals.
func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// topIndices appends to dst the ids of the n largest values of p, largest
// first and the lower id first among equals. For n up to 64 it keeps a
// sorted run of n ids and inserts into it, at about one comparison per id.
// A larger n sorts every id.
func topIndices(dst []int, p []float32, n int) []int {
	n = min(n, len(p))
	if n <= 0 {
		return dst
	}
	base := len(dst)
	if n > 64 {
		// Insertion costs O(n) per id that enters the run: sort instead.
		for id := range p {
			dst = append(dst, id)
		}
		sortByProb(dst[base:], p)
		return dst[:base+n]
	}
	for id, v := range p {
		top := dst[base:]
		if len(top) == n && !(v > p[top[n-1]]) {
			continue
		}
		// Insert after every equal or larger value, so the lower id of
		// equals stays in front.
		i := len(top)
		for i > 0 && v > p[top[i-1]] {
			i--
		}
		if len(top) < n {
			dst = append(dst, 0)
			top = dst[base:]
		}
		copy(top[i+1:], top[i:len(top)-1])
		top[i] = id
	}
	return dst
}

// sortByProb sorts ids by decreasing p, the lower id first among equals.
func sortByProb(ids []int, p []float32) {
	slices.SortFunc(ids, func(a, b int) int {
		if c := cmp.Compare(p[b], p[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
}
