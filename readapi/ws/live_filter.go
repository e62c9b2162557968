package ws

import (
	"context"
	"encoding/json"

	"contacts/readapi"
	"contacts/readapi/realtime"
)

// queryFilter is a contacts subscription's filter.
type queryFilter struct {
	m   readapi.ContactMatcher
	q   readapi.Query
	key string // the filters as canonical JSON
}

var _ realtime.KeyedFilter = queryFilter{}

func (f queryFilter) Key() string { return f.key }

func (f queryFilter) Match(ctx context.Context, accountID string, ids []string) (map[string]bool, error) {
	return f.m.MatchContacts(ctx, accountID, f.q, ids)
}

// liveFilter builds the filter of a contacts subscription from the same
// keys list_contacts takes (nil data: no filter).
func (d Deps) liveFilter(data map[string]any) (realtime.Filter, error) {
	if len(data) == 0 {
		return nil, nil
	}
	q, err := readapi.ParseQuery(data)
	if err != nil {
		return nil, err
	}
	m := d.Matcher
	if m == nil {
		m, _ = d.Service.(readapi.ContactMatcher)
	}
	if m == nil {
		return nil, &realtime.Error{Code: realtime.CodeInvalidFilter, Message: "filters are not available with this read model"}
	}
	key, err := json.Marshal(data) // map keys sorted: equal filters, equal keys
	if err != nil {
		return nil, err
	}
	return queryFilter{m: m, q: q, key: string(key)}, nil
}
