package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/gorilla/websocket"
	"github.com/spf13/cobra"

	"contacts/internal/accounts"
	"contacts/internal/config"
	"contacts/internal/database"
	"contacts/readapi"
	"contacts/readapi/pgquery"
	"contacts/readapi/realtime"
)

func newBenchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks: read queries, CSV import, live updates",
		Args:  cobra.NoArgs,
	}
	read := &cobra.Command{
		Use:   "read --email E --password P",
		Short: "p50/p99 of each read query class against an account (from contacts seed)",
		Args:  cobra.NoArgs,
	}
	fs := read.Flags()
	email := fs.String("email", "", "a user of the account to query (made by contacts seed)")
	password := fs.String("password", "", "its password")
	iterations := fs.Int("iterations", 200, "queries per class")
	config.AddFlags(fs)
	read.RunE = func(cmd *cobra.Command, _ []string) error {
		return benchRead(cmd.Context(), cmd, email, password, iterations)
	}
	clients := &cobra.Command{
		Use:    "realtime-clients <plan file>",
		Short:  "the subscribers' side of bench realtime (run by it)",
		Args:   cobra.ExactArgs(1),
		Hidden: true,
		RunE:   func(cmd *cobra.Command, args []string) error { return benchRealtimeClients(cmd.Context(), args) },
	}
	cmd.AddCommand(read, newBenchImportCommand(), newBenchRealtimeCommand(), clients)
	return cmd
}

// benchRead runs the read benchmark: `contacts bench read --email E
// --password P` against an account (made by `contacts seed`).
func benchRead(ctx context.Context, cmd *cobra.Command, email, password *string, iterations *int) error {
	cfg, logger, db, err := open(ctx, cmd, 8)
	if err != nil {
		return err
	}
	defer closeDB(ctx, logger, db)
	secret, err := jwtSecret(cfg)
	if err != nil {
		return err
	}
	authSvc := accounts.New(db.Pool, secret, cfg.AccessTokenTTL)
	sess, err := authSvc.Login(ctx, *email, *password, "")
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	account := sess.Account.ID
	svc := pgquery.NewPG(db.Pool)

	// Values vary between iterations so that no single plan or page is
	// favoured; they exist in seeded data.
	titles := []string{"engineer", "manager", "director", "vp", "chief"}
	countries := []string{"United States", "Germany", "Canada", "United Kingdom", "India"}
	seniorities := []string{"senior", "manager", "director", "vp", "entry"}
	searches := []string{"eng", "man", "dir", "sal", "pro", "ops"}
	query := func(data map[string]any) readapi.Query {
		q, err := readapi.ParseQuery(data)
		if err != nil {
			panic(err)
		}
		return q
	}
	fieldQuery := func(data map[string]any) (readapi.FieldOptions, readapi.Query) {
		opt, q, err := readapi.ParseFieldOptions(data)
		if err != nil {
			panic(err)
		}
		return opt, q
	}
	classes := []struct {
		name string
		run  func(i int) error
	}{
		{"list: 3 filters + ordering, 25 per page", func(i int) error {
			_, err := svc.ListContacts(ctx, account, query(map[string]any{
				"title": titles[i%5], "country": countries[i%5], "seniority": seniorities[(i/5)%5],
				"ordering": "-created_at", "limit": float64(25)}))
			return err
		}},
		{"list: 3 filters + ordering by last_name", func(i int) error {
			_, err := svc.ListContacts(ctx, account, query(map[string]any{
				"title": titles[i%5], "country": countries[i%5], "employees_min": float64(100),
				"ordering": "last_name", "limit": float64(25)}))
			return err
		}},
		{"distinct titles with search", func(i int) error {
			opt, q := fieldQuery(map[string]any{"search": searches[i%6], "distinct": true, "limit": float64(50)})
			_, err := svc.FieldValues(ctx, account, readapi.FieldTitle, q, opt)
			return err
		}},
		{"distinct companies with search", func(i int) error {
			opt, q := fieldQuery(map[string]any{"search": []string{"acme", "glo", "tech", "lab", "sys", "in"}[i%6], "distinct": true, "limit": float64(50)})
			_, err := svc.FieldValues(ctx, account, readapi.FieldCompany, q, opt)
			return err
		}},
		{"distinct industries, separated, with search", func(i int) error {
			opt, q := fieldQuery(map[string]any{"search": []string{"tech", "fin", "health", "soft", "ed", "re"}[i%6], "distinct": true, "separated": true})
			_, err := svc.FieldValues(ctx, account, readapi.FieldIndustry, q, opt)
			return err
		}},
		{"count with 2 filters", func(i int) error {
			_, err := svc.CountContacts(ctx, account, query(map[string]any{"country": countries[i%5], "seniority": seniorities[i%5]}))
			return err
		}},
		{"count with 3 filters", func(i int) error {
			_, err := svc.CountContacts(ctx, account, query(map[string]any{"country": countries[i%5], "title": titles[i%5], "employees_min": float64(500)}))
			return err
		}},
	}

	type row struct {
		name     string
		p50, p99 time.Duration
	}
	var rows []row
	for _, c := range classes {
		if err := c.run(0); err != nil { // warm and check
			return fmt.Errorf("%s: %w", c.name, err)
		}
		lat := make([]time.Duration, *iterations)
		for i := range lat {
			t0 := time.Now()
			if err := c.run(i); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			lat[i] = time.Since(t0)
		}
		p50, p99 := percentiles(lat)
		rows = append(rows, row{c.name, p50, p99})
		fmt.Fprintf(os.Stderr, "%-45s p50 %8.2f ms  p99 %8.2f ms\n", c.name, ms(p50), ms(p99))
	}

	p50, p99, err := benchWebSocketGet(ctx, *iterations*5, cfg, db, svc, sess.AccessToken, account)
	if err != nil {
		return fmt.Errorf("websocket get_contact: %w", err)
	}
	rows = append(rows, row{"WebSocket get_contact round trip", p50, p99})

	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "query class\tn\tp50\tp99\n")
	for _, r := range rows {
		n := *iterations
		if r.name == "WebSocket get_contact round trip" {
			n *= 5
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f ms\t%.2f ms\n", r.name, n, ms(r.p50), ms(r.p99))
	}
	return tw.Flush()
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
// adjusts the configuration further. hub is the API's live-update hub.
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

// benchWebSocketGet serves the API on a loopback port and measures n
// get_contact round trips on one connection, one at a time.
func benchWebSocketGet(ctx context.Context, n int, cfg config.Config, db *database.DB,
	svc *pgquery.PG, token, account string) (time.Duration, time.Duration, error) {
	uuids, err := svc.ContactUUIDs(ctx, account, mustQuery(map[string]any{"limit": float64(1000)}))
	if err != nil || len(uuids) == 0 {
		return 0, 0, fmt.Errorf("no contacts to get: %v", err)
	}
	addr, _, stop, err := benchAPI(ctx, cfg, db, nil)
	if err != nil {
		return 0, 0, err
	}
	defer stop()
	u := url.URL{Scheme: "ws", Host: addr, Path: "/api/v1/contacts/ws", RawQuery: "token=" + url.QueryEscape(token)}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, u.String(), nil)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	lat := make([]time.Duration, n)
	for i := range lat {
		req := map[string]any{"action": "get_contact", "request_id": fmt.Sprint("r", i), "data": map[string]any{"contact_uuid": uuids[i%len(uuids)]}}
		t0 := time.Now()
		if err := conn.WriteJSON(req); err != nil {
			return 0, 0, err
		}
		var resp struct {
			Status string          `json:"status"`
			Error  json.RawMessage `json:"error"`
		}
		if err := conn.ReadJSON(&resp); err != nil {
			return 0, 0, err
		}
		lat[i] = time.Since(t0)
		if resp.Status != "success" {
			return 0, 0, fmt.Errorf("get_contact: %s", resp.Error)
		}
	}
	p50, p99 := percentiles(lat)
	return p50, p99, nil
}

func mustQuery(data map[string]any) readapi.Query {
	q, err := readapi.ParseQuery(data)
	if err != nil {
		panic(err)
	}
	return q
}
