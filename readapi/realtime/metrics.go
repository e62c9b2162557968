package realtime

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count live updates: pushes handed to connections' writers, pushes
// dropped when a connection fell behind, resync_required messages, and the
// subscriptions open (read from the hub at scrape time: nothing on the
// delivery path). No label: nothing per account or subscription. A nil
// *Metrics (Options.Metrics unset) counts nothing.
type Metrics struct {
	pushed  prometheus.Counter
	dropped prometheus.Counter
	resyncs prometheus.Counter
	hub     atomic.Pointer[Hub] // the hub whose subscriptions are counted
}

// NewMetrics registers the live-update metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		pushed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "contacts_ws_pushes_sent_total",
			Help: "Live-update pushes handed to WebSocket connections' writers.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "contacts_ws_pushes_dropped_total",
			Help: "Queued live-update pushes dropped because their connection fell too far behind (it got resync_required).",
		}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "contacts_ws_resync_required_total",
			Help: "resync_required messages sent: subscriptions cut off (slow consumer, replay overrun or failed filter).",
		}),
	}
	subs := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "contacts_ws_subscriptions",
		Help: "Live-update subscriptions open on this instance.",
	}, func() float64 {
		if h := m.hub.Load(); h != nil {
			return float64(h.subscriptions())
		}
		return 0
	})
	reg.MustRegister(m.pushed, m.dropped, m.resyncs, subs)
	return m
}

func (m *Metrics) sent(n int) {
	if m != nil && n > 0 {
		m.pushed.Add(float64(n))
	}
}

func (m *Metrics) cut(dropped, resyncs int) {
	if m == nil {
		return
	}
	m.dropped.Add(float64(dropped))
	m.resyncs.Add(float64(resyncs))
}

// subscriptions counts the hub's subscriptions.
func (h *Hub) subscriptions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.subs {
		n += len(m)
	}
	return n
}
