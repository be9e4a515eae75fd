package server

import (
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/glmv/glmv"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// CacheStats are what a prefix or KV cache reports to /metrics.
type CacheStats struct {
	// Hits and Lookups count cache lookups; the hit ratio is Hits/Lookups.
	Hits, Lookups uint64
	// Bytes is the memory the cache holds.
	Bytes int64
}

// metrics are the server's Prometheus collectors, in a registry of its own
// (no global state), served at /metrics.
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	queue      prometheus.Gauge
	running    prometheus.Gauge
	prompt     prometheus.Counter
	generated  prometheus.Counter
	ttft       prometheus.Histogram
	perToken   prometheus.Histogram
	vision     prometheus.Histogram
	preprocess prometheus.Histogram
	cache      atomic.Pointer[func() CacheStats]
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "glmv_requests_total", Help: "HTTP requests by route and status code."}, []string{"route", "code"})
	m.queue = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "glmv_queue_depth", Help: "Requests waiting for their turn."})
	m.running = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "glmv_running_sequences", Help: "Sequences being generated."})
	m.prompt = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "glmv_prompt_tokens_total", Help: "Prompt tokens of finished requests."})
	m.generated = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "glmv_generated_tokens_total", Help: "Generated tokens of finished requests."})
	m.ttft = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "glmv_time_to_first_token_seconds", Help: "Time from the request's turn to its first token.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)})
	m.perToken = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "glmv_time_per_output_token_seconds", Help: "Mean decode time per generated token after the first, per request.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)})
	m.vision = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "glmv_vision_seconds", Help: "Time in the vision tower (and prompt embedding) per request.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)})
	m.preprocess = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "glmv_preprocess_seconds", Help: "Time decoding and preprocessing media and tokenizing per request.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)})
	m.reg.MustRegister(m.requests, m.queue, m.running, m.prompt, m.generated, m.ttft, m.perToken, m.vision, m.preprocess,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glmv_cache_hit_ratio", Help: "Prefix cache hits per lookup (0 without a cache)."},
			func() float64 {
				c := m.cacheStats()
				if c.Lookups == 0 {
					return 0
				}
				return float64(c.Hits) / float64(c.Lookups)
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "glmv_cache_bytes", Help: "Memory held by the prefix cache."},
			func() float64 { return float64(m.cacheStats().Bytes) }),
	)
	return m
}

func (m *metrics) cacheStats() CacheStats {
	f := m.cache.Load()
	if f == nil {
		return CacheStats{}
	}
	return (*f)()
}

// SetCacheStats is the hook through which a cache reports its hit ratio
// and size to /metrics; f must be safe to call from any goroutine. SetModel
// sets it to the model engine's prefix cache.
func (s *Server) SetCacheStats(f func() CacheStats) { s.metrics.cache.Store(&f) }

// engineCacheStats reports the engine's prefix cache of m.
func engineCacheStats(m *glmv.Model) func() CacheStats {
	return func() CacheStats {
		st := m.Stats()
		return CacheStats{Hits: uint64(st.PrefixHits), Lookups: uint64(st.PrefixHits + st.PrefixMisses), Bytes: st.CacheBytes}
	}
}

// Registry is the server's Prometheus registry, for adding collectors.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// observe records a finished generation.
func (m *metrics) observe(u *glmv.Usage) {
	m.prompt.Add(float64(u.PromptTokens))
	m.generated.Add(float64(u.CompletionTokens))
	if u.CompletionTokens > 0 {
		m.ttft.Observe(u.TimeToFirstToken.Seconds())
	}
	if u.CompletionTokens > 1 {
		m.perToken.Observe(u.Decode.Seconds() / float64(u.CompletionTokens-1))
	}
	m.vision.Observe(u.Vision.Seconds())
	m.preprocess.Observe(u.Preprocess.Seconds())
}

// request counts a finished HTTP request.
func (m *metrics) request(route string, code int) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}
