package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/eventstore"
	"contacts/eventstore/relay"
	"contacts/internal/kafkatest"
	"contacts/internal/web"
	"contacts/projections"
	"contacts/projections/pgstore"
	"contacts/readapi/pgquery"
)

// TestEraseLeavesNothingReadable is issue #13's "right to be forgotten"
// proof: a contact with distinctive values is created (with an
// Idempotency-Key), updated, given a note and custom attributes, exported
// and published to Kafka; an administrator erases it. Afterwards no value is
// readable in the events table, the read-model tables, a rebuilt read model,
// a CSV export, the contact's event history, stored idempotent answers, or
// the Kafka topic as a new consumer reads it (raw, and opened with the key
// table). Agents are refused; the erasure is in the audit log.
func TestEraseLeavesNothingReadable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	brokers := kafkatest.Start(t)
	var pool *pgxpool.Pool
	e := newEnvWith(t, func(p *pgxpool.Pool, d *web.Deps) {
		pool = p
		d.Export = pgquery.NewPG(p)
	})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Another instance: the projector (embedded path) and the relay, each
	// with its own store and key cache.
	store := eventstore.New(pool)
	rm := pgstore.New(pool)
	runner := &projections.Runner{Source: store, Handlers: projections.New(store, rm), Logger: quiet}
	go runner.Run(ctx)                                                            //nolint:errcheck // ends with ctx
	go relay.Run(ctx, store, pool, relay.Config{Brokers: brokers, Logger: quiet}) //nolint:errcheck // ends with ctx

	admin := e.register(t)
	secrets := []string{"Zoltan", "Quixotic", "zoltan.quixotic@erase.example", "+33612345678", "Vladivostokville",
		"Xanadu Street 7", "prefers carrier pigeons", "Zolly", "ZQ-EXTERNAL-42", "Quixotic Holdings"}
	created := admin.do("POST", "/api/v1/contacts", map[string]any{
		"first_name": "Zoltan", "last_name": "Quixotic", "email": "zoltan.quixotic@erase.example",
		"phone": "+33612345678", "identifier": "ZQ-EXTERNAL-42", "labels": []string{"erasable"},
		"custom_attributes": map[string]any{"nickname": "Zolly"},
	}, "Idempotency-Key", "create-zoltan").want(http.StatusCreated).obj()
	id := str(created["uuid"])
	admin.do("PATCH", "/api/v1/contacts/"+id, map[string]any{"city": "Vladivostokville", "address_line": "Xanadu Street 7"}).
		want(http.StatusOK)
	admin.do("POST", "/api/v1/contacts/"+id+"/notes", map[string]any{"content": "prefers carrier pigeons"}).want(http.StatusCreated)
	admin.do("POST", "/api/v1/contacts/"+id+"/accounts", map[string]any{"account_id": eventstore.NewID(), "name": "Quixotic Holdings", "role": "owner"}).
		want(http.StatusOK)
	// A bystander whose data must survive.
	admin.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Bystander", "email": "stays@erase.example"}).
		want(http.StatusCreated)

	export := func() string {
		return string(admin.do("POST", "/api/v1/contacts/export", map[string]any{"include_deleted": true,
			"columns": []string{"uuid", "identifier", "first_name", "last_name", "email", "phone", "city", "address_line",
				"custom_attributes", "notes", "associated_accounts"}}).want(http.StatusOK).body)
	}
	waitUntil(t, "the read model shows the contact's note", func() bool {
		return strings.Contains(export(), "prefers carrier pigeons")
	})
	// Positive controls: the checks below can see a value where one is.
	for _, where := range map[string]string{
		"export":  export(),
		"history": string(admin.do("GET", "/api/v1/contacts/"+id+"/events", nil).want(http.StatusOK).body),
	} {
		if !strings.Contains(where, "Zoltan") || !strings.Contains(where, "Vladivostokville") {
			t.Fatalf("before erasure: %s", where)
		}
	}
	topicBefore := topicRecords(t, brokers, pool)
	if n := count(topicBefore.raw, "Zoltan"); n != 0 {
		t.Fatalf("the topic holds a clear name in %d messages before erasure: personal fields must be sealed", n)
	}
	if count(topicBefore.opened, "Zoltan") == 0 {
		t.Fatal("the topic's messages do not open with the key table before erasure")
	}

	// Agents cannot erase; a bad flag is a client error.
	agent := e.agentIn(t, admin)
	agent.do("DELETE", "/api/v1/contacts/"+id+"?erase=true", nil).wantError(http.StatusForbidden, "forbidden")
	admin.do("DELETE", "/api/v1/contacts/"+id+"?erase=yes", nil).wantError(http.StatusBadRequest, "invalid_parameter")

	erased := admin.do("DELETE", "/api/v1/accounts/"+admin.accountID+"/contacts/"+id+"?erase=true", nil).want(http.StatusOK)
	if st := erased.obj(); st["erased"] != true || st["deleted"] != true {
		t.Fatalf("erase answered %s", erased.body)
	}
	noSecret(t, "erase answer", string(erased.body), secrets)
	// Idempotent: erasing again changes nothing.
	admin.do("DELETE", "/api/v1/contacts/"+id+"?erase=true", nil).want(http.StatusOK)
	// The contact's own routes show nothing of it.
	for _, path := range []string{"", "/notes", "/labels"} {
		r := admin.do("GET", "/api/v1/contacts/"+id+path, nil)
		noSecret(t, "GET /contacts/{uuid}"+path, string(r.body), secrets)
	}
	// Its uuid stays taken (a client error, not a 500), and it cannot come back.
	admin.do("POST", "/api/v1/contacts", map[string]any{"uuid": id, "first_name": "Zoltan"}).want(http.StatusConflict)
	admin.do("POST", "/api/v1/contacts/"+id+"/restore", nil).want(http.StatusConflict)

	waitUntil(t, "the read model shows the contact as erased", func() bool {
		var ok bool
		_ = pool.QueryRow(ctx, `SELECT coalesce((doc ->> 'erased')::boolean, false) FROM rm_contacts WHERE uuid = $1`, id).Scan(&ok)
		return ok
	})

	// The events table, the read model, stored idempotent answers, unique
	// claims: raw SQL over every row.
	checkTables := func(when string) {
		t.Helper()
		for _, q := range []string{
			`SELECT coalesce(string_agg(data::text, ' '), '') FROM events`,
			`SELECT coalesce(string_agg(t::text, ' '), '') FROM rm_contacts t`,
			`SELECT coalesce(string_agg(t::text || convert_from(coalesce(response_body, ''), 'UTF8'), ' '), '') FROM idempotency_keys t`,
			`SELECT coalesce(string_agg(t::text, ' '), '') FROM unique_claims t`,
		} {
			var text string
			if err := pool.QueryRow(ctx, q).Scan(&text); err != nil {
				t.Fatal(err)
			}
			noSecret(t, when+": "+q, text, secrets)
		}
	}
	checkTables("after erasure")
	if !strings.Contains(export(), "stays@erase.example") {
		t.Fatal("the bystander's data went too")
	}

	// A rebuild reproduces the erased contact as erased.
	if err := projections.Rebuild(ctx, store, rm, projections.Contacts, 100, func(projections.Progress) {}); err != nil {
		t.Fatal(err)
	}
	checkTables("after a rebuild")
	var rebuilt bool
	if err := pool.QueryRow(ctx, `SELECT coalesce((doc ->> 'erased')::boolean, false) FROM rm_contacts WHERE uuid = $1`, id).Scan(&rebuilt); err != nil || !rebuilt {
		t.Fatalf("rebuilt read model: erased = %v, %v", rebuilt, err)
	}

	// Export and the event history.
	exported := export()
	noSecret(t, "export", exported, secrets)
	if !strings.Contains(exported, id) {
		t.Fatalf("the export leaves out the erased contact's tombstone (include_deleted): %s", exported)
	}
	history := string(admin.do("GET", "/api/v1/contacts/"+id+"/events", nil).want(http.StatusOK).body)
	noSecret(t, "history", history, secrets)
	if !strings.Contains(history, `"pii_erased":true`) || !strings.Contains(history, "contact.erased") {
		t.Fatalf("history after erasure: %s", history)
	}

	// The topic as a new consumer reads it, raw and opened with the keys.
	topic := topicRecords(t, brokers, pool)
	for _, msgs := range [][]string{topic.raw, topic.opened} {
		for _, m := range msgs {
			if strings.Contains(m, id) {
				noSecret(t, "topic message", m, secrets)
			}
		}
	}

	// An API key with write_contacts acts as an administrator of contact
	// data (and is audited as itself); a read-only key cannot erase.
	other := str(admin.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Keyed"}).want(http.StatusCreated).obj()["uuid"])
	ro := admin.do("POST", "/api/v1/api_keys", map[string]any{"name": "ro", "scopes": []string{"read_contacts"}}).want(http.StatusCreated).obj()
	(&client{e: e, token: str(ro["key"])}).do("DELETE", "/api/v1/contacts/"+other+"?erase=true", nil).want(http.StatusForbidden)
	rw := admin.do("POST", "/api/v1/api_keys", map[string]any{"name": "rw", "scopes": []string{"read_contacts", "write_contacts"}}).want(http.StatusCreated).obj()
	(&client{e: e, token: str(rw["key"])}).do("DELETE", "/api/v1/contacts/"+other+"?erase=true", nil).want(http.StatusOK)
	var keyActor string
	if err := pool.QueryRow(ctx, `SELECT actor FROM audit_log WHERE action = 'contact.erased' AND target = $1`, other).Scan(&keyActor); err != nil || keyActor != "key:"+str(rw["id"]) {
		t.Fatalf("audit actor of a key's erasure: %q, %v", keyActor, err)
	}

	// Audited.
	var actor, target string
	if err := pool.QueryRow(ctx, `SELECT actor, target FROM audit_log WHERE account_id = $1 AND action = 'contact.erased'`,
		admin.accountID).Scan(&actor, &target); err != nil || actor != admin.userID || target != id {
		t.Fatalf("audit entry: %q %q, %v", actor, target, err)
	}
	log := string(admin.do("GET", "/api/v1/audit_log", nil).want(http.StatusOK).body)
	if !strings.Contains(log, "contact.erased") {
		t.Fatalf("audit log route: %s", log)
	}
}

type topicText struct{ raw, opened []string }

// topicRecords reads the whole events topic as a new consumer, once the
// relay has published every event: each message's value as published, and
// its data opened with the key table (what kafkaconsumer hands projections).
func topicRecords(t *testing.T, brokers []string, pool *pgxpool.Pool) topicText {
	t.Helper()
	store := eventstore.New(pool)
	var head int64
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&head); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the relay publishes every event", func() bool {
		return kafkatest.Count(t, brokers, relay.Topic("")) >= head
	})
	var out topicText
	for _, r := range kafkatest.Records(t, brokers, relay.Topic(""), int(head), 15*time.Second) {
		out.raw = append(out.raw, string(r.Value))
		var ev eventstore.Event
		if err := json.Unmarshal(r.Value, &ev); err != nil {
			t.Fatal(err)
		}
		evs := []eventstore.Event{ev}
		if err := store.Open(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
		out.opened = append(out.opened, string(evs[0].Data))
	}
	return out
}

func count(msgs []string, s string) int {
	n := 0
	for _, m := range msgs {
		if strings.Contains(m, s) {
			n++
		}
	}
	return n
}

func noSecret(t *testing.T, where, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Fatalf("%s still shows %q: %.2000s", where, s, text)
		}
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
