package readapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"contacts/commands"
	"contacts/domain"
	"contacts/eventstore"
	"contacts/internal/auth"
	"contacts/projections"
	"contacts/readapi"
	"contacts/readapi/ws"
)

func TestWSHandshakeRefusesBadTokens(t *testing.T) {
	e := newEnv(t)
	u := e.register(t)
	cases := map[string]string{
		"missing": "",
		"garbage": "not-a-jwt",
		"tampered": u.token[:len(u.token)-2] + func() string {
			if strings.HasSuffix(u.token, "xx") {
				return "yy"
			}
			return "xx"
		}(),
		"expired": e.expiredToken(t, u),
	}
	for name, token := range cases {
		t.Run(name, func(t *testing.T) {
			conn, res, err := websocket.DefaultDialer.Dial(e.wsURL(token), nil)
			if err == nil {
				conn.Close()
				t.Fatal("upgraded without a valid token")
			}
			if res == nil || res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("want 401, got %v (%v)", res, err)
			}
			body, _ := io.ReadAll(res.Body)
			var m map[string]map[string]any
			if json.Unmarshal(body, &m) != nil || m["error"]["code"] != "unauthorized" || m["error"]["message"] == nil {
				t.Fatalf("body: %s", body)
			}
			if res.Header.Get("Upgrade") != "" {
				t.Fatalf("upgrade header on refusal: %v", res.Header)
			}
		})
	}
	// A plain GET with a valid token is not a WebSocket handshake: 400, JSON.
	r := e.rest(t, "", "GET", "/api/v1/contacts/ws?token="+u.token, nil)
	r.wantError(http.StatusBadRequest, "websocket_upgrade_failed")

	// Authorization: Bearer works too.
	h := http.Header{}
	h.Set("Authorization", "Bearer "+u.token)
	conn, _, err := websocket.DefaultDialer.Dial(e.wsURL(""), h)
	if err != nil {
		t.Fatalf("bearer header: %v", err)
	}
	c := &wsClient{t: t, conn: conn}
	defer conn.Close()
	if got := c.ok("count_contacts", map[string]any{})["count"]; got != 0.0 {
		t.Fatalf("count in a new account: %v", got)
	}
}

func TestWSContactActions(t *testing.T) {
	w := newWorld(t)
	c := w.dial(t, w.admin)

	// list_contacts: the page shape, scoped to the account.
	page := c.ok("list_contacts", map[string]any{})
	if _, ok := page["next"]; !ok {
		t.Fatalf("page lacks next: %v", page)
	}
	if _, ok := page["previous"]; !ok || page["previous"] != nil {
		t.Fatalf("first page previous: %v", page)
	}
	if got := uuidsOf(page["results"]); !sameSet(got, []string{w.ada, w.grace, w.linus}) {
		t.Fatalf("list: %v", got)
	}
	// A filter, and a page of one with a cursor to the next.
	page = c.ok("list_contacts", map[string]any{"country": "United States", "first_name": "ada"})
	if got := uuidsOf(page["results"]); !sameSet(got, []string{w.ada}) {
		t.Fatalf("filtered list: %v", got)
	}
	page = c.ok("list_contacts", map[string]any{"limit": 1})
	next, _ := page["next"].(string)
	if len(list(page["results"])) != 1 || next == "" {
		t.Fatalf("page of one: %v", page)
	}
	page2 := c.ok("list_contacts", map[string]any{"limit": 1, "cursor": next})
	if len(list(page2["results"])) != 1 || uuidsOf(page2["results"])[0] == uuidsOf(page["results"])[0] {
		t.Fatalf("second page: %v", page2)
	}
	if page2["previous"] == nil {
		t.Fatalf("second page has no previous: %v", page2)
	}
	// view=simple answers fewer fields than the full view.
	full := c.ok("list_contacts", map[string]any{"first_name": "Ada"})
	simple := c.ok("list_contacts", map[string]any{"first_name": "Ada", "view": "simple"})
	fr, sr := list(full["results"])[0].(map[string]any), list(simple["results"])[0].(map[string]any)
	if len(sr) >= len(fr) || sr["uuid"] != w.ada {
		t.Fatalf("simple view %v vs full %v", sr, fr)
	}

	// get_contact: the documented fields.
	got := c.ok("get_contact", map[string]any{"contact_uuid": w.ada})
	for k, v := range map[string]any{"uuid": w.ada, "first_name": "Ada", "last_name": "Lovelace", "title": "CEO",
		"company": "Acme Corp", "email": "ada@acme.com", "email_status": "valid", "seniority": "c-level",
		"city": "San Francisco", "state": "CA", "country": "United States"} {
		if got[k] != v {
			t.Fatalf("get_contact %s = %v, want %v: %v", k, got[k], v, got)
		}
	}
	for _, k := range []string{"departments", "created_at", "updated_at"} {
		if _, ok := got[k]; !ok {
			t.Fatalf("get_contact lacks %s: %v", k, got)
		}
	}
	if ts, _ := got["created_at"].(string); !strings.HasSuffix(ts, "Z") {
		t.Fatalf("created_at not ISO UTC: %v", got["created_at"])
	}
	// Upper-case UUIDs are the same contact.
	if c.ok("get_contact", map[string]any{"contact_uuid": strings.ToUpper(w.ada)})["uuid"] != w.ada {
		t.Fatal("upper-case uuid")
	}

	// count_contacts, with and without filters.
	if n := c.ok("count_contacts", map[string]any{})["count"]; n != 3.0 {
		t.Fatalf("count: %v", n)
	}
	if n := c.ok("count_contacts", map[string]any{"country": "United States"})["count"]; n != 2.0 {
		t.Fatalf("filtered count: %v", n)
	}
	if n := c.ok("count_contacts", map[string]any{"employees_min": 50})["count"]; n != 1.0 {
		t.Fatalf("employees_min count: %v", n)
	}

	// get_contact_uuids: all without a limit, at most limit with one.
	ids := c.ok("get_contact_uuids", map[string]any{})
	if ids["count"] != 3.0 || !sameSet(strs(ids["uuids"]), []string{w.ada, w.grace, w.linus}) {
		t.Fatalf("uuids: %v", ids)
	}
	ids = c.ok("get_contact_uuids", map[string]any{"limit": 2})
	if ids["count"] != 2.0 || len(list(ids["uuids"])) != 2 {
		t.Fatalf("uuids limit 2: %v", ids)
	}
	ids = c.ok("get_contact_uuids", map[string]any{"country": "Canada"})
	if ids["count"] != 1.0 || strs(ids["uuids"])[0] != w.linus {
		t.Fatalf("uuids filtered: %v", ids)
	}
	ids = c.ok("get_contact_uuids", map[string]any{"country": "Atlantis"})
	if ids["count"] != 0.0 || ids["uuids"] == nil {
		t.Fatalf("uuids none: %v", ids)
	}
}

func TestWSFieldActions(t *testing.T) {
	w := newWorld(t)
	c := w.dial(t, w.admin)
	distinct := map[string]any{"distinct": true}
	cases := []struct {
		action string
		data   map[string]any
		want   []string
	}{
		{"get_titles", distinct, []string{"CEO", "CTO", "Engineer"}},
		{"get_titles", map[string]any{"distinct": true, "search": "ct"}, []string{"CTO"}},
		{"get_companies", distinct, []string{"Acme Corp", "Globex"}},
		{"get_industries", map[string]any{"distinct": true, "separated": true}, []string{"Technology", "Software", "Finance"}},
		{"get_keywords", map[string]any{"distinct": true, "separated": true, "search": "CLOUD"}, []string{"cloud"}},
		{"get_technologies", map[string]any{"distinct": true, "separated": true}, []string{"Python", "PostgreSQL", "Go"}},
		{"get_company_addresses", distinct, []string{"123 Main St, San Francisco, CA", "456 Oak Ave, Denver, CO"}},
		{"get_contact_addresses", map[string]any{"distinct": true, "search": "denver"}, []string{"1 Navy Way, Denver, CO"}},
		{"get_cities", distinct, []string{"San Francisco", "Denver", "Portland"}},
		{"get_states", distinct, []string{"CA", "CO", "OR"}},
		{"get_countries", distinct, []string{"United States", "Canada"}},
		{"get_company_cities", distinct, []string{"San Francisco", "Denver"}},
		{"get_company_states", distinct, []string{"CA", "CO"}},
		{"get_company_countries", distinct, []string{"United States"}},
		// Filters of the list apply too.
		{"get_titles", map[string]any{"distinct": true, "country": "Canada"}, []string{"Engineer"}},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		seen[tc.action] = true
		got := strs(c.ok(tc.action, tc.data)["results"])
		if !sameSet(got, tc.want) || len(got) != len(tc.want) {
			t.Errorf("%s %v: %q, want %q", tc.action, tc.data, got, tc.want)
		}
	}
	if len(seen) != 13 {
		t.Fatalf("field actions covered: %d", len(seen))
	}
	// limit and offset page through the values.
	all := strs(c.ok("get_cities", map[string]any{"distinct": true})["results"])
	part := strs(c.ok("get_cities", map[string]any{"distinct": true, "limit": 1, "offset": 1})["results"])
	if len(part) != 1 || part[0] != all[1] {
		t.Fatalf("limit/offset: %q of %q", part, all)
	}
	// Without distinct: one value per contact (never fewer than distinct).
	if nd := strs(c.ok("get_countries", map[string]any{})["results"]); len(nd) < 2 {
		t.Fatalf("non-distinct countries: %q", nd)
	}
}

func TestWSErrors(t *testing.T) {
	w := newWorld(t)
	c := w.dial(t, w.admin)

	// Envelope problems: the connection stays open after each.
	c.sendRaw(`{"action": "count_contacts", "request_id": "r1"`)
	if a := c.recv(); a.code() != "invalid_json" || a.RequestID != nil || a.Action != nil {
		t.Fatalf("truncated JSON: %s", a)
	}
	c.sendRaw(`not json at all`)
	if a := c.recv(); a.code() != "invalid_json" {
		t.Fatalf("not JSON: %s", a)
	}
	c.sendRaw(`["count_contacts"]`)
	if a := c.recv(); a.code() != "invalid_json" {
		t.Fatalf("array: %s", a)
	}
	c.sendRaw(`{"action": "count_contacts", "request_id": "r2", "data": [1]}`)
	if a := c.recv(); a.code() != "invalid_json" || a.RequestID != "r2" || a.Action != "count_contacts" {
		t.Fatalf("data not an object: %s", a)
	}
	c.sendRaw(`{"request_id": "r3", "data": {}}`)
	if a := c.recv(); a.code() != "missing_field" || a.RequestID != "r3" || a.Error["message"] != "Missing required field: action" {
		t.Fatalf("no action: %s", a)
	}
	c.sendRaw(`{"action": 7, "request_id": "r4"}`)
	if a := c.recv(); a.code() != "validation_error" || a.RequestID != "r4" {
		t.Fatalf("action not a string: %s", a)
	}
	c.sendRaw(`{"action": "count_contacts", "request_id": 42}`)
	if a := c.recv(); a.Status != "success" || a.RequestID != 42.0 {
		t.Fatalf("numeric request_id not echoed: %s", a)
	}
	c.sendRaw(`{"action": "count_contacts"}`)
	if a := c.recv(); a.Status != "success" || a.RequestID != nil {
		t.Fatalf("no request_id: %s", a)
	}
	if a := c.fail("explode_contacts", map[string]any{}, "unknown_action"); !strings.Contains(a.Error["message"].(string), "explode_contacts") {
		t.Fatalf("unknown action message: %s", a)
	}

	// Per action.
	if a := c.fail("get_contact", map[string]any{}, "missing_field"); a.Error["message"] != "Missing required field: contact_uuid" {
		t.Fatalf("message: %s", a)
	}
	c.fail("get_contact", map[string]any{"contact_uuid": 5}, "validation_error")
	c.fail("get_contact", map[string]any{"contact_uuid": "not-a-uuid"}, "not_found")
	c.fail("get_contact", map[string]any{"contact_uuid": "0190a5a4-0000-7000-8000-000000000000"}, "not_found")
	// Another account's contact does not exist here.
	c.fail("get_contact", map[string]any{"contact_uuid": w.otherHuman}, "not_found")
	if n := c.ok("count_contacts", map[string]any{"first_name": "Eve"})["count"]; n != 0.0 {
		t.Fatalf("other account's contact counted: %v", n)
	}

	// Invalid filters are validation errors naming the field, for every
	// query action.
	for _, action := range []string{"list_contacts", "count_contacts", "get_contact_uuids", "get_titles"} {
		a := c.fail(action, map[string]any{"employees_min": "many"}, "validation_error")
		if !strings.Contains(a.String(), "employees_min") {
			t.Fatalf("%s: field not named: %s", action, a)
		}
	}
	c.fail("list_contacts", map[string]any{"limit": -1}, "validation_error")
	c.fail("list_contacts", map[string]any{"cursor": "%%%garbage"}, "validation_error")
	c.fail("get_contact_uuids", map[string]any{"limit": "ten"}, "validation_error")
	c.fail("get_titles", map[string]any{"distinct": "maybe"}, "validation_error")
	c.fail("get_titles", map[string]any{"offset": -3}, "validation_error")

	// Import actions.
	if a := c.ok("get_import_info", map[string]any{}); a["message"] != "Upload a CSV file via POST to /api/v1/contacts/import/ to start a background import job." {
		t.Fatalf("import info: %v", a)
	}
	c.fail("upload_contacts_csv", map[string]any{"file_data": "YQ=="}, "missing_field")
	c.fail("upload_contacts_csv", map[string]any{"file_name": "c.csv"}, "missing_field")
	c.fail("upload_contacts_csv", map[string]any{"file_name": "c.csv", "file_data": "***"}, "validation_error")
	if a := c.fail("upload_contacts_csv", map[string]any{"file_name": "c.csv", "file_data": base64.StdEncoding.EncodeToString([]byte("first_name\nAda\n"))}, "upload_error"); a.Error["message"] != "CSV import is not available yet" {
		t.Fatalf("upload: %s", a)
	}
	c.fail("get_import_status", map[string]any{}, "missing_field")
	c.fail("get_import_status", map[string]any{"job_id": "j", "include_errors": "yes"}, "validation_error")
	c.fail("get_import_status", map[string]any{"job_id": "0190a5a4-0000-7000-8000-000000000000"}, "import_status_error")
	c.fail("get_import_errors", map[string]any{}, "missing_field")
	c.fail("get_import_errors", map[string]any{"job_id": "0190a5a4-0000-7000-8000-000000000000"}, "import_errors_error")

	// Agents may read but not write.
	ag := w.dial(t, w.agent)
	if n := ag.ok("count_contacts", map[string]any{})["count"]; n != 3.0 {
		t.Fatalf("agent count: %v", n)
	}
	ag.fail("create_contact", map[string]any{"write_key": testWriteKey, "first_name": "Nope"}, "admin_required")
	ag.fail("upload_contacts_csv", map[string]any{"file_name": "c.csv", "file_data": "YQ=="}, "admin_required")
}

// failingService fails every query: the actions' own error codes.
type failingService struct{}

var errBoom = fmt.Errorf("database on fire")

func (failingService) ListContacts(context.Context, string, readapi.Query) (readapi.Page, error) {
	return readapi.Page{}, errBoom
}
func (failingService) GetContact(context.Context, string, string) (doc projections.ContactDoc, ok bool, err error) {
	return doc, false, errBoom
}
func (failingService) CountContacts(context.Context, string, readapi.Query) (int64, error) {
	return 0, errBoom
}
func (failingService) ContactUUIDs(context.Context, string, readapi.Query) ([]string, error) {
	return nil, errBoom
}
func (failingService) FieldValues(context.Context, string, readapi.Field, readapi.Query, readapi.FieldOptions) ([]string, error) {
	return nil, errBoom
}

func TestWSInternalErrorsUseTheActionCode(t *testing.T) {
	w := newWorld(t)
	w.svc.Service = failingService{}
	c := w.dial(t, w.admin)
	for action, code := range map[string]string{
		"list_contacts": "list_error", "get_contact": "get_error", "count_contacts": "count_error",
		"get_contact_uuids": "uuids_error", "get_cities": "field_error", "get_company_countries": "field_error",
	} {
		data := map[string]any{}
		if action == "get_contact" {
			data["contact_uuid"] = w.ada
		}
		a := c.fail(action, data, code)
		if strings.Contains(a.String(), "fire") {
			t.Fatalf("internal cause leaked: %s", a)
		}
	}
}

// fakeImports answers the import actions once the import feature exists.
type fakeImports struct{}

func (fakeImports) Upload(_ context.Context, p auth.Principal, name string, content []byte) (readapi.ImportJob, error) {
	return readapi.ImportJob{JobID: "0190a5a4-0000-7000-8000-00000000000a", Status: "pending", Message: "Queued",
		UploadFilePath: "/uploads/" + name, TotalRows: int64(len(content))}, nil
}

func (fakeImports) Status(_ context.Context, _, jobID string, include bool) (readapi.ImportJob, error) {
	if jobID != "0190a5a4-0000-7000-8000-00000000000a" {
		return readapi.ImportJob{}, domain.NotFound("import job", jobID)
	}
	j := readapi.ImportJob{JobID: jobID, Status: "completed", Message: "Completed"}
	if include {
		j.Errors = []readapi.ImportError{{RowNumber: 5, ErrorMessage: "Invalid email format"}}
	}
	return j, nil
}

func (fakeImports) Errors(_ context.Context, _, jobID string) ([]readapi.ImportError, error) {
	if jobID != "0190a5a4-0000-7000-8000-00000000000a" {
		return nil, domain.NotFound("import job", jobID)
	}
	return []readapi.ImportError{{RowNumber: 5, ErrorMessage: "Invalid email format", RowData: map[string]any{"email": "x"}}}, nil
}

func TestWSImportsInterface(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.imports = fakeImports{} })
	u := e.register(t)
	c := e.dial(t, u)
	job := c.ok("upload_contacts_csv", map[string]any{"file_name": "c.csv", "file_data": base64.StdEncoding.EncodeToString([]byte("abc"))})
	if job["job_id"] != "0190a5a4-0000-7000-8000-00000000000a" || job["status"] != "pending" || job["total_rows"] != 3.0 {
		t.Fatalf("upload: %v", job)
	}
	for _, k := range []string{"success_count", "error_count", "upload_file_path", "error_file_path", "message", "started_at", "finished_at", "created_at", "updated_at"} {
		if _, ok := job[k]; !ok {
			t.Fatalf("job lacks %s: %v", k, job)
		}
	}
	st := c.ok("get_import_status", map[string]any{"job_id": "0190a5a4-0000-7000-8000-00000000000A", "include_errors": true})
	if st["status"] != "completed" || len(list(st["errors"])) != 1 {
		t.Fatalf("status: %v", st)
	}
	c.fail("get_import_status", map[string]any{"job_id": "0190a5a4-0000-7000-8000-00000000000b"}, "not_found")
	c.fail("get_import_status", map[string]any{"job_id": "nope"}, "not_found")
	errs := c.ok("get_import_errors", map[string]any{"job_id": "0190a5a4-0000-7000-8000-00000000000a"})
	if row := list(errs["errors"])[0].(map[string]any); row["row_number"] != 5.0 || row["error_message"] == nil || row["row_data"] == nil {
		t.Fatalf("errors: %v", errs)
	}
	c.fail("get_import_errors", map[string]any{"job_id": "0190a5a4-0000-7000-8000-00000000000b"}, "not_found")
}

func TestWSCreateContact(t *testing.T) {
	w := newWorld(t)
	c := w.dial(t, w.admin)
	before := w.rmContacts(t)

	c.fail("create_contact", map[string]any{"first_name": "A"}, "invalid_write_key")
	c.fail("create_contact", map[string]any{"write_key": "wrong", "first_name": "A"}, "invalid_write_key")
	c.fail("create_contact", map[string]any{"write_key": testWriteKey + "x", "first_name": "A"}, "invalid_write_key")
	c.fail("create_contact", map[string]any{"write_key": 12, "first_name": "A"}, "invalid_write_key")

	// Domain validation: every bad field named.
	a := c.fail("create_contact", map[string]any{"write_key": testWriteKey, "first_name": "A", "email": "nope", "favourite": 1}, "validation_error")
	fields, _ := a.Error["fields"].(map[string]any)
	if fields["email"] == nil || fields["favourite"] == nil || !strings.Contains(a.Error["message"].(string), "email") {
		t.Fatalf("validation error: %s", a)
	}
	c.fail("create_contact", map[string]any{"write_key": testWriteKey, "uuid": "nope", "first_name": "A"}, "validation_error")
	c.fail("create_contact", map[string]any{"write_key": testWriteKey, "uuid": 7, "first_name": "A"}, "validation_error")
	c.fail("create_contact", map[string]any{"write_key": testWriteKey, "first_name": "A", "company_id": w.otherCompany(t)}, "validation_error")
	// A taken e-mail is a validation error on email.
	a = c.fail("create_contact", map[string]any{"write_key": testWriteKey, "first_name": "B", "email": "ada@acme.com"}, "validation_error")
	if f, _ := a.Error["fields"].(map[string]any); f["email"] == nil {
		t.Fatalf("duplicate e-mail: %s", a)
	}

	// Success: the documented shape; the client's uuid is used.
	id := "0190a5a4-0000-7000-8000-0000000000c1"
	c.seq++
	c.send("create_contact", "req-create", map[string]any{
		"write_key": testWriteKey, "uuid": id, "first_name": "John", "last_name": "Doe", "company_id": w.acme,
		"email": "john@example.com", "title": "CEO", "departments": []any{"executive"}, "mobile_phone": "+14155550123", // the protocol's "+1234567890" is not a valid number
		"email_status": "valid", "text_search": "San Francisco, CA", "seniority": "c-level"})
	got := c.recv()
	if got.Status != "success" || got.RequestID != "req-create" {
		t.Fatalf("create: %s", got)
	}
	d := got.obj()
	for k, v := range map[string]any{"uuid": id, "first_name": "John", "last_name": "Doe", "title": "CEO",
		"company": "Acme Corp", "email": "john@example.com"} {
		if d[k] != v {
			t.Fatalf("created %s = %v, want %v: %v", k, d[k], v, d)
		}
	}
	if d["created_at"] == nil || d["updated_at"] == nil {
		t.Fatalf("timestamps: %v", d)
	}
	// Without uuid (or an empty one) the server picks one.
	auto := c.ok("create_contact", map[string]any{"write_key": testWriteKey, "uuid": "", "first_name": "Auto"})
	if s, _ := auto["uuid"].(string); !domain.IsUUID(s) {
		t.Fatalf("generated uuid: %v", auto)
	}
	c.fail("create_contact", map[string]any{"write_key": testWriteKey, "uuid": id, "first_name": "Again"}, "validation_error")

	// It appended events (with who and which request: the action's own
	// server-made request id, and the envelope's request_id, the client's
	// choice, as the correlation id), and did not touch the read model: the
	// projections bring the contact there.
	var n int
	var actor, reqID, corrID string
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) OVER (), metadata->>'actor', metadata->>'request_id', metadata->>'correlation_id'
		FROM events WHERE stream_id = $1 AND event_type = 'contact.created'`, id).Scan(&n, &actor, &reqID, &corrID); err != nil {
		t.Fatal(err)
	}
	if n != 1 || actor != w.admin.userID || corrID != "req-create" || !domain.IsUUID(reqID) {
		t.Fatalf("event: %d %q request %q correlation %q", n, actor, reqID, corrID)
	}
	if after := w.rmContacts(t); after != before {
		t.Fatalf("create_contact wrote rm_contacts: %d → %d", before, after)
	}
	c.fail("get_contact", map[string]any{"contact_uuid": id}, "not_found")
	w.project(t)
	if c.ok("get_contact", map[string]any{"contact_uuid": id})["first_name"] != "John" {
		t.Fatal("projected contact")
	}
}

func TestWSCreateContactWithoutWriteKey(t *testing.T) {
	e := newEnv(t, noWriteKey)
	u := e.register(t)
	c := e.dial(t, u)
	c.fail("create_contact", map[string]any{"write_key": "", "first_name": "A"}, "write_key_not_configured")
	c.fail("create_contact", map[string]any{"write_key": "anything", "first_name": "A"}, "write_key_not_configured")
}

func (w *world) rmContacts(t *testing.T) int {
	t.Helper()
	var n int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM rm_contacts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (w *world) otherCompany(t *testing.T) string {
	return w.company(t, w.other, map[string]any{"name": "Other Inc"})
}

// TestWSConcurrentRequests: 20 requests sent without waiting, one of them
// held up: the 19 others are answered meanwhile, all matched by request_id.
func TestWSConcurrentRequests(t *testing.T) {
	w := newWorld(t)
	release := make(chan struct{})
	w.svc.setHooks(func(ctx context.Context) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	}, nil)
	c := w.dial(t, w.admin)
	actions := []string{"list_contacts", "get_contact_uuids", "get_titles", "get_cities", "get_contact"}
	want := map[string]string{"slow": "count_contacts"}
	c.send("count_contacts", "slow", map[string]any{})
	for i := 0; i < 19; i++ {
		id := fmt.Sprintf("fast-%d", i)
		want[id] = actions[i%len(actions)]
		data := map[string]any{}
		switch want[id] {
		case "get_contact":
			data["contact_uuid"] = w.grace
		case "get_titles", "get_cities":
			data["distinct"] = true
		}
		c.send(want[id], id, data)
	}
	for i := 0; i < 19; i++ {
		a := c.recv()
		id, _ := a.RequestID.(string)
		if a.Status != "success" || want[id] != a.Action || id == "slow" {
			t.Fatalf("answer %d: %s", i, a)
		}
		delete(want, id)
	}
	close(release)
	a := c.recv()
	if a.RequestID != "slow" || a.obj()["count"] != 3.0 {
		t.Fatalf("slow answer: %s", a)
	}
}

// TestWSBoundedInFlight: a connection runs at most 16 requests at once; the
// others wait (none is dropped).
func TestWSBoundedInFlight(t *testing.T) {
	w := newWorld(t)
	release := make(chan struct{})
	w.svc.setHooks(nil, func(ctx context.Context) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	c := w.dial(t, w.admin)
	for i := 0; i < 40; i++ {
		c.send("get_titles", fmt.Sprint("t", i), map[string]any{})
	}
	deadline := time.Now().Add(10 * time.Second)
	for w.svc.inFlight.Load() < 16 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n := w.svc.inFlight.Load(); n != 16 {
		t.Fatalf("in flight: %d", n)
	}
	close(release)
	seen := map[any]bool{}
	for i := 0; i < 40; i++ {
		a := c.recv()
		if a.Status != "success" {
			t.Fatalf("answer: %s", a)
		}
		seen[a.RequestID] = true
	}
	if len(seen) != 40 || w.svc.maxFlight.Load() != 16 {
		t.Fatalf("answers %d, max in flight %d", len(seen), w.svc.maxFlight.Load())
	}
}

// TestWSCloseCancelsRequests: a request's context ends with its connection.
func TestWSCloseCancelsRequests(t *testing.T) {
	w := newWorld(t)
	started, cancelled := make(chan struct{}), make(chan struct{})
	w.svc.setHooks(func(ctx context.Context) {
		close(started)
		select {
		case <-ctx.Done():
			close(cancelled)
		case <-time.After(20 * time.Second):
		}
	}, nil)
	c := w.dial(t, w.admin)
	c.send("count_contacts", "long", map[string]any{})
	<-started
	c.conn.Close()
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the request's context was not cancelled when the connection closed")
	}
}

func TestWSOversizeMessageCloses(t *testing.T) {
	e := newEnv(t)
	u := e.register(t)
	c := e.dial(t, u)
	big := `{"action":"count_contacts","request_id":"big","data":{"first_name":"` + strings.Repeat("a", 2<<20) + `"}}`
	_ = c.conn.WriteMessage(websocket.TextMessage, []byte(big))
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := c.conn.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig, websocket.ClosePolicyViolation) {
		t.Fatalf("want close 1009/1008, got %v", err)
	}
}

func TestWSCleanClose(t *testing.T) {
	e := newEnv(t)
	u := e.register(t)
	c := e.dial(t, u)
	c.ok("get_import_info", map[string]any{})
	if err := c.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")); err != nil {
		t.Fatal(err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := c.conn.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Fatalf("want the close echoed with 1000, got %v", err)
	}
}

func uuidsOf(results any) []string {
	var out []string
	for _, r := range list(results) {
		m, _ := r.(map[string]any)
		s, _ := m["uuid"].(string)
		out = append(out, s)
	}
	return out
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	x, y = slices.Compact(x), slices.Compact(y)
	return slices.Equal(x, y)
}

func TestWSKeepAlive(t *testing.T) {
	defer ws.SetWSTimingsForTest(50*time.Millisecond, 300*time.Millisecond, time.Second)()
	e := newEnv(t)
	u := e.register(t)

	// A client that answers pings (by reading) stays connected.
	c := e.dial(t, u)
	pings := make(chan struct{}, 100)
	c.conn.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return c.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	answers := make(chan []byte, 1)
	go func() {
		for {
			_, msg, err := c.conn.ReadMessage()
			if err != nil {
				close(answers)
				return
			}
			answers <- msg
		}
	}()
	time.Sleep(time.Second)
	if len(pings) < 3 {
		t.Fatalf("pings in 1s every 50ms: %d", len(pings))
	}
	c.send("get_import_info", "alive", map[string]any{})
	if msg, ok := <-answers; !ok || !strings.Contains(string(msg), `"alive"`) {
		t.Fatalf("connection after pings: %s", msg)
	}

	// A client that never answers is dropped after the pong wait.
	silent := e.dial(t, u)
	time.Sleep(time.Second)
	_ = silent.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	silent.conn.SetPingHandler(func(string) error { return nil })
	for {
		if _, _, err := silent.conn.ReadMessage(); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatal("the server kept a silent connection open")
			}
			break
		}
	}
}

// TestWSGoingAway: on server shutdown the running requests are answered,
// then the connection closes with 1001.
func TestWSGoingAway(t *testing.T) {
	closing := make(chan struct{})
	w := newWorld(t, func(o *envOptions) { o.closing = closing })
	started := make(chan struct{})
	w.svc.setHooks(func(ctx context.Context) {
		close(started)
		time.Sleep(300 * time.Millisecond)
	}, nil)
	c := w.dial(t, w.admin)
	c.send("count_contacts", "last", map[string]any{})
	<-started
	close(closing)
	if a := c.recv(); a.RequestID != "last" || a.Status != "success" {
		t.Fatalf("running request: %s", a)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := c.conn.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("want close 1001, got %v", err)
	}
}

// failingAppends is an event store whose appends fail.
type failingAppends struct{ *eventstore.Store }

func (failingAppends) Append(context.Context, eventstore.AppendRequest) ([]eventstore.Event, error) {
	return nil, fmt.Errorf("disk on fire")
}

func TestWSCreateContactStoreFailure(t *testing.T) {
	e := newEnv(t, func(o *envOptions) {
		o.readCommands = func(s *eventstore.Store) *commands.Handlers { return commands.New(failingAppends{s}) }
	})
	c := e.dial(t, e.register(t))
	a := c.fail("create_contact", map[string]any{"write_key": testWriteKey, "first_name": "Ada"}, "create_error")
	if strings.Contains(a.String(), "fire") {
		t.Fatalf("internal cause leaked: %s", a)
	}
}
