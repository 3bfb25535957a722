package layers

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/goushi/goushi/autograd"
	"github.com/goushi/goushi/tensor"
)

// fill gives every parameter values N(0, 0.5), gains included, so each
// layer is tested away from its trivial initial state.
func fill(rng *rand.Rand, params []*autograd.Var) {
	for _, p := range params {
		for i := range p.Value.Data {
			p.Value.Data[i] = float32(rng.NormFloat64() * 0.5)
		}
	}
}

// checkLayer compares the gradients of Σ out·r for inputs and params with
// central differences, r fixed and random. Settings as in autograd's op
// checks: float32, step 1e-2 on O(1) values, tolerance 2e-3 + 1e-2·|grad|.
func checkLayer(t *testing.T, vars []*autograd.Var, forward func(tp *autograd.Tape) *autograd.Var) {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 5))
	var r []float32
	objective := func(withGrad bool) float64 {
		tp := autograd.NewTape()
		tp.Seed = 9
		out := forward(tp)
		if r == nil {
			r = make([]float32, out.Value.Size())
			for i := range r {
				r[i] = rng.Float32()*2 - 1
			}
		}
		var s float64
		for i, v := range out.Value.Data {
			s += float64(v) * float64(r[i])
		}
		if withGrad {
			loss := tp.NewVar(tp.Alloc(1))
			loss.Value.Data[0] = float32(s)
			tp.Push(func() {
				g := tp.Grad(out)
				for i := range g {
					g[i] += r[i] * loss.Grad.Data[0]
				}
			})
			tp.Backward(loss)
		}
		return s
	}
	for _, v := range vars {
		v.Grad.Zero()
	}
	objective(true)
	for _, v := range vars {
		bad := 0
		for i, ana := range v.Grad.Data {
			x := v.Value.Data[i]
			v.Value.Data[i] = x + 1e-2
			xp := v.Value.Data[i]
			fp := objective(false)
			v.Value.Data[i] = x - 1e-2
			xm := v.Value.Data[i]
			fm := objective(false)
			v.Value.Data[i] = x
			num := (fp - fm) / float64(xp-xm)
			if math.Abs(num-float64(ana)) > 2e-3+1e-2*math.Abs(float64(ana)) {
				if bad < 5 {
					t.Errorf("%s[%d]: analytic %.6g, finite difference %.6g", v.Name, i, ana, num)
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d entries disagree", v.Name, bad, len(v.Grad.Data))
		}
	}
}

// input returns a random (rows, cols) input that takes a gradient.
func input(rng *rand.Rand, rows, cols int) *autograd.Var {
	x := autograd.NewParam("x", tensor.New(rows, cols))
	fill(rng, []*autograd.Var{x})
	return x
}

func TestLinearGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	l := NewLinear("fc", 4, 3, true)
	fill(rng, l.Params())
	x := input(rng, 5, 4)
	checkLayer(t, append(l.Params(), x), func(tp *autograd.Tape) *autograd.Var {
		return l.Forward(tp, x)
	})
}

func TestEmbeddingGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	e := NewEmbedding("wte", 6, 3)
	fill(rng, []*autograd.Var{e.Weight})
	checkLayer(t, []*autograd.Var{e.Weight}, func(tp *autograd.Tape) *autograd.Var {
		return e.Forward(tp, []int{5, 1, 5, 0})
	})
}

func TestLayerNormGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 3))
	ln := NewLayerNorm("ln", 6)
	fill(rng, ln.Params())
	x := input(rng, 3, 6)
	checkLayer(t, append(ln.Params(), x), func(tp *autograd.Tape) *autograd.Var {
		return ln.Forward(tp, x)
	})
}

func TestAttentionGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 4))
	const B, T, C, H = 2, 4, 6, 2
	for _, dropout := range []float32{0, 0.2} {
		a := NewCausalSelfAttention("attn", C, H, dropout)
		fill(rng, a.Params())
		x := input(rng, B*T, C)
		checkLayer(t, append(a.Params(), x), func(tp *autograd.Tape) *autograd.Var {
			return a.Forward(tp, x, B, T)
		})
	}
}

func TestMLPGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 5))
	m := NewMLP("mlp", 4, 0)
	fill(rng, m.Params())
	x := input(rng, 3, 4)
	checkLayer(t, append(m.Params(), x), func(tp *autograd.Tape) *autograd.Var {
		return m.Forward(tp, x)
	})
}

func TestDropoutGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 6))
	x := input(rng, 4, 5)
	checkLayer(t, []*autograd.Var{x}, func(tp *autograd.Tape) *autograd.Var {
		return Dropout{P: 0.5}.Forward(tp, x)
	})
}

func TestBlockGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 7))
	const B, T, C, H = 2, 3, 4, 2
	// Dropout 0 takes the fused residual path, 0.1 the separate one.
	for _, dropout := range []float32{0, 0.1} {
		b := NewBlock("h.0", C, H, dropout)
		fill(rng, b.Params())
		x := input(rng, B*T, C)
		checkLayer(t, append(b.Params(), x), func(tp *autograd.Tape) *autograd.Var {
			return b.Forward(tp, x, B, T)
		})
	}
}

func TestBlockParamNames(t *testing.T) {
	b := NewBlock("h.3", 4, 2, 0)
	want := []string{
		"h.3.ln_1.weight", "h.3.ln_1.bias",
		"h.3.attn.c_attn.weight", "h.3.attn.c_attn.bias",
		"h.3.attn.c_proj.weight", "h.3.attn.c_proj.bias",
		"h.3.ln_2.weight", "h.3.ln_2.bias",
		"h.3.mlp.c_fc.weight", "h.3.mlp.c_fc.bias",
		"h.3.mlp.c_proj.weight", "h.3.mlp.c_proj.bias",
	}
	ps := b.Params()
	if len(ps) != len(want) {
		t.Fatalf("%d params, want %d", len(ps), len(want))
	}
	for i, p := range ps {
		if p.Name != want[i] {
			t.Errorf("param %d is %s, want %s", i, p.Name, want[i])
		}
	}
}
