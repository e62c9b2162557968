package projections

import (
	"context"
	"slices"
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

// AccountStatus is how far one consumer has got through one account's
// events. It is computed from the account's own events only, so it tells a
// tenant nothing about other accounts (no store-wide position or time).
type AccountStatus struct {
	Name     string `json:"name"`
	Position int64  `json:"position"` // the account's last event the consumer handled (0: none)
	Head     int64  `json:"head"`     // the account's newest event
	Lag      int64  `json:"lag"`      // the account's events it has not handled yet
}

// AccountStatusSource is where one account's progress is read from.
type AccountStatusSource interface {
	Checkpoints(ctx context.Context) ([]eventstore.Checkpoint, error)
	AccountProgress(ctx context.Context, accountID string, positions []int64) (head int64, reached, behind []int64, err error)
}

// AccountStatuses reports the consumers of Statuses for one account.
func AccountStatuses(ctx context.Context, src AccountStatusSource, accountID string) ([]AccountStatus, error) {
	cps, err := src.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	saved := map[string]int64{}
	for _, c := range cps {
		saved[c.Name] = c.Cursor.Position
	}
	names := append([]string(nil), Names...)
	for _, c := range cps {
		if !slices.Contains(Names, c.Name) {
			names = append(names, c.Name)
		}
	}
	positions := make([]int64, len(names))
	for i, n := range names {
		positions[i] = saved[n]
	}
	head, reached, behind, err := src.AccountProgress(ctx, accountID, positions)
	if err != nil {
		return nil, err
	}
	out := make([]AccountStatus, len(names))
	for i, n := range names {
		out[i] = AccountStatus{Name: n, Position: reached[i], Head: head, Lag: behind[i]}
	}
	return out, nil
}
