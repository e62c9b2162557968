package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"contacts/commands"
	"contacts/eventstore"
	accountsvc "contacts/internal/accounts"
	"contacts/internal/config"
	"contacts/internal/leader"
	"contacts/projections"
	"contacts/projections/pgstore"
)

// benchRealtime runs `contacts bench realtime`: N listen-only subscribers
// (WS /api/v1/stream, channel contacts) spread over A accounts, contacts
// created through the command handlers at a fixed rate, and the latency
// from each write's commit to each subscriber's receipt of its push. The
// whole service (projector, hub, HTTP server) and the clients run in this
// process, over loopback: the RSS reported covers both sides.
func newBenchRealtimeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "realtime",
		Short: "Live-update push latency and memory with many WebSocket subscribers",
		Args:  cobra.NoArgs,
	}
	fs := cmd.Flags()
	subscribers := fs.Int("subscribers", 10000, "concurrent WebSocket subscribers")
	accounts := fs.Int("accounts", 1000, "accounts the subscribers and writes are spread over (subscribers/accounts listen to each write)")
	rate := fs.Int("rate", 500, "writes (contact creations) per second")
	duration := fs.Duration("duration", 30*time.Second, "how long to write (and measure), after the warm-up")
	warmup := fs.Duration("warmup", 2*time.Second, "how long to write first without measuring (reported apart as the cold start)")
	writers := fs.Int("writers", 16, "concurrent writers")
	cpuProfile := fs.String("cpuprofile", "", "write the server process's CPU profile of the writing phase to this file")
	config.AddFlags(fs)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return benchRealtime(cmd.Context(), cmd, subscribers, accounts, rate, writers, duration, warmup, cpuProfile)
	}
	return cmd
}

func benchRealtime(ctx context.Context, cmd *cobra.Command, subscribers, accounts, rate, writers *int, duration, warmup *time.Duration, cpuProfile *string) error {
	if *subscribers < 1 || *accounts < 1 || *accounts > *subscribers || *rate < 1 || *warmup < 0 {
		return errors.New("bench realtime: need subscribers ≥ accounts ≥ 1 and rate ≥ 1")
	}
	if err := raiseOpenFiles(uint64(*subscribers + 4096)); err != nil {
		return fmt.Errorf("raising the open-files limit (a socket per subscriber): %w", err)
	}
	cfg, logger, db, err := open(ctx, cmd, 48)
	if err != nil {
		return err
	}
	defer closeDB(ctx, logger, db)
	secret, err := jwtSecret(cfg)
	if err != nil {
		return err
	}
	store := eventstore.New(db.Pool, eventstore.WithMasterKey(cfg.MasterKey()))
	cmds := commands.New(store)
	authSvc := accountsvc.New(db.Pool, secret, 24*time.Hour)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	runner := &projections.Runner{Source: store, Handlers: projections.New(store, pgstore.New(db.Pool)), Logger: logger,
		Committed: announceCommitted(store, logger)}
	g.Go(func() error {
		return leader.Run(gctx, db.Pool, "projector", leader.Options{Logger: logger}, runner.Run)
	})
	// The tokens of the accounts below last the run (and are reused by the next).
	addr, hub, stopAPI, err := benchAPI(ctx, cfg, db, func(cfg *config.Config) { cfg.AccessTokenTTL = 24 * time.Hour })
	if err != nil {
		return err
	}
	defer stopAPI()
	defer func() { cancel(); _ = g.Wait() }()

	// Accounts: registration hashes a password (slow), so the accounts of a
	// previous run are reused while their tokens are valid.
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	accts, err := benchAccounts(ctx, authSvc, filepath.Join(cfg.DataDir, "bench-realtime-accounts.json"), *accounts)
	if err != nil {
		return err
	}

	// Subscribers: a child process (each side needs a socket per subscriber,
	// and one process may not hold both under a 20,000 open-files limit).
	perAccount := make([]int64, *accounts)
	for i := range *subscribers {
		perAccount[i%*accounts]++
	}
	tokens := make([]string, len(accts))
	for i, a := range accts {
		tokens[i] = a.Token
	}
	plan, err := os.CreateTemp("", "contacts-bench-realtime-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(plan.Name())
	if err := json.NewEncoder(plan).Encode(clientPlan{Addr: addr, Tokens: tokens, Subscribers: *subscribers}); err != nil {
		return err
	}
	plan.Close()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.CommandContext(ctx, exe, "bench", "realtime-clients", plan.Name())
	child.Stderr = os.Stderr
	toChild, err := child.StdinPipe()
	if err != nil {
		return err
	}
	fromChild, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return err
	}
	defer child.Wait() //nolint:errcheck // reported through its output
	lines := bufio.NewScanner(fromChild)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	if !lines.Scan() || lines.Text() != "ready" {
		return fmt.Errorf("the subscribers' process failed: %q %v", lines.Text(), lines.Err())
	}
	rssConnected := rssBytes("VmRSS")
	fmt.Fprintf(os.Stderr, "connected; server RSS %s. writing %d/s: %s of warm-up, then %s measured…\n", mib(rssConnected), *rate, *warmup, *duration)

	// Writes at a fixed rate (open loop: a slow write does not slow the schedule).
	jobs := make(chan int, *rate)
	var wg sync.WaitGroup
	var writeErrs, writesDone, expected atomic.Int64
	for range *writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				a := accts[n%*accounts]
				_, err := cmds.CreateContact(ctx, commands.CreateContact{AccountID: a.ID, ActorID: a.User,
					Fields: map[string]any{"first_name": "Bench", "last_name": strconv.Itoa(n), "city": "Austin",
						"email": fmt.Sprintf("c%d-%s@realtime.test", n, run), "title": "Engineer"}})
				if err != nil {
					writeErrs.Add(1)
					continue
				}
				writesDone.Add(1)
				expected.Add(perAccount[n%*accounts])
			}
		}()
	}
	progressDone := make(chan struct{})
	go func() { // once a second: how far the writes, the projector and the hub are
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-progressDone:
				return
			case <-t.C:
			}
			head, _ := store.Head(ctx)
			reached, _ := store.Reached(ctx, projections.Names)
			fmt.Fprintf(os.Stderr, "  head %d, projected %d, pushed up to %d\n", head, reached.Position, hub.Position())
		}
	}()
	defer close(progressDone)
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	cold := int(float64(*rate) * warmup.Seconds())
	total := cold + int(float64(*rate)*duration.Seconds())
	startW := time.Now()
	measureFrom := startW.Add(*warmup)
	// Pushes of events that occurred from then on are measured; those
	// before, the cold start, are reported apart.
	if _, err := fmt.Fprintf(toChild, "measure %d\n", measureFrom.UnixNano()); err != nil {
		return err
	}
	interval := time.Second / time.Duration(*rate)
	for n := range total {
		if d := time.Until(startW.Add(time.Duration(n) * interval)); d > 0 {
			time.Sleep(d)
		}
		select {
		case jobs <- n:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
	wrote := time.Since(measureFrom)
	if _, err := fmt.Fprintf(toChild, "done %d\n", expected.Load()); err != nil {
		return err
	}
	if !lines.Scan() {
		return fmt.Errorf("the subscribers' process ended without results: %v", lines.Err())
	}
	var res clientResult
	if err := json.Unmarshal(lines.Bytes(), &res); err != nil {
		return fmt.Errorf("subscribers' results %q: %w", lines.Text(), err)
	}
	rssPeak := rssBytes("VmHWM")

	fmt.Printf("subscribers %d over %d accounts (%d listen to each write), %d writers\n",
		*subscribers, *accounts, *subscribers / *accounts, *writers)
	measured := writesDone.Load() - min(writesDone.Load(), int64(cold))
	fmt.Printf("writes: %d of warm-up, then %d in %.1f s (%.1f/s, target %d/s), %d failed\n",
		min(writesDone.Load(), int64(cold)), measured, wrote.Seconds(), float64(measured)/wrote.Seconds(), *rate, writeErrs.Load())
	fmt.Printf("pushes: expected %d, received %d (%d missing, %d extra), resync_required %d, undecodable %d\n",
		expected.Load(), res.Received, max64(0, expected.Load()-res.Received), max64(0, res.Received-expected.Load()),
		res.Resyncs, res.Undecodable)
	fmt.Printf("commit-to-push latency: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (%d pushes after the warm-up)\n",
		res.P50, res.P90, res.P99, res.Max, res.Measured)
	fmt.Printf("warm-up (first %s): p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d pushes)\n", *warmup, res.ColdP50, res.ColdP99, res.ColdMax, res.Received-res.Measured)
	fmt.Printf("p99 by second after the warm-up (ms): %s\n", strings.Join(res.Seconds, " "))
	fmt.Printf("RSS of the server process: %s with every subscriber connected, %s peak (the subscribers' process: %s peak)\n",
		mib(rssConnected), mib(rssPeak), mib(res.PeakRSS))
	return nil
}

// benchAccount is an account of the benchmark and a token of its user.
type benchAccount struct {
	ID    string `json:"id"`
	User  string `json:"user"`
	Token string `json:"token"`
}

// benchAccounts returns n accounts: those saved in file by an earlier run
// when their tokens are still valid for at least an hour, else new ones
// (saved for the next run).
func benchAccounts(ctx context.Context, authSvc *accountsvc.Service, file string, n int) ([]benchAccount, error) {
	var saved []benchAccount
	if b, err := os.ReadFile(file); err == nil && json.Unmarshal(b, &saved) == nil && len(saved) >= n {
		ok := true
		for _, a := range saved[:n] {
			p, err := authSvc.Authenticate(ctx, a.Token)
			ok = ok && err == nil && p.AccountID == a.ID && time.Until(p.Expires) > time.Hour
		}
		if ok {
			fmt.Fprintf(os.Stderr, "reusing %d accounts of %s\n", n, file)
			return saved[:n], nil
		}
	}
	fmt.Fprintf(os.Stderr, "registering %d accounts…\n", n)
	accts := make([]benchAccount, n)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var rg errgroup.Group
	rg.SetLimit(runtime.GOMAXPROCS(0) * 2)
	for i := range accts {
		rg.Go(func() error {
			s, err := authSvc.Register(ctx, accountsvc.RegisterInput{AccountName: fmt.Sprintf("bench %s %d", run, i), Name: "Bench",
				Email: fmt.Sprintf("bench-%s-%d@realtime.test", run, i), Password: "bench realtime password"})
			if err != nil {
				return err
			}
			accts[i] = benchAccount{s.Account.ID, s.User.ID, s.AccessToken}
			return nil
		})
	}
	if err := rg.Wait(); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	if b, err := json.Marshal(accts); err == nil {
		_ = os.WriteFile(file, b, 0o600) // a cache: the next run registers again without it
	}
	return accts, nil
}

// clientPlan is what the subscribers' process is told.
type clientPlan struct {
	Addr        string   `json:"addr"`
	Tokens      []string `json:"tokens"` // one per account; subscriber i uses tokens[i % len]
	Subscribers int      `json:"subscribers"`
}

// clientResult is what it reports (latencies in ms).
type clientResult struct {
	Received    int64    `json:"received"`
	Resyncs     int64    `json:"resyncs"`
	Undecodable int64    `json:"undecodable"`
	P50         float64  `json:"p50"`
	P90         float64  `json:"p90"`
	P99         float64  `json:"p99"`
	Max         float64  `json:"max"`
	Measured    int64    `json:"measured"` // pushes of events after the warm-up
	ColdP50     float64  `json:"cold_p50"`
	ColdP99     float64  `json:"cold_p99"`
	ColdMax     float64  `json:"cold_max"`
	Seconds     []string `json:"seconds"` // p99 of each second after the warm-up
	PeakRSS     int64    `json:"peak_rss"`
}

// benchRealtimeClients is the subscribers' side of `bench realtime` (run by
// it): it connects every subscriber, says "ready", and measures, for each
// push, the time from its event's occurred_at (the write's clock, taken
// just before the commit: this slightly overstates the latency) to its
// receipt, until told "done <expected pushes>".
func benchRealtimeClients(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: contacts bench realtime-clients <plan file> (run by contacts bench realtime)")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var plan clientPlan
	if err := json.Unmarshal(b, &plan); err != nil {
		return err
	}
	if err := raiseOpenFiles(uint64(plan.Subscribers + 1024)); err != nil {
		return fmt.Errorf("raising the open-files limit: %w", err)
	}
	lat, coldLat := newHistogram(), newHistogram()
	var measureFrom atomic.Int64 // unix ns; pushes of earlier events are the warm-up's
	measureFrom.Store(math.MaxInt64)
	var perSecond [600]*histogram // after measureFrom, by the second of the event
	var perSecondMu sync.Mutex
	second := func(i int) *histogram {
		perSecondMu.Lock()
		defer perSecondMu.Unlock()
		if perSecond[i] == nil {
			perSecond[i] = newHistogramOf(5 * time.Millisecond)
		}
		return perSecond[i]
	}
	var received, measured, resyncs, undecodable atomic.Int64
	conns := make([]*websocket.Conn, plan.Subscribers)
	dialer := websocket.Dialer{HandshakeTimeout: 60 * time.Second, ReadBufferSize: 2048, WriteBufferSize: 512}
	var dg errgroup.Group
	dg.SetLimit(32)
	var readers sync.WaitGroup
	for i := range conns {
		tok := plan.Tokens[i%len(plan.Tokens)]
		dg.Go(func() error {
			u := url.URL{Scheme: "ws", Host: plan.Addr, Path: "/api/v1/stream",
				RawQuery: url.Values{"token": {tok}, "channels": {"contacts"}}.Encode()}
			conn, _, err := dialer.DialContext(ctx, u.String(), nil)
			if err != nil {
				return err
			}
			var first struct{ Event string }
			if err := conn.ReadJSON(&first); err != nil || first.Event != "subscribed" {
				return fmt.Errorf("subscriber %d: first message %q: %v", i, first.Event, err)
			}
			conns[i] = conn
			readers.Add(1)
			go func() {
				defer readers.Done()
				var m struct {
					Event      string    `json:"event"`
					OccurredAt time.Time `json:"occurred_at"`
				}
				for {
					_, body, err := conn.ReadMessage()
					if err != nil {
						return
					}
					now := time.Now()
					m.Event, m.OccurredAt = "", time.Time{}
					if err := json.Unmarshal(body, &m); err != nil {
						undecodable.Add(1)
						continue
					}
					if m.Event == "resync_required" {
						resyncs.Add(1)
						continue
					}
					received.Add(1)
					d := now.Sub(m.OccurredAt)
					since := m.OccurredAt.UnixNano() - measureFrom.Load()
					if since < 0 {
						coldLat.add(d)
						continue
					}
					measured.Add(1)
					lat.add(d)
					if i := since / int64(time.Second); i < int64(len(perSecond)) {
						second(int(i)).add(d)
					}
				}
			}()
			return nil
		})
	}
	if err := dg.Wait(); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() {
		return errors.New("bench realtime-clients: no start signal")
	}
	from, err := strconv.ParseInt(strings.TrimPrefix(in.Text(), "measure "), 10, 64)
	if err != nil {
		return err
	}
	measureFrom.Store(from)
	if !in.Scan() {
		return errors.New("bench realtime-clients: no end signal")
	}
	want, err := strconv.ParseInt(strings.TrimPrefix(in.Text(), "done "), 10, 64)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for received.Load() < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // anything extra (duplicates) arrives too
	res := clientResult{Received: received.Load(), Resyncs: resyncs.Load(), Undecodable: undecodable.Load(),
		P50: ms(lat.quantile(0.50)), P90: ms(lat.quantile(0.90)), P99: ms(lat.quantile(0.99)), Max: ms(lat.max()),
		Measured: measured.Load(), ColdP50: ms(coldLat.quantile(0.50)), ColdP99: ms(coldLat.quantile(0.99)), ColdMax: ms(coldLat.max()),
		PeakRSS: rssBytes("VmHWM")}
	for _, h := range perSecond {
		if h == nil {
			break
		}
		res.Seconds = append(res.Seconds, fmt.Sprintf("%.0f", ms(h.quantile(0.99))))
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	for _, c := range conns {
		_ = c.Close()
	}
	readers.Wait()
	return nil
}

// histogram counts latencies in buckets (100 µs, or coarser) up to 60 s.
type histogram struct {
	bucketNs int64
	buckets  []atomic.Int64
	maxNs    atomic.Int64
}

func newHistogram() *histogram { return newHistogramOf(100 * time.Microsecond) }

func newHistogramOf(bucket time.Duration) *histogram {
	return &histogram{bucketNs: int64(bucket), buckets: make([]atomic.Int64, int64(60*time.Second)/int64(bucket)+1)}
}

func (h *histogram) add(d time.Duration) {
	i := max(int64(d), 0) / h.bucketNs
	if i >= int64(len(h.buckets)) {
		i = int64(len(h.buckets)) - 1
	}
	h.buckets[i].Add(1)
	for {
		m := h.maxNs.Load()
		if int64(d) <= m || h.maxNs.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

func (h *histogram) quantile(q float64) time.Duration {
	var total int64
	for i := range h.buckets {
		total += h.buckets[i].Load()
	}
	if total == 0 {
		return 0
	}
	want := int64(float64(total)*q + 0.5)
	var seen int64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= want {
			return time.Duration(int64(i+1) * h.bucketNs) // the bucket's upper bound
		}
	}
	return h.max()
}

func (h *histogram) max() time.Duration { return time.Duration(h.maxNs.Load()) }

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// rssBytes reads a memory figure of this process (VmRSS now, VmHWM peak).
func rssBytes(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func mib(b int64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}
