package main

import (
	"context"
	"log/slog"

	"contacts/eventstore"
	"contacts/eventstore/relay"
	"contacts/internal/config"
	"contacts/internal/database"
	"contacts/projections"
	"contacts/projections/esstore"
	"contacts/projections/kafkaconsumer"
)

// runRelay publishes the event store to Kafka (one leader at a time).
func runRelay(ctx context.Context, cfg config.Config, logger *slog.Logger, db *database.DB, store *eventstore.Store) error {
	return relay.Run(ctx, store, db.Pool, relay.Config{
		Brokers: cfg.KafkaBrokers, TopicPrefix: cfg.KafkaTopicPrefix, Logger: logger,
	})
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
