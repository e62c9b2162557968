package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sync/errgroup"

	"contacts/commands"
	"contacts/eventstore"
	"contacts/internal/auth"
	"contacts/internal/httpapi"
	"contacts/internal/leader"
	"contacts/projections"
	"contacts/projections/pgstore"
	"contacts/readapi"
)

// benchRealtime runs `contacts bench realtime`: N listen-only subscribers
// (WS /api/v1/stream, channel contacts) spread over A accounts, contacts
// created through the command handlers at a fixed rate, and the latency
// from each write's commit to each subscriber's receipt of its push. The
// whole service (projector, hub, HTTP server) and the clients run in this
// process, over loopback: the RSS reported covers both sides.
func benchRealtime(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench realtime", flag.ContinueOnError)
	subscribers := fs.Int("subscribers", 10000, "concurrent WebSocket subscribers")
	accounts := fs.Int("accounts", 1000, "accounts the subscribers and writes are spread over (subscribers/accounts listen to each write)")
	rate := fs.Int("rate", 500, "writes (contact creations) per second")
	duration := fs.Duration("duration", 30*time.Second, "how long to write")
	writers := fs.Int("writers", 16, "concurrent writers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *subscribers < 1 || *accounts < 1 || *accounts > *subscribers || *rate < 1 {
		return errors.New("bench realtime: need subscribers ≥ accounts ≥ 1 and rate ≥ 1")
	}
	if err := raiseOpenFiles(uint64(2**subscribers + 4096)); err != nil {
		return fmt.Errorf("raising the open-files limit (each subscriber is two sockets here): %w", err)
	}
	cfg, logger, db, err := open(ctx, fs.Args(), 48)
	if err != nil {
		return err
	}
	defer closeDB(ctx, logger, db)
	secret := []byte(cfg.JWTSecret)
	if len(secret) == 0 {
		if secret, err = auth.LoadOrCreateSecret(cfg.DataDir); err != nil {
			return err
		}
	}
	quiet := slog.New(slog.DiscardHandler)
	store := eventstore.New(db.Pool)
	cmds := commands.New(store)
	authSvc := auth.New(db.Pool, secret, 24*time.Hour)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	runner := &projections.Runner{Source: store, Handlers: projections.New(store, pgstore.New(db.Pool)), Logger: logger,
		Committed: announceCommitted(store, logger)}
	g.Go(func() error { return leader.Run(gctx, db.Pool, "projector", leader.Options{Logger: logger}, runner.Run) })
	hub := newHub(store, logger)
	g.Go(func() error { return hub.Run(gctx) })
	router := httpapi.NewRouter(httpapi.Deps{Commands: cmds, Auth: authSvc, Store: store, DB: db.Pool, Progress: store,
		Logger: quiet, MaxBodyBytes: 1 << 20, Read: &readapi.Deps{Service: readapi.NewPG(db.Pool), Realtime: hub}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // closed below
	defer srv.Close()
	defer func() { cancel(); _ = g.Wait() }()

	// Accounts (registration hashes a password: in parallel).
	fmt.Fprintf(os.Stderr, "registering %d accounts…\n", *accounts)
	type acct struct{ id, user, token string }
	accts := make([]acct, *accounts)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var rg errgroup.Group
	rg.SetLimit(runtime.GOMAXPROCS(0) * 2)
	for i := range accts {
		rg.Go(func() error {
			s, err := authSvc.Register(ctx, auth.RegisterInput{AccountName: fmt.Sprintf("bench %s %d", run, i), Name: "Bench",
				Email: fmt.Sprintf("bench-%s-%d@realtime.test", run, i), Password: "bench realtime password"})
			if err != nil {
				return err
			}
			accts[i] = acct{s.Account.ID, s.User.ID, s.AccessToken}
			return nil
		})
	}
	if err := rg.Wait(); err != nil {
		return fmt.Errorf("register: %w", err)
	}

	// Subscribers.
	fmt.Fprintf(os.Stderr, "connecting %d subscribers…\n", *subscribers)
	var commits sync.Map // contact id → *commitTime
	lat := newHistogram()
	var received, resyncs, early, decodeErrs atomic.Int64
	perAccount := make([]int64, *accounts)
	conns := make([]*websocket.Conn, *subscribers)
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 2048, WriteBufferSize: 512}
	var dg errgroup.Group
	dg.SetLimit(32)
	var readers sync.WaitGroup
	for i := range conns {
		a := i % *accounts
		perAccount[a]++
		dg.Go(func() error {
			u := url.URL{Scheme: "ws", Host: ln.Addr().String(), Path: "/api/v1/stream",
				RawQuery: url.Values{"token": {accts[a].token}, "channels": {"contacts"}}.Encode()}
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
					Event string `json:"event"`
					ID    string `json:"id"`
				}
				for {
					_, body, err := conn.ReadMessage()
					if err != nil {
						return
					}
					now := time.Now()
					m.Event, m.ID = "", ""
					if err := json.Unmarshal(body, &m); err != nil {
						decodeErrs.Add(1)
						continue
					}
					if m.Event == "resync_required" {
						resyncs.Add(1)
						continue
					}
					received.Add(1)
					ct, ok := commits.Load(m.ID)
					if !ok {
						early.Add(1) // cannot happen: a push follows the projection of a committed write
						continue
					}
					c := ct.(*commitTime)
					for c.at.Load() == 0 { // the writer is storing its commit time
						runtime.Gosched()
					}
					lat.add(now.Sub(time.Unix(0, c.at.Load())))
				}
			}()
			return nil
		})
	}
	if err := dg.Wait(); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	rssConnected := rssBytes("VmRSS")
	fmt.Fprintf(os.Stderr, "connected; RSS %s. writing %d/s for %s…\n", mib(rssConnected), *rate, *duration)

	// Writes at a fixed rate (open loop: a slow write does not slow the schedule).
	jobs := make(chan int, *rate)
	var wg sync.WaitGroup
	var writeErrs, writesDone atomic.Int64
	var expected atomic.Int64
	for range *writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				a := accts[n%*accounts]
				id := eventstore.NewID()
				ct := &commitTime{}
				commits.Store(id, ct)
				_, err := cmds.CreateContact(ctx, commands.CreateContact{AccountID: a.id, ActorID: a.user, ID: id,
					Fields: map[string]any{"first_name": "Bench", "last_name": strconv.Itoa(n), "city": "Austin",
						"email": fmt.Sprintf("c%d-%s@realtime.test", n, run), "title": "Engineer"}})
				ct.at.Store(time.Now().UnixNano())
				if err != nil {
					writeErrs.Add(1)
					continue
				}
				writesDone.Add(1)
				expected.Add(perAccount[n%*accounts])
			}
		}()
	}
	total := int(float64(*rate) * duration.Seconds())
	startW := time.Now()
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
	wrote := time.Since(startW)
	// Let the last pushes arrive.
	deadline := time.Now().Add(30 * time.Second)
	for received.Load() < expected.Load() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // and anything extra (duplicates) with them
	rssPeak := rssBytes("VmHWM")
	for _, c := range conns {
		_ = c.Close()
	}
	readers.Wait()

	p50, p90, p99, max := lat.quantile(0.50), lat.quantile(0.90), lat.quantile(0.99), lat.max()
	fmt.Printf("subscribers %d over %d accounts (%d listen to each write), %d writers\n",
		*subscribers, *accounts, *subscribers / *accounts, *writers)
	fmt.Printf("writes: %d in %.1f s (%.1f/s, target %d/s), %d failed\n",
		writesDone.Load(), wrote.Seconds(), float64(writesDone.Load())/wrote.Seconds(), *rate, writeErrs.Load())
	fmt.Printf("pushes: expected %d, received %d (%d missing, %d extra), resync_required %d, undecodable %d, before commit %d\n",
		expected.Load(), received.Load(), max64(0, expected.Load()-received.Load()), max64(0, received.Load()-expected.Load()),
		resyncs.Load(), decodeErrs.Load(), early.Load())
	fmt.Printf("commit-to-push latency: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n", ms(p50), ms(p90), ms(p99), ms(max))
	fmt.Printf("RSS (server and clients, one process): %s connected, %s peak\n", mib(rssConnected), mib(rssPeak))
	return nil
}

type commitTime struct{ at atomic.Int64 }

// histogram counts latencies in 100 µs buckets up to 60 s.
type histogram struct {
	buckets []atomic.Int64
	maxNs   atomic.Int64
}

const bucketNs = int64(100 * time.Microsecond)

func newHistogram() *histogram {
	return &histogram{buckets: make([]atomic.Int64, int64(60*time.Second)/bucketNs+1)}
}

func (h *histogram) add(d time.Duration) {
	i := max(int64(d), 0) / bucketNs
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
			return time.Duration(int64(i+1) * bucketNs) // the bucket's upper bound
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
