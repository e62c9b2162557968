package web_test

import (
	"fmt"
	"net/http"
	"testing"
)

func TestCompanies(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	co := s.do("POST", "/api/v1/companies", map[string]any{
		"name": "Acme Corp", "industries": "Software, Cloud", "keywords": []string{"saas"},
		"technologies": []string{"Go", "PostgreSQL"}, "employees": 120, "annual_revenue": 2.5e6, "city": "Austin", "country": "United States",
	}).want(http.StatusCreated)
	c := co.obj()
	id := str(c["id"])
	if co.header.Get("Location") != "/api/v1/companies/"+id || fmt.Sprint(c["industries"]) != "[Software Cloud]" || c["employees"] != float64(120) {
		t.Fatalf("company: %s", co.body)
	}
	u := s.do("PATCH", "/api/v1/companies/"+id, map[string]any{"employees": 150}, "If-Match", `"1"`).want(http.StatusOK).obj()
	if u["employees"] != float64(150) || u["name"] != "Acme Corp" {
		t.Fatalf("update: %v", u)
	}
	s.do("PATCH", "/api/v1/companies/"+id, map[string]any{"employees": 1.5}).wantError(http.StatusUnprocessableEntity, "validation_error")
	s.do("PATCH", "/api/v1/companies/"+id, map[string]any{"employees": -1}).wantError(http.StatusUnprocessableEntity, "validation_error")
	s.do("POST", "/api/v1/companies", map[string]any{"industries": "x"}).wantError(http.StatusUnprocessableEntity, "validation_error")
	s.do("POST", "/api/v1/companies", map[string]any{"name": "X", "revenue": 1}).wantError(http.StatusUnprocessableEntity, "validation_error")

	// Contacts link to live companies of the account.
	contact := s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Ada", "company_id": id}).want(http.StatusCreated).obj()
	if contact["company_id"] != id {
		t.Fatalf("company link: %v", contact)
	}
	agent := e.agentIn(t, s)
	agent.do("DELETE", "/api/v1/companies/"+id, nil).wantError(http.StatusForbidden, "forbidden")
	s.do("DELETE", "/api/v1/companies/"+id, nil).want(http.StatusOK)
	s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Bob", "company_id": id}).wantError(http.StatusUnprocessableEntity, "validation_error")
}

func TestGroups(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	a := str(s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "A"}).want(http.StatusCreated).obj()["uuid"])
	b := str(s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "B"}).want(http.StatusCreated).obj()["uuid"])
	g := s.do("POST", "/api/v1/groups", map[string]any{"name": "VIP Customers", "description": "High value"}).want(http.StatusCreated).obj()
	id := str(g["id"])
	s.do("POST", "/api/v1/groups", map[string]any{"name": "vip customers"}).wantError(http.StatusConflict, "duplicate")
	s.do("POST", "/api/v1/groups", map[string]any{"description": "no name"}).wantError(http.StatusUnprocessableEntity, "validation_error")

	m := s.do("POST", "/api/v1/groups/"+id+"/add", map[string]any{"contact_ids": []string{a, b}}).want(http.StatusOK).obj()
	if m["member_count"] != float64(2) {
		t.Fatalf("members: %v", m)
	}
	s.do("POST", "/api/v1/groups/"+id+"/add", map[string]any{"contact_ids": []string{"nope"}}).wantError(http.StatusUnprocessableEntity, "validation_error")
	s.do("POST", "/api/v1/groups/"+id+"/add", map[string]any{"contact_ids": []string{}}).wantError(http.StatusUnprocessableEntity, "validation_error")
	m = s.do("POST", "/api/v1/groups/"+id+"/remove", map[string]any{"contact_ids": []string{a}}).want(http.StatusOK).obj()
	if m["member_count"] != float64(1) {
		t.Fatalf("after remove: %v", m)
	}
	r := s.do("PUT", "/api/v1/groups/"+id, map[string]any{"name": "Premium"}).want(http.StatusOK).obj()
	if r["name"] != "Premium" || r["description"] != "High value" {
		t.Fatalf("rename: %v", r)
	}
	// The old name is free again after the rename.
	s.do("POST", "/api/v1/groups", map[string]any{"name": "VIP Customers"}).want(http.StatusCreated)

	s.do("DELETE", "/api/v1/groups/"+id, nil).want(http.StatusOK)
	// Its contacts live on.
	s.do("GET", "/api/v1/contacts/"+b, nil).want(http.StatusOK)
	s.do("POST", "/api/v1/groups/"+id+"/add", map[string]any{"contact_ids": []string{a}}).wantError(http.StatusConflict, "deleted")
}

func TestLabels(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	l := s.do("POST", "/api/v1/labels", map[string]any{"title": "VIP", "color": "#f00", "description": "VIP customers"}).want(http.StatusCreated).obj()
	id := str(l["id"])
	if l["color"] != "#FF0000" {
		t.Fatalf("label: %v", l)
	}
	s.do("POST", "/api/v1/labels", map[string]any{"title": "vip"}).wantError(http.StatusConflict, "duplicate")
	s.do("POST", "/api/v1/labels", map[string]any{"title": "a,b"}).wantError(http.StatusUnprocessableEntity, "validation_error")
	s.do("PATCH", "/api/v1/labels/"+id, map[string]any{"color": "red"}).wantError(http.StatusUnprocessableEntity, "validation_error")
	s.do("PATCH", "/api/v1/labels/"+id, map[string]any{"description": "Top customers"}).want(http.StatusOK)

	// Deleting a label removes it from every contact that carries it.
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, str(s.do("POST", "/api/v1/contacts", map[string]any{"first_name": fmt.Sprint("C", i), "tags": []string{"vip", "other"}}).
			want(http.StatusCreated).obj()["uuid"]))
	}
	agent := e.agentIn(t, s)
	agent.do("DELETE", "/api/v1/labels/"+id, nil).wantError(http.StatusForbidden, "forbidden")
	s.do("DELETE", "/api/v1/labels/"+id, nil).want(http.StatusOK)
	for _, c := range ids {
		got := s.do("GET", "/api/v1/contacts/"+c+"/labels", nil).want(http.StatusOK).obj()
		if fmt.Sprint(got["labels"]) != "[other]" {
			t.Fatalf("contact %s labels after label delete: %v", c, got["labels"])
		}
	}
	s.do("GET", "/api/v1/labels/"+id, nil).want(http.StatusOK) // still readable, marked deleted
	s.do("DELETE", "/api/v1/labels/"+id, nil).wantError(http.StatusConflict, "deleted")
}
