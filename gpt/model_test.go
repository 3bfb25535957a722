package gpt

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"

	"github.com/goushi/goushi/autograd"
	"github.com/goushi/goushi/layers"
	"github.com/goushi/goushi/tensor"
)

func TestPresetSizes(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		vocab, ctx, l, h, embd int
	}{
		{"small", 4096, 128, 4, 4, 256},
		{"medium", 8192, 256, 6, 6, 384},
	} {
		c, err := Preset(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		got := []int{c.VocabSize, c.ContextLen, c.Layers, c.Heads, c.Embd}
		want := []int{tc.vocab, tc.ctx, tc.l, tc.h, tc.embd}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("preset %s: V, T, L, H, C = %v, want %v", tc.name, got, want)
		}
	}
	for _, name := range PresetNames {
		c, err := Preset(name)
		if err != nil {
			t.Errorf("preset %s: %v", name, err)
		} else if err := c.Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
	if _, err := Preset("huge"); err == nil || !strings.Contains(err.Error(), `"huge"`) {
		t.Errorf("unknown preset: error %v, want one naming \"huge\"", err)
	}
}

func TestConfigValidateNamesField(t *testing.T) {
	good := Config{VocabSize: 10, ContextLen: 4, Layers: 1, Heads: 2, Embd: 8}
	for _, tc := range []struct {
		field string
		edit  func(*Config)
	}{
		{"vocab_size", func(c *Config) { c.VocabSize = 0 }},
		{"context_len", func(c *Config) { c.ContextLen = -1 }},
		{"layers", func(c *Config) { c.Layers = 0 }},
		{"heads", func(c *Config) { c.Heads = 0 }},
		{"embd", func(c *Config) { c.Embd = 0 }},
		{"embd 8 is not divisible by heads 3", func(c *Config) { c.Heads = 3 }},
		{"dropout", func(c *Config) { c.Dropout = 1 }},
		{"dropout", func(c *Config) { c.Dropout = float32(math.NaN()) }},
		{"styles", func(c *Config) { c.Styles = []string{"a", ""} }},
		{`"a" twice`, func(c *Config) { c.Styles = []string{"a", "a"} }},
	} {
		c := good
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%+v: error %v, want one naming %s", c, err, tc.field)
		}
	}
	if err := good.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

// testConfig is small enough for finite differences over every parameter.
var testConfig = Config{VocabSize: 11, ContextLen: 5, Layers: 2, Heads: 2, Embd: 8}

func TestParamsNamesAndShapes(t *testing.T) {
	cfg := testConfig
	m := New(cfg, 1)
	V, T, C := cfg.VocabSize, cfg.ContextLen, cfg.Embd
	want := []string{"wte.weight [11 8]", "wpe.weight [5 8]"}
	for i := 0; i < cfg.Layers; i++ {
		for _, s := range []string{
			"ln_1.weight [8]", "ln_1.bias [8]",
			"attn.c_attn.weight [24 8]", "attn.c_attn.bias [24]",
			"attn.c_proj.weight [8 8]", "attn.c_proj.bias [8]",
			"ln_2.weight [8]", "ln_2.bias [8]",
			"mlp.c_fc.weight [32 8]", "mlp.c_fc.bias [32]",
			"mlp.c_proj.weight [8 32]", "mlp.c_proj.bias [8]",
		} {
			want = append(want, fmt.Sprintf("h.%d.%s", i, s))
		}
	}
	want = append(want, "ln_f.weight [8]", "ln_f.bias [8]")

	var got []string
	for _, p := range m.Params() {
		got = append(got, fmt.Sprintf("%s %v", p.Name, p.Value.Shape))
		if m.Param(p.Name) != p {
			t.Errorf("Param(%q) does not return the listed parameter", p.Name)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("params:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	if m.Param("lm_head.weight") != nil {
		t.Error("Param of an unknown name is not nil")
	}
	// V·C + T·C for the embeddings, 12C² + 13C per block, 2C for ln_f.
	wantN := V*C + T*C + cfg.Layers*(12*C*C+13*C) + 2*C
	if got := m.NumParams(); got != wantN {
		t.Errorf("NumParams %d, want %d", got, wantN)
	}
}

func TestInitStatistics(t *testing.T) {
	cfg := Config{VocabSize: 256, ContextLen: 64, Layers: 8, Heads: 4, Embd: 128}
	m := New(cfg, 7)
	std := func(data []float32) (mean, sd float64) {
		for _, v := range data {
			mean += float64(v)
		}
		mean /= float64(len(data))
		for _, v := range data {
			sd += (float64(v) - mean) * (float64(v) - mean)
		}
		return mean, math.Sqrt(sd / float64(len(data)))
	}
	residual := 0.02 / math.Sqrt(2*float64(cfg.Layers))
	for _, p := range m.Params() {
		switch {
		case strings.HasSuffix(p.Name, "c_proj.weight"):
			if _, sd := std(p.Value.Data); math.Abs(sd-residual) > 0.05*residual {
				t.Errorf("%s: std %.5f, want %.5f", p.Name, sd, residual)
			}
		case len(p.Value.Shape) == 2:
			if _, sd := std(p.Value.Data); math.Abs(sd-0.02) > 0.05*0.02 {
				t.Errorf("%s: std %.5f, want 0.02", p.Name, sd)
			}
		case strings.Contains(p.Name, "ln_") && strings.HasSuffix(p.Name, ".weight"):
			if mean, sd := std(p.Value.Data); mean != 1 || sd != 0 {
				t.Errorf("%s: mean %g std %g, want all 1", p.Name, mean, sd)
			}
		default:
			if mean, sd := std(p.Value.Data); mean != 0 || sd != 0 {
				t.Errorf("%s: mean %g std %g, want all 0", p.Name, mean, sd)
			}
		}
	}
	a, b := New(cfg, 7), New(cfg, 8)
	if a.Params()[0].Value.Data[0] != m.Params()[0].Value.Data[0] {
		t.Error("the same seed gave different weights")
	}
	if a.Params()[0].Value.Data[0] == b.Params()[0].Value.Data[0] {
		t.Error("different seeds gave the same first weight")
	}
}

// batch returns deterministic ids and targets (B·T) below vocab, with one
// ignored target when ignore is set.
func batch(seed uint64, B, T, vocab int, ignore bool) (ids, targets []int) {
	rng := rand.New(rand.NewPCG(seed, 9))
	ids = make([]int, B*T)
	targets = make([]int, B*T)
	for i := range ids {
		ids[i] = rng.IntN(vocab)
		targets[i] = rng.IntN(vocab)
	}
	if ignore {
		targets[1] = autograd.IgnoreIndex
	}
	return ids, targets
}

// randomize gives every parameter values of order 0.3, so gains, biases and
// the attention softmax are far from their trivial initial state.
func randomize(m *Model, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 3))
	for _, p := range m.Params() {
		for i := range p.Value.Data {
			p.Value.Data[i] += float32(rng.NormFloat64() * 0.3)
		}
	}
}

// TestModelFiniteDifferences checks the gradient of every parameter entry
// of a two-layer model against central differences of the loss, with and
// without dropout. The float32 settings follow autograd's op checks: step
// 1e-2 on O(1) weights, a loss of about 2.5 summed in float64 over rows,
// so rounding in the difference stays near 1e-5 while a wrong gradient is
// off by O(1) relative.
func TestModelFiniteDifferences(t *testing.T) {
	const B, T, h = 2, 5, 1e-2
	for _, dropout := range []float32{0, 0.2} {
		t.Run(fmt.Sprintf("dropout %g", dropout), func(t *testing.T) {
			cfg := testConfig
			cfg.Dropout = dropout
			m := New(cfg, 3)
			randomize(m, 4)
			ids, targets := batch(5, B, T, cfg.VocabSize, true)
			lossAt := func(withGrad bool) float64 {
				tp := autograd.NewTape()
				tp.Seed = 11
				loss := m.Loss(tp, ids, targets, B, T)
				if withGrad {
					tp.Backward(loss)
				}
				return float64(loss.Value.Data[0])
			}
			lossAt(true)
			bad := 0
			for _, p := range m.Params() {
				for i, ana := range p.Grad.Data {
					x := p.Value.Data[i]
					p.Value.Data[i] = x + h
					xp := p.Value.Data[i]
					fp := lossAt(false)
					p.Value.Data[i] = x - h
					xm := p.Value.Data[i]
					fm := lossAt(false)
					p.Value.Data[i] = x
					num := (fp - fm) / float64(xp-xm)
					if math.Abs(num-float64(ana)) > 2e-3+1e-2*math.Abs(float64(ana)) {
						if bad < 10 {
							t.Errorf("%s[%d]: analytic %.6g, finite difference %.6g",
								p.Name, i, ana, num)
						}
						bad++
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d gradient entries disagree", bad, m.NumParams())
			}
		})
	}
}

// TestTiedEmbeddingGradient rebuilds the forward pass with the token lookup
// and the output head as two separate variables holding the same values.
// The model's one tied gradient must equal the sum of theirs.
func TestTiedEmbeddingGradient(t *testing.T) {
	const B, T = 2, 4
	cfg := testConfig
	m := New(cfg, 5)
	randomize(m, 6)
	ids, targets := batch(7, B, T, cfg.VocabSize, false)

	tp := autograd.NewTape()
	tp.Backward(m.Loss(tp, ids, targets, B, T))
	tied := m.Param("wte.weight").Grad.Clone()

	lookup := autograd.NewParam("lookup", m.wte.Weight.Value.Clone())
	head := autograd.NewParam("head", m.wte.Weight.Value.Clone())
	pos := make([]int, B*T)
	for i := range pos {
		pos[i] = i % T
	}
	tp = autograd.NewTape()
	x := autograd.Add(tp, autograd.Embedding(tp, lookup, ids), m.wpe.Forward(tp, pos))
	for _, b := range m.blocks {
		x = b.Forward(tp, x, B, T)
	}
	logits := autograd.Linear(tp, m.lnF.Forward(tp, x), head, nil)
	tp.Backward(autograd.CrossEntropy(tp, logits, targets))

	for i := range tied.Data {
		want := float64(lookup.Grad.Data[i]) + float64(head.Grad.Data[i])
		if math.Abs(float64(tied.Data[i])-want) > 1e-6 {
			t.Fatalf("wte grad[%d] = %g, want lookup %g + head %g", i, tied.Data[i],
				lookup.Grad.Data[i], head.Grad.Data[i])
		}
	}
	var lookupNorm, headNorm float64
	for i := range lookup.Grad.Data {
		lookupNorm += math.Abs(float64(lookup.Grad.Data[i]))
		headNorm += math.Abs(float64(head.Grad.Data[i]))
	}
	if lookupNorm == 0 || headNorm == 0 {
		t.Errorf("a path carries no gradient: lookup %g, head %g", lookupNorm, headNorm)
	}
}

func TestTiedEmbeddingOneState(t *testing.T) {
	m := New(testConfig, 1)
	names := map[string]bool{}
	for _, p := range m.Params() {
		if names[p.Name] {
			t.Errorf("parameter %s listed twice", p.Name)
		}
		names[p.Name] = true
	}
	opt := layers.NewAdamW(m.Params(), layers.AdamWConfig{LR: 1e-2, Beta1: 0.9, Beta2: 0.95,
		Eps: 1e-8})
	mom, _ := opt.Moments("wte.weight")
	if len(mom) != m.Param("wte.weight").Value.Size() {
		t.Fatalf("wte moments have %d entries, want %d", len(mom),
			m.Param("wte.weight").Value.Size())
	}

	// An optimizer step on wte must change the output head too: the head
	// reads the same storage. With the only non-zero gradient on one row of
	// wte, the logits of that token move for every position.
	ids := []int{1, 2, 3}
	before := m.Forward(nil, ids, 1, 3).Value.Clone()
	m.Param("wte.weight").Grad.Data[9*testConfig.Embd] = 1 // token 9, not in ids
	opt.Step(1e-2)
	after := m.Forward(nil, ids, 1, 3).Value
	V := testConfig.VocabSize
	for r := 0; r < 3; r++ {
		for j := 0; j < V; j++ {
			changed := after.Data[r*V+j] != before.Data[r*V+j]
			if changed != (j == 9) {
				t.Errorf("row %d logit %d changed=%v, want changed only for token 9", r, j, changed)
			}
		}
	}
}

// TestGradientAccumulation compares 4 micro-batches of 2 sequences, each
// backward scaled by 1/4, with one batch of 8: the summed gradients, the
// global norm that clipping computes and the clipped gradients must agree
// to float32 rounding.
func TestGradientAccumulation(t *testing.T) {
	const T = 5
	cfg := testConfig
	m := New(cfg, 8)
	randomize(m, 9)
	ids, targets := batch(10, 8, T, cfg.VocabSize, false)
	params := m.Params()

	tp := autograd.NewTape()
	tp.Backward(m.Loss(tp, ids, targets, 8, T))
	full := make([][]float32, len(params))
	for i, p := range params {
		full[i] = append([]float32(nil), p.Grad.Data...)
	}
	fullNorm := layers.ClipGradNorm(params, 0)

	for _, p := range params {
		p.Grad.Zero()
	}
	for k := 0; k < 4; k++ {
		tp.Reset()
		lo, hi := k*2*T, (k+1)*2*T
		tp.BackwardScaled(m.Loss(tp, ids[lo:hi], targets[lo:hi], 2, T), 0.25)
	}
	accNorm := layers.ClipGradNorm(params, 0)

	for i, p := range params {
		for j := range full[i] {
			if d := math.Abs(float64(full[i][j] - p.Grad.Data[j])); d > 1e-6 {
				t.Fatalf("%s[%d]: batch of 8 %g, 4 micro-batches %g", p.Name, j,
					full[i][j], p.Grad.Data[j])
			}
		}
	}
	if math.Abs(float64(fullNorm-accNorm)) > 1e-5*float64(fullNorm) {
		t.Errorf("gradient norm: batch of 8 %g, 4 micro-batches %g", fullNorm, accNorm)
	}

	// Clipping the accumulated gradients to half the norm must give the
	// batch-of-8 gradients scaled by 1/2, with a norm of maxNorm after.
	maxNorm := fullNorm / 2
	layers.ClipGradNorm(params, maxNorm)
	for i, p := range params {
		for j := range full[i] {
			want := float64(full[i][j]) / 2
			if d := math.Abs(want - float64(p.Grad.Data[j])); d > 1e-6 {
				t.Fatalf("%s[%d] clipped: batch of 8 halved %g, 4 micro-batches %g", p.Name,
					j, want, p.Grad.Data[j])
			}
		}
	}
	got := layers.ClipGradNorm(params, 0)
	if math.Abs(float64(got-maxNorm)) > 1e-5*float64(maxNorm) {
		t.Errorf("norm after clipping to %g is %g", maxNorm, got)
	}
}

// TestLossBackwardMatchesBatch runs LossBackward in micro-batches of 3
// sequences over a batch of 8 (so 3, 3 and 2), with targets ignored
// unevenly and one micro-batch ignored entirely. It compares the loss and
// every parameter gradient with one Loss and Backward over the batch. The
// two sum the same products in a different order and LossBackward rounds
// once more when it weights a micro-batch by its share of the targets, so
// they agree to a few float32 ulps of the gradient's size: each entry is a
// sum of at most B·T = 40 terms of order 1, and 1e-6 absolute plus 1e-5
// relative is about 20 ulps. Weighting micro-batches equally instead of by
// their targets is off by tens of percent.
func TestLossBackwardMatchesBatch(t *testing.T) {
	const B, T = 8, 5
	m := New(testConfig, 8)
	randomize(m, 9)
	ids, targets := batch(11, B, T, testConfig.VocabSize, false)
	for i := 0; i < T; i++ {
		targets[3*T+i] = autograd.IgnoreIndex // the second micro-batch keeps 2 of 3 rows
	}
	for i := range 2 * T {
		targets[6*T+i] = autograd.IgnoreIndex // the third keeps none
	}
	targets[2] = autograd.IgnoreIndex
	params := m.Params()

	tp := autograd.NewTape()
	l := m.Loss(tp, ids, targets, B, T)
	wantLoss := l.Value.Data[0]
	tp.Backward(l)
	want := make([][]float32, len(params))
	for i, p := range params {
		want[i] = append([]float32(nil), p.Grad.Data...)
		p.Grad.Zero()
	}

	for _, tc := range []struct {
		name  string
		micro int
		scale float32
	}{
		{"micro-batches of 3", 3, 1},
		{"one per sequence, scaled by 1/2", 1, 0.5},
		{"whole batch", B, 1},
		{"default size", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range params {
				p.Grad.Zero()
			}
			got := m.LossBackward(tp, ids, targets, B, T, tc.micro, tc.scale)
			if d := math.Abs(float64(got - wantLoss)); d > 1e-6*math.Abs(float64(wantLoss)) {
				t.Errorf("loss %g, one batch %g", got, wantLoss)
			}
			for i, p := range params {
				for j, g := range p.Grad.Data {
					w := tc.scale * want[i][j]
					if d := math.Abs(float64(g - w)); d > 1e-6+1e-5*math.Abs(float64(w)) {
						t.Fatalf("%s[%d]: %g, one batch %g", p.Name, j, g, w)
					}
				}
			}
		})
	}
}

// TestLossBackwardAllIgnored checks that a batch with no targets gives loss
// 0 and leaves the gradients at exactly zero.
func TestLossBackwardAllIgnored(t *testing.T) {
	m := New(testConfig, 2)
	ids, _ := batch(3, 2, 4, testConfig.VocabSize, false)
	targets := make([]int, len(ids))
	for i := range targets {
		targets[i] = autograd.IgnoreIndex
	}
	if got := m.LossBackward(autograd.NewTape(), ids, targets, 2, 4, 1, 1); got != 0 {
		t.Fatalf("loss %g, want 0", got)
	}
	for _, p := range m.Params() {
		for i, g := range p.Grad.Data {
			if g != 0 {
				t.Fatalf("%s grad[%d] = %g, want 0", p.Name, i, g)
			}
		}
	}
}

// TestLossBackwardDropoutSeed checks that LossBackward in one micro-batch
// drops the same units as Loss on the same tape seed, so the gradients
// agree bit for bit, and that it gives tp.Seed back unchanged.
func TestLossBackwardDropoutSeed(t *testing.T) {
	const B, T = 4, 5
	cfg := testConfig
	cfg.Dropout = 0.3
	m := New(cfg, 4)
	randomize(m, 5)
	ids, targets := batch(6, B, T, cfg.VocabSize, false)
	params := m.Params()

	tp := autograd.NewTape()
	tp.Seed = 77
	l := m.Loss(tp, ids, targets, B, T)
	wantLoss := l.Value.Data[0]
	tp.Backward(l)
	want := make([][]float32, len(params))
	for i, p := range params {
		want[i] = append([]float32(nil), p.Grad.Data...)
		p.Grad.Zero()
	}

	tp.Reset()
	if got := m.LossBackward(tp, ids, targets, B, T, B, 1); got != wantLoss {
		t.Errorf("loss %g, Loss gave %g", got, wantLoss)
	}
	if tp.Seed != 77 {
		t.Errorf("tape seed %d after LossBackward, want 77", tp.Seed)
	}
	for i, p := range params {
		for j, g := range p.Grad.Data {
			if g != want[i][j] {
				t.Fatalf("%s[%d]: %g, Loss and Backward gave %g", p.Name, j, g, want[i][j])
			}
		}
	}
}

// TestEvalLossMatchesLoss compares EvalLoss, which runs micro-batches on
// a NoGrad tape, with Loss on a nil tape for a model with dropout: dropout
// must be off in both, and the mean over the non-ignored targets must agree
// to float32 rounding of a loss of about 2.5. It also checks that the tape
// keeps NoGrad off afterwards, that no gradient moves, and that evaluation
// does not grow an arena that LossBackward has sized.
func TestEvalLossMatchesLoss(t *testing.T) {
	// T = 128 makes micro-batches of 4 sequences, so the batch runs as 4 and 2.
	const B, T = 6, 128
	cfg := Config{VocabSize: 11, ContextLen: T, Layers: 1, Heads: 2, Embd: 8, Dropout: 0.3}
	m := New(cfg, 12)
	randomize(m, 13)
	ids, targets := batch(14, B, T, cfg.VocabSize, true)
	for i := range T {
		targets[4*T+i] = autograd.IgnoreIndex
	}
	want := float64(m.Loss(nil, ids, targets, B, T).Value.Data[0])

	tp := autograd.NewTape()
	m.LossBackward(tp, ids, targets, B, T, 0, 1)
	arena := tp.ArenaBytes()
	for _, p := range m.Params() {
		p.Grad.Zero()
	}

	got := m.EvalLoss(tp, ids, targets, B, T)
	if math.Abs(got-want) > 1e-6*math.Abs(want) {
		t.Errorf("EvalLoss %g, Loss on a nil tape %g", got, want)
	}
	if tp.NoGrad {
		t.Error("EvalLoss left the tape in NoGrad mode")
	}
	if tp.ArenaBytes() > arena {
		t.Errorf("EvalLoss grew the arena from %d to %d bytes", arena, tp.ArenaBytes())
	}
	for _, p := range m.Params() {
		for i, g := range p.Grad.Data {
			if g != 0 {
				t.Fatalf("%s grad[%d] = %g after EvalLoss, want 0", p.Name, i, g)
			}
		}
	}
}

func TestLossAllIgnoredIsZero(t *testing.T) {
	m := New(testConfig, 2)
	ids, _ := batch(3, 1, 4, testConfig.VocabSize, false)
	targets := []int{-1, -1, -1, -1}
	tp := autograd.NewTape()
	loss := m.Loss(tp, ids, targets, 1, 4)
	if loss.Value.Data[0] != 0 {
		t.Fatalf("loss %g, want 0", loss.Value.Data[0])
	}
	tp.Backward(loss)
	for _, p := range m.Params() {
		for i, g := range p.Grad.Data {
			if g != 0 {
				t.Fatalf("%s grad[%d] = %g, want 0", p.Name, i, g)
			}
		}
	}
}

func TestForwardRejectsBadInput(t *testing.T) {
	m := New(testConfig, 2)
	for _, tc := range []struct {
		name string
		ids  []int
		B, T int
		want string
	}{
		{"too long", make([]int, 6), 1, 6, "exceeds context length 5"},
		{"id out of range", []int{0, 11}, 1, 2, "id 11"},
		{"wrong count", []int{0, 1, 2}, 2, 2, "3 ids"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Errorf("panic %v, want one containing %q", r, tc.want)
				}
			}()
			m.Forward(nil, tc.ids, tc.B, tc.T)
		})
	}
}

// stepProfile names a file for a CPU profile of the timed training steps
// alone, without model setup and the warm-up step.
var stepProfile = flag.String("stepprofile", "", "write a CPU profile of the timed training steps to `file`")

// stepMicroBatch makes BenchmarkTrainStepSmall run LossBackward in
// micro-batches of that many sequences (0: its default) instead of one Loss
// and Backward over the whole batch.
var stepMicroBatch = flag.Int("stepmicro", -1,
	"run the benchmark step through LossBackward with micro-batches of `n` sequences")

// BenchmarkTrainStepSmall times one training step of the small preset at
// batch 16: forward, loss, backward, clipping and AdamW. It reports
// tokens/s and the bytes of the tape arena, which contains every intermediate
// value and gradient of the step.
func BenchmarkTrainStepSmall(b *testing.B) {
	cfg, err := Preset("small")
	if err != nil {
		b.Fatal(err)
	}
	const B = 16
	T := cfg.ContextLen
	m := New(cfg, 1)
	ids, targets := batch(2, B, T, cfg.VocabSize, false)
	opt := layers.NewAdamW(m.Params(), layers.AdamWConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.95,
		Eps: 1e-8, WeightDecay: 0.1})
	tp := autograd.NewTape()

	step := func() {
		tp.Reset()
		opt.ZeroGrad()
		if *stepMicroBatch >= 0 {
			m.LossBackward(tp, ids, targets, B, T, *stepMicroBatch, 1)
		} else {
			tp.Backward(m.Loss(tp, ids, targets, B, T))
		}
		layers.ClipGradNorm(m.Params(), 1)
		opt.Step(1e-3)
	}
	step()
	if *stepProfile != "" {
		f, err := os.Create(*stepProfile)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.ReportMetric(float64(B*T*b.N)/b.Elapsed().Seconds(), "tokens/s")
	b.ReportMetric(float64(tp.ArenaBytes())/(1<<20), "arena-MiB")
	if rss, ok := peakRSS(); ok {
		b.ReportMetric(float64(rss)/1e6, "peak-RSS-MB")
	}
}

// peakRSS returns the process's peak resident set in bytes, VmHWM of
// /proc/self/status, and false where that is missing. It covers everything
// the test binary ran before, so run one benchmark per process.
func peakRSS() (int64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(
				strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err == nil
		}
	}
	return 0, false
}

// TestStepMemoryBound checks what a training step keeps in the tape's
// arena. Per row of B·T it needs the logits (V floats, the gradient reuses
// them), the embedding output (C) and per layer q, k, v, the attention
// output, two residual sums and the MLP hidden layer (10C), plus transient
// buffers: a few (N, 4C) and (N, C) gradients and recomputed activations,
// under 20C per row, and three (T, T) scratch matrices per worker. One
// (B, H, T, T) tensor per layer (H·T = 256 per row here) or a second
// (B·T, V) buffer (512 per row) would break the bound.
func TestStepMemoryBound(t *testing.T) {
	cfg := Config{VocabSize: 512, ContextLen: 64, Layers: 2, Heads: 4, Embd: 32}
	const B = 8
	T, C := cfg.ContextLen, cfg.Embd
	m := New(cfg, 1)
	ids, targets := batch(2, B, T, cfg.VocabSize, false)
	tp := autograd.NewTape()
	for range 2 {
		tp.Reset()
		tp.Backward(m.Loss(tp, ids, targets, B, T))
	}

	n := B * T
	perRow := cfg.VocabSize + C + cfg.Layers*10*C + 20*C
	scratch := 3 * T * T * min(tensor.Workers(), B*cfg.Heads)
	if got, limit := tp.ArenaBytes()/4, n*perRow+scratch; got > limit {
		t.Errorf("arena holds %d floats (%.0f per row), want at most %d", got,
			float64(got)/float64(n), limit)
	}

	// LossBackward in micro-batches of 2 sequences must keep only one
	// micro-batch's rows: the same bound for a quarter of the rows.
	const micro = 2
	mtp := autograd.NewTape()
	for range 2 {
		m.LossBackward(mtp, ids, targets, B, T, micro, 1)
	}
	scratch = 3 * T * T * min(tensor.Workers(), micro*cfg.Heads)
	if got, limit := mtp.ArenaBytes()/4, micro*T*perRow+scratch; got > limit {
		t.Errorf("micro-batches of %d: arena holds %d floats, want at most %d", micro,
			got, limit)
	}
}
