package tensor

import "os"

// kernelSet is one implementation of the inner loops: the GEMM microkernel
// with its register tile and cache block sizes, and the vector kernels used
// by the GEMV path and the elementwise operations.
type kernelSet struct {
	name string

	// mr×nr is the register tile of the microkernel. kc, mc and nc are the
	// cache blocks of the packed GEMM; README.md says how they were chosen.
	mr, nr     int
	kc, mc, nc int

	// micro computes the mr×nr tile C = alpha*Ap*Bp + beta*C from a packed A
	// micro-panel (k, mr) and a packed B micro-panel (k, nr), with ldc in
	// elements. When beta is 0 it does not read C.
	micro func(k int, a, b, c *float32, ldc int, alpha, beta float32)

	// dotNT4 dots 4 rows of a with groups×4 rows of b, each of length k (a
	// multiple of vecLen), with row strides lda and ldb in elements: for
	// group g, out[16g+4i+j] = dot(a row i, b row 4g+j). dotNT1 does the same
	// for 1 row of a: out[4g+j] = dot(a, b row 4g+j).
	dotNT4 func(k int, a *float32, lda int, b *float32, ldb int, out *float32, groups int)
	dotNT1 func(k int, a *float32, b *float32, ldb int, out *float32, groups int)
	vecLen int

	// Elementwise kernels over n elements, n a multiple of vecLen: dst =
	// a+b, dst = a*b, dst += alpha*x, x *= s, and dst = exp(src-shift)
	// returning the sum of dst. The Go wrappers in ops.go run the tails.
	add    func(dst, a, b *float32, n int)
	mul    func(dst, a, b *float32, n int)
	axpy   func(dst, x *float32, alpha float32, n int)
	scale  func(x *float32, s float32, n int)
	expSum func(dst, src *float32, n int, shift float32) float32

	// Optional fused kernels; nil means the Go loops in ops_act.go and
	// ops.go run instead. max may ignore NaN entries.
	gelu     func(dst, x *float32, n int)
	geluBack func(dx, x, dout *float32, n int)
	adamw    func(param, grad, mom, vel *float32, n int, hp *[9]float32)
	max      func(x *float32, n int) float32

	// Optional LayerNorm row kernels: the sum of x-shift, the sum of
	// ((x-shift)-dm)², and out = ((x-shift)-dm)·rs·gamma + beta.
	sumDiff   func(x *float32, n int, shift float32) float32
	sumSqDiff func(x *float32, n int, shift, dm float32) float32
	lnNorm    func(out, x, gamma, beta *float32, n int, shift, dm, rs float32)

	// Optional LayerNorm backward row kernels; see lnBackSumsAVX512 and
	// lnBackDxAVX512.
	lnBackSums func(dgamma, dbeta, dout, x, gamma *float32, n int,
		shift, dm, rs float32) (sumG, sumGX float32)
	lnBackDx func(dx, dout, x, gamma *float32, n int, shift, dm, rs, meanG, meanGX float32)

	// packT, when not nil, transposes a block for packing: d[p*rows+r] =
	// a[r*lda+p] for r < rows and p < kb, both multiples of 4.
	packT func(d, a *float32, lda, kb, rows int)

	// peak runs n rounds of register-only FMAs of peakFlops each; nil for
	// the generic set, which has no FMA instruction to measure.
	peak      func(n int)
	peakFlops int
}

// active is the kernel set in use. It is chosen at start-up and changed only
// by SetKernels.
var active = defaultKernels()

// kernelSets lists the kernel sets this machine supports, fastest first; the
// generic pure-Go set is always last.
var kernelSets = supportedKernels()

func defaultKernels() *kernelSet {
	sets := supportedKernels()
	if name := os.Getenv("GOUSHI_KERNELS"); name != "" {
		for _, s := range sets {
			if s.name == name {
				return s
			}
		}
		// NOTE: an unknown or unsupported value falls back to the best set
		// instead of failing, because a package initialiser cannot return an
		// error; SetKernels reports the same mistake as an error.
	}
	return sets[0]
}

// Kernels returns the names of the kernel paths this machine supports,
// fastest first: some of "avx512", "avx2" and always "generic".
func Kernels() []string {
	names := make([]string, len(kernelSets))
	for i, s := range kernelSets {
		names[i] = s.name
	}
	return names
}

// KernelName returns the name of the kernel path in use. At start-up it is
// the fastest supported path, or the one named by the GOUSHI_KERNELS
// environment variable when this machine supports it.
func KernelName() string { return active.name }

// SetKernels switches every kernel to the named path (one of Kernels()). It
// must not run concurrently with other calls into the package; tests and
// benchmarks call it between runs.
func SetKernels(name string) error {
	ks, err := lookupKernels(name)
	if err != nil {
		return err
	}
	active = ks
	return nil
}
