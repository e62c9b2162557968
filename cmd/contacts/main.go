// Command contacts is the contacts service: one binary, several subcommands.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"contacts/commands"
	"contacts/eventstore"
	"contacts/internal/auth"
	"contacts/internal/config"
	"contacts/internal/database"
	"contacts/internal/httpapi"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

const usage = `contacts: event-sourced contact management

Usage:
  contacts serve   [flags]   run the HTTP API (no configuration needed)
  contacts migrate [flags]   apply the embedded database migrations
  contacts version           print the version

Configuration is by environment (flags override): CONTACTS_HTTP_ADDR,
DATABASE_URL, CONTACTS_DATA_DIR, CONTACTS_JWT_SECRET, CONTACTS_WRITE_KEY,
LOG_LEVEL. Run "contacts serve -h" for every flag.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, os.Args[2:])
	case "migrate":
		err = migrate(ctx, os.Args[2:])
	case "version":
		fmt.Println(versionString())
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "contacts: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "contacts:", err)
		os.Exit(1)
	}
}

func versionString() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		v += " (" + info.GoVersion + ")"
	}
	return "contacts " + v
}

func newLogger(level string) *slog.Logger {
	l, _ := config.ParseLevel(level)
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func migrate(ctx context.Context, args []string) error {
	cfg, err := config.FromEnv(args, config.Getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.LogLevel)
	db, err := database.Open(ctx, database.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxConns: 2, Logger: logger})
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	fmt.Println("migrations are up to date")
	return nil
}

func serve(ctx context.Context, args []string) error {
	cfg, err := config.FromEnv(args, config.Getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.LogLevel)
	slog.SetDefault(logger)

	db, err := database.Open(ctx, database.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxConns: cfg.DBMaxConns, Logger: logger})
	if err != nil {
		return err
	}
	// The cluster must stop even though ctx is cancelled by the signal.
	defer func() {
		if err := db.Close(context.WithoutCancel(ctx)); err != nil {
			logger.Error("stopping database", "err", err)
		}
	}()

	secret := []byte(cfg.JWTSecret)
	if len(secret) == 0 {
		if secret, err = auth.LoadOrCreateSecret(cfg.DataDir); err != nil {
			return err
		}
	}
	store := eventstore.New(db.Pool)
	router := httpapi.NewRouter(httpapi.Deps{
		Commands:     commands.New(store),
		Auth:         auth.New(db.Pool, secret, cfg.AccessTokenTTL),
		Store:        store,
		DB:           db.Pool,
		Logger:       logger,
		MaxBodyBytes: cfg.MaxBodyBytes,
	})
	srv := &http.Server{
		Handler:           router,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Handlers see a context that outlives the shutdown signal: an
		// in-flight write finishes its transaction instead of being cut.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	logger.Info("contacts serving", "addr", ln.Addr().String(), "version", version)
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
	logger.Info("stopped")
	return nil
}
