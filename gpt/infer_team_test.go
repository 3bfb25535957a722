package gpt

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestTeamRunsEveryTaskOnce runs many short sections of varying size, some
// after a pause long enough for the helpers to park, while other
// goroutines keep the processors busy, and checks that every task of every
// section ran exactly once before run returned.
func TestTeamRunsEveryTaskOnce(t *testing.T) {
	const sections = 3000
	counts := make([]atomic.Int32, 64)
	var current atomic.Int32
	bad := atomic.Int32{}
	tm := newTeam(func(kind section, layer, task int) {
		if int32(layer) != current.Load() {
			bad.Add(1)
		}
		counts[task].Add(1)
		if task%7 == 0 {
			runtime.Gosched()
		}
	})
	defer tm.close()

	stop := make(chan struct{})
	defer close(stop)
	for range 2 {
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
					runtime.Gosched()
				}
			}
		}()
	}

	for s := 0; s < sections; s++ {
		n := 1 + s%64
		current.Store(int32(s))
		tm.run(secAttn, s, n)
		for i := 0; i < 64; i++ {
			want := int32(0)
			if i < n {
				want = 1
			}
			if got := counts[i].Swap(0); got != want {
				t.Fatalf("section %d of %d tasks: task %d ran %d times", s, n, i, got)
			}
		}
		if s%500 == 0 {
			time.Sleep(2 * teamSpin) // let the helpers park
		}
	}
	if bad.Load() != 0 {
		t.Errorf("%d tasks ran with the layer of another section", bad.Load())
	}
}
