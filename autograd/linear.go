package autograd

import (
	"fmt"

	"github.com/goushi/goushi/tensor"
)

// Linear returns y = x·Wᵀ + b for x (N, in), w (out, in) as stored by
// torch.nn.Linear, and b (out) or nil for no bias. y is (N, out).
func Linear(tp *Tape, x, w, b *Var) *Var {
	n, in, out := linearShape("linear", x.Value, w, b)
	y := tp.NewVar(tp.AllocNoZero(n, out))
	linearForward(y.Value.Data, x.Value.Data, w, b, n, in, out, false)
	if !tp.needsGrad() {
		return y
	}
	tp.pushOp(y, func() {
		if y.Grad == nil {
			return
		}
		dx, fresh := tp.gradBuffer(x)
		linearBackward(tp, y.Grad.Data, x.Value.Data, dx, beta(fresh), w, b, n, in, out)
	})
	return y
}

// LinearResidual returns res + x·Wᵀ + b, a Linear whose output is added to
// the residual stream res (N, out) without storing the Linear's own output.
// b may be nil.
func LinearResidual(tp *Tape, res, x, w, b *Var) *Var {
	n, in, out := linearShape("linear residual", x.Value, w, b)
	checkResidual(res, n, out)
	y := tp.NewVar(tp.AllocNoZero(n, out))
	copy(y.Value.Data, res.Value.Data)
	linearForward(y.Value.Data, x.Value.Data, w, b, n, in, out, true)
	if !tp.needsGrad() {
		return y
	}
	tp.pushOp(y, func() {
		if y.Grad == nil {
			return
		}
		dy := y.Grad.Data
		dres, fresh := tp.gradBuffer(res)
		addTo(dres, dy, fresh)
		dx, fresh := tp.gradBuffer(x)
		linearBackward(tp, dy, x.Value.Data, dx, beta(fresh), w, b, n, in, out)
	})
	return y
}

// LayerNormLinear returns Linear(LayerNorm(x)): x (N, in) is normalised
// with gain and bias (in) and eps, then mapped by w (out, in) and b (out)
// or nil. The normalised rows are not kept: the backward pass recomputes
// them from x and the saved row statistics, which saves an (N, in) buffer
// per op for one cheap elementwise pass.
func LayerNormLinear(tp *Tape, x, gain, bias, w, b *Var, eps float32) *Var {
	n, in, out := linearShape("layernorm linear", x.Value, w, b)
	if gain.Value.Size() != in || bias.Value.Size() != in {
		panic(fmt.Sprintf("autograd: layernorm of %v with gain %v and bias %v",
			x.Value.Shape, gain.Value.Shape, bias.Value.Shape))
	}
	mean := tp.AllocNoZero(n)
	rstd := tp.AllocNoZero(n)

	normalize := func() *tensor.Tensor {
		h := tp.AllocNoZero(n, in)
		tensor.LayerNorm(h.Data, mean.Data, rstd.Data, x.Value.Data, gain.Value.Data,
			bias.Value.Data, n, in, eps)
		return h
	}

	y := tp.NewVar(tp.AllocNoZero(n, out))
	h := normalize()
	linearForward(y.Value.Data, h.Data, w, b, n, in, out, false)
	tp.release(h)

	if !tp.needsGrad() {
		return y
	}
	tp.pushOp(y, func() {
		if y.Grad == nil {
			return
		}
		// The weight gradient comes first, so that h is released before
		// dh is allocated and the two can share a buffer.
		h := normalize()
		linearParamGrads(tp, y.Grad.Data, h.Data, w, b, n, in, out)
		tp.release(h)
		dh := tp.AllocNoZero(n, in)
		linearInputGrad(y.Grad.Data, dh.Data, 0, w, n, in, out)
		tensor.LayerNormBackward(tp.Grad(x), tp.Grad(gain), tp.Grad(bias), dh.Data,
			x.Value.Data, mean.Data, rstd.Data, gain.Value.Data, n, in)
		tp.release(dh)
		tp.release(mean)
		tp.release(rstd)
	})
	return y
}

// GELULinear returns GELU(x)·Wᵀ + b, plus res when res is not nil, for x
// (N, in) and w (out, in); b may be nil. The GELU output is not kept: the
// backward pass recomputes it from x, which saves an (N, in) buffer per op,
// the largest activation of an MLP, for one elementwise pass.
func GELULinear(tp *Tape, res, x, w, b *Var) *Var {
	n, in, out := linearShape("gelu linear", x.Value, w, b)
	if res != nil {
		checkResidual(res, n, out)
	}
	y := tp.NewVar(tp.AllocNoZero(n, out))
	if res != nil {
		copy(y.Value.Data, res.Value.Data)
	}
	g := tp.AllocNoZero(n, in)
	tensor.GELU(g.Data, x.Value.Data)
	linearForward(y.Value.Data, g.Data, w, b, n, in, out, res != nil)
	tp.release(g)
	if !tp.needsGrad() {
		return y
	}
	tp.pushOp(y, func() {
		if y.Grad == nil {
			return
		}
		dy := y.Grad.Data
		if res != nil {
			dres, fresh := tp.gradBuffer(res)
			addTo(dres, dy, fresh)
		}
		// As in LayerNormLinear, g is released before dg is allocated.
		g := tp.AllocNoZero(n, in)
		tensor.GELU(g.Data, x.Value.Data)
		linearParamGrads(tp, dy, g.Data, w, b, n, in, out)
		tp.release(g)
		dg := tp.AllocNoZero(n, in)
		linearInputGrad(dy, dg.Data, 0, w, n, in, out)
		tensor.GELUBackward(tp.Grad(x), x.Value.Data, dg.Data)
		tp.release(dg)
	})
	return y
}

// linearShape checks x (N, in) against w (out, in) and b (out) or nil and
// returns N, in and out.
func linearShape(op string, x *tensor.Tensor, w, b *Var) (n, in, out int) {
	in, n = x.Cols(), x.Rows()
	if len(w.Value.Shape) != 2 || w.Value.Cols() != in {
		panic(fmt.Sprintf("autograd: %s of x %v with weight %v", op, x.Shape, w.Value.Shape))
	}
	out = w.Value.Dim(0)
	if b != nil && b.Value.Size() != out {
		panic(fmt.Sprintf("autograd: %s bias %v for %d outputs", op, b.Value.Shape, out))
	}
	return n, in, out
}

func checkResidual(res *Var, n, out int) {
	if res.Value.Rows() != n || res.Value.Cols() != out {
		panic(fmt.Sprintf("autograd: residual %v for an output of (%d, %d)",
			res.Value.Shape, n, out))
	}
}

// linearForward sets y (N, out) = x·Wᵀ + b, or adds it to y when
// accumulate is set.
func linearForward(y, x []float32, w, b *Var, n, in, out int, accumulate bool) {
	beta := float32(0)
	if accumulate {
		beta = 1
	}
	tensor.Gemm(false, true, n, out, in, 1, x, in, w.Value.Data, in, beta, y, out)
	if b != nil {
		tensor.AddBias(y, b.Value.Data, n)
	}
}

// linearBackward accumulates dW += dyᵀ·x and db += Σ dy, and sets
// dx = dy·W + dxBeta·dx, so dxBeta 1 accumulates and 0 overwrites.
func linearBackward(tp *Tape, dy, x, dx []float32, dxBeta float32, w, b *Var,
	n, in, out int) {
	linearInputGrad(dy, dx, dxBeta, w, n, in, out)
	linearParamGrads(tp, dy, x, w, b, n, in, out)
}

// linearInputGrad sets dx (N, in) = dy (N, out) · W (out, in) + dxBeta·dx.
func linearInputGrad(dy, dx []float32, dxBeta float32, w *Var, n, in, out int) {
	tensor.Gemm(false, false, n, in, out, 1, dy, out, w.Value.Data, in, dxBeta, dx, in)
}

// linearParamGrads accumulates dW (out, in) += dyᵀ (out, N) · x (N, in)
// and db += Σ dy over rows.
func linearParamGrads(tp *Tape, dy, x []float32, w, b *Var, n, in, out int) {
	tensor.Gemm(true, false, out, in, n, 1, dy, out, x, in, 1, tp.Grad(w), in)
	if b != nil {
		tensor.ColSumAdd(tp.Grad(b), dy, n)
	}
}
