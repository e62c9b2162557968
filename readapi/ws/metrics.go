package ws

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics measure the WebSocket endpoints: actions by name and outcome,
// their latency, and the open connections. Labels are bounded: an action
// is one of the protocol's (anything else is "unknown"), an outcome is
// "success" or the answer's error code (the protocol's codes and
// internal/apierr's table), the endpoint is "contacts" or "stream". A nil
// *Metrics (Deps.Metrics unset) measures nothing.
type Metrics struct {
	actions     *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	connections *prometheus.GaugeVec
}

// NewMetrics registers the WebSocket metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contacts_ws_actions_total",
			Help: "WebSocket requests answered, by action and outcome (success or the error code).",
		}, []string{"action", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "contacts_ws_action_duration_seconds",
			Help:    "Time from a WebSocket request's arrival to its answer being queued, by action.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"action"}),
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "contacts_ws_connections",
			Help: "Open WebSocket connections, by endpoint: contacts (the 22-action endpoint) or stream (listen-only).",
		}, []string{"endpoint"}),
	}
	reg.MustRegister(m.actions, m.duration, m.connections)
	// The series exist from the start: a dashboard shows 0, not "no data".
	m.connections.WithLabelValues("contacts")
	m.connections.WithLabelValues("stream")
	return m
}

// answered counts one handled request.
func (m *Metrics) answered(action string, resp *wsResponse, canceled bool, took time.Duration) {
	if m == nil {
		return
	}
	if _, ok := wsActions[action]; !ok {
		action = "unknown"
	}
	outcome := wsStatusSuccess
	switch {
	case resp == nil && canceled:
		outcome = "canceled"
	case resp != nil && resp.Error != nil:
		outcome = resp.Error.Code
	}
	m.actions.WithLabelValues(action, outcome).Inc()
	m.duration.WithLabelValues(action).Observe(took.Seconds())
}

// connected counts a connection open until the returned func is called.
func (m *Metrics) connected(listenOnly bool) (closed func()) {
	if m == nil {
		return func() {}
	}
	g := m.connections.WithLabelValues("contacts")
	if listenOnly {
		g = m.connections.WithLabelValues("stream")
	}
	g.Inc()
	return g.Dec
}
