// Package database opens the PostgreSQL pool the service runs on: the
// server in DATABASE_URL, or a private cluster in the data directory.
package database

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/internal/migrations"
	"contacts/internal/pgcluster"
)

// Options say where the database is.
type Options struct {
	URL      string // empty: private cluster under DataDir
	DataDir  string
	MaxConns int32
	Logger   *slog.Logger
}

// DB is an open, migrated database.
type DB struct {
	Pool    *pgxpool.Pool
	cluster *pgcluster.Cluster
}

// Open connects (starting the private cluster first when there is no URL)
// and applies the embedded migrations.
func Open(ctx context.Context, opt Options) (*DB, error) {
	db := &DB{}
	url := opt.URL
	if url == "" {
		dir, err := filepath.Abs(opt.DataDir)
		if err != nil {
			return nil, err
		}
		opt.Logger.InfoContext(ctx, "no DATABASE_URL: starting a private PostgreSQL cluster", "dir", dir)
		c, err := pgcluster.Start(ctx, pgcluster.Options{DataDir: dir, Logger: opt.Logger, Fsync: true})
		if err != nil {
			return nil, err
		}
		db.cluster = c
		if err := c.EnsureDatabase(ctx, "contacts"); err != nil {
			db.Close(ctx)
			return nil, err
		}
		url = c.DSN("contacts")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		db.Close(ctx)
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	}
	db.Pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		err = db.Pool.Ping(ctx)
	}
	if err != nil {
		db.Close(ctx)
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	applied, err := migrations.Apply(ctx, db.Pool)
	if err != nil {
		db.Close(ctx)
		return nil, err
	}
	if len(applied) > 0 {
		opt.Logger.InfoContext(ctx, "migrations applied", "names", applied)
	}
	return db, nil
}

// Close closes the pool and stops the private cluster, if one was started.
func (db *DB) Close(ctx context.Context) error {
	if db.Pool != nil {
		db.Pool.Close()
	}
	if db.cluster != nil {
		return db.cluster.Stop(ctx)
	}
	return nil
}
