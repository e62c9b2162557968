// Package importjob is the import job aggregate: one CSV file imported into
// an account, asynchronously and durably. Its life is pending → processing
// → completed | failed; each processed batch of rows is an event that
// carries the counters and the checkpoint (the next row and byte offset),
// so a job resumed after a crash neither loses nor repeats a row.
package importjob

import (
	"strings"
	"time"

	"contacts/domain"
)

// StreamType names import job streams in the event store.
const StreamType = "import_job"

const kind = "import job"

// Statuses, as the API shows them.
const (
	StatusPending    = "pending"
	StatusProcessing = "processing"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
)

// Upsert keys a job may match existing contacts by ("" always creates).
const (
	KeyNone       = ""
	KeyEmail      = "email"
	KeyPhone      = "phone"
	KeyIdentifier = "identifier"
)

// FirstDataRow is the file row number of the first data row (the header is row 1).
const FirstDataRow = 2

// Job is the aggregate. The zero value is a job not yet created.
type Job struct {
	id, accountID, createdBy string
	fileName, uploadPath     string
	sizeBytes                int64
	upsertKey, phoneRegion   string
	headers, unknown         []string
	status                   string
	reason, errorFilePath    string
	totalRows                int64
	created, updated         int64
	unchanged, errors, dups  int64
	nextRow, nextOffset      int64
	createdAt, updatedAt     time.Time
	startedAt, finishedAt    *time.Time
	version                  int64
}

// State is the job as the API shows it (a copy).
type State struct {
	ID             string     `json:"job_id"`
	AccountID      string     `json:"account_id"`
	CreatedBy      string     `json:"created_by"`
	FileName       string     `json:"file_name"`
	UploadPath     string     `json:"upload_file_path"`
	SizeBytes      int64      `json:"size_bytes"`
	UpsertKey      string     `json:"upsert_key"`
	PhoneRegion    string     `json:"phone_region,omitempty"`
	Headers        []string   `json:"headers"`
	UnknownColumns []string   `json:"unknown_columns"`
	Status         string     `json:"status"`
	Reason         string     `json:"reason"`
	ErrorFilePath  string     `json:"error_file_path"`
	TotalRows      int64      `json:"total_rows"`
	ProcessedRows  int64      `json:"processed_rows"`
	CreatedCount   int64      `json:"created_count"`
	UpdatedCount   int64      `json:"updated_count"`
	UnchangedCount int64      `json:"unchanged_count"`
	SuccessCount   int64      `json:"success_count"` // created + updated + unchanged
	ErrorCount     int64      `json:"error_count"`
	DuplicateCount int64      `json:"duplicate_count"` // of ErrorCount
	NextRow        int64      `json:"next_row"`
	NextOffset     int64      `json:"next_offset"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	StartedAt      *time.Time `json:"started_at"`
	FinishedAt     *time.Time `json:"finished_at"`
	Version        int64      `json:"version"`
}

func (j *Job) Version() int64    { return j.version }
func (j *Job) Exists() bool      { return j.status != "" }
func (j *Job) ID() string        { return j.id }
func (j *Job) AccountID() string { return j.accountID }

// UniqueKeys: a job holds no per-account unique value.
func (j *Job) UniqueKeys() map[string]string { return map[string]string{} }

// Finished tells whether the job is completed or failed.
func (j *Job) Finished() bool { return j.status == StatusCompleted || j.status == StatusFailed }

// State returns a copy of the current state.
func (j *Job) State() State {
	return State{
		ID: j.id, AccountID: j.accountID, CreatedBy: j.createdBy, FileName: j.fileName,
		UploadPath: j.uploadPath, SizeBytes: j.sizeBytes, UpsertKey: j.upsertKey, PhoneRegion: j.phoneRegion,
		Headers: append([]string{}, j.headers...), UnknownColumns: append([]string{}, j.unknown...),
		Status: j.status, Reason: j.reason, ErrorFilePath: j.errorFilePath,
		TotalRows: j.totalRows, ProcessedRows: j.created + j.updated + j.unchanged + j.errors,
		CreatedCount: j.created, UpdatedCount: j.updated, UnchangedCount: j.unchanged,
		SuccessCount: j.created + j.updated + j.unchanged, ErrorCount: j.errors, DuplicateCount: j.dups,
		NextRow: j.nextRow, NextOffset: j.nextOffset,
		CreatedAt: j.createdAt, UpdatedAt: j.updatedAt,
		StartedAt: copyTime(j.startedAt), FinishedAt: copyTime(j.finishedAt), Version: j.version,
	}
}

// Message is the human summary of the job's state.
func (s State) Message() string {
	var b strings.Builder
	switch s.Status {
	case StatusPending:
		b.WriteString("Queued")
	case StatusProcessing:
		b.WriteString("Processing: " + itoa(s.ProcessedRows) + " of " + itoa(s.TotalRows) + " rows")
	case StatusCompleted:
		b.WriteString("Completed: " + itoa(s.TotalRows) + " rows, " + itoa(s.CreatedCount) + " created, " +
			itoa(s.UpdatedCount) + " updated, " + itoa(s.UnchangedCount) + " unchanged, " + itoa(s.ErrorCount) + " errors")
		if s.DuplicateCount > 0 {
			b.WriteString(" (" + itoa(s.DuplicateCount) + " rows superseded by a later row with the same " + s.UpsertKey + ")")
		}
	case StatusFailed:
		b.WriteString("Failed: " + s.Reason)
	}
	if len(s.UnknownColumns) > 0 {
		b.WriteString("; unknown columns ignored: " + strings.Join(s.UnknownColumns, ", "))
	}
	return b.String()
}

// Apply changes the state by one recorded event. Unknown events only move
// the version on.
func (j *Job) Apply(e domain.Event, r domain.Recorded) {
	at := r.At.UTC()
	switch e := domain.Deref(e).(type) {
	case JobCreated:
		j.id, j.accountID, j.createdBy = e.ID, e.AccountID, e.CreatedBy
		j.fileName, j.uploadPath, j.sizeBytes = e.FileName, e.UploadPath, e.SizeBytes
		j.upsertKey = e.UpsertKey
		j.phoneRegion = e.PhoneRegion
		j.headers = append([]string{}, e.Headers...)
		j.unknown = append([]string{}, e.UnknownColumns...)
		j.status = StatusPending
		j.createdAt = at
		j.nextRow = FirstDataRow
	case JobStarted:
		j.status = StatusProcessing
		j.totalRows = e.TotalRows
		j.startedAt = &at
	case BatchProcessed:
		j.created += e.Created
		j.updated += e.Updated
		j.unchanged += e.Unchanged
		j.errors += e.Errors
		j.dups += e.Duplicates
		j.nextRow = e.LastRow + 1
		j.nextOffset = e.NextOffset
	case JobCompleted:
		j.status = StatusCompleted
		j.errorFilePath = e.ErrorFilePath
		j.finishedAt = &at
	case JobFailed:
		j.status = StatusFailed
		j.reason = e.Reason
		j.finishedAt = &at
	}
	j.updatedAt = at
	j.version = r.Version
}

func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Finished tells whether the job is completed or failed.
func (s State) Finished() bool { return s.Status == StatusCompleted || s.Status == StatusFailed }
