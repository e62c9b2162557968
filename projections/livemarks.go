package projections

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"contacts/eventstore"
)

// LiveCheckpoint names the place, in the event store's tail order, up to
// which every read model reflects every event with KAFKA_BROKERS: live
// updates are pushed up to it (read-your-writes).
const LiveCheckpoint = "realtime"

// HandledStore is where LiveMarks records what was handled and moves the
// live checkpoint (eventstore.Store).
type HandledStore interface {
	MarkHandled(ctx context.Context, marks []eventstore.Handled) error
	AdvanceHandled(ctx context.Context, name string, all int32, initial func(context.Context) (eventstore.Cursor, error)) (eventstore.Cursor, bool, error)
	Reached(ctx context.Context, names []string) (eventstore.Cursor, error)
	Checkpoints(ctx context.Context) ([]eventstore.Checkpoint, error)
	CursorAt(ctx context.Context, position int64) (eventstore.Cursor, bool, error)
}

var _ HandledStore = (*eventstore.Store)(nil)

// LiveMarks tells live updates how far the read models reflect the event
// store when the projections are fed by Kafka. There, each projection's
// partitions are consumed concurrently, possibly by several instances, so
// no consumer's place is a place in the global order. Instead every handled
// event is marked (one bit per projection) before its message is
// acknowledged, and the live checkpoint moves over the longest prefix of
// the event store whose events every projection has marked — a low
// watermark of the global order — and is announced (NOTIFY) as it moves.
//
// Marks are written in groups: concurrent handlers wait for one shared
// statement. Run must be running for wrapped handlers to return.
type LiveMarks struct {
	store HandledStore
	bits  map[string]int32
	all   int32
	every time.Duration
	log   *slog.Logger

	mu      sync.Mutex
	pending []eventstore.Handled
	waiters []chan error
	wake    chan struct{}
	advance chan struct{}
}

// NewLiveMarks returns the marks of the projections names (every
// projection: the live checkpoint waits for all of them).
func NewLiveMarks(store HandledStore, names []string, logger *slog.Logger) *LiveMarks {
	m := &LiveMarks{store: store, bits: map[string]int32{}, every: time.Second, log: logger,
		wake: make(chan struct{}, 1), advance: make(chan struct{}, 1)}
	for i, n := range names {
		m.bits[n] = 1 << i
		m.all |= 1 << i
	}
	return m
}

// Wrap returns h marking what it has handled. Its Handle returns only once
// the marks are recorded, so a message is acknowledged only then: an event
// whose marks were lost (a crash) is delivered, handled and marked again.
func (m *LiveMarks) Wrap(h Handler) Handler {
	return &marked{Handler: h, m: m, bit: m.bits[h.Name()]}
}

type marked struct {
	Handler
	m   *LiveMarks
	bit int32
}

func (h *marked) Handle(ctx context.Context, events []eventstore.Event) error {
	if err := h.Handler.Handle(ctx, events); err != nil {
		return err
	}
	if h.bit == 0 || len(events) == 0 {
		return nil
	}
	done := make(chan error, 1)
	h.m.mu.Lock()
	for _, e := range events {
		h.m.pending = append(h.m.pending, eventstore.Handled{Position: e.Position, Bits: h.bit})
	}
	h.m.waiters = append(h.m.waiters, done)
	h.m.mu.Unlock()
	signal(h.m.wake)
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("projection %s: %w", h.Name(), err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run writes the marks and moves the live checkpoint (after each write, and
// every second in case another instance's move was missed or failed) until
// ctx ends.
func (m *LiveMarks) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.advancing(ctx)
	}()
	for {
		select {
		case <-ctx.Done():
			m.flush(ctx) // the waiters hear ctx's error
			return nil
		case <-m.wake:
		}
		m.flush(ctx)
	}
}

func (m *LiveMarks) flush(ctx context.Context) {
	m.mu.Lock()
	marks, waiters := m.pending, m.waiters
	m.pending, m.waiters = nil, nil
	m.mu.Unlock()
	if len(waiters) == 0 {
		return
	}
	err := ctx.Err()
	if err == nil {
		err = m.store.MarkHandled(ctx, marks)
	}
	for _, w := range waiters {
		w <- err
	}
	if err == nil {
		signal(m.advance)
	}
}

func (m *LiveMarks) advancing(ctx context.Context) {
	t := time.NewTicker(m.every)
	defer t.Stop()
	initial := func(ctx context.Context) (eventstore.Cursor, error) { return liveStart(ctx, m.store) }
	for {
		if _, _, err := m.store.AdvanceHandled(ctx, LiveCheckpoint, m.all, initial); err != nil && ctx.Err() == nil {
			m.log.WarnContext(ctx, "live updates: moving the projections' place", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-m.advance:
		case <-t.C:
		}
	}
}

// LivePlace is how far the read models reflect the event store with Kafka:
// the live checkpoint, or, before any projector has set it, where it will
// start.
func LivePlace(ctx context.Context, store HandledStore) (eventstore.Cursor, error) {
	cps, err := store.Checkpoints(ctx)
	if err != nil {
		return eventstore.Cursor{}, err
	}
	for _, c := range cps {
		if c.Name == LiveCheckpoint {
			return c.Cursor, nil
		}
	}
	return liveStart(ctx, store)
}

// liveStart is where the live checkpoint starts: the start of the event store
// in a new deployment; in one that ran before (embedded, or with Kafka
// before live updates were marked) where every projection had got, since
// nothing before was marked. Kafka-fed projections record only the position
// of the furthest event they handled (Tracked: a Kafka message carries no
// transaction id), which is turned into a place in the tail order here.
func liveStart(ctx context.Context, store HandledStore) (eventstore.Cursor, error) {
	c, err := store.Reached(ctx, Names)
	if err != nil || c.TxID != 0 || c.Position == 0 {
		return c, err
	}
	at, found, err := store.CursorAt(ctx, c.Position)
	if err != nil || !found {
		return eventstore.Cursor{}, err
	}
	return at, nil
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
