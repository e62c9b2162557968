package realtime

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"contacts/domain/contact"
	"contacts/eventstore"
)

// Request is a subscription to make.
type Request struct {
	AccountID string
	Channels  []Channel // one or more, of the account
	// Filter narrows the contacts channel (nil: every contact). Deleted and
	// merged contacts are always announced.
	Filter Filter
	// From resumes after the message at this position (0: from the
	// beginning); nil: live updates only.
	From *int64
	// Ack, when set, is queued on the connection before any push of the
	// subscription, with the position it starts after.
	Ack func(position int64) []byte
}

// Subscription is one connection's interest in some channels of an account.
type Subscription struct {
	key      string // the channels, sorted and joined: one subscription per key and connection
	account  string
	channels []string
	filter   Filter
	sink     *Sink

	after    eventstore.Cursor // pushes at or before this place are not sent
	start    int64             // the position the subscription starts after
	live     bool              // guarded by the hub's mu: false while replaying
	pending  []eventstore.Event
	lastSent int64 // guarded by the sink's mu: the position of the last push handed to the writer
	ended    atomic.Bool
}

// Key names the subscription on its connection (its channels, sorted,
// comma-separated).
func (s *Subscription) Key() string { return s.key }

func (s *Subscription) channelNames() []string { return s.channels }

// pick returns the first of chans (most specific first) the subscription holds.
func (s *Subscription) pick(chans []string) string {
	for _, c := range chans {
		if slices.Contains(s.channels, c) {
			return c
		}
	}
	return ""
}

// passes applies the filter to a push on ch; matches are the filter's
// verdicts for the batch's contacts.
func (s *Subscription) passes(e eventstore.Event, ch string, matches map[string]bool) bool {
	if s.filter == nil || ch != KindContacts || e.StreamType != contact.StreamType || removal(e.Type) {
		return true
	}
	return matches[e.StreamID]
}

// Key is the subscription key of a set of channels.
func Key(chans []Channel) string {
	names := make([]string, len(chans))
	for i, c := range chans {
		names[i] = c.String()
	}
	slices.Sort(names)
	return strings.Join(slices.Compact(names), ",")
}

// Authorize checks that every channel is the account's: an entity channel
// whose entity belongs to another account (or does not exist) is not found.
func (h *Hub) Authorize(ctx context.Context, accountID string, chans []Channel) error {
	for _, c := range chans {
		if c.ID == "" {
			continue
		}
		owner, typ, found, err := h.src.StreamOwner(ctx, c.ID)
		if err != nil {
			return err
		}
		want := c.streamType()
		ok := found && owner == accountID && (want == typ || want == "" && strings.HasPrefix(typ, KindImport))
		if !ok {
			return errorf(CodeNotFound, "channel %s: no such %s in this account", c, c.Kind)
		}
	}
	return nil
}

// Subscribe authorizes the channels, registers the subscription on sink,
// replays what the client missed since r.From and then goes live. It
// returns once the subscription is live (its replay queued).
func (h *Hub) Subscribe(ctx context.Context, sink *Sink, r Request) (*Subscription, error) {
	if len(r.Channels) == 0 {
		return nil, errorf(CodeInvalidChannel, "at least one channel is required")
	}
	if err := h.Authorize(ctx, r.AccountID, r.Channels); err != nil {
		return nil, err
	}
	var from eventstore.Cursor
	if r.From != nil {
		if *r.From < 0 {
			return nil, errorf(CodeInvalidPosition, "from_position must be ≥ 0")
		}
		if *r.From > 0 {
			c, found, err := h.src.CursorAt(ctx, *r.From)
			if err != nil {
				return nil, err
			}
			if !found {
				return nil, errorf(CodeInvalidPosition, "from_position %d is not the position of an event: resume from the position of the last message received", *r.From)
			}
			from = c
		}
	}
	select {
	case <-h.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	key := Key(r.Channels)
	sub := &Subscription{key: key, account: r.AccountID, channels: strings.Split(key, ","), filter: r.Filter, sink: sink}
	if err := sink.add(sub, h.maxSubs); err != nil {
		return nil, err
	}
	h.mu.Lock()
	start := h.cursor
	sub.after, sub.start = start, start.Position
	if r.From != nil {
		sub.start = *r.From
		if after(from, start) {
			sub.after = from // the client is ahead of this instance (it heard another one)
		}
	}
	sink.mu.Lock()
	sub.lastSent = sub.start
	sink.mu.Unlock()
	if h.subs[r.AccountID] == nil {
		h.subs[r.AccountID] = map[*Subscription]struct{}{}
	}
	h.subs[r.AccountID][sub] = struct{}{}
	h.mu.Unlock()

	if r.Ack != nil {
		sink.Send(r.Ack(sub.start))
	}
	if r.From != nil && after(start, from) {
		if err := h.replay(ctx, sub, from, start); err != nil {
			h.Unsubscribe(sub)
			return nil, err
		}
	}
	// Go live: the live events held meanwhile first.
	h.dmu.Lock()
	defer h.dmu.Unlock()
	h.mu.Lock()
	pending := sub.pending
	sub.pending = nil
	h.mu.Unlock()
	if err := h.push(ctx, sub, pending); err != nil {
		h.Unsubscribe(sub)
		return nil, err
	}
	h.mu.Lock()
	sub.live = true
	h.mu.Unlock()
	return sub, nil
}

// replay queues the account's events after from, up to upTo, for sub, at
// the pace of the connection.
func (h *Hub) replay(ctx context.Context, sub *Subscription, from, upTo eventstore.Cursor) error {
	page := max(1, min(500, h.queueLimit/2))
	for !sub.ended.Load() {
		evs, err := h.src.ReadRange(ctx, from, upTo, sub.account, page)
		if err != nil {
			return fmt.Errorf("realtime: replay: %w", err)
		}
		if err := h.push(ctx, sub, evs); err != nil {
			return err
		}
		if len(evs) < page {
			return nil
		}
		from = evs[len(evs)-1].Cursor()
		if err := sub.sink.waitRoom(ctx, sub); err != nil {
			return err
		}
	}
	return nil
}

// push queues evs for one subscription (a replay, or the events held while
// it replayed).
func (h *Hub) push(ctx context.Context, sub *Subscription, evs []eventstore.Event) error {
	if len(evs) == 0 {
		return nil
	}
	var matches map[string]bool
	if sub.filter != nil {
		m, err := h.match(ctx, sub, evs)
		if err != nil {
			return fmt.Errorf("realtime: filter: %w", err)
		}
		matches = m
	}
	for _, e := range evs {
		ch := sub.pick(channelsOf(e))
		if ch == "" || e.AccountID != sub.account || !sub.passes(e, ch, matches) {
			continue
		}
		if !sub.sink.enqueue(sub, e.Position, encode(e, ch)) {
			return nil // cut off: the client got resync_required
		}
	}
	return nil
}

// Unsubscribe ends sub; pushes already queued are still sent.
func (h *Hub) Unsubscribe(sub *Subscription) {
	sub.ended.Store(true)
	sub.sink.drop(sub)
	h.remove(sub)
}
