package readapi_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/commands"
	"contacts/commands/imports"
	"contacts/readapi"
)

// The import actions over the real import service: a file larger than the
// 1 MiB message limit uploads base64-encoded, the job runs, its status and
// error records answer as documented; another account sees nothing.
func TestWSImportsEndToEnd(t *testing.T) {
	var svc *imports.Service
	e := newEnv(t, func(o *envOptions) {
		o.maxUploadBytes = 8 << 20
		o.newImports = func(pool *pgxpool.Pool, cmds *commands.Handlers) readapi.Imports {
			svc = imports.New(pool, cmds, imports.Config{Dir: t.TempDir(), BatchRows: 500}, nil)
			return svc
		}
	})
	admin := e.register(t)
	c := e.dial(t, admin)
	var b strings.Builder
	b.WriteString("first_name,last_name,email,custom_attributes.note\n")
	pad := strings.Repeat("x", 200)
	rows := 6000
	for i := 0; i < rows; i++ {
		email := fmt.Sprintf("p%d@x.test", i)
		if i == 17 {
			email = "broken"
		}
		fmt.Fprintf(&b, "P%d,L,%s,%s\n", i, email, pad)
	}
	if b.Len() <= 1<<20 {
		t.Fatalf("the file must be over the 1 MiB message limit, is %d", b.Len())
	}
	job := c.ok("upload_contacts_csv", map[string]any{"file_name": "big.csv", "file_data": base64.StdEncoding.EncodeToString([]byte(b.String()))})
	if job["status"] != "pending" || job["total_rows"] != 0.0 || job["error_file_path"] != nil || job["message"] != "Queued" {
		t.Fatalf("upload: %v", job)
	}
	id := job["job_id"].(string)
	if err := svc.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := c.ok("get_import_status", map[string]any{"job_id": id})
	if st["status"] != "completed" || st["total_rows"] != float64(rows) || st["success_count"] != float64(rows-1) ||
		st["error_count"] != 1.0 || st["error_file_path"] == nil || st["errors"] != nil {
		t.Fatalf("status: %v", st)
	}
	if job["upload_file_path"] != "uploads/"+id+"_big.csv" || st["error_file_path"] != "errors/job_"+id+"_errors.csv" {
		t.Fatalf("file paths (relative to the import area): %v, %v", job["upload_file_path"], st["error_file_path"])
	}
	for _, k := range []string{"started_at", "finished_at", "created_at", "updated_at"} {
		if _, err := time.Parse(time.RFC3339, fmt.Sprint(st[k])); err != nil {
			t.Errorf("%s: %v", k, st[k])
		}
	}
	with := c.ok("get_import_status", map[string]any{"job_id": id, "include_errors": true})
	if errs := list(with["errors"]); len(errs) != 1 || errs[0].(map[string]any)["row_number"] != 19.0 {
		t.Fatalf("status with errors: %v", with["errors"])
	}
	errs := list(c.ok("get_import_errors", map[string]any{"job_id": id})["errors"])
	row := errs[0].(map[string]any)
	if row["error_message"] != "email: is not a valid e-mail address" || row["row_data"].(map[string]any)["email"] != "broken" {
		t.Fatalf("errors: %v", errs)
	}
	other := e.dial(t, e.register(t))
	other.fail("get_import_status", map[string]any{"job_id": id}, "not_found")
	other.fail("get_import_errors", map[string]any{"job_id": id}, "not_found")
	// Bad files are refused at upload with a validation error, nothing queued.
	c.fail("upload_contacts_csv", map[string]any{"file_name": "x.csv", "file_data": base64.StdEncoding.EncodeToString([]byte("a,b\n1,2\n"))}, "validation_error")
	c.fail("upload_contacts_csv", map[string]any{"file_name": "x.csv", "file_data": ""}, "missing_field")
}

// With uploads allowed, only upload_contacts_csv messages may pass 1 MiB:
// any other action that large still closes the connection with 1009.
func TestWSOversizeNonUploadStillCloses(t *testing.T) {
	e := newEnv(t, func(o *envOptions) {
		o.maxUploadBytes = 8 << 20
		o.newImports = func(pool *pgxpool.Pool, cmds *commands.Handlers) readapi.Imports {
			return imports.New(pool, cmds, imports.Config{Dir: t.TempDir()}, nil)
		}
	})
	c := e.dial(t, e.register(t))
	big := `{"action":"count_contacts","request_id":"big","data":{"first_name":"` + strings.Repeat("a", 2<<20) + `"}}`
	_ = c.conn.WriteMessage(websocket.TextMessage, []byte(big))
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := c.conn.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("want close 1009, got %v", err)
	}
}
