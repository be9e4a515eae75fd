package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// RequestIDHeader carries a request's id: the client's own when it sends a
// sane one, else one the server makes. Access logs carry it too.
const RequestIDHeader = "X-Request-Id"

type logKey struct{}

// logger is the request's logger (with its id), or the server's.
func (s *Server) logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(logKey{}).(*slog.Logger); ok {
		return l
	}
	return s.log
}

// middleware wraps the routes with request ids, access logs and request
// metrics, CORS and bearer-token authentication, in that order.
func (s *Server) middleware(next http.Handler) http.Handler {
	var keyHash [32]byte
	if s.opts.APIKey != "" {
		keyHash = sha256.Sum256([]byte(s.opts.APIKey))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !saneID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		log := s.log.With("request_id", id)
		r = r.WithContext(context.WithValue(r.Context(), logKey{}, log))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			s.metrics.request(route, sw.code())
			log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.code(), "bytes", sw.bytes,
				"duration_ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr)
		}()
		if s.cors(sw, r) {
			return
		}
		if s.opts.APIKey != "" && needsAuth(r.URL.Path) {
			token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			got := sha256.Sum256([]byte(strings.TrimSpace(token)))
			if !ok || subtle.ConstantTimeCompare(got[:], keyHash[:]) != 1 {
				sw.Header().Set("WWW-Authenticate", `Bearer realm="glmv"`)
				writeErr(sw, &httpError{status: http.StatusUnauthorized, code: "invalid_api_key",
					msg: "missing or wrong API key: send it as \"Authorization: Bearer KEY\""})
				return
			}
		}
		next.ServeHTTP(sw, r)
	})
}

// needsAuth reports whether a path is behind the API key: the API, not
// the health and metrics endpoints probes and scrapers use.
func needsAuth(path string) bool {
	return strings.HasPrefix(path, "/v1/") || path == "/tokenize" || path == "/detokenize"
}

// cors sets the CORS headers for an allowed origin and answers preflight
// requests; it reports whether the request was answered.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if len(s.opts.CORSOrigins) == 0 || origin == "" {
		return false
	}
	w.Header().Add("Vary", "Origin")
	allowed := slices.Contains(s.opts.CORSOrigins, "*") || slices.Contains(s.opts.CORSOrigins, origin)
	if !allowed {
		return false
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Set("Access-Control-Expose-Headers", strings.Join([]string{SeedHeader, RequestIDHeader, "Retry-After"}, ", "))
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	headers := r.Header.Get("Access-Control-Request-Headers")
	if headers == "" {
		headers = "Authorization, Content-Type"
	}
	w.Header().Set("Access-Control-Allow-Headers", headers)
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

func saneID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusWriter records the status and size of a response; it passes
// flushes through for streaming.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// openAIErrors answers unknown routes (404) and wrong methods (405) in
// OpenAI's error shape instead of the mux's plain text.
func openAIErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		probe := &headerProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", probe.header.Get("Allow"))
			writeErr(w, &httpError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
				msg: fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, probe.header.Get("Allow"))})
			return
		}
		writeErr(w, &httpError{status: http.StatusNotFound, code: "not_found", msg: fmt.Sprintf("no route %s %s", r.Method, r.URL.Path)})
	})
}

// headerProbe captures what the mux's own 404/405 handler would answer.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.status = code }
