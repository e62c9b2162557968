package readapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"contacts/domain"
	"contacts/readapi"
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
	if doc.OpenAPI != "3.1.0" || string(r.body) != string(readapi.OpenAPIDocument()) {
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

// TestOpenAPIAccountCopies: each path of the document under
// /api/v1/accounts/{account_id} (written by gen_openapi_accounts.py) is its
// /api/v1 path with the account_id path parameter, operation by operation,
// so the copies cannot drift from the routes they describe.
func TestOpenAPIAccountCopies(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(readapi.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, item := range doc.Paths {
		rest, ok := strings.CutPrefix(path, "/api/v1/accounts/{account_id}")
		if !ok {
			continue
		}
		n++
		of := "/api/v1" + rest
		if rest == "" {
			of = "/api/v1/account"
		}
		plain, ok := doc.Paths[of]
		if !ok {
			t.Errorf("%s: derived from %s, which is not in the document", path, of)
			continue
		}
		// The copy less the account parameter and the operation ids'
		// suffix is the plain path item.
		got := map[string]any{}
		for method, v := range item {
			op, _ := v.(map[string]any)
			cp := map[string]any{}
			for k, ov := range op {
				cp[k] = ov
			}
			id, _ := op["operationId"].(string)
			if !strings.HasSuffix(id, "InAccount") {
				t.Errorf("%s %s: operationId %q lacks the InAccount suffix", method, path, id)
			}
			cp["operationId"] = strings.TrimSuffix(id, "InAccount")
			params, _ := op["parameters"].([]any)
			if p, _ := first(params).(map[string]any); p["name"] != "account_id" || p["in"] != "path" || p["required"] != true {
				t.Errorf("%s %s: first parameter %v, want the account_id path parameter", method, path, first(params))
				continue
			}
			delete(cp, "parameters")
			if len(params) > 1 {
				cp["parameters"] = params[1:]
			}
			got[method] = cp
		}
		if !reflect.DeepEqual(got, plain) {
			t.Errorf("%s is stale: run go generate ./readapi", path)
		}
	}
	if n < 50 {
		t.Fatalf("only %d account-scoped paths", n)
	}
}

func first(l []any) any {
	if len(l) == 0 {
		return nil
	}
	return l[0]
}

// TestOpenAPIFiltersAreParsed: every query parameter the document gives the
// contact queries is one the query parser knows.
func TestOpenAPIFiltersAreParsed(t *testing.T) {
	type param struct{ Name, In, Ref string }
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				param
				Ref string `json:"$ref"`
			} `json:"parameters"`
		} `json:"paths"`
		Components struct {
			Parameters map[string]param `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(readapi.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range []string{"/api/v1/contacts", "/api/v1/contacts/count", "/api/v1/contacts/uuids", "/api/v1/contacts/fields/titles"} {
		for _, pr := range doc.Paths[path]["get"].Parameters {
			p := pr.param
			if pr.Ref != "" {
				var ok bool
				if p, ok = doc.Components.Parameters[strings.TrimPrefix(pr.Ref, "#/components/parameters/")]; !ok {
					t.Fatalf("dangling %s", pr.Ref)
				}
			}
			if p.In != "query" {
				continue
			}
			n++
			v := url.Values{p.Name: {"x"}}
			_, err := readapi.ParseQueryValues(v)
			if strings.HasSuffix(path, "titles") {
				_, _, err = readapi.ParseFieldOptions(readapi.DataFromValues(v))
			}
			var de *domain.Error
			if errors.As(err, &de) && de.Fields[p.Name] == "unknown filter" {
				t.Errorf("%s: parameter %s is unknown to the parser", path, p.Name)
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d parameters checked", n)
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
	if err := json.Unmarshal(readapi.OpenAPIDocument(), &doc); err != nil {
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
