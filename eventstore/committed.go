package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// CommittedChannel is the PostgreSQL NOTIFY channel on which the projector
// announces how far the read models reflect the event store: the payload is
// a Cursor ("<tx id>:<position>"). Every instance serving live updates
// listens on it, so an update reaches the subscribers of every instance.
const CommittedChannel = "contacts_committed"

// NotifyCommitted announces that the read models reflect every event up to
// and including cur in tail order.
func (s *Store) NotifyCommitted(ctx context.Context, cur Cursor) error {
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, CommittedChannel, cur.String()); err != nil {
		return fmt.Errorf("eventstore: notify committed: %w", err)
	}
	return nil
}

// ParseCursor reads a Cursor written by Cursor.String.
func ParseCursor(s string) (Cursor, error) {
	tx, pos, ok := strings.Cut(s, ":")
	if !ok {
		return Cursor{}, fmt.Errorf("eventstore: cursor %q: want <tx id>:<position>", s)
	}
	t, err1 := strconv.ParseUint(tx, 10, 64)
	p, err2 := strconv.ParseInt(pos, 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return Cursor{}, fmt.Errorf("eventstore: cursor %q: %w", s, err)
	}
	return Cursor{TxID: t, Position: p}, nil
}

// ListenCommitted holds one connection of the pool listening on
// CommittedChannel and calls fn with each announced cursor, in the order
// they were sent, until ctx ends (nil) or the connection fails (the error:
// the caller listens again, and must assume it missed announcements).
// ready, when not nil, is called once the LISTEN is in place.
func (s *Store) ListenCommitted(ctx context.Context, ready func(), fn func(Cursor)) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("eventstore: listen: %w", err)
	}
	// The connection carries a LISTEN: it must not return to the pool.
	pc := conn.Hijack()
	defer pc.Close(context.WithoutCancel(ctx)) //nolint:errcheck // closing a connection we are done with
	if _, err := pc.Exec(ctx, "LISTEN "+CommittedChannel); err != nil {
		return fmt.Errorf("eventstore: listen: %w", err)
	}
	if ready != nil {
		ready()
	}
	for {
		n, err := pc.WaitForNotification(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("eventstore: listen: %w", err)
		}
		cur, err := ParseCursor(n.Payload)
		if err != nil {
			continue // not ours
		}
		fn(cur)
	}
}

// ReadRange returns up to limit events after after and no later than upTo,
// in tail order (transaction id, then position); with accountID, only that
// account's. Callers pass an upTo a tailer has reached (every transaction
// before it has ended), so the range is stable.
func (s *Store) ReadRange(ctx context.Context, after, upTo Cursor, accountID string, limit int) ([]Event, error) {
	sql := `SELECT ` + eventColumns + ` FROM events
		WHERE (transaction_id, position) > ($1::text::xid8, $2)
		  AND (transaction_id, position) <= ($3::text::xid8, $4)`
	args := []any{strconv.FormatUint(after.TxID, 10), after.Position, strconv.FormatUint(upTo.TxID, 10), upTo.Position, limit}
	if accountID != "" {
		sql += ` AND account_id = $6::uuid`
		args = append(args, accountID)
	}
	rows, err := s.pool.Query(ctx, sql+` ORDER BY transaction_id, position LIMIT $5`, args...)
	if err != nil {
		return nil, fmt.Errorf("eventstore: read range: %w", err)
	}
	return s.opened(ctx, rows)
}

// CursorAt returns the tail cursor of the event at position (false when no
// event has that position).
func (s *Store) CursorAt(ctx context.Context, position int64) (Cursor, bool, error) {
	var tx string
	err := s.pool.QueryRow(ctx, `SELECT transaction_id::text FROM events WHERE position = $1`, position).Scan(&tx)
	if errors.Is(err, pgx.ErrNoRows) {
		return Cursor{}, false, nil
	}
	if err != nil {
		return Cursor{}, false, fmt.Errorf("eventstore: cursor at %d: %w", position, err)
	}
	t, _ := strconv.ParseUint(tx, 10, 64)
	return Cursor{TxID: t, Position: position}, true, nil
}

// StreamOwner returns the account and type of a stream (false when there is
// no such stream).
func (s *Store) StreamOwner(ctx context.Context, streamID string) (accountID, streamType string, found bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT account_id::text, stream_type FROM events
		WHERE stream_id = $1::uuid AND stream_version = 1`, streamID).Scan(&accountID, &streamType)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("eventstore: stream owner: %w", err)
	}
	return accountID, streamType, true, nil
}

// Reached is the furthest place every one of the named checkpoints has
// reached (the zero Cursor when one of them has none).
func (s *Store) Reached(ctx context.Context, names []string) (Cursor, error) {
	var out Cursor
	for i, name := range names {
		c, err := s.LoadCheckpoint(ctx, name)
		if err != nil {
			return Cursor{}, err
		}
		if i == 0 || c.TxID < out.TxID || c.TxID == out.TxID && c.Position < out.Position {
			out = c
		}
	}
	return out, nil
}
