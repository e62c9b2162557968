package readapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"contacts/domain"
	"contacts/readapi"
)

// TestOpenAPIListsEveryRoute: every /api/v1 route of the router is in the
// document, and every operation of the document is a route.
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
	for _, rt := range engine(t, e.handler).Routes() {
		if !strings.HasPrefix(rt.Path, "/api/v1/") {
			continue
		}
		path := param.ReplaceAllString(rt.Path, "{$1}")
		// Account-scoped routes are served under /api/v1 and, the account
		// named in the path, under /api/v1/accounts/{account_id}: the
		// document describes the first and says so.
		if rest, ok := strings.CutPrefix(path, "/api/v1/accounts/{account_id}"); ok {
			path = "/api/v1" + rest
			if rest == "" {
				path = "/api/v1/account"
			}
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
	if len(routes) < 60 {
		t.Fatalf("only %d routes", len(routes))
	}
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
