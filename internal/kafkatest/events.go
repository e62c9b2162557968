package kafkatest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"contacts/eventstore"
)

// Recorder is a projection handler (projections.Handler) that records every
// event it is handed, in delivery order, duplicates included. Fail, when set,
// makes Handle return its error for an event (to exercise redelivery).
type Recorder struct {
	name string
	Fail func(e eventstore.Event, attempt int) error

	mu       sync.Mutex
	events   []eventstore.Event
	seen     map[string]bool // stream id + version
	attempts map[string]int  // event id -> calls
	changed  chan struct{}
}

// NewRecorder returns a recorder whose Name (its consumer group) is name.
func NewRecorder(name string) *Recorder {
	return &Recorder{name: name, seen: map[string]bool{}, attempts: map[string]int{}, changed: make(chan struct{})}
}

// Name is the consumer-group name.
func (r *Recorder) Name() string { return r.name }

// Handle records events (or fails as r.Fail says).
func (r *Recorder) Handle(_ context.Context, events []eventstore.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range events {
		r.attempts[e.ID]++
		if r.Fail != nil {
			if err := r.Fail(e, r.attempts[e.ID]); err != nil {
				return err
			}
		}
	}
	for _, e := range events {
		r.events = append(r.events, e)
		r.seen[fmt.Sprintf("%s/%d", e.StreamID, e.Version)] = true
	}
	close(r.changed)
	r.changed = make(chan struct{})
	return nil
}

// Events returns what was delivered so far, in order.
func (r *Recorder) Events() []eventstore.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]eventstore.Event(nil), r.events...)
}

// Distinct is the number of distinct (stream, version) pairs delivered.
func (r *Recorder) Distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// WaitDistinct waits until n distinct events were delivered.
func (r *Recorder) WaitDistinct(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		got, ch := len(r.seen), r.changed
		r.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%s: %d distinct events delivered after %v, want %d", r.name, got, timeout, n)
		}
	}
}

// CheckStreams asserts that delivered holds every event of want (stream id
// -> last version), and that in each stream the first delivery of version
// k comes after the first delivery of version k-1: after deduplication by
// (stream, version) each stream reads 1..n, in order, without a gap. It
// returns how many deliveries were duplicates.
func CheckStreams(t testing.TB, delivered []eventstore.Event, want map[string]int64) (duplicates int) {
	t.Helper()
	next := make(map[string]int64, len(want)) // stream -> highest version seen
	errs := 0
	for _, e := range delivered {
		last := next[e.StreamID]
		switch {
		case e.Version <= last:
			duplicates++
		case e.Version == last+1:
			next[e.StreamID] = e.Version
		default:
			if errs++; errs <= 10 {
				t.Errorf("stream %s: version %d delivered before version %d", e.StreamID, e.Version, last+1)
			}
			next[e.StreamID] = e.Version
		}
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if next[id] != want[id] {
			if errs++; errs <= 20 {
				t.Errorf("stream %s: delivered up to version %d, want %d", id, next[id], want[id])
			}
		}
	}
	for id := range next {
		if _, ok := want[id]; !ok {
			t.Errorf("stream %s was delivered but never appended", id)
		}
	}
	return duplicates
}

// Writers appends events to the store from several goroutines until
// stopped: each writer owns a few streams and appends 1–3 events to one of
// them, or to two at once in one request.
type Writers struct {
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	streams map[string]int64
	total   int
}

// StartWriters starts n writers with perWriter streams each.
func StartWriters(t testing.TB, store *eventstore.Store, n, perWriter int) *Writers {
	w := &Writers{stop: make(chan struct{}), streams: map[string]int64{}}
	account := eventstore.NewID()
	for i := 0; i < n; i++ {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.write(t, store, account, perWriter)
		}()
	}
	return w
}

func (w *Writers) write(t testing.TB, store *eventstore.Store, account string, perWriter int) {
	ids := make([]string, perWriter)
	versions := make([]int64, perWriter)
	for i := range ids {
		ids[i] = eventstore.NewID()
	}
	ctx := context.Background()
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		picks := []int{rand.IntN(perWriter)}
		if perWriter > 1 && rand.IntN(4) == 0 {
			picks = append(picks, (picks[0]+1)%perWriter)
		}
		var req eventstore.AppendRequest
		for _, p := range picks {
			sa := eventstore.StreamAppend{AccountID: account, StreamType: "contact", StreamID: ids[p], ExpectedVersion: versions[p]}
			for k := 0; k < 1+rand.IntN(3); k++ {
				sa.Events = append(sa.Events, eventstore.NewEvent{Type: "test.happened", Data: []byte(fmt.Sprintf(`{"v":%d}`, versions[p]+int64(k)+1))})
			}
			req.Streams = append(req.Streams, sa)
		}
		recorded, err := store.Append(ctx, req)
		if err != nil {
			t.Errorf("append: %v", err)
			return
		}
		w.mu.Lock()
		for _, e := range recorded {
			w.streams[e.StreamID] = e.Version
		}
		w.total += len(recorded)
		w.mu.Unlock()
		for i, p := range picks {
			versions[p] += int64(len(req.Streams[i].Events))
		}
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
	}
}

// Total is the number of events appended so far.
func (w *Writers) Total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.total
}

// Stop stops the writers and returns each stream's last version and the
// number of events appended.
func (w *Writers) Stop() (streams map[string]int64, total int) {
	close(w.stop)
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int64, len(w.streams))
	for k, v := range w.streams {
		out[k] = v
	}
	return out, w.total
}
