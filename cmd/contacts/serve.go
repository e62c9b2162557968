package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"contacts/commands"
	"contacts/eventstore"
	"contacts/internal/auth"
	"contacts/internal/config"
	"contacts/internal/database"
	"contacts/internal/httpapi"
	"contacts/internal/imports"
	"contacts/internal/leader"
	"contacts/internal/ratelimit"
	"contacts/projections"
	"contacts/readapi"
	"contacts/readapi/realtime"
)

// serve runs the roles of this process (all of them by default): the HTTP
// API, the Kafka relay, and the projector.
func serve(ctx context.Context, args []string) error {
	cfg, logger, db, err := open(ctx, args, 0)
	if err != nil {
		return err
	}
	slog.SetDefault(logger)
	defer closeDB(ctx, logger, db)

	store := eventstore.New(db.Pool)
	rm, err := openReadModel(ctx, cfg, db, logger)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	if cfg.Has(config.RoleAPI) {
		g.Go(func() error { return serveHTTP(gctx, cfg, logger, db, store, readService(cfg, db, logger)) })
	}
	if cfg.Has(config.RoleRelay) && len(cfg.KafkaBrokers) > 0 {
		g.Go(func() error { return runRelay(gctx, cfg, logger, db, store) })
	}
	if cfg.Has(config.RoleProjector) {
		handlers := projections.New(store, rm)
		if len(cfg.KafkaBrokers) > 0 {
			// Live updates: every handled event is marked, and the place all
			// read models reflect is announced as the marks fill it in.
			marks := projections.NewLiveMarks(store, projections.Names, logger)
			for i, h := range handlers {
				handlers[i] = projections.Tracked(marks.Wrap(h), store, time.Second)
			}
			g.Go(func() error { return marks.Run(gctx) })
			g.Go(func() error { return runKafkaProjector(gctx, cfg, logger, handlers) })
		} else {
			// Embedded: fed straight from the event store, on one instance at a time.
			runner := &projections.Runner{Source: store, Handlers: handlers, Logger: logger,
				Committed: announceCommitted(store, logger)}
			g.Go(func() error {
				return leader.Run(gctx, db.Pool, "projector", leader.Options{Logger: logger}, func(ctx context.Context) error {
					// A live place left by an earlier run with Kafka would be
					// stale (nothing marks what this runner projects): a
					// later run with Kafka starts again from the projections'.
					if err := store.ResetCheckpoint(ctx, projections.LiveCheckpoint); err != nil {
						return err
					}
					return runner.Run(ctx)
				})
			})
		}
	}
	logger.Info("contacts started", "roles", cfg.Roles, "kafka", len(cfg.KafkaBrokers) > 0,
		"read_model", readModelKind(cfg), "version", version)
	return g.Wait()
}

func readModelKind(cfg config.Config) string {
	if cfg.ElasticsearchURL != "" {
		return "elasticsearch"
	}
	return "postgresql"
}

// readService is the query side of the read API. Queries run on the
// PostgreSQL read model; over Elasticsearch they are not written yet, so
// the read routes are not mounted then.
func readService(cfg config.Config, db *database.DB, logger *slog.Logger) readapi.Service {
	if cfg.ElasticsearchURL != "" {
		logger.Warn("the read API (WebSocket /api/v1/contacts/ws, GET /api/v1/contacts…) does not query Elasticsearch yet: not mounted")
		return nil
	}
	return readapi.NewPG(db.Pool)
}

func serveHTTP(ctx context.Context, cfg config.Config, logger *slog.Logger, db *database.DB, store *eventstore.Store, read readapi.Service) error {
	secret, err := jwtSecret(cfg)
	if err != nil {
		return err
	}
	cmds := commands.New(store)
	imp := imports.New(db.Pool, cmds, imports.Config{Dir: cfg.ImportDir, MaxFileBytes: cfg.ImportMaxFileBytes,
		MaxRows: cfg.ImportMaxRows}, logger)
	requestLogLevel, requestLogOff, _ := config.ParseRequestLog(cfg.RequestLog)
	deps := httpapi.Deps{
		Commands:     cmds,
		Auth:         auth.New(db.Pool, secret, cfg.AccessTokenTTL),
		Store:        store,
		DB:           db.Pool,
		Progress:     store,
		Logger:       logger,
		MaxBodyBytes: cfg.MaxBodyBytes,
		// Validated by config.
		RequestLogLevel: requestLogLevel,
		RequestLogOff:   requestLogOff,
		Limits: httpapi.Limits{
			PerPrincipal: ratelimit.New(cfg.RateLimit, cfg.RateLimitBurst),
			PerIP:        ratelimit.New(cfg.IPRateLimit, cfg.IPRateLimitBurst),
			AuthPerIP:    ratelimit.New(cfg.LoginRateLimit*4/60, int(cfg.LoginRateLimit*4)),
			LoginPerUser: ratelimit.New(cfg.LoginRateLimit/60, int(cfg.LoginRateLimit)),
		},
		TrustedProxies:   cfg.TrustedProxies,
		OperatorAccounts: cfg.OperatorAccounts,

		Imports:          imp,
		ImportMaxBytes:   cfg.ImportMaxFileBytes,
		BulkMaxBodyBytes: cfg.BulkMaxBodyBytes,
	}
	closing := make(chan struct{})
	if read != nil {
		deps.Read = &readapi.Deps{Service: read, Lists: readapi.NewPGLists(db.Pool), WriteKey: cfg.WriteKey, Closing: closing,
			Imports: imp, MaxUploadBytes: cfg.ImportMaxFileBytes}
		deps.Export = readapi.NewPG(db.Pool)
		// Live updates follow the projector's announcements (PostgreSQL
		// NOTIFY), whichever instance runs it.
		hub := newHub(store, logger, len(cfg.KafkaBrokers) > 0)
		hubCtx, stopHub := context.WithCancel(ctx)
		hubDone := make(chan struct{})
		go func() {
			defer close(hubDone)
			_ = hub.Run(hubCtx)
		}()
		defer func() { stopHub(); <-hubDone }()
		deps.Read.Realtime = hub
	}
	// The import worker resumes unfinished jobs, then runs queued ones.
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		_ = imp.Run(ctx)
	}()
	defer func() { <-workerDone }()
	router := httpapi.NewRouter(deps)
	srv := &http.Server{
		Handler:           router,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Handlers see a context that outlives the shutdown signal: an
		// in-flight write finishes its transaction instead of being cut.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// Shutdown does not wait for hijacked (WebSocket) connections: tell them.
	srv.RegisterOnShutdown(func() { close(closing) })
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	logger.Info("serving HTTP", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests", "timeout", cfg.ShutdownGrace)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("HTTP stopped")
	return nil
}

// newHub is the live-update hub of an instance: it starts where the
// projections are and follows the projector's announcements. Embedded, the
// runner's checkpoints are places in the global order; with Kafka, the
// projector's live checkpoint is (projections.LiveMarks), the projections'
// own checkpoints only show the furthest event each has handled.
func newHub(store *eventstore.Store, logger *slog.Logger, kafka bool) *realtime.Hub {
	reached := func(ctx context.Context) (eventstore.Cursor, error) { return store.Reached(ctx, projections.Names) }
	if kafka {
		reached = func(ctx context.Context) (eventstore.Cursor, error) { return projections.LivePlace(ctx, store) }
	}
	return realtime.NewHub(realtime.Options{Source: store, Announcements: store, Logger: logger, Reached: reached})
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
