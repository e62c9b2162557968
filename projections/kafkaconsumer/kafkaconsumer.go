// Package kafkaconsumer feeds projections from the relay's Kafka topic:
// one watermill Router, one router handler per projection, each with its
// own consumer group named after the projection (projections.Handler.Name;
// see Group for a non-default topic prefix).
//
// Delivery is at least once and in order per stream:
//   - a partition's messages are handled one at a time (the next one is
//     delivered only after the previous one was acknowledged), and all
//     events of a stream are on one partition; different partitions are
//     handled concurrently, so Handle must be safe for concurrent use;
//   - a message is acknowledged (and its offset marked, then committed by
//     Sarama's auto-commit every second and at shutdown) only after Handle
//     returned nil;
//   - an error is retried in place with exponential back-off (watermill's
//     Retry middleware), then the message is nacked and redelivered, again
//     and again: a failing projection stops on that event rather than skip it;
//   - a message that is not an event envelope (relay.ErrMalformed) cannot
//     succeed on redelivery: it is published to the poison topic
//     (PoisonTopic) and acknowledged.
//
// A new group starts at the oldest offset, so a new projection sees the whole
// retained topic. Handlers must be idempotent (they are: they compare stream
// versions), since after a crash or a rebalance events are seen again.
package kafkaconsumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"contacts/eventstore"
	"contacts/eventstore/relay"
	"contacts/projections"
)

// Config configures Run. Zero values take the defaults.
type Config struct {
	Brokers     []string     // KAFKA_BROKERS
	TopicPrefix string       // KAFKA_TOPIC_PREFIX, default "contacts."
	Logger      *slog.Logger // default slog.Default()
	// Opener restores the personal fields of contact events, which the
	// topic carries sealed (eventstore/keys.go); nil hands them on sealed.
	Opener Opener
}

// Opener opens sealed events in place (*eventstore.Store).
type Opener interface {
	Open(ctx context.Context, events []eventstore.Event) error
}

const (
	closeTimeout    = 10 * time.Second // bound on router.Close waiting for handlers
	nackResendSleep = time.Second      // pause before a nacked message is redelivered
	maxBackoff      = 30 * time.Second
)

// retry is the in-place retry of a failing Handle before the message is
// nacked; its Logger is set per run.
var retry = middleware.Retry{
	MaxRetries:          5,
	InitialInterval:     100 * time.Millisecond,
	MaxInterval:         5 * time.Second,
	Multiplier:          2,
	RandomizationFactor: 0.2,
	ShouldRetry:         func(p middleware.RetryParams) bool { return !errors.Is(p.Err, relay.ErrMalformed) },
}

// PoisonTopic is where messages that are not event envelopes go, with
// watermill's reason_poisoned, topic_poisoned and handler_poisoned headers.
func PoisonTopic(prefix string) string { return relay.Topic(prefix) + ".poison" }

// Group is the consumer group of projection name for a topic prefix: the
// bare name with the default prefix (the groups' names since the first
// release, so their committed offsets stay valid), else prefix + name, so
// that two deployments sharing a cluster with different prefixes (staging.,
// prod.) do not share consumer groups: one group's members would take
// partitions of the other's topic in each rebalance, and stall each other.
func Group(topicPrefix, name string) string {
	if topicPrefix == "" || topicPrefix == relay.DefaultTopicPrefix {
		return name
	}
	return topicPrefix + name
}

// Run consumes the events topic with every handler until ctx is done, then
// closes the router (consumer groups are left, acknowledged offsets
// committed; what was in flight is redelivered next time) and returns nil.
// Broker failures are logged and retried. It returns an error only for a
// configuration it cannot run with.
func Run(ctx context.Context, cfg Config, handlers ...projections.Handler) error {
	if len(cfg.Brokers) == 0 {
		return errors.New("kafkaconsumer: no Kafka brokers configured")
	}
	if len(handlers) == 0 {
		return errors.New("kafkaconsumer: no handlers")
	}
	seen := make(map[string]bool, len(handlers))
	for _, h := range handlers {
		if h.Name() == "" || seen[h.Name()] {
			return fmt.Errorf("kafkaconsumer: handler names must be unique and not empty (%q)", h.Name())
		}
		seen[h.Name()] = true
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("component", "kafkaconsumer", "topic", relay.Topic(cfg.TopicPrefix))
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		started := time.Now()
		err := runRouter(ctx, cfg, log, handlers)
		if ctx.Err() != nil {
			break
		}
		if time.Since(started) > time.Minute {
			backoff = 0
		}
		backoff = min(max(2*backoff, time.Second), maxBackoff)
		log.Warn("kafkaconsumer: router stopped, restarting", "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	return nil
}

// runRouter runs one router until ctx is done (nil) or it fails.
func runRouter(ctx context.Context, cfg Config, log *slog.Logger, handlers []projections.Handler) error {
	wlog := watermill.NewSlogLoggerWithLevelMapping(log, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: closeTimeout}, wlog)
	if err != nil {
		return err
	}
	poison := &lazyPublisher{brokers: cfg.Brokers, log: wlog}
	defer poison.Close()
	poisonMW, err := middleware.PoisonQueueWithFilter(poison, PoisonTopic(cfg.TopicPrefix),
		func(err error) bool { return errors.Is(err, relay.ErrMalformed) })
	if err != nil {
		return err
	}
	r := retry
	r.Logger = wlog

	topic := relay.Topic(cfg.TopicPrefix)
	var subs []*resilientSubscriber
	defer func() {
		for _, s := range subs {
			_ = s.Close() // idempotent; the router closes them too when it is closed
		}
	}()
	for _, h := range handlers {
		group := Group(cfg.TopicPrefix, h.Name())
		inner, err := newSubscriber(cfg.Brokers, group, wlog)
		if err != nil {
			return err
		}
		sub := &resilientSubscriber{inner: inner, group: group, log: log, closing: make(chan struct{})}
		subs = append(subs, sub)
		rh := router.AddConsumerHandler(h.Name(), topic, sub, handle(h, cfg.Opener, log))
		// Outermost first: the poison queue sees what Retry gave up on.
		rh.AddMiddleware(poisonMW, r.Middleware)
	}

	// The router runs on a context of its own and is stopped by Close, the
	// orderly way: subscribers leave their groups and commit what was
	// acknowledged; a message in flight has its context cancelled, is not
	// acknowledged, and is delivered again next time.
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			if err := router.Close(); err != nil {
				log.Warn("kafkaconsumer: closing router", "err", err)
			}
		case <-stopped:
		}
	}()
	err = router.Run(rctx)
	close(stopped)
	_ = router.Close() // after a failed start: stop what did start (no-op when closed)
	if err == nil && ctx.Err() == nil {
		err = errors.New("router stopped by itself")
	}
	return err
}

func newSubscriber(brokers []string, group string, wlog watermill.LoggerAdapter) (*kafka.Subscriber, error) {
	// Sarama's protocol version stays at watermill's default (1.0): with a
	// newer one the consumer group received nothing from kfake. Apache Kafka
	// 4.4 (the broker of make test) accepts its requests.
	sc := kafka.DefaultSaramaSubscriberConfig()
	sc.ClientID = "contacts-" + group
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest // a new group reads the whole topic
	sc.Net.DialTimeout = 5 * time.Second
	sub, err := kafka.NewSubscriber(kafka.SubscriberConfig{
		Brokers:               brokers,
		Unmarshaler:           kafka.DefaultMarshaler{},
		OverwriteSaramaConfig: sc,
		ConsumerGroup:         group,
		NackResendSleep:       nackResendSleep,
		ReconnectRetrySleep:   time.Second,
	}, wlog)
	if err != nil {
		return nil, fmt.Errorf("kafkaconsumer: subscriber %s: %w", group, err)
	}
	return sub, nil
}

func handle(h projections.Handler, opener Opener, log *slog.Logger) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		e, err := relay.Decode(msg)
		if err != nil {
			log.Error("kafkaconsumer: not an event, to the poison topic", "projection", h.Name(), "message", msg.UUID, "err", err)
			return err
		}
		if opener != nil {
			evs := []eventstore.Event{e}
			if err := opener.Open(msg.Context(), evs); err != nil {
				return fmt.Errorf("projection %s: event %s: %w", h.Name(), e.ID, err)
			}
			e = evs[0]
		}
		if err := h.Handle(msg.Context(), []eventstore.Event{e}); err != nil {
			return fmt.Errorf("projection %s: event %s (stream %s version %d): %w", h.Name(), e.ID, e.StreamID, e.Version, err)
		}
		return nil
	}
}

// lazyPublisher connects its producer on first use: the poison topic is
// rarely written, and a producer's start blocks while brokers are away.
type lazyPublisher struct {
	brokers []string
	log     watermill.LoggerAdapter

	mu  sync.Mutex
	pub *kafka.Publisher
}

func (p *lazyPublisher) Publish(topic string, msgs ...*message.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pub == nil {
		pub, err := kafka.NewPublisher(kafka.PublisherConfig{Brokers: p.brokers, Marshaler: kafka.DefaultMarshaler{}}, p.log)
		if err != nil {
			return fmt.Errorf("kafkaconsumer: poison-topic producer: %w", err)
		}
		p.pub = pub
	}
	return p.pub.Publish(topic, msgs...)
}

func (p *lazyPublisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pub == nil {
		return nil
	}
	err := p.pub.Close()
	p.pub = nil
	return err
}

// resilientSubscriber keeps trying to subscribe while the brokers are
// unreachable, instead of failing: a failed Subscribe aborts the router's
// start, and closing a router whose handlers never started waits for its
// whole CloseTimeout. Once subscribed, watermill-kafka reconnects by itself.
// Messages are passed through as they are (acks reach the inner subscriber).
type resilientSubscriber struct {
	inner *kafka.Subscriber
	group string
	log   *slog.Logger

	mu        sync.Mutex // serialises inner.Subscribe and inner.Close
	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

func (s *resilientSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	out := make(chan *message.Message)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		var in <-chan *message.Message
		for wait := time.Duration(0); in == nil; {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
			case <-s.closing:
			case <-t.C:
			}
			t.Stop()
			ch, err := s.subscribe(ctx, topic)
			if errors.Is(err, errOver) {
				return
			}
			if err != nil {
				wait = min(max(2*wait, time.Second), 10*time.Second)
				s.log.Warn("kafkaconsumer: cannot subscribe, retrying", "group", s.group, "err", err, "retry_in", wait)
				continue
			}
			in = ch
		}
		for msg := range in {
			select {
			case out <- msg:
			case <-ctx.Done(): // the inner subscriber drops it unacked
			case <-s.closing:
			}
		}
	}()
	return out, nil
}

var errOver = errors.New("subscription over")

// subscribe tries the inner subscriber once, unless the subscription is
// over (errOver). It holds mu: watermill-kafka's Subscribe and Close must
// not run at the same time (its WaitGroup would be added to while waited on).
func (s *resilientSubscriber) subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closing:
		return nil, errOver
	default:
	}
	if ctx.Err() != nil {
		return nil, errOver
	}
	return s.inner.Subscribe(ctx, topic)
}

func (s *resilientSubscriber) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	s.mu.Lock()
	err := s.inner.Close() // ends the inner channels, and so the forwarders
	s.mu.Unlock()
	s.wg.Wait()
	return err
}
