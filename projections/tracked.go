package projections

import (
	"context"
	"sync"
	"time"

	"contacts/eventstore"
)

// CheckpointSaver records places.
type CheckpointSaver interface {
	SaveCheckpoints(ctx context.Context, cps map[string]eventstore.Cursor) error
}

// Tracked wraps a handler fed by Kafka so that its progress shows in
// GET /api/v1/projections like an embedded one's: the furthest event it has
// handled, saved at most every interval. It is for display only: Kafka's
// consumer-group offsets, not this, decide where consumption resumes.
func Tracked(h Handler, saver CheckpointSaver, every time.Duration) Handler {
	return &tracked{Handler: h, saver: saver, every: every}
}

type tracked struct {
	Handler
	saver CheckpointSaver
	every time.Duration

	mu        sync.Mutex
	furthest  eventstore.Cursor
	lastSaved time.Time
}

func (t *tracked) Handle(ctx context.Context, events []eventstore.Event) error {
	if err := t.Handler.Handle(ctx, events); err != nil {
		return err
	}
	t.mu.Lock()
	for _, e := range events {
		if after(e.Cursor(), t.furthest) {
			t.furthest = e.Cursor()
		}
	}
	due := time.Since(t.lastSaved) >= t.every
	cur := t.furthest
	if due {
		t.lastSaved = time.Now()
	}
	t.mu.Unlock()
	if !due {
		return nil
	}
	// Progress display must never fail the handling itself.
	_ = t.saver.SaveCheckpoints(ctx, map[string]eventstore.Cursor{t.Name(): cur})
	return nil
}
