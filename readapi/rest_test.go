package readapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"contacts/commands"
)

func TestRESTContactQueries(t *testing.T) {
	w := newWorld(t)
	tok := w.admin.token
	get := func(path string) map[string]any {
		t.Helper()
		return w.rest(t, tok, "GET", path, nil).want(http.StatusOK).obj()
	}

	page := get("/api/v1/contacts")
	if !sameSet(uuidsOf(page["results"]), []string{w.ada, w.grace, w.linus}) || page["previous"] != nil {
		t.Fatalf("list: %v", page)
	}
	if _, ok := page["next"]; !ok {
		t.Fatalf("no next: %v", page)
	}
	page = get("/api/v1/contacts?country=" + url.QueryEscape("United States") + "&city=denver")
	if !sameSet(uuidsOf(page["results"]), []string{w.grace}) {
		t.Fatalf("filtered: %v", page)
	}
	page = get("/api/v1/contacts?limit=2")
	next, _ := page["next"].(string)
	if len(list(page["results"])) != 2 || next == "" {
		t.Fatalf("page of two: %v", page)
	}
	page2 := get("/api/v1/contacts?limit=2&cursor=" + url.QueryEscape(next))
	if got := uuidsOf(page2["results"]); len(got) != 1 || slicesContain(uuidsOf(page["results"]), got[0]) {
		t.Fatalf("second page: %v", page2)
	}

	if n := get("/api/v1/contacts/count")["count"]; n != 3.0 {
		t.Fatalf("count: %v", n)
	}
	if n := get("/api/v1/contacts/count?employees_min=50")["count"]; n != 1.0 {
		t.Fatalf("count employees_min: %v", n)
	}
	ids := get("/api/v1/contacts/uuids?country=Canada")
	if ids["count"] != 1.0 || strs(ids["uuids"])[0] != w.linus {
		t.Fatalf("uuids: %v", ids)
	}
	if ids := get("/api/v1/contacts/uuids?limit=1"); ids["count"] != 1.0 {
		t.Fatalf("uuids limit: %v", ids)
	}

	for path, want := range map[string][]string{
		"/api/v1/contacts/fields/titles?distinct=true&search=ct":                {"CTO"},
		"/api/v1/contacts/fields/companies?distinct=true":                       {"Acme Corp", "Globex"},
		"/api/v1/contacts/fields/industries?distinct=true&separated=true":       {"Technology", "Software", "Finance"},
		"/api/v1/contacts/fields/keywords?distinct=true&separated=true":         {"cloud", "saas", "enterprise"},
		"/api/v1/contacts/fields/technologies?distinct=true&separated=true":     {"Python", "PostgreSQL", "Go"},
		"/api/v1/contacts/fields/company_addresses?distinct=true&search=oak":    {"456 Oak Ave, Denver, CO"},
		"/api/v1/contacts/fields/contact_addresses?distinct=true&search=navy":   {"1 Navy Way, Denver, CO"},
		"/api/v1/contacts/fields/cities?distinct=true":                          {"San Francisco", "Denver", "Portland"},
		"/api/v1/contacts/fields/states?distinct=true&country=Canada":           {"OR"},
		"/api/v1/contacts/fields/countries?distinct=true":                       {"United States", "Canada"},
		"/api/v1/contacts/fields/company_cities?distinct=true":                  {"San Francisco", "Denver"},
		"/api/v1/contacts/fields/company_states?distinct=true":                  {"CA", "CO"},
		"/api/v1/contacts/fields/company_countries?distinct=true":               {"United States"},
		"/api/v1/contacts/fields/cities?distinct=true&limit=1&offset=0&search=": {"Denver"},
	} {
		got := strs(get(path)["results"])
		if !sameSet(got, want) || len(got) != len(want) {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}

	// The command-side contact route still answers beside the static ones.
	st := get("/api/v1/contacts/" + w.ada)
	if st["uuid"] != w.ada || st["version"] == nil {
		t.Fatalf("GET /contacts/:id: %v", st)
	}

	// Another account sees none of it.
	if n := w.rest(t, w.other.token, "GET", "/api/v1/contacts/count", nil).want(http.StatusOK).obj()["count"]; n != 1.0 {
		t.Fatalf("other account's count: %v", n)
	}
}

func TestRESTSearch(t *testing.T) {
	w := newWorld(t)
	tok := w.admin.token
	post := func(body any) map[string]any {
		t.Helper()
		return w.rest(t, tok, "POST", "/api/v1/contacts/search", body).want(http.StatusOK).obj()
	}
	if got := uuidsOf(post(nil)["results"]); !sameSet(got, []string{w.ada, w.grace, w.linus}) {
		t.Fatalf("empty search: %v", got)
	}
	if got := uuidsOf(post(map[string]any{"country": "Canada"})["results"]); !sameSet(got, []string{w.linus}) {
		t.Fatalf("filter field: %v", got)
	}
	got := uuidsOf(post(map[string]any{"filter": []any{
		map[string]any{"attribute_key": "city", "filter_operator": "equal_to", "values": []any{"Denver"}, "query_operator": "or"},
		map[string]any{"attribute_key": "city", "filter_operator": "equal_to", "values": []any{"Portland"}},
	}})["results"])
	if !sameSet(got, []string{w.grace, w.linus}) {
		t.Fatalf("advanced or: %v", got)
	}
	got = uuidsOf(post(map[string]any{"country": "United States", "filter": []any{
		map[string]any{"attribute_key": "title", "filter_operator": "contains", "values": []any{"ct"}},
	}})["results"])
	if !sameSet(got, []string{w.grace}) {
		t.Fatalf("advanced and filters: %v", got)
	}
	// The body may be the condition list itself; query-string filters apply too.
	got = uuidsOf(w.rest(t, tok, "POST", "/api/v1/contacts/search?country=United+States", []any{
		map[string]any{"attribute_key": "employees", "filter_operator": "is_greater_than", "values": []any{100}},
	}).want(http.StatusOK).obj()["results"])
	if !sameSet(got, []string{w.ada}) {
		t.Fatalf("array body: %v", got)
	}
	page := post(map[string]any{"limit": 1, "view": "simple", "ordering": "first_name"})
	if got := uuidsOf(page["results"]); len(got) != 1 || got[0] != w.ada || page["next"] == nil {
		t.Fatalf("search page: %v", page)
	}
}

func TestRESTBadInput(t *testing.T) {
	w := newWorld(t)
	tok := w.admin.token
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code, field        string
	}{
		{"bad number", "GET", "/api/v1/contacts?employees_min=many", nil, 422, "validation_error", "employees_min"},
		{"bad limit", "GET", "/api/v1/contacts?limit=-2", nil, 422, "validation_error", "limit"},
		{"bad cursor", "GET", "/api/v1/contacts?cursor=%25%25garbage", nil, 422, "validation_error", "cursor"},
		{"count bad number", "GET", "/api/v1/contacts/count?employees_max=x", nil, 422, "validation_error", "employees_max"},
		{"uuids bad limit", "GET", "/api/v1/contacts/uuids?limit=ten", nil, 422, "validation_error", "limit"},
		{"field bad distinct", "GET", "/api/v1/contacts/fields/titles?distinct=maybe", nil, 422, "validation_error", "distinct"},
		{"field bad offset", "GET", "/api/v1/contacts/fields/titles?offset=-1", nil, 422, "validation_error", "offset"},
		{"search malformed", "POST", "/api/v1/contacts/search", `{"country":`, 400, "invalid_json", ""},
		{"search array of non-conditions", "POST", "/api/v1/contacts/search", `[1]`, 422, "validation_error", "filter[0]"},
		{"search scalar body", "POST", "/api/v1/contacts/search", `"city=x"`, 422, "validation_error", "filter"},
		{"search key twice", "POST", "/api/v1/contacts/search?country=Canada", map[string]any{"country": "Canada"}, 422, "validation_error", "country"},
		{"search bad filter", "POST", "/api/v1/contacts/search", map[string]any{"filter": "city=Denver"}, 422, "validation_error", "filter"},
		{"search bad operator", "POST", "/api/v1/contacts/search", map[string]any{"filter": []any{
			map[string]any{"attribute_key": "city", "filter_operator": "sounds_like", "values": []any{"x"}}}}, 422, "validation_error", ""},
		{"search bad field", "POST", "/api/v1/contacts/search", map[string]any{"employees_min": "lots"}, 422, "validation_error", "employees_min"},
		{"unknown field route", "GET", "/api/v1/contacts/fields/nope", nil, 404, "not_found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := w.rest(t, tok, tc.method, tc.path, tc.body).wantError(tc.status, tc.code)
			if tc.field != "" {
				f, _ := e["fields"].(map[string]any)
				if _, ok := f[tc.field]; !ok && !strings.Contains(e["message"].(string), tc.field) {
					t.Fatalf("field %s not named: %v", tc.field, e)
				}
			}
		})
	}
	for _, path := range []string{"/api/v1/contacts", "/api/v1/contacts/count", "/api/v1/contacts/uuids", "/api/v1/contacts/fields/titles"} {
		w.rest(t, "", "GET", path, nil).wantError(http.StatusUnauthorized, "unauthorized")
	}
	w.rest(t, "", "POST", "/api/v1/contacts/search", map[string]any{}).wantError(http.StatusUnauthorized, "unauthorized")
}

func slicesContain(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestRESTResourceLists(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tok := w.admin.token
	g, err := w.cmds.CreateGroup(ctx, commands.CreateGroup{AccountID: w.admin.accountID, ActorID: w.admin.userID, Fields: map[string]any{"name": "VIP 100%"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, title := range []string{"vip", "lead"} {
		if _, err := w.cmds.CreateLabel(ctx, commands.CreateLabel{AccountID: w.admin.accountID, ActorID: w.admin.userID, Fields: map[string]any{"title": title}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.cmds.AddContactLabels(ctx, commands.ChangeContactLabels{ContactRef: commands.ContactRef{AccountID: w.admin.accountID, ID: w.ada}, Labels: []string{"vip"}}); err != nil {
		t.Fatal(err)
	}
	w.otherCompany(t)
	w.project(t)

	names := func(path, key string) (float64, []string) {
		t.Helper()
		r := w.rest(t, tok, "GET", path, nil).want(http.StatusOK).obj()
		var out []string
		for _, d := range list(r["results"]) {
			out = append(out, d.(map[string]any)[key].(string))
		}
		n, _ := r["count"].(float64)
		return n, out
	}
	if n, got := names("/api/v1/companies", "name"); n != 2 || strings.Join(got, ",") != "Acme Corp,Globex" {
		t.Fatalf("companies: %v %v", n, got)
	}
	if n, got := names("/api/v1/companies?search=GLO", "name"); n != 1 || strings.Join(got, ",") != "Globex" {
		t.Fatalf("companies search: %v %v", n, got)
	}
	if n, got := names("/api/v1/companies?limit=1&offset=1", "name"); n != 2 || strings.Join(got, ",") != "Globex" {
		t.Fatalf("companies page: %v %v", n, got)
	}
	if n, got := names("/api/v1/groups?search=100%25", "name"); n != 1 || got[0] != "VIP 100%" {
		t.Fatalf("groups: %v %v", n, got)
	}
	if n, _ := names("/api/v1/groups?search=_", "name"); n != 0 {
		t.Fatalf("LIKE wildcard not escaped: %v", n)
	}
	r := w.rest(t, tok, "GET", "/api/v1/labels", nil).want(http.StatusOK).obj()
	labels := list(r["results"])
	if len(labels) != 2 || labels[0].(map[string]any)["title"] != "lead" || labels[1].(map[string]any)["usage_count"] != 1.0 ||
		labels[0].(map[string]any)["usage_count"] != 0.0 {
		t.Fatalf("labels: %v", r)
	}
	_ = g
	w.rest(t, tok, "GET", "/api/v1/labels?limit=0", nil).wantError(http.StatusUnprocessableEntity, "validation_error")
	w.rest(t, tok, "GET", "/api/v1/labels?offset=x", nil).wantError(http.StatusUnprocessableEntity, "validation_error")
	w.rest(t, "", "GET", "/api/v1/labels", nil).wantError(http.StatusUnauthorized, "unauthorized")
	if n, _ := names("/api/v1/companies", "name"); n != 2 {
		t.Fatal("other account's company listed")
	}
}
