package autograd

import (
	"fmt"
	"math"

	"github.com/goushi/goushi/tensor"
)

// IgnoreIndex marks a target that contributes neither loss nor gradient.
const IgnoreIndex = -1

// CrossEntropy returns the mean softmax cross-entropy of logits (N, V)
// against targets (N), averaged over the targets that are not IgnoreIndex.
// When every target is ignored the loss is 0 and so are the gradients.
// It panics on a target outside [0, V) other than IgnoreIndex.
//
// The op is fused so that it keeps no (N, V) buffer besides logits. The
// forward pass overwrites logits.Value with the softmax probabilities,
// except in rows whose target is ignored. The backward pass turns them into
// the gradient in place, and logits.Grad shares that storage unless logits
// already had a gradient. Read the logits before calling CrossEntropy.
func CrossEntropy(tp *Tape, logits *Var, targets []int) *Var {
	n, v := logits.Value.Rows(), logits.Value.Cols()
	if len(targets) != n {
		panic(fmt.Sprintf("autograd: %d targets for %d rows of logits", len(targets), n))
	}
	count := 0
	for i, t := range targets {
		if t == IgnoreIndex {
			continue
		}
		if t < 0 || t >= v {
			panic(fmt.Sprintf("autograd: target %d at row %d outside [0, %d)", t, i, v))
		}
		count++
	}

	// rowLoss (N) gets −log p[target] per row, summed in float64 below.
	rowLoss := tp.AllocNoZero(n)
	z := logits.Value.Data
	// A task of rowGrain rows is at least 64k logits, tens of microseconds.
	rowGrain := max(1, (1<<16)/max(v, 1))
	tensor.ParallelGrain(n, rowGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			rowLoss.Data[r] = 0
			if targets[r] == IgnoreIndex {
				continue
			}
			rowLoss.Data[r] = softmaxNLL(z[r*v:(r+1)*v], targets[r])
		}
	})
	var sum float64
	for _, l := range rowLoss.Data {
		sum += float64(l)
	}
	loss := tp.NewVar(tp.AllocNoZero(1))
	if count > 0 {
		loss.Value.Data[0] = float32(sum / float64(count))
	} else {
		loss.Value.Data[0] = 0
	}
	if !tp.needsGrad() {
		return loss
	}

	tp.pushOp(loss, func() {
		if loss.Grad == nil {
			return
		}
		g := loss.Grad.Data[0]
		if count > 0 {
			g /= float32(count)
		}
		accumulate := logits.Grad != nil
		if !accumulate {
			logits.Grad = logits.Value
		}
		dz := logits.Grad.Data
		tensor.ParallelGrain(n, rowGrain, func(lo, hi int) {
			if !accumulate {
				// One call for the whole range; ignored rows are cleared after.
				tensor.Scale(z[lo*v:hi*v], g)
			}
			for r := lo; r < hi; r++ {
				row := z[r*v : (r+1)*v]
				t := targets[r]
				if accumulate {
					if t != IgnoreIndex {
						tensor.Axpy(dz[r*v:(r+1)*v], g, row)
						dz[r*v+t] -= g
					}
					continue
				}
				if t == IgnoreIndex {
					clear(row)
					continue
				}
				row[t] -= g
			}
		})
	})
	return loss
}

// softmaxNLL replaces row with its softmax and returns −log softmax[t],
// computed as log s + m − z[t] with m the row max and s = Σ exp(z − m),
// so it stays finite when softmax[t] underflows.
func softmaxNLL(row []float32, t int) float32 {
	arg := 0
	for j, x := range row {
		if x > row[arg] {
			arg = j
		}
	}
	m, zt := row[arg], row[t]
	tensor.Softmax(row, row, 1, len(row))
	// The entry at the argmax is e⁰/s = 1/s, so log s = −log p[arg], and
	// p[arg] ≥ 1/V never underflows.
	return float32(float64(m) - float64(zt) - math.Log(float64(row[arg])))
}
