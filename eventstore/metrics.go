package eventstore

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics measure the appends of a Store (WithMetrics). The labels are
// bounded: stream types are the domain's few aggregates, outcomes are
// ok, conflict, duplicate or error. A nil *Metrics measures nothing.
type Metrics struct {
	appended  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	conflicts prometheus.Counter
}

// NewMetrics registers the event store's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		appended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contacts_events_appended_total",
			Help: "Events appended to the event store, by stream type.",
		}, []string{"stream_type"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "contacts_event_append_duration_seconds",
			Help:    "Time of one append transaction (one or many streams), by outcome: ok, conflict, duplicate, canceled, error.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms … 16 s
		}, []string{"outcome"}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "contacts_event_append_conflicts_total",
			Help: "Appends refused for a concurrency conflict (a stream was not at the expected version, or a claim moved).",
		}),
	}
	reg.MustRegister(m.appended, m.duration, m.conflicts)
	return m
}

// WithMetrics measures the store's appends with m.
func WithMetrics(m *Metrics) Option {
	return func(s *Store) { s.metrics = m }
}

func (m *Metrics) observeAppend(ctx context.Context, req AppendRequest, err error, took time.Duration) {
	if m == nil {
		return
	}
	outcome := "ok"
	switch {
	case err == nil:
		// Counted per stream: a bulk append of 50,000 contacts is one
		// Add, not 50,000.
		for _, sa := range req.Streams {
			m.appended.WithLabelValues(sa.StreamType).Add(float64(len(sa.Events)))
		}
	case errors.Is(err, ErrConcurrency):
		outcome = "conflict"
		m.conflicts.Inc()
	case errors.Is(err, ErrDuplicateRequest):
		outcome = "duplicate"
	case ctx.Err() != nil:
		outcome = "canceled"
	default:
		outcome = "error"
	}
	m.duration.WithLabelValues(outcome).Observe(took.Seconds())
}
