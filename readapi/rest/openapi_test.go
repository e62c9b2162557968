package rest_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"contacts/domain"
	"contacts/readapi"
	"contacts/readapi/rest"
)

// TestOpenAPIAccountCopies: each path of the document under
// /api/v1/accounts/{account_id} (written by gen_openapi_accounts.py) is its
// /api/v1 path with the account_id path parameter, operation by operation,
// so the copies cannot drift from the routes they describe.
func TestOpenAPIAccountCopies(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rest.OpenAPIDocument(), &doc); err != nil {
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
			t.Errorf("%s is stale: run go generate ./readapi/rest", path)
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
	if err := json.Unmarshal(rest.OpenAPIDocument(), &doc); err != nil {
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
