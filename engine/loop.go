package engine

import (
	"time"

	"github.com/glmv/glmv/model"
)

// loop runs the batched steps until the engine closes.
func (e *Engine) loop() {
	defer close(e.done)
	var running []*seq
	for {
		// Admit waiting requests, or sleep until there is work.
		e.mu.Lock()
		// Requests cancelled while waiting leave at once.
		kept := e.waiting[:0]
		var gone []*seq
		for _, s := range e.waiting {
			if s.ctx.Err() != nil {
				gone = append(gone, s)
			} else {
				kept = append(kept, s)
			}
		}
		clear(e.waiting[len(kept):])
		e.waiting = kept
		for len(running) < e.opts.Parallel && len(e.waiting) > 0 {
			s := e.waiting[0]
			e.waiting = e.waiting[1:]
			s.admitted = time.Now()
			s.info.Queue = s.admitted.Sub(s.queued)
			running = append(running, s)
		}
		e.running = len(running)
		idle := len(running) == 0
		e.mu.Unlock()
		for _, s := range gone {
			e.finish(s, "cancelled", nil)
		}
		if e.ctx.Err() != nil {
			e.shutdown(running)
			return
		}
		if idle {
			select {
			case <-e.wake:
			case <-e.ctx.Done():
			}
			continue
		}
		running = e.step(running)
	}
}

// shutdown ends every running and waiting sequence with ErrClosed.
func (e *Engine) shutdown(running []*seq) {
	e.mu.Lock()
	running = append(running, e.waiting...)
	e.waiting = nil
	e.running = 0
	e.mu.Unlock()
	for _, s := range running {
		s.stream.push(Event{Done: true, Finish: "error", Err: ErrClosed, Info: &s.info})
	}
}

// finish ends s with reason and hands its KV cache to the prefix cache.
// The cache holds the sequence before its Done event is delivered, so a
// conversation's next turn always finds it.
func (e *Engine) finish(s *seq, reason string, err error) {
	if err == nil && s.kv.Len > s.start {
		e.cache.addPrefix(s.keys, s.kv)
	}
	s.kv, s.embeds = nil, nil
	s.stream.push(Event{Done: true, Finish: reason, Err: err, Info: &s.info})
	s.stream.cancel()
}

// step runs one batched forward pass and returns the sequences still
// running.
func (e *Engine) step(running []*seq) []*seq {
	H := e.net.Config.Text.Hidden
	// Drop sequences whose context ended.
	live := running[:0]
	for _, s := range running {
		if s.ctx.Err() != nil {
			e.finish(s, "cancelled", nil)
			continue
		}
		live = append(live, s)
	}
	running = live
	if len(running) == 0 {
		return running
	}
	// Rows: each decoding sequence its last token; prefilling sequences
	// share the chunk budget in admission order. With no decode waiting,
	// a lone prompt is prefilled whole.
	decoding := 0
	for _, s := range running {
		if s.embeds == nil {
			decoding++
		}
	}
	budget := e.opts.ChunkTokens
	if decoding == 0 {
		budget = 1 << 30
	}
	var (
		seqs   []model.Seq
		batch  []*seq
		h      []float32
		pos    [3][]int
		wantAt []int // row of the batch whose logits each batch member needs (-1: none)
	)
	rows := 0
	for _, s := range running {
		var n int
		if s.embeds != nil {
			done := s.kv.Len - s.start
			n = min(len(s.req.IDs)-s.kv.Len, budget)
			if n <= 0 {
				continue
			}
			budget -= n
			h = append(h, s.embeds[done*H:(done+n)*H]...)
			for a := range pos {
				pos[a] = append(pos[a], s.pos[a][s.kv.Len:s.kv.Len+n]...)
			}
		} else {
			n = 1
			at := len(h)
			h = append(h, make([]float32, H)...)
			e.net.Weights.Text.Embed.Row(s.last, h[at:])
			p := s.kv.Len + s.delta
			for a := range pos {
				pos[a] = append(pos[a], p)
			}
		}
		want := -1
		if s.embeds == nil || s.kv.Len+n == len(s.req.IDs) {
			want = rows + n - 1
		}
		seqs = append(seqs, model.Seq{Cache: s.kv, T: n})
		batch = append(batch, s)
		wantAt = append(wantAt, want)
		rows += n
	}
	hidden, err := e.net.Text.ForwardBatch(e.ctx, h, &pos, seqs, nil)
	e.mu.Lock()
	e.steps++
	e.mu.Unlock()
	if err != nil {
		if e.ctx.Err() != nil {
			return running // the loop shuts down
		}
		e.log.Error("engine step failed", "err", err)
		for _, s := range running {
			e.finish(s, "error", err)
		}
		return nil
	}
	// Logits for every sequence that needs a token, in one pass over
	// the output head.
	var last []float32
	var need []int
	for i, at := range wantAt {
		if at >= 0 {
			last = append(last, hidden[at*H:(at+1)*H]...)
			need = append(need, i)
		}
	}
	var logits []float32
	if len(need) > 0 {
		logits = e.net.Text.Logits(last, len(need))
	}
	V := e.net.Config.Text.Vocab
	ended := map[*seq]bool{}
	for j, i := range need {
		s := batch[i]
		if s.embeds != nil {
			// Prompt done.
			s.embeds = nil
			s.info.Prefill = time.Since(s.admitted)
		} else {
			s.keys = append(s.keys, uint64(s.last))
		}
		id := s.req.Sample(logits[j*V : (j+1)*V])
		if s.eos[id] {
			e.finish(s, "stop", nil)
			ended[s] = true
			continue
		}
		s.made++
		ev := Event{Token: id}
		if s.first {
			ev.Info = &s.info
			s.first = false
		}
		s.stream.push(ev)
		s.last = id
		if s.made >= s.req.MaxNew {
			e.finish(s, "length", nil)
			ended[s] = true
		}
	}
	live = running[:0]
	for _, s := range running {
		if !ended[s] {
			live = append(live, s)
		}
	}
	return live
}
