package layers

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/goushi/goushi/autograd"
	"github.com/goushi/goushi/tensor"
)

// smallNet returns the parameters of one Linear, one LayerNorm and one
// Embedding, with weights set to 0.5 so that decay is visible.
func smallNet() []*autograd.Var {
	l := NewLinear("fc", 3, 2, true)
	ln := NewLayerNorm("ln", 3)
	e := NewEmbedding("wte", 4, 3)
	for _, w := range []*autograd.Var{l.Weight, e.Weight} {
		for i := range w.Value.Data {
			w.Value.Data[i] = 0.5
		}
	}
	return append(append(l.Params(), ln.Params()...), e.Weight)
}

func TestAdamWZeroGradientOnlyDecays(t *testing.T) {
	params := smallNet()
	const lr, wd = 0.01, 0.1
	opt := NewAdamW(params, AdamWConfig{LR: lr, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8,
		WeightDecay: wd})
	opt.ZeroGrad()
	opt.Step(lr)
	opt.Step(lr)

	// Two steps of decoupled decay multiply each matrix entry by (1−lr·wd)².
	decayed := 0.5 * (1 - lr*wd) * (1 - lr*wd)
	for _, p := range params {
		for i, v := range p.Value.Data {
			var want float64
			switch p.Name {
			case "fc.weight", "wte.weight":
				want = decayed
			case "ln.weight":
				want = 1
			default:
				want = 0
			}
			if math.Abs(float64(v)-want) > 1e-7 {
				t.Errorf("%s[%d] = %.9g, want %.9g", p.Name, i, v, want)
			}
		}
	}
	if opt.StepCount() != 2 {
		t.Errorf("step count %d, want 2", opt.StepCount())
	}
}

func TestAdamWFirstStepsByHand(t *testing.T) {
	p := autograd.NewParam("b", tensor.FromSlice([]float32{1, -2}, 2))
	opt := NewAdamW([]*autograd.Var{p}, AdamWConfig{Beta1: 0.9, Beta2: 0.99, Eps: 1e-8,
		WeightDecay: 0.5})

	// Step 1 with gradient g: m̂ = g and v̂ = g², so the update is lr·sign(g)
	// (1-D, so no decay).
	p.Grad.Data[0], p.Grad.Data[1] = 0.3, -4
	opt.Step(0.1)
	if got := p.Value.Data; math.Abs(float64(got[0])-0.9) > 1e-6 ||
		math.Abs(float64(got[1])+1.9) > 1e-6 {
		t.Fatalf("after step 1: %v, want [0.9 -1.9]", got)
	}

	// Step 2 with gradient 0 for entry 0: m = 0.9·0.1·0.3 = 0.027,
	// v = 0.99·0.01·0.09 = 8.91e-4, m̂ = 0.027/0.19, v̂ = 8.91e-4/0.0199.
	p.Grad.Data[0], p.Grad.Data[1] = 0, -4
	opt.Step(0.1)
	mhat := 0.027 / 0.19
	vhat := 8.91e-4 / (1 - 0.99*0.99)
	want0 := 0.9 - 0.1*mhat/(math.Sqrt(vhat)+1e-8)
	if got := float64(p.Value.Data[0]); math.Abs(got-want0) > 1e-6 {
		t.Errorf("entry 0 after step 2: %.7f, want %.7f", got, want0)
	}
	if got := float64(p.Value.Data[1]); math.Abs(got+1.8) > 1e-6 {
		t.Errorf("entry 1 after step 2: %.7f, want -1.8", got)
	}
	m, v := opt.Moments("b")
	if math.Abs(float64(m[0])-0.027) > 1e-8 || math.Abs(float64(v[0])-8.91e-4) > 1e-9 {
		t.Errorf("moments of entry 0: m %g v %g, want 0.027 and 8.91e-4", m[0], v[0])
	}
	if m, v := opt.Moments("missing"); m != nil || v != nil {
		t.Error("moments of an unknown name are not nil")
	}
}

func TestAdamWSetStepCountDrivesBiasCorrection(t *testing.T) {
	// With the moments restored and the step count set, the next update
	// equals the one an uninterrupted optimizer makes.
	run := func() *autograd.Var {
		return autograd.NewParam("w", tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2))
	}
	cfg := AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1}
	a := run()
	oa := NewAdamW([]*autograd.Var{a}, cfg)
	grads := [][]float32{{1, -1, 0.5, 2}, {0.2, 0.1, -3, 1}, {1, 1, 1, 1}}
	for _, g := range grads {
		copy(a.Grad.Data, g)
		oa.Step(0.01)
	}

	b := run()
	ob := NewAdamW([]*autograd.Var{b}, cfg)
	for _, g := range grads[:2] {
		copy(b.Grad.Data, g)
		ob.Step(0.01)
	}
	c := autograd.NewParam("w", b.Value.Clone())
	oc := NewAdamW([]*autograd.Var{c}, cfg)
	mb, vb := ob.Moments("w")
	mc, vc := oc.Moments("w")
	copy(mc, mb)
	copy(vc, vb)
	oc.SetStepCount(ob.StepCount())
	copy(c.Grad.Data, grads[2])
	oc.Step(0.01)
	for i := range a.Value.Data {
		if a.Value.Data[i] != c.Value.Data[i] {
			t.Errorf("w[%d]: uninterrupted %g, restored %g", i, a.Value.Data[i], c.Value.Data[i])
		}
	}
}

func TestAdamWRejectsParamListedTwice(t *testing.T) {
	w := autograd.NewParam("wte.weight", tensor.New(2, 2))
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), `"wte.weight" listed twice`) {
			t.Errorf("panic %v, want one naming wte.weight", r)
		}
	}()
	NewAdamW([]*autograd.Var{w, w}, AdamWConfig{})
}

func TestClipGradNorm(t *testing.T) {
	a := autograd.NewParam("a", tensor.New(1))
	b := autograd.NewParam("b", tensor.New(2, 1))
	a.Grad.Data[0] = 3
	b.Grad.Data[1] = -4
	params := []*autograd.Var{a, b}

	if n := ClipGradNorm(params, 10); n != 5 {
		t.Errorf("norm %g, want 5", n)
	}
	if a.Grad.Data[0] != 3 || b.Grad.Data[1] != -4 {
		t.Errorf("a norm below the limit changed the gradients: %g %g", a.Grad.Data[0],
			b.Grad.Data[1])
	}
	if n := ClipGradNorm(params, 1); n != 5 {
		t.Errorf("norm %g, want 5", n)
	}
	if math.Abs(float64(a.Grad.Data[0])-0.6) > 1e-6 || math.Abs(float64(b.Grad.Data[1])+0.8) > 1e-6 {
		t.Errorf("clipped to 1: %g %g, want 0.6 -0.8", a.Grad.Data[0], b.Grad.Data[1])
	}
}
