package readapi

import (
	"context"
	"encoding/json"
)

// ResourceKind names a listable read model.
type ResourceKind string

// The lists of GET /api/v1/companies, /groups and /labels.
const (
	KindCompanies ResourceKind = "companies"
	KindGroups    ResourceKind = "groups"
	KindLabels    ResourceKind = "labels"
)

// ListOptions are a resource list's parameters.
type ListOptions struct {
	Search string // case-insensitive substring of the name (labels: the title)
	Limit  *int   // nil: all
	Offset int
}

// Lists lists an account's companies, groups or labels (live ones, by name)
// from the read models: the documents GET /<kind>/:id answers, as stored.
type Lists interface {
	ListResources(ctx context.Context, accountID string, kind ResourceKind, o ListOptions) (total int64, docs []json.RawMessage, err error)
}
