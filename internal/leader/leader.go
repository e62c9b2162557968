// Package leader runs a piece of work on one process at a time across every
// instance sharing a PostgreSQL database: the holder of a session advisory
// lock works, the others wait to take over.
package leader

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Options tune the election; zero values are sensible.
type Options struct {
	Retry  time.Duration // how often a follower tries for the lock (default 1s)
	Check  time.Duration // how often the leader checks its lock connection (default 2s)
	Logger *slog.Logger
}

// Run calls work whenever this process holds the lock named name, until ctx
// ends. If the lock's connection dies, work's context is cancelled (another
// instance may already have taken over) and Run tries again. A work error
// is logged and the lock given up for a while, so another instance can try.
func Run(ctx context.Context, pool *pgxpool.Pool, name string, opt Options, work func(context.Context) error) error {
	if opt.Retry == 0 {
		opt.Retry = time.Second
	}
	if opt.Check == 0 {
		opt.Check = 2 * time.Second
	}
	logger := opt.Logger
	if logger == nil {
		logger = slog.Default()
	}
	for ctx.Err() == nil {
		held, err := hold(ctx, pool, name, opt.Check, work)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			logger.ErrorContext(ctx, "leader work stopped", "role", name, "err", err)
		case held:
			logger.InfoContext(ctx, "leadership lost", "role", name)
		}
		select {
		case <-ctx.Done():
		case <-time.After(opt.Retry):
		}
	}
	return nil
}

// hold tries the lock once; when it gets it, it runs work until work ends or
// the lock's connection fails. It reports whether it held the lock.
func hold(ctx context.Context, pool *pgxpool.Pool, name string, check time.Duration, work func(context.Context) error) (bool, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended('leader:' || $1, 0))`, name).Scan(&got); err != nil {
		return false, err
	}
	if !got {
		return false, nil
	}
	workCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- work(workCtx) }()
	tick := time.NewTicker(check)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			// A fresh context: ctx may be cancelled, but the lock must be given back.
			unlockCtx, cancelUnlock := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, uerr := conn.Exec(unlockCtx, `SELECT pg_advisory_unlock(hashtextextended('leader:' || $1, 0))`, name)
			cancelUnlock()
			if uerr != nil {
				conn.Conn().Close(unlockCtx) //nolint:errcheck // closing the session releases the lock too
			}
			return true, err
		case <-tick.C:
			if err := conn.Ping(ctx); err != nil && ctx.Err() == nil {
				cancel()
				<-done
				conn.Conn().Close(context.Background()) //nolint:errcheck // the session (and its lock) must end
				return true, fmt.Errorf("lock connection lost: %w", err)
			}
		}
	}
}
