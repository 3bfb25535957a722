package serve

import (
	"context"
	"errors"
	"sync"
)

// errQueueFull is returned by queue.enter when every slot is busy and the
// waiting line is at its maximum length.
var errQueueFull = errors.New("queue full")

// queue admits at most limit generations at once and lets at most maxWait
// more requests wait, first come first served.
type queue struct {
	mu      sync.Mutex
	limit   int
	maxWait int
	running int
	waiting []*ticket
}

// ticket is one admitted request. Its ready channel is closed when the
// request may run; position receives the latest 1-based place in line
// while it waits.
type ticket struct {
	q        *queue
	ready    chan struct{}
	position chan int
	running  bool
	done     bool
}

func newQueue(limit, maxWait int) *queue {
	return &queue{limit: limit, maxWait: maxWait}
}

// enter admits a request without blocking. The ticket runs at once when a
// slot is free; otherwise it waits in line. It returns errQueueFull when
// the line is full.
func (q *queue) enter() (*ticket, error) {
	q.mu.Lock()
	defer q.mu.Unlock()

	t := &ticket{q: q, ready: make(chan struct{}), position: make(chan int, 1)}
	if q.running < q.limit && len(q.waiting) == 0 {
		q.running++
		t.running = true
		close(t.ready)
		return t, nil
	}
	if len(q.waiting) >= q.maxWait {
		return nil, errQueueFull
	}
	q.waiting = append(q.waiting, t)
	t.setPosition(len(q.waiting))
	return t, nil
}

// wait blocks until t may run, calling onPosition with each new place in
// line. It returns ctx.Err() when ctx ends first; the caller must still
// call leave.
func (t *ticket) wait(ctx context.Context, onPosition func(int)) error {
	for {
		select {
		case <-t.ready:
			return nil
		case p := <-t.position:
			if onPosition != nil {
				onPosition(p)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// leave frees the ticket's slot, or its place in line if it never ran.
// Calling it more than once has no effect.
func (t *ticket) leave() {
	q := t.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if t.done {
		return
	}
	t.done = true

	if t.running {
		q.running--
	} else {
		for i, w := range q.waiting {
			if w == t {
				q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
				break
			}
		}
	}
	for q.running < q.limit && len(q.waiting) > 0 {
		next := q.waiting[0]
		q.waiting = q.waiting[1:]
		q.running++
		next.running = true
		close(next.ready)
	}
	for i, w := range q.waiting {
		w.setPosition(i + 1)
	}
}

// setPosition replaces any unread position with p. The caller holds q.mu.
func (t *ticket) setPosition(p int) {
	select {
	case <-t.position:
	default:
	}
	t.position <- p
}

// stats returns the number of running and waiting requests.
func (q *queue) stats() (running, waiting int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.running, len(q.waiting)
}
