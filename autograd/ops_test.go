package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/goushi/goushi/tensor"
)

func TestCrossEntropyValueByHand(t *testing.T) {
	// Row 0: logits (0, ln 3) and target 1, so p = 3/4 and the loss is
	// ln(4/3). Row 1 is ignored. Row 2: logits (2, 2), target 0, loss ln 2.
	z := Constant(tensor.FromSlice([]float32{0, float32(math.Log(3)), 5, -5, 2, 2}, 3, 2))
	tp := NewTape()
	loss := CrossEntropy(tp, z, []int{1, IgnoreIndex, 0})
	want := (math.Log(4.0/3) + math.Log(2)) / 2
	if got := float64(loss.Value.Data[0]); math.Abs(got-want) > 1e-6 {
		t.Fatalf("loss %.8f, want %.8f", got, want)
	}

	tp.Backward(loss)
	// d loss / d z = (softmax − onehot) / 2 on counted rows, 0 on ignored.
	wantGrad := []float64{0.25 / 2, -0.25 / 2, 0, 0, -0.5 / 2, 0.5 / 2}
	for i, w := range wantGrad {
		if got := float64(z.Grad.Data[i]); math.Abs(got-w) > 1e-6 {
			t.Errorf("grad[%d] = %.8f, want %.8f", i, got, w)
		}
	}
}

// TestCrossEntropyAddsToExistingGrad covers logits that already have a
// gradient, such as a parameter: the backward pass adds to it instead of
// reusing the logits' storage. Values as in TestCrossEntropyValueByHand.
func TestCrossEntropyAddsToExistingGrad(t *testing.T) {
	values := []float32{0, float32(math.Log(3)), 5, -5, 2, 2}
	z := NewParam("logits", tensor.FromSlice(values, 3, 2))
	for i := range z.Grad.Data {
		z.Grad.Data[i] = 1
	}
	tp := NewTape()
	tp.Backward(CrossEntropy(tp, z, []int{1, IgnoreIndex, 0}))
	wantGrad := []float64{1 + 0.25/2, 1 - 0.25/2, 1, 1, 1 - 0.5/2, 1 + 0.5/2}
	for i, w := range wantGrad {
		if got := float64(z.Grad.Data[i]); math.Abs(got-w) > 1e-6 {
			t.Errorf("grad[%d] = %.8f, want %.8f", i, got, w)
		}
	}
}

func TestCrossEntropyLargeLogitsFinite(t *testing.T) {
	// The target's probability underflows float32 (e^-200), yet the loss
	// must come out as 200 exactly rather than +Inf.
	z := Constant(tensor.FromSlice([]float32{100, -100, -100}, 1, 3))
	loss := CrossEntropy(nil, z, []int{1})
	if got := loss.Value.Data[0]; math.Abs(float64(got)-200) > 1e-3 {
		t.Fatalf("loss %g, want 200", got)
	}
}

func TestCrossEntropyAllIgnored(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 1))
	w := randParam(rng, "w", 3, 4)
	x := randParam(rng, "x", 2, 4)
	tp := NewTape()
	loss := CrossEntropy(tp, Linear(tp, x, w, nil), []int{IgnoreIndex, IgnoreIndex})
	if got := loss.Value.Data[0]; got != 0 {
		t.Fatalf("loss %g, want 0", got)
	}
	tp.Backward(loss)
	for _, p := range []*Var{w, x} {
		for i, g := range p.Grad.Data {
			if g != 0 {
				t.Errorf("%s grad[%d] = %g, want 0", p.Name, i, g)
			}
		}
	}
}

// naiveAttention is a float64 reference for CausalSelfAttention without
// dropout: explicit scores, mask and softmax per head.
func naiveAttention(qkv []float32, B, T, H, C int) []float64 {
	hd := C / H
	out := make([]float64, B*T*C)
	at := func(b, t, part, h, d int) float64 {
		return float64(qkv[(b*T+t)*3*C+part*C+h*hd+d])
	}
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			for i := 0; i < T; i++ {
				w := make([]float64, i+1)
				var maxScore, sum float64 = math.Inf(-1), 0
				for j := 0; j <= i; j++ {
					for d := 0; d < hd; d++ {
						w[j] += at(b, i, 0, h, d) * at(b, j, 1, h, d)
					}
					w[j] /= math.Sqrt(float64(hd))
					maxScore = math.Max(maxScore, w[j])
				}
				for j := range w {
					w[j] = math.Exp(w[j] - maxScore)
					sum += w[j]
				}
				for d := 0; d < hd; d++ {
					var s float64
					for j := range w {
						s += w[j] / sum * at(b, j, 2, h, d)
					}
					out[(b*T+i)*C+h*hd+d] = s
				}
			}
		}
	}
	return out
}

func TestAttentionMatchesNaive(t *testing.T) {
	const B, T, H, C = 2, 7, 3, 12
	rng := rand.New(rand.NewPCG(4, 2))
	qkv := randParam(rng, "qkv", B*T, 3*C)
	want := naiveAttention(qkv.Value.Data, B, T, H, C)
	for _, tp := range []*Tape{nil, NewTape()} {
		got := CausalSelfAttention(tp, qkv, B, T, H, 0).Value.Data
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-5 {
				t.Fatalf("tape %v: out[%d] = %g, want %g", tp != nil, i, got[i], want[i])
			}
		}
	}
}

func TestAttentionIgnoresFuture(t *testing.T) {
	const B, T, H, C = 1, 6, 2, 4
	rng := rand.New(rand.NewPCG(4, 3))
	qkv := randParam(rng, "qkv", B*T, 3*C)
	before := CausalSelfAttention(nil, qkv, B, T, H, 0).Value.Clone()
	// Change every q, k and v of the last two positions.
	for i := 4 * 3 * C; i < len(qkv.Value.Data); i++ {
		qkv.Value.Data[i] += 10
	}
	after := CausalSelfAttention(nil, qkv, B, T, H, 0).Value
	for i := 0; i < 4*C; i++ {
		if before.Data[i] != after.Data[i] {
			t.Errorf("out[%d] changed from %g to %g after changing later positions",
				i, before.Data[i], after.Data[i])
		}
	}
}

func TestDropoutRateAndScale(t *testing.T) {
	x := Constant(tensor.New(100000))
	for i := range x.Value.Data {
		x.Value.Data[i] = 1
	}
	tp := NewTape()
	tp.Seed = 42
	out := Dropout(tp, x, 0.25)
	zeros := 0
	for i, v := range out.Value.Data {
		switch v {
		case 0:
			zeros++
		case 1 / 0.75:
		default:
			t.Fatalf("out[%d] = %g, want 0 or %g", i, v, 1/0.75)
		}
	}
	// Binomial(1e5, 0.25) has standard deviation 137; allow 5 of them.
	if zeros < 25000-685 || zeros > 25000+685 {
		t.Errorf("%d of 100000 dropped, want about 25000", zeros)
	}
	if Dropout(nil, x, 0.25) != x {
		t.Error("dropout on a nil tape did not return its input")
	}
}

func TestNilTapeRecordsNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	x, w := randParam(rng, "x", 3, 4), randParam(rng, "w", 5, 4)
	y := GELU(nil, Linear(nil, x, w, nil))
	if y.Grad != nil {
		t.Error("no-grad output has a gradient buffer")
	}
	tp := NewTape()
	y2 := GELU(tp, Linear(tp, x, w, nil))
	for i := range y.Value.Data {
		if y.Value.Data[i] != y2.Value.Data[i] {
			t.Fatalf("out[%d]: no-grad %g, with tape %g", i, y.Value.Data[i], y2.Value.Data[i])
		}
	}
	if tp.Len() != 2 {
		t.Errorf("tape recorded %d ops, want 2", tp.Len())
	}
}

// TestNoGradTapeRecordsNothing runs linear, GELU, attention and dropout on
// a NoGrad tape. The values must equal those of a nil tape, so dropout is
// the identity. No op may be recorded, and a second pass after Reset must
// reuse the arena without growing it.
func TestNoGradTapeRecordsNothing(t *testing.T) {
	const B, T, H, C = 2, 4, 2, 4
	rng := rand.New(rand.NewPCG(5, 5))
	x, w := randParam(rng, "x", B*T, C), randParam(rng, "w", 3*C, C)
	forward := func(tp *Tape) *Var {
		qkv := Dropout(tp, Linear(tp, x, w, nil), 0.5)
		return GELU(tp, CausalSelfAttention(tp, qkv, B, T, H, 0.5))
	}
	want := forward(nil)

	tp := NewTape()
	tp.NoGrad = true
	tp.Seed = 3
	var arena int
	for pass := range 2 {
		tp.Reset()
		got := forward(tp)
		for i := range want.Value.Data {
			if got.Value.Data[i] != want.Value.Data[i] {
				t.Fatalf("pass %d out[%d]: NoGrad tape %g, nil tape %g", pass, i,
					got.Value.Data[i], want.Value.Data[i])
			}
		}
		if tp.Len() != 0 {
			t.Errorf("pass %d: NoGrad tape recorded %d ops, want 0", pass, tp.Len())
		}
		if pass == 1 && tp.ArenaBytes() != arena {
			t.Errorf("arena grew from %d to %d bytes on the second pass", arena,
				tp.ArenaBytes())
		}
		arena = tp.ArenaBytes()
	}
	if arena == 0 {
		t.Error("NoGrad tape drew nothing from its arena")
	}
}

// TestTapeReuse runs the same step twice on one tape: the gradients must
// match exactly, the arena must not grow, and the second step must not
// allocate any large buffer.
func TestTapeReuse(t *testing.T) {
	const B, T, H, C = 2, 8, 2, 8
	rng := rand.New(rand.NewPCG(4, 5))
	x := randParam(rng, "x", B*T, C)
	w := randParam(rng, "w", 3*C, C)
	g, b := randParam(rng, "gain", C), randParam(rng, "bias", C)
	targets := make([]int, B*T)
	for i := range targets {
		targets[i] = i % C
	}

	tp := NewTape()
	tp.Seed = 3
	step := func() []float32 {
		tp.Reset()
		w.Grad.Zero()
		h := LayerNorm(tp, x, g, b, 1e-5)
		a := CausalSelfAttention(tp, Linear(tp, h, w, nil), B, T, H, 0.1)
		y := Dropout(tp, GELU(tp, a), 0.1)
		tp.Backward(CrossEntropy(tp, Linear(tp, y, x, nil), targets))
		return append([]float32(nil), w.Grad.Data...)
	}

	first := step()
	bytes := tp.ArenaBytes()
	second := step()
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("grad[%d]: first step %g, second %g", i, first[i], second[i])
		}
	}
	if tp.ArenaBytes() != bytes {
		t.Errorf("arena grew from %d to %d bytes on the second step", bytes, tp.ArenaBytes())
	}
	// Closures, variables and worker goroutines cost about 20 small
	// allocations per op (173 here, 215 under the race detector). A buffer
	// allocated per row or per head would add hundreds more.
	allocs := testing.AllocsPerRun(5, func() { step() })
	if allocs > 400 {
		t.Errorf("a reused step made %.0f allocations, want at most 400", allocs)
	}
}

func TestBackwardScaledAccumulates(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 6))
	x, w := randParam(rng, "x", 3, 4), randParam(rng, "w", 2, 4)
	targets := []int{0, 1, 1}
	run := func(scale float32) {
		tp := NewTape()
		tp.BackwardScaled(CrossEntropy(tp, Linear(tp, x, w, nil), targets), scale)
	}
	run(1)
	once := w.Grad.Clone()
	w.Grad.Zero()
	run(0.5)
	run(0.5)
	for i := range once.Data {
		if math.Abs(float64(once.Data[i]-w.Grad.Data[i])) > 1e-7 {
			t.Errorf("grad[%d]: one full backward %g, two halves %g", i, once.Data[i], w.Grad.Data[i])
		}
	}
}
