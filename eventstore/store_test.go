package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/eventstore"
	"contacts/internal/migrations"
	"contacts/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newStore(t testing.TB) (*eventstore.Store, *pgxpool.Pool) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 40 // the concurrency tests and benchmarks run 32 writers
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := migrations.Apply(context.Background(), pool); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return eventstore.New(pool), pool
}

func events(types ...string) []eventstore.NewEvent {
	out := make([]eventstore.NewEvent, len(types))
	for i, typ := range types {
		out[i] = eventstore.NewEvent{Type: typ, Data: []byte(fmt.Sprintf(`{"n":%d}`, i))}
	}
	return out
}

func appendOne(ctx context.Context, s *eventstore.Store, account, stream string, expected int64, ev ...eventstore.NewEvent) ([]eventstore.Event, error) {
	return s.Append(ctx, eventstore.AppendRequest{Streams: []eventstore.StreamAppend{{
		AccountID: account, StreamType: "contact", StreamID: stream, ExpectedVersion: expected, Events: ev,
	}}})
}

func TestAppendAndReadStream(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	account, stream := eventstore.NewID(), eventstore.NewID()
	ctx = eventstore.WithRequestInfo(ctx, eventstore.RequestInfo{Metadata: eventstore.Metadata{Actor: "user-1", RequestID: "req-1"}})

	got, err := appendOne(ctx, s, account, stream, 0, events("contact.created", "contact.updated")...)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Version != 1 || got[1].Version != 2 || got[1].Position <= got[0].Position {
		t.Fatalf("recorded = %+v", got)
	}
	if _, err := appendOne(ctx, s, account, stream, 2, events("contact.deleted")...); err != nil {
		t.Fatal(err)
	}
	read, err := s.ReadStream(ctx, account, stream, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(read) != 3 {
		t.Fatalf("read %d events, want 3", len(read))
	}
	for i, e := range read {
		if e.Version != int64(i+1) || e.StreamType != "contact" || e.AccountID != account {
			t.Errorf("event %d = %+v", i, e)
		}
		if e.Metadata.Actor != "user-1" || e.Metadata.RequestID != "req-1" {
			t.Errorf("metadata %d = %+v", i, e.Metadata)
		}
	}
	if string(read[0].Data) != `{"n": 0}` && string(read[0].Data) != `{"n":0}` {
		t.Errorf("data = %s", read[0].Data)
	}
	tail, err := s.ReadStream(ctx, account, stream, 2)
	if err != nil || len(tail) != 1 || tail[0].Type != "contact.deleted" {
		t.Fatalf("read from version 2 = %+v, %v", tail, err)
	}
}

func TestAppendConflicts(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	account, stream := eventstore.NewID(), eventstore.NewID()
	if _, err := appendOne(ctx, s, account, stream, 0, events("a", "b")...); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		account  string
		expected int64
	}{
		{"new stream that exists", account, 0},
		{"stale version", account, 1},
		{"version from the future", account, 5},
		{"another account's stream", eventstore.NewID(), 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := appendOne(ctx, s, tc.account, stream, tc.expected, events("c")...)
			if !errors.Is(err, eventstore.ErrConcurrency) {
				t.Fatalf("err = %v, want ErrConcurrency", err)
			}
		})
	}
	read, _ := s.ReadStream(ctx, account, stream, 0)
	if len(read) != 2 {
		t.Fatalf("stream has %d events after refused appends, want 2", len(read))
	}
	if other, _ := s.ReadStream(ctx, eventstore.NewID(), stream, 0); len(other) != 0 {
		t.Fatalf("another account read %d events of the stream", len(other))
	}
}

func TestMultiStreamAppendIsAtomic(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	account, a, b := eventstore.NewID(), eventstore.NewID(), eventstore.NewID()
	if _, err := appendOne(ctx, s, account, b, 0, events("x")...); err != nil {
		t.Fatal(err)
	}
	_, err := s.Append(ctx, eventstore.AppendRequest{Streams: []eventstore.StreamAppend{
		{AccountID: account, StreamType: "contact", StreamID: a, Events: events("a1", "a2")},
		{AccountID: account, StreamType: "contact", StreamID: b, ExpectedVersion: 0, Events: events("b1")},
	}})
	if !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("err = %v, want ErrConcurrency", err)
	}
	if got, _ := s.ReadStream(ctx, account, a, 0); len(got) != 0 {
		t.Fatalf("first stream kept %d events of a failed append", len(got))
	}
}

func TestClaims(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	account, a, b := eventstore.NewID(), eventstore.NewID(), eventstore.NewID()
	phone := eventstore.Claim{AccountID: account, Kind: "phone", Value: "+14155550100", StreamID: a}

	if _, err := s.Append(ctx, eventstore.AppendRequest{
		Streams: []eventstore.StreamAppend{{AccountID: account, StreamType: "contact", StreamID: a, Events: events("created")}},
		Claims:  []eventstore.Claim{phone},
	}); err != nil {
		t.Fatal(err)
	}
	// The same stream claiming its own value again is fine.
	if _, err := s.Append(ctx, eventstore.AppendRequest{
		Streams: []eventstore.StreamAppend{{AccountID: account, StreamType: "contact", StreamID: a, ExpectedVersion: 1, Events: events("updated")}},
		Claims:  []eventstore.Claim{phone},
	}); err != nil {
		t.Fatalf("re-claim by owner: %v", err)
	}
	// Another stream cannot take it, and its events are not written.
	taken := phone
	taken.StreamID = b
	_, err := s.Append(ctx, eventstore.AppendRequest{
		Streams: []eventstore.StreamAppend{{AccountID: account, StreamType: "contact", StreamID: b, Events: events("created")}},
		Claims:  []eventstore.Claim{taken},
	})
	var cte *eventstore.ClaimTakenError
	if !errors.As(err, &cte) || cte.Owner != a {
		t.Fatalf("err = %v, want ClaimTakenError owned by %s", err, a)
	}
	if got, _ := s.ReadStream(ctx, account, b, 0); len(got) != 0 {
		t.Fatal("events of a refused claim were written")
	}
	// Another account may use the same value.
	other := taken
	other.AccountID = eventstore.NewID()
	if _, err := s.Append(ctx, eventstore.AppendRequest{
		Streams: []eventstore.StreamAppend{{AccountID: other.AccountID, StreamType: "contact", StreamID: b, Events: events("created")}},
		Claims:  []eventstore.Claim{other},
	}); err != nil {
		t.Fatalf("claim in another account: %v", err)
	}
	// Released values can be claimed by others.
	c := eventstore.NewID()
	moved := phone
	moved.StreamID = c
	if _, err := s.Append(ctx, eventstore.AppendRequest{
		Streams: []eventstore.StreamAppend{
			{AccountID: account, StreamType: "contact", StreamID: a, ExpectedVersion: 2, Events: events("deleted")},
			{AccountID: account, StreamType: "contact", StreamID: c, Events: events("created")},
		},
		Releases: []eventstore.Claim{phone},
		Claims:   []eventstore.Claim{moved},
	}); err != nil {
		t.Fatalf("release and re-claim: %v", err)
	}
	owner, ok, err := s.LookupClaim(ctx, account, "phone", "+14155550100")
	if err != nil || !ok || owner != c {
		t.Fatalf("lookup = %q %v %v, want %s", owner, ok, err, c)
	}
}

func TestConcurrentClaimsOneWinner(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	account := eventstore.NewID()
	var wg sync.WaitGroup
	results := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := eventstore.NewID()
			_, err := s.Append(ctx, eventstore.AppendRequest{
				Streams: []eventstore.StreamAppend{{AccountID: account, StreamType: "contact", StreamID: id, Events: events("created")}},
				Claims:  []eventstore.Claim{{AccountID: account, Kind: "phone", Value: "+442071234567", StreamID: id}},
			})
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		var cte *eventstore.ClaimTakenError
		switch {
		case err == nil:
			won++
		case errors.As(err, &cte):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d appenders won the same phone, want exactly 1", won)
	}
}

func TestIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	account := eventstore.NewID()
	ctx = eventstore.WithRequestInfo(ctx, eventstore.RequestInfo{IdempotencyKey: "k-1", IdempotencyHash: "h"})
	if _, err := appendOne(ctx, s, account, eventstore.NewID(), 0, events("created")...); err != nil {
		t.Fatal(err)
	}
	second := eventstore.NewID()
	_, err := appendOne(ctx, s, account, second, 0, events("created")...)
	if !errors.Is(err, eventstore.ErrDuplicateRequest) {
		t.Fatalf("err = %v, want ErrDuplicateRequest", err)
	}
	if got, _ := s.ReadStream(ctx, account, second, 0); len(got) != 0 {
		t.Fatal("a retried request appended events")
	}
	r, err := s.LookupIdempotency(ctx, account, "k-1")
	if err != nil || r == nil || r.RequestHash != "h" || r.Status != 0 {
		t.Fatalf("lookup = %+v, %v", r, err)
	}
	if err := s.SaveIdempotentResponse(ctx, account, "k-1", "", eventstore.IdempotentResponse{Status: 201, Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.LookupIdempotency(ctx, account, "k-1"); r.Status != 201 || string(r.Body) != `{}` {
		t.Fatalf("stored response = %+v", r)
	}
	if r, _ := s.LookupIdempotency(ctx, eventstore.NewID(), "k-1"); r != nil {
		t.Fatal("idempotency keys crossed accounts")
	}
}

// A reservation is held by one request at a time; it ends when the request
// gives it up or its lease runs out (its process died), and an append under a
// reservation that was taken over appends nothing.
func TestIdempotencyReservation(t *testing.T) {
	ctx := context.Background()
	s, pool := newStore(t)
	account := eventstore.NewID()
	first, second := eventstore.NewID(), eventstore.NewID()
	reserve := func(owner, hash string, lease time.Duration) bool {
		t.Helper()
		ok, err := s.ReserveIdempotencyKey(ctx, account, "k", hash, owner, lease)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !reserve(first, "h", time.Minute) {
		t.Fatal("a new key was not reserved")
	}
	if reserve(second, "h", time.Minute) {
		t.Fatal("a held key was reserved twice")
	}
	if ok, err := s.ExtendIdempotencyKey(ctx, account, "k", second, time.Minute); err != nil || ok {
		t.Fatalf("extend by a non-holder = %v, %v", ok, err)
	}
	// Released without an answer: free for the same request, not another.
	if err := s.ReleaseIdempotencyKey(ctx, account, "k", first); err != nil {
		t.Fatal(err)
	}
	if reserve(second, "other", time.Minute) {
		t.Fatal("a key was reserved for a different request")
	}
	if !reserve(second, "h", time.Minute) {
		t.Fatal("a released key was not reserved again")
	}
	// The first request's append, after losing its key, appends nothing.
	stale := eventstore.WithRequestInfo(ctx, eventstore.RequestInfo{IdempotencyKey: "k", IdempotencyHash: "h", IdempotencyOwner: first})
	if _, err := appendOne(stale, s, account, eventstore.NewID(), 0, events("created")...); !errors.Is(err, eventstore.ErrDuplicateRequest) {
		t.Fatalf("append after losing the key: %v", err)
	}
	// A dead process: its lease ran out.
	if _, err := pool.Exec(ctx, `UPDATE idempotency_keys SET locked_until = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	third := eventstore.NewID()
	if !reserve(third, "h", time.Minute) {
		t.Fatal("a key whose lease ran out was not reserved")
	}
	held := eventstore.WithRequestInfo(ctx, eventstore.RequestInfo{IdempotencyKey: "k", IdempotencyHash: "h", IdempotencyOwner: third})
	if _, err := appendOne(held, s, account, eventstore.NewID(), 0, events("created")...); err != nil {
		t.Fatal(err)
	}
	resp := eventstore.IdempotentResponse{Status: 201, Header: map[string][]string{"Etag": {`"1"`}}, Body: []byte(`{"a":1}`)}
	if err := s.SaveIdempotentResponse(ctx, account, "k", second, resp); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.LookupIdempotency(ctx, account, "k"); r.Status != 0 {
		t.Fatal("a non-holder stored the answer")
	}
	if err := s.SaveIdempotentResponse(ctx, account, "k", third, resp); err != nil {
		t.Fatal(err)
	}
	r, _ := s.LookupIdempotency(ctx, account, "k")
	if r.Status != 201 || r.Header["Etag"][0] != `"1"` || string(r.Body) != `{"a":1}` {
		t.Fatalf("stored = %+v", r)
	}
	if reserve(eventstore.NewID(), "h", time.Minute) {
		t.Fatal("a key with an answer was reserved")
	}
}

// TestTailNeverSkipsLateCommits is the deterministic case: an event with a
// lower position commits after events with higher positions were committed
// and could have been read. The tailer must still deliver it, exactly once.
func TestTailNeverSkipsLateCommits(t *testing.T) {
	ctx := context.Background()
	s, pool := newStore(t)
	account := eventstore.NewID()

	late, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lateStream := eventstore.NewID()
	if _, err := late.Exec(ctx, `INSERT INTO events (event_id, account_id, stream_type, stream_id, stream_version, event_type, data)
		VALUES ($1, $2, 'contact', $3, 1, 'late', '{}')`, eventstore.NewID(), account, lateStream); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := appendOne(ctx, s, account, eventstore.NewID(), 0, events("early")...); err != nil {
			t.Fatal(err)
		}
	}
	var cur eventstore.Cursor
	seen := map[string]int{}
	drain := func() {
		for {
			batch, err := s.ReadAll(ctx, cur, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(batch) == 0 {
				return
			}
			for _, e := range batch {
				seen[e.ID]++
				cur = e.Cursor()
			}
		}
	}
	drain()
	if len(seen) != 0 {
		t.Fatalf("tailer returned %d events while an older transaction was still open", len(seen))
	}
	if err := late.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	drain()
	if len(seen) != 6 {
		t.Fatalf("tailer saw %d events, want 6", len(seen))
	}
}

// TestTailSeesEveryEventExactlyOnce: many concurrent appenders, one tailer
// reading all the while; at the end every appended event was seen once.
func TestTailSeesEveryEventExactlyOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, _ := newStore(t)
	const writers, perWriter = 16, 60
	account := eventstore.NewID()

	appended := make(chan string, writers*perWriter*3)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			stream := eventstore.NewID()
			var version int64
			for i := 0; i < perWriter; i++ {
				n := 1 + (w+i)%3 // single and multi-event appends
				got, err := appendOne(ctx, s, account, stream, version, events(make([]string, n)...)...)
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				version += int64(n)
				for _, e := range got {
					appended <- e.ID
				}
			}
		}(w)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := map[string]int{}
	lastVersion := map[string]int64{}
	var cur eventstore.Cursor
	finished := false
	for {
		batch, err := s.ReadAll(ctx, cur, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range batch {
			seen[e.ID]++
			if e.Version != lastVersion[e.StreamID]+1 {
				t.Fatalf("stream %s: version %d after %d: per-stream order broken (tx %d pos %d, cursor %v)", e.StreamID, e.Version, lastVersion[e.StreamID], e.TxID, e.Position, cur)
			}
			lastVersion[e.StreamID] = e.Version
			cur = e.Cursor()
		}
		if len(batch) == 0 {
			if finished {
				break
			}
			select {
			case <-done:
				finished = true // one more pass after the last commit
			default:
				time.Sleep(time.Millisecond)
			}
		}
	}
	close(appended)
	total := 0
	for id := range appended {
		total++
		if seen[id] != 1 {
			t.Errorf("event %s seen %d times", id, seen[id])
		}
	}
	if len(seen) != total {
		t.Errorf("tailer saw %d distinct events, %d were appended", len(seen), total)
	}
	if total == 0 {
		t.Fatal("nothing appended")
	}
}

func TestStreamsMentioning(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	account, a, b := eventstore.NewID(), eventstore.NewID(), eventstore.NewID()
	add := func(stream string, data string) {
		if _, err := appendOne(ctx, s, account, stream, 0, eventstore.NewEvent{Type: "contact.labels_added", Data: []byte(data)}); err != nil {
			t.Fatal(err)
		}
	}
	add(a, `{"labels":["VIP","lead"]}`)
	add(b, `{"labels":["other"]}`)
	got, err := s.StreamsMentioning(ctx, account, []string{"contact.labels_added"}, "labels", "vip")
	if err != nil || len(got) != 1 || got[0] != a {
		t.Fatalf("got %v, %v; want [%s]", got, err, a)
	}
	got, _ = s.StreamsMentioning(ctx, eventstore.NewID(), []string{"contact.labels_added"}, "labels", "vip")
	if len(got) != 0 {
		t.Fatal("another account's streams were listed")
	}
}

// TestLargeBatchAppend: a batch keeps its order, data and metadata, and the
// guard and conflict mapping hold for it as for single events.
func TestLargeBatchAppend(t *testing.T) {
	ctx := eventstore.WithRequestInfo(context.Background(), eventstore.RequestInfo{Metadata: eventstore.Metadata{Actor: "importer"}})
	s, _ := newStore(t)
	account, stream := eventstore.NewID(), eventstore.NewID()
	batch := make([]eventstore.NewEvent, 100)
	for i := range batch {
		batch[i] = eventstore.NewEvent{Type: "contact.updated", Data: []byte(fmt.Sprintf(`{"i":%d,"s":"a\"b"}`, i))}
	}
	got, err := appendOne(ctx, s, account, stream, 0, batch...)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 100 || got[99].Version != 100 || got[0].Position == 0 || got[0].TxID == 0 {
		t.Fatalf("recorded: %d events, last %+v", len(got), got[len(got)-1])
	}
	read, err := s.ReadStream(ctx, account, stream, 0)
	if err != nil || len(read) != 100 {
		t.Fatalf("read %d, %v", len(read), err)
	}
	for i, e := range read {
		want := fmt.Sprintf(`{"i": %d, "s": "a\"b"}`, i)
		if string(e.Data) != want || e.Version != int64(i+1) || e.Metadata.Actor != "importer" || e.ID != got[i].ID {
			t.Fatalf("event %d: %s v%d %+v, want %s", i, e.Data, e.Version, e.Metadata, want)
		}
	}
	for _, expected := range []int64{0, 50, 101} { // exists, stale, from the future
		if _, err := appendOne(ctx, s, account, stream, expected, batch...); !errors.Is(err, eventstore.ErrConcurrency) {
			t.Fatalf("expected version %d: err = %v, want ErrConcurrency", expected, err)
		}
	}
	if _, err := appendOne(ctx, s, eventstore.NewID(), stream, 100, batch...); !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("another account's stream: err = %v", err)
	}
	if _, err := appendOne(ctx, s, account, stream, 100, batch...); err != nil {
		t.Fatalf("append at the right version: %v", err)
	}
}

// Several streams with expected versions go in one guarded statement: each
// is checked (stale, future, another account's), a refused one refuses the
// whole append, and accepted events keep version order in the tail.
func TestAppendToSeveralExistingStreams(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	account := eventstore.NewID()
	streams := make([]string, 4)
	for i := range streams {
		streams[i] = eventstore.NewID()
		if _, err := appendOne(ctx, s, account, streams[i], 0, events("created")...); err != nil {
			t.Fatal(err)
		}
	}
	req := func(expected ...int64) eventstore.AppendRequest {
		var r eventstore.AppendRequest
		for i, e := range expected {
			r.Streams = append(r.Streams, eventstore.StreamAppend{AccountID: account, StreamType: "contact",
				StreamID: streams[i], ExpectedVersion: e, Events: events("u1", "u2")})
		}
		return r
	}
	got, err := s.Append(ctx, req(1, 1, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 8 {
		t.Fatalf("recorded %d events, want 8", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].Position <= got[i-1].Position {
			t.Fatalf("positions out of request order: %+v", got)
		}
	}
	for name, r := range map[string]eventstore.AppendRequest{
		"one stale":  req(3, 3, 1, 3),
		"one future": req(3, 3, 3, 9),
		"new exists": req(3, 0, 3, 3),
		"one foreign": func() eventstore.AppendRequest {
			r := req(3, 3, 3, 3)
			r.Streams[2].AccountID = eventstore.NewID()
			return r
		}(),
	} {
		if _, err := s.Append(ctx, r); !errors.Is(err, eventstore.ErrConcurrency) {
			t.Fatalf("%s: err = %v, want ErrConcurrency", name, err)
		}
	}
	for _, id := range streams {
		read, err := s.ReadStream(ctx, account, id, 0)
		if err != nil || len(read) != 3 {
			t.Fatalf("stream %s has %d events (%v), want 3: a refused append left a part", id, len(read), err)
		}
	}
	if _, err := s.Append(ctx, req(3, 3, 3, 3)); err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointsNeverMoveBack: a tail place advances in tail order; a place
// without a transaction id (a projection fed by Kafka) advances by position
// and passes a tail place left by an embedded run, so progress shows after
// a switch to Kafka.
func TestCheckpointsNeverMoveBack(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	steps := []struct {
		save, want eventstore.Cursor
	}{
		{eventstore.Cursor{TxID: 900, Position: 10}, eventstore.Cursor{TxID: 900, Position: 10}},
		{eventstore.Cursor{TxID: 800, Position: 50}, eventstore.Cursor{TxID: 900, Position: 10}}, // earlier in tail order
		{eventstore.Cursor{TxID: 900, Position: 12}, eventstore.Cursor{TxID: 900, Position: 12}},
		{eventstore.Cursor{Position: 11}, eventstore.Cursor{TxID: 900, Position: 12}}, // Kafka, not past it
		{eventstore.Cursor{Position: 40}, eventstore.Cursor{Position: 40}},            // Kafka, past it
		{eventstore.Cursor{Position: 30}, eventstore.Cursor{Position: 40}},
		{eventstore.Cursor{TxID: 950, Position: 45}, eventstore.Cursor{TxID: 950, Position: 45}},
	}
	for i, st := range steps {
		if err := s.SaveCheckpoints(ctx, map[string]eventstore.Cursor{"p": st.save}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCheckpoint(ctx, "q", st.save); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"p", "q"} {
			got, err := s.LoadCheckpoint(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if got != st.want {
				t.Fatalf("step %d (%s): saved %+v, have %+v, want %+v", i, name, st.save, got, st.want)
			}
		}
	}
}
