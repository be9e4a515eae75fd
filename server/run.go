package server

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/glmv/glmv"
)

// output shapes a generation for one endpoint (chat or text completions).
type output interface {
	streaming() bool
	// first is the chunk sent before any event when streaming.
	first() any
	// event records ev and returns the chunk to stream for it (nil: none).
	event(ev glmv.Event) any
	// finish returns the finish reason and the final objects: the chunks
	// that end a stream, or the whole response.
	finish(u *glmv.Usage) (string, []any)
}

// SeedHeader is the response header reporting the sampling seed a request
// used (its own, or a fresh one drawn for it), so the run can be replayed
// by sending it back as "seed".
const SeedHeader = "X-Glmv-Seed"

// maxSeed keeps drawn seeds exact in JavaScript numbers (2^53).
const maxSeed = 1 << 53

// randomSeed draws a fresh seed for a request that did not give one.
func randomSeed() uint64 { return rand.Uint64N(maxSeed) }

// run admits req, generates and writes the answer as out shapes it.
func (s *Server) run(w http.ResponseWriter, r *http.Request, l *loaded, req *glmv.Request, out output) {
	start := s.now()
	release, err := s.admit(r.Context(), l)
	if err != nil {
		if r.Context().Err() == nil {
			writeErr(w, err)
		}
		return
	}
	defer release()
	s.metrics.running.Inc()
	defer s.metrics.running.Dec()
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Limits.RequestTimeout)
	defer cancel()
	w.Header().Set(SeedHeader, strconv.FormatUint(req.Seed, 10))

	var flusher http.Flusher
	if out.streaming() {
		f, ok := w.(http.Flusher)
		if !ok {
			writeError(w, http.StatusInternalServerError, "streaming is not supported by this connection")
			return
		}
		flusher = f
	}
	started := false
	send := func(v any) {
		if !started {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			w.WriteHeader(http.StatusOK)
			started = true
			if f := out.first(); f != nil {
				fmt.Fprintf(w, "data: %s\n\n", marshal(f))
			}
		}
		if v != nil {
			fmt.Fprintf(w, "data: %s\n\n", marshal(v))
		}
		flusher.Flush()
	}
	var u *glmv.Usage
	var gen generator = l.m
	if s.gen != nil {
		gen = s.gen
	}
	for ev, err := range gen.Generate(ctx, *req) {
		if err != nil {
			if r.Context().Err() != nil {
				return // the client is gone
			}
			err = generationError(err, ctx, s.opts.Limits.RequestTimeout)
			s.logger(r.Context()).Warn("request failed", "err", err)
			if started {
				var he *httpError
				if !errors.As(err, &he) {
					he = &httpError{status: 500, msg: err.Error()}
				}
				fmt.Fprintf(w, "data: %s\n\n", marshal(he.body()))
				flusher.Flush()
				return
			}
			writeErr(w, err)
			return
		}
		if ev.Kind == glmv.EventDone {
			u = ev.Usage
		}
		if c := out.event(ev); c != nil && out.streaming() {
			send(c)
		}
	}
	if u == nil {
		return
	}
	if u.FinishReason == "cancelled" {
		if r.Context().Err() != nil {
			return
		}
		err := generationError(context.DeadlineExceeded, ctx, s.opts.Limits.RequestTimeout)
		if started {
			fmt.Fprintf(w, "data: %s\n\n", marshal(err.(*httpError).body()))
			flusher.Flush()
		} else {
			writeErr(w, err)
		}
		return
	}
	s.metrics.observe(u)
	s.noteDuration(s.now().Sub(start))
	finish, last := out.finish(u)
	s.logger(r.Context()).Info("completion", "prompt_tokens", u.PromptTokens, "completion_tokens", u.CompletionTokens,
		"finish", finish, "ttft_ms", u.TimeToFirstToken.Milliseconds(), "seed", req.Seed)
	if out.streaming() {
		if !started {
			send(nil)
		}
		for _, v := range last {
			fmt.Fprintf(w, "data: %s\n\n", marshal(v))
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
		flusher.Flush()
		return
	}
	writeJSON(w, http.StatusOK, last[0])
}

// generationError maps an error from Generate to an answer: bad input is
// a 400, a request past its deadline a 504, anything else a 500.
func generationError(err error, ctx context.Context, timeout time.Duration) error {
	var in *glmv.InputError
	switch {
	case errors.As(err, &in):
		return &httpError{status: http.StatusBadRequest, msg: err.Error()}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &httpError{status: http.StatusGatewayTimeout, msg: fmt.Sprintf("the request did not finish within the server's %v limit", timeout), code: "timeout"}
	}
	return err
}
