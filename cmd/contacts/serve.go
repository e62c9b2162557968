package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"contacts/commands"
	"contacts/commands/imports"
	"contacts/eventstore"
	"contacts/internal/accounts"
	"contacts/internal/config"
	"contacts/internal/database"
	"contacts/internal/leader"
	"contacts/internal/phonereview"
	"contacts/internal/ratelimit"
	"contacts/internal/web"
	"contacts/projections"
	"contacts/readapi"
	"contacts/readapi/pgquery"
	"contacts/readapi/realtime"
	"contacts/readapi/ws"
)

// serve runs `contacts serve` with the environment overridden by args.
func serve(ctx context.Context, args []string) error {
	cfg, err := config.FromEnv(args, config.Getenv)
	if err != nil {
		return err
	}
	return serveConfig(ctx, cfg)
}

// serveConfig runs the roles of this process (all of them by default): the
// HTTP API, the Kafka relay, the projector, and the CSV import worker. The HTTP listener (or, for a
// process without the API, the health listener at CONTACTS_HEALTH_ADDR)
// opens first, so that a dependency that does not answer yet shows as
// not ready instead of as no process at all.
func serveConfig(ctx context.Context, cfg config.Config) error {
	logger := newLogger(cfg.LogLevel)
	slog.SetDefault(logger)
	addr := cfg.HealthAddr
	if cfg.Has(config.RoleAPI) {
		addr = cfg.HTTPAddr
	}
	var front *frontDoor
	if addr != "" {
		var err error
		if front, err = openFrontDoor(ctx, addr, logger); err != nil {
			return err
		}
		defer front.close() // startup failed: stop listening
	}

	db, err := database.Open(ctx, database.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxConns: cfg.DBMaxConns, Logger: logger})
	if err != nil {
		return startupError(ctx, logger, err)
	}
	defer closeDB(ctx, logger, db)

	store := eventstore.New(db.Pool, eventstore.WithMasterKey(cfg.MasterKey()))
	if front != nil && cfg.ElasticsearchURL != "" {
		front.setWaiting("elasticsearch")
	}
	rm, err := openReadModel(ctx, cfg, db, logger)
	if err != nil {
		return startupError(ctx, logger, err)
	}
	if len(cfg.KafkaBrokers) > 0 && (cfg.Has(config.RoleRelay) || cfg.Has(config.RoleProjector)) {
		if front != nil {
			front.setWaiting("kafka")
		}
		if err := waitKafka(ctx, cfg.KafkaBrokers, logger); err != nil {
			return startupError(ctx, logger, err)
		}
	}
	var write *writeSide
	if cfg.Has(config.RoleAPI) || cfg.Has(config.RoleImporter) {
		if write, err = newWriteSide(cfg, logger, db, store); err != nil {
			return err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	if cfg.Has(config.RoleAPI) {
		g.Go(func() error {
			return serveHTTP(gctx, cfg, logger, db, store, write, readService(cfg, db, logger), front)
		})
	} else if front != nil {
		front.setHandler(healthHandler(db.Pool, logger))
		g.Go(func() error { return front.wait(gctx, cfg.ShutdownGrace) })
	}
	g.Go(func() error { return listenErased(gctx, store, logger) })
	if cfg.Has(config.RoleRelay) && len(cfg.KafkaBrokers) > 0 {
		g.Go(func() error { return runRelay(gctx, cfg, logger, db, store) })
	}
	if cfg.Has(config.RoleImporter) {
		// The import worker resumes unfinished jobs, then runs queued ones
		// (woken at once by an upload to this process's API, else polling).
		g.Go(func() error {
			_ = write.imports.Run(gctx)
			return nil
		})
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
			g.Go(func() error { return runKafkaProjector(gctx, cfg, logger, store, handlers) })
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
	return pgquery.NewPG(db.Pool)
}

// writeSide is what the api and importer roles share: one import service,
// so that an upload to this process wakes its own worker at once.
type writeSide struct {
	auth     *accounts.Service
	commands *commands.Handlers
	imports  *imports.Service
}

func newWriteSide(cfg config.Config, logger *slog.Logger, db *database.DB, store *eventstore.Store) (*writeSide, error) {
	// Only the API signs tokens: an importer-only process needs no secret
	// (and creates no secret file).
	var secret []byte
	if cfg.Has(config.RoleAPI) {
		var err error
		if secret, err = jwtSecret(cfg); err != nil {
			return nil, err
		}
	}
	authSvc := accounts.New(db.Pool, secret, cfg.AccessTokenTTL)
	// Phone numbers without a country code are read in the account's
	// default_phone_region setting.
	cmds := commands.New(store, commands.WithPhoneRegions(authSvc))
	imp := imports.New(db.Pool, cmds, imports.Config{Dir: cfg.ImportDir, MaxFileBytes: cfg.ImportMaxFileBytes,
		MaxRows: cfg.ImportMaxRows}, logger)
	return &writeSide{auth: authSvc, commands: cmds, imports: imp}, nil
}

func serveHTTP(ctx context.Context, cfg config.Config, logger *slog.Logger, db *database.DB, store *eventstore.Store, write *writeSide, read readapi.Service, front *frontDoor) error {
	authSvc, cmds, imp := write.auth, write.commands, write.imports
	requestLogLevel, requestLogOff, _ := config.ParseRequestLog(cfg.RequestLog)
	deps := web.Deps{
		Commands:     cmds,
		Auth:         authSvc,
		PhoneReview:  phonereview.New(db.Pool, authSvc),
		Store:        store,
		DB:           db.Pool,
		Progress:     store,
		Logger:       logger,
		MaxBodyBytes: cfg.MaxBodyBytes,
		// Validated by config.
		RequestLogLevel: requestLogLevel,
		RequestLogOff:   requestLogOff,
		Limits: web.Limits{
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
		deps.Read = &ws.Deps{Service: read, Lists: pgquery.NewPGLists(db.Pool), WriteKey: cfg.WriteKey, Closing: closing,
			Imports: imp, MaxUploadBytes: cfg.ImportMaxFileBytes}
		deps.Export = pgquery.NewPG(db.Pool)
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
	// Shutdown does not wait for hijacked (WebSocket) connections: tell them.
	front.srv.RegisterOnShutdown(func() { close(closing) })
	front.setHandler(web.NewRouter(deps))
	return front.wait(ctx, cfg.ShutdownGrace)
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
func healthHandler(db Pinger, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
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
