package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"contacts/commands/imports"
	"contacts/eventstore"
	"contacts/eventstore/relay"
	"contacts/internal/config"
	"contacts/internal/database"
	"contacts/internal/web"
	"contacts/projections"
	"contacts/readapi/realtime"
	"contacts/readapi/ws"
)

// appMetrics are one process's Prometheus metrics: a registry of its own
// (never the global default one, so that two Apps in one test process do
// not collide), holding each package's metrics, which live beside the code
// they measure. main only wires them. nil when CONTACTS_METRICS=off: then
// nothing is measured at all (the before/after of the overhead benchmark).
type appMetrics struct {
	reg         *prometheus.Registry
	store       *eventstore.Metrics
	web         *web.Metrics
	ws          *ws.Metrics
	realtime    *realtime.Metrics
	projections *projections.Metrics
	imports     *imports.Metrics
	relay       *relay.Metrics
}

// newAppMetrics registers what every process has: the Go runtime and
// process collectors, the database pool, the event store's appends, and
// each side's own (the ones a process does not run stay at zero).
func newAppMetrics(ctx context.Context, cfg config.Config, db *database.DB) *appMetrics {
	if !cfg.MetricsOn() {
		return nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		database.PoolCollector(db.Pool))
	return &appMetrics{
		reg: reg, store: eventstore.NewMetrics(reg), web: web.NewMetrics(reg), ws: ws.NewMetrics(reg),
		realtime: realtime.NewMetrics(reg), imports: imports.NewMetrics(ctx, reg, db.Pool),
	}
}

// follow registers what is read from the event store at each scrape: the
// projections' progress (every process reports it: an operator scrapes
// whichever runs) and, with Kafka, the relay's.
func (m *appMetrics) follow(ctx context.Context, cfg config.Config, store *eventstore.Store, logger *slog.Logger) {
	if m == nil {
		return
	}
	m.projections = projections.NewMetrics(ctx, m.reg, store, logger)
	var lag *eventstore.Store
	if len(cfg.KafkaBrokers) > 0 {
		lag = store
	}
	m.relay = relay.NewMetrics(ctx, m.reg, lag, logger)
}

// handler answers GET /metrics.
func (m *appMetrics) handler(logger *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError, // a failed collector leaves out its series, not the scrape
		Registry:      m.reg,                    // promhttp_metric_handler_errors_total
	})
}

// Accessors that are nil-safe, for the wiring.
func (m *appMetrics) storeOption() eventstore.Option {
	if m == nil {
		return func(*eventstore.Store) {}
	}
	return eventstore.WithMetrics(m.store)
}

func (m *appMetrics) webMetrics() *web.Metrics {
	if m == nil {
		return nil
	}
	return m.web
}

func (m *appMetrics) wsMetrics() *ws.Metrics {
	if m == nil {
		return nil
	}
	return m.ws
}

func (m *appMetrics) realtimeMetrics() *realtime.Metrics {
	if m == nil {
		return nil
	}
	return m.realtime
}

func (m *appMetrics) projectionMetrics() *projections.Metrics {
	if m == nil {
		return nil
	}
	return m.projections
}

func (m *appMetrics) importMetrics() *imports.Metrics {
	if m == nil {
		return nil
	}
	return m.imports
}

func (m *appMetrics) relayMetrics() *relay.Metrics {
	if m == nil {
		return nil
	}
	return m.relay
}

// serveMetrics serves GET /metrics alone on CONTACTS_METRICS_ADDR until ctx
// ends (the listener was opened by NewApp).
func serveMetrics(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("serving metrics", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}
