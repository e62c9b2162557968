// Package rest is the REST write API of the contacts, companies, groups and
// labels: POST /api/v1/contacts, updates, lifecycle, labels, notes,
// assignment, merge, history, and create/update/delete of companies, groups
// and labels. Each route binds its input at the edge (internal/web/edge),
// runs one command and answers the new state with its version as ETag;
// internal/web mounts these routes (twice: under /api/v1 and under
// /api/v1/accounts/:account_id) behind authentication, scopes, rate limits
// and idempotency keys.
package rest

import (
	"context"

	"github.com/gin-gonic/gin"

	"contacts/commands"
	"contacts/eventstore"
	"contacts/internal/web/edge"
)

// Members tells which of userIDs are not users of the account (only they
// can be assigned a contact).
type Members interface {
	NotMembers(ctx context.Context, accountID string, userIDs []string) ([]string, error)
}

// History reads a contact's stream (GET /contacts/:id/events).
type History interface {
	ReadStream(ctx context.Context, accountID, streamID string, afterVersion int64) ([]eventstore.Event, error)
}

// Routes are the command routes.
type Routes struct {
	edge.Edge
	Commands *commands.Handlers
	Auth     Members
	Store    History
	// Observe, when set, is told each bulk upsert's outcome (the edge's
	// metrics): its error, or how many contacts it created, updated,
	// skipped and failed.
	Observe func(err error, created, updated, skipped, failed int)
}

// PhoneRegionParam is the query parameter that names the country of phone
// numbers written without a country code, for this request only (the
// account's default_phone_region otherwise).
const PhoneRegionParam = "phone_region"

// Mount mounts the routes of one account's contacts, companies, groups and
// labels on r.
func (a *Routes) Mount(r *gin.RouterGroup) {
	a.contacts(r)
	a.companies(r)
	a.groups(r)
	a.labels(r)
}
