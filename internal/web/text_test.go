package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
)

// The text rule (internal/text) at the REST edge: query and path
// parameters of every route, and JSON bodies.

func TestTextRuleQueryOnEveryRoute(t *testing.T) {
	e := newFullEnv(t)
	v := newVictim(t, e)
	n := 0
	for _, rt := range e.routes() {
		path := v.fill(rt.Path)
		for _, bad := range []string{"%00", "a%FFb", "%C3"} {
			var body any
			if rt.Method != "GET" && rt.Method != "DELETE" {
				body = map[string]any{}
			}
			r := v.admin.do(rt.Method, path+"?search="+bad, body)
			if r.status != http.StatusUnprocessableEntity || r.errCode() != "validation_error" || r.errFields()["search"] == nil {
				t.Errorf("%s %s?search=%s: %d %s", rt.Method, rt.Path, bad, r.status, r.body)
			}
			n++
		}
	}
	t.Logf("%d requests over %d routes", n, len(e.routes()))
	// A path parameter that is not text at all.
	r := v.admin.do("GET", "/api/v1/contacts/import/%00", nil).wantError(http.StatusUnprocessableEntity, "validation_error")
	if r.errFields()["job_id"] == nil {
		t.Errorf("path parameter not named: %s", r.body)
	}
}

func TestTextRuleBodies(t *testing.T) {
	e := newFullEnv(t)
	a := e.register(t)
	id := str(a.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Ada", "phone": "+14155550100"}).want(http.StatusCreated).obj()["uuid"])
	a.do("PUT", "/api/v1/contacts/"+id+"/assignment", map[string]any{"assigned_to": []string{a.userID}}).want(http.StatusOK)
	events := func() int {
		var n int
		if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := events()
	cases := []struct {
		method, path, body string
		status             int
		code, field        string
	}{
		{"POST", "/api/v1/contacts", `{"first_name":"a\u0000b"}`, 422, "validation_error", "first_name"},
		{"POST", "/api/v1/contacts", "{\"first_name\":\"a\xffb\"}", 422, "validation_error", "first_name"},
		{"POST", "/api/v1/contacts", `{"first_name":"\ud800"}`, 422, "validation_error", "first_name"},
		{"POST", "/api/v1/contacts", `{"first_name":"Ann","custom_attributes":{"k":["x","\u0000"]}}`, 422, "validation_error", "custom_attributes.k[1]"},
		{"POST", "/api/v1/contacts", `{"first_name":"A"}{"first_name":"B"}`, 400, "invalid_json", ""},
		{"POST", "/api/v1/contacts", `null`, 400, "invalid_json", ""},
		{"PUT", "/api/v1/contacts/" + id, `{"city":"x\u0000"}`, 422, "validation_error", "city"},
		{"PUT", "/api/v1/contacts/" + id, `{"city":"A"} {"city":"B"}`, 400, "invalid_json", ""},
		{"PUT", "/api/v1/contacts/" + id + "/assignment", `null`, 400, "invalid_json", ""},
		{"PUT", "/api/v1/contacts/" + id + "/assignment", `{"assigned_to":[]} {}`, 400, "invalid_json", ""},
		{"POST", "/api/v1/contacts/" + id + "/notes", `{"content":"\u0000"}`, 422, "validation_error", "content"},
		{"POST", "/api/v1/companies", `{"name":"Acme\u0000"}`, 422, "validation_error", "name"},
		{"POST", "/api/v1/groups", `{"name":"G\u0000"}`, 422, "validation_error", "name"},
		{"POST", "/api/v1/labels", `{"title":"` + "\xc3" + `"}`, 422, "validation_error", "title"},
		{"POST", "/api/v1/contacts/bulk", `{"contacts":[{"phone":"+14155550101","first_name":"x\u0000"}]}`, 422, "validation_error", "contacts[0].first_name"},
		{"POST", "/api/v1/contacts/export", `{"first_name":"\u0000"}`, 422, "validation_error", "first_name"},
		{"POST", "/api/v1/api_keys", `{"name":"k\u0000","scopes":["read_contacts"]}`, 422, "validation_error", "name"},
	}
	for _, c := range cases {
		r := a.do(c.method, c.path, c.body)
		if r.status != c.status || r.errCode() != c.code {
			t.Errorf("%s %s %q: %d %s", c.method, c.path, c.body, r.status, r.body)
			continue
		}
		if c.field != "" && r.errFields()[c.field] == nil {
			t.Errorf("%s %s %q: field %s not named: %s", c.method, c.path, c.body, c.field, r.body)
		}
	}
	if after := events(); after != before {
		t.Errorf("refused requests appended %d events", after-before)
	}
	// The null body did not clear the assignment.
	got := a.do("GET", "/api/v1/contacts/"+id, nil).want(http.StatusOK).obj()["assigned_to"]
	if l, _ := got.([]any); len(l) != 1 {
		t.Errorf("assignment after a null body: %v", got)
	}
	// An export body may be a condition list, but not null.
	a.do("POST", "/api/v1/contacts/export", `[{"attribute_key":"city","filter_operator":"equal_to","values":["x"]}]`).want(http.StatusOK)
	a.do("POST", "/api/v1/contacts/export", `null`).wantError(http.StatusBadRequest, "invalid_json")
	// Text that is text goes through.
	a.do("POST", "/api/v1/contacts", `{"first_name":"Zoë \ud83d\ude42","last_name":"�"}`).want(http.StatusCreated)
}

func TestAuditLogBeforeOverflow(t *testing.T) {
	e := newFullEnv(t)
	a := e.register(t)
	for _, before := range []string{"9223372036854775807", "2147483648"} {
		a.do("GET", "/api/v1/audit_log?before="+before, nil).want(http.StatusOK)
	}
	r := a.do("GET", "/api/v1/audit_log?before=9223372036854775808", nil).wantError(http.StatusUnprocessableEntity, "validation_error")
	if !strings.Contains(string(r.body), "before") {
		t.Errorf("field not named: %s", r.body)
	}
}

// CSV export neutralises cells a spreadsheet would run as formulas (OWASP:
// a single quote before =, +, -, @, tab, CR); our import strips that quote,
// so the export imports back unchanged (E.164 phones included).
func TestExportNeutralisesFormulasAndImportsBack(t *testing.T) {
	e := newFullEnv(t)
	a := e.register(t)
	a.do("POST", "/api/v1/contacts", map[string]any{"first_name": `=HYPERLINK("http://evil.test","x")`, "last_name": "-2+3",
		"title": "@SUM(A1)", "email": "ann@x.test", "phone": "+14155550100", "city": "Paris", "labels": []string{"+vip", "b"}}).
		want(http.StatusCreated)
	e.project(t)
	r := a.do("POST", "/api/v1/contacts/export", map[string]any{"columns": []string{"first_name", "last_name", "title", "email", "phone", "city", "labels"}}).
		want(http.StatusOK)
	recs, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("export: %v %q", err, r.body)
	}
	want := []string{`'=HYPERLINK("http://evil.test","x")`, "'-2+3", "'@SUM(A1)", "ann@x.test", "'+14155550100", "Paris", "'+vip, b"}
	if strings.Join(recs[1], "|") != strings.Join(want, "|") {
		t.Fatalf("exported row %q, want %q", recs[1], want)
	}
	// Imported into another account, the values are the original ones.
	b := e.register(t)
	job := str(b.do("POST", "/api/v1/contacts/import", string(r.body), "Content-Type", "text/csv").want(http.StatusAccepted).obj()["job_id"])
	if err := e.imports.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := b.do("GET", "/api/v1/contacts/import/"+job, nil).want(http.StatusOK).obj(); st["status"] != "completed" || st["success_count"] != 1.0 {
		t.Fatalf("import: %v", st)
	}
	e.project(t)
	got := b.do("GET", "/api/v1/contacts", nil).want(http.StatusOK).obj()
	res, _ := got["results"].([]any)
	if len(res) != 1 {
		t.Fatalf("contacts: %v", got)
	}
	c := res[0].(map[string]any)
	if c["first_name"] != `=HYPERLINK("http://evil.test","x")` || c["last_name"] != "-2+3" || c["title"] != "@SUM(A1)" || c["phone"] != "+14155550100" {
		t.Fatalf("imported back: %v", c)
	}
}
