package realtime

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"contacts/domain/contact"
	"contacts/eventstore"
)

// Source is what the hub reads from the event store.
type Source interface {
	// ReadRange returns events after after and up to upTo in tail order
	// (only accountID's when not empty).
	ReadRange(ctx context.Context, after, upTo eventstore.Cursor, accountID string, limit int) ([]eventstore.Event, error)
	// CursorAt returns the tail cursor of the event at position.
	CursorAt(ctx context.Context, position int64) (eventstore.Cursor, bool, error)
	// StreamOwner returns the account and type of a stream.
	StreamOwner(ctx context.Context, streamID string) (accountID, streamType string, found bool, err error)
}

// Announcements tell the hub how far the read models reflect the event
// store (PostgreSQL LISTEN on eventstore.CommittedChannel).
type Announcements interface {
	ListenCommitted(ctx context.Context, ready func(), fn func(eventstore.Cursor)) error
}

var (
	_ Source        = (*eventstore.Store)(nil)
	_ Announcements = (*eventstore.Store)(nil)
)

// Filter narrows a contacts subscription (the read API's query model): Match
// returns which of the account's contact ids currently match.
type Filter interface {
	Match(ctx context.Context, accountID string, ids []string) (map[string]bool, error)
}

// KeyedFilter is a Filter that names what it selects: subscriptions of one
// account whose filters have the same key share one evaluation per batch.
type KeyedFilter interface {
	Filter
	Key() string
}

// Options configure a Hub.
type Options struct {
	Source        Source
	Announcements Announcements // nil: the hub only polls Reached
	// Reached returns the place every read model has reached (the saved
	// projection checkpoints): where the hub starts, and what it polls in
	// case an announcement was lost.
	Reached   func(ctx context.Context) (eventstore.Cursor, error)
	PollEvery time.Duration // default 1s
	// QueueLimit bounds the pushes queued for one connection; a connection
	// that falls further behind is cut off (resync_required). Default 1024.
	QueueLimit int
	// MaxSubscriptions bounds the subscriptions of one connection; default 100.
	MaxSubscriptions int
	// PendingLimit bounds the live events held for a subscription while it
	// replays; default 4096.
	PendingLimit int
	Logger       *slog.Logger
	// Metrics, when set, counts pushes, drops and resyncs, and reports
	// this hub's subscriptions (metrics.go).
	Metrics *Metrics
}

// Hub fans committed events out to the subscriptions of this instance.
type Hub struct {
	src        Source
	ann        Announcements
	reached    func(ctx context.Context) (eventstore.Cursor, error)
	pollEvery  time.Duration
	queueLimit int
	maxSubs    int
	pendLimit  int
	log        *slog.Logger
	metrics    *Metrics

	ready     chan struct{} // closed once the start place is known
	readyOnce sync.Once

	tmu    sync.Mutex
	target eventstore.Cursor // the furthest place announced
	wake   chan struct{}

	dmu    sync.Mutex // held while a batch is delivered, and while a subscription goes live
	mu     sync.Mutex // guards cursor and subs
	cursor eventstore.Cursor
	subs   map[string]map[*Subscription]struct{} // by account
}

// NewHub returns a hub; Run it.
func NewHub(o Options) *Hub {
	h := &Hub{src: o.Source, ann: o.Announcements, reached: o.Reached, pollEvery: o.PollEvery,
		queueLimit: o.QueueLimit, maxSubs: o.MaxSubscriptions, pendLimit: o.PendingLimit, log: o.Logger, metrics: o.Metrics,
		ready: make(chan struct{}), wake: make(chan struct{}, 1), subs: map[string]map[*Subscription]struct{}{}}
	if h.pollEvery <= 0 {
		h.pollEvery = time.Second
	}
	if h.queueLimit <= 0 {
		h.queueLimit = 1024
	}
	if h.maxSubs <= 0 {
		h.maxSubs = 100
	}
	if h.pendLimit <= 0 {
		h.pendLimit = 4096
	}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if h.metrics != nil {
		h.metrics.hub.Store(h)
	}
	return h
}

// Position is the global position of the last event the hub has delivered.
func (h *Hub) Position() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cursor.Position
}

// Run follows the announcements and delivers until ctx ends.
func (h *Hub) Run(ctx context.Context) error {
	var start eventstore.Cursor
	for {
		var err error
		if start, err = h.reached(ctx); err == nil {
			break
		}
		h.log.ErrorContext(ctx, "realtime: reading the projections' place; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	h.mu.Lock()
	h.cursor = start
	h.mu.Unlock()
	h.tmu.Lock()
	h.target = start
	h.tmu.Unlock()

	var wg sync.WaitGroup
	defer wg.Wait()
	listening := make(chan struct{})
	if h.ann != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.listen(ctx, listening)
		}()
		select { // announcements made from now on are heard
		case <-listening:
		case <-time.After(5 * time.Second):
			// Not listening yet (the database is slow or down): serve
			// anyway, on the polls, while listen keeps trying.
			h.log.WarnContext(ctx, "realtime: not listening for commits yet; polling meanwhile")
		case <-ctx.Done():
			return nil
		}
	}
	h.readyOnce.Do(func() { close(h.ready) })
	h.poll(ctx) // anything committed while we were starting

	poll := time.NewTicker(h.pollEvery)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
			h.poll(ctx)
		case <-h.wake:
		}
		h.tmu.Lock()
		target := h.target
		h.tmu.Unlock()
		if err := h.advance(ctx, target); err != nil && ctx.Err() == nil {
			h.log.ErrorContext(ctx, "realtime: delivering; retrying", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(200 * time.Millisecond):
			}
			signal(h.wake)
		}
	}
}

// listen keeps a LISTEN connection, reconnecting after failures.
func (h *Hub) listen(ctx context.Context, listening chan struct{}) {
	var once sync.Once
	for {
		err := h.ann.ListenCommitted(ctx, func() {
			once.Do(func() { close(listening) })
			h.poll(ctx) // announcements may have been missed while not listening
		}, h.announce)
		if ctx.Err() != nil {
			return
		}
		h.log.WarnContext(ctx, "realtime: listening for commits failed; reconnecting", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (h *Hub) poll(ctx context.Context) {
	c, err := h.reached(ctx)
	if err != nil {
		if ctx.Err() == nil {
			h.log.WarnContext(ctx, "realtime: polling the projections' place", "err", err)
		}
		return
	}
	h.announce(c)
}

// announce records that the read models reflect everything up to c.
func (h *Hub) announce(c eventstore.Cursor) {
	h.tmu.Lock()
	if after(c, h.target) {
		h.target = c
	}
	h.tmu.Unlock()
	signal(h.wake)
}

func after(a, b eventstore.Cursor) bool {
	return a.TxID > b.TxID || a.TxID == b.TxID && a.Position > b.Position
}

const readBatch = 1000

// advance delivers every event after the hub's place up to target.
func (h *Hub) advance(ctx context.Context, target eventstore.Cursor) error {
	for {
		h.mu.Lock()
		from := h.cursor
		h.mu.Unlock()
		if !after(target, from) {
			return nil
		}
		evs, err := h.src.ReadRange(ctx, from, target, "", readBatch)
		if err != nil {
			return err
		}
		upTo := target
		if len(evs) == readBatch {
			upTo = evs[len(evs)-1].Cursor()
		}
		h.deliver(ctx, evs, upTo)
	}
}

// deliver fans a batch out and moves the hub's place to upTo.
func (h *Hub) deliver(ctx context.Context, evs []eventstore.Event, upTo eventstore.Cursor) {
	h.dmu.Lock()
	defer h.dmu.Unlock()

	// Filtered subscriptions query the read model first, outside h.mu.
	accounts := map[string]bool{}
	for _, e := range evs {
		accounts[e.AccountID] = true
	}
	var filtered []*Subscription
	h.mu.Lock()
	for acc := range accounts {
		for sub := range h.subs[acc] {
			if sub.filter != nil && sub.live {
				filtered = append(filtered, sub)
			}
		}
	}
	h.mu.Unlock()
	// One query per distinct filter and account (many UIs watch the same view).
	matches := make(map[*Subscription]map[string]bool, len(filtered))
	type shared struct {
		m   map[string]bool
		err error
	}
	byKey := map[[2]string]shared{}
	for _, sub := range filtered {
		k, keyed := sub.filter.(KeyedFilter)
		var r shared
		if keyed {
			r, keyed = byKey[[2]string{sub.account, k.Key()}]
		}
		if !keyed {
			r.m, r.err = h.match(ctx, sub, evs)
			if k != nil {
				byKey[[2]string{sub.account, k.Key()}] = r
			}
		}
		if r.err != nil {
			h.log.ErrorContext(ctx, "realtime: evaluating a subscription filter", "err", r.err)
			sub.sink.cutOff("filter_failed", "the subscription's filter could not be evaluated")
			continue
		}
		matches[sub] = r.m
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	type key struct {
		i  int
		ch string
	}
	bodies := map[key][]byte{}
	var cut []*Sink
	for i, e := range evs {
		chans := channelsOf(e)
		if len(chans) == 0 {
			continue
		}
		for sub := range h.subs[e.AccountID] {
			if sub.ended.Load() {
				h.removeLocked(sub)
				continue
			}
			if !after(e.Cursor(), sub.after) {
				continue // the client has it (resumed from a later place)
			}
			if !sub.live {
				if sub.pick(chans) == "" {
					continue
				}
				if len(sub.pending) >= h.pendLimit {
					cut = append(cut, sub.sink)
					continue
				}
				sub.pending = append(sub.pending, e)
				continue
			}
			ch := sub.pick(chans)
			if ch == "" || !sub.passes(e, ch, matches[sub]) {
				continue
			}
			k := key{i, ch}
			body, ok := bodies[k]
			if !ok {
				body = encode(e, ch)
				bodies[k] = body
			}
			sub.sink.enqueue(sub, e.Position, body)
		}
	}
	h.cursor = upTo
	for _, s := range cut {
		s.cutOff("slow_replay", "the subscription fell too far behind while catching up")
	}
}

// match evaluates sub's filter on the contacts evs change in its account.
func (h *Hub) match(ctx context.Context, sub *Subscription, evs []eventstore.Event) (map[string]bool, error) {
	var ids []string
	seen := map[string]bool{}
	for _, e := range evs {
		if e.AccountID == sub.account && e.StreamType == contact.StreamType && !removal(e.Type) && !seen[e.StreamID] {
			seen[e.StreamID] = true
			ids = append(ids, e.StreamID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return sub.filter.Match(ctx, sub.account, ids)
}

func (h *Hub) removeLocked(sub *Subscription) {
	if m := h.subs[sub.account]; m != nil {
		delete(m, sub)
		if len(m) == 0 {
			delete(h.subs, sub.account)
		}
	}
}

func (h *Hub) remove(subs ...*Subscription) {
	if len(subs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, sub := range subs {
		h.removeLocked(sub)
	}
}
