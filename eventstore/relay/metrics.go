package relay

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"contacts/eventstore"
)

// Metrics measure the relay: events published (acknowledged by the broker
// and checkpointed), broker errors, and, read from the event store at
// scrape time, its checkpoint and lag in events and seconds. No label. A
// nil *Metrics (Config.Metrics unset) measures nothing.
type Metrics struct {
	published    prometheus.Counter
	brokerErrors prometheus.Counter
}

// NewMetrics registers the relay's metrics with reg; with store set, the
// lag is read from it at each scrape (within 5 s, under ctx: the process's).
func NewMetrics(ctx context.Context, reg prometheus.Registerer, store *eventstore.Store, logger *slog.Logger) *Metrics {
	m := &Metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "contacts_relay_published_total",
			Help: "Events the relay published to Kafka (acknowledged and checkpointed).",
		}),
		brokerErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "contacts_relay_broker_errors_total",
			Help: "Failures to connect a producer or to publish a batch (the relay steps down and retries with back-off).",
		}),
	}
	reg.MustRegister(m.published, m.brokerErrors)
	if store != nil {
		reg.MustRegister(&lagCollector{ctx: ctx, store: store, log: logger})
	}
	return m
}

func (m *Metrics) publishedEvents(n int) {
	if m != nil {
		m.published.Add(float64(n))
	}
}

func (m *Metrics) brokerError() {
	if m != nil {
		m.brokerErrors.Inc()
	}
}

var (
	descLag = prometheus.NewDesc("contacts_relay_lag_events",
		"Positions between the event store's head and the relay's checkpoint.", nil, nil)
	descLagSeconds = prometheus.NewDesc("contacts_relay_lag_seconds",
		"Age of the oldest event the relay has not published (0 when caught up).", nil, nil)
	descPosition = prometheus.NewDesc("contacts_relay_position",
		"Global position of the last event the relay published.", nil, nil)
)

// lagCollector reads the relay's progress from the event store when scraped.
type lagCollector struct {
	ctx   context.Context
	store *eventstore.Store
	log   *slog.Logger
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descLag
	ch <- descLagSeconds
	ch <- descPosition
}

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	cp, head, err := Lag(ctx, c.store)
	secs := 0.0
	if err == nil && head > cp.Position {
		var at time.Time
		var ok bool
		if at, ok, err = c.store.OldestAfter(ctx, cp.Position); ok {
			secs = max(0, time.Since(at).Seconds())
		}
	}
	if err != nil {
		if c.log != nil {
			c.log.WarnContext(ctx, "metrics: reading the relay's lag", "err", err)
		}
		return // no sample: absent, rather than a made-up 0
	}
	ch <- prometheus.MustNewConstMetric(descPosition, prometheus.GaugeValue, float64(cp.Position))
	ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(max(0, head-cp.Position)))
	ch <- prometheus.MustNewConstMetric(descLagSeconds, prometheus.GaugeValue, secs)
}
