// Package gpt is the GPT-2 style model: its configuration and presets,
// forward pass and loss, and the training, checkpoint and inference code
// built around them.
package gpt

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/goushi/goushi/autograd"
	"github.com/goushi/goushi/layers"
	"github.com/goushi/goushi/tensor"
)

// Model is a decoder-only transformer in GPT-2's layout: token and learned
// position embeddings, Layers pre-LayerNorm blocks, a final LayerNorm and an
// output head that shares the token embedding's weight.
//
// Parameter names follow the Hugging Face GPT-2 state dict without its
// "transformer." prefix, such as "h.0.attn.c_attn.weight".
type Model struct {
	Config Config

	wte    *layers.Embedding // (V, C), also the output head
	wpe    *layers.Embedding // (T, C)
	blocks []*layers.Block
	lnF    *layers.LayerNorm

	params []*autograd.Var
	byName map[string]*autograd.Var
}

// New builds a model with GPT-2's initialisation drawn from seed. Weights
// are N(0, 0.02), biases 0 and LayerNorm gains 1. The two residual
// projections of each block (attn.c_proj and mlp.c_proj) are
// N(0, 0.02/√(2·Layers)), so the residual stream's variance does not grow
// with depth. New panics on a config that fails Validate.
func New(cfg Config, seed uint64) *Model {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	c := cfg.Embd
	m := &Model{
		Config: cfg,
		wte:    layers.NewEmbedding("wte", cfg.VocabSize, c),
		wpe:    layers.NewEmbedding("wpe", cfg.ContextLen, c),
		lnF:    layers.NewLayerNorm("ln_f", c),
		byName: make(map[string]*autograd.Var),
	}
	for i := 0; i < cfg.Layers; i++ {
		m.blocks = append(m.blocks, layers.NewBlock(fmt.Sprintf("h.%d", i), c, cfg.Heads,
			cfg.Dropout))
	}

	m.params = append(m.params, m.wte.Weight, m.wpe.Weight)
	for _, b := range m.blocks {
		m.params = append(m.params, b.Params()...)
	}
	m.params = append(m.params, m.lnF.Params()...)
	for _, p := range m.params {
		m.byName[p.Name] = p
	}

	rng := rand.New(rand.NewPCG(seed, 0x676f75736869)) // "goushi"
	residualStd := 0.02 / math.Sqrt(2*float64(cfg.Layers))
	normal := func(t *tensor.Tensor, std float64) {
		for i := range t.Data {
			t.Data[i] = float32(rng.NormFloat64() * std)
		}
	}
	normal(m.wte.Weight.Value, 0.02)
	normal(m.wpe.Weight.Value, 0.02)
	for _, b := range m.blocks {
		normal(b.Attn.CAttn.Weight.Value, 0.02)
		normal(b.Attn.CProj.Weight.Value, residualStd)
		normal(b.MLP.CFc.Weight.Value, 0.02)
		normal(b.MLP.CProj.Weight.Value, residualStd)
	}
	return m
}

// Params returns every parameter once, in a fixed order: wte, wpe, the
// blocks from h.0 up (ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc,
// mlp.c_proj, weight before bias), then ln_f. The output head is wte and is
// not listed again.
func (m *Model) Params() []*autograd.Var { return m.params }

// Param returns the parameter with the given name, or nil if there is none.
func (m *Model) Param(name string) *autograd.Var { return m.byName[name] }

// NumParams returns the number of scalar parameters, counting the tied
// embedding once.
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.params {
		n += p.Value.Size()
	}
	return n
}

// Forward returns the logits (B·T, V) for ids (B·T) laid out as B sequences
// of T tokens. A nil tape, or one with NoGrad set, runs without recording
// gradients or dropout. It
// panics when T exceeds the context length or an id is outside the vocab.
func (m *Model) Forward(tp *autograd.Tape, ids []int, B, T int) *autograd.Var {
	if B <= 0 || T <= 0 || len(ids) != B*T {
		panic(fmt.Sprintf("gpt: forward of %d ids as B=%d T=%d", len(ids), B, T))
	}
	if T > m.Config.ContextLen {
		panic(fmt.Sprintf("gpt: sequence length %d exceeds context length %d",
			T, m.Config.ContextLen))
	}
	x := autograd.TokenPositionEmbedding(tp, m.wte.Weight, m.wpe.Weight, ids, T)
	x = autograd.Dropout(tp, x, m.Config.Dropout)
	for _, b := range m.blocks {
		x = b.Forward(tp, x, B, T)
	}
	// The final LayerNorm is fused into the tied output head.
	return autograd.LayerNormLinear(tp, x, m.lnF.Weight, m.lnF.Bias, m.wte.Weight, nil,
		layers.LayerNormEps)
}

// Loss returns the mean cross-entropy of the next-token predictions for
// ids against targets (both B·T), skipping targets equal to
// autograd.IgnoreIndex (-1). It returns 0 when every target is ignored.
func (m *Model) Loss(tp *autograd.Tape, ids, targets []int, B, T int) *autograd.Var {
	if len(targets) != len(ids) {
		panic(fmt.Sprintf("gpt: %d targets for %d ids", len(targets), len(ids)))
	}
	return autograd.CrossEntropy(tp, m.Forward(tp, ids, B, T), targets)
}

// DefaultMicroRows is the maximum number of rows of B·T that LossBackward
// runs through the model at once when its microBatch argument is 0. At the
// small preset (V=4096, T=128, C=256, 4 layers) the tape's arena holds about
// 74 KB per row: 36 MiB for 512 rows against 143 MiB for a batch of 16
// sequences (2,048 rows). In alternating runs of that batch, a step in
// micro-batches of 512 rows took as much CPU time as one pass of 2,048 rows.
const DefaultMicroRows = 512

// LossBackward runs the forward and backward pass of Loss over ids and
// targets (both B·T) and returns the loss of the whole batch. It goes
// through the batch in micro-batches of microBatch sequences. When
// microBatch is 0, a micro-batch is as many sequences as fit in
// DefaultMicroRows rows, and at least one.
//
// The parameter gradients accumulate as if Backward had run on the whole
// batch's loss multiplied by scale. Each micro-batch's mean loss is weighted
// by its share of the batch's non-ignored targets, so the batch loss is the
// mean over all of them. Pass scale 1/k to accumulate k batches into one
// optimizer step.
//
// Only one micro-batch's activations are live at a time, so the tape's
// arena is sized by the micro-batch, not the batch. When microBatch does
// not divide B, the last micro-batch is smaller and the arena also keeps its
// differently sized buffers, so a divisor of B uses the least memory.
//
// tp must not be nil. LossBackward resets tp before each micro-batch, so
// values recorded on tp before the call become invalid. Dropout draws its
// masks from tp.Seed for the first micro-batch and from a hash of tp.Seed
// and the micro-batch index for the others, and tp.Seed keeps its value. A
// batch run as one micro-batch therefore drops the same units as Loss on
// the same tape seed.
func (m *Model) LossBackward(tp *autograd.Tape, ids, targets []int, B, T, microBatch int,
	scale float32) float32 {
	if tp == nil {
		panic("gpt: loss backward on a nil tape; pass autograd.NewTape()")
	}
	if B <= 0 || T <= 0 || len(ids) != B*T || len(targets) != len(ids) || microBatch < 0 {
		panic(fmt.Sprintf("gpt: loss backward of %d ids and %d targets as B=%d T=%d "+
			"in micro-batches of %d", len(ids), len(targets), B, T, microBatch))
	}
	if microBatch == 0 {
		microBatch = max(1, DefaultMicroRows/T)
	}
	microBatch = min(microBatch, B)
	count := 0
	for _, t := range targets {
		if t != autograd.IgnoreIndex {
			count++
		}
	}

	seed := tp.Seed
	defer func() { tp.Seed = seed }()
	var loss float64
	for k, lo := 0, 0; lo < B; k, lo = k+1, lo+microBatch {
		hi := min(lo+microBatch, B)
		microIDs := ids[lo*T : hi*T]
		microTargets := targets[lo*T : hi*T]
		share := 0
		for _, t := range microTargets {
			if t != autograd.IgnoreIndex {
				share++
			}
		}
		if share == 0 {
			continue // its loss and gradients are 0, so skip the passes
		}
		tp.Reset()
		tp.Seed = seed
		if k > 0 {
			tp.Seed = microSeed(seed, uint64(k))
		}
		l := m.Loss(tp, microIDs, microTargets, hi-lo, T)
		w := float64(share) / float64(count)
		loss += w * float64(l.Value.Data[0])
		tp.BackwardScaled(l, scale*float32(w))
	}
	return float32(loss)
}

// EvalLoss returns the mean cross-entropy of the predictions for ids
// against targets (both B·T) over the non-ignored targets, as Loss does,
// without gradients or dropout. It runs the batch through the model in
// micro-batches of at most DefaultMicroRows rows (at least one sequence)
// with tp in NoGrad mode, so repeated calls reuse the arena's buffers and
// the arena stays within what LossBackward on the same tape needs. Values
// recorded on tp before the call become invalid; tp.NoGrad keeps its value.
// It returns 0 when every target is ignored.
func (m *Model) EvalLoss(tp *autograd.Tape, ids, targets []int, B, T int) float64 {
	if tp == nil {
		panic("gpt: eval loss on a nil tape; pass autograd.NewTape()")
	}
	if B <= 0 || T <= 0 || len(ids) != B*T || len(targets) != len(ids) {
		panic(fmt.Sprintf("gpt: eval loss of %d ids and %d targets as B=%d T=%d",
			len(ids), len(targets), B, T))
	}
	noGrad := tp.NoGrad
	tp.NoGrad = true
	defer func() { tp.NoGrad = noGrad }()

	micro := max(1, DefaultMicroRows/T)
	var nats float64
	count := 0
	for lo := 0; lo < B; lo += micro {
		hi := min(lo+micro, B)
		microTargets := targets[lo*T : hi*T]
		share := 0
		for _, t := range microTargets {
			if t != autograd.IgnoreIndex {
				share++
			}
		}
		if share == 0 {
			continue
		}
		tp.Reset()
		l := m.Loss(tp, ids[lo*T:hi*T], microTargets, hi-lo, T)
		nats += float64(l.Value.Data[0]) * float64(share)
		count += share
	}
	if count == 0 {
		return 0
	}
	return nats / float64(count)
}

// microSeed derives the dropout seed of micro-batch k from a step's seed
// with SplitMix64's finaliser.
func microSeed(seed, k uint64) uint64 {
	z := seed + (k+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
