package tensor

// gemvNT computes C = alpha*A*Bᵀ + beta*C for a few rows of A (m <= 8),
// with A (m, k) and B (n, k) row-major: the product of a batch of
// activations with an nn.Linear weight. B is the large operand, so it is
// read once, four rows at a time, and each group of four rows is dotted
// with every row of A while it sits in L1. Workers split the columns of C
// (the rows of B).
func gemvNT(ks *kernelSet, par bool, m, n, k int, alpha float32,
	a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kv := k - k%ks.vecLen // the kernels cover [0, kv); Go adds the tail

	// Rows of A in groups of 4; a last group of 2 or 3 rows is copied into
	// a zero-padded scratch block so that the 4-row kernel can read it.
	full := m / 4 * 4
	var pad *[]float32
	if rest := m - full; rest >= 2 {
		pad = getBuf(4 * k)
		p := (*pad)[:4*k]
		clear(p)
		for r := 0; r < rest; r++ {
			copy(p[r*k:(r+1)*k], a[(full+r)*lda:(full+r)*lda+k])
		}
		defer putBuf(pad)
	}

	groups := n / 4
	body := func(lo, hi int) {
		var out [16]float32
		for g := lo; g < hi; g++ {
			j := 4 * g
			brow := b[j*ldb:]
			for i := 0; i < m; i += 4 {
				switch rows := min(4, m-i); {
				case rows == 1:
					if kv > 0 {
						ks.dotNT1(kv, &a[i*lda], &brow[0], ldb, &out[0])
					} else {
						clear(out[:4])
					}
					addTailNT(out[:], a[i*lda:], 0, brow, ldb, kv, k, 1)
					storeNT(c, ldc, i, j, 1, 4, out[:], alpha, beta)
				default:
					src, lds := a[i*lda:], lda
					if rows < 4 {
						src, lds = (*pad)[:4*k], k
					}
					if kv > 0 {
						ks.dotNT4(kv, &src[0], lds, &brow[0], ldb, &out[0])
					} else {
						clear(out[:])
					}
					addTailNT(out[:], src, lds, brow, ldb, kv, k, 4)
					storeNT(c, ldc, i, j, rows, 4, out[:], alpha, beta)
				}
			}
		}
	}
	if par {
		// Each group of 4 rows of B costs 4·k·m multiply-adds; aim for
		// ranges of at least 64K of them.
		ParallelGrain(groups, max(1, (1<<16)/(4*k*m)), body)
	} else {
		body(0, groups)
	}

	// The last n%4 rows of B.
	for j := groups * 4; j < n; j++ {
		brow := b[j*ldb : j*ldb+k]
		for i := 0; i < m; i++ {
			s := dotGeneric(a[i*lda:i*lda+k], brow)
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

// addTailNT adds the products of columns [kv, k) to out (rows×4), where
// row r of A starts at a[r*lda] and row x of B at b[x*ldb].
func addTailNT(out, a []float32, lda int, b []float32, ldb, kv, k, rows int) {
	if kv == k {
		return
	}
	for r := 0; r < rows; r++ {
		ar := a[r*lda+kv : r*lda+k]
		for x := 0; x < 4; x++ {
			out[4*r+x] += dotGeneric(ar, b[x*ldb+kv:x*ldb+k])
		}
	}
}

// storeNT writes C[i+r, j+x] = alpha*out[4r+x] + beta*C for r < rows and
// x < cols, without reading C when beta is 0.
func storeNT(c []float32, ldc, i, j, rows, cols int, out []float32, alpha, beta float32) {
	for r := 0; r < rows; r++ {
		dst := c[(i+r)*ldc+j : (i+r)*ldc+j+cols]
		for x := range dst {
			if beta == 0 {
				dst[x] = alpha * out[4*r+x]
			} else {
				dst[x] = alpha*out[4*r+x] + beta*dst[x]
			}
		}
	}
}
