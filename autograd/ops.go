package autograd

import (
	"fmt"

	"github.com/goushi/goushi/tensor"
)

// Add returns a + b for variables of the same size, such as a residual
// connection.
func Add(tp *Tape, a, b *Var) *Var {
	if a.Value.Size() != b.Value.Size() {
		panic(fmt.Sprintf("autograd: add of shapes %v and %v", a.Value.Shape, b.Value.Shape))
	}
	out := tp.NewVar(tp.AllocNoZero(a.Value.Shape...))
	tensor.Add(out.Value.Data, a.Value.Data, b.Value.Data)
	if !tp.needsGrad() {
		return out
	}
	tp.pushOp(out, func() {
		if out.Grad == nil {
			return
		}
		da, fresh := tp.gradBuffer(a)
		addTo(da, out.Grad.Data, fresh)
		db, fresh := tp.gradBuffer(b)
		addTo(db, out.Grad.Data, fresh)
	})
	return out
}

// Scale returns s·x.
func Scale(tp *Tape, x *Var, s float32) *Var {
	out := tp.NewVar(tp.AllocNoZero(x.Value.Shape...))
	copy(out.Value.Data, x.Value.Data)
	tensor.Scale(out.Value.Data, s)
	if !tp.needsGrad() {
		return out
	}
	tp.pushOp(out, func() {
		if out.Grad == nil {
			return
		}
		tensor.Axpy(tp.Grad(x), s, out.Grad.Data)
	})
	return out
}

// Embedding returns the rows ids[i] of table (V, dim) as an (len(ids), dim)
// variable. It panics on an id outside [0, V).
func Embedding(tp *Tape, table *Var, ids []int) *Var {
	v, dim := table.Value.Dim(0), table.Value.Cols()
	for i, id := range ids {
		if id < 0 || id >= v {
			panic(fmt.Sprintf("autograd: embedding id %d at position %d outside [0, %d)", id, i, v))
		}
	}
	out := tp.NewVar(tp.AllocNoZero(len(ids), dim))
	tensor.EmbeddingGather(out.Value.Data, table.Value.Data, ids, dim)
	if !tp.needsGrad() {
		return out
	}
	tp.pushOp(out, func() {
		if out.Grad == nil {
			return
		}
		tensor.EmbeddingScatterAdd(tp.Grad(table), ids, out.Grad.Data, dim)
	})
	return out
}

// TokenPositionEmbedding returns wte[ids[i]] + wpe[i mod T] as (len(ids), C)
// for ids laid out as sequences of T tokens: GPT-2's input embedding, in
// one buffer. wte is (V, C) and wpe is (≥T, C). It panics on an id outside
// [0, V).
func TokenPositionEmbedding(tp *Tape, wte, wpe *Var, ids []int, T int) *Var {
	v, c := wte.Value.Dim(0), wte.Value.Cols()
	if wpe.Value.Cols() != c || wpe.Value.Dim(0) < T || T <= 0 || len(ids)%T != 0 {
		panic(fmt.Sprintf("autograd: embedding of %d ids in sequences of %d with wte %v, wpe %v",
			len(ids), T, wte.Value.Shape, wpe.Value.Shape))
	}
	for i, id := range ids {
		if id < 0 || id >= v {
			panic(fmt.Sprintf("autograd: embedding id %d at position %d outside [0, %d)", id, i, v))
		}
	}
	out := tp.NewVar(tp.AllocNoZero(len(ids), c))
	tensor.EmbeddingGather(out.Value.Data, wte.Value.Data, ids, c)
	seq := T * c // one sequence of rows, and the wpe rows it adds
	for s := 0; s < len(ids)/T; s++ {
		o := out.Value.Data[s*seq : (s+1)*seq]
		tensor.Add(o, o, wpe.Value.Data[:seq])
	}
	if !tp.needsGrad() {
		return out
	}
	tp.pushOp(out, func() {
		if out.Grad == nil {
			return
		}
		dout := out.Grad.Data
		tensor.EmbeddingScatterAdd(tp.Grad(wte), ids, dout, c)
		dwpe := tp.Grad(wpe)[:seq]
		for s := 0; s < len(ids)/T; s++ {
			tensor.Axpy(dwpe, 1, dout[s*seq:(s+1)*seq])
		}
	})
	return out
}

// LayerNorm normalises each row of x (N, C) and applies the gain and bias
// (C). eps is added to the variance, 1e-5 in GPT-2.
func LayerNorm(tp *Tape, x, gain, bias *Var, eps float32) *Var {
	rows, cols := x.Value.Rows(), x.Value.Cols()
	if gain.Value.Size() != cols || bias.Value.Size() != cols {
		panic(fmt.Sprintf("autograd: layernorm of %v with gain %v and bias %v",
			x.Value.Shape, gain.Value.Shape, bias.Value.Shape))
	}
	out := tp.NewVar(tp.AllocNoZero(x.Value.Shape...))
	mean := tp.AllocNoZero(rows)
	rstd := tp.AllocNoZero(rows)
	tensor.LayerNorm(out.Value.Data, mean.Data, rstd.Data, x.Value.Data,
		gain.Value.Data, bias.Value.Data, rows, cols, eps)
	if !tp.needsGrad() {
		return out
	}
	tp.pushOp(out, func() {
		if out.Grad == nil {
			return
		}
		tensor.LayerNormBackward(tp.Grad(x), tp.Grad(gain), tp.Grad(bias), out.Grad.Data,
			x.Value.Data, mean.Data, rstd.Data, gain.Value.Data, rows, cols)
		tp.release(mean)
		tp.release(rstd)
	})
	return out
}

// GELU applies the tanh approximation of GELU elementwise.
func GELU(tp *Tape, x *Var) *Var {
	out := tp.NewVar(tp.AllocNoZero(x.Value.Shape...))
	tensor.GELU(out.Value.Data, x.Value.Data)
	if !tp.needsGrad() {
		return out
	}
	tp.pushOp(out, func() {
		if out.Grad == nil {
			return
		}
		tensor.GELUBackward(tp.Grad(x), x.Value.Data, out.Grad.Data)
	})
	return out
}

// Dropout zeroes each element of x with probability p and scales the rest
// by 1/(1-p), so the expected value is unchanged. It returns x itself on a
// nil or NoGrad tape (inference) or when p is 0. The mask is derived from tp.Seed and
// is recomputed in the backward pass instead of being stored.
func Dropout(tp *Tape, x *Var, p float32) *Var {
	if !tp.Training() || p == 0 {
		return x
	}
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("autograd: dropout probability %g outside [0, 1)", p))
	}
	stream := tp.nextDropoutStream()
	keep := 1 / (1 - p)
	out := tp.NewVar(tp.AllocNoZero(x.Value.Shape...))
	xd, od := x.Value.Data, out.Value.Data
	tensor.ParallelGrain(len(od), dropoutGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if dropped(stream, uint64(i), p) {
				od[i] = 0
			} else {
				od[i] = xd[i] * keep
			}
		}
	})
	tp.pushOp(out, func() {
		if out.Grad == nil {
			return
		}
		dx, dout := tp.Grad(x), out.Grad.Data
		tensor.ParallelGrain(len(dout), dropoutGrain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				if !dropped(stream, uint64(i), p) {
					dx[i] += dout[i] * keep
				}
			}
		})
	})
	return out
}

// dropoutGrain is the fewest elements worth a task of their own: about 30 µs
// of hashing, far above the cost of handing the task to a worker.
const dropoutGrain = 1 << 14

// nextDropoutStream returns the RNG stream of the next dropout op: a hash
// of the tape's seed and the op's index within the step.
func (tp *Tape) nextDropoutStream() uint64 {
	tp.dropoutOps++
	return mix64(tp.Seed ^ mix64(tp.dropoutOps*0x9e3779b97f4a7c15))
}

// dropped decides element i of a dropout stream: a counter-based draw, so
// forward and backward agree without storing a mask.
func dropped(stream, i uint64, p float32) bool {
	u := mix64(stream + i*0x9e3779b97f4a7c15)
	// 24 high bits give a uniform float32 in [0, 1).
	return float32(u>>40)*(1.0/(1<<24)) < p
}

// mix64 is the SplitMix64 finaliser: a bijective hash with good avalanche.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
