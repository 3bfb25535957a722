package tensor

import "math"

// LayerNorm normalises each row of x (rows, cols) to zero mean and unit
// variance, then applies gamma and beta (cols). It stores the row mean and
// reciprocal standard deviation (rows) for the backward pass. The variance
// is computed in two passes around the mean, never as E[x²]−E[x]².
//
// Rows whose mean is far above their spread (4e4 ± 1, say) would lose
// their precision to a float32 mean, which is off by up to half an ulp of
// the mean (0.002 at 4e4). So each row is first shifted by its first
// element: the differences are exact or nearly so, both passes sum them in
// float64, and x − mean is formed from the shifted values.
func LayerNorm(out, mean, rstd, x, gamma, beta []float32, rows, cols int, eps float32) {
	checkLen("LayerNorm", rows*cols, len(x), len(out))
	checkLen("LayerNorm", rows, len(mean), len(rstd))
	checkLen("LayerNorm", cols, len(gamma), len(beta))
	ParallelGrain(rows, rowGrain(cols), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			in := x[r*cols : (r+1)*cols]
			o := out[r*cols : (r+1)*cols]
			shift, dm, rs := shiftedMoments(in, eps)
			g, b := gamma[:len(in)], beta[:len(in)]
			for j, v := range in {
				o[j] = ((v-shift)-dm)*rs*g[j] + b[j]
			}
			mean[r] = float32(float64(shift) + float64(dm))
			rstd[r] = rs
		}
	})
}

// shiftedMoments returns the shift (row[0]), the mean of row minus the
// shift, and 1/sqrt(variance+eps), with both passes summed in float64.
func shiftedMoments(row []float32, eps float32) (shift, dm, rs float32) {
	if len(row) == 0 {
		return 0, 0, 0
	}
	shift = row[0]
	var s0, s1 float64
	j := 0
	for ; j+2 <= len(row); j += 2 {
		s0 += float64(row[j] - shift)
		s1 += float64(row[j+1] - shift)
	}
	if j < len(row) {
		s0 += float64(row[j] - shift)
	}
	mu := (s0 + s1) / float64(len(row))
	var q0, q1 float64
	j = 0
	for ; j+2 <= len(row); j += 2 {
		d0 := float64(row[j]-shift) - mu
		d1 := float64(row[j+1]-shift) - mu
		q0 += d0 * d0
		q1 += d1 * d1
	}
	if j < len(row) {
		d := float64(row[j]-shift) - mu
		q0 += d * d
	}
	return shift, float32(mu), float32(1 / math.Sqrt((q0+q1)/float64(len(row))+float64(eps)))
}

// LayerNormBackward accumulates into dx (rows, cols), dgamma and dbeta
// (cols) the gradients of LayerNorm given dout and the saved mean and rstd.
// It uses rstd as saved but recomputes each row's mean in LayerNorm's
// shifted form, because the saved float32 mean is too coarse for rows whose
// mean is far above their spread; mean is checked for length only.
// Rows are split into a number of blocks that depends only on the shape,
// and the blocks' dgamma and dbeta are added in order, so results do not
// depend on the number of workers.
func LayerNormBackward(dx, dgamma, dbeta, dout, x, mean, rstd, gamma []float32, rows, cols int) {
	checkLen("LayerNormBackward", rows*cols, len(dx), len(dout), len(x))
	checkLen("LayerNormBackward", rows, len(mean), len(rstd))
	checkLen("LayerNormBackward", cols, len(dgamma), len(dbeta), len(gamma))
	blocks := min(rows, max(1, rows*cols/opGrain), 16)
	if blocks <= 1 {
		layerNormBackwardRows(dx, dgamma, dbeta, dout, x, mean, rstd, gamma, 0, rows, cols)
		return
	}
	buf := getBuf(2 * blocks * cols)
	defer putBuf(buf)
	part := (*buf)[:2*blocks*cols]
	clear(part)
	Parallel(blocks, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			dg := part[2*b*cols : (2*b+1)*cols]
			db := part[(2*b+1)*cols : (2*b+2)*cols]
			layerNormBackwardRows(dx, dg, db, dout, x, mean, rstd, gamma,
				b*rows/blocks, (b+1)*rows/blocks, cols)
		}
	})
	for b := 0; b < blocks; b++ {
		Axpy(dgamma[:cols], 1, part[2*b*cols:(2*b+1)*cols])
		Axpy(dbeta[:cols], 1, part[(2*b+1)*cols:(2*b+2)*cols])
	}
}

func layerNormBackwardRows(dx, dgamma, dbeta, dout, x, mean, rstd, gamma []float32,
	lo, hi, cols int) {
	for r := lo; r < hi; r++ {
		in := x[r*cols : (r+1)*cols]
		g := dout[r*cols : (r+1)*cols]
		d := dx[r*cols : (r+1)*cols]
		shift, dm := shiftedMean(in)
		rs := rstd[r]
		var sumG, sumGX float32
		for j := range in {
			xhat := ((in[j] - shift) - dm) * rs
			dn := g[j] * gamma[j]
			sumG += dn
			sumGX += dn * xhat
			dgamma[j] += g[j] * xhat
			dbeta[j] += g[j]
		}
		sumG /= float32(cols)
		sumGX /= float32(cols)
		for j := range in {
			xhat := ((in[j] - shift) - dm) * rs
			dn := g[j] * gamma[j]
			d[j] += (dn - sumG - xhat*sumGX) * rs
		}
	}
}

// shiftedMean returns row[0] and the mean of row minus row[0], summed in
// float64: the first pass of shiftedMoments.
func shiftedMean(row []float32) (shift, dm float32) {
	if len(row) == 0 {
		return 0, 0
	}
	shift = row[0]
	var s float64
	for _, v := range row {
		s += float64(v - shift)
	}
	return shift, float32(s / float64(len(row)))
}
