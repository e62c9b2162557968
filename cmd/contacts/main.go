// Command contacts is the contacts service: one binary, several subcommands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"contacts/internal/accounts"
	"contacts/internal/config"
	"contacts/internal/database"
	"contacts/internal/requestid"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit status: 0, or 1
// after printing the error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(legacyFlags(root, args))
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "contacts:", err)
		return 1
	}
	return 0
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "contacts",
		Short: "Event-sourced contact management",
		Long: "contacts: event-sourced contact management.\n\n" +
			"Configuration is by environment (each variable has a flag of the same meaning, which overrides it):\n" +
			"run \"contacts serve --help\" for every setting and its default.",
		SilenceUsage:  true, // a failing command prints its error, not its usage
		SilenceErrors: true, // run prints it
	}
	root.SetUsageTemplate(usageTemplate(root.UsageTemplate()))
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w\nRun '%s --help' for usage.", err, cmd.CommandPath())
	})
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Run the service (no configuration needed)",
		Long: "Run the roles of this process (all by default): the HTTP API, the Kafka relay and the projector.\n" +
			"Without DATABASE_URL, a private PostgreSQL cluster is started in the data directory (created if missing).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			return serveConfig(cmd.Context(), cfg)
		},
	}
	config.AddFlags(serve.Flags())
	migrate := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the embedded database migrations and exit (serve applies them on start too)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return migrateCommand(cmd.Context(), cmd) },
	}
	config.AddFlags(migrate.Flags())
	versionCmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), versionString()) },
	}
	root.AddCommand(serve, migrate, newProjectionsCommand(), newSeedCommand(), newBenchCommand(),
		newExportCommand(), newPhoneReviewCommand(), newHealthcheckCommand(), versionCmd)
	return root
}

// usageTemplate lists a command's own flags first, then the service
// settings (config.AddFlags), which would otherwise bury them.
func usageTemplate(def string) string {
	const flags = "Flags:\n{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}"
	if !strings.Contains(def, flags) {
		return def // another cobra version: its own layout still works
	}
	return strings.Replace(def, flags, "Flags:\n{{ownFlags . | trimTrailingWhitespaces}}"+
		"{{with settingFlags .}}\n\nSettings (each flag overrides the environment variable in parentheses):\n{{. | trimTrailingWhitespaces}}{{end}}", 1)
}

func init() {
	split := func(cmd *cobra.Command, settings bool) string {
		fs := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if _, ok := f.Annotations[config.SettingAnnotation]; ok == settings {
				fs.AddFlag(f)
			}
		})
		return fs.FlagUsages()
	}
	cobra.AddTemplateFunc("ownFlags", func(cmd *cobra.Command) string { return split(cmd, false) })
	cobra.AddTemplateFunc("settingFlags", func(cmd *cobra.Command) string { return split(cmd, true) })
}

// legacyFlags rewrites "-name" and "-name=value" to "--name…" when name is
// a long flag of the command args select: the commands used Go's flag
// package before, which accepts one dash, and scripts may still do so.
func legacyFlags(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args
	}
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil || name == "help" {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
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
	// Every line logged with a request's context names its request id.
	return slog.New(requestid.Handler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})))
}

// loadConfig reads the configuration of cmd: the environment, overridden by
// its flags. Only serve may create a data directory: any other command run
// from another directory (the default data directory is relative) would
// otherwise work on a new, empty database and report nothing is there.
func loadConfig(cmd *cobra.Command) (config.Config, error) {
	cfg, err := config.Load(cmd.Flags(), config.Getenv)
	if err != nil {
		return cfg, err
	}
	if cmd.Name() != "serve" && cfg.DatabaseURL == "" {
		if err := requireDataDir(cfg.DataDir); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// requireDataDir fails, naming the absolute path it looked at, when dir is
// not an existing directory.
func requireDataDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("no data directory at %s (CONTACTS_DATA_DIR or --data-dir, default ./.contacts-data in the current directory): "+
			"point it at the directory \"contacts serve\" uses, or set DATABASE_URL; only serve creates a new one", abs)
	case err != nil:
		return fmt.Errorf("data directory %s: %w", abs, err)
	case !fi.IsDir():
		return fmt.Errorf("data directory %s is not a directory", abs)
	}
	return nil
}

// open reads the configuration of cmd and opens (and migrates) the database.
func open(ctx context.Context, cmd *cobra.Command, maxConns int32) (config.Config, *slog.Logger, *database.DB, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return cfg, nil, nil, err
	}
	logger, db, err := openDB(ctx, cfg, maxConns)
	return cfg, logger, db, err
}

// openDB opens (and migrates) the database of cfg.
func openDB(ctx context.Context, cfg config.Config, maxConns int32) (*slog.Logger, *database.DB, error) {
	logger := newLogger(cfg.LogLevel)
	if maxConns == 0 {
		maxConns = cfg.DBMaxConns
	}
	db, err := database.Open(ctx, database.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxConns: maxConns, Logger: logger})
	return logger, db, err
}

// closeDB closes the pool and stops a private cluster, even when ctx was
// cancelled by the shutdown signal.
func closeDB(ctx context.Context, logger *slog.Logger, db *database.DB) {
	if err := db.Close(context.WithoutCancel(ctx)); err != nil {
		logger.Error("stopping database", "err", err)
	}
}

func migrateCommand(ctx context.Context, cmd *cobra.Command) error {
	_, logger, db, err := open(ctx, cmd, 2)
	if err != nil {
		return err
	}
	defer closeDB(ctx, logger, db)
	fmt.Fprintln(cmd.OutOrStdout(), "migrations are up to date")
	return nil
}

// jwtSecret is CONTACTS_JWT_SECRET, or the secret generated and kept in the
// data directory when it is unset.
func jwtSecret(cfg config.Config) ([]byte, error) {
	if cfg.JWTSecret != "" {
		return []byte(cfg.JWTSecret), nil
	}
	return accounts.LoadOrCreateSecret(cfg.DataDir)
}
