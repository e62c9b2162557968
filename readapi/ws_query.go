package readapi

import "strings"

// The transports' use of the query layer (query.go, advanced.go): one query
// model for the WebSocket actions and their REST routes. Parse failures are
// *domain.Error validation errors naming each bad key: the WebSocket answers
// validation_error, REST 422 validation_error, with the fields.

func wsListQuery(data map[string]any) (Query, error)  { return ParseQuery(data) }
func wsCountQuery(data map[string]any) (Query, error) { return ParseQuery(data) }
func wsUUIDsQuery(data map[string]any) (Query, error) { return ParseQuery(data) }

// wsFieldQuery parses a field action's data: its own options (search,
// distinct, separated, limit, offset) and the contact filters.
func wsFieldQuery(data map[string]any) (Query, FieldOptions, error) {
	opt, q, err := ParseFieldOptions(data)
	return q, opt, err
}

// wsView reads get_contact's optional view ("simple" or "full", the
// default).
func wsView(data map[string]any) (string, error) {
	v, ok := data["view"]
	if !ok || v == nil || v == "" {
		return ViewFull, nil
	}
	s, _ := v.(string)
	switch strings.ToLower(strings.TrimSpace(s)) {
	case ViewSimple:
		return ViewSimple, nil
	case ViewFull:
		return ViewFull, nil
	}
	return "", wsInvalid(map[string]string{"view": `must be "simple" or "full"`})
}
