package autograd

import (
	"fmt"

	"github.com/goushi/goushi/tensor"
)

// Var is a node of the computation: a value and, once a backward pass has
// reached it, the gradient of the loss with respect to that value.
type Var struct {
	Value *tensor.Tensor
	// Grad has Value's shape. Parameters always have one. Intermediate
	// variables get one from the tape arena when a gradient first flows
	// into them, so nil means that no gradient reached the variable.
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

// Constant returns a leaf variable that takes no gradient, such as an input.
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

	dropoutOps uint64
}

// NewTape returns an empty tape.
func NewTape() *Tape { return &Tape{} }

// Reset drops the recorded ops and rewinds the arena, keeping every buffer
// for reuse by the next step. Values and gradients produced by ops on this
// tape before the Reset become invalid, because the next step overwrites them.
func (tp *Tape) Reset() {
	clear(tp.backward)
	tp.backward = tp.backward[:0]
	for _, v := range tp.vars[:tp.nvars] {
		*v = Var{}
	}
	tp.nvars = 0
	tp.arena.rewind()
	tp.dropoutOps = 0
}

// Len returns the number of ops recorded since the last Reset.
func (tp *Tape) Len() int { return len(tp.backward) }

// ArenaBytes returns the bytes held by the arena: the memory that the
// intermediate values and gradients of one step occupy at its peak.
func (tp *Tape) ArenaBytes() int { return tp.arena.bytes() }

// Push records fn to be run during Backward after every op pushed later.
// Ops defined outside this package use it to record their backward pass.
// It does nothing on a nil tape.
func (tp *Tape) Push(fn func()) {
	if tp == nil {
		return
	}
	tp.backward = append(tp.backward, fn)
}

// Backward seeds the gradient of loss, a single-element variable, with 1
// and runs the recorded closures in reverse order. Parameter gradients
// accumulate, so calling Backward on several micro-batches sums them.
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
	t := tp.arena.get(shape, false)
	return t
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

// needsGrad reports whether an op on tp should record a backward pass.
func (tp *Tape) needsGrad() bool { return tp != nil }

// arena hands out buffers in the order they are requested and, after a
// rewind, hands the same buffers out again in the same order. A request
// larger than the buffer in its slot replaces that buffer.
type arena struct {
	slots []*tensor.Tensor
	bufs  [][]float32
	next  int
}

func (a *arena) get(shape []int, noZero bool) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if a.next == len(a.slots) {
		a.slots = append(a.slots, &tensor.Tensor{})
		a.bufs = append(a.bufs, nil)
	}
	i := a.next
	a.next++
	buf := a.bufs[i]
	if cap(buf) < n {
		buf = make([]float32, n)
		a.bufs[i] = buf
	} else {
		buf = buf[:n]
		if !noZero {
			clear(buf)
		}
	}
	t := a.slots[i]
	t.Data = buf
	t.Shape = append(t.Shape[:0], shape...)
	return t
}

func (a *arena) rewind() { a.next = 0 }

func (a *arena) bytes() int {
	n := 0
	for _, b := range a.bufs {
		n += 4 * cap(b)
	}
	return n
}
