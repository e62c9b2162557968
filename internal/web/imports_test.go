package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/commands"
	"contacts/commands/imports"
	"contacts/eventstore"
	"contacts/internal/web"
	"contacts/readapi/pgquery"
)

func newImportEnv(t *testing.T) (*env, *imports.Service) {
	t.Helper()
	var svc *imports.Service
	e := newEnvWith(t, func(pool *pgxpool.Pool, d *web.Deps) {
		svc = imports.New(pool, commands.New(eventstore.New(pool)), imports.Config{Dir: t.TempDir(), MaxFileBytes: 256 << 10}, nil)
		d.Imports = svc
		d.ImportMaxBytes = 256 << 10
		d.BulkMaxBodyBytes = 16 << 20
	})
	return e, svc
}

func multipartBody(t *testing.T, field, name, content string, extra map[string]string) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range extra {
		_ = w.WriteField(k, v)
	}
	fw, err := w.CreateFormFile(field, name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write([]byte(content))
	_ = w.Close()
	return buf.String(), w.FormDataContentType()
}

func runJobs(t *testing.T, svc *imports.Service) {
	t.Helper()
	if err := svc.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// The REST import flow: upload (multipart or raw CSV), status, errors,
// error CSV; the documented job shape; admin only; tenancy.
func TestImportRoutes(t *testing.T) {
	e, svc := newImportEnv(t)
	admin := e.register(t)
	file := "name,email,phone_number,tags\nGrace Hopper,grace@navy.test,+14155550100,vip\nBad,nope,,\n"
	body, ctype := multipartBody(t, "import_file", "people.csv", file, map[string]string{"upsert_key": "email"})
	r := admin.do("POST", "/api/v1/contacts/import", body, "Content-Type", ctype).want(http.StatusAccepted)
	job := r.obj()
	for _, k := range []string{"job_id", "status", "total_rows", "success_count", "error_count", "upload_file_path",
		"error_file_path", "message", "started_at", "finished_at", "created_at", "updated_at"} {
		if _, ok := job[k]; !ok {
			t.Errorf("job has no %s: %v", k, job)
		}
	}
	if job["status"] != "pending" || job["message"] != "Queued" || job["error_file_path"] != nil || job["started_at"] != nil ||
		job["upsert_key"] != "email" || job["file_name"] != "people.csv" {
		t.Fatalf("queued job: %v", job)
	}
	id := job["job_id"].(string)
	if r.header.Get("Location") != "/api/v1/contacts/import/"+id {
		t.Errorf("Location: %q", r.header.Get("Location"))
	}
	runJobs(t, svc)
	st := admin.do("GET", "/api/v1/contacts/import/"+id+"?include_errors=true", nil).want(http.StatusOK).obj()
	if st["status"] != "completed" || st["total_rows"] != 2.0 || st["success_count"] != 1.0 || st["error_count"] != 1.0 ||
		st["error_file_path"] == nil || st["finished_at"] == nil {
		t.Fatalf("status: %v", st)
	}
	// Paths relative to the import area, not the server's file system.
	if job["upload_file_path"] != "uploads/"+id+"_people.csv" || st["upload_file_path"] != job["upload_file_path"] ||
		st["error_file_path"] != "errors/job_"+id+"_errors.csv" {
		t.Fatalf("file paths: %v, %v", st["upload_file_path"], st["error_file_path"])
	}
	errs := st["errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["row_number"] != 3.0 {
		t.Fatalf("errors: %v", errs)
	}
	page := admin.do("GET", "/api/v1/contacts/import/"+id+"/errors?limit=10", nil).want(http.StatusOK).obj()
	if page["count"] != 1.0 || len(page["errors"].([]any)) != 1 {
		t.Fatalf("errors page: %v", page)
	}
	admin.do("GET", "/api/v1/contacts/import/"+id+"/errors?limit=0", nil).wantError(http.StatusUnprocessableEntity, "validation_error")
	dl := admin.do("GET", "/api/v1/contacts/import/"+id+"/errors.csv", nil).want(http.StatusOK)
	recs, err := csv.NewReader(bytes.NewReader(dl.body)).ReadAll()
	if err != nil || len(recs) != 2 || strings.Join(recs[0], ",") != "name,email,phone_number,tags,error" || recs[1][1] != "nope" {
		t.Fatalf("error csv: %v %q", err, dl.body)
	}
	if !strings.HasPrefix(dl.header.Get("Content-Type"), "text/csv") {
		t.Errorf("content type %q", dl.header.Get("Content-Type"))
	}

	// A raw text/csv body, file name in the query.
	raw := admin.do("POST", "/api/v1/contacts/import?file_name=raw.csv&upsert_key=phone", "phone,first_name\n+14155550111,Ann\n",
		"Content-Type", "text/csv").want(http.StatusAccepted).obj()
	if raw["file_name"] != "raw.csv" || raw["upsert_key"] != "phone" {
		t.Fatalf("raw upload: %v", raw)
	}

	// Refusals.
	agent := e.agentIn(t, admin)
	agent.do("POST", "/api/v1/contacts/import", body, "Content-Type", ctype).wantError(http.StatusForbidden, "forbidden")
	e.anon().do("POST", "/api/v1/contacts/import", body, "Content-Type", ctype).wantError(http.StatusUnauthorized, "unauthorized")
	admin.do("POST", "/api/v1/contacts/import", `{"file":"x"}`).wantError(http.StatusUnsupportedMediaType, "unsupported_media_type")
	big, bigType := multipartBody(t, "import_file", "big.csv", "email\n"+strings.Repeat("someone@example.test\n", 20000), nil)
	admin.do("POST", "/api/v1/contacts/import", big, "Content-Type", bigType).wantError(http.StatusRequestEntityTooLarge, "file_too_large")
	var nb bytes.Buffer
	mw := multipart.NewWriter(&nb)
	_ = mw.WriteField("upsert_key", "email")
	_ = mw.Close()
	admin.do("POST", "/api/v1/contacts/import", nb.String(), "Content-Type", mw.FormDataContentType()).
		wantError(http.StatusUnprocessableEntity, "validation_error")
	bad, badType := multipartBody(t, "import_file", "x.csv", "foo,bar\n1,2\n", nil)
	admin.do("POST", "/api/v1/contacts/import", bad, "Content-Type", badType).wantError(http.StatusUnprocessableEntity, "validation_error")
	badKey, badKeyType := multipartBody(t, "import_file", "x.csv", file, map[string]string{"upsert_key": "name"})
	admin.do("POST", "/api/v1/contacts/import", badKey, "Content-Type", badKeyType).wantError(http.StatusUnprocessableEntity, "validation_error")

	// Another account's job is not found, as is a malformed id.
	other := e.register(t)
	other.do("GET", "/api/v1/contacts/import/"+id, nil).wantError(http.StatusNotFound, "not_found")
	other.do("GET", "/api/v1/contacts/import/"+id+"/errors", nil).wantError(http.StatusNotFound, "not_found")
	other.do("GET", "/api/v1/contacts/import/"+id+"/errors.csv", nil).wantError(http.StatusNotFound, "not_found")
	admin.do("GET", "/api/v1/contacts/import/not-a-uuid", nil).wantError(http.StatusNotFound, "not_found")
}

// Bulk upsert by phone: created, updated (tags merged, custom fields
// merged), skipped (unchanged, or superseded by a later duplicate), errors
// per contact; groups created by name once.
func TestBulkUpsert(t *testing.T) {
	e, _ := newImportEnv(t)
	admin := e.register(t)
	first := admin.do("POST", "/api/v1/contacts/bulk", map[string]any{"contacts": []any{
		map[string]any{"name": "John Doe", "phone": "+919876543210", "email": "john@example.com", "language_code": "en",
			"tags": []any{"newsletter"}, "groups": []any{"VIP Customers"}, "custom_fields": map[string]any{"city": "Mumbai"}},
		map[string]any{"name": "Jane Smith", "phone": "+919812345678", "groups": []any{"vip customers", "Staff"}},
		map[string]any{"name": "No Phone"},
		map[string]any{"name": "Bad Phone", "phone": "12ab"},
		map[string]any{"name": "Bad Email", "phone": "+919800000001", "email": "nope"},
		map[string]any{"name": "Early Dup", "phone": "+919800000002"},
		map[string]any{"name": "Late Dup", "phone": "+91 98000 00002"},
	}}).want(http.StatusOK).obj()
	if first["created"] != 3.0 || first["updated"] != 0.0 || first["skipped"] != 1.0 {
		t.Fatalf("first: %v", first)
	}
	errs := first["errors"].([]any)
	if len(errs) != 3 {
		t.Fatalf("errors: %v", errs)
	}
	for i, want := range []struct {
		index float64
		field string
	}{{2, "phone"}, {3, "phone"}, {4, "email"}} {
		e := errs[i].(map[string]any)
		if e["index"] != want.index || e["code"] != "validation_error" || e["fields"].(map[string]any)[want.field] == nil {
			t.Errorf("error %d: %v", i, e)
		}
	}
	second := admin.do("POST", "/api/v1/contacts/bulk", map[string]any{"contacts": []any{
		map[string]any{"phone": "+919876543210", "tags": []any{"vip"}, "custom_fields": map[string]any{"tier": "gold"}},
		map[string]any{"name": "Jane Smith", "phone": "+919812345678"},
	}}).want(http.StatusOK).obj()
	if second["created"] != 0.0 || second["updated"] != 1.0 || second["skipped"] != 1.0 || len(second["errors"].([]any)) != 0 {
		t.Fatalf("second: %v", second)
	}
	ctx := context.Background()
	store := eventstore.New(e.pool)
	owner, ok, err := store.LookupClaim(ctx, admin.accountID, "phone", "+919876543210")
	if err != nil || !ok {
		t.Fatal(err)
	}
	john := admin.do("GET", "/api/v1/contacts/"+owner, nil).want(http.StatusOK).obj()
	if fmt.Sprint(john["labels"]) != "[newsletter vip]" || john["custom_attributes"].(map[string]any)["city"] != "Mumbai" ||
		john["custom_attributes"].(map[string]any)["tier"] != "gold" || john["first_name"] != "John" {
		t.Fatalf("john: %v", john)
	}
	late, _, _ := store.LookupClaim(ctx, admin.accountID, "phone", "+919800000002")
	if c := admin.do("GET", "/api/v1/contacts/"+late, nil).want(http.StatusOK).obj(); c["first_name"] != "Late" {
		t.Fatalf("the later duplicate must win: %v", c)
	}
	var groups, vipMembers int
	_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE account_id = $1 AND event_type = 'group.created'`, admin.accountID).Scan(&groups)
	_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM events e, jsonb_array_elements_text(e.data->'contact_ids') m
		WHERE e.account_id = $1 AND e.event_type = 'group.members_added'
		AND e.stream_id = (SELECT stream_id FROM unique_claims WHERE account_id = $1 AND kind = 'group_name' AND value = 'vip customers')`,
		admin.accountID).Scan(&vipMembers)
	if groups != 2 || vipMembers != 2 {
		t.Fatalf("groups created %d, VIP members %d", groups, vipMembers)
	}

	// Refusals: over the limit, not a list, unknown body field, bad groups.
	over := make([]map[string]string, commands.MaxBulkContacts+1)
	for i := range over {
		over[i] = map[string]string{"phone": fmt.Sprintf("+1555%07d", i)}
	}
	raw, _ := json.Marshal(map[string]any{"contacts": over})
	r := admin.do("POST", "/api/v1/contacts/bulk", string(raw)).wantError(http.StatusUnprocessableEntity, "bulk_limit_exceeded")
	if !strings.Contains(string(r.body), "50000") {
		t.Errorf("limit error: %s", r.body)
	}
	admin.do("POST", "/api/v1/contacts/bulk", map[string]any{"contacts": "x"}).wantError(http.StatusUnprocessableEntity, "validation_error")
	admin.do("POST", "/api/v1/contacts/bulk", map[string]any{"contacts": []any{}, "x": 1}).wantError(http.StatusUnprocessableEntity, "validation_error")
	admin.do("POST", "/api/v1/contacts/bulk", map[string]any{}).wantError(http.StatusUnprocessableEntity, "validation_error")
	admin.do("POST", "/api/v1/contacts/bulk", `{"contacts": [`).wantError(http.StatusBadRequest, "invalid_json")
	g := admin.do("POST", "/api/v1/contacts/bulk", map[string]any{"contacts": []any{map[string]any{"phone": "+14155550100", "groups": "x"}}}).
		want(http.StatusOK).obj()
	if g["created"] != 0.0 || len(g["errors"].([]any)) != 1 {
		t.Fatalf("bad groups: %v", g)
	}
	// Nothing of another account is touched: the same phone is a new contact there.
	other := e.register(t)
	o := other.do("POST", "/api/v1/contacts/bulk", map[string]any{"contacts": []any{map[string]any{"phone": "+919876543210", "name": "Other"}}}).
		want(http.StatusOK).obj()
	if o["created"] != 1.0 {
		t.Fatalf("other account: %v", o)
	}
}

// A bulk request of several chunks with an Idempotency-Key: applied once,
// the retry replays the first answer.
func TestBulkUpsertIdempotencyKey(t *testing.T) {
	e, _ := newImportEnv(t)
	admin := e.register(t)
	contacts := make([]map[string]any, 5001)
	for i := range contacts {
		contacts[i] = map[string]any{"phone": fmt.Sprintf("+1201555%04d", i), "first_name": "K"} // valid US numbers
	}
	first := admin.do("POST", "/api/v1/contacts/bulk", map[string]any{"contacts": contacts}, "Idempotency-Key", "bulk-1").
		want(http.StatusOK)
	if o := first.obj(); o["created"] != 5001.0 {
		t.Fatalf("first: %v", o)
	}
	again := admin.do("POST", "/api/v1/contacts/bulk", map[string]any{"contacts": contacts}, "Idempotency-Key", "bulk-1").
		want(http.StatusOK)
	if again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(first.body) {
		t.Fatalf("retry: %s %s", again.header, again.body)
	}
}

// TestImportAndBulkWithAPIKey: an API key (no user) imports and bulk-upserts;
// every event records the key as its actor, and the job its creator.
func TestImportAndBulkWithAPIKey(t *testing.T) {
	var svc *imports.Service
	e := newEnvWith(t, func(pool *pgxpool.Pool, d *web.Deps) {
		svc = imports.New(pool, commands.New(eventstore.New(pool)), imports.Config{Dir: t.TempDir(), MaxFileBytes: 256 << 10}, nil)
		d.Imports, d.ImportMaxBytes, d.Export = svc, 256<<10, pgquery.NewPG(pool)
	})
	admin := e.register(t)
	k := admin.do("POST", "/api/v1/api_keys", map[string]any{"name": "sync", "scopes": []string{"read_contacts", "write_contacts"}}).
		want(http.StatusCreated).obj()
	key := &client{e: e, token: str(k["key"])}
	actor := "key:" + str(k["id"])
	job := key.do("POST", "/api/v1/contacts/import", "name,email\nAda Lovelace,ada@key.test\n", "Content-Type", "text/csv").
		want(http.StatusAccepted).obj()
	runJobs(t, svc)
	if st := key.do("GET", "/api/v1/contacts/import/"+str(job["job_id"]), nil).want(http.StatusOK).obj(); st["status"] != "completed" || st["success_count"] != 1.0 {
		t.Fatalf("job: %v", st)
	}
	key.do("POST", "/api/v1/contacts/bulk", map[string]any{"contacts": []map[string]any{{"name": "Grace", "phone": "+14155550177"}}}).
		want(http.StatusOK)
	readOnly := admin.do("POST", "/api/v1/api_keys", map[string]any{"name": "ro", "scopes": []string{"read_contacts"}}).
		want(http.StatusCreated).obj()
	ro := &client{e: e, token: str(readOnly["key"])}
	ro.do("POST", "/api/v1/contacts/bulk", map[string]any{"contacts": []map[string]any{{"name": "X", "phone": "+14155550178"}}}).
		want(http.StatusForbidden)
	ro.do("POST", "/api/v1/contacts/import", "name\nX\n", "Content-Type", "text/csv").want(http.StatusForbidden)
	// Export is a read (the read model is not projected here: the header only).
	if r := ro.do("POST", "/api/v1/contacts/export", map[string]any{}).want(http.StatusOK); !strings.HasPrefix(string(r.body), "uuid,") {
		t.Fatalf("read-only export: %s", r.body)
	}

	rows, err := e.pool.Query(context.Background(), `SELECT DISTINCT stream_type, coalesce(metadata->>'actor', ''), coalesce(metadata->>'actor_type', '')
		FROM events WHERE account_id = $1 AND stream_type IN ('contact', 'import_job', 'group')`, admin.accountID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	streams := map[string]bool{}
	for rows.Next() {
		var st, a, at string
		if err := rows.Scan(&st, &a, &at); err != nil {
			t.Fatal(err)
		}
		streams[st] = true
		if a != actor || at != "api_key" {
			t.Errorf("%s event by %q (%q), want %s (api_key)", st, a, at, actor)
		}
	}
	if !streams["contact"] || !streams["import_job"] {
		t.Fatalf("no import or contact events: %v", streams)
	}
	var createdBy string
	if err := e.pool.QueryRow(context.Background(), `SELECT data->>'created_by' FROM events WHERE stream_id = $1 AND stream_version = 1`,
		str(job["job_id"])).Scan(&createdBy); err != nil {
		t.Fatal(err)
	}
	if createdBy != actor {
		t.Fatalf("job created_by %q, want %s", createdBy, actor)
	}
}
