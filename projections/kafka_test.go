package projections_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"contacts/eventstore/relay"
	"contacts/internal/enginetest"
	"contacts/internal/kafkatest"
	"contacts/projections"
	"contacts/projections/kafkaconsumer"
)

// restartable runs fn in a loop of lives: each life is cancelled after a
// random while (a crash: nothing is flushed or acknowledged on purpose) and
// the next one starts, until stop.
func restartable(t *testing.T, rng *rand.Rand, mu *sync.Mutex, lives *atomic.Int32, fn func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			mu.Lock()
			life := time.Duration(100+rng.IntN(600)) * time.Millisecond
			mu.Unlock()
			lifeCtx, kill := context.WithTimeout(ctx, life)
			lives.Add(1)
			fn(lifeCtx)
			kill()
		}
	}()
	return func() { cancel(); <-done }
}

// TestKafkaPathSurvivesKillsAndEqualsRebuild: the relay and the projector
// both run through Kafka (the real Apache Kafka broker, the production
// watermill-kafka code), both are killed and restarted again and again while
// contacts are written; the read model must end exactly equal to a rebuild
// from the event store.
func TestKafkaPathSurvivesKillsAndEqualsRebuild(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	w := newWorld(t)
	brokers, prefix := kafkatest.Start(t), kafkatest.Prefix(t)
	rng := rand.New(rand.NewPCG(7, 8))
	var rngMu sync.Mutex
	logger := discard()

	var relayLives, projectorLives atomic.Int32
	stopRelay := restartable(t, rng, &rngMu, &relayLives, func(ctx context.Context) {
		_ = relay.Run(ctx, w.events, w.pool, relay.Config{Brokers: brokers, TopicPrefix: prefix, Logger: logger, LockRetry: 20 * time.Millisecond})
	})
	stopProjector := restartable(t, rng, &rngMu, &projectorLives, func(ctx context.Context) {
		_ = kafkaconsumer.Run(ctx, kafkaconsumer.Config{Brokers: brokers, TopicPrefix: prefix, Logger: logger, Opener: w.events}, projections.New(w.events, w.rm)...)
	})

	// Several rounds of writes over a few seconds, so that both are killed
	// many times while events are still coming.
	histRng := rand.New(rand.NewPCG(9, 10))
	for round := 0; round < 8; round++ {
		w.history(t, histRng, 10)
		time.Sleep(300 * time.Millisecond)
	}
	want := w.expected(t)
	if r, p := relayLives.Load(), projectorLives.Load(); r < 3 || p < 3 {
		t.Fatalf("only %d relay and %d projector lives while writing: the kills did not happen mid-stream", r, p)
	}

	// Let the killing go on after the last write until the projector got
	// work done between kills (a life must outlast the consumer group's join
	// on a real broker, which a loaded machine slows down), so that the kills
	// hit it mid-stream; then run both without interruption until the read
	// model has caught up.
	projected := func() (n int) {
		for k, v := range w.actual(t, want) {
			if want[k] == v {
				n++
			}
		}
		return n
	}
	killing := time.Now()
	time.Sleep(time.Second)
	for projected() == 0 && time.Since(killing) < 60*time.Second {
		time.Sleep(500 * time.Millisecond)
	}
	stopRelay()
	stopProjector()
	done := projected()
	t.Logf("%d of %d documents projected during the kills; %d relay and %d projector lives", done, len(want), relayLives.Load(), projectorLives.Load())
	if done == 0 {
		t.Errorf("nothing projected while the relay and the projector were being killed: not mid-stream")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = relay.Run(ctx, w.events, w.pool, relay.Config{Brokers: brokers, TopicPrefix: prefix, Logger: logger})
	}()
	go func() {
		defer wg.Done()
		_ = kafkaconsumer.Run(ctx, kafkaconsumer.Config{Brokers: brokers, TopicPrefix: prefix, Logger: logger, Opener: w.events}, projections.New(w.events, w.rm)...)
	}()
	w.convergeThenRebuild(t, want, 60*time.Second, func() { cancel(); wg.Wait() })
}

// convergeThenRebuild waits up to wait for the read models to show want,
// stops the pipeline, checks them, and checks that a from-scratch rebuild
// gives exactly what the pipeline left.
func (w *world) convergeThenRebuild(t *testing.T, want map[string]string, wait time.Duration, stop func()) {
	t.Helper()
	deadline := time.Now().Add(wait)
	var live map[string]string
	for {
		live = w.actual(t, want)
		if equal(want, live) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	compare(t, want, live)
	for _, name := range projections.Names {
		if err := projections.Rebuild(t.Context(), w.events, w.rm, name, 500, func(projections.Progress) {}); err != nil {
			t.Fatal(err)
		}
	}
	compare(t, live, w.actual(t, want))
}

// TestKafkaBrokerRestartMidStream: the real broker is stopped while the
// relay and the projector are busy, stays down while contacts are written,
// and comes back on the same address. Neither is restarted by the test:
// both recover by themselves, every event reaches the projector in order
// per stream, and the read model ends exactly equal to a rebuild (nothing
// lost, nothing applied twice). The broker is the test's own
// (enginetest.PrivateKafka), so the shared one is not disturbed.
func TestKafkaBrokerRestartMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	w := newWorld(t)
	broker := enginetest.PrivateKafka(t)
	brokers, prefix := []string{broker.Addr}, kafkatest.Prefix(t)
	logger := discard()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := kafkatest.NewRecorder("broker-restart-recorder")
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = relay.Run(ctx, w.events, w.pool, relay.Config{Brokers: brokers, TopicPrefix: prefix, Logger: logger, BatchSize: 50})
	}()
	go func() {
		defer wg.Done()
		_ = kafkaconsumer.Run(ctx, kafkaconsumer.Config{Brokers: brokers, TopicPrefix: prefix, Logger: logger, Opener: w.events},
			append(projections.New(w.events, w.rm), projections.Handler(rec))...)
	}()

	rng := rand.New(rand.NewPCG(21, 22))
	for round := 0; round < 3; round++ {
		w.history(t, rng, 10)
		time.Sleep(200 * time.Millisecond)
	}
	if rec.Distinct() == 0 {
		// Not yet consuming: a stop now would not be "mid-stream".
		rec.WaitDistinct(t, 1, 30*time.Second)
	}
	before := rec.Distinct()
	w.history(t, rng, 10)
	broker.Stop(t) // with the last round still being published
	stoppedAt := time.Now()
	for round := 0; round < 2; round++ {
		w.history(t, rng, 10)
	}
	time.Sleep(2 * time.Second)
	broker.Start(t)
	t.Logf("broker down for %v; %d events had been consumed before", time.Since(stoppedAt).Round(time.Millisecond), before)
	restartedAt := time.Now()
	for round := 0; round < 2; round++ {
		w.history(t, rng, 10)
		time.Sleep(200 * time.Millisecond)
	}
	want := w.expected(t)
	all := allEvents(t, w.events)
	streams := map[string]int64{}
	for _, e := range all {
		streams[e.StreamID] = e.Version
	}

	rec.WaitDistinct(t, len(all), 90*time.Second)
	t.Logf("every event consumed %v after the broker came back", time.Since(restartedAt).Round(time.Millisecond))
	dups := kafkatest.CheckStreams(t, rec.Events(), streams)
	w.convergeThenRebuild(t, want, 30*time.Second, func() { cancel(); wg.Wait() })
	t.Logf("%d events, %d deliveries (%d redelivered after the restart, and not applied twice)", len(all), len(rec.Events()), dups)
}
