package tensor

// Gemm computes C = alpha*op(A)*op(B) + beta*C, where op(X) is X or its
// transpose. op(A) is (m, k), op(B) is (k, n) and C is (m, n), all row-major
// with leading dimensions lda, ldb and ldc. When beta is 0, C is not read, so
// NaN in C does not propagate.
func Gemm(transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmBatched runs batch independent products C_i = alpha*op(A_i)*op(B_i) +
// beta*C_i, where X_i starts at offset i*strideX in its slice.
func GemmBatched(transA, transB bool, batch, m, n, k int, alpha float32,
	a []float32, lda, strideA int, b []float32, ldb, strideB int,
	beta float32, c []float32, ldc, strideC int) {
	for i := 0; i < batch; i++ {
		Gemm(transA, transB, m, n, k, alpha, a[i*strideA:], lda, b[i*strideB:], ldb,
			beta, c[i*strideC:], ldc)
	}
}

// gemmRef is the plain triple loop that every optimised path is tested against.
func gemmRef(transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}
