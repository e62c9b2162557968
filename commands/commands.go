// Package commands turns requests into events: each handler loads its
// aggregate from the event store, lets the domain decide, and appends the
// resulting events with the version it read (optimistic concurrency), taking
// and releasing per-account unique values in the same transaction.
package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"contacts/domain"
	"contacts/eventstore"
)

// EventStore is what the handlers need from the event store.
type EventStore interface {
	Append(ctx context.Context, req eventstore.AppendRequest) ([]eventstore.Event, error)
	ReadStream(ctx context.Context, accountID, streamID string, afterVersion int64) ([]eventstore.Event, error)
	LookupClaim(ctx context.Context, accountID, kind, value string) (string, bool, error)
	StreamsMentioning(ctx context.Context, accountID string, eventTypes []string, field, value string) ([]string, error)
	ExistingStreams(ctx context.Context, accountID, streamType string, ids []string) (map[string]bool, error)
	// For bulk writes (imports, bulk upsert): set-wise claim lookups and stream reads.
	LookupClaims(ctx context.Context, accountID, kind string, values []string) (map[string]string, error)
	ReadStreams(ctx context.Context, streamIDs []string) (map[string][]eventstore.Event, error)
}

var _ EventStore = (*eventstore.Store)(nil)

// Clock tells the time; tests pin it.
type Clock interface{ Now() time.Time }

// IDs makes new aggregate and note ids.
type IDs interface{ NewID() string }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now().UTC() }

type uuidV7 struct{}

func (uuidV7) NewID() string { return eventstore.NewID() }

// Handlers runs every command. The zero value is not usable: call New.
type Handlers struct {
	store   EventStore
	clock   Clock
	ids     IDs
	regions PhoneRegions // nil: no account has a default phone region
}

// Option customises New.
type Option func(*Handlers)

// WithClock replaces the system clock.
func WithClock(c Clock) Option { return func(h *Handlers) { h.clock = c } }

// WithIDs replaces the UUIDv7 id source.
func WithIDs(ids IDs) Option { return func(h *Handlers) { h.ids = ids } }

// New returns handlers over store.
func New(store EventStore, opts ...Option) *Handlers {
	h := &Handlers{store: store, clock: systemClock{}, ids: uuidV7{}}
	for _, o := range opts {
		o(h)
	}
	return h
}

// ErrVersionMismatch: the client's If-Match version is not the current one.
var ErrVersionMismatch = errors.New("version mismatch")

// VersionMismatchError carries the version the client should re-read.
type VersionMismatchError struct{ Expected, Current int64 }

func (e *VersionMismatchError) Error() string {
	return fmt.Sprintf("version %d was expected but the current version is %d", e.Expected, e.Current)
}

func (e *VersionMismatchError) Unwrap() error { return ErrVersionMismatch }

// UniqueValueTakenError: a unique value (phone, e-mail, identifier, group
// name, label title) already belongs to another aggregate of the account.
type UniqueValueTakenError struct {
	Field, Value, OwnerID string
}

func (e *UniqueValueTakenError) Error() string {
	return fmt.Sprintf("%s %q is already used by %s", e.Field, e.Value, e.OwnerID)
}

// aggregate is what every domain aggregate offers the handlers.
type aggregate interface {
	Apply(e domain.Event, r domain.Recorded)
	Version() int64
	Exists() bool
	UniqueKeys() map[string]string
}

// kind describes one aggregate type to the generic load/save code.
type kind struct {
	name       string // for messages: "contact"
	streamType string
	decode     eventstore.Decoder
}

// load replays the account's stream into agg. A stream of another account
// reads as empty, so it is "not found" like any unknown id.
func (h *Handlers) load(ctx context.Context, k kind, accountID, id string, agg aggregate) error {
	if !domain.IsUUID(id) {
		return domain.NotFound(k.name, id)
	}
	evs, err := h.store.ReadStream(ctx, accountID, id, 0)
	if err != nil {
		return err
	}
	return eventstore.Fold(agg, k.decode, evs)
}

// change is one stream's part of an atomic append.
type change struct {
	kind      kind
	accountID string
	id        string
	agg       aggregate
	events    []domain.Event
	erase     bool // destroy the contact's data key (EraseContact)
}

// commit applies each change's events to its aggregate (so callers get the
// new state), derives which unique values are taken and given up, and
// appends everything in one transaction.
func (h *Handlers) commit(ctx context.Context, changes ...change) error {
	now := h.clock.Now().UTC().Truncate(time.Microsecond)
	req := eventstore.AppendRequest{RecordedAt: now}
	for _, c := range changes {
		if len(c.events) == 0 {
			continue
		}
		expected := c.agg.Version()
		before := c.agg.UniqueKeys()
		sa := eventstore.StreamAppend{
			AccountID: c.accountID, StreamType: c.kind.streamType, StreamID: c.id, ExpectedVersion: expected,
		}
		for i, e := range c.events {
			data, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode %s: %w", e.EventType(), err)
			}
			sa.Events = append(sa.Events, eventstore.NewEvent{ID: h.ids.NewID(), Type: e.EventType(), Data: data})
			c.agg.Apply(e, domain.Recorded{Version: expected + int64(i) + 1, At: now})
		}
		after := c.agg.UniqueKeys()
		for k, v := range before {
			if after[k] != v {
				req.Releases = append(req.Releases, eventstore.Claim{AccountID: c.accountID, Kind: k, Value: v, StreamID: c.id})
			}
		}
		for k, v := range after {
			if before[k] != v {
				req.Claims = append(req.Claims, eventstore.Claim{AccountID: c.accountID, Kind: k, Value: v, StreamID: c.id})
			}
		}
		req.Streams = append(req.Streams, sa)
		if c.erase {
			req.Erasures = append(req.Erasures, eventstore.Erasure{AccountID: c.accountID, ContactID: c.id, Audit: true})
		}
	}
	if len(req.Streams) == 0 {
		return nil
	}
	_, err := h.store.Append(ctx, req)
	var taken *eventstore.ClaimTakenError
	if errors.As(err, &taken) {
		return &UniqueValueTakenError{Field: claimField(taken.Kind), Value: taken.Value, OwnerID: taken.Owner}
	}
	return err
}

// claimField names the input field behind a unique-claim kind.
func claimField(kind string) string {
	switch kind {
	case "group_name":
		return "name"
	case "label_title":
		return "title"
	}
	return kind
}

// retry runs fn again when another writer moved the stream on meanwhile, but
// only for commands without a client-supplied expected version: those must
// fail so the client can re-read.
func retry(ctx context.Context, expected *int64, fn func() error) error {
	const attempts = 10
	var err error
	for i := 0; i < attempts; i++ {
		err = fn()
		if !errors.Is(err, eventstore.ErrConcurrency) || expected != nil {
			return err
		}
		// Jittered back-off, so racing writers do not collide again in step.
		wait := time.Duration(1+rand.IntN(2*(i+1))) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	return err
}

// checkExpected compares an If-Match version with the loaded one.
func checkExpected(expected *int64, current int64) error {
	if expected != nil && *expected != current {
		return &VersionMismatchError{Expected: *expected, Current: current}
	}
	return nil
}
