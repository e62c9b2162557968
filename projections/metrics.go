package projections

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"contacts/eventstore"
)

// Metrics measure the projections: each handler's batches (Measured) and,
// read from the event store at scrape time, each projection's position,
// the head, and the lag in events and seconds. The one label is the
// projection's name, one of Names. A nil *Metrics measures nothing.
type Metrics struct {
	batch  *prometheus.HistogramVec
	events *prometheus.CounterVec
	errors *prometheus.CounterVec
}

// ProgressSource is what the scrape reads: the checkpoints, the head, and
// when the oldest event a projection has not handled was recorded.
type ProgressSource interface {
	StatusSource
	OldestAfter(ctx context.Context, position int64) (time.Time, bool, error)
}

var _ ProgressSource = (*eventstore.Store)(nil)

// NewMetrics registers the projections' metrics with reg; src (nil: none)
// answers the progress figures at each scrape, within 5 s, under ctx (the
// process's: a scrape has no context of its own).
func NewMetrics(ctx context.Context, reg prometheus.Registerer, src ProgressSource, logger *slog.Logger) *Metrics {
	m := &Metrics{
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "contacts_projection_batch_duration_seconds",
			Help:    "Time a projection took to handle one batch of events (embedded) or one event (Kafka).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"projection"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contacts_projection_events_total",
			Help: "Events handed to a projection (handled or not: a failed batch is retried and counted again).",
		}, []string{"projection"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contacts_projection_errors_total",
			Help: "Batches a projection failed to handle (each is retried).",
		}, []string{"projection"}),
	}
	reg.MustRegister(m.batch, m.events, m.errors)
	for _, n := range Names {
		m.errors.WithLabelValues(n)
	}
	if src != nil {
		reg.MustRegister(&progressCollector{ctx: ctx, src: src, log: logger})
	}
	return m
}

// Measured wraps h so that its batches are timed and its failures counted;
// with m nil it returns h.
func Measured(h Handler, m *Metrics) Handler {
	if m == nil {
		return h
	}
	name := h.Name()
	return &measured{Handler: h, batch: m.batch.WithLabelValues(name), events: m.events.WithLabelValues(name),
		errors: m.errors.WithLabelValues(name)}
}

type measured struct {
	Handler
	batch  prometheus.Observer
	events prometheus.Counter
	errors prometheus.Counter
}

func (h *measured) Handle(ctx context.Context, events []eventstore.Event) error {
	start := time.Now()
	err := h.Handler.Handle(ctx, events)
	h.batch.Observe(time.Since(start).Seconds())
	h.events.Add(float64(len(events)))
	if err != nil && ctx.Err() == nil {
		h.errors.Inc()
	}
	return err
}

var (
	descPosition = prometheus.NewDesc("contacts_projection_position",
		"Global position of the last event the projection has handled (its saved checkpoint).", []string{"projection"}, nil)
	descHead = prometheus.NewDesc("contacts_event_store_head",
		"Global position of the newest event in the event store.", nil, nil)
	descLag = prometheus.NewDesc("contacts_projection_lag_events",
		"Positions between the head and the projection's checkpoint (an upper bound on the events it has still to handle).",
		[]string{"projection"}, nil)
	descLagSeconds = prometheus.NewDesc("contacts_projection_lag_seconds",
		"Age of the oldest event the projection has not handled (0 when caught up).", []string{"projection"}, nil)
	descScrapeErr = prometheus.NewDesc("contacts_projection_progress_up",
		"1 when the projections' progress could be read at this scrape, 0 when the database did not answer.", nil, nil)
)

// progressCollector reads the projections' progress from the event store
// when scraped: every instance reports the same store-wide figures, and
// nothing is kept between scrapes.
type progressCollector struct {
	ctx context.Context
	src ProgressSource
	log *slog.Logger
}

func (c *progressCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPosition, descHead, descLag, descLagSeconds, descScrapeErr} {
		ch <- d
	}
}

func (c *progressCollector) Collect(ch chan<- prometheus.Metric) {
	// The timeout bounds what a slow database costs the scrape.
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	sts, err := Statuses(ctx, c.src)
	if err != nil {
		if c.log != nil {
			c.log.WarnContext(ctx, "metrics: reading projection progress", "err", err)
		}
		ch <- prometheus.MustNewConstMetric(descScrapeErr, prometheus.GaugeValue, 0)
		return
	}
	now := time.Now()
	var head int64
	for _, st := range sts {
		head = st.Head
		if !isProjection(st.Name) {
			continue // the relay and the live marks have their own figures
		}
		ch <- prometheus.MustNewConstMetric(descPosition, prometheus.GaugeValue, float64(st.Position), st.Name)
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(st.Lag), st.Name)
		secs := 0.0
		if st.Lag > 0 {
			at, ok, err := c.src.OldestAfter(ctx, st.Position)
			if err != nil {
				ch <- prometheus.MustNewConstMetric(descScrapeErr, prometheus.GaugeValue, 0)
				return
			}
			if ok {
				secs = max(0, now.Sub(at).Seconds())
			}
		}
		ch <- prometheus.MustNewConstMetric(descLagSeconds, prometheus.GaugeValue, secs, st.Name)
	}
	ch <- prometheus.MustNewConstMetric(descHead, prometheus.GaugeValue, float64(head))
	ch <- prometheus.MustNewConstMetric(descScrapeErr, prometheus.GaugeValue, 1)
}

func isProjection(name string) bool {
	for _, n := range Names {
		if n == name {
			return true
		}
	}
	return false
}
