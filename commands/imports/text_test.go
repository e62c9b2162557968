package imports

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"time"

	"contacts/domain"
	"contacts/domain/importjob"
)

// runFor runs the worker until the job is finished or d has passed.
func (e *env) runFor(svc *Service, accountID, jobID string, d time.Duration) importjob.State {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if err := svc.RunOnce(context.Background()); err != nil {
			e.t.Fatal(err)
		}
		job, err := e.cmds.ImportJob(context.Background(), accountID, jobID)
		if err != nil {
			e.t.Fatal(err)
		}
		if job.Finished() || time.Now().After(deadline) {
			return job
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A NUL or invalid UTF-8 in a cell makes that row an error row; the good
// rows import and the job completes (it used to stay "processing, 0 of N",
// retried every poll forever).
func TestBadTextCellsBecomeErrorRows(t *testing.T) {
	e := newEnv(t)
	file := "first_name,email,city\n" +
		"Ada,ada@x.test,London\n" +
		"B\x00b,bob@x.test,Paris\n" +
		"Cy,cy@x.test,Ber\xfflin\n" +
		"Dan,dan@x.test,Oslo\n" +
		"\xc3,eve@x.test,Rome\n"
	job := e.upload(e.admin, file, UploadOptions{})
	done := e.runFor(e.svc, e.admin.AccountID, job.ID, 10*time.Second)
	if done.Status != importjob.StatusCompleted || done.SuccessCount != 2 || done.ErrorCount != 3 {
		t.Fatalf("job: %s %d ok %d errors (%s)", done.Status, done.SuccessCount, done.ErrorCount, done.Reason)
	}
	if got := e.contacts(e.admin.AccountID); len(got) != 2 || got["ada@x.test"].City != "London" || got["dan@x.test"].City != "Oslo" {
		t.Fatalf("contacts: %v", got)
	}
	rows, err := e.svc.ErrorRows(context.Background(), e.admin.AccountID, job.ID, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{3: "first_name: must not contain the NUL", 4: "city: must be valid UTF-8", 6: "first_name: must be valid UTF-8"}
	if len(rows) != len(want) {
		t.Fatalf("error rows: %+v", rows)
	}
	for _, r := range rows {
		if !strings.Contains(r.ErrorMessage, want[r.RowNumber]) {
			t.Errorf("row %d: %q, want %q", r.RowNumber, r.ErrorMessage, want[r.RowNumber])
		}
	}
	// The error file is readable CSV: the offending bytes are U+FFFD.
	var buf bytes.Buffer
	if err := e.svc.WriteErrorCSV(context.Background(), e.admin.AccountID, job.ID, &buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 4 || recs[1][0] != "B\uFFFDb" || recs[2][2] != "Ber\uFFFDlin" {
		t.Fatalf("error csv: %q %v", recs, err)
	}
}

// A header that is not text refuses the upload with a clear message (and
// leaves nothing); so does a file name that is not.
func TestBadTextHeaderRefused(t *testing.T) {
	e := newEnv(t)
	for _, file := range []string{"first\x00name,email\nAda,a@x.test\n", "first_name,e\xffmail\nAda,a@x.test\n"} {
		_, err := e.svc.Create(context.Background(), e.admin, "c.csv", strings.NewReader(file), UploadOptions{})
		var de *domain.Error
		if !errors.As(err, &de) || !errors.Is(err, domain.ErrValidation) || de.Fields["file_data"] == "" ||
			!strings.Contains(de.Fields["file_data"], "header row") {
			t.Errorf("%q: %v", file, err)
		}
	}
	_, err := e.svc.Create(context.Background(), e.admin, "c\x00.csv", strings.NewReader("email\na@x.test\n"), UploadOptions{})
	if !errors.Is(err, domain.ErrValidation) {
		t.Errorf("file name with NUL: %v", err)
	}
	var jobs int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM import_jobs`).Scan(&jobs); err != nil || jobs != 0 {
		t.Fatalf("refused uploads left %d jobs (%v)", jobs, err)
	}
}

// A job that keeps failing for an internal reason (here: PostgreSQL
// refuses every write of error rows) is retried a bounded number of times,
// counted across processes (each attempt here is a new Service, as after a
// restart), then failed with a message — instead of looping forever.
func TestInternalFailureEndsAfterBoundedRetries(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `CREATE FUNCTION refuse_import_errors() RETURNS trigger LANGUAGE plpgsql AS
		$$BEGIN RAISE EXCEPTION 'disk full (test)'; END$$;
		CREATE TRIGGER refuse BEFORE INSERT ON import_errors FOR EACH STATEMENT EXECUTE FUNCTION refuse_import_errors();`); err != nil {
		t.Fatal(err)
	}
	job := e.upload(e.admin, "first_name,email\nAda,not-an-email\n", UploadOptions{})
	deadline := time.Now().Add(15 * time.Second)
	runs := 0
	var done importjob.State
	for time.Now().Before(deadline) {
		svc := New(e.pool, e.cmds, Config{Dir: e.svc.cfg.Dir, BatchRows: 3, PollEvery: 20 * time.Millisecond, MaxAttempts: 3}, nil)
		if err := svc.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		runs++
		var err error
		if done, err = e.cmds.ImportJob(ctx, e.admin.AccountID, job.ID); err != nil {
			t.Fatal(err)
		}
		if done.Finished() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if done.Status != importjob.StatusFailed || !strings.Contains(done.Reason, "after 3 failed attempts") {
		t.Fatalf("after %d runs: job %s (%s)", runs, done.Status, done.Reason)
	}
	var attempts int
	var open bool
	var lastError string
	if err := e.pool.QueryRow(ctx, `SELECT attempts, open, last_error FROM import_jobs WHERE job_id = $1`, job.ID).
		Scan(&attempts, &open, &lastError); err != nil {
		t.Fatal(err)
	}
	if attempts != 3 || open || !strings.Contains(lastError, "disk full") {
		t.Fatalf("attempts %d, open %v, last error %q", attempts, open, lastError)
	}
}
