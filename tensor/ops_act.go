package tensor

import "math"

const (
	geluC = 0.7978845608028654 // sqrt(2/pi)
	geluA = 0.044715
)

// geluBlock is the scratch size of the Go GELU loops: the exponentials
// of one block are computed by one vector call.
const geluBlock = 256

// GELU sets dst[i] to the tanh approximation of GELU:
// 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))). dst may alias x.
// It uses 0.5·(1 + tanh u) = 1/(1 + e^(−2u)), with the vectorised exp.
func GELU(dst, x []float32) {
	checkLen("GELU", len(dst), len(x))
	elementwise(len(dst), geluRange, &taskArgs{ks: active, s: [8][]float32{dst, x}})
}

// geluRange is GELU on [lo, hi) of s[1] into s[0].
func geluRange(t taskArgs, lo, hi int) {
	ks, dst, x := t.ks, t.s[0], t.s[1]
	if ks.gelu != nil {
		if nv := vecSplit(ks, hi-lo); nv > 0 {
			ks.gelu(&dst[lo], &x[lo], nv)
			lo += nv
		}
		// The tail, shorter than a vector, one element at a time.
		for i := lo; i < hi; i++ {
			dst[i] = x[i] / (1 + expf(-2*geluC*(x[i]+geluA*x[i]*x[i]*x[i])))
		}
		return
	}
	buf := getBuf(geluBlock)
	e := *buf
	for b := lo; b < hi; b += geluBlock {
		in := x[b:min(b+geluBlock, hi)]
		out := dst[b : b+len(in)]
		expNeg2U(ks, e[:len(in)], in)
		for i, v := range in {
			out[i] = v / (1 + e[i])
		}
	}
	putBuf(buf)
}

// GELUBackward accumulates into dx the gradient dout·GELU'(x). With
// s = 1/(1 + e^(−2u)), GELU = x·s and GELU' = s + 2·x·s·(1−s)·du/dx.
func GELUBackward(dx, x, dout []float32) {
	checkLen("GELUBackward", len(dx), len(x), len(dout))
	elementwise(len(dx), geluBackRange, &taskArgs{ks: active, s: [8][]float32{dx, x, dout}})
}

// geluBackRange is GELUBackward on [lo, hi) of dx s[0], x s[1], dout s[2].
func geluBackRange(t taskArgs, lo, hi int) {
	ks, dx, x, dout := t.ks, t.s[0], t.s[1], t.s[2]
	if ks.geluBack != nil {
		if nv := vecSplit(ks, hi-lo); nv > 0 {
			ks.geluBack(&dx[lo], &x[lo], &dout[lo], nv)
			lo += nv
		}
		for i := lo; i < hi; i++ {
			v := x[i]
			s := 1 / (1 + expf(-2*geluC*(v+geluA*v*v*v)))
			du := geluC * (1 + 3*geluA*v*v)
			dx[i] += dout[i] * (s + 2*v*s*(1-s)*du)
		}
		return
	}
	buf := getBuf(geluBlock)
	e := *buf
	for b := lo; b < hi; b += geluBlock {
		in := x[b:min(b+geluBlock, hi)]
		g := dout[b : b+len(in)]
		d := dx[b : b+len(in)]
		expNeg2U(ks, e[:len(in)], in)
		for i, v := range in {
			s := 1 / (1 + e[i])
			du := geluC * (1 + 3*geluA*v*v)
			d[i] += g[i] * (s + 2*v*s*(1-s)*du)
		}
	}
	putBuf(buf)
}

// expNeg2U sets e[i] = exp(−2u) with u = sqrt(2/π)·(x + 0.044715·x³).
func expNeg2U(ks *kernelSet, e, x []float32) {
	for i, v := range x {
		e[i] = -2 * geluC * (v + geluA*v*v*v)
	}
	nv := vecSplit(ks, len(e))
	if nv > 0 {
		ks.expSum(&e[0], &e[0], nv, 0)
	}
	for i := nv; i < len(e); i++ {
		e[i] = expf(e[i])
	}
}

// EmbeddingGather copies row ids[i] of table (V, dim) into row i of dst.
func EmbeddingGather(dst, table []float32, ids []int, dim int) {
	checkLen("EmbeddingGather", len(ids)*dim, len(dst))
	for i, id := range ids {
		copy(dst[i*dim:(i+1)*dim], table[id*dim:(id+1)*dim])
	}
}

// EmbeddingScatterAdd adds row i of src into row ids[i] of table (V, dim):
// the gradient of EmbeddingGather. Rows run in order, so repeated ids
// accumulate the same way on every run.
func EmbeddingScatterAdd(table []float32, ids []int, src []float32, dim int) {
	checkLen("EmbeddingScatterAdd", len(ids)*dim, len(src))
	ks := active
	for i, id := range ids {
		axpyRange(ks, table[id*dim:(id+1)*dim], 1, src[i*dim:(i+1)*dim])
	}
}

// AdamW applies one AdamW step to param in place, updating the moments m
// and v. step counts from 1 and drives the bias correction. Weight decay is
// decoupled: param -= lr·wd·param before the Adam update.
func AdamW(param, grad, m, v []float32, lr, beta1, beta2, eps, weightDecay float32, step int) {
	checkLen("AdamW", len(param), len(grad), len(m), len(v))
	bc1 := 1 - float32(math.Pow(float64(beta1), float64(step)))
	bc2 := 1 - float32(math.Pow(float64(beta2), float64(step)))
	hp := [9]float32{beta1, 1 - beta1, beta2, 1 - beta2, 1 / bc1, 1 / bc2, lr, eps, weightDecay}
	elementwise(len(param), adamWRange,
		&taskArgs{ks: active, s: [8][]float32{param, grad, m, v}, f: hp})
}

// adamWRange is AdamW on [lo, hi) of param s[0], grad s[1], m s[2] and
// v s[3], with the hyperparameters in f in the order of the kernel's hp:
// beta1, 1−beta1, beta2, 1−beta2, 1/bc1, 1/bc2, lr, eps, weight decay.
func adamWRange(t taskArgs, lo, hi int) {
	ks, param, grad, m, v := t.ks, t.s[0], t.s[1], t.s[2], t.s[3]
	if ks.adamw != nil {
		if nv := vecSplit(ks, hi-lo); nv > 0 {
			// The kernel takes the hyperparameters by pointer; a buffer
			// keeps them off the heap (a pointer passed to a function value
			// moves its target there).
			buf := getBuf(len(t.f))
			hp := (*[9]float32)(*buf)
			*hp = t.f
			ks.adamw(&param[lo], &grad[lo], &m[lo], &v[lo], nv, hp)
			putBuf(buf)
			lo += nv
		}
	}
	hp := &t.f
	lr, eps, weightDecay := hp[6], hp[7], hp[8]
	p, g, mm, vv := param[lo:hi], grad[lo:hi], m[lo:hi], v[lo:hi]
	for i := range p {
		gi := g[i]
		mi := hp[0]*mm[i] + hp[1]*gi
		vi := hp[2]*vv[i] + hp[3]*gi*gi
		mm[i] = mi
		vv[i] = vi
		mhat := mi * hp[4]
		vhat := vi * hp[5]
		p[i] -= lr * (mhat/(float32(math.Sqrt(float64(vhat)))+eps) + weightDecay*p[i])
	}
}
