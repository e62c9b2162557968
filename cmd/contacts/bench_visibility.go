package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"contacts/commands"
	"contacts/eventstore"
	accountsvc "contacts/internal/accounts"
	"contacts/internal/config"
)

// newBenchVisibilityCommand is `contacts bench visibility`: contacts created
// through the command handlers at a fixed rate while the embedded projector
// writes the read model, and, for each write, the time from its acceptance
// (the command returned: the event is committed) until a search of the
// read API (REST, the production router) returns it.
func newBenchVisibilityCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "visibility",
		Short: "Time from a write's acceptance until a search sees it, at a fixed write rate",
		Long: "Contacts are created through the command handlers at --rate writes/s in a new account while the\n" +
			"embedded projector writes the read model (Elasticsearch when ELASTICSEARCH_URL is set); one client\n" +
			"searches the read API (GET /api/v1/contacts/uuids, created since the oldest write not seen yet) over\n" +
			"and over, and each write's latency is the time from its acceptance to the answer that first lists it.\n" +
			"A search's own duration bounds the resolution (reported).",
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	opt := visibilityOptions{}
	fs.IntVar(&opt.rate, "rate", 1000, "writes (contact creations) per second")
	fs.DurationVar(&opt.duration, "duration", 30*time.Second, "how long to write (and measure), after the warm-up")
	fs.DurationVar(&opt.warmup, "warmup", 2*time.Second, "how long to write first without measuring (reported apart)")
	fs.IntVar(&opt.writers, "writers", 16, "concurrent writers")
	fs.StringVar(&opt.engine, "engine", "", "pg or es (default: es when ELASTICSEARCH_URL is set, else pg)")
	config.AddFlags(fs)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return benchVisibility(cmd.Context(), cmd, opt) }
	return cmd
}

type visibilityOptions struct {
	rate, writers    int
	duration, warmup time.Duration
	engine           string
}

// visibilityWrite is one write the searches wait for.
type visibilityWrite struct {
	start, accepted time.Time // accepted zero: the command has not returned yet
	visible         time.Time // zero: no search listed it yet
	second          int       // of the schedule after the warm-up (negative: in the warm-up)
}

// visibilityTracker holds the writes not yet seen by a search.
type visibilityTracker struct {
	mu      sync.Mutex
	pending map[string]*visibilityWrite
	lat     *histogram // measured writes: acceptance → visible
	cold    *histogram // the warm-up's
	second  []*histogram
	from    time.Time    // measuring starts
	seen    atomic.Int64 // measured writes seen
}

func newVisibilityTracker(from time.Time) *visibilityTracker {
	return &visibilityTracker{pending: map[string]*visibilityWrite{}, lat: newHistogram(), cold: newHistogram(), from: from}
}

// started records a write about to be sent; second is the second of the
// schedule after the warm-up it belongs to (negative: the warm-up's).
func (t *visibilityTracker) started(id string, at time.Time, second int) {
	t.mu.Lock()
	t.pending[id] = &visibilityWrite{start: at, second: second}
	t.mu.Unlock()
}

func (t *visibilityTracker) accepted(id string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w := t.pending[id]; w != nil {
		w.accepted = at
		t.done(id, w)
	}
}

func (t *visibilityTracker) failed(id string) {
	t.mu.Lock()
	delete(t.pending, id)
	t.mu.Unlock()
}

// oldest is the start of the oldest write not seen yet: no document of a
// write not seen yet was created before it (a contact's created_at is taken
// while its command runs).
func (t *visibilityTracker) oldest() (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var first time.Time
	for _, w := range t.pending {
		if w.visible.IsZero() && (first.IsZero() || w.start.Before(first)) {
			first = w.start
		}
	}
	return first, !first.IsZero()
}

// listed records that a search answered at `at` listed ids.
func (t *visibilityTracker) listed(ids []string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		if w := t.pending[id]; w != nil && w.visible.IsZero() {
			w.visible = at
			t.done(id, w)
		}
	}
}

// done records w once it is both accepted and visible (a search may list a
// write before its command returns: latency 0).
func (t *visibilityTracker) done(id string, w *visibilityWrite) {
	if w.accepted.IsZero() || w.visible.IsZero() {
		return
	}
	delete(t.pending, id)
	d := max(w.visible.Sub(w.accepted), 0)
	if w.second < 0 {
		t.cold.add(d)
		return
	}
	t.seen.Add(1)
	t.lat.add(d)
	for len(t.second) <= w.second {
		t.second = append(t.second, newHistogramOf(5*time.Millisecond))
	}
	t.second[w.second].add(d)
}

func (t *visibilityTracker) unseen() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}

func benchVisibility(ctx context.Context, cmd *cobra.Command, opt visibilityOptions) error {
	if opt.rate < 1 || opt.writers < 1 || opt.warmup < 0 || opt.duration <= 0 {
		return errors.New("bench visibility: need rate ≥ 1, writers ≥ 1, duration > 0, warmup ≥ 0")
	}
	cfg, logger, db, err := open(ctx, cmd, 48)
	if err != nil {
		return err
	}
	defer closeDB(ctx, logger, db)
	engine := opt.engine
	switch {
	case engine == "" && cfg.ElasticsearchURL != "":
		engine = engineES
	case engine == "":
		engine = enginePG
	case engine == engineES && cfg.ElasticsearchURL == "":
		return errors.New("--engine es needs ELASTICSEARCH_URL (or --elasticsearch-url)")
	case engine != engineES && engine != enginePG:
		return fmt.Errorf("--engine %q: want pg or es", engine)
	}
	secret, err := jwtSecret(cfg)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The projector: the App's own (embedded, fed from the event store),
	// writing the engine's read model.
	pcfg := cfg
	pcfg.Roles, pcfg.KafkaBrokers, pcfg.ElasticsearchURL = []string{config.RoleProjector}, nil, ""
	onEngine(engine, cfg)(&pcfg)
	projector, err := appOn(ctx, pcfg, discardLogger(), db)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return projector.Run(gctx) })
	defer func() { cancel(); _ = g.Wait() }()
	addr, _, stopAPI, err := benchAPI(ctx, cfg, db, onEngine(engine, cfg))
	if err != nil {
		return err
	}
	defer stopAPI()

	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	sess, err := accountsvc.New(db.Pool, secret, cfg.AccessTokenTTL).Register(ctx, accountsvc.RegisterInput{
		AccountName: "bench visibility " + run, Name: "Bench", Email: "bench-visibility-" + run + "@visibility.test",
		Password: "bench visibility password"})
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	api := readAPI{engine: engine, base: "http://" + addr, token: sess.AccessToken, client: &http.Client{Timeout: time.Minute}}
	cmds := commands.New(eventstore.New(db.Pool, eventstore.WithMasterKey(cfg.MasterKey())))

	startW := time.Now()
	tr := newVisibilityTracker(startW.Add(opt.warmup))
	polls, pollTime := 0, newHistogram()
	stopPolling := make(chan struct{})
	pollDone := make(chan error, 1)
	go func() { pollDone <- pollVisibility(ctx, api, tr, stopPolling, &polls, pollTime) }()

	// Writes at a fixed rate (open loop: a slow write does not slow the
	// schedule); the first cold ones are the warm-up.
	cold := int(float64(opt.rate) * opt.warmup.Seconds())
	jobs := make(chan int, opt.rate)
	var wg sync.WaitGroup
	var writeErrs, writesDone atomic.Int64
	accept := newHistogram()
	for range opt.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				id := eventstore.NewID()
				t0 := time.Now()
				// By the schedule, not the start: writers running late
				// must not move a write into another second.
				sec := (n - cold) / opt.rate
				if n < cold {
					sec = -1
				}
				tr.started(id, t0, sec)
				_, err := cmds.CreateContact(ctx, commands.CreateContact{AccountID: sess.Account.ID, ActorID: sess.User.ID, ID: id,
					Fields: map[string]any{"first_name": "Visible", "last_name": strconv.Itoa(n), "city": "Austin",
						"email": fmt.Sprintf("v%d-%s@visibility.test", n, run), "title": "Engineer"}})
				if err != nil {
					tr.failed(id)
					writeErrs.Add(1)
					continue
				}
				now := time.Now()
				accept.add(now.Sub(t0))
				tr.accepted(id, now)
				writesDone.Add(1)
			}
		}()
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "writing %d/s into the %s read model: %s of warm-up, then %s measured…\n",
		opt.rate, engineTitle(engine), opt.warmup, opt.duration)
	total := cold + int(float64(opt.rate)*opt.duration.Seconds())
	interval := time.Second / time.Duration(opt.rate)
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
	wrote := time.Since(tr.from)
	// Wait for the last writes for as long as searches keep finding some
	// (a read model far behind is measured, not cut short); give up after
	// 30 s without one.
	for last, idle := tr.unseen(), time.Now(); last > 0 && time.Since(idle) < 30*time.Second && ctx.Err() == nil; {
		time.Sleep(20 * time.Millisecond)
		if n := tr.unseen(); n < last {
			last, idle = n, time.Now()
		}
	}
	close(stopPolling)
	if err := <-pollDone; err != nil {
		return err
	}

	out := cmd.OutOrStdout()
	measured := writesDone.Load() - min(writesDone.Load(), int64(cold))
	fmt.Fprintf(out, "engine: %s read model, embedded projector; %d writers\n", engineTitle(engine), opt.writers)
	fmt.Fprintf(out, "writes: %d of warm-up, then %d in %.1f s (%.1f/s, target %d/s), %d failed; acceptance p50 %.1f ms, p99 %.1f ms\n",
		min(writesDone.Load(), int64(cold)), measured, wrote.Seconds(), float64(measured)/wrote.Seconds(), opt.rate, writeErrs.Load(),
		ms(accept.quantile(0.50)), ms(accept.quantile(0.99)))
	fmt.Fprintf(out, "acceptance-to-search latency: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (%d writes after the warm-up); never seen: %d\n",
		ms(tr.lat.quantile(0.50)), ms(tr.lat.quantile(0.90)), ms(tr.lat.quantile(0.99)), ms(tr.lat.max()),
		tr.seen.Load(), tr.unseen())
	fmt.Fprintf(out, "warm-up (first %s): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", opt.warmup,
		ms(tr.cold.quantile(0.50)), ms(tr.cold.quantile(0.99)), ms(tr.cold.max()))
	fmt.Fprintf(out, "searches: %d, each p50 %.1f ms, p99 %.1f ms (the figures' resolution)\n",
		polls, ms(pollTime.quantile(0.50)), ms(pollTime.quantile(0.99)))
	var secs []string
	for _, h := range tr.second {
		secs = append(secs, fmt.Sprintf("%.0f", ms(h.quantile(0.99))))
	}
	fmt.Fprintf(out, "p99 by second after the warm-up (ms): %s\n", strings.Join(secs, " "))
	if tr.unseen() > 0 {
		return fmt.Errorf("bench visibility: %d writes never seen by a search", tr.unseen())
	}
	return nil
}

// pollVisibility searches, one search after the other until stop, for the
// contacts created since the oldest write not seen yet.
func pollVisibility(ctx context.Context, api readAPI, tr *visibilityTracker, stop <-chan struct{}, polls *int, took *histogram) error {
	for {
		select {
		case <-stop:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		since, ok := tr.oldest()
		if !ok {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		// Elasticsearch keeps milliseconds: the bound is rounded down.
		path := "/api/v1/contacts/uuids?" + params("created_at_after", since.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano))
		t0 := time.Now()
		body, err := api.get(ctx, path)
		if err != nil {
			return fmt.Errorf("search: %w", err)
		}
		at := time.Now()
		took.add(at.Sub(t0))
		*polls++
		var res struct {
			UUIDs []string `json:"uuids"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return fmt.Errorf("search: %w: %s", err, truncate(body))
		}
		tr.listed(res.UUIDs, at)
	}
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
