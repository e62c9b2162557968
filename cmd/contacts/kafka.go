package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"contacts/eventstore"
	"contacts/eventstore/relay"
	"contacts/internal/config"
	"contacts/internal/database"
	"contacts/projections"
	"contacts/projections/esstore"
	"contacts/projections/kafkaconsumer"
)

// runRelay publishes the event store to Kafka (one leader at a time).
func runRelay(ctx context.Context, cfg config.Config, logger *slog.Logger, db *database.DB, store *eventstore.Store, m *relay.Metrics) error {
	return relay.Run(ctx, store, db.Pool, relay.Config{
		Brokers: cfg.KafkaBrokers, TopicPrefix: cfg.KafkaTopicPrefix, Logger: logger, Metrics: m,
	})
}

// listenErased keeps this instance's data-key cache in step with erasures
// made by any instance (eventstore.ListenErased), listening again after a
// connection failure; until then the cache's 5 s bound holds.
func listenErased(ctx context.Context, store *eventstore.Store, logger *slog.Logger) error {
	for ctx.Err() == nil {
		if err := store.ListenErased(ctx); err != nil {
			logger.Warn("listening for erasures", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

// runKafkaProjector consumes the events topic, one consumer group per
// projection, so projector instances share the partitions.
func runKafkaProjector(ctx context.Context, cfg config.Config, logger *slog.Logger, store *eventstore.Store, handlers []projections.Handler) error {
	return kafkaconsumer.Run(ctx, kafkaconsumer.Config{
		Brokers: cfg.KafkaBrokers, TopicPrefix: cfg.KafkaTopicPrefix, Logger: logger, Opener: store,
	}, handlers...)
}

func openElasticsearch(ctx context.Context, cfg config.Config, logger *slog.Logger) (projections.ReadModel, error) {
	replicas := cfg.ESReplicas
	return esstore.New(ctx, esstore.Config{URL: cfg.ElasticsearchURL, IndexPrefix: cfg.ESIndexPrefix, Replicas: &replicas, Logger: logger})
}

// waitKafka returns once a broker answers, so that a relay or projector
// process reports ready (/readyz) only when it can do its work.
func waitKafka(ctx context.Context, brokers []string, logger *slog.Logger) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	defer cl.Close()
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := cl.Ping(pctx)
		cancel()
		if err == nil {
			return nil
		}
		logger.WarnContext(ctx, "kafka does not answer yet, retrying", "brokers", brokers, "err", err, "wait", delay)
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafka: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
	}
}
