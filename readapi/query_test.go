package readapi

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"contacts/domain"
)

// decode turns a JSON object literal into the map a WebSocket handler sees.
func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

// fieldsOf asserts err is a validation error and returns its fields.
func fieldsOf(t testing.TB, err error) map[string]string {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *domain.Error", err, err)
	}
	if de.Code != domain.CodeValidation || !errors.Is(err, domain.ErrValidation) {
		t.Fatalf("error %v has code %q, want validation_error", err, de.Code)
	}
	return de.Fields
}

func TestParseQueryAccepts(t *testing.T) {
	cases := []struct {
		name string
		data string
		want []string // the conditions, rendered
	}{
		{"empty", `{}`, nil},
		{"nulls and blanks are absent", `{"first_name": null, "city": "", "cursor": null, "limit": null, "ordering": ""}`, nil},
		{"text string", `{"city": "Austin"}`, []string{"city contains [Austin]"}},
		{"comma separated", `{"city": "Austin, Dallas ,"}`, []string{"city contains [Austin Dallas]"}},
		{"array not split", `{"company": ["Acme, Inc", "Globex"]}`, []string{"company contains [Acme, Inc Globex]"}},
		{"number as text", `{"postcode": 78701}`, []string{"postcode contains [78701]"}},
		{"email status exact", `{"email_status": "valid"}`, []string{"email_status equal_to [valid]"}},
		{"exclusions", `{"exclude_titles": "CEO,CTO", "exclude_labels": ["vip"]}`,
			[]string{"labels not_equal_to [vip]", "title not_equal_to [CEO CTO]"}},
		{"numbers", `{"employees_min": 50, "employees_max": "500", "annual_revenue_min": 1.5}`,
			[]string{"annual_revenue _at_least [1.5]", "employees _at_most [500]", "employees _at_least [50]"}},
		{"equal bounds", `{"employees_min": 50, "employees_max": 50}`,
			[]string{"employees _at_most [50]", "employees _at_least [50]"}},
		{"dates", `{"created_at_after": "2024-01-01", "created_at_before": "2024-01-01", "updated_at_after": "2024-01-01T10:00:00+02:00"}`,
			[]string{"created_at _at_least [2024-01-01]", "created_at _at_most [2024-01-01]", "updated_at _at_least [2024-01-01T10:00:00+02:00]"}},
		{"booleans", `{"active": true, "opt_out": "false", "blocked": "1"}`,
			[]string{"active equal_to [true]", "blocked equal_to [true]", "opt_out equal_to [false]"}},
		{"paging", `{"limit": 25, "offset": 0, "view": "simple", "ordering": "-employees, company", "include_deleted": true, "search": "acme"}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ParseQuery(decode(t, tc.data))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range q.where {
				got = append(got, c.String())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("conditions %q, want %q", got, tc.want)
			}
		})
	}

	q, err := ParseQuery(decode(t, `{"limit": 25, "offset": 3, "view": "Simple", "ordering": "-employees, company", "include_deleted": "true", "search": " Acme "}`))
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := q.Limit(); !ok || n != 25 || q.Offset() != 3 || q.View() != ViewSimple || !q.IncludeDeleted() || q.search != "Acme" {
		t.Fatalf("parsed %+v", q)
	}
	if want := []OrderKey{{"employees", true}, {"company", false}}; !reflect.DeepEqual(q.ordering, want) {
		t.Fatalf("ordering %+v", q.ordering)
	}
	var zero Query
	if _, ok := zero.Limit(); ok || zero.View() != ViewFull || !reflect.DeepEqual(zero.Order(), defaultOrdering) {
		t.Fatal("zero query defaults")
	}
}

func TestParseQueryRefuses(t *testing.T) {
	cases := []struct {
		name string
		data string
		want map[string]string // field → part of the message
	}{
		{"unknown keys", `{"colour": "red", "first_name": "Ann", "limt": 3}`, map[string]string{"colour": "unknown filter", "limt": "unknown filter"}},
		{"text type", `{"city": {"a": 1}, "title": true, "labels": [1, {"x": 2}]}`,
			map[string]string{"city": "string", "title": "string", "labels": "string"}},
		{"too many values", `{"city": "` + strings.Repeat("a,", maxValues+1) + `"}`, map[string]string{"city": "at most"}},
		{"value too long", `{"city": "` + strings.Repeat("a", maxValueLen+1) + `"}`, map[string]string{"city": "characters"}},
		{"numbers", `{"employees_min": "many", "annual_revenue_max": true, "employees_max": "1e999"}`,
			map[string]string{"employees_min": "number", "annual_revenue_max": "number", "employees_max": "number"}},
		{"min above max", `{"employees_min": 500, "employees_max": 50, "annual_revenue_min": 10, "annual_revenue_max": 9}`,
			map[string]string{"employees_min": "greater", "annual_revenue_min": "greater"}},
		{"dates", `{"created_at_after": "yesterday", "updated_at_before": 20240101}`,
			map[string]string{"created_at_after": "RFC 3339", "updated_at_before": "RFC 3339"}},
		{"after later than before", `{"created_at_after": "2024-02-01", "created_at_before": "2024-01-31T23:59:59Z", "updated_at_after": "2024-01-02", "updated_at_before": "2024-01-01"}`,
			map[string]string{"created_at_after": "later", "updated_at_after": "later"}},
		{"booleans", `{"active": "yes", "opt_out": 1, "blocked": [true], "include_deleted": "no"}`,
			map[string]string{"active": "true or false", "opt_out": "true or false", "blocked": "true or false", "include_deleted": "true or false"}},
		{"ordering", `{"ordering": "-colour"}`, map[string]string{"ordering": "unknown ordering field"}},
		{"ordering twice", `{"ordering": "name,-name"}`, map[string]string{"ordering": "twice"}},
		{"ordering type", `{"ordering": 3}`, map[string]string{"ordering": "comma-separated"}},
		{"limit", `{"limit": 0, "offset": -1}`, map[string]string{"limit": "between 1 and 1000", "offset": "between"}},
		{"limit max", `{"limit": 1001}`, map[string]string{"limit": "between 1 and 1000"}},
		{"limit fraction", `{"limit": 2.5, "offset": "x"}`, map[string]string{"limit": "integer", "offset": "integer"}},
		{"view", `{"view": "lite"}`, map[string]string{"view": "simple"}},
		{"search type", `{"search": ["a"]}`, map[string]string{"search": "string"}},
		{"cursor type", `{"cursor": 5}`, map[string]string{"cursor": "string"}},
		{"cursor garbage", `{"cursor": "!!!"}`, map[string]string{"cursor": "not a valid cursor"}},
		{"cursor and offset", `{"cursor": "e30", "offset": 10}`, map[string]string{"cursor": "offset"}},
		{"filter", `{"filter": [{"attribute_key": "city", "filter_operator": "equals", "values": ["x"]}]}`,
			map[string]string{"filter[0].filter_operator": `unknown operator "equals"`}},
		{"every bad key at once", `{"x": 1, "limit": "lots", "city": false, "ordering": "nope"}`,
			map[string]string{"x": "unknown", "limit": "integer", "city": "string", "ordering": "unknown"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseQuery(decode(t, tc.data))
			if err == nil {
				t.Fatal("accepted")
			}
			got := fieldsOf(t, err)
			if len(got) != len(tc.want) {
				t.Fatalf("fields %v, want keys of %v", got, tc.want)
			}
			for k, part := range tc.want {
				if !strings.Contains(got[k], part) {
					t.Fatalf("field %q: %q does not mention %q (all: %v)", k, got[k], part, got)
				}
			}
		})
	}
}

func TestCursorBelongsToItsQuery(t *testing.T) {
	q, err := ParseQuery(decode(t, `{"city": "Austin", "ordering": "name"}`))
	if err != nil {
		t.Fatal(err)
	}
	tok := EncodeCursor(Cursor{Values: []string{"ada"}, UUID: "00000000-0000-4000-8000-000000000001", Hash: q.Hash()})
	// The same filters (another spelling, another page size and view) accept it.
	if _, err := ParseQuery(map[string]any{"city": "austin", "ordering": "name", "cursor": tok, "limit": 5.0, "view": "simple", "offset": 0.0}); err != nil {
		t.Fatal(err)
	}
	for _, other := range []map[string]any{
		{"city": "Dallas", "ordering": "name", "cursor": tok},
		{"city": "Austin", "ordering": "-name", "cursor": tok},
		{"city": "Austin", "cursor": tok},
		{"city": "Austin", "ordering": "name", "cursor": tok, "include_deleted": true},
		{"city": "Austin", "ordering": "name", "cursor": tok, "search": "x"},
	} {
		_, err := ParseQuery(other)
		if f := fieldsOf(t, err); !strings.Contains(f["cursor"], "another query") {
			t.Fatalf("%v: %v", other, f)
		}
	}
	// A cursor of the right query whose values do not fit its ordering.
	q2, _ := ParseQuery(map[string]any{"ordering": "created_at"})
	bad := EncodeCursor(Cursor{Values: []string{"not a time"}, UUID: "00000000-0000-4000-8000-000000000001", Hash: q2.Hash()})
	if f := fieldsOf(t, second(ParseQuery(map[string]any{"ordering": "created_at", "cursor": bad}))); !strings.Contains(f["cursor"], "not a valid") {
		t.Fatal(f)
	}
	// WithAdvanced after parsing: the service refuses the stale cursor.
	c, err := ParseAdvanced([]any{map[string]any{"attribute_key": "city", "filter_operator": "is_present"}})
	if err != nil {
		t.Fatal(err)
	}
	q3, err := ParseQuery(map[string]any{"city": "austin", "ordering": "name", "cursor": tok})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCursor(q3.WithAdvanced(c)); err == nil {
		t.Fatal("stale cursor accepted")
	} else if f := fieldsOf(t, err); f["cursor"] == "" {
		t.Fatal(f)
	}
}

func second[A, B any](_ A, b B) B { return b }

func TestParseQueryValues(t *testing.T) {
	v := url.Values{
		"city":          {"Austin,Dallas", "Denver"},
		"title":         {"CEO, Founder"},
		"active":        {"true"},
		"limit":         {"10"},
		"ordering":      {"-created_at", "name"},
		"employees_min": {"5"},
		"filter":        {`[{"attribute_key":"labels","filter_operator":"equal_to","values":["vip"]}]`},
	}
	q, err := ParseQueryValues(v)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range q.where {
		got = append(got, c.String())
	}
	want := []string{"active equal_to [true]", "city contains [Austin Dallas Denver]", "employees _at_least [5]", "title contains [CEO Founder]"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q", got)
	}
	if q.advanced.String() != "labels equal_to [vip]" || len(q.ordering) != 2 || *q.limit != 10 {
		t.Fatalf("%v %v", q.advanced, q.ordering)
	}
	_, err = ParseQueryValues(url.Values{"limit": {"1", "2"}, "active": {"true", "false"}, "nope": {"x"}, "filter": {"[{"}})
	f := fieldsOf(t, err)
	for _, k := range []string{"limit", "active", "nope", "filter"} {
		if f[k] == "" {
			t.Fatalf("%s not named: %v", k, f)
		}
	}
}

func TestParseSearchRequest(t *testing.T) {
	list := []any{map[string]any{"attribute_key": "city", "filter_operator": "equal_to", "values": []any{"Austin"}}}
	for _, body := range []any{
		list,
		map[string]any{"payload": list, "limit": 5.0},
		map[string]any{"filter": list, "ordering": "name"},
		map[string]any{"attribute_key": "city", "filter_operator": "equal_to", "values": []any{"Austin"}},
	} {
		q, err := ParseSearchRequest(url.Values{"active": {"true"}}, body)
		if err != nil {
			t.Fatalf("%v: %v", body, err)
		}
		if q.advanced.String() != "city equal_to [Austin]" || len(q.where) != 1 {
			t.Fatalf("%v: %v %v", body, q.advanced, q.where)
		}
	}
	_, err := ParseSearchRequest(url.Values{"limit": {"5"}, "filter": {"[]"}}, map[string]any{"limit": 6.0, "filter": list, "bogus": 1.0})
	f := fieldsOf(t, err)
	if f["limit"] == "" || f["filter"] == "" || f["bogus"] == "" {
		t.Fatal(f)
	}
	if f := fieldsOf(t, second(ParseSearchRequest(nil, "text"))); f["filter"] == "" {
		t.Fatal(f)
	}
}

func TestParseFieldOptions(t *testing.T) {
	opt, q, err := ParseFieldOptions(decode(t, `{"search": "Tech", "distinct": true, "separated": "true", "limit": 50, "offset": 5, "country": "United States", "ordering": "name"}`))
	if err != nil {
		t.Fatal(err)
	}
	if opt.Search != "Tech" || !opt.Distinct || !opt.Separated || opt.Limit == nil || *opt.Limit != 50 || opt.Offset != 5 {
		t.Fatalf("%+v", opt)
	}
	if q.search != "" || q.limit != nil || len(q.where) != 1 || q.where[0].Attribute != "country" || len(q.ordering) != 1 {
		t.Fatalf("%+v", q)
	}
	opt, _, err = ParseFieldOptions(map[string]any{})
	if err != nil || opt.Limit != nil || opt.Distinct || opt.Offset != 0 {
		t.Fatalf("defaults: %+v %v", opt, err)
	}
	_, _, err = ParseFieldOptions(decode(t, `{"distinct": "maybe", "separated": 2, "limit": 0, "offset": -3, "cursor": "abc", "search": {}, "colour": "x"}`))
	f := fieldsOf(t, err)
	for _, k := range []string{"distinct", "separated", "limit", "offset", "cursor", "search", "colour"} {
		if f[k] == "" {
			t.Fatalf("%s not named: %v", k, f)
		}
	}
}

// TestParseField: the one table of field actions (with the SQL of each
// field checked in pgquery's TestFieldValues).
func TestParseField(t *testing.T) {
	for action, field := range fieldActions {
		if got, ok := ParseField(action); !ok || got != field {
			t.Errorf("%s → %s", action, got)
		}
		if _, ok := ParseField(string(field)); !ok {
			t.Errorf("field %s", field)
		}
	}
	if _, ok := ParseField("colour"); ok {
		t.Error("unknown field accepted")
	}
	if len(fieldActions) != 13 {
		t.Fatal("13 field actions")
	}
}
