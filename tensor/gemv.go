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
	var padded []float32
	if pad != nil {
		padded = (*pad)[:4*k]
	}
	t := taskArgs{ks: ks, s: [8][]float32{a, b, c, padded},
		n: [10]int{m, n, k, lda, ldb, ldc, kv}, f: [9]float32{alpha, beta}}
	if par {
		// Each group of 4 rows of B costs 4·k·m multiply-adds; aim for
		// ranges of at least 64K of them.
		parallelTask(groups, max(1, (1<<16)/(4*k*m)), gemvGroups, &t)
	} else {
		gemvGroups(t, 0, groups)
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

// gemvBatch is the number of 4-row groups of B per kernel call: 128 rows,
// 128 KiB of B at k = 256, which stays in L2 while each group of 4 rows of
// A passes over it.
const gemvBatch = 32

// scaleAdd returns alpha*v + beta*old, without reading old when beta is 0.
func scaleAdd(alpha, v, beta, old float32) float32 {
	if beta == 0 {
		return alpha * v
	}
	return alpha*v + beta*old
}

// gemvGroups runs the groups [lo, hi) of 4 rows of B of gemvNT: s holds A,
// B, C and the zero-padded last rows of A, n holds m, n, k, lda, ldb, ldc
// and kv (the columns the kernels cover), f alpha and beta.
func gemvGroups(t taskArgs, lo, hi int) {
	ks, a, b, c := t.ks, t.s[0], t.s[1], t.s[2]
	m, k, lda, ldb, ldc, kv := t.n[0], t.n[2], t.n[3], t.n[4], t.n[5], t.n[6]
	alpha, beta := t.f[0], t.f[1]
	buf := getBuf(gemvBatch * 16)
	out := (*buf)[:gemvBatch*16]
	for g0 := lo; g0 < hi; g0 += gemvBatch {
		ng := min(gemvBatch, hi-g0)
		j := 4 * g0
		brow := b[j*ldb:]
		for i := 0; i < m; i += 4 {
			rows := min(4, m-i)
			if rows == 1 {
				o := out[:4*ng]
				if kv > 0 {
					ks.dotNT1(kv, &a[i*lda], &brow[0], ldb, &o[0], ng)
				} else {
					clear(o)
				}
				for x := range o {
					if kv < k {
						o[x] += dotGeneric(a[i*lda+kv:i*lda+k], brow[x*ldb+kv:x*ldb+k])
					}
					c[i*ldc+j+x] = scaleAdd(alpha, o[x], beta, c[i*ldc+j+x])
				}
				continue
			}
			src, lds := a[i*lda:], lda
			if rows < 4 {
				src, lds = t.s[3], k
			}
			o := out[:16*ng]
			if kv > 0 {
				ks.dotNT4(kv, &src[0], lds, &brow[0], ldb, &o[0], ng)
			} else {
				clear(o)
			}
			for g := 0; g < ng; g++ {
				for r := 0; r < rows; r++ {
					for x := 0; x < 4; x++ {
						v := o[16*g+4*r+x]
						if kv < k {
							bx := (4*g + x) * ldb
							v += dotGeneric(src[r*lds+kv:r*lds+k], brow[bx+kv:bx+k])
						}
						at := (i+r)*ldc + j + 4*g + x
						c[at] = scaleAdd(alpha, v, beta, c[at])
					}
				}
			}
		}
	}
	putBuf(buf)
}
