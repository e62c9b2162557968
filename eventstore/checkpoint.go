package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Execer runs a statement: a pool, a connection or a transaction, so a
// checkpoint can be saved in the same transaction as the work it covers.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Checkpoint is a consumer's saved place.
type Checkpoint struct {
	Name      string
	Cursor    Cursor
	UpdatedAt time.Time
}

// LoadCheckpoint returns the saved cursor of name (the zero Cursor, from the
// start, when there is none).
func (s *Store) LoadCheckpoint(ctx context.Context, name string) (Cursor, error) {
	var tx string
	var c Cursor
	err := s.pool.QueryRow(ctx, `SELECT tx_id::text, position FROM checkpoints WHERE name = $1`, name).Scan(&tx, &c.Position)
	if errors.Is(err, pgx.ErrNoRows) {
		return Cursor{}, nil
	}
	if err != nil {
		return Cursor{}, fmt.Errorf("eventstore: load checkpoint %s: %w", name, err)
	}
	c.TxID, _ = strconv.ParseUint(tx, 10, 64)
	return c, nil
}

// checkpointAdvances is the upsert of a checkpoint that never moves back:
// in tail order for places of the event store's tail, and by position for
// a place without a transaction id — what a projection fed by Kafka records
// (a message carries no transaction id). Such a place replaces a tail
// place it passes, so that the projection's progress shows after a switch
// from the embedded runner to Kafka; a runner that later resumes from it
// reads the store from the start (every event's transaction id is above 0),
// which is safe because projections are idempotent, as Kafka's out-of-order
// partitions make "the furthest handled" no promise about the ones before.
const checkpointAdvances = `ON CONFLICT (name) DO UPDATE SET tx_id = excluded.tx_id, position = excluded.position, updated_at = now()
		WHERE (checkpoints.tx_id, checkpoints.position) < (excluded.tx_id, excluded.position)
		   OR excluded.tx_id = '0'::xid8 AND checkpoints.position < excluded.position`

// SaveCheckpoint records cur for name through db (pass a transaction to
// commit it with the work it covers). A checkpoint never moves backwards.
func SaveCheckpoint(ctx context.Context, db Execer, name string, cur Cursor) error {
	_, err := db.Exec(ctx, `INSERT INTO checkpoints (name, tx_id, position, updated_at)
		VALUES ($1, $2::text::xid8, $3, now())
		`+checkpointAdvances, name, strconv.FormatUint(cur.TxID, 10), cur.Position)
	if err != nil {
		return fmt.Errorf("eventstore: save checkpoint %s: %w", name, err)
	}
	return nil
}

// SaveCheckpoint records cur for name in its own statement.
func (s *Store) SaveCheckpoint(ctx context.Context, name string, cur Cursor) error {
	return SaveCheckpoint(ctx, s.pool, name, cur)
}

// SaveCheckpoints records several places in one statement.
func (s *Store) SaveCheckpoints(ctx context.Context, cps map[string]Cursor) error {
	if len(cps) == 0 {
		return nil
	}
	names := make([]string, 0, len(cps))
	txs := make([]string, 0, len(cps))
	positions := make([]int64, 0, len(cps))
	for name, c := range cps {
		names = append(names, name)
		txs = append(txs, strconv.FormatUint(c.TxID, 10))
		positions = append(positions, c.Position)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO checkpoints (name, tx_id, position, updated_at)
		SELECT n, t::xid8, p, now() FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(n, t, p)
		`+checkpointAdvances, names, txs, positions)
	if err != nil {
		return fmt.Errorf("eventstore: save checkpoints: %w", err)
	}
	return nil
}

// ResetCheckpoint forgets name's place (a rebuild starts from scratch).
func (s *Store) ResetCheckpoint(ctx context.Context, name string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM checkpoints WHERE name = $1`, name)
	return err
}

// Checkpoints lists every saved checkpoint.
func (s *Store) Checkpoints(ctx context.Context) ([]Checkpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, tx_id::text, position, updated_at FROM checkpoints ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("eventstore: checkpoints: %w", err)
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		var c Checkpoint
		var tx string
		if err := rows.Scan(&c.Name, &tx, &c.Cursor.Position, &c.UpdatedAt); err != nil {
			return nil, err
		}
		c.Cursor.TxID, _ = strconv.ParseUint(tx, 10, 64)
		out = append(out, c)
	}
	return out, rows.Err()
}
