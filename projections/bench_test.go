package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"contacts/commands"
	"contacts/domain"
	"contacts/domain/contact"
	"contacts/eventstore"
	"contacts/projections"
)

// timedStore records when each contact document became visible: the moment
// the read model's write transaction committed.
type timedStore struct {
	projections.ReadModel
	mu      sync.Mutex
	visible map[string]time.Time
}

func (s *timedStore) UpsertContacts(ctx context.Context, docs []projections.ContactDoc) error {
	if err := s.ReadModel.UpsertContacts(ctx, docs); err != nil {
		return err
	}
	now := time.Now()
	s.mu.Lock()
	for _, d := range docs {
		if _, ok := s.visible[d.ID]; !ok {
			s.visible[d.ID] = now
		}
	}
	s.mu.Unlock()
	return nil
}

// BenchmarkVisibility: contacts are created through the command handlers at
// a fixed 1,000 writes/s while the embedded runner projects them; reported is
// the time from the write's commit to the document's commit in the read
// model (p50, p99, max). Each iteration is one write:
//
//	PGTEST_DURABLE=1 go test ./projections -run '^$' -bench Visibility -benchtime 10000x
//
// The first two seconds of writes are a warm-up and are not measured: on a
// fresh cluster every new backend first loads its catalog caches, and one
// slow write transaction holds back the tail (the runner reads only below
// the oldest open transaction), so a cold start shows ~200 ms of lag that a
// running service never sees again. cold_max_ms reports that warm-up's worst.
func BenchmarkVisibility(b *testing.B) {
	const rate = 1000 // writes per second
	w := newWorld(b)
	store := &timedStore{ReadModel: w.rm, visible: map[string]time.Time{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runner := &projections.Runner{Source: w.events, Handlers: projections.New(w.events, store), Logger: discard()}
	go runner.Run(ctx) //nolint:errcheck // stopped by cancel

	account := eventstore.NewID()
	next := 0 // contact number, unique across phases
	// drive writes n contacts at rate from 16 writers and waits until all are
	// visible; it returns each one's commit time and the achieved rate.
	drive := func(n int) (map[string]time.Time, float64) {
		committed := make(map[string]time.Time, n)
		var mu sync.Mutex
		jobs := make(chan int)
		var wg sync.WaitGroup
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					st, err := w.cmds.CreateContact(ctx, commands.CreateContact{AccountID: account, Fields: map[string]any{
						"first_name": fmt.Sprint("Ada", i), "email": fmt.Sprintf("ada%d@example.com", i), "title": "Engineer", "city": "Austin"}})
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					committed[st.ID] = time.Now()
					mu.Unlock()
				}
			}()
		}
		start := time.Now()
		for i := 0; i < n; i++ {
			time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / rate)))
			jobs <- next
			next++
		}
		close(jobs)
		wg.Wait()
		achieved := float64(n) / time.Since(start).Seconds()
		deadline := time.Now().Add(30 * time.Second)
		for {
			store.mu.Lock()
			missing := 0
			for id := range committed {
				if _, ok := store.visible[id]; !ok {
					missing++
				}
			}
			store.mu.Unlock()
			if missing == 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d contacts never became visible", missing)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return committed, achieved
	}
	latencies := func(committed map[string]time.Time) []time.Duration {
		store.mu.Lock()
		defer store.mu.Unlock()
		lat := make([]time.Duration, 0, len(committed))
		for id, c := range committed {
			lat = append(lat, max(0, store.visible[id].Sub(c)))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		return lat
	}
	cold := latencies(func() map[string]time.Time { c, _ := drive(2 * rate); return c }())

	b.ResetTimer()
	committed, achieved := drive(b.N)
	b.StopTimer()
	lat := latencies(committed)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(achieved, "writes/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(pct(1), "max_ms")
	b.ReportMetric(float64(cold[len(cold)-1].Microseconds())/1000, "cold_max_ms")
}

// BenchmarkRebuild replays an event store of realistic contact histories
// (a creation and three updates per contact) into a fresh contacts read
// model and reports the replay rate, the whole rebuild's rate (indexes and
// swap included) and its duration:
//
//	go test ./projections -run '^$' -bench Rebuild -benchtime 1x
func BenchmarkRebuild(b *testing.B) {
	const contacts = 50_000
	w := newWorld(b)
	ctx := context.Background()
	events := seedContacts(b, w, contacts)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var replay projections.Progress
		start := time.Now()
		err := projections.Rebuild(ctx, w.events, w.rm, projections.Contacts, 5000, func(p projections.Progress) {
			if p.Phase == "swap" {
				replay = p
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		total := time.Since(start)
		b.ReportMetric(replay.Rate(), "replay_events/s")
		b.ReportMetric(float64(events)/total.Seconds(), "events/s")
		b.ReportMetric(total.Seconds(), "s/rebuild")
	}
}

// seedContacts appends n contact histories straight to the event store, in
// multi-stream appends of 200 contacts, with events made by the domain.
func seedContacts(b *testing.B, w *world, n int) int {
	ctx := context.Background()
	account := eventstore.NewID()
	total := 0
	for done := 0; done < n; done += 200 {
		var req eventstore.AppendRequest
		for i := done; i < min(done+200, n); i++ {
			id := eventstore.NewID()
			evs, err := contact.Create(contact.CreateInput{ID: id, AccountID: account, Fields: map[string]any{
				"first_name": fmt.Sprint("First", i), "last_name": "Last", "email": fmt.Sprintf("p%d@example.com", i),
				"title": []string{"CEO", "CTO", "VP Engineering"}[i%3], "city": []string{"Austin", "Berlin", "Paris"}[i%3],
				"tags": []any{"lead"}}})
			if err != nil {
				b.Fatal(err)
			}
			c := &contact.Contact{}
			for v, e := range evs {
				c.Apply(e, recorded(int64(v+1)))
			}
			for u := 0; u < 3; u++ {
				more, err := c.Update(map[string]any{"title": fmt.Sprint("Title ", u), "seniority": "senior"})
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range more {
					c.Apply(e, recorded(c.Version()+1))
				}
				evs = append(evs, more...)
			}
			sa := eventstore.StreamAppend{AccountID: account, StreamType: contact.StreamType, StreamID: id}
			for _, e := range evs {
				data, _ := json.Marshal(e)
				sa.Events = append(sa.Events, eventstore.NewEvent{Type: e.EventType(), Data: data})
			}
			total += len(sa.Events)
			req.Streams = append(req.Streams, sa)
		}
		if _, err := w.events.Append(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	return total
}

func recorded(v int64) domain.Recorded { return domain.Recorded{Version: v, At: time.Now().UTC()} }
