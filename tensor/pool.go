package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The worker pool: GOMAXPROCS-1 long-lived goroutines plus the calling
// goroutine, created on first use. A parallel call publishes a job with a
// fixed set of chunks; helpers and the caller claim chunks with an atomic
// counter. The caller keeps claiming until no chunk is left, so a call never
// waits for a helper to become free and nested calls cannot deadlock: at
// worst the caller runs every chunk itself.

// Jobs are recycled through a free list, so a parallel call allocates
// nothing once the list holds enough jobs. A job is reused only after every
// goroutine that can still see it (the caller and each helper it was
// queued for) has let go of it: refs counts them.
type poolJob struct {
	next    atomic.Int64 // next unclaimed chunk
	chunks  int64
	n       int
	size    int // indices per chunk, except the last
	fn      func(lo, hi int)
	tf      taskFunc // run instead of fn when set, with args
	args    taskArgs
	pending sync.WaitGroup // chunks not yet finished
	left    atomic.Int64   // the same count, for the caller to spin on
	refs    atomic.Int32   // goroutines that hold the job
}

// taskArgs holds the operands of one parallel kernel call. Hot kernels
// pass a taskFunc (a plain function) and its taskArgs by value instead of a
// closure: a closure that the pool's goroutines can see is allocated on the
// heap on every call, and a training step makes tens of thousands of calls.
// Fields have no fixed meaning; each taskFunc documents its own use.
type taskArgs struct {
	ks    *kernelSet
	s     [8][]float32
	f     [9]float32
	n     [10]int
	flags [2]bool
	g     gemmSlice
	fn    taskFunc // the per-chunk function of an elementwise call
}

// taskFunc runs indices [lo, hi) of a parallel call with its arguments.
type taskFunc func(t taskArgs, lo, hi int)

// run claims and runs chunks until none is left.
func (j *poolJob) run() {
	for {
		c := j.next.Add(1) - 1
		if c >= j.chunks {
			return
		}
		lo := int(c) * j.size
		hi := min(lo+j.size, j.n)
		if j.tf != nil {
			j.tf(j.args, lo, hi)
		} else {
			j.fn(lo, hi)
		}
		// Done before left, so that a caller that sees left at 0 may reuse
		// the WaitGroup.
		j.pending.Done()
		j.left.Add(-1)
	}
}

// release drops one hold on j and recycles it when none is left.
func (j *poolJob) release() {
	if j.refs.Add(-1) != 0 {
		return
	}
	j.fn, j.tf, j.args = nil, nil, taskArgs{} // let the operands be collected
	jobFree.Lock()
	if len(jobFree.list) < cap(jobFree.list) {
		jobFree.list = append(jobFree.list, j)
	}
	jobFree.Unlock()
}

// jobFree holds recycled jobs: at most a few per worker are ever in use.
var jobFree struct {
	sync.Mutex
	list []*poolJob
}

func newJob() *poolJob {
	jobFree.Lock()
	if l := len(jobFree.list); l > 0 {
		j := jobFree.list[l-1]
		jobFree.list = jobFree.list[:l-1]
		jobFree.Unlock()
		return j
	}
	jobFree.Unlock()
	return new(poolJob)
}

var (
	poolOnce    sync.Once
	poolWorkers int
	poolQueue   chan *poolJob
)

func startPool() {
	poolWorkers = max(runtime.GOMAXPROCS(0), 1)
	poolQueue = make(chan *poolJob, 4*poolWorkers)
	jobFree.list = make([]*poolJob, 0, 16*poolWorkers)
	for i := 1; i < poolWorkers; i++ {
		go func() {
			for {
				j := receive()
				j.run()
				j.release()
			}
		}()
	}
}

// spinTime is how long an idle worker polls for the next job, and a caller
// polls for its helpers to finish, before parking. Waking a parked goroutine
// through the scheduler took tens of microseconds on the 2-core VM the
// package was tuned on, as long as a whole 256×256 product. Back-to-back
// kernels in a training step arrive well within this window.
const spinTime = 50 * time.Microsecond

// receive returns the next job, polling for spinTime before blocking.
func receive() *poolJob {
	start := time.Now()
	for i := 0; ; i++ {
		select {
		case j := <-poolQueue:
			return j
		default:
		}
		if i%32 == 31 && time.Since(start) > spinTime {
			return <-poolQueue
		}
	}
}

// threadLimit caps the goroutines a parallel call uses; 0 means no cap.
var threadLimit atomic.Int64

// Workers returns the number of goroutines that parallel kernels use: the
// value of GOMAXPROCS when the pool was first used, or fewer after
// SetThreads.
func Workers() int {
	poolOnce.Do(startPool)
	if l := int(threadLimit.Load()); l > 0 && l < poolWorkers {
		return l
	}
	return poolWorkers
}

// SetThreads caps the goroutines that parallel kernels use at n, or lifts
// the cap when n <= 0, and returns the previous cap (0 for none). Benchmarks
// use it to measure one thread without restarting the process.
func SetThreads(n int) int {
	return int(threadLimit.Swap(int64(max(n, 0))))
}

// Parallel runs fn over [0, n) split into contiguous ranges spread over the
// worker pool, and returns when every range is done. The grain is one index:
// each index should cost at least a few microseconds (a row of a few
// thousand floats, one attention head), because n indices may become n
// tasks. Use ParallelGrain for cheaper indices. fn runs on the caller's
// goroutine alone when n is 1 or the pool has one worker. fn must be safe to
// call concurrently on disjoint ranges.
func Parallel(n int, fn func(lo, hi int)) {
	ParallelGrain(n, 1, fn)
}

// ParallelGrain is Parallel with ranges of at least grain indices (the last
// range may be shorter). When n <= grain, fn(0, n) runs on the caller's
// goroutine. It makes at most 4 ranges per worker so that a worker slowed by
// other load is balanced by the rest.
func ParallelGrain(n, grain int, fn func(lo, hi int)) {
	dispatch(n, grain, fn, nil, nil)
}

// parallelTask is ParallelGrain for a taskFunc: tf(args, lo, hi) runs on
// each range. It allocates nothing.
func parallelTask(n, grain int, tf taskFunc, args *taskArgs) {
	dispatch(n, grain, nil, tf, args)
}

// dispatch runs fn, or tf with *args when tf is set, over [0, n).
func dispatch(n, grain int, fn func(lo, hi int), tf taskFunc, args *taskArgs) {
	if n <= 0 {
		return
	}
	grain = max(grain, 1)
	w := Workers()
	chunks := 1
	size := n
	if w > 1 && n > grain {
		chunks = min((n+grain-1)/grain, 4*w)
		size = (n + chunks - 1) / chunks
		chunks = (n + size - 1) / size
	}
	if chunks == 1 {
		if tf != nil {
			tf(*args, 0, n)
		} else {
			fn(0, n)
		}
		return
	}

	j := newJob()
	j.next.Store(0)
	j.chunks, j.n, j.size, j.fn, j.tf = int64(chunks), n, size, fn, tf
	if tf != nil {
		j.args = *args
	}
	j.pending.Add(chunks)
	j.left.Store(int64(chunks))
	j.refs.Store(1)
	for i := 0; i < min(w-1, chunks-1); i++ {
		j.refs.Add(1)
		select {
		case poolQueue <- j:
		default:
			// Every helper is busy and the queue is full: the caller runs
			// the remaining chunks itself.
			j.refs.Add(-1)
		}
	}

	j.run()
	start := time.Now()
	for i := 0; j.left.Load() > 0; i++ {
		if i%32 == 31 && time.Since(start) > spinTime {
			j.pending.Wait()
			break
		}
	}
	j.release()
}
