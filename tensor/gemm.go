package tensor

import (
	"fmt"
	"sync"
)

// minParallelFlops is the size, in floating-point operations (2·m·n·k),
// below which a product runs on the caller's goroutine. It is about 5 µs of
// work at 100 GFLOP/s. That is an estimate of what a handoff to the pool
// costs on the 2-core Zen 5 machine the package was tuned on.
const minParallelFlops = 1 << 19

// gemvMaxRows is the largest m for which an NT product takes the GEMV path,
// which streams B (n, k) row by row without packing it.
const gemvMaxRows = 8

// Gemm computes C = alpha*op(A)*op(B) + beta*C, where op(X) is X or its
// transpose. op(A) is (m, k), op(B) is (k, n) and C is (m, n), all row-major
// with leading dimensions lda, ldb and ldc. When beta is 0, C is not read, so
// NaN in C does not propagate; when alpha or k is 0, A and B are not read
// and C = beta*C. It panics when a slice is too short for its
// shape or a leading dimension is smaller than its row.
//
// Large products are split over the worker pool. For m <= 8 with B
// transposed and A not (activations times an nn.Linear weight (n, k)), B is
// streamed once without packing.
func Gemm(transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	gemm(active, true, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmBatched runs batch independent products C_i = alpha*op(A_i)*op(B_i) +
// beta*C_i, where X_i starts at offset i*strideX in its slice. Small
// products run one per worker; large ones are each split over the pool.
func GemmBatched(transA, transB bool, batch, m, n, k int, alpha float32,
	a []float32, lda, strideA int, b []float32, ldb, strideB int,
	beta float32, c []float32, ldc, strideC int) {
	if batch < 0 || strideA < 0 || strideB < 0 || strideC < 0 {
		panic("tensor: GemmBatched: negative batch or stride")
	}
	if batch == 0 {
		return
	}
	last := batch - 1
	checkGemm(transA, transB, m, n, k, a[min(last*strideA, len(a)):], lda,
		b[min(last*strideB, len(b)):], ldb, c[min(last*strideC, len(c)):], ldc)
	t := taskArgs{ks: active, s: [8][]float32{a, b, c},
		n: [10]int{lda, ldb, ldc, strideA, strideB, strideC, m, n, k},
		f: [9]float32{alpha, beta}, flags: [2]bool{transA, transB}}
	w := Workers()
	flops := 2 * m * n * k
	if w > 1 && batch >= w && (batch >= 4*w || flops < 1<<24) {
		grain := max(1, minParallelFlops/max(flops, 1))
		parallelTask(batch, grain, batchedProducts, &t)
		return
	}
	for i := 0; i < batch; i++ {
		batchedProduct(&t, i, true)
	}
}

// batchedProducts runs products [lo, hi) of a GemmBatched call, each on
// the calling goroutine. t holds the kernel set, A, B and C in s, lda, ldb,
// ldc, the three strides, m, n and k in n, alpha and beta in f, and the
// transposes in flags.
func batchedProducts(t taskArgs, lo, hi int) {
	for i := lo; i < hi; i++ {
		batchedProduct(&t, i, false)
	}
}

func batchedProduct(t *taskArgs, i int, par bool) {
	x := &t.n
	gemm(t.ks, par, t.flags[0], t.flags[1], x[6], x[7], x[8], t.f[0],
		t.s[0][i*x[3]:], x[0], t.s[1][i*x[4]:], x[1], t.f[1], t.s[2][i*x[5]:], x[2])
}

// checkGemm panics unless every slice covers its (rows, cols) shape with its
// leading dimension.
func checkGemm(transA, transB bool, m, n, k int,
	a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("tensor: Gemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("A", a, ar, ac, lda)
	checkMatrix("B", b, br, bc, ldb)
	checkMatrix("C", c, m, n, ldc)
}

func checkMatrix(name string, x []float32, rows, cols, ld int) {
	if ld < max(cols, 1) {
		panic(fmt.Sprintf("tensor: Gemm: leading dimension %d of %s is below its %d columns",
			ld, name, cols))
	}
	if rows > 0 && cols > 0 && len(x) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("tensor: Gemm: %s has %d values, too few for (%d, %d) with stride %d",
			name, len(x), rows, cols, ld))
	}
}

// gemm runs the product on kernel set ks, on the worker pool when par is set
// and the product is large enough. The arguments are already checked.
func gemm(ks *kernelSet, par bool, transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleMatrix(c, m, n, ldc, beta)
		return
	}
	if par && 2*m*n*k < minParallelFlops {
		par = false
	}
	if !transA && transB && m <= gemvMaxRows {
		gemvNT(ks, par, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gemmBlocked(ks, par, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// scaleMatrix sets C = beta*C, writing zeros without reading C when beta
// is 0.
func scaleMatrix(c []float32, m, n, ldc int, beta float32) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// bufFree holds packing and scratch buffers between calls. Unlike a
// sync.Pool, which the garbage collector empties, it keeps them for the
// life of the process: a training step packs tens of megabytes, and
// allocating them anew after every collection would raise the process's
// peak memory far above its live data. At most a few buffers per worker
// are in use at once (a packed B slice per running product, a packed A
// block per task), so the list stays short.
var bufFree struct {
	sync.Mutex
	list []*[]float32
}

// maxFreeBufs bounds the free list; a buffer returned to a full list is
// left to the garbage collector.
const maxFreeBufs = 64

// getBuf returns a buffer of at least n floats with unspecified contents:
// the smallest free one that is large enough, or a new one. Buffers are
// never grown or dropped while the list has room, so once every size in use
// has been requested as often as it is in use at once, no call allocates.
func getBuf(n int) *[]float32 {
	bufFree.Lock()
	best := -1
	for i, p := range bufFree.list {
		if c := cap(*p); c >= n && (best < 0 || c < cap(*bufFree.list[best])) {
			best = i
		}
	}
	if best < 0 {
		bufFree.Unlock()
		s := make([]float32, n)
		return &s
	}
	l := len(bufFree.list) - 1
	p := bufFree.list[best]
	bufFree.list[best] = bufFree.list[l]
	bufFree.list[l] = nil
	bufFree.list = bufFree.list[:l]
	bufFree.Unlock()
	*p = (*p)[:n]
	return p
}

// putBuf returns a buffer from getBuf to the free list. When the list is
// full, the smallest of the buffers and p is left to the garbage collector.
func putBuf(p *[]float32) {
	bufFree.Lock()
	if len(bufFree.list) < maxFreeBufs {
		bufFree.list = append(bufFree.list, p)
	} else {
		small := 0
		for i, q := range bufFree.list {
			if cap(*q) < cap(*bufFree.list[small]) {
				small = i
			}
		}
		if cap(*bufFree.list[small]) < cap(*p) {
			bufFree.list[small] = p
		}
	}
	bufFree.Unlock()
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
