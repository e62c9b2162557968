package projections

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"contacts/eventstore"
)

// EventSource is what the embedded runner reads: the event store's tail in
// global order, and its checkpoints.
type EventSource interface {
	ReadAll(ctx context.Context, after eventstore.Cursor, limit int) ([]eventstore.Event, error)
	LoadCheckpoint(ctx context.Context, name string) (eventstore.Cursor, error)
	SaveCheckpoint(ctx context.Context, name string, cur eventstore.Cursor) error
}

var _ EventSource = (*eventstore.Store)(nil)

// Runner feeds handlers straight from the event store, with no broker: the
// embedded default. Each handler resumes from its own checkpoint, saved after
// every batch it handled (at least once: handlers are idempotent).
type Runner struct {
	Source    EventSource
	Handlers  []Handler
	BatchSize int           // default 1000
	Poll      time.Duration // idle wait between reads, default 10ms
	Logger    *slog.Logger
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
	cursors := make([]eventstore.Cursor, len(r.Handlers))
	for i, h := range r.Handlers {
		c, err := r.Source.LoadCheckpoint(ctx, h.Name())
		if err != nil {
			return err
		}
		cursors[i] = c
	}
	backoff := poll
	for {
		n, err := r.step(ctx, cursors, batchSize)
		if ctx.Err() != nil {
			return nil
		}
		wait := poll
		if err != nil {
			r.Logger.ErrorContext(ctx, "projection batch failed; retrying", "err", err, "retry_in", backoff)
			wait, backoff = backoff, min(backoff*2, 5*time.Second)
		} else {
			backoff = poll
			if n == batchSize {
				continue // behind: read on without waiting
			}
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
	from := cursors[0]
	for _, c := range cursors[1:] {
		if after(from, c) {
			from = c
		}
	}
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
		if err := r.Source.SaveCheckpoint(ctx, h.Name(), last); err != nil {
			return len(batch), err
		}
		cursors[i] = last
	}
	return len(batch), nil
}
