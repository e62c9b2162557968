package readapi_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"contacts/readapi/rest"
)

// TestOpenAPIListsEveryRoute: every route the router mounts (health checks,
// /api/v1, and the account-scoped copies under /api/v1/accounts/{account_id})
// is in the document, and every operation of the document is a route.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	r := e.rest(t, "", "GET", "/api/v1/openapi.json", nil).want(http.StatusOK)
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || string(r.body) != string(rest.OpenAPIDocument()) {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	param := regexp.MustCompile(`:([a-z_]+)`)
	routes := map[string]bool{}
	scoped := 0
	for _, rt := range engine(t, e.handler).Routes() {
		path := param.ReplaceAllString(rt.Path, "{$1}")
		if strings.HasPrefix(path, "/api/v1/accounts/{account_id}") {
			scoped++
		}
		routes[strings.ToLower(rt.Method)+" "+path] = true
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented[method+" "+path] = true
		}
	}
	var missing, extra []string
	for r := range routes {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for d := range documented {
		if !routes[d] {
			extra = append(extra, d)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes not documented: %v\ndocumented but not routes: %v", missing, extra)
	}
	if len(routes) < 140 || scoped < 80 || !routes["get /healthz"] || !routes["get /readyz"] {
		t.Fatalf("only %d routes (%d account-scoped)", len(routes), scoped)
	}
}

// TestOpenAPIResourceInputs: the documented company, group and label inputs
// are what the server takes: a body with every documented field (a value
// that fits the schema) is created, and a field the schema does not name is
// refused, as additionalProperties: false says. A fuzzer generating from
// these schemas reaches the handlers instead of the field check.
func TestOpenAPIResourceInputs(t *testing.T) {
	e := newEnv(t)
	u := e.register(t)
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties           map[string]json.RawMessage `json:"properties"`
				AdditionalProperties *bool                      `json:"additionalProperties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(rest.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	// One value per documented field, each within its schema.
	samples := map[string]any{
		"name": "Acme", "domain": "example.com", "industries": []string{"software"}, "keywords": "crm, saas",
		"technologies": []string{"go"}, "employees": 12, "annual_revenue": 1.5e6, "address_line": "1 Main St",
		"city": "Lisbon", "state": "Lisboa", "postcode": "1000-001", "country": "Portugal", "text_search": "acme",
		"phone": "+351 912 345 678", "website": "https://example.com", "description": "about", "title": "vip",
		"color": "#1F93FF",
	}
	for _, c := range []struct{ path, schema string }{
		{"/api/v1/companies", "CompanyInput"}, {"/api/v1/groups", "GroupInput"}, {"/api/v1/labels", "LabelInput"},
	} {
		s, ok := doc.Components.Schemas[c.schema]
		if !ok || len(s.Properties) == 0 {
			t.Fatalf("%s: no schema %s", c.path, c.schema)
		}
		if s.AdditionalProperties == nil || *s.AdditionalProperties {
			t.Errorf("%s: additionalProperties is not false", c.schema)
		}
		body := map[string]any{}
		for name := range s.Properties {
			v, ok := samples[name]
			if !ok {
				t.Fatalf("%s.%s: no sample value", c.schema, name)
			}
			body[name] = v
		}
		created := e.rest(t, u.token, "POST", c.path, body).want(http.StatusCreated).obj()
		id, _ := created["id"].(string)
		e.rest(t, u.token, "PATCH", c.path+"/"+id, map[string]any{"not_a_field": "x"}).wantError(http.StatusUnprocessableEntity, "validation_error")
	}
}
