package eventstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Handled says that some consumers (Bits, one bit each) have handled the
// event at Position. With Kafka, projector instances record it in
// realtime_handled so that live updates know how far the read models reflect
// the event store although partitions are consumed out of global order.
// (Events decoded from Kafka carry no transaction id: marks are by position.)
type Handled struct {
	Position int64
	Bits     int32
}

// advanceLockKey serialises AdvanceHandled across instances (a transaction
// advisory lock; other keys: internal/migrations 727_001).
const advanceLockKey = 727_011

// advancePage is how many events AdvanceHandled examines per query.
const advancePage = 1000

// MarkHandled records marks (bits are OR-ed into what is recorded). Marks of
// one position are merged, and rows are written in position order, so
// concurrent markers lock rows in one order and never deadlock.
func (s *Store) MarkHandled(ctx context.Context, marks []Handled) error {
	if len(marks) == 0 {
		return nil
	}
	byPos := make(map[int64]int32, len(marks))
	for _, m := range marks {
		byPos[m.Position] |= m.Bits
	}
	positions := make([]int64, 0, len(byPos))
	for p := range byPos {
		positions = append(positions, p)
	}
	slices.Sort(positions)
	bits := make([]int32, len(positions))
	for i, p := range positions {
		bits[i] = byPos[p]
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO realtime_handled (position, handled)
		SELECT p, b FROM unnest($1::bigint[], $2::int[]) AS u(p, b) ORDER BY p
		ON CONFLICT (position) DO UPDATE SET handled = realtime_handled.handled | excluded.handled`,
		positions, bits)
	if err != nil {
		return fmt.Errorf("eventstore: mark handled: %w", err)
	}
	return nil
}

// AdvanceHandled moves the checkpoint name over the events, in tail order,
// that every consumer of all has marked handled, stopping at the first one
// that some consumer has not; it then forgets the marks it passed and
// announces the new place on CommittedChannel (delivered when the
// transaction commits, so a listener that reads the checkpoint sees it).
// When name has no checkpoint yet it starts from initial (the place the
// consumers had reached before they marked anything). It returns the place
// and whether it moved.
func (s *Store) AdvanceHandled(ctx context.Context, name string, all int32, initial func(context.Context) (Cursor, error)) (Cursor, bool, error) {
	var out Cursor
	var moved bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, advanceLockKey); err != nil {
			return err
		}
		var txText string
		err := tx.QueryRow(ctx, `SELECT tx_id::text, position FROM checkpoints WHERE name = $1`, name).Scan(&txText, &out.Position)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if out, err = initial(ctx); err != nil {
				return err
			}
			moved = true // record the start, even if nothing follows it yet
		case err != nil:
			return err
		default:
			out.TxID, _ = strconv.ParseUint(txText, 10, 64)
		}
		from := out
		for {
			// Only events of transactions older than every one still running:
			// one that commits late could otherwise be passed unmarked.
			rows, err := tx.Query(ctx, `SELECT e.transaction_id::text, e.position, COALESCE(h.handled, 0)
				FROM events e LEFT JOIN realtime_handled h ON h.position = e.position
				WHERE (e.transaction_id, e.position) > ($1::text::xid8, $2)
				  AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
				ORDER BY e.transaction_id, e.position
				LIMIT $3`, strconv.FormatUint(out.TxID, 10), out.Position, advancePage)
			if err != nil {
				return err
			}
			n, stopped := 0, false
			for rows.Next() {
				var c Cursor
				var bits int32
				if err := rows.Scan(&txText, &c.Position, &bits); err != nil {
					rows.Close()
					return err
				}
				n++
				if bits&all != all {
					stopped = true
					break
				}
				c.TxID, _ = strconv.ParseUint(txText, 10, 64)
				out = c
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if stopped || n < advancePage {
				break
			}
		}
		if out != from {
			moved = true
		}
		if !moved {
			return nil
		}
		if err := SaveCheckpoint(ctx, tx, name, out); err != nil {
			return err
		}
		// Also marks made again after the place passed them (redeliveries).
		if _, err := tx.Exec(ctx, `DELETE FROM realtime_handled h USING events e
			WHERE e.position = h.position AND (e.transaction_id, e.position) <= ($1::text::xid8, $2)`,
			strconv.FormatUint(out.TxID, 10), out.Position); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, CommittedChannel, out.String())
		return err
	})
	if err != nil {
		return Cursor{}, false, fmt.Errorf("eventstore: advance %s: %w", name, err)
	}
	return out, moved, nil
}
