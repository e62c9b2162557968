package main

import (
	"context"
	"log/slog"

	"contacts/internal/config"
	"contacts/internal/database"
	"contacts/projections"
	"contacts/projections/pgstore"
)

// openReadModel picks the read-model store: PostgreSQL unless
// ELASTICSEARCH_URL is set.
func openReadModel(ctx context.Context, cfg config.Config, db *database.DB, logger *slog.Logger) (projections.ReadModel, error) {
	if cfg.ElasticsearchURL != "" {
		return openElasticsearch(ctx, cfg, logger)
	}
	return pgstore.New(db.Pool), nil
}
