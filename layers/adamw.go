package layers

import (
	"fmt"
	"math"

	"github.com/goushi/goushi/autograd"
	"github.com/goushi/goushi/tensor"
)

// AdamWConfig is AdamW's hyperparameters. LR is the base learning rate
// that a schedule scales; Step takes the rate of the current step.
type AdamWConfig struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
}

// AdamW is Adam with decoupled weight decay (Loshchilov and Hutter, 2019),
// with bias-corrected moments as in torch.optim.AdamW.
//
// Weight decay applies only to parameters with a 2-D value: the Linear
// weights and both embedding tables. Biases and LayerNorm gains are never
// decayed, since pulling a gain toward 0 rescales the layer instead of
// regularising it. The token embedding is decayed like the other matrices,
// as GPT-2 training code such as nanoGPT does, because it is also the
// output head's weight.
//
// Each parameter gets one state, so a tied parameter such as the token
// embedding has one. NewAdamW panics when two parameters share a name,
// which also catches a tied parameter listed twice.
type AdamW struct {
	Config AdamWConfig

	params []*autograd.Var
	m, v   [][]float32
	index  map[string]int
	step   int
}

// NewAdamW returns an optimizer over params with zero moments and step 0.
func NewAdamW(params []*autograd.Var, cfg AdamWConfig) *AdamW {
	o := &AdamW{
		Config: cfg,
		params: params,
		m:      make([][]float32, len(params)),
		v:      make([][]float32, len(params)),
		index:  make(map[string]int, len(params)),
	}
	for i, p := range params {
		if _, dup := o.index[p.Name]; dup {
			panic(fmt.Sprintf("layers: AdamW: parameter %q listed twice", p.Name))
		}
		o.m[i] = make([]float32, p.Value.Size())
		o.v[i] = make([]float32, p.Value.Size())
		o.index[p.Name] = i
	}
	return o
}

// Step increments the step count and updates every parameter from its
// gradient at learning rate lr.
func (o *AdamW) Step(lr float32) {
	o.step++
	c := o.Config
	for i, p := range o.params {
		wd := float32(0)
		if decays(p) {
			wd = c.WeightDecay
		}
		tensor.AdamW(p.Value.Data, p.Grad.Data, o.m[i], o.v[i], lr, c.Beta1, c.Beta2, c.Eps,
			wd, o.step)
	}
}

// decays reports whether weight decay applies to p: 2-D values only.
func decays(p *autograd.Var) bool { return len(p.Value.Shape) == 2 }

// ZeroGrad clears every parameter's gradient.
func (o *AdamW) ZeroGrad() {
	tensor.Parallel(len(o.params), func(lo, hi int) {
		for _, p := range o.params[lo:hi] {
			p.Grad.Zero()
		}
	})
}

// StepCount returns the number of Steps taken, which drives the bias
// correction.
func (o *AdamW) StepCount() int { return o.step }

// SetStepCount sets the step count, for restoring a checkpoint.
func (o *AdamW) SetStepCount(n int) { o.step = n }

// Moments returns the first and second moment buffers of the parameter
// named name, or nil, nil for an unknown name. The slices are the
// optimizer's own storage, so a checkpoint loader copies into them.
func (o *AdamW) Moments(name string) (m, v []float32) {
	i, ok := o.index[name]
	if !ok {
		return nil, nil
	}
	return o.m[i], o.v[i]
}

// ClipGradNorm scales every gradient by maxNorm/norm when the global L2
// norm of all gradients together exceeds maxNorm, and returns the norm
// before clipping. A maxNorm of 0 or less only measures. Each parameter's
// sum of squares is taken in float64 on the worker pool, and the sums are
// added in parameter order, so the norm is the same on every run.
func ClipGradNorm(params []*autograd.Var, maxNorm float32) (norm float32) {
	sums := make([]float64, len(params))
	tensor.Parallel(len(params), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var s float64
			for _, g := range params[i].Grad.Data {
				s += float64(g) * float64(g)
			}
			sums[i] = s
		}
	})
	var ss float64
	for _, s := range sums {
		ss += s
	}
	n := math.Sqrt(ss)
	if maxNorm > 0 && n > float64(maxNorm) {
		s := float32(float64(maxNorm) / (n + 1e-6))
		for _, p := range params {
			tensor.Scale(p.Grad.Data, s)
		}
	}
	return float32(n)
}
