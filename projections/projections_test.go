package projections_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/commands"
	"contacts/eventstore"
	"contacts/internal/migrations"
	"contacts/internal/pgtest"
	"contacts/projections"
	"contacts/projections/pgstore"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type world struct {
	pool     *pgxpool.Pool
	events   *eventstore.Store
	cmds     *commands.Handlers
	rm       *pgstore.Store
	accounts []string
	contacts map[string][]string // account -> contact ids
	groups   map[string][]string
	labels   map[string][]string
}

func newWorld(t testing.TB) *world {
	t.Helper()
	pool := pgtest.New(t)
	if _, err := migrations.Apply(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	es := eventstore.New(pool)
	return &world{pool: pool, events: es, cmds: commands.New(es), rm: pgstore.New(pool),
		contacts: map[string][]string{}, groups: map[string][]string{}, labels: map[string][]string{}}
}

// history writes a realistic mix of every kind of change through the real
// command handlers, in two accounts.
func (w *world) history(t *testing.T, rng *rand.Rand, contactsPerAccount int) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for a := 0; a < 2; a++ {
		acct := eventstore.NewID()
		w.accounts = append(w.accounts, acct)
		var companies []string
		for i := 0; i < 3; i++ {
			co, err := w.cmds.CreateCompany(ctx, commands.CreateCompany{AccountID: acct, Fields: map[string]any{
				"name": fmt.Sprintf("Company %d", i), "industries": []any{"Software", "Cloud"}, "employees": float64(10 * (i + 1)), "city": "Austin"}})
			must(err)
			companies = append(companies, co.ID)
		}
		for i := 0; i < 3; i++ {
			g, err := w.cmds.CreateGroup(ctx, commands.CreateGroup{AccountID: acct, Fields: map[string]any{"name": fmt.Sprintf("Group %d", i)}})
			must(err)
			w.groups[acct] = append(w.groups[acct], g.ID)
			l, err := w.cmds.CreateLabel(ctx, commands.CreateLabel{AccountID: acct, Fields: map[string]any{"title": fmt.Sprintf("label%d", i)}})
			must(err)
			w.labels[acct] = append(w.labels[acct], l.ID)
		}
		for i := 0; i < contactsPerAccount; i++ {
			fields := map[string]any{"first_name": fmt.Sprintf("First%d", i), "last_name": "Last", "email": fmt.Sprintf("c%d-%d@example.com", a, i),
				"title": []string{"CEO", "CTO", "Engineer"}[i%3], "tags": []any{fmt.Sprintf("label%d", i%3)}}
			if i%2 == 0 {
				fields["company_id"] = companies[i%3]
			}
			c, err := w.cmds.CreateContact(ctx, commands.CreateContact{AccountID: acct, Fields: fields})
			must(err)
			w.contacts[acct] = append(w.contacts[acct], c.ID)
		}
		ids := w.contacts[acct]
		for step := 0; step < contactsPerAccount*3; step++ {
			id := ids[rng.IntN(len(ids))]
			ref := commands.ContactRef{AccountID: acct, ID: id}
			var err error
			switch rng.IntN(9) {
			case 0:
				_, err = w.cmds.UpdateContact(ctx, commands.UpdateContact{AccountID: acct, ID: id, Fields: map[string]any{"title": fmt.Sprint("Title ", step), "city": "Berlin"}})
			case 1:
				_, err = w.cmds.AddContactLabels(ctx, commands.ChangeContactLabels{ContactRef: ref, Labels: []string{"vip"}})
			case 2:
				_, _, err = w.cmds.AddNote(ctx, commands.AddNote{ContactRef: ref, AuthorID: "u", Content: "note"})
			case 3:
				_, err = w.cmds.AddGroupMembers(ctx, commands.ChangeGroupMembers{Ref: commands.Ref{AccountID: acct, ID: w.groups[acct][rng.IntN(3)]}, ContactIDs: []string{id}})
			case 4:
				_, err = w.cmds.RemoveGroupMembers(ctx, commands.ChangeGroupMembers{Ref: commands.Ref{AccountID: acct, ID: w.groups[acct][rng.IntN(3)]}, ContactIDs: []string{id}})
			case 5:
				_, err = w.cmds.UpdateCompany(ctx, commands.UpdateCompany{AccountID: acct, ID: companies[rng.IntN(3)], Fields: map[string]any{"employees": float64(step)}})
			case 6:
				_, err = w.cmds.UpdateContact(ctx, commands.UpdateContact{AccountID: acct, ID: id, Fields: map[string]any{"company_id": companies[rng.IntN(3)]}})
			case 7:
				_, err = w.cmds.SetCustomAttributes(ctx, commands.SetCustomAttributes{ContactRef: ref, Values: map[string]any{"score": float64(step)}})
			case 8:
				_, err = w.cmds.UpdateGroup(ctx, commands.UpdateGroup{AccountID: acct, ID: w.groups[acct][rng.IntN(3)], Fields: map[string]any{"name": fmt.Sprint("Group renamed ", step)}})
			}
			if err != nil && !isExpectedConflict(err) {
				t.Fatalf("step %d: %v", step, err)
			}
		}
		// Lifecycle changes that cross documents.
		_, err := w.cmds.DeleteContact(ctx, commands.ContactRef{AccountID: acct, ID: ids[1]})
		must(err)
		_, err = w.cmds.MergeContacts(ctx, commands.MergeContacts{AccountID: acct, WinnerID: ids[2], LoserID: ids[3]})
		must(err)
		_, err = w.cmds.DeleteCompany(ctx, commands.Ref{AccountID: acct, ID: companies[0]})
		must(err)
		_, err = w.cmds.DeleteGroup(ctx, commands.Ref{AccountID: acct, ID: w.groups[acct][0]})
		must(err)
		_, err = w.cmds.DeleteLabel(ctx, commands.Ref{AccountID: acct, ID: w.labels[acct][1]})
		must(err)
	}
}

// isExpectedConflict: random steps may hit a rename to an existing name.
func isExpectedConflict(err error) bool {
	var taken *commands.UniqueValueTakenError
	return errors.As(err, &taken)
}

func allEvents(t *testing.T, es *eventstore.Store) []eventstore.Event {
	t.Helper()
	var out []eventstore.Event
	var cur eventstore.Cursor
	for {
		b, err := es.ReadAll(context.Background(), cur, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			return out
		}
		out = append(out, b...)
		cur = b[len(b)-1].Cursor()
	}
}

// expected computes every document from the command side's own state: the
// aggregates replayed from their streams, joined as the contract says.
func (w *world) expected(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	lastPos := func(account, id string) int64 {
		evs, err := w.events.ReadStream(ctx, account, id, 0)
		if err != nil || len(evs) == 0 {
			t.Fatalf("stream %s: %v", id, err)
		}
		return evs[len(evs)-1].Position
	}
	for _, acct := range w.accounts {
		groups := map[string]projections.GroupDoc{}
		for _, gid := range w.groups[acct] {
			g, err := w.cmds.Group(ctx, acct, gid)
			if err != nil {
				t.Fatal(err)
			}
			groups[gid] = projections.GroupDoc{State: g, Position: lastPos(acct, gid)}
			out["group:"+gid] = jsonOf(t, groups[gid])
		}
		usage := map[string]int64{} // lower-cased title -> live contacts carrying it
		for _, cid := range w.contacts[acct] {
			c, err := w.cmds.Contact(ctx, acct, cid)
			if err != nil {
				t.Fatal(err)
			}
			doc := projections.ContactDoc{State: c, Position: lastPos(acct, cid), Groups: []projections.GroupRef{}}
			if c.CompanyID != "" {
				co, err := w.cmds.Company(ctx, acct, c.CompanyID)
				if err != nil {
					t.Fatal(err)
				}
				out["company:"+co.ID] = jsonOf(t, projections.CompanyDoc{State: co, Position: lastPos(acct, co.ID)})
				if !co.Deleted {
					doc.Company = &projections.CompanyRef{ID: co.ID, Profile: co.Profile}
				}
			}
			for _, g := range groups {
				if !g.Deleted && slices.Contains(g.ContactIDs, cid) {
					doc.Groups = append(doc.Groups, projections.GroupRef{ID: g.ID, Name: g.Name})
				}
			}
			sort.Slice(doc.Groups, func(i, j int) bool {
				if doc.Groups[i].Name != doc.Groups[j].Name {
					return doc.Groups[i].Name < doc.Groups[j].Name
				}
				return doc.Groups[i].ID < doc.Groups[j].ID
			})
			out["contact:"+cid] = jsonOf(t, doc)
			if !c.Deleted && c.MergedInto == "" {
				for _, l := range c.Labels {
					usage[strings.ToLower(l)]++
				}
			}
		}
		for _, lid := range w.labels[acct] {
			l, err := w.cmds.Label(ctx, acct, lid)
			if err != nil {
				t.Fatal(err)
			}
			out["label:"+lid] = jsonOf(t, projections.LabelDoc{State: l, Position: lastPos(acct, lid), UsageCount: usage[strings.ToLower(l.Title)]})
		}
	}
	return out
}

// actual reads the same documents from the read model.
func (w *world) actual(t *testing.T, want map[string]string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for key := range want {
		kind, id, _ := strings.Cut(key, ":")
		var doc any
		var ok bool
		var err error
		for _, acct := range w.accounts {
			switch kind {
			case "contact":
				var d projections.ContactDoc
				d, ok, err = w.rm.Contact(ctx, acct, id)
				if d.Groups == nil {
					d.Groups = []projections.GroupRef{}
				}
				doc = d
			case "company":
				doc, ok, err = w.rm.Company(ctx, acct, id)
			case "group":
				doc, ok, err = w.rm.Group(ctx, acct, id)
			case "label":
				doc, ok, err = w.rm.Label(ctx, acct, id)
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				break
			}
		}
		if ok {
			out[key] = jsonOf(t, doc)
		}
	}
	return out
}

func jsonOf(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	// Normalise through a generic value so key order and time formats agree.
	var g any
	_ = json.Unmarshal(b, &g)
	b, _ = json.Marshal(g)
	return string(b)
}

func compare(t *testing.T, want, got map[string]string) {
	t.Helper()
	bad := 0
	for k, w := range want {
		if got[k] != w {
			bad++
			if bad <= 3 {
				t.Errorf("%s\n got %s\nwant %s", k, got[k], w)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d documents differ", bad, len(want))
	}
}

// TestShuffledAndDuplicatedReplays: whatever the order across streams, and
// however often a batch is delivered again (late, after newer ones), the read
// model ends equal to the state the command side holds.
func TestShuffledAndDuplicatedReplays(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := newWorld(t)
	w.history(t, rng, 30)
	events := allEvents(t, w.events)
	want := w.expected(t)
	handlers := projections.New(w.events, w.rm)
	ctx := context.Background()

	for round := 0; round < 3; round++ {
		// Random batches, delivered in random order, some of them twice.
		var batches [][]eventstore.Event
		for i := 0; i < len(events); {
			n := 1 + rng.IntN(40)
			batches = append(batches, events[i:min(i+n, len(events))])
			i += n
		}
		rng.Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })
		for i := 0; i < len(batches)/3; i++ {
			batches = append(batches, batches[rng.IntN(len(batches))])
		}
		for _, b := range batches {
			for _, h := range rng.Perm(len(handlers)) {
				if err := handlers[h].Handle(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
		}
		compare(t, want, w.actual(t, want))
	}
}

// TestRunnerFollowsTheEventStore: the embedded runner, fed straight from the
// event store from its checkpoints, makes every write visible.
func TestRunnerFollowsTheEventStore(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runner := &projections.Runner{Source: w.events, Handlers: projections.New(w.events, w.rm), Logger: discard()}
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()

	w.history(t, rand.New(rand.NewPCG(3, 4)), 10)
	want := w.expected(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := w.actual(t, want)
		if equal(want, got) {
			break
		}
		if time.Now().After(deadline) {
			compare(t, want, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Checkpoints reached the head, so a restart has nothing to redo.
	head := allEvents(t, w.events)
	for _, name := range projections.Names {
		c, err := w.events.LoadCheckpoint(context.Background(), name)
		if err != nil || c != head[len(head)-1].Cursor() {
			t.Fatalf("checkpoint %s = %v (%v), head %v", name, c, err, head[len(head)-1].Cursor())
		}
	}
}

// TestRebuildEqualsLive: a rebuild from event 0 gives the same documents.
func TestRebuildEqualsLive(t *testing.T) {
	w := newWorld(t)
	w.history(t, rand.New(rand.NewPCG(5, 6)), 20)
	want := w.expected(t)
	ctx := context.Background()
	var phases []string
	for _, name := range projections.Names {
		if err := projections.Rebuild(ctx, w.events, w.rm, name, 37, func(p projections.Progress) { phases = append(phases, p.Phase) }); err != nil {
			t.Fatal(err)
		}
	}
	compare(t, want, w.actual(t, want))
	if len(phases) == 0 || phases[len(phases)-1] != "done" {
		t.Fatalf("progress phases: %v", phases)
	}
	// Each checkpoint is where its rebuild stopped, so the live runner's
	// next start does not read the history again.
	head := allEvents(t, w.events)
	for _, name := range projections.Names {
		c, err := w.events.LoadCheckpoint(ctx, name)
		if err != nil || c != head[len(head)-1].Cursor() {
			t.Fatalf("checkpoint %s = %v (%v) after the rebuild, head %v", name, c, err, head[len(head)-1].Cursor())
		}
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// recorder is a handler that records the batches it is given.
type recorder struct {
	name    string
	mu      sync.Mutex
	batches [][]eventstore.Event
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) Handle(_ context.Context, events []eventstore.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, slices.Clone(events))
	return nil
}

func (r *recorder) snapshot() [][]eventstore.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

// TestRunnerReadsMoreWhenBehind: behind the tail, the runner's batches grow
// from BatchSize up to MaxBatchSize; caught up, they are small again. Every
// event is handled once, in tail order, and the checkpoint reaches the head.
func TestRunnerReadsMoreWhenBehind(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	appendN := func(n int) {
		t.Helper()
		req := eventstore.AppendRequest{}
		account := eventstore.NewID()
		for range n {
			req.Streams = append(req.Streams, eventstore.StreamAppend{AccountID: account, StreamType: "test",
				StreamID: eventstore.NewID(), Events: []eventstore.NewEvent{{Type: "test.happened", Data: []byte(`{}`)}}})
		}
		if _, err := w.events.Append(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	appendN(3000)
	rec := &recorder{name: "test-recorder"}
	runner := &projections.Runner{Source: w.events, Handlers: []projections.Handler{rec}, Logger: discard(),
		BatchSize: 100, MaxBatchSize: 800}
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	handled := func() int {
		n := 0
		for _, b := range rec.snapshot() {
			n += len(b)
		}
		return n
	}
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for handled() < n {
			if time.Now().After(deadline) {
				t.Fatalf("handled %d events of %d", handled(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(3000)
	var sizes []int
	for _, b := range rec.snapshot() {
		sizes = append(sizes, len(b))
	}
	// 100, 200, 400, 800, 800, 700: doubling while every read is full.
	if want := []int{100, 200, 400, 800, 800, 700}; !slices.Equal(sizes, want) {
		t.Fatalf("batch sizes behind the tail: %v, want %v", sizes, want)
	}
	// Caught up: the next reads start from BatchSize again.
	appendN(150)
	waitFor(3150)
	for _, b := range rec.snapshot()[len(sizes):] {
		if len(b) > 100 {
			t.Fatalf("a batch of %d after catching up (BatchSize 100)", len(b))
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	all := allEvents(t, w.events)
	var got []eventstore.Event
	for _, b := range rec.snapshot() {
		got = append(got, b...)
	}
	if len(got) != len(all) {
		t.Fatalf("handled %d events, the store has %d", len(got), len(all))
	}
	for i := range all {
		if got[i].Position != all[i].Position {
			t.Fatalf("event %d: position %d, want %d (tail order, each once)", i, got[i].Position, all[i].Position)
		}
	}
	if c, err := w.events.LoadCheckpoint(context.Background(), rec.name); err != nil || c != all[len(all)-1].Cursor() {
		t.Fatalf("checkpoint %v (%v), head %v", c, err, all[len(all)-1].Cursor())
	}
}
