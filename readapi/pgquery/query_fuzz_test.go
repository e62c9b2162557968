package pgquery

import (
	"encoding/json"
	"errors"
	"testing"

	"contacts/domain"
	"contacts/readapi"
)

// FuzzParseQuery feeds arbitrary JSON to ParseQuery, ParseFieldOptions and
// ParseAdvanced: they must never panic, and every error must be a
// validation error naming at least one field.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"first_name": "John", "country": "United States", "employees_min": 50, "limit": 25, "offset": 0, "view": "simple", "ordering": "-employees,company"}`,
		`{"exclude_titles": ["CEO", "CTO"], "created_at_after": "2024-01-01", "active": "true"}`,
		`{"cursor": "eyJ2IjpbXX0", "limit": 1000}`,
		`{"filter": [{"attribute_key": "city", "filter_operator": "equal_to", "values": ["Austin"], "query_operator": "or"}, {"group": [{"attribute_key": "employees", "filter_operator": "is_greater_than", "values": [5]}]}]}`,
		`{"filter": {"or": [{"attribute_key": "custom_attributes.tier", "filter_operator": "contains", "values": ["go"]}, {"and": []}]}}`,
		`{"filter": "[{\"attribute_key\": \"created_at\", \"filter_operator\": \"days_before\", \"values\": [3]}]"}`,
		`{"search": "tech", "distinct": true, "separated": true}`,
		`{"filter": [{"group": [{"group": [{"group": [{"group": [{"group": [{"attribute_key": "city", "filter_operator": "is_present"}]}]}]}]}]}]}`,
		`{"employees_min": "1e400", "limit": 1e20, "offset": -0.5}`,
		`[1, 2]`,
		`{"filter": [null, 3, "x", {"attribute_key": 5}]}`,
	} {
		f.Add(s)
	}
	check := func(t *testing.T, what string, err error) {
		if err == nil {
			return
		}
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeValidation || len(de.Fields) == 0 {
			t.Fatalf("%s: error %v is not a validation error naming fields", what, err)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		var raw any
		if json.Unmarshal([]byte(s), &raw) != nil {
			return
		}
		_, err := readapi.ParseAdvanced(raw)
		check(t, "ParseAdvanced", err)
		data, ok := raw.(map[string]any)
		if !ok {
			return
		}
		q, err := readapi.ParseQuery(data)
		check(t, "ParseQuery", err)
		if err == nil {
			_ = q.Hash()
			a := &sqlArgs{}
			_ = where(a, "00000000-0000-4000-8000-000000000000", q)
		}
		_, _, err = readapi.ParseFieldOptions(data)
		check(t, "ParseFieldOptions", err)
		_, err = readapi.ParseSearchRequest(nil, raw)
		check(t, "ParseSearchRequest", err)
	})
}
