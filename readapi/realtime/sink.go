package realtime

import (
	"context"
	"encoding/json"
	"sync"
)

// Sink is one connection's outgoing queue of pushes, shared by its
// subscriptions and drained by the connection's single writer. It is
// bounded: when the writer falls Limit messages behind, every subscription
// of the connection is cut off — its queued pushes are dropped and each gets
// a resync_required message with the position of the last push handed to
// the writer — so a slow client never grows server memory.
type Sink struct {
	hub   *Hub
	limit int

	mu     sync.Mutex
	items  []item
	npush  int // pushes among items
	subs   map[*Subscription]struct{}
	cut    bool // a cut-off happened (listen-only connections then close)
	closed bool

	ready chan struct{} // a send: items are waiting
	space chan struct{} // a send: the writer took items (replays wait for room)
}

type item struct {
	sub  *Subscription // nil: a raw message (an answer), never dropped
	pos  int64
	body []byte
}

// NewSink returns a connection's queue.
func (h *Hub) NewSink() *Sink {
	return &Sink{hub: h, limit: h.queueLimit, subs: map[*Subscription]struct{}{},
		ready: make(chan struct{}, 1), space: make(chan struct{}, 1)}
}

// Ready is signalled when pushes are waiting: call Take.
func (s *Sink) Ready() <-chan struct{} { return s.ready }

// Take hands every waiting message to the writer, in order.
func (s *Sink) Take() [][]byte {
	s.mu.Lock()
	items := s.items
	s.items, s.npush = nil, 0
	out := make([][]byte, len(items))
	pushes := 0
	for i, it := range items {
		if it.sub != nil {
			it.sub.lastSent = it.pos
			pushes++
		}
		out[i] = it.body
	}
	s.mu.Unlock()
	s.hub.metrics.sent(pushes)
	signal(s.space)
	return out
}

// WasCut reports whether the connection fell behind and got resync_required.
func (s *Sink) WasCut() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cut
}

// Send queues a raw message (an answer to a request) after what is queued.
// Raw messages are few (bounded by the requests in flight) and are never
// dropped.
func (s *Sink) Send(body []byte) {
	s.mu.Lock()
	if !s.closed {
		s.items = append(s.items, item{body: body})
	}
	s.mu.Unlock()
	signal(s.ready)
}

// Close ends every subscription of the connection.
func (s *Sink) Close() {
	s.mu.Lock()
	s.closed = true
	subs := make([]*Subscription, 0, len(s.subs))
	for sub := range s.subs {
		subs = append(subs, sub)
		sub.ended.Store(true)
	}
	s.subs = map[*Subscription]struct{}{}
	s.items, s.npush = nil, 0
	s.mu.Unlock()
	s.hub.remove(subs...)
}

// Subscriptions lists the connection's subscriptions.
func (s *Sink) Subscriptions() []*Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Subscription, 0, len(s.subs))
	for sub := range s.subs {
		out = append(out, sub)
	}
	return out
}

func (s *Sink) add(sub *Subscription, max int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errorf(CodeUnavailable, "the connection is closing")
	}
	if len(s.subs) >= max {
		return errorf(CodeTooMany, "at most %d subscriptions per connection", max)
	}
	for other := range s.subs {
		if other.key == sub.key {
			return errorf(CodeAlreadySubscribe, "already subscribed to %s", sub.key)
		}
	}
	s.subs[sub] = struct{}{}
	return nil
}

// drop removes sub from the connection (unsubscribe); its queued pushes
// stay queued (they precede the answer).
func (s *Sink) drop(sub *Subscription) {
	s.mu.Lock()
	delete(s.subs, sub)
	s.mu.Unlock()
}

// enqueue queues a push of sub; false when the queue was full and the
// connection has just been cut off.
func (s *Sink) enqueue(sub *Subscription, pos int64, body []byte) bool {
	s.mu.Lock()
	if sub.ended.Load() || s.closed {
		s.mu.Unlock()
		return true
	}
	if s.npush >= s.limit {
		s.cutLocked("slow_consumer", "the connection fell too far behind the live stream")
		s.mu.Unlock()
		signal(s.ready)
		return false
	}
	s.items = append(s.items, item{sub: sub, pos: pos, body: body})
	s.npush++
	s.mu.Unlock()
	signal(s.ready)
	return true
}

// cutOff cuts the connection off (a replay fell too far behind, or a filter
// failed).
func (s *Sink) cutOff(reason, message string) {
	s.mu.Lock()
	s.cutLocked(reason, message)
	s.mu.Unlock()
	signal(s.ready)
}

// cutLocked drops the queued pushes and ends every subscription with a
// resync_required message. The hub forgets ended subscriptions lazily.
func (s *Sink) cutLocked(reason, message string) {
	kept := s.items[:0]
	for _, it := range s.items {
		if it.sub == nil {
			kept = append(kept, it)
		}
	}
	s.hub.metrics.cut(len(s.items)-len(kept), len(s.subs))
	s.items, s.npush = kept, 0
	for sub := range s.subs {
		sub.ended.Store(true)
		body, _ := json.Marshal(Resync{Event: EventResyncRequired, Channels: sub.channelNames(), Position: sub.lastSent,
			Reason: reason, Message: message + ": subscribe again with from_position"})
		s.items = append(s.items, item{body: body})
	}
	s.subs = map[*Subscription]struct{}{}
	s.cut = true
}

// waitRoom blocks until the queue is at most half full (a replay does not
// overrun the connection), the subscription ended, or ctx ends.
func (s *Sink) waitRoom(ctx context.Context, sub *Subscription) error {
	for {
		s.mu.Lock()
		ok := s.npush <= s.limit/2 || sub.ended.Load()
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-s.space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
