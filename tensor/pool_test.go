package tensor

import (
	"sync/atomic"
	"testing"
)

func TestParallelCoversEachIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 64, 1000} {
		for _, grain := range []int{1, 3, 100} {
			hits := make([]atomic.Int32, n)
			ParallelGrain(n, grain, func(lo, hi int) {
				if lo < 0 || hi > n || lo >= hi {
					t.Errorf("n=%d grain=%d: bad range [%d, %d)", n, grain, lo, hi)
					return
				}
				for i := lo; i < hi; i++ {
					hits[i].Add(1)
				}
			})
			for i := range hits {
				if h := hits[i].Load(); h != 1 {
					t.Fatalf("n=%d grain=%d: index %d ran %d times", n, grain, i, h)
				}
			}
		}
	}
}

func TestParallelGrainKeepsSmallWorkInline(t *testing.T) {
	calls := 0 // not atomic: a second goroutine would be a race under -race
	ParallelGrain(10, 10, func(lo, hi int) {
		calls++
		if lo != 0 || hi != 10 {
			t.Errorf("range [%d, %d), want [0, 10)", lo, hi)
		}
	})
	if calls != 1 {
		t.Fatalf("fn ran %d times, want 1", calls)
	}
}

// TestParallelNested checks that parallel calls made from inside parallel
// work finish even when every worker is busy.
func TestParallelNested(t *testing.T) {
	var total atomic.Int64
	Parallel(8, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			Parallel(50, func(lo, hi int) {
				total.Add(int64(hi - lo))
			})
		}
	})
	if got := total.Load(); got != 400 {
		t.Fatalf("nested total = %d, want 400", got)
	}
}

// TestParallelKernelsConcurrentRace runs parallel elementwise kernels from
// several goroutines at once, so recycled pool jobs pass between calls.
// Under -race it checks that a job is not reused while a helper holds it.
func TestParallelKernelsConcurrentRace(t *testing.T) {
	const n = 3 * opGrain
	done := make(chan bool)
	for g := 0; g < 3; g++ {
		go func(g int) {
			defer func() { done <- true }()
			a, b, d := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range a {
				a[i], b[i] = float32(i%7), float32(g)
			}
			for iter := 0; iter < 20; iter++ {
				Add(d, a, b)
				Scale(d, 2)
				for i := 0; i < n; i += 997 {
					if want := 2 * (float32(i%7) + float32(g)); d[i] != want {
						t.Errorf("goroutine %d: d[%d] = %v, want %v", g, i, d[i], want)
						return
					}
				}
			}
		}(g)
	}
	for g := 0; g < 3; g++ {
		<-done
	}
}
