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
// of T tokens. A nil tape runs without recording gradients or dropout. It
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
