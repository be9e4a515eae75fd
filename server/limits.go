package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/glmv/glmv"
)

// Limits bound the work one request may ask for. Zero fields take the
// defaults below.
type Limits struct {
	// MaxBodyBytes bounds a request body (default MaxBodyBytes); larger
	// bodies get 413.
	MaxBodyBytes int64
	// MaxImages bounds the images in one request (default 16).
	MaxImages int
	// MaxPixels bounds the total pixels of a request's images, read from
	// their headers before any is decoded (default 25,000,000).
	MaxPixels int64
	// MaxVideos bounds the videos in one request (default 2).
	MaxVideos int
	// MaxTokens bounds max_tokens (default: the model's context).
	MaxTokens int
	// MaxQueue is how many requests may wait for their turn; more get 429
	// with Retry-After (default 64; negative: none may wait).
	MaxQueue int
	// RequestTimeout bounds a request from its turn to its last token
	// (default 10 minutes); past it the answer is 504.
	RequestTimeout time.Duration
	// MaxLargeRequests bounds the requests with a body over 8 MiB (or of
	// unknown length) in flight at once, from reading the body to the last
	// token; the others wait before their body is read, so memory stays
	// bounded however many large uploads arrive (default 2).
	MaxLargeRequests int
}

// Default limits.
const (
	DefaultMaxImages      = 16
	DefaultMaxPixels      = 25_000_000
	DefaultMaxVideos      = 2
	DefaultMaxQueue       = 64
	DefaultRequestTimeout = 10 * time.Minute
	DefaultLargeRequests  = 2
)

func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = MaxBodyBytes
	}
	if l.MaxImages <= 0 {
		l.MaxImages = DefaultMaxImages
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxVideos <= 0 {
		l.MaxVideos = DefaultMaxVideos
	}
	if l.MaxQueue == 0 {
		l.MaxQueue = DefaultMaxQueue
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = DefaultRequestTimeout
	}
	if l.MaxLargeRequests <= 0 {
		l.MaxLargeRequests = DefaultLargeRequests
	}
	return l
}

// readBody reads the body up to the byte limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength < 0 || r.ContentLength > bigRequestBytes {
		if err := s.large.acquire(r.Context()); err != nil {
			return nil, err
		}
		context.AfterFunc(r.Context(), s.large.release)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.Limits.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &httpError{status: http.StatusRequestEntityTooLarge, code: "request_too_large",
			msg: fmt.Sprintf("request body is larger than the server's limit of %d bytes", tooBig.Limit)}
	}
	if err != nil {
		return nil, badRequest("reading the request body: %v", err)
	}
	if len(body) > bigRequestBytes {
		s.mem.after(r.Context())
	}
	return body, nil
}

// check applies the per-request limits to a decoded request: counts of
// images and videos, the images' total pixels from their headers (no
// pixel is decoded here), and max_tokens.
// Requests with many pixels or a video also schedule a return of memory
// to the operating system once they are over.
func (s *Server) check(ctx context.Context, req *glmv.Request, m *glmv.Model) error {
	l := s.opts.Limits
	limit := l.MaxTokens
	if limit <= 0 || limit > m.ContextLimit() {
		limit = m.ContextLimit()
	}
	if req.MaxTokens > limit {
		return &httpError{status: http.StatusBadRequest, param: "max_tokens", code: "max_tokens_too_large",
			msg: fmt.Sprintf("max_tokens is %d, the limit is %d", req.MaxTokens, limit)}
	}
	var images, videos, imageTokens int
	var pixels int64
	textBytes := len(req.Prompt)
	for _, t := range req.Tools {
		textBytes += len(t)
	}
	for _, msg := range req.Messages {
		textBytes += len(msg.JSON)
		for _, p := range msg.Content {
			textBytes += len(p.Text)
		}
	}
	if maxBytes := m.MaxPromptBytes(); textBytes > maxBytes {
		// Tokenizing it would take long and cannot give a prompt that fits.
		return &httpError{status: http.StatusBadRequest, code: "context_length_exceeded",
			msg: fmt.Sprintf("the request has %d bytes of text; no prompt longer than %d bytes fits the context of %d tokens", textBytes, maxBytes, m.ContextLimit())}
	}
	for i, msg := range req.Messages {
		for j, p := range msg.Content {
			param := fmt.Sprintf("messages[%d].content[%d]", i, j)
			switch {
			case p.Video != nil:
				if videos++; videos > l.MaxVideos {
					return &httpError{status: http.StatusBadRequest, param: param, code: "too_many_videos",
						msg: fmt.Sprintf("a request may carry at most %d videos", l.MaxVideos)}
				}
			case p.Image != nil:
				if images++; images > l.MaxImages {
					return &httpError{status: http.StatusBadRequest, param: param, code: "too_many_images",
						msg: fmt.Sprintf("a request may carry at most %d images", l.MaxImages)}
				}
				cfg, format, err := image.DecodeConfig(bytes.NewReader(p.Image.Data))
				if err != nil {
					return &httpError{status: http.StatusBadRequest, param: param, code: "invalid_image",
						msg: fmt.Sprintf("%s: not a readable JPEG, PNG, GIF, WebP, BMP or TIFF image: %v", param, err)}
				}
				px := int64(cfg.Width) * int64(cfg.Height)
				if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > math.MaxInt32 || cfg.Height > math.MaxInt32 {
					return &httpError{status: http.StatusBadRequest, param: param, code: "invalid_image",
						msg: fmt.Sprintf("%s: %s image declares size %d×%d", param, format, cfg.Width, cfg.Height)}
				}
				if pixels += px; pixels > l.MaxPixels {
					return &httpError{status: http.StatusBadRequest, param: param, code: "too_many_pixels",
						msg: fmt.Sprintf("the request's images have more than %d pixels in all (%s is %d×%d)", l.MaxPixels, param, cfg.Width, cfg.Height)}
				}
				n, err := m.ImageTokens(cfg.Width, cfg.Height, p.Image.Detail)
				if err != nil {
					return &httpError{status: http.StatusBadRequest, param: param, code: "invalid_image", msg: fmt.Sprintf("%s: %v", param, err)}
				}
				if imageTokens += n; imageTokens >= m.ContextLimit() {
					return &httpError{status: http.StatusBadRequest, param: param, code: "context_length_exceeded",
						msg: fmt.Sprintf("the request's images alone take %d prompt tokens and the context holds %d (%s is %d×%d; detail \"low\" takes fewer)", imageTokens, m.ContextLimit(), param, cfg.Width, cfg.Height)}
				}
			}
		}
	}
	if pixels > bigRequestPixels || videos > 0 {
		// Decoding these allocates far more than the body did.
		s.mem.after(ctx)
	}
	return nil
}

// admit waits for the request's turn; it refuses with 429 when the queue
// is full, and gives up when ctx ends. The returned func ends the turn.
func (s *Server) admit(ctx context.Context, l *loaded) (func(), error) {
	release := func() { <-l.turn }
	select {
	case l.turn <- struct{}{}:
		return release, nil
	default:
	}
	n := s.waiting.Add(1)
	defer func() { s.metrics.queue.Set(float64(s.waiting.Add(-1))) }()
	if n > int64(max(s.opts.Limits.MaxQueue, 0)) {
		return nil, &httpError{status: http.StatusTooManyRequests, code: "queue_full", retryAfter: s.retryAfter(n, cap(l.turn)),
			msg: fmt.Sprintf("the server is busy: %d requests are already waiting; retry later", n-1)}
	}
	s.metrics.queue.Set(float64(n))
	select {
	case l.turn <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// noteDuration keeps a moving average of request durations for
// Retry-After estimates.
func (s *Server) noteDuration(d time.Duration) {
	old := s.avgMillis.Load()
	ms := d.Milliseconds()
	if old == 0 {
		s.avgMillis.Store(ms)
		return
	}
	s.avgMillis.Store((old*7 + ms) / 8)
}

// retryAfter estimates in seconds when a place in a queue of n frees up,
// with parallel requests running at a time.
func (s *Server) retryAfter(n int64, parallel int) int {
	sec := int(s.avgMillis.Load() * n / int64(max(parallel, 1)) / 1000)
	return min(max(sec, 1), 60)
}

// Requests above these sizes are followed by returning freed memory to
// the operating system.
const (
	bigRequestBytes  = 8 << 20
	bigRequestPixels = 1_000_000
)

// slots bounds how many of something are in flight; waiters are counted.
type slots struct {
	ch      chan struct{}
	waiting atomic.Int64
}

func newSlots(n int) *slots { return &slots{ch: make(chan struct{}, n)} }

func (s *slots) acquire(ctx context.Context) error {
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	select {
	case s.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *slots) release() { <-s.ch }

// memoryReturner returns the heap a large request freed to the operating
// system once the request is over (the Go runtime would otherwise keep it
// for minutes). One pass runs at a time; requests that end during a pass
// get another pass after it, so the last large request is always
// followed by one.
type memoryReturner struct {
	busy, pending atomic.Bool
}

// after schedules a return of memory when ctx (the request) ends.
func (m *memoryReturner) after(ctx context.Context) {
	context.AfterFunc(ctx, func() {
		m.pending.Store(true)
		m.start()
	})
}

func (m *memoryReturner) start() {
	if !m.busy.CompareAndSwap(false, true) {
		return
	}
	go func() {
		for m.pending.Swap(false) {
			debug.FreeOSMemory()
		}
		m.busy.Store(false)
		if m.pending.Load() {
			m.start() // a request ended between the last pass and now
		}
	}()
}
