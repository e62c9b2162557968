package readapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func parseJSON(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

func TestParseAdvancedAccepts(t *testing.T) {
	cases := []struct {
		name, raw, want string
	}{
		{"null", `null`, "TRUE"},
		{"one", `[{"attribute_key": "city", "filter_operator": "equal_to", "values": ["Austin"], "query_operator": "and"}]`,
			"city equal_to [Austin]"},
		{"and binds tighter than or", `[
			{"attribute_key": "city", "filter_operator": "equal_to", "values": ["Austin"], "query_operator": "and"},
			{"attribute_key": "title", "filter_operator": "contains", "values": ["ceo"], "query_operator": "OR"},
			{"attribute_key": "labels", "filter_operator": "equal_to", "values": ["vip"], "query_operator": "or"}]`,
			"((city equal_to [Austin] AND title contains [ceo]) OR labels equal_to [vip])"},
		{"missing query_operator is and", `[{"attribute_key": "city", "filter_operator": "is_present"}, {"attribute_key": "email", "filter_operator": "is_not_present", "query_operator": null}]`,
			"(city is_present [] AND email is_not_present [])"},
		{"group", `[{"attribute_key": "city", "filter_operator": "equal_to", "values": ["Austin"], "query_operator": "and"},
			{"group": [{"attribute_key": "title", "filter_operator": "contains", "values": ["ceo"], "query_operator": "or"},
			           {"attribute_key": "title", "filter_operator": "contains", "values": ["cto"]}]}]`,
			"(city equal_to [Austin] AND (title contains [ceo] OR title contains [cto]))"},
		{"and / or objects", `{"or": [{"and": [{"attribute_key": "employees", "filter_operator": "is_greater_than", "values": ["10"]},
			{"attribute_key": "employees", "filter_operator": "is_less_than", "values": [100]}]},
			{"attribute_key": "annual_revenue", "filter_operator": "is_not_present"}]}`,
			"((employees is_greater_than [10] AND employees is_less_than [100]) OR annual_revenue is_not_present [])"},
		{"payload wrapper", `{"payload": [{"attribute_key": "custom_attributes.customer_type", "filter_operator": "equal_to", "values": ["premium"]}]}`,
			"custom_attributes.customer_type equal_to [premium]"},
		{"JSON string", `"[{\"attribute_key\": \"created_at\", \"filter_operator\": \"days_before\", \"values\": [3]}]"`,
			"created_at days_before [3]"},
		{"single object, aliases, scalar values", `{"attribute_key": "phone_number", "filter_operator": "starts_with", "values": "+1"}`,
			"phone starts_with [+1]"},
		{"json values", `[{"attribute_key": "additional_attributes.score", "filter_operator": "is_greater_than", "values": [5]},
			{"attribute_key": "custom_attributes.vip", "filter_operator": "equal_to", "values": [true]}]`,
			"(additional_attributes.score is_greater_than [5] AND custom_attributes.vip equal_to [true])"},
		{"booleans and dates", `[{"attribute_key": "active", "filter_operator": "not_equal_to", "values": ["false"]},
			{"attribute_key": "last_activity_at", "filter_operator": "is_greater_than", "values": ["2024-01-01"]}]`,
			"(active not_equal_to [false] AND last_activity_at is_greater_than [2024-01-01])"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseAdvanced(parseJSON(t, tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.String(); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestParseAdvancedRefuses(t *testing.T) {
	nest := func(depth int) string {
		s := `{"attribute_key": "city", "filter_operator": "is_present"}`
		for i := 1; i < depth; i++ {
			s = `{"group": [` + s + `]}`
		}
		return "[" + s + "]"
	}
	many := make([]string, MaxFilterConditions+1)
	for i := range many {
		many[i] = `{"attribute_key": "city", "filter_operator": "is_present"}`
	}
	cases := []struct {
		name, raw string
		want      map[string]string
	}{
		{"unknown operator", `[{"attribute_key": "city", "filter_operator": "equal_to", "values": ["a"]},
			{"attribute_key": "city", "filter_operator": "equal_to", "values": ["a"]},
			{"attribute_key": "city", "filter_operator": "equals", "values": ["x"]}]`,
			map[string]string{"filter[2].filter_operator": `unknown operator "equals"`}},
		{"unknown attribute and missing operator", `[{"attribute_key": "colour", "values": ["x"]}]`,
			map[string]string{"filter[0].attribute_key": `unknown attribute "colour"`, "filter[0].filter_operator": "required"}},
		{"missing attribute", `[{"filter_operator": "is_present"}]`, map[string]string{"filter[0].attribute_key": "required"}},
		{"empty custom key", `[{"attribute_key": "custom_attributes.", "filter_operator": "is_present"}]`,
			map[string]string{"filter[0].attribute_key": "unknown attribute"}},
		{"operator does not apply", `[{"attribute_key": "city", "filter_operator": "is_greater_than", "values": ["a"]},
			{"attribute_key": "employees", "filter_operator": "contains", "values": [1]},
			{"attribute_key": "active", "filter_operator": "is_present"},
			{"attribute_key": "labels", "filter_operator": "days_before", "values": [1]}]`,
			map[string]string{"filter[0].filter_operator": "text", "filter[1].filter_operator": "number",
				"filter[2].filter_operator": "boolean", "filter[3].filter_operator": "list"}},
		{"values", `[{"attribute_key": "city", "filter_operator": "equal_to"},
			{"attribute_key": "employees", "filter_operator": "equal_to", "values": ["many"]},
			{"attribute_key": "created_at", "filter_operator": "is_less_than", "values": ["yesterday"]},
			{"attribute_key": "created_at", "filter_operator": "days_before", "values": [-1]},
			{"attribute_key": "employees", "filter_operator": "is_greater_than", "values": [1, 2]},
			{"attribute_key": "active", "filter_operator": "equal_to", "values": ["maybe"]},
			{"attribute_key": "city", "filter_operator": "equal_to", "values": [{"a": 1}]},
			{"attribute_key": "custom_attributes.x", "filter_operator": "contains", "values": [true]}]`,
			map[string]string{"filter[0].values": "at least one", "filter[1].values": "numbers", "filter[2].values": "RFC 3339",
				"filter[3].values": "days", "filter[4].values": "exactly one", "filter[5].values": "true or false",
				"filter[6].values": "strings", "filter[7].values": "strings or numbers"}},
		{"query_operator", `[{"attribute_key": "city", "filter_operator": "is_present", "query_operator": "xor"}, {"attribute_key": "city", "filter_operator": "is_present"}]`,
			map[string]string{"filter[0].query_operator": `"and" or "or"`}},
		{"unknown key", `[{"attribute_key": "city", "filter_operator": "is_present", "custom_attribute_type": ""}]`,
			map[string]string{"filter[0].custom_attribute_type": "unknown key"}},
		{"group beside condition keys", `[{"group": [{"attribute_key": "city", "filter_operator": "is_present"}], "attribute_key": "x"}]`,
			map[string]string{"filter[0].attribute_key": "beside"}},
		{"bad items", `[3, null, {"group": 5}, {"group": []}, {"and": "x"}]`,
			map[string]string{"filter[0]": "object", "filter[1]": "object", "filter[2].group": "array", "filter[3].group": "at least one", "filter[4].and": "array"}},
		{"empty list", `[]`, map[string]string{"filter": "at least one"}},
		{"wrong type", `5`, map[string]string{"filter": "array"}},
		{"bad JSON string", `"[{"`, map[string]string{"filter": "JSON"}},
		{"too deep", nest(MaxFilterDepth + 1), map[string]string{"filter[0]" + strings.Repeat(".group[0]", MaxFilterDepth-1) + ".group": "deeper"}},
		{"too deep with and/or", `{"and": [{"or": [{"and": [{"or": [{"and": [{"attribute_key": "city", "filter_operator": "is_present"}]}]}]}]}]}`,
			map[string]string{"filter.and[0].or[0].and[0].or[0].and": "deeper"}},
		{"too many", "[" + strings.Join(many, ",") + "]", map[string]string{"filter": fmt.Sprintf("at most %d", MaxFilterConditions)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAdvanced(parseJSON(t, tc.raw))
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
	// Depth MaxFilterDepth itself is fine.
	if _, err := ParseAdvanced(parseJSON(t, nest(MaxFilterDepth))); err != nil {
		t.Fatal(err)
	}
}
