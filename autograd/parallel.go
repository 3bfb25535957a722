package autograd

import "github.com/goushi/goushi/tensor"

// maxWorkers returns the number of goroutines that can run parts of one
// parallel call at the same time: the workers of package tensor's pool.
func maxWorkers() int { return tensor.Workers() }

// parallelFor runs fn(w, i) for every i in [0, n) on package tensor's
// worker pool, one index per task, because each index is a whole attention
// head. w is a scratch slot in [0, slots) that no other running call of fn
// holds. The pool runs up to maxWorkers() parts of a call at once, so slots
// below min(n, maxWorkers()) make parts wait for a free slot.
func parallelFor(n, slots int, fn func(w, i int)) {
	free := make(chan int, slots)
	for w := 0; w < slots; w++ {
		free <- w
	}
	tensor.Parallel(n, func(lo, hi int) {
		w := <-free
		for i := lo; i < hi; i++ {
			fn(w, i)
		}
		free <- w
	})
}
