package web_test

import (
	"net/http"
	"testing"
)

// One PATCH is one version, whatever it changes (fields, labels, custom
// attributes): If-Match with the answer's ETag works for the next write.
func TestPatchIsOneVersion(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	c := s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Ada", "labels": []string{"old"},
		"custom_attributes": map[string]any{"plan": "pro"}}).want(http.StatusCreated).obj()
	path := "/api/v1/contacts/" + str(c["uuid"])
	r := s.do("PATCH", path, map[string]any{"title": "CTO", "labels": []string{"new"},
		"custom_attributes": map[string]any{"plan": nil, "seats": 3}}, "If-Match", `"1"`).want(http.StatusOK)
	if r.header.Get("ETag") != `"2"` || r.obj()["version"] != 2.0 {
		t.Fatalf("PATCH moved the version to %s: %s", r.header.Get("ETag"), r.body)
	}
	got := s.do("GET", path, nil).want(http.StatusOK).obj()
	if got["title"] != "CTO" || len(got["labels"].([]any)) != 1 || got["labels"].([]any)[0] != "new" {
		t.Fatalf("after the PATCH: %v", got)
	}
	r = s.do("PATCH", path+"/custom_attributes", map[string]any{"custom_attributes": map[string]any{"seats": nil, "eu": true}},
		"If-Match", `"2"`).want(http.StatusOK)
	if r.header.Get("ETag") != `"3"` {
		t.Fatalf("PATCH custom_attributes moved the version to %s", r.header.Get("ETag"))
	}
}

// GET with If-None-Match naming the current ETag answers 304 without a body;
// another ETag, or none, gets the contact.
func TestIfNoneMatch(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	c := s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Ada"}).want(http.StatusCreated).obj()
	path := "/api/v1/contacts/" + str(c["uuid"])
	for _, inm := range []string{`"1"`, `W/"1"`, `"7", "1"`, `*`} {
		r := s.do("GET", path, nil, "If-None-Match", inm)
		if r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != `"1"` {
			t.Fatalf("If-None-Match %s: %d %q %v", inm, r.status, r.body, r.header)
		}
	}
	s.do("GET", path, nil, "If-None-Match", `"0"`).want(http.StatusOK)
	s.do("PATCH", path, map[string]any{"title": "CTO"}).want(http.StatusOK)
	if r := s.do("GET", path, nil, "If-None-Match", `"1"`).want(http.StatusOK); r.obj()["title"] != "CTO" {
		t.Fatalf("a changed contact: %s", r.body)
	}
	// Errors are never turned into 304.
	s.do("GET", "/api/v1/contacts/0190a5a4-2222-7000-8000-00000000dead", nil, "If-None-Match", `*`).
		wantError(http.StatusNotFound, "not_found")
}

// A label that came with an update of other fields (one contact.updated
// event) is still removed from the contact when the label is deleted.
func TestDeletedLabelLeavesUpdatedContacts(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	l := s.do("POST", "/api/v1/labels", map[string]any{"title": "vip"}).want(http.StatusCreated).obj()
	c := s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Ada"}).want(http.StatusCreated).obj()
	path := "/api/v1/contacts/" + str(c["uuid"])
	s.do("PATCH", path, map[string]any{"title": "CTO", "labels": []string{"vip"}}).want(http.StatusOK)
	s.do("DELETE", "/api/v1/labels/"+str(l["id"]), nil).want(http.StatusOK)
	if got := s.do("GET", path, nil).want(http.StatusOK).obj(); len(got["labels"].([]any)) != 0 {
		t.Fatalf("labels after the label's deletion: %v", got["labels"])
	}
}
