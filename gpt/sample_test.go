package gpt

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// logitsOf returns logits whose softmax is probs: log(p), with -Inf for 0.
func logitsOf(probs ...float64) []float32 {
	z := make([]float32, len(probs))
	for i, p := range probs {
		z[i] = float32(math.Log(p))
	}
	return z
}

// kept runs the filters of opts at temperature 1 on logits and returns the
// kept ids in ascending order.
func kept(t *testing.T, opts SampleOptions, logits []float32) []int {
	t.Helper()
	opts.Temperature = 1
	s := newSampler(opts, len(logits))
	copy(s.z, logits)
	softmaxTemp(s.p, s.z, 1)
	n := s.filter()
	var ids []int
	if n == 0 {
		for id := range logits {
			ids = append(ids, id)
		}
		return ids
	}
	ids = append(ids, s.cand[:n]...)
	slices.Sort(ids)
	return ids
}

func noFilters() SampleOptions {
	o := DefaultSampleOptions()
	o.TopK, o.TopP, o.MinP = 0, 1, 0
	return o
}

func TestValidateRejectsBadOptions(t *testing.T) {
	cfg := Config{VocabSize: 100, ContextLen: 8, Layers: 1, Heads: 1, Embd: 8,
		Styles: []string{"抽象", "news"}}
	nan := float32(math.NaN())
	cases := []struct {
		name  string
		edit  func(o *SampleOptions)
		field string
	}{
		{"negative temperature", func(o *SampleOptions) { o.Temperature = -0.1 }, "temperature"},
		{"NaN temperature", func(o *SampleOptions) { o.Temperature = nan }, "temperature"},
		{"huge temperature", func(o *SampleOptions) { o.Temperature = 1e9 }, "temperature"},
		{"top-p above 1", func(o *SampleOptions) { o.TopP = 1.01 }, "top_p"},
		{"top-p below 0", func(o *SampleOptions) { o.TopP = -0.01 }, "top_p"},
		{"NaN top-p", func(o *SampleOptions) { o.TopP = nan }, "top_p"},
		{"min-p above 1", func(o *SampleOptions) { o.MinP = 2 }, "min_p"},
		{"zero penalty", func(o *SampleOptions) { o.RepetitionPenalty = 0 }, "repetition_penalty"},
		{"infinite penalty", func(o *SampleOptions) {
			o.RepetitionPenalty = float32(math.Inf(1))
		}, "repetition_penalty"},
		{"negative window", func(o *SampleOptions) { o.RepetitionWindow = -1 }, "repetition_window"},
		{"no new tokens", func(o *SampleOptions) { o.MaxNewTokens = 0 }, "max_new_tokens"},
		{"too many samples", func(o *SampleOptions) { o.NumSamples = 65 }, "num_samples"},
		{"negative samples", func(o *SampleOptions) { o.NumSamples = -1 }, "num_samples"},
		{"too many alternatives", func(o *SampleOptions) { o.TopAlternatives = 21 },
			"top_alternatives"},
		{"empty stop string", func(o *SampleOptions) { o.Stop = []string{"。", ""} }, "stop"},
		{"unknown style", func(o *SampleOptions) { o.Style = "poetry" }, "style"},
		{"unknown weights", func(o *SampleOptions) { o.Weights = "int4" }, "weights"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultSampleOptions()
			c.edit(&o)
			err := o.Validate(cfg)
			if err == nil {
				t.Fatal("Validate accepted the options")
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("error %q does not name %s", err, c.field)
			}
		})
	}

	good := DefaultSampleOptions()
	good.Style, good.Stop, good.TopK, good.Temperature = "抽象", []string{"\n"}, -5, 0
	if err := good.Validate(cfg); err != nil {
		t.Errorf("Validate rejected valid options: %v", err)
	}
}

func TestGreedyPicksArgmax(t *testing.T) {
	o := DefaultSampleOptions()
	o.Temperature = 0
	s := newSampler(o, 5)
	rng := rand.New(rand.NewPCG(1, 2))
	id, p := s.sample([]float32{0.1, 3, -2, 3, 1}, nil, rng)
	if id != 1 {
		t.Errorf("greedy picked %d; want 1, the lower id of the two maxima", id)
	}
	// softmax at temperature 1 of the logits above, entry 1.
	den := math.Exp(0.1) + 2*math.Exp(3) + math.Exp(-2) + math.Exp(1)
	if want := math.Exp(3) / den; math.Abs(float64(p)-want) > 1e-6 {
		t.Errorf("greedy probability %g; want %g", p, want)
	}
}

func TestRepetitionPenaltyAndWindow(t *testing.T) {
	o := DefaultSampleOptions()
	o.Temperature, o.RepetitionPenalty, o.RepetitionWindow = 0, 2, 0
	logits := []float32{2, 1.5, -1}
	rng := rand.New(rand.NewPCG(1, 2))

	s := newSampler(o, 3)
	// Token 0 seen twice is penalised once: 2/2 = 1 < 1.5.
	if id, _ := s.sample(logits, []int{0, 2, 0}, rng); id != 1 {
		t.Errorf("penalised greedy picked %d; want 1", id)
	}
	if got := s.z[2]; got != -2 {
		t.Errorf("penalised negative logit is %g; want -1*2 = -2", got)
	}

	o.RepetitionWindow = 2
	s = newSampler(o, 3)
	// Only the last two tokens (2, 2) are in the window.
	if id, _ := s.sample(logits, []int{0, 2, 2}, rng); id != 0 {
		t.Errorf("greedy with token 0 outside the window picked %d; want 0", id)
	}
}

func TestTopKKeepsExactSet(t *testing.T) {
	logits := logitsOf(0.1, 0.35, 0.35, 0.1, 0.1)
	cases := []struct {
		k    int
		want []int
	}{
		{1, []int{1}},
		{2, []int{1, 2}},
		{3, []int{0, 1, 2}}, // three ids tie at 0.1: the lowest id is kept
		{4, []int{0, 1, 2, 3}},
		{5, []int{0, 1, 2, 3, 4}},
		{0, []int{0, 1, 2, 3, 4}},
		{-3, []int{0, 1, 2, 3, 4}},
		{99, []int{0, 1, 2, 3, 4}},
	}
	for _, c := range cases {
		o := noFilters()
		o.TopK = c.k
		if got := kept(t, o, logits); !slices.Equal(got, c.want) {
			t.Errorf("top-k %d kept %v; want %v", c.k, got, c.want)
		}
	}
}

func TestTopPKeepsSmallestSet(t *testing.T) {
	logits := logitsOf(0.2, 0.5, 0.3)
	cases := []struct {
		p    float32
		want []int
	}{
		{0, []int{1}},
		{0.3, []int{1}},
		{0.5, []int{1}},        // the first id alone lands exactly on p
		{0.50001, []int{1, 2}}, // just above: the next id is needed
		{0.8, []int{1, 2}},     // 0.5 + 0.3 lands exactly on p
		{0.80001, []int{0, 1, 2}},
		{1, []int{0, 1, 2}},
	}
	for _, c := range cases {
		o := noFilters()
		o.TopP = c.p
		if got := kept(t, o, logits); !slices.Equal(got, c.want) {
			t.Errorf("top-p %g kept %v; want %v", c.p, got, c.want)
		}
	}
}

func TestTopPAfterTopKRenormalises(t *testing.T) {
	// Top-k 2 leaves 0.4 and 0.3, renormalised to 4/7 and 3/7.
	logits := logitsOf(0.1, 0.4, 0.2, 0.3)
	cases := []struct {
		p    float32
		want []int
	}{
		{0.5, []int{1}},
		{0.58, []int{1, 3}}, // 4/7 = 0.571 is below 0.58
	}
	for _, c := range cases {
		o := noFilters()
		o.TopK, o.TopP = 2, c.p
		if got := kept(t, o, logits); !slices.Equal(got, c.want) {
			t.Errorf("top-k 2, top-p %g kept %v; want %v", c.p, got, c.want)
		}
	}
}

func TestMinPKeepsRelativeFloor(t *testing.T) {
	logits := logitsOf(0.05, 0.5, 0.2, 0.25)
	cases := []struct {
		minP float32
		want []int
	}{
		{0.5, []int{1, 3}}, // 0.25 is exactly half of 0.5 and stays
		{0.41, []int{1, 3}},
		{0.39, []int{1, 2, 3}},
		{1, []int{1}},
		{0.09, []int{0, 1, 2, 3}},
	}
	for _, c := range cases {
		o := noFilters()
		o.MinP = c.minP
		if got := kept(t, o, logits); !slices.Equal(got, c.want) {
			t.Errorf("min-p %g kept %v; want %v", c.minP, got, c.want)
		}
	}
}

// TestSampleMatchesDistribution draws many tokens and compares the counts
// with the expected probabilities by Pearson's chi-squared statistic. With
// 3 degrees of freedom the statistic exceeds 16.27 with probability 0.001
// when the sampler is right, so the fixed seeds below fail only when it is
// wrong.
func TestSampleMatchesDistribution(t *testing.T) {
	probs := []float64{0.5, 0.3, 0.15, 0.05}
	cases := []struct {
		name string
		edit func(o *SampleOptions)
		want []float64
	}{
		{"temperature 1", func(o *SampleOptions) {}, probs},
		{"temperature 2", func(o *SampleOptions) { o.Temperature = 2 }, powNorm(probs, 0.5)},
		{"temperature 0.5", func(o *SampleOptions) { o.Temperature = 0.5 }, powNorm(probs, 2)},
		{"top-k 2", func(o *SampleOptions) { o.TopK = 2 }, []float64{0.625, 0.375, 0, 0}},
		{"top-p 0.9", func(o *SampleOptions) { o.TopP = 0.9 },
			[]float64{0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0}},
		{"min-p 0.4", func(o *SampleOptions) { o.MinP = 0.4 },
			[]float64{0.5 / 0.8, 0.3 / 0.8, 0, 0}},
	}
	const draws = 20000
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := noFilters()
			o.Temperature = 1
			c.edit(&o)
			s := newSampler(o, len(probs))
			rng := rand.New(rand.NewPCG(uint64(i), 99))
			counts := make([]float64, len(probs))
			logits := logitsOf(probs...)
			for range draws {
				id, _ := s.sample(logits, nil, rng)
				counts[id]++
			}
			var chi2 float64
			dof := -1
			for id, p := range c.want {
				if p == 0 {
					if counts[id] != 0 {
						t.Fatalf("id %d was drawn %g times; it should be filtered out",
							id, counts[id])
					}
					continue
				}
				e := p * draws
				chi2 += (counts[id] - e) * (counts[id] - e) / e
				dof++
			}
			// Critical values at 0.001 for 1, 2 and 3 degrees of freedom.
			crit := []float64{0, 10.83, 13.82, 16.27}[dof]
			if chi2 > crit {
				t.Errorf("counts %v against probabilities %v: chi-squared %.2f > %.2f",
					counts, c.want, chi2, crit)
			}
		})
	}
}

// powNorm returns p^e renormalised: the distribution at temperature 1/e.
func powNorm(p []float64, e float64) []float64 {
	out := make([]float64, len(p))
	var s float64
	for i, v := range p {
		out[i] = math.Pow(v, e)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// TestSampleNeverNaN tries extreme allowed settings on extreme logits.
func TestSampleNeverNaN(t *testing.T) {
	inf := float32(math.Inf(1))
	logitSets := [][]float32{
		{0, 0, 0, 0, 0, 0},
		{1e30, -1e30, 3e38, -3e38, 0, 1},
		{-inf, -inf, 5, -inf, -inf, -inf},
		{-inf, 2, 2, -3e38, 3e38, 7},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, temp := range []float32{0, 1e-30, 1e-3, 1, MaxTemperature} {
		for _, pen := range []float32{1e-30, 0.5, 1, 1e30} {
			for _, topP := range []float32{0, 0.5, 1} {
				for _, minP := range []float32{0, 0.5, 1} {
					for _, topK := range []int{-1, 0, 1, 3, 6} {
						o := SampleOptions{Temperature: temp, RepetitionPenalty: pen,
							TopP: topP, MinP: minP, TopK: topK, MaxNewTokens: 1}
						if err := o.Validate(Config{}); err != nil {
							t.Fatalf("options %+v are invalid: %v", o, err)
						}
						s := newSampler(o, 6)
						for _, z := range logitSets {
							id, p := s.sample(z, []int{1, 2, 4, 5}, rng)
							if id < 0 || id >= 6 || !(p >= 0 && p <= 1) || s.p[id] == 0 {
								t.Fatalf("options %+v on %v: id %d with probability %g",
									o, z, id, p)
							}
						}
					}
				}
			}
		}
	}
}

func TestTopIndicesOrder(t *testing.T) {
	p := []float32{0.1, 0.3, 0.1, 0.3, 0.2}
	if got, want := topIndices(nil, p, 3), []int{1, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("topIndices 3 = %v; want %v", got, want)
	}
	// Past 64 the function sorts; check the same order on a longer vector.
	long := make([]float32, 200)
	for i := range long {
		long[i] = float32(i % 7)
	}
	got := topIndices(nil, long, 70)
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if long[a] < long[b] || (long[a] == long[b] && a > b) {
			t.Fatalf("topIndices 70 out of order at %d: %v", i, got)
		}
	}
	// 28 ids each hold the values 6, 5 and 4.
	if len(got) != 70 || long[got[69]] != 4 {
		t.Errorf("topIndices 70 returned %d ids ending at value %g; want 70 ending at 4",
			len(got), long[got[len(got)-1]])
	}
}
