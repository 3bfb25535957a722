package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/goushi/goushi/tensor"
)

// The engine is float32 only, so the finite-difference checks run in
// float32 with these settings. Inputs are O(1) and the step is 1e-2: the
// truncation error of a central difference is h²/6·|f”'|, about 2e-5 for
// the smooth ops here, and the rounding error is about ε·|f|/h with
// ε = 6e-8 and |f| up to about 10, so below 1e-4. The objective is a
// float64 dot product of the op's output with fixed random weights, which
// keeps the summation itself out of the error. A wrong gradient term is off
// by O(1) relative, far above the tolerance of 2e-3 + 1e-2·|analytic|.
const (
	fdStep = 1e-2
	fdAbs  = 2e-3
	fdRel  = 1e-2
)

// randParam returns a parameter of the given shape with entries uniform in
// [-1, 1).
func randParam(rng *rand.Rand, name string, shape ...int) *Var {
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = rng.Float32()*2 - 1
	}
	return NewParam(name, t)
}

// project returns the scalar Σ out_i·r_i, accumulated in float64.
func project(tp *Tape, out *Var, r []float32) *Var {
	var s float64
	for i, v := range out.Value.Data {
		s += float64(v) * float64(r[i])
	}
	loss := tp.NewVar(tp.Alloc(1))
	loss.Value.Data[0] = float32(s)
	tp.Push(func() {
		if loss.Grad == nil {
			return
		}
		tensor.Axpy(tp.Grad(out), loss.Grad.Data[0], r)
	})
	return loss
}

// objective evaluates Σ build(tp)·r in float64 on a fresh tape seeded with
// seed, so dropout masks match between evaluations.
func objective(build func(tp *Tape) *Var, r []float32, seed uint64) float64 {
	tp := NewTape()
	tp.Seed = seed
	out := build(tp)
	var s float64
	for i, v := range out.Value.Data {
		s += float64(v) * float64(r[i])
	}
	return s
}

// checkGrad compares the gradients that Backward gives for inputs with
// central differences of the objective Σ out·r, r fixed and random.
func checkGrad(t *testing.T, inputs []*Var, build func(tp *Tape) *Var) {
	t.Helper()
	const seed = 7
	rng := rand.New(rand.NewPCG(1, 2))

	tp := NewTape()
	tp.Seed = seed
	out := build(tp)
	r := make([]float32, out.Value.Size())
	for i := range r {
		r[i] = rng.Float32()*2 - 1
	}
	for _, in := range inputs {
		in.Grad.Zero()
	}
	tp.Backward(project(tp, out, r))

	for _, in := range inputs {
		ana := append([]float32(nil), in.Grad.Data...)
		bad := 0
		for i := range in.Value.Data {
			x := in.Value.Data[i]
			in.Value.Data[i] = x + fdStep
			xp := in.Value.Data[i]
			fp := objective(build, r, seed)
			in.Value.Data[i] = x - fdStep
			xm := in.Value.Data[i]
			fm := objective(build, r, seed)
			in.Value.Data[i] = x
			num := (fp - fm) / float64(xp-xm)
			if diff := math.Abs(num - float64(ana[i])); diff > fdAbs+fdRel*math.Abs(float64(ana[i])) {
				if bad < 5 {
					t.Errorf("%s[%d]: analytic %.6g, finite difference %.6g", in.Name, i, ana[i], num)
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d gradient entries disagree", in.Name, bad, len(ana))
		}
	}
}

func TestGradAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, b := randParam(rng, "a", 3, 4), randParam(rng, "b", 3, 4)
	checkGrad(t, []*Var{a, b}, func(tp *Tape) *Var { return Add(tp, a, b) })
}

func TestGradAddSameVarTwice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := randParam(rng, "a", 5)
	checkGrad(t, []*Var{a}, func(tp *Tape) *Var { return Add(tp, a, Scale(tp, a, 3)) })
}

// TestGradAddIntermediateTwice covers a gradient buffer that the first
// consumer overwrites and the second adds to.
func TestGradAddIntermediateTwice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 16))
	a := randParam(rng, "a", 5)
	checkGrad(t, []*Var{a}, func(tp *Tape) *Var {
		s := Scale(tp, a, 2)
		return Add(tp, s, s)
	})
}

func TestGradScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 3))
	a := randParam(rng, "a", 2, 3)
	checkGrad(t, []*Var{a}, func(tp *Tape) *Var { return Scale(tp, a, -1.5) })
}

func TestGradLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 4))
	x, w, b := randParam(rng, "x", 5, 4), randParam(rng, "w", 3, 4), randParam(rng, "b", 3)
	checkGrad(t, []*Var{x, w, b}, func(tp *Tape) *Var { return Linear(tp, x, w, b) })
}

func TestGradLinearNoBias(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 5))
	x, w := randParam(rng, "x", 6, 3), randParam(rng, "w", 7, 3)
	checkGrad(t, []*Var{x, w}, func(tp *Tape) *Var { return Linear(tp, x, w, nil) })
}

func TestGradLinearResidual(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 11))
	res, x := randParam(rng, "res", 5, 3), randParam(rng, "x", 5, 4)
	w, b := randParam(rng, "w", 3, 4), randParam(rng, "b", 3)
	checkGrad(t, []*Var{res, x, w, b}, func(tp *Tape) *Var {
		return LinearResidual(tp, res, x, w, b)
	})
}

func TestGradLayerNormLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 14))
	x, g, bias := randParam(rng, "x", 4, 5), randParam(rng, "gain", 5), randParam(rng, "bias", 5)
	w, b := randParam(rng, "w", 3, 5), randParam(rng, "b", 3)
	checkGrad(t, []*Var{x, g, bias, w, b}, func(tp *Tape) *Var {
		return LayerNormLinear(tp, x, g, bias, w, b, 1e-5)
	})
}

func TestGradGELULinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 15))
	res, x := randParam(rng, "res", 4, 3), randParam(rng, "x", 4, 6)
	w, b := randParam(rng, "w", 3, 6), randParam(rng, "b", 3)
	for i := range x.Value.Data {
		x.Value.Data[i] *= 3
	}
	checkGrad(t, []*Var{res, x, w, b}, func(tp *Tape) *Var {
		return GELULinear(tp, res, x, w, b)
	})
	checkGrad(t, []*Var{x, w}, func(tp *Tape) *Var { return GELULinear(tp, nil, x, w, nil) })
}

func TestGradEmbeddingRepeatedIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 6))
	table := randParam(rng, "table", 5, 3)
	ids := []int{4, 0, 4, 2, 4}
	checkGrad(t, []*Var{table}, func(tp *Tape) *Var { return Embedding(tp, table, ids) })
}

func TestGradTokenPositionEmbedding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 13))
	wte, wpe := randParam(rng, "wte", 5, 3), randParam(rng, "wpe", 4, 3)
	ids := []int{4, 0, 4, 2, 4, 1} // two sequences of 3, wpe row 3 unused
	checkGrad(t, []*Var{wte, wpe}, func(tp *Tape) *Var {
		return TokenPositionEmbedding(tp, wte, wpe, ids, 3)
	})
}

func TestGradLayerNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 7))
	x, g, b := randParam(rng, "x", 4, 6), randParam(rng, "gain", 6), randParam(rng, "bias", 6)
	checkGrad(t, []*Var{x, g, b}, func(tp *Tape) *Var { return LayerNorm(tp, x, g, b, 1e-5) })
}

func TestGradGELU(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 8))
	x := randParam(rng, "x", 3, 5)
	for i := range x.Value.Data {
		x.Value.Data[i] *= 3 // cover the tails as well as the bend near 0
	}
	checkGrad(t, []*Var{x}, func(tp *Tape) *Var { return GELU(tp, x) })
}

func TestGradDropout(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 9))
	x := randParam(rng, "x", 4, 8)
	checkGrad(t, []*Var{x}, func(tp *Tape) *Var { return Dropout(tp, x, 0.3) })
}

func TestGradCrossEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 10))
	z := randParam(rng, "logits", 5, 7)
	for i := range z.Value.Data {
		z.Value.Data[i] *= 4
	}
	targets := []int{3, IgnoreIndex, 0, 6, 3}
	// Scale copies the logits, because CrossEntropy overwrites its input.
	checkGrad(t, []*Var{z}, func(tp *Tape) *Var {
		return CrossEntropy(tp, Scale(tp, z, 1), targets)
	})
}

func TestGradAttention(t *testing.T) {
	for _, tc := range []struct {
		name          string
		B, T, H, C    int
		dropout       float32
		inputMultiple float32
	}{
		{"one head", 1, 4, 1, 3, 0, 1},
		{"two heads", 2, 5, 2, 4, 0, 2},
		{"dropout", 2, 5, 2, 4, 0.25, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, 1))
			qkv := randParam(rng, "qkv", tc.B*tc.T, 3*tc.C)
			for i := range qkv.Value.Data {
				qkv.Value.Data[i] *= tc.inputMultiple
			}
			checkGrad(t, []*Var{qkv}, func(tp *Tape) *Var {
				return CausalSelfAttention(tp, qkv, tc.B, tc.T, tc.H, tc.dropout)
			})
		})
	}
}

// TestGradComposite chains the ops the way a transformer block does,
// with x used by two branches, so gradients meet in one buffer.
func TestGradComposite(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	const B, T, C, H = 2, 3, 4, 2
	x := randParam(rng, "x", B*T, C)
	g, b := randParam(rng, "gain", C), randParam(rng, "bias", C)
	w, wb := randParam(rng, "c_attn", 3*C, C), randParam(rng, "c_attn.bias", 3*C)
	targets := []int{0, 1, 2, 3, IgnoreIndex, 1}
	checkGrad(t, []*Var{x, g, b, w, wb}, func(tp *Tape) *Var {
		h := LayerNorm(tp, x, g, b, 1e-5)
		a := CausalSelfAttention(tp, Linear(tp, h, w, wb), B, T, H, 0)
		y := Add(tp, x, GELU(tp, a))
		return CrossEntropy(tp, Linear(tp, y, x, nil), targets)
	})
}
