package advisor

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"git.georgsen.dk/hwlab/internal/store"
)

// Metrics are the service's Prometheus instruments, on a registry of their
// own (never the global default), so two servers in one process, as in
// parallel tests, count apart. This file is the one home of every metric:
// the store reports its operations through a hook (store.WithObserver) and
// knows no metrics library.
//
// Every label has a bounded set of values: a route is the ServeMux
// pattern that matched, never the path (no conversation id is ever a
// label); a status or operation is one of the code's constants.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec

	gensInFlight prometheus.Gauge
	gensStarted  prometheus.Counter
	gensFinished *prometheus.CounterVec
	genDuration  *prometheus.HistogramVec
	firstToken   prometheus.Histogram
	tokens       *prometheus.CounterVec

	storeOps *prometheus.HistogramVec
}

// NewMetrics returns a Metrics on a fresh registry with the Go runtime and
// process collectors. Give the store its hook (StoreOption) and the server
// the Metrics (Config.Metrics); New adds the store pool's statistics.
// One Metrics serves one Server.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advisor_http_requests_total",
			Help: "HTTP requests answered, by the route pattern that matched and the status code.",
		}, []string{"route", "code"}),
		// A chat or a stream lasts as long as its reply: the buckets reach
		// minutes.
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "advisor_http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its answer, by route pattern and status code.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10), // 1 ms .. 262 s
		}, []string{"route", "code"}),
		gensInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "advisor_generations_in_flight",
			Help: "Replies this instance is generating now.",
		}),
		gensStarted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "advisor_generations_started_total",
			Help: "Replies this instance started generating.",
		}),
		gensFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advisor_generations_finished_total",
			Help: "Replies this instance finished, by how they ended: complete, stopped, failed or interrupted.",
		}, []string{"status"}),
		genDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "advisor_generation_duration_seconds",
			Help:    "Time from a reply's start to its end, by how it ended.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 14), // 100 ms .. 819 s
		}, []string{"status"}),
		firstToken: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "advisor_generation_first_token_seconds",
			Help:    "Time from a reply's start to the model's first text (the thread read and the model's queue and prompt processing).",
			Buckets: prometheus.ExponentialBuckets(0.025, 2, 13), // 25 ms .. 102 s
		}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advisor_model_tokens_total",
			Help: "Tokens the model reported: direction \"in\" the prompt tokens it read, \"out\" the completion tokens it wrote.",
		}, []string{"direction"}),
		storeOps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "advisor_store_operation_duration_seconds",
			Help:    "Time of a store operation, waiting for a pool connection included, by the operation's name.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms .. 16 s
		}, []string{"operation"}),
	}
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.gensInFlight, m.gensStarted, m.gensFinished,
		m.genDuration, m.firstToken, m.tokens, m.storeOps,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// StoreOption is the store's hook into these metrics: pass it to
// store.NewStore.
func (m *Metrics) StoreOption() store.Option {
	return store.WithObserver(func(op string, d time.Duration) {
		m.storeOps.WithLabelValues(op).Observe(d.Seconds())
	})
}

// register adds what only the server knows: the statistics of the store's
// pool (database/sql's, as go_sql_* with db_name="advisor").
func (m *Metrics) register(st *store.Store) error {
	return m.reg.Register(collectors.NewDBStatsCollector(st.DB(), "advisor"))
}

// handler serves the registry in Prometheus's text format.
func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// routeUnmatched is the route of a request no pattern matched (a mux's
// 404 or 405, such as a page that does not exist): one label value for
// all of them.
const routeUnmatched = "unmatched"

// instrument counts and times every request by the pattern that routed it.
// The muxes set r.Pattern on the request they are given, which is this
// one: the guards and the memory limit pass it on as it is, so after the
// call it holds the innermost mux's pattern ("GET /api/conversations/{id}"),
// the outer one ("/api/") for a request a guard refused before routing, or
// "" when the innermost mux matched nothing.
func (m *Metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = routeUnmatched
		}
		code := sw.code
		if code == 0 {
			code = http.StatusOK // nothing written: net/http sends 200
		}
		c := strconv.Itoa(code) // net/http allows only 100-999
		m.httpRequests.WithLabelValues(route, c).Inc()
		m.httpDuration.WithLabelValues(route, c).Observe(time.Since(began).Seconds())
	})
}

// statusWriter remembers the status code. Unwrap lets
// http.ResponseController reach the connection's Flush and deadlines, which
// the streams use.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// generationStarted counts a reply that began.
func (m *Metrics) generationStarted() {
	m.gensStarted.Inc()
	m.gensInFlight.Inc()
}

// generationEnded counts a reply that ended with status after d, and the
// tokens the model reported for it.
func (m *Metrics) generationEnded(status string, d time.Duration, r Result) {
	m.gensInFlight.Dec()
	m.gensFinished.WithLabelValues(status).Inc()
	m.genDuration.WithLabelValues(status).Observe(d.Seconds())
	if r.PromptTokens != nil {
		m.tokens.WithLabelValues("in").Add(float64(*r.PromptTokens))
	}
	if r.CompletionTokens != nil {
		m.tokens.WithLabelValues("out").Add(float64(*r.CompletionTokens))
	}
}
