package compute

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is a persistent set of worker goroutines that run the parallel parts
// of the kernels. A nil *Pool is valid and runs everything on the calling
// goroutine. A Pool is safe for concurrent use: concurrent For calls (the
// engine's decode loop and a request's vision tower, say) share the
// workers, and each caller also works on its own chunks, so none waits on
// another's (the functions given to For must not call For themselves).
type Pool struct {
	workers int
	jobs    chan *forJob
	wg      sync.WaitGroup
	once    sync.Once
	prec    Precision

	// free holds finished jobs and scratch buffers for reuse, so that For
	// and the one-token matrix products allocate nothing of their own.
	mu      sync.Mutex
	free    []*forJob
	scratch []*actScratch
	floats  []*floatScratch
}

// forJob is one For call: its chunks are taken in order by the caller and
// by the workers it was handed to.
type forJob struct {
	fn     func(lo, hi int)
	n      int
	step   int
	chunks int
	next   atomic.Int64
	left   atomic.Int32 // helpers not done yet
	done   sync.WaitGroup
}

// run takes chunks until none is left.
func (j *forJob) run() {
	for {
		c := int(j.next.Add(1) - 1)
		if c >= j.chunks {
			return
		}
		j.fn(c*j.step, min(j.n, (c+1)*j.step))
	}
}

// NewPool starts a pool with n workers; n <= 0 means runtime.GOMAXPROCS(0).
func NewPool(n int) *Pool {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &Pool{workers: n, jobs: make(chan *forJob, n)}
	// The caller's goroutine takes one share of the work itself, so n-1
	// background workers keep n cores busy.
	for i := 0; i < n-1; i++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for {
				j, ok := p.nextJob()
				if !ok {
					return
				}
				j.run()
				j.left.Add(-1)
				j.done.Done()
			}
		}()
	}
	return p
}

// SetPrecision sets the arithmetic of MatMul's many-token products on this
// pool (PrecisionAuto when never set). Call it before the pool is shared
// with other goroutines. A nil pool always uses PrecisionAuto and cannot
// be set.
func (p *Pool) SetPrecision(pr Precision) {
	if p == nil {
		panic("compute: SetPrecision on a nil Pool")
	}
	p.prec = pr
}

// Precision reports the pool's MatMul precision.
func (p *Pool) Precision() Precision {
	if p == nil {
		return PrecisionAuto
	}
	return p.prec
}

// Workers reports how many goroutines (including the caller) share the work.
func (p *Pool) Workers() int {
	if p == nil {
		return 1
	}
	return p.workers
}

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		close(p.jobs)
		p.wg.Wait()
	})
}

// For splits [0, n) into contiguous chunks of at least grain items and calls
// fn on each chunk, in parallel over the pool's workers. It returns when all
// chunks are done.
//
// There are up to forChunksPerWorker chunks per worker, handed out in
// order to whichever worker is free, so a core slowed down by other work
// on the machine does not hold the others up.
func (p *Pool) For(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	w := p.Workers()
	chunks := (n + grain - 1) / grain
	if w <= 1 || chunks <= 1 {
		fn(0, n)
		return
	}
	chunks = min(chunks, w*forChunksPerWorker)
	step := (n + chunks - 1) / chunks
	chunks = (n + step - 1) / step
	j := take(p, &p.free)
	j.fn, j.n, j.step, j.chunks = fn, n, step, chunks
	j.next.Store(0)
	helpers := min(w, chunks) - 1
	j.done.Add(helpers)
	j.left.Store(int32(helpers))
	for range helpers {
		p.jobs <- j
	}
	j.run()
	spinUntil(func() bool { return j.left.Load() == 0 })
	j.done.Wait()
	// No worker touches j after its Done: it can be reused.
	j.fn = nil
	give(p, &p.free, j)
}

// poolSpin is how long a worker polls for its next job, and For's caller
// for the workers to finish, before blocking. Decode runs one For per
// matrix product, a few tens of microseconds apart; a worker that has
// blocked takes 20-30 µs to wake (measured on the 2-core Zen 5 VM), about
// half of which the caller works alone. Polling, with sched_yield between
// polls so that a busy machine's other threads get the core, brought the
// one-token products of two GLM-4.1V layers (Q8_0, 2 workers, 20 µs of
// serial work after each) from 0.94-0.96 to 0.98-1.03 of the read-sum
// probe, and BenchmarkPoolForShort's 30 µs gaps from 76-78 to 51-53 µs/op
// (ideal 50); with gaps longer than poolSpin it is unchanged (350 µs/op).
const poolSpin = 200 * time.Microsecond

// nextJob returns the next job handed to the workers, spinning a while
// before it blocks, or false when the pool is closed.
func (p *Pool) nextJob() (*forJob, bool) {
	var j *forJob
	ok := true
	spinUntil(func() bool {
		select {
		case j, ok = <-p.jobs:
			return true
		default:
			return false
		}
	})
	if j == nil && ok {
		j, ok = <-p.jobs
	}
	return j, ok
}

// spinUntil calls cond until it returns true or poolSpin has passed,
// yielding to other goroutines and the core to other runnable threads
// between calls.
func spinUntil(cond func() bool) {
	var start time.Time
	for i := 0; ; i++ {
		if cond() {
			return
		}
		// A worker woken from blocking may wait in this goroutine's
		// run queue: Gosched lets it run here.
		runtime.Gosched()
		osYield()
		if i&7 == 0 {
			if i == 0 {
				start = time.Now()
			} else if time.Since(start) > poolSpin {
				return
			}
		}
	}
}

// forChunksPerWorker is how many chunks For makes per worker at most.
const forChunksPerWorker = 4

// actScratch holds an activation quantized to 8 bits for the quantized
// row kernels (see matVec).
type actScratch struct {
	q    []int8
	d, s []float32
}

// floatScratch is a zeroed float buffer from getFloats.
type floatScratch struct{ f []float32 }

// take pops an item of list under p's lock, or returns a new one (always
// for a nil pool).
func take[T any](p *Pool, list *[]*T) *T {
	if p != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		if k := len(*list); k > 0 {
			it := (*list)[k-1]
			*list = (*list)[:k-1]
			return it
		}
	}
	return new(T)
}

// give pushes it onto list under p's lock for a later take (a nil pool
// keeps nothing).
func give[T any](p *Pool, list *[]*T, it *T) {
	if p == nil {
		return
	}
	p.mu.Lock()
	*list = append(*list, it)
	p.mu.Unlock()
}

// getScratch returns quantized-activation buffers of nq values and nb
// blocks, reused from an earlier call when the pool has them; give them
// back with putScratch.
func (p *Pool) getScratch(nq, nb int) *actScratch {
	a := take(p, p.scratchList())
	if cap(a.q) < nq {
		a.q = make([]int8, nq)
	}
	if cap(a.d) < nb {
		a.d, a.s = make([]float32, nb), make([]float32, nb)
	}
	a.q, a.d, a.s = a.q[:nq], a.d[:nb], a.s[:nb]
	return a
}

// putScratch keeps a for a later getScratch.
func (p *Pool) putScratch(a *actScratch) { give(p, p.scratchList(), a) }

// getFloats returns n zeroed floats, reused from an earlier call when the
// pool has a buffer; give them back with putFloats.
func (p *Pool) getFloats(n int) *floatScratch {
	b := take(p, p.floatList())
	if cap(b.f) < n {
		b.f = make([]float32, n)
	} else {
		b.f = b.f[:n]
		clear(b.f)
	}
	return b
}

// getFloatsDirty is getFloats for scratch that is written before it is
// read: the floats are not cleared.
func (p *Pool) getFloatsDirty(n int) *floatScratch {
	b := take(p, p.floatList())
	if cap(b.f) < n {
		b.f = make([]float32, n)
	}
	b.f = b.f[:n]
	return b
}

// putFloats keeps b for a later getFloats.
func (p *Pool) putFloats(b *floatScratch) { give(p, p.floatList(), b) }

// scratchList and floatList are the pool's free lists (nil for a nil
// pool, which take and give do not use).
func (p *Pool) scratchList() *[]*actScratch {
	if p == nil {
		return nil
	}
	return &p.scratch
}

func (p *Pool) floatList() *[]*floatScratch {
	if p == nil {
		return nil
	}
	return &p.floats
}
