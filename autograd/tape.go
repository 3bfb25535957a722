package autograd

import (
	"fmt"

	"github.com/goushi/goushi/tensor"
)

// Var is a node of the computation: a value and, once a backward pass has
// reached it, the gradient of the loss with respect to that value.
type Var struct {
	Value *tensor.Tensor
	// Grad has Value's shape. Parameters always have one. An intermediate
	// variable gets one from the tape arena when a gradient first flows into
	// it, and gives it back once the op that produced the variable has run
	// its backward pass, so after Backward it is nil again. The exception is
	// the logits of CrossEntropy, whose gradient is their own Value.
	Grad *tensor.Tensor
	// Name identifies a parameter for checkpoints and optimizers; empty for
	// intermediate values.
	Name string

	param bool
}

// NewParam returns a trainable leaf variable that wraps value (not copied)
// and owns a zeroed gradient of the same shape.
func NewParam(name string, value *tensor.Tensor) *Var {
	return &Var{
		Value: value,
		Grad:  tensor.New(value.Shape...),
		Name:  name,
		param: true,
	}
}

// Constant returns a leaf variable that is not a parameter, such as an
// input. Ops still pass it a gradient, in a buffer from the tape arena that
// Reset takes back.
func Constant(value *tensor.Tensor) *Var {
	return &Var{Value: value}
}

// IsParam reports whether v was made by NewParam.
func (v *Var) IsParam() bool { return v.param }

// Tape records the backward closures of the ops run on it and owns the
// arena that intermediate values and gradients are drawn from. The zero
// value is not usable; call NewTape. A Tape is not safe for concurrent use.
type Tape struct {
	backward []func()
	arena    arena
	vars     []*Var
	nvars    int

	// Seed drives dropout: each dropout mask is a pure function of Seed,
	// the position of the op on the tape and the element index, so a step
	// run twice with the same Seed drops the same units. A training loop
	// sets it once per step from its own RNG.
	Seed uint64

	// NoGrad makes ops on the tape run as on a nil tape, recording no
	// backward pass and applying no dropout, but with their outputs drawn
	// from the arena. An evaluation loop that calls Reset between batches
	// then reuses the same buffers instead of allocating new ones.
	NoGrad bool

	dropoutOps uint64
}

// NewTape returns an empty tape.
func NewTape() *Tape { return &Tape{} }

// Reset drops the recorded ops and returns every buffer to the arena for
// reuse by the next step. Variables, values and gradients produced by ops
// on this tape before the Reset become invalid, because the next step
// overwrites them.
func (tp *Tape) Reset() {
	clear(tp.backward)
	tp.backward = tp.backward[:0]
	for _, v := range tp.vars[:tp.nvars] {
		*v = Var{}
	}
	tp.nvars = 0
	tp.arena.reset()
	tp.dropoutOps = 0
}

// Len returns the number of ops recorded since the last Reset.
func (tp *Tape) Len() int { return len(tp.backward) }

// ArenaBytes returns the bytes held by the arena. After a step, that is
// about the peak memory of the step's intermediate values and gradients.
func (tp *Tape) ArenaBytes() int { return tp.arena.bytes() }

// Push records fn to be run during Backward after every op pushed later.
// Ops defined outside this package use it to record their backward pass.
// It does nothing on a nil tape or one with NoGrad set.
func (tp *Tape) Push(fn func()) {
	if !tp.Training() {
		return
	}
	tp.backward = append(tp.backward, fn)
}

// pushOp records the backward pass fn of the op that produced out. Once fn
// has run, every consumer of out has already passed its gradient on, so
// out's gradient buffer goes back to the arena for the ops still to run.
func (tp *Tape) pushOp(out *Var, fn func()) {
	tp.Push(func() {
		fn()
		if g := out.Grad; g != nil && !out.param && g != out.Value {
			tp.arena.release(g)
			out.Grad = nil
		}
	})
}

// release hands t back to the arena before the end of the step. t must
// have come from Alloc or AllocNoZero on this tape and must not be read
// again until the next step.
func (tp *Tape) release(t *tensor.Tensor) {
	if tp != nil {
		tp.arena.release(t)
	}
}

// Backward seeds the gradient of loss, a single-element variable, with 1
// and runs the recorded closures in reverse order. Parameter gradients
// accumulate, so calling Backward on several micro-batches sums them. Run it
// once per recorded step: ops such as CrossEntropy overwrite the values
// they saved, so a second Backward before Reset gives wrong gradients.
func (tp *Tape) Backward(loss *Var) {
	tp.BackwardScaled(loss, 1)
}

// BackwardScaled is Backward with the seed gradient set to scale, as if the
// loss had been multiplied by scale. Gradient accumulation over k
// micro-batches passes 1/k.
func (tp *Tape) BackwardScaled(loss *Var, scale float32) {
	if loss.Value.Size() != 1 {
		panic(fmt.Sprintf("autograd: backward from a loss of shape %v, want one element",
			loss.Value.Shape))
	}
	g := tp.Grad(loss)
	g[0] += scale
	for i := len(tp.backward) - 1; i >= 0; i-- {
		tp.backward[i]()
	}
}

// Alloc returns a zeroed tensor of the given shape: from the arena on a tape,
// freshly allocated on a nil tape.
func (tp *Tape) Alloc(shape ...int) *tensor.Tensor {
	if tp == nil {
		return tensor.New(shape...)
	}
	return tp.arena.get(shape, false)
}

// AllocNoZero is Alloc without clearing reused memory, for buffers that the
// caller overwrites entirely.
func (tp *Tape) AllocNoZero(shape ...int) *tensor.Tensor {
	if tp == nil {
		return tensor.New(shape...)
	}
	return tp.arena.get(shape, true)
}

// NewVar wraps value in an intermediate variable owned by the tape.
func (tp *Tape) NewVar(value *tensor.Tensor) *Var {
	if tp == nil {
		return &Var{Value: value}
	}
	if tp.nvars == len(tp.vars) {
		tp.vars = append(tp.vars, new(Var))
	}
	v := tp.vars[tp.nvars]
	tp.nvars++
	v.Value = value
	return v
}

// Grad returns the gradient data of v, giving v a zeroed gradient from the
// arena first if it has none. Backward closures call it for their inputs.
func (tp *Tape) Grad(v *Var) []float32 {
	if v.Grad == nil {
		v.Grad = tp.Alloc(v.Value.Shape...)
	}
	return v.Grad.Data
}

// gradBuffer returns the gradient data of v like Grad, but when v has no
// gradient yet it allocates one without clearing it and reports fresh.
// The caller must then overwrite every element instead of adding to it,
// which saves clearing a buffer that is about to be written anyway.
func (tp *Tape) gradBuffer(v *Var) (g []float32, fresh bool) {
	if v.Grad == nil {
		v.Grad = tp.AllocNoZero(v.Value.Shape...)
		return v.Grad.Data, true
	}
	return v.Grad.Data, false
}

// addTo sets dst = x when fresh and dst += x otherwise.
func addTo(dst, x []float32, fresh bool) {
	if fresh {
		copy(dst, x)
	} else {
		tensor.Axpy(dst, 1, x)
	}
}

// beta returns the Gemm beta that overwrites a fresh gradient buffer and
// accumulates into an existing one.
func beta(fresh bool) float32 {
	if fresh {
		return 0
	}
	return 1
}

// Training reports whether ops on tp record their backward pass and apply
// dropout: tp is not nil and NoGrad is not set.
func (tp *Tape) Training() bool { return tp != nil && !tp.NoGrad }

// needsGrad reports whether an op on tp should record a backward pass.
func (tp *Tape) needsGrad() bool { return tp.Training() }

// arena hands out float32 buffers and takes them back, early through
// release once their last reader has run, or all together through reset at
// the end of the step. Free buffers are kept by exact length. A training
// step requests the same sizes in the same order every time, so from the
// second step on the free lists serve every request, and the arena's size
// is about the peak of live buffers in one step.
type arena struct {
	entries map[*tensor.Tensor]*arenaEntry
	free    map[int][]*arenaEntry
	all     []*arenaEntry
}

// arenaEntry is one buffer and the tensor header handed out for it.
type arenaEntry struct {
	t     tensor.Tensor
	buf   []float32
	inUse bool
}

func (a *arena) get(shape []int, noZero bool) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if a.free == nil {
		a.free = make(map[int][]*arenaEntry)
		a.entries = make(map[*tensor.Tensor]*arenaEntry)
	}
	var e *arenaEntry
	if list := a.free[n]; len(list) > 0 {
		e = list[len(list)-1]
		a.free[n] = list[:len(list)-1]
		if !noZero {
			clear(e.buf)
		}
	} else {
		e = &arenaEntry{buf: make([]float32, n)}
		a.all = append(a.all, e)
		a.entries[&e.t] = e
	}
	e.inUse = true
	e.t.Data = e.buf
	e.t.Shape = append(e.t.Shape[:0], shape...)
	return &e.t
}

// release returns t to the free lists. It ignores tensors that the arena
// did not hand out, such as parameters, and ones already returned.
func (a *arena) release(t *tensor.Tensor) {
	e, ok := a.entries[t]
	if !ok || !e.inUse {
		return
	}
	e.inUse = false
	a.free[len(e.buf)] = append(a.free[len(e.buf)], e)
}

// reset returns every buffer to the free lists.
func (a *arena) reset() {
	for n, list := range a.free {
		a.free[n] = list[:0]
	}
	for _, e := range a.all {
		e.inUse = false
		a.free[len(e.buf)] = append(a.free[len(e.buf)], e)
	}
}

func (a *arena) bytes() int {
	n := 0
	for _, e := range a.all {
		n += 4 * len(e.buf)
	}
	return n
}
