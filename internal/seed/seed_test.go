package seed_test

import (
	"context"
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
	var id, email string
	if err := pool.QueryRow(ctx, `SELECT stream_id::text, data->>'email' FROM events WHERE event_type = 'contact.created' LIMIT 1`).Scan(&id, &email); err != nil {
		t.Fatal(err)
	}
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
