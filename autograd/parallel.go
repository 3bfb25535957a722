package autograd

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// maxWorkers returns the number of goroutines parallelFor may use.
func maxWorkers() int { return runtime.GOMAXPROCS(0) }

// parallelFor runs fn(w, i) for every i in [0, n) on at most workers
// goroutines, w being the worker's index in [0, workers) so fn can use
// per-worker scratch. Items are handed out one at a time because each is a
// whole attention head, large enough to amortise the atomic counter.
func parallelFor(n, workers int, fn func(w, i int)) {
	workers = max(1, min(workers, n))
	if workers == 1 {
		for i := 0; i < n; i++ {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(w, i)
			}
		}()
	}
	wg.Wait()
}
