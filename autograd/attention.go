package autograd

import (
	"fmt"
	"math"

	"github.com/goushi/goushi/tensor"
)

// CausalSelfAttention computes multi-head causal attention from the packed
// projections qkv (B·T, 3C), whose rows contain q, k and v in that order and
// head h in columns h·hd..(h+1)·hd of each, with hd = C/H. It returns the
// heads' outputs side by side as (B·T, C), before the output projection.
//
// Position i attends to positions 0..i of its own sequence with weights
// softmax(q·kᵀ/√hd). On a tape with dropout > 0 those weights pass through
// dropout. The op is fused and keeps no (B, H, T, T) tensor. Each worker
// goroutine works on one head at a time in (T, T) scratch matrices. The
// backward pass recomputes a head's weights from q and k, at the cost of
// one more (T, hd)·(hd, T) product per head.
func CausalSelfAttention(tp *Tape, qkv *Var, B, T, H int, dropout float32) *Var {
	c3 := qkv.Value.Cols()
	if c3%3 != 0 || qkv.Value.Rows() != B*T || (c3/3)%H != 0 {
		panic(fmt.Sprintf("autograd: attention of qkv %v with B=%d T=%d H=%d",
			qkv.Value.Shape, B, T, H))
	}
	if dropout < 0 || dropout >= 1 {
		panic(fmt.Sprintf("autograd: attention dropout %g outside [0, 1)", dropout))
	}
	a := attention{B: B, T: T, H: H, C: c3 / 3, hd: c3 / 3 / H}
	a.scale = float32(1 / math.Sqrt(float64(a.hd)))
	if tp.Training() && dropout > 0 {
		a.dropout = dropout
		a.stream = tp.nextDropoutStream()
	}

	out := tp.NewVar(tp.AllocNoZero(B*T, a.C))
	workers := min(maxWorkers(), B*H)
	// Per worker: the weights P, and P after dropout.
	scratch := tp.AllocNoZero(workers, 2, T, T)
	parallelFor(B*H, workers, func(w, bh int) {
		s := scratch.Data[w*2*T*T : (w+1)*2*T*T]
		a.forward(bh, qkv.Value.Data, out.Value.Data, s[:T*T], s[T*T:])
	})
	tp.release(scratch)
	if !tp.needsGrad() {
		return out
	}

	tp.pushOp(out, func() {
		if out.Grad == nil {
			return
		}
		// Each head writes its own q, k and v columns once, so a fresh
		// gradient buffer needs no clearing.
		dqkv, fresh := tp.gradBuffer(qkv)
		// Per worker: P, dP, and P after dropout.
		work := tp.AllocNoZero(workers, 3, T, T)
		parallelFor(B*H, workers, func(w, bh int) {
			s := work.Data[w*3*T*T : (w+1)*3*T*T]
			a.backward(bh, qkv.Value.Data, out.Grad.Data, dqkv, beta(fresh), s[:T*T],
				s[T*T:2*T*T], s[2*T*T:])
		})
		tp.release(work)
	})
	return out
}

var negInf = float32(math.Inf(-1))

// attention is the sizes of one CausalSelfAttention call.
type attention struct {
	B, T, H, C, hd int
	scale          float32
	dropout        float32
	stream         uint64
}

// offsets returns where head h of sequence b starts in qkv (B, T, 3C) for q,
// k and v, and in the output (B, T, C).
func (a *attention) offsets(bh int) (q, k, v, o int) {
	b, h := bh/a.H, bh%a.H
	q = b*a.T*3*a.C + h*a.hd
	return q, q + a.C, q + 2*a.C, b*a.T*a.C + h*a.hd
}

// weights sets p (T, T) to the causal softmax of q·kᵀ·scale for head bh,
// zero above the diagonal.
func (a *attention) weights(bh int, qkv, p []float32) {
	T, ld := a.T, 3*a.C
	qo, ko, _, _ := a.offsets(bh)
	tensor.Gemm(false, true, T, T, a.hd, a.scale, qkv[qo:], ld, qkv[ko:], ld, 0, p, T)
	// Mask the future with −Inf, which the softmax turns into exact zeros.
	// The SIMD softmax over whole rows costs less than a scalar one over
	// the causal part only.
	for i := 0; i < T-1; i++ {
		row := p[i*T+i+1 : (i+1)*T]
		for j := range row {
			row[j] = negInf
		}
	}
	tensor.Softmax(p, p, T, T)
}

// forward computes head bh: y = p'·v, where p (T, T) gets the attention
// weights and p' is p after dropout, built in s when dropout is on.
func (a *attention) forward(bh int, qkv, y, p, s []float32) {
	a.weights(bh, qkv, p)
	pd := p
	if a.dropout > 0 {
		a.applyDropout(bh, s, p)
		pd = s
	}
	_, _, vo, oo := a.offsets(bh)
	tensor.Gemm(false, false, a.T, a.hd, a.T, 1, pd, a.T, qkv[vo:], 3*a.C, 0, y[oo:], a.C)
}

// applyDropout writes p with dropout applied into dst. Element (i, j) of
// head bh always draws the same number from the op's stream.
func (a *attention) applyDropout(bh int, dst, p []float32) {
	keep := 1 / (1 - a.dropout)
	base := uint64(bh * a.T * a.T)
	for i, v := range p {
		if v != 0 && !dropped(a.stream, base+uint64(i), a.dropout) {
			dst[i] = v * keep
		} else {
			dst[i] = 0
		}
	}
}

// backward adds the gradient of head bh to dqkv given dy (B·T, C), or
// overwrites dqkv's columns of the head when dBeta is 0.
// p, dp and pd are (T, T) scratch: the recomputed weights, which become dS,
// the weights' gradient, and the weights after dropout.
func (a *attention) backward(bh int, qkv, dy, dqkv []float32, dBeta float32, p, dp,
	pd []float32) {
	T, ld := a.T, 3*a.C
	qo, ko, vo, oo := a.offsets(bh)
	a.weights(bh, qkv, p)
	keep := float32(1)
	if a.dropout > 0 {
		keep = 1 / (1 - a.dropout)
		a.applyDropout(bh, pd, p)
	} else {
		pd = p
	}

	// dP' = dY · Vᵀ and dV += P'ᵀ · dY.
	tensor.Gemm(false, true, T, T, a.hd, 1, dy[oo:], a.C, qkv[vo:], ld, 0, dp, T)
	tensor.Gemm(true, false, T, a.hd, T, 1, pd, T, dy[oo:], a.C, dBeta, dqkv[vo:], ld)

	// Softmax backward row by row, through the dropout mask when there is
	// one: dS_ij = P_ij·(dP_ij − Σ_k P_ik·dP_ik), where dP = dP'·mask/(1−p).
	for i := 0; i < T; i++ {
		pr := p[i*T : i*T+i+1]
		dr := dp[i*T : i*T+i+1]
		if a.dropout > 0 {
			pdr := pd[i*T : i*T+i+1]
			for j := range dr {
				if pdr[j] == 0 {
					dr[j] = 0
				} else {
					dr[j] *= keep
				}
			}
		}
		dot := tensor.Dot(pr, dr)
		for j := range pr {
			pr[j] *= dr[j] - dot
		}
	}

	// p now contains dS (zero above the diagonal). dQ += dS·K·scale and
	// dK += dSᵀ·Q·scale.
	tensor.Gemm(false, false, T, a.hd, T, a.scale, p, T, qkv[ko:], ld, dBeta, dqkv[qo:], ld)
	tensor.Gemm(true, false, T, a.hd, T, a.scale, p, T, qkv[qo:], ld, dBeta, dqkv[ko:], ld)
}
