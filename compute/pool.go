package compute

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool is a persistent set of worker goroutines that run the parallel parts
// of the kernels. A nil *Pool is valid and runs everything on the calling
// goroutine. A Pool is safe for concurrent use: concurrent For calls (the
// engine's decode loop and a request's vision tower, say) share the
// workers, and each caller also works on its own chunks, so none waits on
// another's (the functions given to For must not call For themselves).
type Pool struct {
	workers int
	jobs    chan poolJob
	wg      sync.WaitGroup
	once    sync.Once
	prec    Precision
}

type poolJob struct {
	fn     func(lo, hi int)
	lo, hi int
	done   *sync.WaitGroup
}

// NewPool starts a pool with n workers; n <= 0 means runtime.GOMAXPROCS(0).
func NewPool(n int) *Pool {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &Pool{workers: n, jobs: make(chan poolJob, n)}
	// The caller's goroutine takes one share of the work itself, so n-1
	// background workers keep n cores busy.
	for i := 0; i < n-1; i++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for j := range p.jobs {
				j.fn(j.lo, j.hi)
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
	var next atomic.Int64
	run := func(int, int) {
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks {
				return
			}
			fn(c*step, min(n, (c+1)*step))
		}
	}
	helpers := min(w, chunks) - 1
	var done sync.WaitGroup
	done.Add(helpers)
	for range helpers {
		p.jobs <- poolJob{fn: run, done: &done}
	}
	run(0, 0)
	done.Wait()
}

// forChunksPerWorker is how many chunks For makes per worker at most.
const forChunksPerWorker = 4
