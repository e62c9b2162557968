// Package relay publishes every event of the event store to Kafka, at least
// once and in per-stream order, and records its progress in PostgreSQL.
//
// One relay publishes at a time, across all processes: the leader holds a
// session advisory lock (LockKey) on a dedicated connection taken from the
// pool; the others stand by and try again every second. The leader loops:
//
//  1. cursor = checkpoint "relay:kafka" (loaded once per leadership term);
//  2. events = Store.ReadAll(cursor, BatchSize), which tails in commit-safe
//     order and never skips an event committed late;
//  3. publish them all with watermill-kafka's Publisher (Sarama sync
//     producer, acks from all in-sync replicas, idempotent), key = stream id;
//  4. only once the broker acknowledged the whole batch, save the checkpoint
//     of the last event — through the lock connection, so a leader whose
//     session (and so whose lock) is gone cannot record progress.
//
// A crash between 3 and 4 republishes the batch: duplicates are possible,
// gaps are not. Within a batch the events of one stream are sent one after
// the other, each after the previous one was acknowledged, so a stream's
// events reach its partition in version order even when Sarama retries;
// different streams are sent concurrently (lanes).
//
// If the lock connection dies (checked every second and at every checkpoint),
// the leader stops publishing, closes its producer and competes for the lock
// again. In the short window before it notices, a new leader may already
// publish: that only adds duplicates.
//
// The message format is described in message.go and README.md.
package relay

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/eventstore"
)

const (
	// CheckpointName is the relay's checkpoint in the checkpoints table.
	CheckpointName = "relay:kafka"

	// LockKey is the PostgreSQL advisory lock (one bigint key) the leader
	// holds for the life of its session.
	LockKey int64 = 727_002

	// DefaultTopicPrefix is the topic prefix when Config.TopicPrefix is empty.
	DefaultTopicPrefix = "contacts."

	lanes             = 8           // concurrent publishers per batch, by hash of stream id
	lockCheckInterval = time.Second // how often an idle leader checks its lock connection
	maxBackoff        = 30 * time.Second
)

// Config configures Run. Zero values take the defaults.
type Config struct {
	Brokers      []string      // KAFKA_BROKERS (comma separated host:port)
	TopicPrefix  string        // KAFKA_TOPIC_PREFIX, default "contacts."; topic = prefix + "events"
	BatchSize    int           // events read and published per checkpoint, default 500
	PollInterval time.Duration // wait when there is nothing to publish, default 20ms
	LockRetry    time.Duration // how often a standby relay tries the lock, default 1s
	Logger       *slog.Logger  // default slog.Default()
	Metrics      *Metrics      // nil: not measured
}

func (c Config) withDefaults() Config {
	if c.TopicPrefix == "" {
		c.TopicPrefix = DefaultTopicPrefix
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 20 * time.Millisecond
	}
	if c.LockRetry <= 0 {
		c.LockRetry = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Topic is the events topic for a prefix ("" means DefaultTopicPrefix).
func Topic(prefix string) string {
	if prefix == "" {
		prefix = DefaultTopicPrefix
	}
	return prefix + "events"
}

// Lag reports the relay's progress: the checkpoint (the zero Cursor before
// the first batch) and the newest position in the store. Position is the
// global order of appends; the relay publishes in commit order, so the
// difference head - checkpoint.Position is an estimate of what is left.
func Lag(ctx context.Context, store *eventstore.Store) (checkpoint eventstore.Cursor, head int64, err error) {
	checkpoint, err = store.LoadCheckpoint(ctx, CheckpointName)
	if err != nil {
		return eventstore.Cursor{}, 0, err
	}
	head, err = store.Head(ctx)
	if err != nil {
		return eventstore.Cursor{}, 0, fmt.Errorf("relay: head: %w", err)
	}
	return checkpoint, head, nil
}

// Run relays events to Kafka until ctx is done, then returns nil. It
// returns an error only for a configuration it cannot run with; broker and
// database failures are logged and retried with back-off. pool must allow
// one connection for the lock beyond what the store needs.
func Run(ctx context.Context, store *eventstore.Store, pool *pgxpool.Pool, cfg Config) error {
	cfg = cfg.withDefaults()
	if len(cfg.Brokers) == 0 {
		return errors.New("relay: no Kafka brokers configured")
	}
	if store == nil || pool == nil {
		return errors.New("relay: store and pool are required")
	}
	// Sealed: the topic carries personal fields as stored, sealed with each
	// contact's key, so erasing the contact makes its messages unreadable too.
	r := &relay{store: store.Sealed(), pool: pool, cfg: cfg, log: cfg.Logger.With("component", "relay", "topic", Topic(cfg.TopicPrefix))}
	backoff := time.Duration(0)
	standby := false
	for ctx.Err() == nil {
		conn, err := r.tryLock(ctx)
		switch {
		case ctx.Err() != nil:
			if conn != nil {
				resign(conn)
			}
			return nil
		case err != nil:
			r.log.Warn("relay: cannot try the leader lock", "err", err)
			sleep(ctx, cfg.LockRetry)
			continue
		case conn == nil: // another relay leads
			if !standby {
				r.log.Info("relay: standing by, another instance leads")
				standby = true
			}
			sleep(ctx, cfg.LockRetry)
			continue
		}
		standby = false
		r.log.Info("relay: leading")
		progressed, err := r.lead(ctx, conn)
		resign(conn)
		if ctx.Err() != nil {
			break
		}
		if progressed {
			backoff = 0
		}
		backoff = min(max(2*backoff, cfg.LockRetry), maxBackoff)
		r.log.Warn("relay: stepped down", "err", err, "retry_in", backoff)
		sleep(ctx, backoff)
	}
	r.log.Info("relay: stopped")
	return nil
}

type relay struct {
	store *eventstore.Store
	pool  *pgxpool.Pool
	cfg   Config
	log   *slog.Logger
}

// tryLock returns a connection holding the leader lock, or nil when another
// session holds it.
func (r *relay) tryLock(ctx context.Context) (*pgxpool.Conn, error) {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, LockKey).Scan(&ok); err != nil {
		resign(conn) // we cannot know whether the lock was taken: end the session
		return nil, err
	}
	if !ok {
		conn.Release()
		return nil, nil
	}
	return conn, nil
}

// resign ends a leadership term: the lock's session is closed rather than
// returned to the pool, so no pooled connection ever keeps the lock.
func resign(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = conn.Hijack().Close(ctx)
}

// lead publishes until ctx is done (nil) or something fails. progressed
// reports whether at least one batch was checkpointed.
func (r *relay) lead(ctx context.Context, lock *pgxpool.Conn) (progressed bool, err error) {
	pub, err := r.newPublisher(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.cfg.Metrics.brokerError()
		}
		return false, err
	}
	defer func() {
		if cerr := pub.Close(); cerr != nil {
			r.log.Warn("relay: closing producer", "err", cerr)
		}
	}()
	cur, err := r.store.LoadCheckpoint(ctx, CheckpointName)
	if err != nil {
		return false, err
	}
	topic := Topic(r.cfg.TopicPrefix)
	checked := time.Now()
	for {
		if ctx.Err() != nil {
			return progressed, nil
		}
		if time.Since(checked) >= lockCheckInterval {
			if err := lock.Ping(ctx); err != nil {
				return progressed, fmt.Errorf("relay: lock connection lost: %w", err)
			}
			checked = time.Now()
		}
		events, err := r.store.ReadAll(ctx, cur, r.cfg.BatchSize)
		if err != nil {
			return progressed, err
		}
		if len(events) == 0 {
			sleep(ctx, r.cfg.PollInterval)
			continue
		}
		if err := publish(ctx, pub, topic, events); err != nil {
			if ctx.Err() == nil {
				r.cfg.Metrics.brokerError()
			}
			return progressed, err
		}
		next := events[len(events)-1].Cursor()
		if err := eventstore.SaveCheckpoint(ctx, lock, CheckpointName, next); err != nil {
			return progressed, fmt.Errorf("relay: checkpoint (lock connection): %w", err)
		}
		checked = time.Now() // the checkpoint went through the lock session
		cur = next
		progressed = true
		r.cfg.Metrics.publishedEvents(len(events))
		r.log.Debug("relay: published", "events", len(events), "checkpoint", next.String())
	}
}

// newPublisher connects a producer. Sarama's constructor does not watch a
// context (it retries metadata for seconds when the brokers are away), so on
// ctx's end it is left to finish, and closed, in the background.
func (r *relay) newPublisher(ctx context.Context) (*kafka.Publisher, error) {
	type result struct {
		pub *kafka.Publisher
		err error
	}
	ch := make(chan result, 1)
	go func() {
		pub, err := r.connect()
		ch <- result{pub, err}
	}()
	select {
	case res := <-ch:
		return res.pub, res.err
	case <-ctx.Done():
		go func() {
			if res := <-ch; res.pub != nil {
				_ = res.pub.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

func (r *relay) connect() (*kafka.Publisher, error) {
	// Sarama's protocol version stays at watermill's default (1.0): kfake's
	// consumer groups stay silent with newer ones, and 1.0 is enough for
	// idempotent production and record headers. Apache Kafka 4.4 (the
	// broker of make test) accepts its requests.
	sc := kafka.DefaultSaramaSyncPublisherConfig()
	sc.ClientID = "contacts-relay"
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Idempotent = true // no duplicates from Sarama's own retries
	sc.Net.MaxOpenRequests = 1    // required by Idempotent
	sc.Net.DialTimeout = 5 * time.Second
	sc.Metadata.Retry.Backoff = 500 * time.Millisecond
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{
		Brokers:               r.cfg.Brokers,
		Marshaler:             kafka.NewWithPartitioningMarshaler(partitionKey),
		OverwriteSaramaConfig: sc,
	}, watermill.NewSlogLoggerWithLevelMapping(r.log, quietInfo))
	if err != nil {
		return nil, fmt.Errorf("relay: kafka producer: %w", err)
	}
	return pub, nil
}

// quietInfo logs watermill's chatty info messages at debug level.
var quietInfo = map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug}

// publish sends events and returns once the broker acknowledged all of
// them. Events of one stream share a lane and are sent in order, each
// after the previous one's acknowledgement.
func publish(ctx context.Context, pub message.Publisher, topic string, events []eventstore.Event) error {
	var byLane [lanes][]*message.Message
	for _, e := range events {
		msg, err := Encode(e)
		if err != nil {
			return err
		}
		h := fnv.New32a()
		h.Write([]byte(e.StreamID))
		l := h.Sum32() % lanes
		byLane[l] = append(byLane[l], msg)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, msgs := range byLane {
		if len(msgs) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, msg := range msgs {
				err := ctx.Err()
				if err == nil {
					err = pub.Publish(topic, msg)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					cancel() // the batch is lost anyway: stop the other lanes
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("relay: publish: %w", errs[0])
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
