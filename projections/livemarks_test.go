package projections_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"contacts/eventstore"
	"contacts/eventstore/relay"
	"contacts/internal/kafkatest"
	"contacts/projections"
	"contacts/projections/kafkaconsumer"
)

// TestKafkaLiveCheckpointNeverPassesTheReadModel: with the projections fed
// by Kafka (several partitions consumed concurrently, projector killed and
// restarted again and again), every place announced for live updates is one
// the read models reflect — each event up to it, in the event store's order,
// has its document at that version or later — and the place ends at the
// event store's last event.
func TestKafkaLiveCheckpointNeverPassesTheReadModel(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	w := newWorld(t)
	brokers, prefix := kafkatest.Start(t), kafkatest.Prefix(t)
	logger := discard()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Every announcement is checked as soon as it is heard.
	var announced atomic.Int64
	var lastMu sync.Mutex
	var last eventstore.Cursor
	listening := make(chan struct{})
	var lwg sync.WaitGroup
	lwg.Add(1)
	go func() {
		defer lwg.Done()
		_ = w.events.ListenCommitted(ctx, func() { close(listening) }, func(c eventstore.Cursor) {
			if bad := unreflected(t, w, c); bad != "" {
				t.Errorf("announced %s, but the read model lacks %s", c, bad)
			}
			announced.Add(1)
			lastMu.Lock()
			last = c
			lastMu.Unlock()
		})
	}()
	<-listening

	rng := rand.New(rand.NewPCG(11, 12))
	var rngMu sync.Mutex
	var relayLives, projectorLives atomic.Int32
	stopRelay := restartable(t, rng, &rngMu, &relayLives, func(ctx context.Context) {
		_ = relay.Run(ctx, w.events, w.pool, relay.Config{Brokers: brokers, TopicPrefix: prefix, Logger: logger, LockRetry: 20 * time.Millisecond})
	})
	projector := func(ctx context.Context) {
		marks := projections.NewLiveMarks(w.events, projections.Names, logger)
		handlers := projections.New(w.events, w.rm)
		for i, h := range handlers {
			handlers[i] = marks.Wrap(h)
		}
		var pwg sync.WaitGroup
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			_ = marks.Run(ctx)
		}()
		_ = kafkaconsumer.Run(ctx, kafkaconsumer.Config{Brokers: brokers, TopicPrefix: prefix, Logger: logger, Opener: w.events}, handlers...)
		pwg.Wait()
	}
	stopProjector := restartable(t, rng, &rngMu, &projectorLives, projector)

	histRng := rand.New(rand.NewPCG(13, 14))
	for round := 0; round < 6; round++ {
		w.history(t, histRng, 8)
		time.Sleep(200 * time.Millisecond)
	}
	stopRelay()
	stopProjector()
	if p := projectorLives.Load(); p < 3 {
		t.Fatalf("only %d projector lives while writing", p)
	}
	// Uninterrupted now, two projector instances sharing the partitions:
	// the place must reach the last event.
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		_ = relay.Run(ctx, w.events, w.pool, relay.Config{Brokers: brokers, TopicPrefix: prefix, Logger: logger})
	}()
	for range 2 {
		go func() {
			defer wg.Done()
			projector(ctx)
		}()
	}
	evs := allEvents(t, w.events)
	head := evs[len(evs)-1].Cursor()
	deadline := time.Now().Add(60 * time.Second)
	for {
		lastMu.Lock()
		got := last
		lastMu.Unlock()
		if got == head {
			break
		}
		if time.Now().After(deadline) {
			rows, _ := w.pool.Query(ctx, `SELECT e.transaction_id::text, e.position, e.stream_type, e.event_type, COALESCE(h.handled, -1)
				FROM events e LEFT JOIN realtime_handled h USING (position) ORDER BY e.transaction_id, e.position LIMIT 12`)
			for rows.Next() {
				var tx, st, ty string
				var pos int64
				var bits int32
				_ = rows.Scan(&tx, &pos, &st, &ty, &bits)
				t.Logf("%s:%d %s %s handled %b", tx, pos, st, ty, bits)
			}
			rows.Close()
			t.Logf("dump: %v", rows.Err())
			t.Fatalf("the live place stopped at %s; the last event is %s", got, head)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var rows int
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM realtime_handled`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	cancel()
	wg.Wait()
	lwg.Wait()
	if rows != 0 {
		t.Errorf("%d marks left behind the live place", rows)
	}
	if n := announced.Load(); n < 5 {
		t.Errorf("only %d announcements", n)
	}
	t.Logf("%d events, %d announcements, %d projector lives", len(evs), announced.Load(), projectorLives.Load())
}

// unreflected names an event at or before c whose entity's document is
// older than it ("" when there is none).
func unreflected(t *testing.T, w *world, c eventstore.Cursor) string {
	t.Helper()
	var id string
	var version int64
	err := w.pool.QueryRow(context.Background(), `
		WITH docs AS (
			SELECT uuid AS id, version FROM rm_contacts UNION ALL
			SELECT id, version FROM rm_companies UNION ALL
			SELECT id, version FROM rm_groups UNION ALL
			SELECT id, version FROM rm_labels)
		SELECT e.stream_id::text, e.stream_version FROM events e LEFT JOIN docs d ON d.id = e.stream_id
		WHERE (e.transaction_id, e.position) <= ($1::text::xid8, $2)
		  AND e.stream_type IN ('contact', 'company', 'group', 'label')
		  AND (d.version IS NULL OR d.version < e.stream_version)
		LIMIT 1`, strconv.FormatUint(c.TxID, 10), c.Position).Scan(&id, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return "" // every document is there
	}
	if err != nil {
		t.Errorf("checking the read model: %v", err)
		return ""
	}
	return id + " version " + strconv.FormatInt(version, 10)
}
