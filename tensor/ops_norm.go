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
// element, both passes sum the shifted values (in float32 vector lanes on
// the SIMD paths, in float64 on the generic one), and x − mean is formed
// from the shifted values.
func LayerNorm(out, mean, rstd, x, gamma, beta []float32, rows, cols int, eps float32) {
	checkLen("LayerNorm", rows*cols, len(x), len(out))
	checkLen("LayerNorm", rows, len(mean), len(rstd))
	checkLen("LayerNorm", cols, len(gamma), len(beta))
	parallelTask(rows, rowGrain(cols), layerNormRows, &taskArgs{ks: active,
		s: [8][]float32{out, mean, rstd, x, gamma, beta}, n: [10]int{cols}, f: [9]float32{eps}})
}

// layerNormRows is LayerNorm on rows [lo, hi): s holds out, mean, rstd, x,
// gamma and beta, n[0] the columns and f[0] eps.
func layerNormRows(t taskArgs, lo, hi int) {
	ks, out, mean, rstd, x, gamma, beta := t.ks, t.s[0], t.s[1], t.s[2], t.s[3], t.s[4], t.s[5]
	cols, eps := t.n[0], t.f[0]
	for r := lo; r < hi; r++ {
		in := x[r*cols : (r+1)*cols]
		o := out[r*cols : (r+1)*cols]
		shift, dm, rs := shiftedMoments(ks, in, eps)
		g, b := gamma[:len(in)], beta[:len(in)]
		j := 0
		if nv := vecSplit(ks, len(in)); ks.lnNorm != nil && nv > 0 {
			ks.lnNorm(&o[0], &in[0], &g[0], &b[0], nv, shift, dm, rs)
			j = nv
		}
		for ; j < len(in); j++ {
			o[j] = ((in[j]-shift)-dm)*rs*g[j] + b[j]
		}
		mean[r] = float32(float64(shift) + float64(dm))
		rstd[r] = rs
	}
}

// shiftedMoments returns the shift (row[0]), the mean of row minus the
// shift, and 1/sqrt(variance+eps).
func shiftedMoments(ks *kernelSet, row []float32, eps float32) (shift, dm, rs float32) {
	shift, dm = shiftedMean(ks, row)
	if len(row) == 0 {
		return shift, dm, 0
	}
	var q float64
	j := 0
	if nv := vecSplit(ks, len(row)); ks.sumSqDiff != nil && nv > 0 {
		q = float64(ks.sumSqDiff(&row[0], nv, shift, dm))
		j = nv
	}
	for ; j < len(row); j++ {
		d := float64(row[j]-shift) - float64(dm)
		q += d * d
	}
	return shift, dm, float32(1 / math.Sqrt(q/float64(len(row))+float64(eps)))
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
		layerNormBackwardRows(active, dx, dgamma, dbeta, dout, x, rstd, gamma, 0, rows, cols)
		return
	}
	buf := getBuf(2 * blocks * cols)
	defer putBuf(buf)
	part := (*buf)[:2*blocks*cols]
	clear(part)
	parallelTask(blocks, 1, layerNormBackwardBlocks, &taskArgs{ks: active,
		s: [8][]float32{dx, dout, x, rstd, gamma, part}, n: [10]int{rows, cols, blocks}})
	for b := 0; b < blocks; b++ {
		Axpy(dgamma[:cols], 1, part[2*b*cols:(2*b+1)*cols])
		Axpy(dbeta[:cols], 1, part[(2*b+1)*cols:(2*b+2)*cols])
	}
}

// layerNormBackwardBlocks runs row blocks [lo, hi) of LayerNormBackward:
// s holds dx, dout, x, rstd, gamma and the blocks' partial dgamma and dbeta,
// n the rows, columns and blocks.
func layerNormBackwardBlocks(t taskArgs, lo, hi int) {
	dx, dout, x, rstd, gamma, part := t.s[0], t.s[1], t.s[2], t.s[3], t.s[4], t.s[5]
	rows, cols, blocks := t.n[0], t.n[1], t.n[2]
	for b := lo; b < hi; b++ {
		dg := part[2*b*cols : (2*b+1)*cols]
		db := part[(2*b+1)*cols : (2*b+2)*cols]
		layerNormBackwardRows(t.ks, dx, dg, db, dout, x, rstd, gamma,
			b*rows/blocks, (b+1)*rows/blocks, cols)
	}
}

func layerNormBackwardRows(ks *kernelSet, dx, dgamma, dbeta, dout, x, rstd, gamma []float32,
	lo, hi, cols int) {
	nv := vecSplit(ks, cols)
	if ks.lnBackSums == nil || ks.lnBackDx == nil {
		nv = 0
	}
	for r := lo; r < hi; r++ {
		in := x[r*cols : (r+1)*cols]
		g := dout[r*cols : (r+1)*cols]
		d := dx[r*cols : (r+1)*cols]
		shift, dm := shiftedMean(ks, in)
		rs := rstd[r]

		var sumG, sumGX float32
		if nv > 0 {
			sumG, sumGX = ks.lnBackSums(&dgamma[0], &dbeta[0], &g[0], &in[0], &gamma[0], nv,
				shift, dm, rs)
		}
		for j := nv; j < cols; j++ {
			xhat := ((in[j] - shift) - dm) * rs
			dn := g[j] * gamma[j]
			sumG += dn
			sumGX += dn * xhat
			dgamma[j] += g[j] * xhat
			dbeta[j] += g[j]
		}
		sumG /= float32(cols)
		sumGX /= float32(cols)

		if nv > 0 {
			ks.lnBackDx(&d[0], &g[0], &in[0], &gamma[0], nv, shift, dm, rs, sumG, sumGX)
		}
		for j := nv; j < cols; j++ {
			xhat := ((in[j] - shift) - dm) * rs
			dn := g[j] * gamma[j]
			d[j] += (dn - sumG - xhat*sumGX) * rs
		}
	}
}

// shiftedMean returns row[0] and the mean of row minus row[0], the first
// pass of shiftedMoments.
func shiftedMean(ks *kernelSet, row []float32) (shift, dm float32) {
	if len(row) == 0 {
		return 0, 0
	}
	shift = row[0]
	var s float64
	j := 0
	if nv := vecSplit(ks, len(row)); ks.sumDiff != nil && nv > 0 {
		s = float64(ks.sumDiff(&row[0], nv, shift))
		j = nv
	}
	for ; j < len(row); j++ {
		s += float64(row[j] - shift)
	}
	return shift, float32(s / float64(len(row)))
}
