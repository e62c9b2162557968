package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"contacts/eventstore"
	"contacts/internal/config"
	"contacts/projections"
	"contacts/readapi/realtime"
)

// serve runs `contacts serve` with the environment overridden by args.
func serve(ctx context.Context, args []string) error {
	cfg, err := config.FromEnv(args, config.Getenv)
	if err != nil {
		return err
	}
	return serveConfig(ctx, cfg)
}

// serveConfig runs the roles of this process (all of them by default) until
// ctx ends: the App of cfg.
func serveConfig(ctx context.Context, cfg config.Config) error {
	logger := newLogger(cfg.LogLevel)
	slog.SetDefault(logger)
	app, err := NewApp(ctx, cfg, logger)
	if err != nil {
		return startupError(ctx, logger, err)
	}
	defer app.Close(ctx)
	return app.Run(ctx)
}

// startupError is err, unless the process was told to stop while it waited
// for a dependency: that is a clean shutdown.
func startupError(ctx context.Context, logger *slog.Logger, err error) error {
	if ctx.Err() != nil {
		logger.Info("stopped while starting", "err", err)
		return nil
	}
	return err
}

// Pinger is what the health listener checks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// healthHandler answers /healthz and /readyz for a process without the API
// (relay, projector, importer): ready while the database answers.
func healthHandler(db Pinger, logger *slog.Logger, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	if metrics != nil { // the relay's and projector's figures are scraped here
		mux.Handle("GET /metrics", metrics)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			logger.WarnContext(ctx, "readiness check failed", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// newHub is the live-update hub of an instance: it starts where the
// projections are and follows the projector's announcements. Embedded, the
// runner's checkpoints are places in the global order; with Kafka, the
// projector's live checkpoint is (projections.LiveMarks), the projections'
// own checkpoints only show the furthest event each has handled.
func newHub(store *eventstore.Store, logger *slog.Logger, kafka bool, m *realtime.Metrics) *realtime.Hub {
	reached := func(ctx context.Context) (eventstore.Cursor, error) { return store.Reached(ctx, projections.Names) }
	if kafka {
		reached = func(ctx context.Context) (eventstore.Cursor, error) { return projections.LivePlace(ctx, store) }
	}
	return realtime.NewHub(realtime.Options{Source: store, Announcements: store, Logger: logger, Reached: reached, Metrics: m})
}

// announceCommitted tells every instance's hub (PostgreSQL NOTIFY) how far
// the read models reflect the event store, after each projected batch.
func announceCommitted(store *eventstore.Store, logger *slog.Logger) func(context.Context, eventstore.Cursor) {
	return func(ctx context.Context, c eventstore.Cursor) {
		if err := store.NotifyCommitted(ctx, c); err != nil && ctx.Err() == nil {
			// The hubs poll the checkpoints too: late, not lost.
			logger.WarnContext(ctx, "announcing projected events", "err", err)
		}
	}
}
