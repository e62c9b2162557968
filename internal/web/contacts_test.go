package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func countEvents(t *testing.T, e *env, accountID string) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE account_id = $1`, accountID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestContactLifecycle(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)

	created := s.do("POST", "/api/v1/contacts", map[string]any{
		"first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.COM", "phone": "+44 20 7123 4567",
		"title": "Analyst", "departments": "engineering, research", "tags": []string{"vip"},
		"custom_attributes": map[string]any{"tier": "gold"},
	}).want(http.StatusCreated)
	c := created.obj()
	id := str(c["uuid"])
	if id == "" || created.header.Get("Location") != "/api/v1/contacts/"+id || created.header.Get("ETag") != `"1"` {
		t.Fatalf("create answer: %s headers %v", created.body, created.header)
	}
	if c["email"] != "Ada@example.com" || c["phone"] != "+442071234567" || c["name"] != "Ada Lovelace" {
		t.Fatalf("values not normalised: %s", created.body)
	}
	if fmt.Sprint(c["departments"]) != "[engineering research]" || fmt.Sprint(c["labels"]) != "[vip]" {
		t.Fatalf("lists: %s", created.body)
	}

	// Partial update: only the sent fields change; attributes merge.
	u := s.do("PATCH", "/api/v1/contacts/"+id, map[string]any{"title": "CTO", "custom_attributes": map[string]any{"plan": "pro"}},
		"If-Match", `"1"`).want(http.StatusOK).obj()
	if u["title"] != "CTO" || u["first_name"] != "Ada" || u["version"].(float64) < 2 {
		t.Fatalf("update: %v", u)
	}
	attrs := u["custom_attributes"].(map[string]any)
	if attrs["tier"] != "gold" || attrs["plan"] != "pro" {
		t.Fatalf("custom attributes not merged: %v", attrs)
	}
	version := int(u["version"].(float64))

	// A stale If-Match is refused and changes nothing.
	s.do("PATCH", "/api/v1/contacts/"+id, map[string]any{"title": "CEO"}, "If-Match", `"1"`).wantError(http.StatusPreconditionFailed, "version_mismatch")
	s.do("PATCH", "/api/v1/contacts/"+id, map[string]any{"title": "CEO"}, "If-Match", `abc`).wantError(http.StatusBadRequest, "invalid_if_match")
	got := s.do("GET", "/api/v1/contacts/"+id, nil).want(http.StatusOK)
	if got.obj()["title"] != "CTO" || got.header.Get("ETag") != fmt.Sprintf(`"%d"`, version) {
		t.Fatalf("after refused update: %s", got.body)
	}

	// Inactivate / activate, with the invalid transitions refused.
	in := s.do("POST", "/api/v1/contacts/"+id+"/inactivate", nil).want(http.StatusOK).obj()
	if in["active"] != false || in["inactivated_at"] == nil {
		t.Fatalf("inactivate: %v", in)
	}
	s.do("POST", "/api/v1/contacts/"+id+"/inactivate", nil).wantError(http.StatusConflict, "invalid_state")
	s.do("POST", "/api/v1/contacts/"+id+"/activate", nil).want(http.StatusOK)
	s.do("POST", "/api/v1/contacts/"+id+"/activate", nil).wantError(http.StatusConflict, "invalid_state")

	// Soft delete: nothing changes a deleted contact but restore.
	d := s.do("DELETE", "/api/v1/contacts/"+id, nil).want(http.StatusOK).obj()
	if d["deleted"] != true {
		t.Fatalf("delete: %v", d)
	}
	s.do("PATCH", "/api/v1/contacts/"+id, map[string]any{"title": "X"}).wantError(http.StatusConflict, "deleted")
	s.do("POST", "/api/v1/contacts/"+id+"/notes", map[string]any{"content": "hi"}).wantError(http.StatusConflict, "deleted")
	s.do("DELETE", "/api/v1/contacts/"+id, nil).wantError(http.StatusConflict, "invalid_state")
	r := s.do("POST", "/api/v1/contacts/"+id+"/restore", nil).want(http.StatusOK).obj()
	if r["deleted"] != false || r["title"] != "CTO" {
		t.Fatalf("restore: %v", r)
	}

	// History: every event, with who made it.
	h := s.do("GET", "/api/v1/contacts/"+id+"/events", nil).want(http.StatusOK).obj()
	evs := h["events"].([]any)
	if len(evs) < 6 { // created, updated (one event for title and attributes), inactivated, activated, deleted, restored
		t.Fatalf("history has %d events", len(evs))
	}
	first := evs[0].(map[string]any)
	if first["event_type"] != "contact.created" || first["metadata"].(map[string]any)["actor"] != s.userID {
		t.Fatalf("first event: %v", first)
	}
}

func TestContactBadInput(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	id := str(s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Ada"}).want(http.StatusCreated).obj()["uuid"])
	before := countEvents(t, e, s.accountID)

	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
		field  string
	}{
		{"malformed JSON", "POST", "/api/v1/contacts", `{"first_name":`, 400, "invalid_json", ""},
		{"trailing data", "POST", "/api/v1/contacts", `{"first_name":"A"} {}`, 400, "invalid_json", ""},
		{"array body", "POST", "/api/v1/contacts", `[]`, 400, "invalid_json", ""},
		{"null body", "POST", "/api/v1/contacts", `null`, 400, "invalid_json", ""},
		{"unknown field", "POST", "/api/v1/contacts", map[string]any{"first_name": "A", "favourite_colour": "red"}, 422, "validation_error", "favourite_colour"},
		{"wrong type", "POST", "/api/v1/contacts", map[string]any{"first_name": 42}, 422, "validation_error", "first_name"},
		{"no identity", "POST", "/api/v1/contacts", map[string]any{"title": "CEO"}, 422, "validation_error", "first_name"},
		{"name too long", "POST", "/api/v1/contacts", map[string]any{"first_name": strings.Repeat("a", 51)}, 422, "validation_error", "first_name"},
		{"bad e-mail", "POST", "/api/v1/contacts", map[string]any{"first_name": "A", "email": "not-an-email"}, 422, "validation_error", "email"},
		{"bad phone", "POST", "/api/v1/contacts", map[string]any{"first_name": "A", "phone": "call me"}, 422, "validation_error", "phone"},
		{"bad uuid", "POST", "/api/v1/contacts", map[string]any{"uuid": "nope", "first_name": "A"}, 422, "validation_error", "uuid"},
		{"bad company id", "POST", "/api/v1/contacts", map[string]any{"first_name": "A", "company_id": "nope"}, 422, "validation_error", "company_id"},
		{"unknown company", "POST", "/api/v1/contacts", map[string]any{"first_name": "A", "company_id": "0190a5a4-0000-7000-8000-000000000000"}, 422, "validation_error", "company_id"},
		{"oversize body", "POST", "/api/v1/contacts", map[string]any{"first_name": "A", "text_search": strings.Repeat("x", 70<<10)}, 413, "payload_too_large", ""},
		{"update unknown field", "PATCH", "/api/v1/contacts/" + id, map[string]any{"nope": 1}, 422, "validation_error", "nope"},
		{"update wrong type", "PATCH", "/api/v1/contacts/" + id, map[string]any{"opt_out": "yes"}, 422, "validation_error", "opt_out"},
		{"malformed id", "GET", "/api/v1/contacts/not-a-uuid", nil, 404, "not_found", ""},
		{"unknown id", "PATCH", "/api/v1/contacts/0190a5a4-0000-7000-8000-000000000000", map[string]any{"title": "x"}, 404, "not_found", ""},
		{"note without content", "POST", "/api/v1/contacts/" + id + "/notes", map[string]any{}, 422, "validation_error", "content"},
		{"labels wrong type", "POST", "/api/v1/contacts/" + id + "/labels", map[string]any{"labels": "vip"}, 422, "validation_error", "labels"},
		{"merge bad ids", "POST", "/api/v1/contacts/merge", map[string]any{"base_contact_id": "x", "mergee_contact_id": id}, 422, "validation_error", "base_contact_id"},
		{"merge with itself", "POST", "/api/v1/contacts/merge", map[string]any{"base_contact_id": id, "mergee_contact_id": id}, 409, "invalid_state", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(tc.method, tc.path, tc.body).wantError(tc.status, tc.code)
			if tc.field != "" {
				if _, ok := r.errFields()[tc.field]; !ok {
					t.Fatalf("error does not name field %q: %s", tc.field, r.body)
				}
			}
			if m := r.obj()["error"].(map[string]any)["message"]; str(m) == "" {
				t.Fatalf("error without a message: %s", r.body)
			}
		})
	}
	if after := countEvents(t, e, s.accountID); after != before {
		t.Fatalf("failed requests appended %d events", after-before)
	}
}

func TestContactUniquenessPerAccount(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	first := str(s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "A", "phone": "+14155550100", "email": "a@example.com"}).
		want(http.StatusCreated).obj()["uuid"])

	r := s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "B", "phone": "+1 (415) 555-0100"}).wantError(http.StatusConflict, "duplicate")
	if _, ok := r.errFields()["phone"]; !ok {
		t.Fatalf("duplicate error does not name phone: %s", r.body)
	}
	s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "B", "email": "A@EXAMPLE.com"}).wantError(http.StatusConflict, "duplicate")
	second := str(s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "B"}).want(http.StatusCreated).obj()["uuid"])
	s.do("PATCH", "/api/v1/contacts/"+second, map[string]any{"phone": "+14155550100"}).wantError(http.StatusConflict, "duplicate")

	// Another account may hold the same phone.
	other := e.register(t)
	other.do("POST", "/api/v1/contacts", map[string]any{"first_name": "C", "phone": "+14155550100"}).want(http.StatusCreated)

	// Deleting frees the phone; restoring the first contact then conflicts.
	s.do("DELETE", "/api/v1/contacts/"+first, nil).want(http.StatusOK)
	s.do("PATCH", "/api/v1/contacts/"+second, map[string]any{"phone": "+14155550100"}).want(http.StatusOK)
	s.do("POST", "/api/v1/contacts/"+first+"/restore", nil).wantError(http.StatusConflict, "duplicate")

	// A client-chosen uuid is unique too.
	s.do("POST", "/api/v1/contacts", map[string]any{"uuid": second, "first_name": "D"}).wantError(http.StatusConflict, "already_exists")
	chosen := "0190a5a4-1111-7000-8000-00000000abcd"
	got := s.do("POST", "/api/v1/contacts", map[string]any{"uuid": strings.ToUpper(chosen), "first_name": "E"}).want(http.StatusCreated).obj()
	if got["uuid"] != chosen {
		t.Fatalf("chosen uuid: %v", got["uuid"])
	}
}

func TestConcurrentCreatesWithOnePhone(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	var wg sync.WaitGroup
	statuses := make(chan int, 10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			statuses <- s.do("POST", "/api/v1/contacts", map[string]any{"first_name": fmt.Sprint("N", i), "phone": "+4930123456"}).status
		}(i)
	}
	wg.Wait()
	close(statuses)
	created := 0
	for st := range statuses {
		switch st {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Errorf("status %d", st)
		}
	}
	if created != 1 {
		t.Fatalf("%d contacts created with one phone", created)
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	body := map[string]any{"first_name": "Ada", "email": "ada@example.com"}
	first := s.do("POST", "/api/v1/contacts", body, "Idempotency-Key", "create-ada-1").want(http.StatusCreated)
	again := s.do("POST", "/api/v1/contacts", body, "Idempotency-Key", "create-ada-1").want(http.StatusCreated)
	if string(first.body) != string(again.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry answered differently:\n%s\n%s", first.body, again.body)
	}
	if n := countEvents(t, e, s.accountID); n != 1 {
		t.Fatalf("%d events after a retried create, want 1", n)
	}
	s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Bob"}, "Idempotency-Key", "create-ada-1").
		wantError(http.StatusUnprocessableEntity, "idempotency_key_reused")
	// Keys are per account.
	other := e.register(t)
	other.do("POST", "/api/v1/contacts", body, "Idempotency-Key", "create-ada-1").want(http.StatusCreated)
}

func TestSubResources(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	id := str(s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Ada", "notes": "met at the conference"}).want(http.StatusCreated).obj()["uuid"])
	path := "/api/v1/contacts/" + id

	// Labels.
	l := s.do("POST", path+"/labels", map[string]any{"labels": []string{"VIP", "lead"}}).want(http.StatusOK).obj()
	if fmt.Sprint(l["labels"]) != "[lead VIP]" { // sorted, case-insensitively
		t.Fatalf("labels: %v", l)
	}
	s.do("DELETE", path+"/labels", map[string]any{"labels": []string{"vip"}}).want(http.StatusOK)
	if got := s.do("GET", path+"/labels", nil).want(http.StatusOK).obj(); fmt.Sprint(got["labels"]) != "[lead]" {
		t.Fatalf("labels after removal: %v", got)
	}

	// Notes: the create-time note plus one added, edited, removed.
	n := s.do("POST", path+"/notes", map[string]any{"content": "call back Monday"}).want(http.StatusCreated).obj()
	noteID := str(n["id"])
	if n["content"] != "call back Monday" || n["author_id"] != s.userID {
		t.Fatalf("note: %v", n)
	}
	s.do("PATCH", path+"/notes/"+noteID, map[string]any{"content": "call back Tuesday"}).want(http.StatusOK)
	notes := s.do("GET", path+"/notes", nil).want(http.StatusOK).list()
	if len(notes) != 2 || notes[1].(map[string]any)["content"] != "call back Tuesday" {
		t.Fatalf("notes: %v", notes)
	}
	s.do("DELETE", path+"/notes/"+noteID, nil).want(http.StatusOK)
	s.do("DELETE", path+"/notes/"+noteID, nil).wantError(http.StatusNotFound, "not_found")

	// Assignment.
	a := s.do("PUT", path+"/assignment", map[string]any{"assigned_to": []string{s.userID}, "teams": []string{"sales"}}).want(http.StatusOK).obj()
	if fmt.Sprint(a["assigned_to"]) != "["+s.userID+"]" || fmt.Sprint(a["teams"]) != "[sales]" {
		t.Fatalf("assignment: %v", a)
	}

	// Account associations with a role.
	acct := "0190a5a4-2222-7000-8000-000000000001"
	as := s.do("POST", path+"/accounts", map[string]any{"account_id": acct, "name": "Acme Corp", "role": "buyer"}).want(http.StatusOK).obj()
	assoc := as["associated_accounts"].([]any)
	if len(assoc) != 1 || assoc[0].(map[string]any)["role"] != "buyer" {
		t.Fatalf("associations: %v", as)
	}
	s.do("DELETE", path+"/accounts/"+acct, nil).want(http.StatusOK)
	s.do("DELETE", path+"/accounts/"+acct, nil).wantError(http.StatusNotFound, "not_found")

	// Custom attributes: merge, null removes, destroy by key.
	s.do("PATCH", path+"/custom_attributes", map[string]any{"custom_attributes": map[string]any{"a": 1, "b": "x"}}).want(http.StatusOK)
	ca := s.do("PATCH", path+"/custom_attributes", map[string]any{"custom_attributes": map[string]any{"a": nil, "c": true}}).want(http.StatusOK).obj()
	if fmt.Sprint(ca["custom_attributes"]) != "map[b:x c:true]" {
		t.Fatalf("custom attributes: %v", ca["custom_attributes"])
	}
	ca = s.do("POST", path+"/destroy_custom_attributes", map[string]any{"custom_attributes": []string{"b"}}).want(http.StatusOK).obj()
	if fmt.Sprint(ca["custom_attributes"]) != "map[c:true]" {
		t.Fatalf("after destroy: %v", ca["custom_attributes"])
	}
}

func TestMergeContacts(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	winner := str(s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Ada", "tags": []string{"vip"}}).want(http.StatusCreated).obj()["uuid"])
	loser := str(s.do("POST", "/api/v1/contacts", map[string]any{
		"first_name": "Ada L", "phone": "+14155550111", "title": "CTO", "tags": []string{"lead"}, "notes": "old note",
		"custom_attributes": map[string]any{"source": "web"},
	}).want(http.StatusCreated).obj()["uuid"])
	g := str(s.do("POST", "/api/v1/groups", map[string]any{"name": "Newsletter"}).want(http.StatusCreated).obj()["id"])
	s.do("POST", "/api/v1/groups/"+g+"/add", map[string]any{"contact_ids": []string{loser}}).want(http.StatusOK)

	m := s.do("POST", "/api/v1/contacts/merge", map[string]any{"base_contact_id": winner, "mergee_contact_id": loser}).want(http.StatusOK).obj()
	if m["uuid"] != winner || fmt.Sprint(m["labels"]) != "[lead vip]" || m["title"] != "CTO" || m["phone"] != "+14155550111" {
		t.Fatalf("winner after merge: %v", m)
	}
	if len(m["notes"].([]any)) != 1 || m["custom_attributes"].(map[string]any)["source"] != "web" {
		t.Fatalf("winner did not gain notes/attributes: %v", m)
	}
	l := s.do("GET", "/api/v1/contacts/"+loser, nil).want(http.StatusOK).obj()
	if l["merged_into"] != winner {
		t.Fatalf("loser: %v", l)
	}
	s.do("PATCH", "/api/v1/contacts/"+loser, map[string]any{"title": "x"}).wantError(http.StatusConflict, "invalid_state")
	grp := s.do("GET", "/api/v1/groups/"+g, nil).want(http.StatusOK).obj()
	if fmt.Sprint(grp["contact_ids"]) != "["+winner+"]" {
		t.Fatalf("group after merge: %v", grp)
	}
	// The loser's phone moved with it: a new contact cannot take it.
	s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Z", "phone": "+14155550111"}).wantError(http.StatusConflict, "duplicate")
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	owner := e.register(t)
	intruder := e.register(t)
	id := str(owner.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Secret", "email": "secret@example.com"}).want(http.StatusCreated).obj()["uuid"])
	company := str(owner.do("POST", "/api/v1/companies", map[string]any{"name": "Hidden Inc"}).want(http.StatusCreated).obj()["id"])
	group := str(owner.do("POST", "/api/v1/groups", map[string]any{"name": "Hidden"}).want(http.StatusCreated).obj()["id"])
	label := str(owner.do("POST", "/api/v1/labels", map[string]any{"title": "hidden"}).want(http.StatusCreated).obj()["id"])
	before := countEvents(t, e, owner.accountID)

	c := "/api/v1/contacts/" + id
	probes := []struct {
		method, path string
		body         any
	}{
		{"GET", c, nil},
		{"PATCH", c, map[string]any{"title": "pwned"}},
		{"PUT", c, map[string]any{"title": "pwned"}},
		{"DELETE", c, nil},
		{"POST", c + "/restore", nil},
		{"POST", c + "/inactivate", nil},
		{"POST", c + "/activate", nil},
		{"GET", c + "/labels", nil},
		{"POST", c + "/labels", map[string]any{"labels": []string{"x"}}},
		{"DELETE", c + "/labels", map[string]any{"labels": []string{"x"}}},
		{"GET", c + "/notes", nil},
		{"POST", c + "/notes", map[string]any{"content": "x"}},
		{"PUT", c + "/assignment", map[string]any{"assigned_to": []string{"u"}}},
		{"POST", c + "/accounts", map[string]any{"account_id": "0190a5a4-2222-7000-8000-000000000001"}},
		{"PATCH", c + "/custom_attributes", map[string]any{"custom_attributes": map[string]any{"x": 1}}},
		{"POST", c + "/destroy_custom_attributes", map[string]any{"custom_attributes": []string{"x"}}},
		{"GET", c + "/events", nil},
		{"GET", "/api/v1/companies/" + company, nil},
		{"PATCH", "/api/v1/companies/" + company, map[string]any{"name": "x"}},
		{"DELETE", "/api/v1/companies/" + company, nil},
		{"GET", "/api/v1/groups/" + group, nil},
		{"PATCH", "/api/v1/groups/" + group, map[string]any{"name": "x"}},
		{"DELETE", "/api/v1/groups/" + group, nil},
		{"POST", "/api/v1/groups/" + group + "/add", map[string]any{"contact_ids": []string{id}}},
		{"POST", "/api/v1/groups/" + group + "/remove", map[string]any{"contact_ids": []string{id}}},
		{"GET", "/api/v1/labels/" + label, nil},
		{"PATCH", "/api/v1/labels/" + label, map[string]any{"title": "x"}},
		{"DELETE", "/api/v1/labels/" + label, nil},
	}
	for _, p := range probes {
		r := intruder.do(p.method, p.path, p.body)
		if r.status != http.StatusNotFound || strings.Contains(string(r.body), "Secret") || strings.Contains(string(r.body), "Hidden") {
			t.Errorf("%s %s by another account: %d %s", p.method, p.path, r.status, r.body)
		}
	}
	// Using the owner's ids inside the intruder's own writes is refused too.
	mine := str(intruder.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Mine"}).want(http.StatusCreated).obj()["uuid"])
	intruder.do("PATCH", "/api/v1/contacts/"+mine, map[string]any{"company_id": company}).wantError(http.StatusUnprocessableEntity, "validation_error")
	intruder.do("POST", "/api/v1/contacts/merge", map[string]any{"base_contact_id": mine, "mergee_contact_id": id}).wantError(http.StatusNotFound, "not_found")
	myGroup := str(intruder.do("POST", "/api/v1/groups", map[string]any{"name": "Mine"}).want(http.StatusCreated).obj()["id"])
	intruder.do("POST", "/api/v1/groups/"+myGroup+"/add", map[string]any{"contact_ids": []string{id}}).wantError(http.StatusUnprocessableEntity, "validation_error")

	if after := countEvents(t, e, owner.accountID); after != before {
		t.Fatalf("another account's requests appended %d events to the owner's account", after-before)
	}
}

// TestConcurrentUpdatesAllLand: writers without If-Match race on one
// contact; conflicts are retried inside the command, so every change lands
// and the version counts them all.
func TestConcurrentUpdatesAllLand(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	id := str(s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Ada"}).want(http.StatusCreated).obj()["uuid"])
	const writers = 8
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := s.do("PATCH", "/api/v1/contacts/"+id+"/custom_attributes", map[string]any{"custom_attributes": map[string]any{fmt.Sprint("k", i): i}})
			if r.status != http.StatusOK {
				t.Errorf("writer %d: %d %s", i, r.status, r.body)
			}
		}(i)
	}
	wg.Wait()
	got := s.do("GET", "/api/v1/contacts/"+id, nil).want(http.StatusOK).obj()
	if len(got["custom_attributes"].(map[string]any)) != writers || got["version"] != float64(1+writers) {
		t.Fatalf("after %d concurrent writers: version %v, attributes %v", writers, got["version"], got["custom_attributes"])
	}
}
