package main

import (
	"context"
	"log/slog"
	"net"
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
	"contacts/projections/esstore"
	"contacts/readapi"
	"contacts/readapi/esquery"
	"contacts/readapi/pgquery"
	"contacts/readapi/realtime"
	"contacts/readapi/ws"
)

// App is one contacts process, wired once: `contacts serve` runs it, and
// the benchmarks and end-to-end tests build their HTTP API from it, so that
// what they measure or check is what production serves.
//
// NewApp opens what the roles of cfg need (the listener, the database, the
// read model, Kafka), Run runs the roles until its context ends, Close
// releases what NewApp opened.
type App struct {
	cfg    config.Config
	logger *slog.Logger
	front  *frontDoor // nil without a listener (CONTACTS_HEALTH_ADDR empty)
	db     *database.DB
	ownDB  bool // Close closes db
	store  *eventstore.Store
	rm     projections.ReadModel
	write  *writeSide    // nil unless the api or importer role is on
	hub    *realtime.Hub // the live-update hub Handler started; nil before, or without the read API
	// metrics are this process's (nil: CONTACTS_METRICS=off); metricsLn is
	// CONTACTS_METRICS_ADDR's listener (nil: /metrics is on the main one).
	metrics   *appMetrics
	metricsLn net.Listener
}

// NewApp opens the HTTP listener (or, for a process without the API, the
// health listener at CONTACTS_HEALTH_ADDR) first, so that a dependency that
// does not answer yet shows as not ready instead of as no process at all;
// then the database and the rest (appOn).
func NewApp(ctx context.Context, cfg config.Config, logger *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, logger: logger, ownDB: true}
	addr := cfg.HealthAddr
	if cfg.Has(config.RoleAPI) {
		addr = cfg.HTTPAddr
	}
	if addr != "" {
		var err error
		if a.front, err = openFrontDoor(ctx, addr, logger); err != nil {
			return nil, err
		}
	}
	if cfg.MetricsAddr != "" && cfg.MetricsOn() {
		var err error
		if a.metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			a.Close(ctx)
			return nil, err
		}
	}
	db, err := database.Open(ctx, database.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxConns: cfg.DBMaxConns, Logger: logger})
	if err != nil {
		a.Close(ctx)
		return nil, err
	}
	a.db = db
	if err := a.connect(ctx); err != nil {
		a.Close(ctx)
		return nil, err
	}
	return a, nil
}

// appOn is the App of cfg over a database its caller opened and closes (the
// benchmarks), without a listener.
func appOn(ctx context.Context, cfg config.Config, logger *slog.Logger, db *database.DB) (*App, error) {
	a := &App{cfg: cfg, logger: logger, db: db}
	if err := a.connect(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// connect builds the event store and opens the read model, waits for Kafka
// when a role of this process uses it, and builds the write side.
func (a *App) connect(ctx context.Context) error {
	cfg := a.cfg
	a.metrics = newAppMetrics(ctx, cfg, a.db)
	a.store = eventstore.New(a.db.Pool, eventstore.WithMasterKey(cfg.MasterKey()), a.metrics.storeOption())
	a.metrics.follow(ctx, cfg, a.store, a.logger)
	if cfg.ElasticsearchURL != "" {
		a.waitingFor("elasticsearch")
	}
	var err error
	if a.rm, err = openReadModel(ctx, cfg, a.db, a.logger); err != nil {
		return err
	}
	if len(cfg.KafkaBrokers) > 0 && (cfg.Has(config.RoleRelay) || cfg.Has(config.RoleProjector)) {
		a.waitingFor("kafka")
		if err := waitKafka(ctx, cfg.KafkaBrokers, a.logger); err != nil {
			return err
		}
	}
	if cfg.Has(config.RoleAPI) || cfg.Has(config.RoleImporter) {
		if a.write, err = newWriteSide(cfg, a.logger, a.db, a.store, a.metrics.importMetrics()); err != nil {
			return err
		}
	}
	return nil
}

// waitingFor tells the listener (if any) what the process waits for.
func (a *App) waitingFor(what string) {
	if a.front != nil {
		a.front.setWaiting(what)
	}
}

// Close stops the database (when NewApp opened it) and the listener if Run
// never served on it; after Run it only releases the database.
func (a *App) Close(ctx context.Context) {
	if a.db != nil && a.ownDB {
		closeDB(ctx, a.logger, a.db)
	}
	if a.front != nil {
		a.front.close()
	}
	if a.metricsLn != nil {
		_ = a.metricsLn.Close()
	}
}

// Run runs the roles of this process until ctx ends or one fails: the HTTP
// API (or the health listener), the Kafka relay, the projector, and the CSV
// import worker.
func (a *App) Run(ctx context.Context) error {
	cfg := a.cfg
	g, gctx := errgroup.WithContext(ctx)
	if cfg.Has(config.RoleAPI) {
		g.Go(func() error { return a.serveHTTP(gctx) })
	} else if a.front != nil {
		a.front.setHandler(healthHandler(a.db.Pool, a.logger, a.mainMetricsHandler()))
		g.Go(func() error { return a.front.wait(gctx, cfg.ShutdownGrace) })
	}
	if a.metricsLn != nil {
		g.Go(func() error { return serveMetrics(gctx, a.metricsLn, a.metrics.handler(a.logger), a.logger) })
	}
	g.Go(func() error { return listenErased(gctx, a.store, a.logger) })
	if cfg.Has(config.RoleRelay) && len(cfg.KafkaBrokers) > 0 {
		g.Go(func() error { return runRelay(gctx, cfg, a.logger, a.db, a.store, a.metrics.relayMetrics()) })
	}
	if cfg.Has(config.RoleImporter) {
		// The import worker resumes unfinished jobs, then runs queued ones
		// (woken at once by an upload to this process's API, else polling).
		g.Go(func() error {
			_ = a.write.imports.Run(gctx)
			return nil
		})
	}
	if cfg.Has(config.RoleProjector) {
		a.startProjector(gctx, g)
	}
	a.logger.Info("contacts started", "roles", cfg.Roles, "kafka", len(cfg.KafkaBrokers) > 0,
		"read_model", readModelKind(cfg), "version", version)
	return g.Wait()
}

// startProjector runs the projections in g: fed by Kafka, or embedded.
func (a *App) startProjector(ctx context.Context, g *errgroup.Group) {
	store, logger := a.store, a.logger
	handlers := projections.New(store, a.rm)
	for i, h := range handlers {
		handlers[i] = projections.Measured(h, a.metrics.projectionMetrics())
	}
	if len(a.cfg.KafkaBrokers) > 0 {
		// Live updates: every handled event is marked, and the place all
		// read models reflect is announced as the marks fill it in.
		marks := projections.NewLiveMarks(store, projections.Names, logger)
		for i, h := range handlers {
			handlers[i] = projections.Tracked(marks.Wrap(h), store, time.Second)
		}
		g.Go(func() error { return marks.Run(ctx) })
		g.Go(func() error { return runKafkaProjector(ctx, a.cfg, logger, store, handlers) })
		return
	}
	// Embedded: fed straight from the event store, on one instance at a time.
	runner := &projections.Runner{Source: store, Handlers: handlers, Logger: logger,
		Committed: announceCommitted(store, logger)}
	g.Go(func() error {
		return leader.Run(ctx, a.db.Pool, "projector", leader.Options{Logger: logger}, func(ctx context.Context) error {
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

// serveHTTP serves the API on the listener until ctx ends, then shuts down
// gracefully.
func (a *App) serveHTTP(ctx context.Context) error {
	closing := make(chan struct{})
	h, stop, err := a.Handler(ctx, closing)
	if err != nil {
		return err
	}
	defer stop()
	// Shutdown does not wait for hijacked (WebSocket) connections: tell them.
	a.front.srv.RegisterOnShutdown(func() { close(closing) })
	a.front.setHandler(h)
	return a.front.wait(ctx, a.cfg.ShutdownGrace)
}

// Handler is the HTTP API of this process. Closing, when closed, ends the
// WebSocket connections; stop ends the live-update hub the read API
// follows, once the handler serves no more.
func (a *App) Handler(ctx context.Context, closing <-chan struct{}) (h http.Handler, stop func(), err error) {
	deps := a.webDeps()
	read := a.readEngine()
	deps.Read = &ws.Deps{Service: read.Service, Lists: read.Lists, Matcher: read.Matcher, WriteKey: a.cfg.WriteKey,
		Closing: closing, Imports: a.write.imports, MaxUploadBytes: a.cfg.ImportMaxFileBytes, Metrics: a.metrics.wsMetrics()}
	deps.Export = read.Export
	a.hub, stop = a.startHub(ctx)
	deps.Read.Realtime = a.hub
	if h, err = web.New(deps); err != nil {
		stop()
		return nil, nil, err
	}
	return h, stop, nil
}

// webDeps is the router's wiring but for the read API.
func (a *App) webDeps() web.Deps {
	cfg, authSvc := a.cfg, a.write.auth
	requestLogLevel, requestLogOff, _ := config.ParseRequestLog(cfg.RequestLog) // validated by config
	return web.Deps{
		Commands:        a.write.commands,
		Auth:            authSvc,
		PhoneReview:     phonereview.New(a.db.Pool, authSvc),
		Store:           a.store,
		DB:              a.db.Pool,
		Progress:        a.store,
		Logger:          a.logger,
		MaxBodyBytes:    cfg.MaxBodyBytes,
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

		Imports:          a.write.imports,
		ImportMaxBytes:   cfg.ImportMaxFileBytes,
		BulkMaxBodyBytes: cfg.BulkMaxBodyBytes,

		Metrics:        a.metrics.webMetrics(),
		MetricsHandler: a.mainMetricsHandler(),
	}
}

// mainMetricsHandler is GET /metrics on the main listener: nil when
// metrics are off or served on CONTACTS_METRICS_ADDR instead.
func (a *App) mainMetricsHandler() http.Handler {
	if a.metrics == nil || a.cfg.MetricsAddr != "" {
		return nil
	}
	return a.metrics.handler(a.logger)
}

// startHub runs the live-update hub until stop: it follows the projector's
// announcements (PostgreSQL NOTIFY), whichever instance runs it.
func (a *App) startHub(ctx context.Context) (hub *realtime.Hub, stop func()) {
	hub = newHub(a.store, a.logger, len(a.cfg.KafkaBrokers) > 0, a.metrics.realtimeMetrics())
	hubCtx, stopHub := context.WithCancel(ctx)
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		_ = hub.Run(hubCtx)
	}()
	return hub, func() { stopHub(); <-hubDone }
}

func readModelKind(cfg config.Config) string {
	if cfg.ElasticsearchURL != "" {
		return "elasticsearch"
	}
	return "postgresql"
}

// readEngine is the query side of the read API over the read model this
// process's projector writes (a.rm): PostgreSQL, or Elasticsearch when
// ELASTICSEARCH_URL is set. Every read route and WebSocket action is answered
// by the one engine: nothing mixes the two.
func (a *App) readEngine() readapi.Engine {
	if es, ok := a.rm.(*esstore.Store); ok {
		return esquery.NewEngine(es)
	}
	return pgquery.NewEngine(a.db.Pool)
}

// writeSide is what the api and importer roles share: one import service,
// so that an upload to this process wakes its own worker at once.
type writeSide struct {
	auth     *accounts.Service
	commands *commands.Handlers
	imports  *imports.Service
}

func newWriteSide(cfg config.Config, logger *slog.Logger, db *database.DB, store *eventstore.Store, im *imports.Metrics) (*writeSide, error) {
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
		MaxRows: cfg.ImportMaxRows, Metrics: im}, logger)
	return &writeSide{auth: authSvc, commands: cmds, imports: imp}, nil
}
