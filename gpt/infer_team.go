package gpt

import (
	"sync/atomic"
	"time"

	"github.com/goushi/goushi/tensor"
)

// team runs the parallel sections of a decode step on a fixed set of
// goroutines: the caller and workers-1 helpers. A decode step has two
// sections per layer of a few microseconds each, too short for the
// tensor pool, whose helpers sleep between jobs and take microseconds to
// wake. The helpers here spin for a while after each section, so that the
// next section of the same step starts at once, and then park on a channel
// so that an idle generation costs no CPU.
//
// Every worker claims tasks from one counter, the caller included. A
// helper that the OS has descheduled, because other processes keep the
// machine busy, therefore delays a section by at most the task it holds,
// and the caller runs the tasks the helper never claimed.
type team struct {
	workers int
	work    func(kind section, layer, task int)

	// claim is gen<<32 | next task: gen numbers the sections, so a claim
	// made against an old section fails its compare-and-swap. kind, layer
	// and tasks describe the open section; run writes them while the claim
	// word is closed.
	claim atomic.Uint64
	kind  atomic.Int32
	layer atomic.Int32
	tasks atomic.Int32
	done  atomic.Int32 // tasks of the current section finished

	// waiting is the gen of the section whose last task the caller
	// blocks on finished for, or 0.
	waiting  atomic.Uint64
	finished chan struct{}

	quit    atomic.Bool
	helpers []*teamHelper
}

type teamHelper struct {
	parked atomic.Bool
	wake   chan struct{}
}

// closedClaim is the task index of a claim word that admits no claim.
const closedClaim = 1<<31 - 1

// teamSpin is how long a helper spins for the next section before it
// parks.
const teamSpin = 100 * time.Microsecond

// newTeam starts a team of tensor.Workers() goroutines, the caller
// included, that run work. Call close when done, or the helpers stay
// parked for good.
func newTeam(work func(kind section, layer, task int)) *team {
	t := &team{workers: tensor.Workers(), work: work, finished: make(chan struct{}, 1)}
	for w := 1; w < t.workers; w++ {
		h := &teamHelper{wake: make(chan struct{}, 1)}
		t.helpers = append(t.helpers, h)
		go t.loop(h, 0)
	}
	return t
}

// run runs work(kind, layer, i) for every i in [0, tasks) across the team
// and returns when all are done.
func (t *team) run(kind section, layer, tasks int) {
	// Close the claim word under a new gen before the fields change, so
	// that a claim validated against the old word cannot succeed with the
	// new fields, then open it under the gen after.
	gen := t.claim.Load()>>32 + 2
	t.claim.Store((gen-1)<<32 | closedClaim)
	t.kind.Store(int32(kind))
	t.layer.Store(int32(layer))
	t.tasks.Store(int32(tasks))
	t.done.Store(0)
	t.claim.Store(gen << 32)
	t.wakeAll()

	t.drain()
	t.wait(gen, tasks)
}

// wait returns when tasks tasks of the current section are done. It spins
// briefly, because the last task usually ends within microseconds, then
// blocks, so that on a busy machine a helper sharing this core can run.
func (t *team) wait(gen uint64, tasks int) {
	start := time.Now()
	for spins := 0; int(t.done.Load()) != tasks; spins++ {
		if spins&255 != 0 || time.Since(start) < teamSpin/4 {
			continue
		}
		t.waiting.Store(gen)
		if int(t.done.Load()) == tasks && t.waiting.CompareAndSwap(gen, 0) {
			return
		}
		<-t.finished
		return
	}
}

// drain claims and runs tasks of the current section until none is left.
// The section's fields are read between loading claim and the
// compare-and-swap that validates them: if a newer section was published
// in between, the swap fails and the loop reads again.
func (t *team) drain() {
	for {
		v := t.claim.Load()
		kind, layer, tasks := t.kind.Load(), t.layer.Load(), t.tasks.Load()
		i := int32(v & 0xffffffff)
		if i >= tasks {
			return
		}
		if !t.claim.CompareAndSwap(v, v+1) {
			continue
		}
		t.work(section(kind), int(layer), int(i))
		// The swap names the section, so that a helper finishing late
		// cannot wake the caller from the wait for a later section.
		if t.done.Add(1) == tasks && t.waiting.CompareAndSwap(v>>32, 0) {
			t.finished <- struct{}{}
		}
	}
}

// close stops the helpers.
func (t *team) close() {
	t.quit.Store(true)
	t.claim.Store((t.claim.Load()>>32+1)<<32 | closedClaim)
	t.wakeAll()
}

func (t *team) wakeAll() {
	for _, h := range t.helpers {
		if h.parked.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
}

// loop is a helper: it waits for each section after section last by
// spinning, then parking, and joins it.
func (t *team) loop(h *teamHelper, last uint64) {
	for {
		spins := 0
		start := time.Now()
		for t.claim.Load()>>32 == last {
			spins++
			if spins&1023 != 0 || time.Since(start) < teamSpin {
				continue
			}
			// Park: announce it, then look once more so that a section
			// published in between is not missed. If the publisher already
			// cleared the flag, its wake-up is on the way and must be
			// received.
			h.parked.Store(true)
			if t.claim.Load()>>32 != last && h.parked.CompareAndSwap(true, false) {
				break
			}
			<-h.wake
			spins = 0
			start = time.Now()
		}
		if t.quit.Load() {
			return
		}
		last = t.claim.Load() >> 32
		t.drain()
	}
}
