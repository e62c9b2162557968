package kafkaconsumer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"contacts/eventstore"
	"contacts/eventstore/relay"
	"contacts/internal/kafkatest"
	"contacts/internal/migrations"
	"contacts/internal/pgtest"
	"contacts/projections"
	"contacts/projections/kafkaconsumer"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func testLogger() *slog.Logger {
	level := slog.LevelError + 1 // handler failures are expected here
	if os.Getenv("KAFKACONSUMER_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func newStore(t *testing.T) (*eventstore.Store, *pgxpool.Pool) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 20
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := migrations.Apply(context.Background(), pool); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return eventstore.New(pool), pool
}

// start runs fn until the returned stop cancels it; stop fails the test if
// fn returned an error or was slow to stop.
func start(t *testing.T, what string, fn func(ctx context.Context) error) (stop func() time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	var once sync.Once
	var took time.Duration
	stop = func() time.Duration {
		once.Do(func() {
			cancel()
			began := time.Now()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s returned %v", what, err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("%s did not stop", what)
			}
			took = time.Since(began)
		})
		return took
	}
	t.Cleanup(func() { stop() })
	return stop
}

func startRelay(t *testing.T, store *eventstore.Store, pool *pgxpool.Pool, brokers []string, prefix string) (stop func() time.Duration) {
	cfg := relay.Config{Brokers: brokers, TopicPrefix: prefix, Logger: testLogger()}
	return start(t, "relay.Run", func(ctx context.Context) error { return relay.Run(ctx, store, pool, cfg) })
}

func startConsumer(t *testing.T, brokers []string, prefix string, handlers ...projections.Handler) (stop func() time.Duration) {
	cfg := kafkaconsumer.Config{Brokers: brokers, TopicPrefix: prefix, Logger: testLogger()}
	return start(t, "kafkaconsumer.Run", func(ctx context.Context) error { return kafkaconsumer.Run(ctx, cfg, handlers...) })
}

var errFlaky = errors.New("flaky projection")

// Test 3: consumers are stopped and restarted at random points with the
// same groups; they resume, nothing is missing, per-stream order holds.
// One projection fails its first attempt at some events: they are retried
// before the partition moves on.
func TestConsumerKillAndResume(t *testing.T) {
	began := time.Now()
	store, pool := newStore(t)
	brokers, prefix := kafkatest.Start(t), kafkatest.Prefix(t)
	startRelay(t, store, pool, brokers, prefix)
	steady := kafkatest.NewRecorder(projections.Contacts)
	flaky := kafkatest.NewRecorder(projections.Companies)
	var failed atomic.Int32
	flaky.Fail = func(e eventstore.Event, attempt int) error {
		if e.Position%400 == 0 && attempt == 1 {
			failed.Add(1)
			return errFlaky
		}
		return nil
	}

	writers := kafkatest.StartWriters(t, store, 6, 20)
	var stopTimes []time.Duration
	for i := 0; i < 5; i++ {
		stop := startConsumer(t, brokers, prefix, steady, flaky)
		time.Sleep(time.Duration(200+rand.IntN(500)) * time.Millisecond)
		stopTimes = append(stopTimes, stop())
		t.Logf("run %d: %d/%d distinct delivered, %d appended", i, steady.Distinct(), flaky.Distinct(), writers.Total())
	}
	startConsumer(t, brokers, prefix, steady, flaky)
	time.Sleep(300 * time.Millisecond)
	streams, total := writers.Stop()
	t.Logf("writers stopped after %v", time.Since(began).Round(time.Millisecond))
	for _, rec := range []*kafkatest.Recorder{steady, flaky} {
		rec.WaitDistinct(t, total, 120*time.Second)
		t.Logf("%s caught up after %v", rec.Name(), time.Since(began).Round(time.Millisecond))
		delivered := rec.Events()
		dups := kafkatest.CheckStreams(t, delivered, streams)
		t.Logf("%s: %d events, %d deliveries, %d duplicates", rec.Name(), total, len(delivered), dups)
		// Resuming, not starting over: five restarts from the beginning
		// would deliver far more than this.
		if dups > total/2 {
			t.Errorf("%s: %d duplicates of %d events: restarts do not resume from the committed offsets", rec.Name(), dups, total)
		}
	}
	if failed.Load() == 0 {
		t.Error("the flaky projection never failed: retry not exercised")
	}
	for _, d := range stopTimes {
		if d > 5*time.Second {
			t.Errorf("a stop took %v", d)
		}
	}
	t.Logf("%d handler failures retried; stops took %v; %v in all", failed.Load(), stopTimes, time.Since(began).Round(time.Millisecond))
}

// A record that is not an event goes to the poison topic; the events
// around it are handled.
func TestConsumerPoisonMessage(t *testing.T) {
	store, pool := newStore(t)
	brokers, prefix := kafkatest.Start(t), kafkatest.Prefix(t)
	account, stream := eventstore.NewID(), eventstore.NewID()
	appendOne := func(v int64) {
		if _, err := store.Append(context.Background(), eventstore.AppendRequest{Streams: []eventstore.StreamAppend{{
			AccountID: account, StreamType: "contact", StreamID: stream, ExpectedVersion: v,
			Events: []eventstore.NewEvent{{Type: "contact.updated", Data: []byte(`{}`)}},
		}}}); err != nil {
			t.Fatal(err)
		}
	}
	appendOne(0)
	startRelay(t, store, pool, brokers, prefix)
	kafkatest.Records(t, brokers, relay.Topic(prefix), 1, 30*time.Second)

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: relay.Topic(prefix), Key: []byte(stream), Value: []byte("garbage")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	appendOne(1)

	rec := kafkatest.NewRecorder(projections.Labels)
	startConsumer(t, brokers, prefix, rec)
	rec.WaitDistinct(t, 2, 60*time.Second)
	kafkatest.CheckStreams(t, rec.Events(), map[string]int64{stream: 2})
	poisoned := kafkatest.Records(t, brokers, kafkaconsumer.PoisonTopic(prefix), 1, 30*time.Second)
	if string(poisoned[0].Value) != "garbage" {
		t.Errorf("poison topic holds %q", poisoned[0].Value)
	}
}

// Two instances of one projection (two processes' consumers in one group)
// share the topic's partitions: each event is handled by one of them, both
// get a share, and each stream stays with one instance, in order.
func TestConsumerGroupSharesPartitions(t *testing.T) {
	store, pool := newStore(t)
	brokers, prefix := kafkatest.Start(t), kafkatest.Prefix(t)
	startRelay(t, store, pool, brokers, prefix)
	a, b := kafkatest.NewRecorder(projections.Contacts), kafkatest.NewRecorder(projections.Contacts)
	startConsumer(t, brokers, prefix, a)
	startConsumer(t, brokers, prefix, b)
	// Both members joined (one rebalance) before the events flow.
	time.Sleep(2 * time.Second)
	writers := kafkatest.StartWriters(t, store, 4, 10)
	time.Sleep(1500 * time.Millisecond)
	streams, total := writers.Stop()

	deadline := time.Now().Add(60 * time.Second)
	for a.Distinct()+b.Distinct() < total && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if a.Distinct() == 0 || b.Distinct() == 0 {
		t.Fatalf("one group member handled everything: %d and %d of %d events", a.Distinct(), b.Distinct(), total)
	}
	// Together they saw every event, in order per stream; a stream's events
	// went to one member (no rebalance happened while they flowed).
	all := append(a.Events(), b.Events()...)
	kafkatest.CheckStreams(t, all, streams)
	owner := map[string]*kafkatest.Recorder{}
	for _, rec := range []*kafkatest.Recorder{a, b} {
		for _, e := range rec.Events() {
			if o, ok := owner[e.StreamID]; ok && o != rec {
				t.Errorf("stream %s handled by both members", e.StreamID)
			}
			owner[e.StreamID] = rec
		}
	}
	t.Logf("%d events: %d to one member, %d to the other", total, a.Distinct(), b.Distinct())
}

func TestRunRefusesBadConfig(t *testing.T) {
	rec := kafkatest.NewRecorder("a")
	for name, run := range map[string]func() error{
		"no brokers": func() error { return kafkaconsumer.Run(context.Background(), kafkaconsumer.Config{}, rec) },
		"no handlers": func() error {
			return kafkaconsumer.Run(context.Background(), kafkaconsumer.Config{Brokers: []string{"x:1"}})
		},
		"duplicate name": func() error {
			return kafkaconsumer.Run(context.Background(), kafkaconsumer.Config{Brokers: []string{"x:1"}}, rec, rec)
		},
	} {
		if err := run(); err == nil {
			t.Errorf("%s: Run returned nil", name)
		}
	}
}

// Without a reachable broker Run keeps trying, still stops promptly, and
// consumes once the broker is up. kfake: a broker started late on a port
// chosen in advance.
func TestConsumerBrokerLate(t *testing.T) {
	stop := startConsumer(t, []string{"127.0.0.1:1"}, "", kafkatest.NewRecorder(projections.Groups))
	time.Sleep(1500 * time.Millisecond)
	if took := stop(); took > 5*time.Second {
		t.Errorf("stop took %v", took)
	}

	store, pool := newStore(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	brokers, prefix := []string{fmt.Sprintf("127.0.0.1:%d", port)}, kafkatest.Prefix(t)
	rec := kafkatest.NewRecorder(projections.Groups)
	stopConsumer := startConsumer(t, brokers, prefix, rec)
	stopRelay := startRelay(t, store, pool, brokers, prefix)
	stream := eventstore.NewID()
	if _, err := store.Append(context.Background(), eventstore.AppendRequest{Streams: []eventstore.StreamAppend{{
		AccountID: eventstore.NewID(), StreamType: "group", StreamID: stream,
		Events: []eventstore.NewEvent{{Type: "group.created", Data: []byte(`{}`)}, {Type: "group.renamed", Data: []byte(`{}`)}},
	}}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	c, err := kfake.NewCluster(kfake.Ports(port), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(kafkatest.Partitions))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	rec.WaitDistinct(t, 2, 60*time.Second)
	kafkatest.CheckStreams(t, rec.Events(), map[string]int64{stream: 2})
	stopConsumer() // while the broker is still up (cleanups would close it first)
	stopRelay()
}
