// Command contacts is the contacts service: one binary, several subcommands.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"contacts/internal/auth"
	"contacts/internal/config"
	"contacts/internal/database"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

const usage = `contacts: event-sourced contact management

Usage:
  contacts serve   [flags]   run the service (no configuration needed)
  contacts migrate [flags]   apply the embedded database migrations
  contacts projections status            how far each projection is behind
  contacts projections rebuild <name|all> replay the event store into fresh read models
                                          (names: companies, groups, labels, contacts)
  contacts seed --contacts N  generate an account with N realistic contacts (benchmarks, demos)
  contacts bench read --email E --password P   p50/p99 of each read query class
  contacts bench import [--rows N] [--bulk N]  CSV import until queryable, and bulk upsert timings
  contacts bench realtime [--subscribers N --accounts A --rate W --duration D]   live-update push latency and memory
  contacts export --account-id ID [--query JSON] [--columns a,b] [--output FILE]
                             stream the account's contacts (filtered) as CSV
  contacts phone-review [--account-id ID] [--region R]
                             flag stored phone numbers that were probably misread (nothing is
                             rewritten; administrators list them: GET /api/v1/phone_review)
  contacts version           print the version

Configuration is by environment (flags override): CONTACTS_HTTP_ADDR,
DATABASE_URL, CONTACTS_DATA_DIR, CONTACTS_JWT_SECRET, CONTACTS_WRITE_KEY,
LOG_LEVEL, KAFKA_BROKERS, KAFKA_TOPIC_PREFIX, ELASTICSEARCH_URL, CONTACTS_ROLES.
Run "contacts serve -h" for every flag.
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
	case "projections":
		err = projectionsCommand(ctx, os.Args[2:])
	case "seed":
		err = seedCommand(ctx, os.Args[2:])
	case "bench":
		err = benchCommand(ctx, os.Args[2:])
	case "export":
		err = exportCommand(ctx, os.Args[2:])
	case "phone-review":
		err = phoneReviewCommand(ctx, os.Args[2:])
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

// open reads the configuration and opens (and migrates) the database.
func open(ctx context.Context, args []string, maxConns int32) (config.Config, *slog.Logger, *database.DB, error) {
	cfg, err := config.FromEnv(args, config.Getenv)
	if err != nil {
		return cfg, nil, nil, err
	}
	logger := newLogger(cfg.LogLevel)
	if maxConns == 0 {
		maxConns = cfg.DBMaxConns
	}
	db, err := database.Open(ctx, database.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxConns: maxConns, Logger: logger})
	return cfg, logger, db, err
}

// closeDB closes the pool and stops a private cluster, even when ctx was
// cancelled by the shutdown signal.
func closeDB(ctx context.Context, logger *slog.Logger, db *database.DB) {
	if err := db.Close(context.WithoutCancel(ctx)); err != nil {
		logger.Error("stopping database", "err", err)
	}
}

func migrate(ctx context.Context, args []string) error {
	_, logger, db, err := open(ctx, args, 2)
	if err != nil {
		return err
	}
	defer closeDB(ctx, logger, db)
	fmt.Println("migrations are up to date")
	return nil
}

// jwtSecret is CONTACTS_JWT_SECRET, or the secret generated and kept in the
// data directory when it is unset.
func jwtSecret(cfg config.Config) ([]byte, error) {
	if cfg.JWTSecret != "" {
		return []byte(cfg.JWTSecret), nil
	}
	return auth.LoadOrCreateSecret(cfg.DataDir)
}
