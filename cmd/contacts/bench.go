package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"contacts/internal/config"
	"contacts/internal/database"
	"contacts/readapi/realtime"
)

func newBenchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks: read queries, CSV import, live updates, write-to-search visibility",
		Args:  cobra.NoArgs,
	}
	read := &cobra.Command{
		Use:   "read --email E --password P",
		Short: "p50/p99 of each read query class (from contacts seed), PostgreSQL and Elasticsearch side by side",
		Long: "p50/p99 of each read query class against an account (from contacts seed), as REST requests and\n" +
			"WebSocket get_contact round trips to the production API on a loopback port. With --engine both\n" +
			"(the default when ELASTICSEARCH_URL is set) the same requests go to an API reading PostgreSQL and\n" +
			"to one reading Elasticsearch, in turn, and one table shows both: seed without ELASTICSEARCH_URL,\n" +
			"then `contacts projections rebuild all` with it, so both read models hold the same data.",
		Args: cobra.NoArgs,
	}
	fs := read.Flags()
	opt := benchReadOptions{}
	fs.StringVar(&opt.email, "email", "", "a user of the account to query (made by contacts seed)")
	fs.StringVar(&opt.password, "password", "", "its password")
	fs.IntVar(&opt.iterations, "iterations", 200, "queries per class and engine (WebSocket get_contact: 5 times as many)")
	fs.StringVar(&opt.engine, "engine", "", "pg, es or both (default: both when ELASTICSEARCH_URL is set, else pg)")
	config.AddFlags(fs)
	read.RunE = func(cmd *cobra.Command, _ []string) error {
		return benchRead(cmd.Context(), cmd, opt)
	}
	clients := &cobra.Command{
		Use:    "realtime-clients <plan file>",
		Short:  "the subscribers' side of bench realtime (run by it)",
		Args:   cobra.ExactArgs(1),
		Hidden: true,
		RunE:   func(cmd *cobra.Command, args []string) error { return benchRealtimeClients(cmd.Context(), args) },
	}
	cmd.AddCommand(read, newBenchImportCommand(), newBenchRealtimeCommand(), newBenchVisibilityCommand(), clients)
	return cmd
}

// startCPUProfile profiles this process into path until stop is called
// (nothing when path is empty).
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func percentiles(lat []time.Duration) (p50, p99 time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[len(lat)/2], lat[(len(lat)*99)/100]
}

// benchAPI serves the production API (App.Handler) of cfg over db on a
// loopback port until stop. Only the api role is wired, over the PostgreSQL
// read model with the projector embedded (the benchmarks run their own, or
// none); the rate limits and the request log are off and nothing is logged:
// a benchmark is one client sending as fast as it can. tune, when not nil,
// adjusts the configuration further: setting ElasticsearchURL back
// (onEngine) serves the read API from the Elasticsearch read model, as
// `serve` does with it. hub is the API's live-update hub.
func benchAPI(ctx context.Context, cfg config.Config, db *database.DB, tune func(*config.Config)) (addr string, hub *realtime.Hub, stop func(), err error) {
	cfg.Roles = []string{config.RoleAPI}
	cfg.KafkaBrokers, cfg.ElasticsearchURL = nil, ""
	cfg.RateLimit, cfg.IPRateLimit, cfg.LoginRateLimit = 0, 0, 0
	cfg.RequestLog = "off"
	if tune != nil {
		tune(&cfg)
	}
	app, err := appOn(ctx, cfg, discardLogger(), db)
	if err != nil {
		return "", nil, nil, err
	}
	h, stopHandler, err := app.Handler(ctx, nil)
	if err != nil {
		return "", nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stopHandler()
		return "", nil, nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // closed by stop
	return ln.Addr().String(), app.hub, func() { _ = srv.Close(); stopHandler() }, nil
}
