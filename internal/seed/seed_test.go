package seed_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"contacts/commands"
	"contacts/eventstore"
	"contacts/internal/migrations"
	"contacts/internal/pgtest"
	"contacts/internal/seed"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestSeedWritesValidHistories(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store := eventstore.New(pool)
	account := eventstore.NewID()
	var last int
	n, err := seed.Run(ctx, store, seed.Options{AccountID: account, Contacts: 300, Companies: 10, BatchSize: 64, Seed: 1,
		Progress: func(done, total int) { last = done }})
	if err != nil {
		t.Fatal(err)
	}
	if n != 310 || last != 310 {
		t.Fatalf("events %d, progress %d; want 310", n, last)
	}
	// Every seeded contact is a valid aggregate the command side can change,
	// and its e-mail is claimed like any other contact's.
	// The event's personal fields are sealed at rest: read it through the store.
	var id string
	if err := pool.QueryRow(ctx, `SELECT stream_id::text FROM events WHERE event_type = 'contact.created' LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	stream, err := store.ReadStream(ctx, account, id, 0)
	if err != nil || len(stream) == 0 {
		t.Fatalf("read a seeded contact: %v (%d events)", err, len(stream))
	}
	var created struct {
		Email string `json:"email"`
	}
	if err := json.Unmarshal(stream[0].Data, &created); err != nil || created.Email == "" {
		t.Fatalf("a seeded contact's e-mail: %v (%s)", err, stream[0].Data)
	}
	email := created.Email
	h := commands.New(store)
	if _, err := h.UpdateContact(ctx, commands.UpdateContact{AccountID: account, ID: id, Fields: map[string]any{"title": "Seeded"}}); err != nil {
		t.Fatalf("update a seeded contact: %v", err)
	}
	_, err = h.CreateContact(ctx, commands.CreateContact{AccountID: account, Fields: map[string]any{"first_name": "Dup", "email": email}})
	var taken *commands.UniqueValueTakenError
	if !errors.As(err, &taken) {
		t.Fatalf("a seeded e-mail was not claimed: %v", err)
	}
}
