package ws

import (
	"strings"

	"contacts/readapi"
)

// The WebSocket's use of the query layer (readapi's query.go, advanced.go): one query
// model for the WebSocket actions and their REST routes. Parse failures are
// *domain.Error validation errors naming each bad key: the WebSocket answers
// validation_error, REST 422 validation_error, with the fields.

func wsListQuery(data map[string]any) (readapi.Query, error)  { return readapi.ParseQuery(data) }
func wsCountQuery(data map[string]any) (readapi.Query, error) { return readapi.ParseQuery(data) }
func wsUUIDsQuery(data map[string]any) (readapi.Query, error) { return readapi.ParseQuery(data) }

// wsFieldQuery parses a field action's data: its own options (search,
// distinct, separated, limit, offset) and the contact filters.
func wsFieldQuery(data map[string]any) (readapi.Query, readapi.FieldOptions, error) {
	opt, q, err := readapi.ParseFieldOptions(data)
	return q, opt, err
}

// wsView reads get_contact's optional view ("simple" or "full", the
// default).
func wsView(data map[string]any) (string, error) {
	v, ok := data["view"]
	if !ok || v == nil || v == "" {
		return readapi.ViewFull, nil
	}
	s, _ := v.(string)
	switch strings.ToLower(strings.TrimSpace(s)) {
	case readapi.ViewSimple:
		return readapi.ViewSimple, nil
	case readapi.ViewFull:
		return readapi.ViewFull, nil
	}
	return "", wsInvalid(map[string]string{"view": `must be "simple" or "full"`})
}
