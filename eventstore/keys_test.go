package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"contacts/eventstore"
)

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return fmt.Sprint(x) == fmt.Sprint(y)
}

// rawData is every stored data of the stream, as text.
func rawData(t *testing.T, s interface {
	ReadStream(context.Context, string, string, int64) ([]eventstore.Event, error)
}, account, stream string) string {
	t.Helper()
	evs, err := s.ReadStream(context.Background(), account, stream, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range evs {
		b.Write(e.Data)
	}
	return b.String()
}

// TestPersonalFieldsSealedAtRest: a contact event's personal fields are
// stored sealed (raw SQL and the Sealed view show no clear value), reads
// give them back, clear fields stay clear, and other streams are untouched.
func TestPersonalFieldsSealedAtRest(t *testing.T) {
	ctx := context.Background()
	s, pool := newStore(t)
	account, stream, group := eventstore.NewID(), eventstore.NewID(), eventstore.NewID()
	data := `{"id":"` + stream + `","first_name":"Zebulon","email":"zeb@sealed.example","labels":["VIP"]}`
	if _, err := appendOne(ctx, s, account, stream, 0, eventstore.NewEvent{Type: "contact.created", Data: []byte(data)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, eventstore.AppendRequest{Streams: []eventstore.StreamAppend{{AccountID: account,
		StreamType: "group", StreamID: group, Events: []eventstore.NewEvent{{Type: "group.created", Data: []byte(`{"name":"Zebulon's"}`)}}}}}); err != nil {
		t.Fatal(err)
	}
	var raw string
	if err := pool.QueryRow(ctx, `SELECT string_agg(data::text, ' ') FROM events WHERE stream_id = $1`, stream).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "Zebulon") || strings.Contains(raw, "zeb@") || !strings.Contains(raw, `"pii"`) || !strings.Contains(raw, "VIP") {
		t.Fatalf("stored data %s: want the name and e-mail sealed, the labels clear", raw)
	}
	if sealed := rawData(t, s.Sealed(), account, stream); strings.Contains(sealed, "Zebulon") {
		t.Fatalf("Sealed view shows %s", sealed)
	}
	if got := rawData(t, s, account, stream); !jsonEqual([]byte(got), []byte(data)) {
		t.Fatalf("read %s, want %s", got, data)
	}
	if got := rawData(t, s, account, group); !strings.Contains(got, "Zebulon's") {
		t.Fatalf("group stream read %s: only contact streams are sealed", got)
	}
	// A second store (another instance, cold cache) reads it too.
	if got := rawData(t, eventstore.New(pool), account, stream); !jsonEqual([]byte(got), []byte(data)) {
		t.Fatalf("cold read %s, want %s", got, data)
	}
	// Another account reading the same sealed rows cannot open them.
	evs, err := s.Sealed().ReadStream(ctx, account, stream, 0)
	if err != nil {
		t.Fatal(err)
	}
	evs[0].AccountID = eventstore.NewID()
	if err := eventstore.New(pool).Open(ctx, evs); err != nil || strings.Contains(string(evs[0].Data), "Zebulon") {
		t.Fatalf("opened under another account: %s, %v", evs[0].Data, err)
	}
}

// TestEraseDestroysKey: after an append with an erasure, every read of the
// contact's events (this instance, another instance, the Sealed view) shows
// no personal value, events recorded in clear before sealing are redacted
// in place, stored idempotent answers are blanked, and appending personal
// data to the contact is refused.
func TestEraseDestroysKey(t *testing.T) {
	ctx := context.Background()
	s, pool := newStore(t)
	account, stream := eventstore.NewID(), eventstore.NewID()
	if _, err := appendOne(ctx, s, account, stream, 0,
		eventstore.NewEvent{Type: "contact.created", Data: []byte(`{"id":"` + stream + `","first_name":"Quintessa"}`)}); err != nil {
		t.Fatal(err)
	}
	// An event recorded in clear before sealing existed.
	if _, err := pool.Exec(ctx, `INSERT INTO events (event_id, account_id, stream_type, stream_id, stream_version, event_type, data)
		VALUES ($1, $2, 'contact', $3, 2, 'contact.note_added', '{"note_id":"n1","content":"Quintessa likes tea"}')`,
		eventstore.NewID(), account, stream); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO idempotency_keys (account_id, key, request_hash, response_status, response_body)
		VALUES ($1, 'k1', 'h', 201, convert_to($2, 'UTF8'))`, account, `{"uuid":"`+stream+`","first_name":"Quintessa"}`); err != nil {
		t.Fatal(err)
	}
	warm := eventstore.New(pool) // another instance, its cache warm
	if got := rawData(t, warm, account, stream); !strings.Contains(got, "Quintessa") {
		t.Fatalf("before erase: %s", got)
	}
	_, err := s.Append(ctx, eventstore.AppendRequest{
		Streams:  []eventstore.StreamAppend{{AccountID: account, StreamType: "contact", StreamID: stream, ExpectedVersion: 2, Events: []eventstore.NewEvent{{Type: "contact.erased", Data: []byte(`{}`)}}}},
		Erasures: []eventstore.Erasure{{AccountID: account, ContactID: stream}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*eventstore.Store{"this instance": s, "cold instance": eventstore.New(pool), "sealed view": s.Sealed()} {
		got := rawData(t, st, account, stream)
		if strings.Contains(got, "Quintessa") {
			t.Fatalf("%s reads %s after erase", name, got)
		}
		if name != "sealed view" && strings.Count(got, `"pii_erased": true`)+strings.Count(got, `"pii_erased":true`) != 2 {
			t.Fatalf("%s reads %s: want both personal events marked erased", name, got)
		}
	}
	var raw string
	if err := pool.QueryRow(ctx, `SELECT string_agg(data::text, ' ') FROM events WHERE stream_id = $1`, stream).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var body string
	if err := pool.QueryRow(ctx, `SELECT convert_from(response_body, 'UTF8') FROM idempotency_keys WHERE key = 'k1'`).Scan(&body); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "Quintessa") || strings.Contains(body, "Quintessa") {
		t.Fatalf("after erase the database holds %s / %s", raw, body)
	}
	var keyIsNull bool
	if err := pool.QueryRow(ctx, `SELECT key IS NULL AND erased_at IS NOT NULL FROM contact_keys WHERE contact_id = $1`, stream).Scan(&keyIsNull); err != nil || !keyIsNull {
		t.Fatalf("key destroyed = %v, %v", keyIsNull, err)
	}
	_, err = appendOne(ctx, s, account, stream, 3, eventstore.NewEvent{Type: "contact.updated", Data: []byte(`{"changes":{"first_name":{"new":"Q"}}}`)})
	if !errors.Is(err, eventstore.ErrErased) {
		t.Fatalf("append of personal data after erase: %v, want ErrErased", err)
	}
	// The warm instance's cache holds the key for at most its TTL; the
	// erasing instance forgot it at once (checked above).
	_ = warm
}

// TestMasterKeyWrapsDataKeys: with CONTACTS_ENCRYPTION_KEY the stored data
// key is wrapped: a store without the master key cannot open the events
// (it says why), one with it can.
func TestMasterKeyWrapsDataKeys(t *testing.T) {
	ctx := context.Background()
	_, pool := newStore(t)
	master := []byte(strings.Repeat("m", 32))
	s := eventstore.New(pool, eventstore.WithMasterKey(master))
	account, stream := eventstore.NewID(), eventstore.NewID()
	if _, err := appendOne(ctx, s, account, stream, 0, eventstore.NewEvent{Type: "contact.created", Data: []byte(`{"first_name":"Wrapped"}`)}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT length(key) FROM contact_keys WHERE contact_id = $1`, stream).Scan(&n); err != nil || n == 32 {
		t.Fatalf("stored key of %d bytes, %v: want it wrapped", n, err)
	}
	if _, err := eventstore.New(pool).ReadStream(ctx, account, stream, 0); err == nil || !strings.Contains(err.Error(), "CONTACTS_ENCRYPTION_KEY") {
		t.Fatalf("read without the master key: %v", err)
	}
	if got := rawData(t, eventstore.New(pool, eventstore.WithMasterKey(master)), account, stream); !strings.Contains(got, "Wrapped") {
		t.Fatalf("read with the master key: %s", got)
	}
}

// TestListenErasedDropsCachedKeys: an instance listening for erasures stops
// opening an erased contact's events at once, though its cache had the key
// (well within keyTTL).
func TestListenErasedDropsCachedKeys(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, pool := newStore(t)
	other := eventstore.New(pool)
	done := make(chan error, 1)
	go func() { done <- other.ListenErased(ctx) }()
	time.Sleep(200 * time.Millisecond) // the LISTEN is in place (and its start-up flush done)
	account, stream := eventstore.NewID(), eventstore.NewID()
	if _, err := appendOne(ctx, s, account, stream, 0, eventstore.NewEvent{Type: "contact.created", Data: []byte(`{"first_name":"Cached"}`)}); err != nil {
		t.Fatal(err)
	}
	if got := rawData(t, other, account, stream); !strings.Contains(got, "Cached") {
		t.Fatalf("before: %s", got)
	}
	if _, err := s.Append(ctx, eventstore.AppendRequest{
		Streams:  []eventstore.StreamAppend{{AccountID: account, StreamType: "contact", StreamID: stream, ExpectedVersion: 1, Events: []eventstore.NewEvent{{Type: "contact.erased", Data: []byte(`{}`)}}}},
		Erasures: []eventstore.Erasure{{AccountID: account, ContactID: stream}},
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second) // keyTTL is 5 s
	for strings.Contains(rawData(t, other, account, stream), "Cached") {
		if time.Now().After(deadline) {
			t.Fatal("the other instance still opens the erased contact's events")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
