// Package metrics is the server's Prometheus instruments: one registry per
// server, served at /metrics. Labels carry only what the code names (a
// method, a route template, a status code, a job kind), never a value a
// caller sent, so no ID number, phone or name can reach a label, and the
// number of series stays bounded.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/codes"
)

// Namespace prefixes every metric the server exports.
const Namespace = "casework"

// Buckets of call latency, in seconds: from a cached read to the request
// timeout.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics holds the server's instruments.
type Metrics struct {
	reg         *prometheus.Registry
	rpcs        *prometheus.CounterVec
	rpcSeconds  *prometheus.HistogramVec
	http        *prometheus.CounterVec
	httpSeconds *prometheus.HistogramVec
	jobs        *prometheus.CounterVec
	jobSeconds  *prometheus.HistogramVec
	blobsSwept  prometheus.Counter
	limitStore  *prometheus.CounterVec
}

// New makes the instruments, with the Go runtime's and the process's.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.rpcs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "rpc_requests_total",
		Help: "gRPC calls handled, by transport (grpc: the public listener; http: through the JSON gateway), full method and status code.",
	}, []string{"transport", "method", "code"})
	m.rpcSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "rpc_duration_seconds", Buckets: latencyBuckets,
		Help: "Time to handle a gRPC call (a stream: how long it was open), by transport and full method.",
	}, []string{"transport", "method"})
	m.http = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "http_requests_total",
		Help: "HTTP requests answered, by method, route template (never the path) and status.",
	}, []string{"method", "route", "status"})
	m.httpSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "http_request_duration_seconds", Buckets: latencyBuckets,
		Help: "Time to answer an HTTP request, by method and route template.",
	}, []string{"method", "route"})
	m.jobs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "jobs_total",
		Help: "Background jobs run by this server, by kind and result (completed, failed, cancelled).",
	}, []string{"kind", "result"})
	m.jobSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "job_duration_seconds", Buckets: latencyBuckets,
		Help: "Time a background job ran, by kind.",
	}, []string{"kind"})
	m.blobsSwept = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "attachment_orphans_deleted_total",
		Help: "Attachment blobs the orphan sweep deleted because no attachment named them past the grace period.",
	})
	m.limitStore = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "rate_limit_store_failures_total",
		Help: "Visits to the shared rate limit store that failed, by store (postgres, redis) and reason (timeout, error); " +
			"a failed take or check is judged by this server's own buckets instead.",
	}, []string{"store", "reason"})
	// Every series exists from the start, at zero: an alert on its rate
	// then sees the first failure, and the dashboard a flat line, not none.
	for _, store := range []string{"postgres", "redis"} {
		for _, reason := range []string{"timeout", "error"} {
			m.limitStore.WithLabelValues(store, reason)
		}
	}
	m.reg.MustRegister(m.rpcs, m.rpcSeconds, m.http, m.httpSeconds, m.jobs, m.jobSeconds, m.blobsSwept, m.limitStore,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// RPC records one gRPC call.
func (m *Metrics) RPC(transport, method string, code codes.Code, d time.Duration) {
	m.rpcs.WithLabelValues(transport, method, code.String()).Inc()
	m.rpcSeconds.WithLabelValues(transport, method).Observe(d.Seconds())
}

// HTTP records one HTTP request. route must be a template, not a path.
func (m *Metrics) HTTP(method, route string, status int, d time.Duration) {
	m.http.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.httpSeconds.WithLabelValues(method, route).Observe(d.Seconds())
}

// Job records one background job's run.
func (m *Metrics) Job(kind, result string, d time.Duration) {
	m.jobs.WithLabelValues(kind, result).Inc()
	m.jobSeconds.WithLabelValues(kind).Observe(d.Seconds())
}

// OrphansDeleted counts the blobs one run of the orphan sweep deleted.
func (m *Metrics) OrphansDeleted(n int) { m.blobsSwept.Add(float64(n)) }

// LimitStoreFailed counts one failed visit to the shared rate limit store.
// store is the store's kind and reason one of a fixed few, never an error's
// text (which could carry a key, and so a principal).
func (m *Metrics) LimitStoreFailed(store, reason string) {
	m.limitStore.WithLabelValues(store, reason).Inc()
}

// DB exports the connection pool's use (open, in use, idle, waits).
func (m *Metrics) DB(db *sql.DB) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, Namespace))
}

// Lag is what the change feed's readers have still to read.
type Lag struct {
	// FeedHead is the newest event's position.
	FeedHead int64
	// WebhookBacklog is, summed over webhooks, the events after each
	// one's delivered position; OldestUndelivered the age of the oldest
	// event some webhook has yet to receive (0: none waiting).
	WebhookBacklog    int64
	OldestUndelivered time.Duration
}

// Feed exports the change feed's head and the webhooks' lag, read by lag at
// each scrape (with a short timeout: a scrape must not hang on the
// database).
func (m *Metrics) Feed(lag func(context.Context) (Lag, error)) {
	m.reg.MustRegister(&feedCollector{lag: lag})
}

var (
	feedHeadDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "feed", "head_position"),
		"Position of the change feed's newest event.", nil, nil)
	backlogDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "webhook", "backlog_events"),
		"Events not yet delivered, summed over webhooks.", nil, nil)
	oldestDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "webhook", "oldest_undelivered_seconds"),
		"Age of the oldest event a webhook has yet to receive (0: none waiting).", nil, nil)
	feedUpDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "feed", "scrape_ok"),
		"1 when the feed figures above could be read from the database at this scrape, else 0.", nil, nil)
)

type feedCollector struct {
	lag func(context.Context) (Lag, error)
}

func (c *feedCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- feedHeadDesc
	ch <- backlogDesc
	ch <- oldestDesc
	ch <- feedUpDesc
}

func (c *feedCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	l, err := c.lag(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(feedUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(feedUpDesc, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(feedHeadDesc, prometheus.GaugeValue, float64(l.FeedHead))
	ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(l.WebhookBacklog))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, l.OldestUndelivered.Seconds())
}
