package pgquery

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"contacts/domain"
	"contacts/readapi"
)

var _ readapi.ContactMatcher = (*PG)(nil)

// MatchContacts returns which of ids are the account's contacts that match
// q's filters now (ordering and pagination are ignored).
func (s *PG) MatchContacts(ctx context.Context, accountID string, q readapi.Query, ids []string) (map[string]bool, error) {
	if !domain.IsUUID(accountID) {
		return nil, invalidAccount()
	}
	a := &sqlArgs{}
	w := where(a, accountID, q)
	sql := "SELECT c.uuid::text FROM rm_contacts c WHERE " + w + " AND c.uuid = ANY(" + a.add(ids, "uuid[]") + ")"
	rows, err := s.pool.Query(ctx, sql, append([]any{execMode}, a.args...)...)
	if err != nil {
		return nil, fmt.Errorf("readapi: match contacts: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("readapi: match contacts: %w", err)
	}
	out := make(map[string]bool, len(found))
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}
