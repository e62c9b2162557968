package readapi

import (
	"context"
	"time"

	"contacts/internal/auth"
)

// Imports runs CSV import jobs for the WebSocket import actions; the import
// feature implements it. With a nil Imports, upload_contacts_csv,
// get_import_status and get_import_errors answer upload_error,
// import_status_error and import_errors_error ("CSV import is not available
// yet") after checking their input.
//
// Errors: an unknown job (or another account's) is a domain not-found error
// (domain.NotFound), answered not_found; invalid input is a domain
// validation error, answered validation_error; anything else is the
// action's own code with a generic message (and is logged).
type Imports interface {
	// Upload queues a job importing content (the decoded CSV file) into the
	// principal's account, on behalf of the principal.
	Upload(ctx context.Context, p auth.Principal, fileName string, content []byte) (ImportJob, error)
	// Status returns the job; with includeErrors, its error rows in Errors.
	Status(ctx context.Context, accountID, jobID string, includeErrors bool) (ImportJob, error)
	// Errors returns the job's error rows.
	Errors(ctx context.Context, accountID, jobID string) ([]ImportError, error)
}

// ImportJob is an import job as the protocol shows it.
type ImportJob struct {
	JobID          string        `json:"job_id"`
	Status         string        `json:"status"` // pending, processing, completed, failed
	TotalRows      int64         `json:"total_rows"`
	SuccessCount   int64         `json:"success_count"`
	ErrorCount     int64         `json:"error_count"`
	UploadFilePath string        `json:"upload_file_path"` // relative to the import area: uploads/<job id>_<file name>
	ErrorFilePath  *string       `json:"error_file_path"`  // errors/job_<job id>_errors.csv; null without failed rows
	Message        string        `json:"message"`
	StartedAt      *time.Time    `json:"started_at"`
	FinishedAt     *time.Time    `json:"finished_at"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
	Errors         []ImportError `json:"errors,omitempty"` // with include_errors

	// Beyond the reference: what the job was asked and what it did in detail.
	FileName       string   `json:"file_name"`
	UpsertKey      string   `json:"upsert_key"` // email, phone, identifier or none
	ProcessedRows  int64    `json:"processed_rows"`
	CreatedCount   int64    `json:"created_count"`
	UpdatedCount   int64    `json:"updated_count"`
	UnchangedCount int64    `json:"unchanged_count"`
	DuplicateCount int64    `json:"duplicate_count"`        // rows superseded by a later row with the same key (counted as errors)
	UnknownColumns []string `json:"unknown_columns"`        // headers that map to no field: ignored
	PhoneRegion    string   `json:"phone_region,omitempty"` // country of national phone numbers; fixed at upload
}

// ImportError is one CSV row the job could not import.
type ImportError struct {
	RowNumber    int            `json:"row_number"`
	ErrorMessage string         `json:"error_message"`
	RowData      map[string]any `json:"row_data"`
}
