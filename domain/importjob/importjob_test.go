package importjob

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"contacts/domain"
)

func given(t *testing.T, evs ...domain.Event) *Job {
	t.Helper()
	j := &Job{}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, e := range evs {
		j.Apply(e, domain.Recorded{Version: int64(i + 1), At: at.Add(time.Duration(i) * time.Second)})
	}
	return j
}

var created = JobCreated{ID: "j1", AccountID: "a1", CreatedBy: "u1", FileName: "f.csv", UploadPath: "/u/f.csv",
	UpsertKey: KeyEmail, Headers: []string{"email"}}

func TestCreate(t *testing.T) {
	ok := CreateInput{ID: "j1", AccountID: "a1", FileName: " f.csv ", UploadPath: "/u/f.csv", UpsertKey: KeyPhone, Headers: []string{"phone"}}
	evs, err := Create(ok)
	if err != nil || len(evs) != 1 || evs[0].(JobCreated).FileName != "f.csv" {
		t.Fatalf("%v %v", evs, err)
	}
	bad := []struct {
		name  string
		edit  func(*CreateInput)
		field string
	}{
		{"no id", func(in *CreateInput) { in.ID = "" }, "id"},
		{"no account", func(in *CreateInput) { in.AccountID = "" }, "account_id"},
		{"no file name", func(in *CreateInput) { in.FileName = " " }, "file_name"},
		{"bad key", func(in *CreateInput) { in.UpsertKey = "name" }, "upsert_key"},
		{"no headers", func(in *CreateInput) { in.Headers = nil }, "file_data"},
	}
	for _, c := range bad {
		in := ok
		c.edit(&in)
		_, err := Create(in)
		var de *domain.Error
		if !errors.As(err, &de) || de.Fields[c.field] == "" {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestLifecycle(t *testing.T) {
	j := given(t, created)
	if s := j.State(); s.Status != StatusPending || s.NextRow != FirstDataRow || s.StartedAt != nil || s.Message() != "Queued" {
		t.Fatalf("pending: %+v", s)
	}
	if _, err := j.RecordBatch(BatchProcessed{FirstRow: 2, LastRow: 2, NextOffset: 10, Created: 1}); !errors.Is(err, domain.ErrInvalidState) {
		t.Fatalf("batch before start: %v", err)
	}
	if _, err := j.Complete(""); !errors.Is(err, domain.ErrInvalidState) {
		t.Fatalf("complete before start: %v", err)
	}
	start, err := j.Start(5)
	if err != nil {
		t.Fatal(err)
	}
	j = given(t, created, start[0])
	if _, err := j.Start(5); !errors.Is(err, domain.ErrInvalidState) {
		t.Fatalf("start twice: %v", err)
	}
	b1 := BatchProcessed{FirstRow: 2, LastRow: 4, NextOffset: 40, Created: 2, Errors: 1, Duplicates: 1}
	if _, err := j.RecordBatch(b1); err != nil {
		t.Fatal(err)
	}
	j = given(t, created, start[0], b1)
	s := j.State()
	if s.Status != StatusProcessing || s.TotalRows != 5 || s.NextRow != 5 || s.NextOffset != 40 || s.SuccessCount != 2 ||
		s.ErrorCount != 1 || s.DuplicateCount != 1 || s.StartedAt == nil || s.ProcessedRows != 3 {
		t.Fatalf("after a batch: %+v", s)
	}
	// The same batch again (a retry after a crash that did commit it) is refused.
	if _, err := j.RecordBatch(b1); !errors.Is(err, domain.ErrInvalidState) {
		t.Fatalf("replayed batch: %v", err)
	}
	bad := []BatchProcessed{
		{FirstRow: 6, LastRow: 6, NextOffset: 50, Created: 1},                // skips row 5
		{FirstRow: 5, LastRow: 6, NextOffset: 50, Created: 1},                // counts short of the rows
		{FirstRow: 5, LastRow: 5, NextOffset: 40, Created: 1},                // offset does not move
		{FirstRow: 5, LastRow: 5, NextOffset: 50, Updated: 1, Duplicates: 1}, // duplicates not among errors
	}
	for i, b := range bad {
		if _, err := j.RecordBatch(b); err == nil {
			t.Errorf("bad batch %d accepted", i)
		}
	}
	// Errors need an error file.
	if _, err := j.Complete(""); err == nil {
		t.Fatal("completed without the error file")
	}
	b2 := BatchProcessed{FirstRow: 5, LastRow: 6, NextOffset: 60, Updated: 1, Unchanged: 1}
	done, err := given(t, created, start[0], b1, b2).Complete("/e.csv")
	if err != nil {
		t.Fatal(err)
	}
	j = given(t, created, start[0], b1, b2, done[0])
	s = j.State()
	if s.Status != StatusCompleted || s.FinishedAt == nil || s.ErrorFilePath != "/e.csv" || s.SuccessCount != 4 || !s.Finished() {
		t.Fatalf("completed: %+v", s)
	}
	if s.Message() != "Completed: 5 rows, 2 created, 1 updated, 1 unchanged, 1 errors (1 rows superseded by a later row with the same email)" {
		t.Fatalf("message: %q", s.Message())
	}
	if _, err := j.Fail("x"); !errors.Is(err, domain.ErrInvalidState) {
		t.Fatalf("fail a finished job: %v", err)
	}
}

func TestFail(t *testing.T) {
	j := given(t, created)
	if _, err := j.Fail(" "); err == nil {
		t.Fatal("fail without a reason")
	}
	evs, err := j.Fail("file gone")
	if err != nil {
		t.Fatal(err)
	}
	s := given(t, created, evs[0]).State()
	if s.Status != StatusFailed || s.Reason != "file gone" || s.FinishedAt == nil || s.Message() != "Failed: file gone" {
		t.Fatalf("%+v", s)
	}
	if _, err := (&Job{}).Start(1); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("start of no job: %v", err)
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	for _, e := range []domain.Event{created, JobStarted{TotalRows: 3}, BatchProcessed{FirstRow: 2, LastRow: 3}, JobCompleted{}, JobFailed{Reason: "x"}} {
		data, _ := json.Marshal(e)
		got, err := Decode(e.EventType(), data)
		if err != nil || got.EventType() != e.EventType() {
			t.Fatalf("%s: %v", e.EventType(), err)
		}
	}
	if _, err := Decode("import_job.nope", nil); !errors.Is(err, domain.ErrUnknownEvent) {
		t.Fatal(err)
	}
}
