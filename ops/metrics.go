package ops

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"accessbot/workflow"
)

// Stats is what the scrape reads from storage; cmd wires the store in.
type Stats interface {
	OutboxStats(ctx context.Context) (depth int, oldest time.Time, err error)
	TaskCounts(ctx context.Context) ([]workflow.TaskCount, error)
}

// Metrics holds accessbot's Prometheus metrics in a registry of its own (no
// global state, so tests and several instances do not collide). It
// implements bot.Metrics, and JobRun is scheduler.Options.Observe.
type Metrics struct {
	reg *prometheus.Registry

	envelopes   *prometheus.CounterVec
	ackLatency  prometheus.Histogram
	apiCalls    *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	jobRuns     *prometheus.CounterVec
	jobFailures *prometheus.CounterVec
	jobSeconds  *prometheus.HistogramVec
}

// NewMetrics registers the metrics; stats (may be nil) is read on every
// scrape with now as the clock of the outbox's oldest age.
func NewMetrics(stats Stats, now func() time.Time, log zerolog.Logger) *Metrics {
	if now == nil {
		now = time.Now
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		envelopes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accessbot_envelopes_total",
			Help: "Socket Mode envelopes received, by envelope type and what they carry (interaction type, command, event type).",
		}, []string{"type", "kind"}),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "accessbot_ack_latency_seconds",
			Help: "Time from an envelope's arrival to its ack; Slack gives up after 3 s.",
			// Acks are meant to take milliseconds; the top buckets show the
			// ones that came close to Slack's limit or missed it.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2, 3, 5},
		}),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accessbot_slack_api_calls_total",
			Help: "Slack Web API calls by method and result (ok, rate_limited, Slack's error code, error, canceled).",
		}, []string{"method", "result"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accessbot_slack_rate_limited_total",
			Help: "Slack Web API calls answered with HTTP 429, by method.",
		}, []string{"method"}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accessbot_job_runs_total",
			Help: "Scheduled job runs, by job.",
		}, []string{"job"}),
		jobFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accessbot_job_failures_total",
			Help: "Scheduled job runs that ended in an error or a panic, by job.",
		}, []string{"job"}),
		jobSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "accessbot_job_duration_seconds",
			Help:    "How long scheduled job runs took, by job.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 9), // 5 ms .. ~5.5 min (the job timeout)
		}, []string{"job"}),
	}
	m.reg.MustRegister(m.envelopes, m.ackLatency, m.apiCalls, m.rateLimited, m.jobRuns, m.jobFailures, m.jobSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if stats != nil {
		m.reg.MustRegister(newStoreCollector(stats, now, log))
	}
	return m
}

// Envelope implements bot.Metrics.
func (m *Metrics) Envelope(typ, kind string) { m.envelopes.WithLabelValues(typ, kind).Inc() }

// Ack implements bot.Metrics.
func (m *Metrics) Ack(d time.Duration) { m.ackLatency.Observe(d.Seconds()) }

// APICall implements bot.Metrics.
func (m *Metrics) APICall(method, result string) {
	m.apiCalls.WithLabelValues(method, result).Inc()
	if result == "rate_limited" {
		m.rateLimited.WithLabelValues(method).Inc()
	}
}

// JobRun is scheduler.Options.Observe.
func (m *Metrics) JobRun(job string, elapsed time.Duration, err error) {
	m.jobRuns.WithLabelValues(job).Inc()
	m.jobSeconds.WithLabelValues(job).Observe(elapsed.Seconds())
	if err != nil {
		m.jobFailures.WithLabelValues(job).Inc()
	}
}

// Handler serves the exposition (text format, or OpenMetrics on request).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// storeCollector reads the outbox and task counts from the store at scrape
// time. A store that does not answer sets accessbot_store_up to 0 instead of
// failing the whole scrape.
type storeCollector struct {
	stats Stats
	now   func() time.Time
	log   zerolog.Logger

	up, depth, oldest, tasks *prometheus.Desc
}

func newStoreCollector(stats Stats, now func() time.Time, log zerolog.Logger) *storeCollector {
	return &storeCollector{
		stats: stats, now: now, log: log,
		up:     prometheus.NewDesc("accessbot_store_up", "1 when the store answered this scrape's queries, else 0.", nil, nil),
		depth:  prometheus.NewDesc("accessbot_outbox_depth", "Notices waiting to be delivered to Slack.", nil, nil),
		oldest: prometheus.NewDesc("accessbot_outbox_oldest_age_seconds", "Age of the oldest undelivered notice; 0 when none waits.", nil, nil),
		tasks:  prometheus.NewDesc("accessbot_tasks", "Tasks by kind and status (deleted tasks are not counted).", []string{"kind", "status"}, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.depth
	ch <- c.oldest
	ch <- c.tasks
}

// scrapeTimeout bounds the store queries of one scrape (Prometheus' own
// default scrape timeout is 10 s).
const scrapeTimeout = 5 * time.Second

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	depth, oldest, err := c.stats.OutboxStats(ctx)
	if err == nil {
		var counts []workflow.TaskCount
		counts, err = c.stats.TaskCounts(ctx)
		for _, tc := range counts {
			ch <- prometheus.MustNewConstMetric(c.tasks, prometheus.GaugeValue, float64(tc.N), string(tc.Kind), string(tc.Status))
		}
	}
	if err != nil {
		c.log.Warn().Err(err).Msg("metrics: the store did not answer")
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	age := 0.0
	if depth > 0 && !oldest.IsZero() {
		age = max(0, c.now().Sub(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(depth))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
}
