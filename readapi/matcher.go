package readapi

import (
	"context"
)

// ContactMatcher tells which contacts match a query: the filter of a
// contacts subscription uses the read API's own query model.
type ContactMatcher interface {
	MatchContacts(ctx context.Context, accountID string, q Query, ids []string) (map[string]bool, error)
}
