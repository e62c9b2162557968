package imports

import "time"

// Job is an import job as clients see it: the WebSocket protocol's
// upload_contacts_csv/get_import_status answer (readapi.ImportJob is this
// type) and the REST import routes' body.
type Job struct {
	JobID          string     `json:"job_id"`
	Status         string     `json:"status"` // pending, processing, completed, failed
	TotalRows      int64      `json:"total_rows"`
	SuccessCount   int64      `json:"success_count"`
	ErrorCount     int64      `json:"error_count"`
	UploadFilePath string     `json:"upload_file_path"` // relative to the import area: uploads/<job id>_<file name>
	ErrorFilePath  *string    `json:"error_file_path"`  // errors/job_<job id>_errors.csv; null without failed rows
	Message        string     `json:"message"`
	StartedAt      *time.Time `json:"started_at"`
	FinishedAt     *time.Time `json:"finished_at"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	Errors         []RowError `json:"errors,omitempty"` // with include_errors

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

// RowError is one CSV row the job could not import.
type RowError struct {
	RowNumber    int            `json:"row_number"`
	ErrorMessage string         `json:"error_message"`
	RowData      map[string]any `json:"row_data"`
}
