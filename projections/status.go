package projections

import (
	"context"
	"time"

	"contacts/eventstore"
)

// Status is how far one consumer of the event store has got.
type Status struct {
	Name      string    `json:"name"`
	Position  int64     `json:"position"`   // global position of the last event it handled
	Head      int64     `json:"head"`       // global position of the newest event
	Lag       int64     `json:"lag"`        // positions behind the head (an upper bound on events)
	UpdatedAt time.Time `json:"updated_at"` // when it last saved its place
}

// StatusSource is where progress is read from.
type StatusSource interface {
	Checkpoints(ctx context.Context) ([]eventstore.Checkpoint, error)
	Head(ctx context.Context) (int64, error)
}

// Statuses reports every projection (and any other checkpointed consumer,
// such as the Kafka relay), including projections that have not started.
func Statuses(ctx context.Context, src StatusSource) ([]Status, error) {
	head, err := src.Head(ctx)
	if err != nil {
		return nil, err
	}
	cps, err := src.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	saved := map[string]eventstore.Checkpoint{}
	for _, c := range cps {
		saved[c.Name] = c
	}
	var out []Status
	add := func(name string) {
		c := saved[name]
		delete(saved, name)
		out = append(out, Status{Name: name, Position: c.Cursor.Position, Head: head,
			Lag: max(0, head-c.Cursor.Position), UpdatedAt: c.UpdatedAt})
	}
	for _, n := range Names {
		add(n)
	}
	for _, c := range cps {
		if _, ok := saved[c.Name]; ok {
			add(c.Name)
		}
	}
	return out, nil
}
