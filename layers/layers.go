// Package layers builds the GPT-2 building blocks on package autograd:
// Linear, Embedding, LayerNorm, causal multi-head self-attention, the GELU
// MLP and dropout, each with named parameters, plus the AdamW optimizer and
// global-norm gradient clipping. Layers start at zero, with LayerNorm gains
// at 1. The model initialises the weights, because GPT-2's residual scaling
// depends on the depth.
package layers

import (
	"github.com/goushi/goushi/autograd"
	"github.com/goushi/goushi/tensor"
)

// LayerNormEps is the variance epsilon of every LayerNorm, as in GPT-2.
const LayerNormEps = 1e-5

// Linear is y = x·Wᵀ + b with W stored (out, in) like torch.nn.Linear.
type Linear struct {
	Weight *autograd.Var // (out, in)
	Bias   *autograd.Var // (out), nil for no bias
}

// NewLinear returns a zero-initialised Linear named prefix.weight and
// prefix.bias.
func NewLinear(prefix string, in, out int, bias bool) *Linear {
	l := &Linear{Weight: autograd.NewParam(prefix+".weight", tensor.New(out, in))}
	if bias {
		l.Bias = autograd.NewParam(prefix+".bias", tensor.New(out))
	}
	return l
}

// Forward maps x (N, in) to (N, out).
func (l *Linear) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return autograd.Linear(tp, x, l.Weight, l.Bias)
}

// Params returns the weight, then the bias if there is one.
func (l *Linear) Params() []*autograd.Var {
	if l.Bias == nil {
		return []*autograd.Var{l.Weight}
	}
	return []*autograd.Var{l.Weight, l.Bias}
}

// Embedding is a lookup table of vectors, one row per id.
type Embedding struct {
	Weight *autograd.Var // (V, dim)
}

// NewEmbedding returns a zero-initialised table named name.weight.
func NewEmbedding(name string, v, dim int) *Embedding {
	return &Embedding{Weight: autograd.NewParam(name+".weight", tensor.New(v, dim))}
}

// Forward returns the rows for ids as (len(ids), dim).
func (e *Embedding) Forward(tp *autograd.Tape, ids []int) *autograd.Var {
	return autograd.Embedding(tp, e.Weight, ids)
}

// LayerNorm normalises over the last dimension with a gain and bias.
type LayerNorm struct {
	Weight *autograd.Var // gain (C), initialised to 1
	Bias   *autograd.Var // (C), initialised to 0
}

// NewLayerNorm returns a LayerNorm over dim features with gains 1 and
// biases 0, named prefix.weight and prefix.bias.
func NewLayerNorm(prefix string, dim int) *LayerNorm {
	g := tensor.New(dim)
	for i := range g.Data {
		g.Data[i] = 1
	}
	return &LayerNorm{
		Weight: autograd.NewParam(prefix+".weight", g),
		Bias:   autograd.NewParam(prefix+".bias", tensor.New(dim)),
	}
}

// Forward normalises each row of x (N, dim).
func (l *LayerNorm) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return autograd.LayerNorm(tp, x, l.Weight, l.Bias, LayerNormEps)
}

// Params returns the gain, then the bias.
func (l *LayerNorm) Params() []*autograd.Var { return []*autograd.Var{l.Weight, l.Bias} }

// Dropout zeroes activations with probability P during training (a tape
// for which Training reports true) and is the identity otherwise.
type Dropout struct {
	P float32
}

// Forward applies dropout to x.
func (d Dropout) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return autograd.Dropout(tp, x, d.P)
}

// CausalSelfAttention is GPT-2's attention: one packed q, k, v projection,
// causal softmax attention over H heads, and an output projection.
type CausalSelfAttention struct {
	Heads   int
	CAttn   *Linear // (3C, C): rows q, k, v
	CProj   *Linear // (C, C)
	Dropout float32 // on the attention weights and on the output
}

// NewCausalSelfAttention returns an attention block over embedding dim c
// with the given heads, parameters named prefix.c_attn.* and prefix.c_proj.*.
func NewCausalSelfAttention(prefix string, c, heads int, dropout float32) *CausalSelfAttention {
	return &CausalSelfAttention{
		Heads:   heads,
		CAttn:   NewLinear(prefix+".c_attn", c, 3*c, true),
		CProj:   NewLinear(prefix+".c_proj", c, c, true),
		Dropout: dropout,
	}
}

// Forward maps x (B·T, C) to (B·T, C).
func (a *CausalSelfAttention) Forward(tp *autograd.Tape, x *autograd.Var, B, T int) *autograd.Var {
	return a.ForwardResidual(tp, nil, x, B, T)
}

// ForwardResidual returns res + Forward(x), or Forward(x) when res is nil.
// Without dropout the sum is fused into the output projection.
func (a *CausalSelfAttention) ForwardResidual(tp *autograd.Tape, res, x *autograd.Var,
	B, T int) *autograd.Var {
	return a.attend(tp, res, a.CAttn.Forward(tp, x), B, T)
}

// attend runs attention and the output projection on qkv (B·T, 3C) and
// adds res when it is not nil.
func (a *CausalSelfAttention) attend(tp *autograd.Tape, res, qkv *autograd.Var,
	B, T int) *autograd.Var {
	y := autograd.CausalSelfAttention(tp, qkv, B, T, a.Heads, a.Dropout)
	return projectResidual(tp, a.CProj, res, y, a.Dropout)
}

// projectResidual returns res + dropout(proj(y)), with res nil meaning no
// residual.
func projectResidual(tp *autograd.Tape, proj *Linear, res, y *autograd.Var,
	dropout float32) *autograd.Var {
	if res != nil && (!tp.Training() || dropout == 0) {
		return autograd.LinearResidual(tp, res, y, proj.Weight, proj.Bias)
	}
	y = autograd.Dropout(tp, proj.Forward(tp, y), dropout)
	if res == nil {
		return y
	}
	return autograd.Add(tp, res, y)
}

// Params returns c_attn's then c_proj's parameters.
func (a *CausalSelfAttention) Params() []*autograd.Var {
	return append(a.CAttn.Params(), a.CProj.Params()...)
}

// MLP is GPT-2's feed-forward block: Linear to 4C, GELU, Linear back to C.
type MLP struct {
	CFc     *Linear // (4C, C)
	CProj   *Linear // (C, 4C)
	Dropout float32
}

// NewMLP returns an MLP over embedding dim c, parameters named
// prefix.c_fc.* and prefix.c_proj.*.
func NewMLP(prefix string, c int, dropout float32) *MLP {
	return &MLP{
		CFc:     NewLinear(prefix+".c_fc", c, 4*c, true),
		CProj:   NewLinear(prefix+".c_proj", 4*c, c, true),
		Dropout: dropout,
	}
}

// Forward maps x (N, C) to (N, C).
func (m *MLP) Forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	return m.ForwardResidual(tp, nil, x)
}

// ForwardResidual returns res + Forward(x), or Forward(x) when res is nil.
func (m *MLP) ForwardResidual(tp *autograd.Tape, res, x *autograd.Var) *autograd.Var {
	return m.activate(tp, res, m.CFc.Forward(tp, x))
}

// activate applies GELU and the output projection to the hidden layer h
// (N, 4C) and adds res when it is not nil. The GELU output is recomputed in
// the backward pass instead of stored.
func (m *MLP) activate(tp *autograd.Tape, res, h *autograd.Var) *autograd.Var {
	w, b := m.CProj.Weight, m.CProj.Bias
	if res != nil && (!tp.Training() || m.Dropout == 0) {
		return autograd.GELULinear(tp, res, h, w, b)
	}
	y := autograd.Dropout(tp, autograd.GELULinear(tp, nil, h, w, b), m.Dropout)
	if res == nil {
		return y
	}
	return autograd.Add(tp, res, y)
}

// Params returns c_fc's then c_proj's parameters.
func (m *MLP) Params() []*autograd.Var { return append(m.CFc.Params(), m.CProj.Params()...) }

// Block is a pre-LayerNorm transformer block with residual connections:
// x + attn(ln_1(x)), then x + mlp(ln_2(x)).
type Block struct {
	LN1  *LayerNorm
	Attn *CausalSelfAttention
	LN2  *LayerNorm
	MLP  *MLP
}

// NewBlock returns block parameters named prefix.ln_1.*, prefix.attn.*,
// prefix.ln_2.* and prefix.mlp.*.
func NewBlock(prefix string, c, heads int, dropout float32) *Block {
	return &Block{
		LN1:  NewLayerNorm(prefix+".ln_1", c),
		Attn: NewCausalSelfAttention(prefix+".attn", c, heads, dropout),
		LN2:  NewLayerNorm(prefix+".ln_2", c),
		MLP:  NewMLP(prefix+".mlp", c, dropout),
	}
}

// Forward maps the residual stream x (B·T, C) to (B·T, C).
func (b *Block) Forward(tp *autograd.Tape, x *autograd.Var, B, T int) *autograd.Var {
	// Each LayerNorm is fused into the Linear that reads it, so that its
	// output is recomputed in the backward pass instead of stored.
	qkv := normLinear(tp, b.LN1, b.Attn.CAttn, x)
	x = b.Attn.attend(tp, x, qkv, B, T)
	return b.MLP.activate(tp, x, normLinear(tp, b.LN2, b.MLP.CFc, x))
}

// normLinear returns l(ln(x)).
func normLinear(tp *autograd.Tape, ln *LayerNorm, l *Linear, x *autograd.Var) *autograd.Var {
	return autograd.LayerNormLinear(tp, x, ln.Weight, ln.Bias, l.Weight, l.Bias, LayerNormEps)
}

// Params returns the block's parameters in GPT-2's order: ln_1, attn, ln_2,
// mlp.
func (b *Block) Params() []*autograd.Var {
	var ps []*autograd.Var
	ps = append(ps, b.LN1.Params()...)
	ps = append(ps, b.Attn.Params()...)
	ps = append(ps, b.LN2.Params()...)
	return append(ps, b.MLP.Params()...)
}
