package projections

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"contacts/eventstore"
)

// EventSource is what the embedded runner reads: the event store's tail in
// global order, and its checkpoints.
type EventSource interface {
	ReadAll(ctx context.Context, after eventstore.Cursor, limit int) ([]eventstore.Event, error)
	LoadCheckpoint(ctx context.Context, name string) (eventstore.Cursor, error)
	SaveCheckpoints(ctx context.Context, cps map[string]eventstore.Cursor) error
}

var _ EventSource = (*eventstore.Store)(nil)

// Runner feeds handlers straight from the event store, with no broker: the
// embedded default. Each handler resumes from its own checkpoint. Checkpoints
// are saved at most every SaveEvery and when the runner stops; after a crash
// a handler redoes at most that much (handlers are idempotent).
type Runner struct {
	Source    EventSource
	Handlers  []Handler
	BatchSize int // default 1000
	// MaxBatchSize bounds the batches read while the runner is behind:
	// each full batch doubles the next read, up to this (default
	// 8×BatchSize), and a partial one goes back to BatchSize. Catching up
	// on a bulk import in batches of 8,000 makes a read-model statement
	// (and its trigger, lock and commit) per 8,000 events, not per 1,000;
	// caught up, batches stay small and latency low.
	MaxBatchSize int
	Poll         time.Duration // idle wait between reads, default 10ms
	SaveEvery    time.Duration // checkpoint interval, default 200ms
	Logger       *slog.Logger
	// Committed, when set, is called after every batch that all handlers
	// have written, with the place every read model now reflects: live
	// updates are pushed from there (read-your-writes). Its failure is the
	// callee's to log: the read models have their batch either way.
	Committed func(ctx context.Context, upTo eventstore.Cursor)
}

// after reports whether a is later than b in tail order.
func after(a, b eventstore.Cursor) bool {
	return a.TxID > b.TxID || a.TxID == b.TxID && a.Position > b.Position
}

// Run tails until ctx ends. A failing handler is retried with back-off
// (the batch is not skipped: read models never silently miss an event).
func (r *Runner) Run(ctx context.Context) error {
	batchSize, poll := r.BatchSize, r.Poll
	if batchSize == 0 {
		batchSize = 1000
	}
	if poll == 0 {
		poll = 10 * time.Millisecond
	}
	maxBatch := r.MaxBatchSize
	if maxBatch == 0 {
		maxBatch = 8 * batchSize
	}
	maxBatch = max(maxBatch, batchSize)
	size := batchSize
	cursors := make([]eventstore.Cursor, len(r.Handlers))
	for i, h := range r.Handlers {
		c, err := r.Source.LoadCheckpoint(ctx, h.Name())
		if err != nil {
			return err
		}
		cursors[i] = c
	}
	saveEvery := r.SaveEvery
	if saveEvery == 0 {
		saveEvery = 200 * time.Millisecond
	}
	saved := slices.Clone(cursors)
	lastSave := time.Now()
	save := func(ctx context.Context) error {
		changed := map[string]eventstore.Cursor{}
		for i, h := range r.Handlers {
			if cursors[i] != saved[i] {
				changed[h.Name()] = cursors[i]
			}
		}
		if err := r.Source.SaveCheckpoints(ctx, changed); err != nil {
			return err
		}
		copy(saved, cursors)
		lastSave = time.Now()
		return nil
	}
	// The last place is saved even though ctx is done.
	defer func() {
		if err := save(context.WithoutCancel(ctx)); err != nil {
			r.Logger.Error("saving projection checkpoints", "err", err)
		}
	}()
	backoff := poll
	for {
		n, err := r.step(ctx, cursors, size)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil && n > 0 && r.Committed != nil {
			r.Committed(ctx, slowest(cursors))
		}
		if err == nil && time.Since(lastSave) >= saveEvery {
			err = save(ctx)
		}
		wait := poll
		if err != nil {
			r.Logger.ErrorContext(ctx, "projection batch failed; retrying", "err", err, "retry_in", backoff)
			wait, backoff = backoff, min(backoff*2, 5*time.Second)
		} else {
			backoff = poll
			if n == size {
				size = min(2*size, maxBatch)
				continue // behind: read on without waiting, more at a time
			}
			size = batchSize
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// step reads one batch from the slowest handler's place and gives each
// handler the events past its own place. It returns how many events it read.
func (r *Runner) step(ctx context.Context, cursors []eventstore.Cursor, batchSize int) (int, error) {
	from := slowest(cursors)
	batch, err := r.Source.ReadAll(ctx, from, batchSize)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	last := batch[len(batch)-1].Cursor()
	for i, h := range r.Handlers {
		if !after(last, cursors[i]) {
			continue
		}
		todo := batch
		for len(todo) > 0 && !after(todo[0].Cursor(), cursors[i]) {
			todo = todo[1:]
		}
		if err := h.Handle(ctx, todo); err != nil {
			return len(batch), fmt.Errorf("%s: %w", h.Name(), err)
		}
		cursors[i] = last
	}
	return len(batch), nil
}

// slowest is the earliest of cursors in tail order.
func slowest(cursors []eventstore.Cursor) eventstore.Cursor {
	from := cursors[0]
	for _, c := range cursors[1:] {
		if after(from, c) {
			from = c
		}
	}
	return from
}
