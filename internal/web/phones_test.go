package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"contacts/domain/contact"
	"contacts/eventstore"
)

// Issue #13: "(415) 555-0123" typed without +1 was stored as +4155550123
// (Switzerland). With the account's default_phone_region (or a region
// given with the request) it is read as a US number; without one it is
// refused, never misread; an invalid number is a 422 naming the field, on
// every write path (REST, bulk, WebSocket, CSV import).
func TestPhoneRegions(t *testing.T) {
	e := newFullEnv(t)
	admin := e.register(t)

	// No default region yet: a national number is refused, not misread.
	r := admin.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Ada", "phone": "(415) 555-0123"}).
		wantError(http.StatusUnprocessableEntity, "validation_error")
	if p := str(r.errFields()["phone"]); !strings.Contains(p, "default_phone_region") {
		t.Fatalf("problem %q does not say how to accept national numbers", p)
	}

	// The setting: validated, stored upper-case, readable.
	admin.do("PATCH", "/api/v1/account", map[string]any{"settings": map[string]any{"default_phone_region": "USA"}}).
		wantError(http.StatusUnprocessableEntity, "validation_error")
	acc := admin.do("PATCH", "/api/v1/account", map[string]any{"settings": map[string]any{"default_phone_region": "us"}}).
		want(http.StatusOK).obj()
	if s := acc["settings"].(map[string]any); s["default_phone_region"] != "US" {
		t.Fatalf("settings: %v", s)
	}
	agent := e.agentIn(t, admin)
	agent.do("PATCH", "/api/v1/account", map[string]any{"settings": map[string]any{"default_phone_region": "GB"}}).
		wantError(http.StatusForbidden, "forbidden")

	// REST create: read in the account's region.
	c := admin.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Ada", "phone": "(415) 555-0123"}).
		want(http.StatusCreated).obj()
	if c["phone"] != "+14155550123" {
		t.Fatalf("phone stored as %v, want +14155550123", c["phone"])
	}
	// Not valid for its country: 422 naming the key the client used.
	r = admin.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Bo", "phone_number": "555-0123"}).
		wantError(http.StatusUnprocessableEntity, "validation_error")
	if _, ok := r.errFields()["phone_number"]; !ok {
		t.Fatalf("error does not name phone_number: %s", r.body)
	}
	admin.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Bo", "mobile_phone": "+4155550123"}).
		wantError(http.StatusUnprocessableEntity, "validation_error")
	// A region for one request.
	c2 := admin.do("POST", "/api/v1/contacts?phone_region=GB", map[string]any{"first_name": "Cy", "mobile_phone": "020 7946 0958"}).
		want(http.StatusCreated).obj()
	if c2["mobile_phone"] != "+442079460958" {
		t.Fatalf("mobile_phone stored as %v", c2["mobile_phone"])
	}
	r = admin.do("POST", "/api/v1/contacts?phone_region=XX", map[string]any{"first_name": "Cy"}).
		wantError(http.StatusUnprocessableEntity, "validation_error")
	if _, ok := r.errFields()["phone_region"]; !ok {
		t.Fatalf("error does not name phone_region: %s", r.body)
	}
	// REST update.
	u := admin.do("PATCH", "/api/v1/contacts/"+str(c["uuid"]), map[string]any{"mobile_phone": "415-555-0124"}).want(http.StatusOK).obj()
	if u["mobile_phone"] != "+14155550124" {
		t.Fatalf("updated mobile_phone %v", u["mobile_phone"])
	}

	// Bulk upsert: a region parameter; a bad phone is an error of its own row.
	b := admin.do("POST", "/api/v1/contacts/bulk", map[string]any{"phone_region": "GB", "contacts": []map[string]any{
		{"first_name": "Di", "phone": "020 7946 0959"}, {"first_name": "Ed", "phone": "020 7"},
	}}).want(http.StatusOK).obj()
	if b["created"] != 1.0 || len(b["errors"].([]any)) != 1 {
		t.Fatalf("bulk: %v", b)
	}
	be := b["errors"].([]any)[0].(map[string]any)
	if be["index"] != 1.0 || be["code"] != "validation_error" || be["fields"].(map[string]any)["phone"] == nil {
		t.Fatalf("bulk error: %v", be)
	}

	// WebSocket create_contact: the account's region.
	ws, _ := e.dialWS(t, "/api/v1/contacts/ws", admin.token)
	if _, a := ws.call("create_contact", map[string]any{"write_key": accessWriteKey, "first_name": "Fay", "phone": "(415) 555-0125"}); a["status"] != "success" ||
		a["data"].(map[string]any)["phone"] != "+14155550125" {
		t.Fatalf("ws create_contact: %v", a)
	}
	if _, a := ws.call("create_contact", map[string]any{"write_key": accessWriteKey, "first_name": "Gus", "phone": "12"}); wsErrCode(a) != "validation_error" {
		t.Fatalf("ws create_contact with a bad phone: %v", a)
	}

	// CSV import: national numbers in the account's region; a bad phone is an error row.
	csvFile := "first_name,phone_number\nHal,(415) 555-0126\nIvy,555-01\nJo,+44 20 7946 0960\n"
	job := admin.do("POST", "/api/v1/contacts/import?upsert_key=phone&file_name=p.csv", csvFile, "Content-Type", "text/csv").
		want(http.StatusAccepted).obj()
	if job["phone_region"] != "US" {
		t.Fatalf("job phone_region: %v", job["phone_region"])
	}
	if err := e.imports.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := admin.do("GET", "/api/v1/contacts/import/"+str(job["job_id"])+"?include_errors=true", nil).want(http.StatusOK).obj()
	if st["status"] != "completed" || st["success_count"] != 2.0 || st["error_count"] != 1.0 {
		t.Fatalf("import: %v", st)
	}
	errs := admin.do("GET", "/api/v1/contacts/import/"+str(job["job_id"])+"/errors", nil).want(http.StatusOK).obj()["errors"].([]any)
	if len(errs) != 1 || !strings.Contains(string(mustJSON(t, errs[0])), "phone") || !strings.Contains(string(mustJSON(t, errs[0])), "Ivy") {
		t.Fatalf("error rows: %v", errs)
	}
	// A region for one import; an unknown one is refused before anything is queued.
	admin.do("POST", "/api/v1/contacts/import?phone_region=Narnia&file_name=p.csv", csvFile, "Content-Type", "text/csv").
		wantError(http.StatusUnprocessableEntity, "validation_error")
	job = admin.do("POST", "/api/v1/contacts/import?phone_region=gb&file_name=q.csv", "first_name,phone_number\nKit,020 7946 0961\n",
		"Content-Type", "text/csv").want(http.StatusAccepted).obj()
	if job["phone_region"] != "GB" {
		t.Fatalf("job phone_region: %v", job["phone_region"])
	}
	if err := e.imports.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := admin.do("GET", "/api/v1/contacts/import/"+str(job["job_id"]), nil).want(http.StatusOK).obj(); st["success_count"] != 1.0 {
		t.Fatalf("import with phone_region: %v", st)
	}
	e.project(t)
	all := string(admin.do("GET", "/api/v1/contacts?limit=100", nil).want(http.StatusOK).body)
	for _, p := range []string{"+14155550126", "+442079460960", "+442079460961", "+442079460959"} {
		if !strings.Contains(all, p) {
			t.Errorf("no contact with %s: %s", p, all)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Numbers stored before the default region by the old reading ("(415)
// 555-0123" → +4155550123) are flagged for administrators, never rewritten.
func TestPhoneReview(t *testing.T) {
	e := newFullEnv(t)
	admin := e.register(t)
	other := e.register(t)
	ctx := context.Background()
	// Contacts as the old code stored them: appended as it appended them.
	legacy := func(account string, p contact.Profile) string {
		t.Helper()
		id := eventstore.NewID()
		p.ReplyBotEnabled = true
		data, err := json.Marshal(contact.ContactCreated{ID: id, AccountID: account, CreatedBy: "legacy", Profile: p})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.Append(ctx, eventstore.AppendRequest{Streams: []eventstore.StreamAppend{{
			AccountID: account, StreamType: contact.StreamType, StreamID: id,
			Events: []eventstore.NewEvent{{Type: contact.ContactCreated{}.EventType(), Data: data}},
		}}}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	misread := legacy(admin.accountID, contact.Profile{FirstName: "Misread", Phone: "+4155550123", MobilePhone: "+14155550100"})
	invalid := legacy(admin.accountID, contact.Profile{FirstName: "Invalid", MobilePhone: "+1234567890"})
	legacy(admin.accountID, contact.Profile{FirstName: "Fine", Phone: "+442079460958"})
	legacy(other.accountID, contact.Profile{FirstName: "Other", Phone: "+4155550124"})
	e.project(t)

	// Never scanned yet.
	if rep := admin.do("GET", "/api/v1/phone_review", nil).want(http.StatusOK).obj(); rep["scan"] != nil || len(rep["items"].([]any)) != 0 {
		t.Fatalf("before any scan: %v", rep)
	}
	admin.do("PATCH", "/api/v1/account", map[string]any{"settings": map[string]any{"default_phone_region": "US"}}).want(http.StatusOK)
	scan := admin.do("POST", "/api/v1/phone_review/scan", nil).want(http.StatusOK).obj()
	if scan["region"] != "US" || scan["checked"] != 4.0 || scan["flagged"] != 2.0 {
		t.Fatalf("scan: %v", scan)
	}
	rep := admin.do("GET", "/api/v1/phone_review", nil).want(http.StatusOK).obj()
	want := []any{
		map[string]any{"entity": "contact", "id": misread, "field": "phone", "stored": "+4155550123",
			"suggested": "+14155550123", "reason": "national_number_read_as_international"},
		map[string]any{"entity": "contact", "id": invalid, "field": "mobile_phone", "stored": "+1234567890",
			"suggested": "", "reason": "invalid"},
	}
	items := rep["items"].([]any)
	if misread > invalid {
		want[0], want[1] = want[1], want[0]
	}
	if string(mustJSON(t, items)) != string(mustJSON(t, want)) || rep["total"] != 2.0 {
		t.Fatalf("review items\n got: %s\nwant: %s", mustJSON(t, items), mustJSON(t, want))
	}
	if page := admin.do("GET", "/api/v1/phone_review?limit=1&offset=1", nil).want(http.StatusOK).obj()["items"].([]any); len(page) != 1 {
		t.Fatalf("page: %v", page)
	}
	// Flagged, not rewritten.
	if c := admin.do("GET", "/api/v1/contacts/"+misread, nil).want(http.StatusOK).obj(); c["phone"] != "+4155550123" {
		t.Fatalf("the flagged contact was changed: %v", c["phone"])
	}
	// Corrected by an ordinary update, it is gone from the next scan.
	admin.do("PATCH", "/api/v1/contacts/"+misread, map[string]any{"phone": "+14155550123"}).want(http.StatusOK)
	e.project(t)
	if s := admin.do("POST", "/api/v1/phone_review/scan", nil).want(http.StatusOK).obj(); s["flagged"] != 1.0 {
		t.Fatalf("scan after the fix: %v", s)
	}
	// Administrators only; one account's scan never shows another's numbers.
	agent := e.agentIn(t, admin)
	agent.do("GET", "/api/v1/phone_review", nil).wantError(http.StatusForbidden, "forbidden")
	agent.do("POST", "/api/v1/phone_review/scan", nil).wantError(http.StatusForbidden, "forbidden")
	if s := other.do("POST", "/api/v1/phone_review/scan", nil).want(http.StatusOK).obj(); s["checked"] != 1.0 || s["flagged"] != 1.0 {
		t.Fatalf("other account's scan: %v", s)
	}
	if rep := other.do("GET", "/api/v1/phone_review", nil).want(http.StatusOK); strings.Contains(string(rep.body), misread) {
		t.Fatalf("another account's review shows A's contact: %s", rep.body)
	}
}
