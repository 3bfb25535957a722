package tensor

import "math"

// Add sets dst[i] = a[i] + b[i].
func Add(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// Axpy sets dst[i] += alpha * x[i].
func Axpy(dst []float32, alpha float32, x []float32) {
	for i := range dst {
		dst[i] += alpha * x[i]
	}
}

// Mul sets dst[i] = a[i] * b[i].
func Mul(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

// Scale sets x[i] *= s.
func Scale(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// Dot returns the sum of a[i]*b[i].
func Dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// AddBias adds bias (n) to every row of x (rows, n).
func AddBias(x, bias []float32, rows int) {
	n := len(bias)
	for r := 0; r < rows; r++ {
		row := x[r*n : (r+1)*n]
		for j := range row {
			row[j] += bias[j]
		}
	}
}

// ColSumAdd adds the column sums of x (rows, n) into dst (n): the bias
// gradient of AddBias.
func ColSumAdd(dst, x []float32, rows int) {
	n := len(dst)
	for r := 0; r < rows; r++ {
		row := x[r*n : (r+1)*n]
		for j := range row {
			dst[j] += row[j]
		}
	}
}

// RowSum sets dst[r] to the sum of row r of x (rows, cols).
func RowSum(dst, x []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		var s float32
		for _, v := range x[r*cols : (r+1)*cols] {
			s += v
		}
		dst[r] = s
	}
}

// RowMax sets dst[r] to the maximum of row r of x (rows, cols). NaN entries
// propagate.
func RowMax(dst, x []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		row := x[r*cols : (r+1)*cols]
		m := float32(math.Inf(-1))
		for _, v := range row {
			if v > m || v != v {
				m = v
				if v != v {
					break
				}
			}
		}
		dst[r] = m
	}
}

// Softmax writes the softmax of each row of x (rows, cols) into dst, which
// may alias x. The row maximum is subtracted first, so large logits stay
// finite; a row whose entries are all -Inf becomes all zeros.
func Softmax(dst, x []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		in := x[r*cols : (r+1)*cols]
		out := dst[r*cols : (r+1)*cols]
		m := float32(math.Inf(-1))
		for _, v := range in {
			if v > m {
				m = v
			}
		}
		if math.IsInf(float64(m), -1) {
			clear(out)
			continue
		}
		var s float32
		for j, v := range in {
			e := float32(math.Exp(float64(v - m)))
			out[j] = e
			s += e
		}
		inv := 1 / s
		for j := range out {
			out[j] *= inv
		}
	}
}

// LayerNorm normalises each row of x (rows, cols) to zero mean and unit
// variance, then applies gamma and beta (cols). It stores the row mean and
// reciprocal standard deviation (rows) for the backward pass. The variance
// is computed in two passes around the mean, never as E[x²]−E[x]².
func LayerNorm(out, mean, rstd, x, gamma, beta []float32, rows, cols int, eps float32) {
	for r := 0; r < rows; r++ {
		in := x[r*cols : (r+1)*cols]
		o := out[r*cols : (r+1)*cols]
		var s float64
		for _, v := range in {
			s += float64(v)
		}
		mu := float32(s / float64(cols))
		var ss float64
		for _, v := range in {
			d := float64(v - mu)
			ss += d * d
		}
		rs := float32(1 / math.Sqrt(ss/float64(cols)+float64(eps)))
		for j, v := range in {
			o[j] = (v-mu)*rs*gamma[j] + beta[j]
		}
		mean[r] = mu
		rstd[r] = rs
	}
}

// LayerNormBackward accumulates into dx (rows, cols), dgamma and dbeta
// (cols) the gradients of LayerNorm given dout and the saved mean and rstd.
func LayerNormBackward(dx, dgamma, dbeta, dout, x, mean, rstd, gamma []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		in := x[r*cols : (r+1)*cols]
		g := dout[r*cols : (r+1)*cols]
		d := dx[r*cols : (r+1)*cols]
		mu, rs := mean[r], rstd[r]
		var sumG, sumGX float32
		for j := range in {
			xhat := (in[j] - mu) * rs
			dn := g[j] * gamma[j]
			sumG += dn
			sumGX += dn * xhat
			dgamma[j] += g[j] * xhat
			dbeta[j] += g[j]
		}
		sumG /= float32(cols)
		sumGX /= float32(cols)
		for j := range in {
			xhat := (in[j] - mu) * rs
			dn := g[j] * gamma[j]
			d[j] += (dn - sumG - xhat*sumGX) * rs
		}
	}
}

const geluC = 0.7978845608028654 // sqrt(2/pi)

// GELU sets dst[i] to the tanh approximation of GELU:
// 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))). dst may alias x.
func GELU(dst, x []float32) {
	for i, v := range x {
		u := geluC * (v + 0.044715*v*v*v)
		dst[i] = 0.5 * v * (1 + float32(math.Tanh(float64(u))))
	}
}

// GELUBackward accumulates into dx the gradient dout·GELU'(x).
func GELUBackward(dx, x, dout []float32) {
	for i, v := range x {
		u := geluC * (v + 0.044715*v*v*v)
		th := float32(math.Tanh(float64(u)))
		du := geluC * (1 + 3*0.044715*v*v)
		d := 0.5*(1+th) + 0.5*v*(1-th*th)*du
		dx[i] += dout[i] * d
	}
}

// EmbeddingGather copies row ids[i] of table (V, dim) into row i of dst.
func EmbeddingGather(dst, table []float32, ids []int, dim int) {
	for i, id := range ids {
		copy(dst[i*dim:(i+1)*dim], table[id*dim:(id+1)*dim])
	}
}

// EmbeddingScatterAdd adds row i of src into row ids[i] of table (V, dim):
// the gradient of EmbeddingGather.
func EmbeddingScatterAdd(table []float32, ids []int, src []float32, dim int) {
	for i, id := range ids {
		Axpy(table[id*dim:(id+1)*dim], 1, src[i*dim:(i+1)*dim])
	}
}

// AdamW applies one AdamW step to param in place, updating the moments m
// and v. step counts from 1 and drives the bias correction. Weight decay is
// decoupled: param -= lr·wd·param before the Adam update.
func AdamW(param, grad, m, v []float32, lr, beta1, beta2, eps, weightDecay float32, step int) {
	bc1 := 1 - float32(math.Pow(float64(beta1), float64(step)))
	bc2 := 1 - float32(math.Pow(float64(beta2), float64(step)))
	for i := range param {
		g := grad[i]
		m[i] = beta1*m[i] + (1-beta1)*g
		v[i] = beta2*v[i] + (1-beta2)*g*g
		mhat := m[i] / bc1
		vhat := v[i] / bc2
		param[i] -= lr * (mhat/(float32(math.Sqrt(float64(vhat)))+eps) + weightDecay*param[i])
	}
}
