package eventstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// LookupClaims returns, for the values of kind the account has claimed, the
// stream that owns each (value → stream id). Unclaimed values are absent.
// It is the set-wise LookupClaim that bulk writers use to resolve thousands
// of rows in one round trip.
func (s *Store) LookupClaims(ctx context.Context, accountID, kind string, values []string) (map[string]string, error) {
	out := make(map[string]string, len(values))
	if len(values) == 0 {
		return out, nil
	}
	// QueryExecModeExec: planned for these values every time. A cached
	// prepared statement switches to a generic plan after five runs, and
	// for "= ANY(array)" that plan scans the table (measured: 8 ms → 400 ms
	// for 1,000 values over 20,000 claims).
	rows, err := s.pool.Query(ctx, `SELECT value, stream_id::text FROM unique_claims
		WHERE account_id = $1 AND kind = $2 AND value = ANY($3::text[])`, pgx.QueryExecModeExec, accountID, kind, values)
	if err != nil {
		return nil, fmt.Errorf("eventstore: lookup claims: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v, owner string
		if err := rows.Scan(&v, &owner); err != nil {
			return nil, fmt.Errorf("eventstore: lookup claims: %w", err)
		}
		out[v] = owner
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("eventstore: lookup claims: %w", err)
	}
	return out, nil
}
