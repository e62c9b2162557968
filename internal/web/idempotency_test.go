package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/eventstore"
	"contacts/internal/web"
)

// Twenty identical requests at once with one key: one runs, the others wait
// for it and replay its whole answer (never a duplicate error).
func TestIdempotencyConcurrentRequests(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	body := map[string]any{"first_name": "Ada", "email": "ada@example.com", "phone": "+14155550100"}
	type answer struct {
		status                 int
		etag, location, replay string
		body                   string
	}
	answers := make([]answer, 20)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			raw, _ := json.Marshal(body)
			req, _ := http.NewRequest("POST", e.url+"/api/v1/contacts", bytes.NewReader(raw))
			req.Header.Set("Authorization", "Bearer "+s.token)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "same-key")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			answers[i] = answer{res.StatusCode, res.Header.Get("ETag"), res.Header.Get("Location"), res.Header.Get("Idempotent-Replayed"), string(b)}
		}()
	}
	close(start)
	wg.Wait()
	replays := 0
	for i, a := range answers {
		if a.status != http.StatusCreated || a.body != answers[0].body || a.etag != `"1"` || a.location == "" || a.location != answers[0].location {
			t.Errorf("answer %d: %+v (first %+v)", i, a, answers[0])
		}
		if a.replay == "true" {
			replays++
		}
	}
	if replays != 19 {
		t.Errorf("%d replays, want 19", replays)
	}
	if n := countEvents(t, e, s.accountID); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
}

// A replay repeats the first answer whole: status, ETag, Location, body.
func TestIdempotencyReplayHeaders(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	body := map[string]any{"first_name": "Ada"}
	first := s.do("POST", "/api/v1/contacts", body, "Idempotency-Key", "k1").want(http.StatusCreated)
	again := s.do("POST", "/api/v1/contacts", body, "Idempotency-Key", "k1").want(http.StatusCreated)
	for _, h := range []string{"ETag", "Location", "Content-Type"} {
		if first.header.Get(h) == "" || again.header.Get(h) != first.header.Get(h) {
			t.Errorf("%s: first %q, replay %q", h, first.header.Get(h), again.header.Get(h))
		}
	}
	if string(again.body) != string(first.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %s %s", again.header, again.body)
	}
}

// A bulk upsert cut short by its client after its first chunk committed: the
// key is not left "in progress"; a retry runs afresh (the bulk upserts).
func TestIdempotencyCancelledBulkRetry(t *testing.T) {
	e, _ := newImportEnv(t)
	admin := e.register(t)
	ctx := context.Background()
	// The kind under which a phone is claimed, from a first contact.
	admin.do("POST", "/api/v1/contacts", map[string]any{"phone": "+14155550199"}).want(http.StatusCreated)
	var kind string
	if err := e.pool.QueryRow(ctx, `SELECT kind FROM unique_claims WHERE value = '+14155550199'`).Scan(&kind); err != nil {
		t.Fatal(err)
	}
	before := countEvents(t, e, admin.accountID)

	contacts := make([]map[string]any, 5001)
	for i := range contacts {
		contacts[i] = map[string]any{"phone": fmt.Sprintf("+1201555%04d", i), "first_name": "K"} // valid US numbers
	}
	// Another transaction holds the last contact's phone, uncommitted: the
	// second chunk waits for it.
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `INSERT INTO unique_claims (account_id, kind, value, stream_id) VALUES ($1, $2, '+12015555000', $3)`,
		admin.accountID, kind, eventstore.NewID()); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(map[string]any{"contacts": contacts})
	reqCtx, cancel := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(reqCtx, "POST", e.url+"/api/v1/contacts/bulk", bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+admin.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "bulk-cancel")
	done := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			err = fmt.Errorf("the request finished: %d", res.StatusCode)
		}
		done <- err
	}()
	waitFor(t, func() bool { return countEvents(t, e, admin.accountID) >= before+5000 })
	waiting := func() int {
		var n int
		_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%unique_claims%'`).Scan(&n)
		return n
	}
	waitFor(t, func() bool { return waiting() > 0 })
	cancel()
	<-done
	// The server notices the hang-up and its statement is cancelled; only
	// then does the other transaction let go.
	waitFor(t, func() bool { return waiting() == 0 })
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// The command stopped, the key is given up: the retry runs afresh.
	var r response
	waitFor(t, func() bool {
		r = admin.do("POST", "/api/v1/contacts/bulk", map[string]any{"contacts": contacts}, "Idempotency-Key", "bulk-cancel")
		return r.status != http.StatusConflict
	})
	if o := r.want(http.StatusOK).obj(); o["created"] != 1.0 || o["skipped"] != 5000.0 {
		t.Fatalf("retry: %v", o)
	}
	again := admin.do("POST", "/api/v1/contacts/bulk", map[string]any{"contacts": contacts}, "Idempotency-Key", "bulk-cancel").want(http.StatusOK)
	if again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(r.body) {
		t.Fatalf("second retry: %s %s", again.header, again.body)
	}
}

// A key left reserved by a process that died (its lease ran out) is free for
// a retry; one whose holder is alive answers request_in_progress after the
// wait. A key left by the old code ("in progress" with no holder) is free too.
func TestIdempotencyAfterCrash(t *testing.T) {
	e := newEnvWith(t, func(_ *pgxpool.Pool, d *web.Deps) { d.IdempotencyWait = 300 * time.Millisecond })
	s := e.register(t)
	ctx := context.Background()
	body := map[string]any{"first_name": "Ada"}
	raw, _ := json.Marshal(body)
	sum := sha256.Sum256(append([]byte("POST /api/v1/contacts\n"), raw...))
	hash := hex.EncodeToString(sum[:])
	leave := func(key, lockedUntil string, owner any) {
		t.Helper()
		if _, err := e.pool.Exec(ctx, `INSERT INTO idempotency_keys (account_id, key, request_hash, owner, locked_until, appended_at)
			VALUES ($1, $2, $3, $4, `+lockedUntil+`, now())`, s.accountID, key, hash, owner); err != nil {
			t.Fatal(err)
		}
	}
	leave("alive", "now() + interval '1 hour'", eventstore.NewID())
	start := time.Now()
	s.do("POST", "/api/v1/contacts", body, "Idempotency-Key", "alive").wantError(http.StatusConflict, "request_in_progress")
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("answered after %v, without waiting for the holder", d)
	}

	leave("dead", "now() - interval '1 second'", eventstore.NewID())
	first := s.do("POST", "/api/v1/contacts", body, "Idempotency-Key", "dead").want(http.StatusCreated)
	s.do("POST", "/api/v1/contacts", body, "Idempotency-Key", "dead").want(http.StatusCreated)
	if again := s.do("POST", "/api/v1/contacts", body, "Idempotency-Key", "dead"); string(again.body) != string(first.body) {
		t.Fatalf("replay after recovery: %s vs %s", again.body, first.body)
	}

	leave("legacy", "NULL", nil)
	s.do("POST", "/api/v1/contacts", body, "Idempotency-Key", "legacy").want(http.StatusCreated)
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second) // generous: a loaded machine commits a 5,000-contact chunk slowly
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
