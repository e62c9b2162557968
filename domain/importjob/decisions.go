package importjob

import (
	"strings"
	"unicode/utf8"

	"contacts/domain"
)

// CreateInput is what Create needs.
type CreateInput struct {
	ID, AccountID, CreatedBy string
	FileName, UploadPath     string
	SizeBytes                int64
	UpsertKey                string
	Headers, UnknownColumns  []string
	PhoneRegion              string // ISO 3166 alpha-2; "" refuses national phone numbers
}

// ValidKey tells whether key is an upsert key a job accepts.
func ValidKey(key string) bool {
	switch key {
	case KeyNone, KeyEmail, KeyPhone, KeyIdentifier:
		return true
	}
	return false
}

// Create validates a new job: JobCreated.
func Create(in CreateInput) ([]domain.Event, error) {
	errs := domain.Errors{}
	if strings.TrimSpace(in.ID) == "" {
		errs.Add("id", "is required")
	}
	if strings.TrimSpace(in.AccountID) == "" {
		errs.Add("account_id", "is required")
	}
	name := strings.TrimSpace(in.FileName)
	switch {
	case name == "":
		errs.Add("file_name", "is required")
	case utf8.RuneCountInString(name) > 255 || !utf8.ValidString(name):
		errs.Add("file_name", "must be valid text of at most 255 characters")
	}
	if strings.TrimSpace(in.UploadPath) == "" {
		errs.Add("upload_file_path", "is required")
	}
	if !ValidKey(in.UpsertKey) {
		errs.Add("upsert_key", "must be one of email, phone, identifier or none")
	}
	region, err := domain.NormalizePhoneRegion(in.PhoneRegion)
	if err != nil {
		errs.Add("phone_region", "must be an ISO 3166 alpha-2 country code, like US or GB")
	}
	if len(in.Headers) == 0 {
		errs.Add("file_data", "the CSV file has no header row")
	}
	if in.SizeBytes < 0 {
		errs.Add("size_bytes", "must not be negative")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return []domain.Event{JobCreated{
		ID: in.ID, AccountID: in.AccountID, CreatedBy: in.CreatedBy, FileName: name, UploadPath: in.UploadPath,
		SizeBytes: in.SizeBytes, UpsertKey: in.UpsertKey, Headers: append([]string{}, in.Headers...),
		UnknownColumns: append([]string{}, in.UnknownColumns...), PhoneRegion: region,
	}}, nil
}

func (j *Job) check() error {
	if !j.Exists() {
		return domain.NotFound(kind, j.id)
	}
	if j.Finished() {
		return domain.InvalidState("import job " + j.id + " is " + j.status)
	}
	return nil
}

// Start moves a pending job to processing with the file's row count.
func (j *Job) Start(totalRows int64) ([]domain.Event, error) {
	if err := j.check(); err != nil {
		return nil, err
	}
	if j.status != StatusPending {
		return nil, domain.InvalidState("import job " + j.id + " is already " + j.status)
	}
	if totalRows < 0 {
		return nil, domain.InvalidField("total_rows", "must not be negative")
	}
	return []domain.Event{JobStarted{TotalRows: totalRows}}, nil
}

// RecordBatch checkpoints a processed batch. It must continue exactly where
// the last one ended: a batch that does not start at the job's next row
// was already recorded (or skips rows) and is refused.
func (j *Job) RecordBatch(b BatchProcessed) ([]domain.Event, error) {
	if err := j.check(); err != nil {
		return nil, err
	}
	if j.status != StatusProcessing {
		return nil, domain.InvalidState("import job " + j.id + " is not processing")
	}
	if b.FirstRow != j.nextRow {
		return nil, domain.InvalidState("batch starts at row " + itoa(b.FirstRow) + " but the job is at row " + itoa(j.nextRow))
	}
	errs := domain.Errors{}
	if b.LastRow < b.FirstRow {
		errs.Add("last_row", "must not be before first_row")
	}
	if b.NextOffset <= j.nextOffset {
		errs.Add("next_offset", "must move forward")
	}
	if b.Created < 0 || b.Updated < 0 || b.Unchanged < 0 || b.Errors < 0 || b.Duplicates < 0 || b.Duplicates > b.Errors {
		errs.Add("counts", "must not be negative; duplicates are counted among errors")
	}
	if n := b.Created + b.Updated + b.Unchanged + b.Errors; n != b.LastRow-b.FirstRow+1 {
		errs.Add("counts", "must add up to the batch's rows")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return []domain.Event{b}, nil
}

// Complete finishes a processing job.
func (j *Job) Complete(errorFilePath string) ([]domain.Event, error) {
	if err := j.check(); err != nil {
		return nil, err
	}
	if j.status != StatusProcessing {
		return nil, domain.InvalidState("import job " + j.id + " is not processing")
	}
	if j.errors > 0 && errorFilePath == "" {
		return nil, domain.InvalidField("error_file_path", "is required when rows failed")
	}
	return []domain.Event{JobCompleted{ErrorFilePath: errorFilePath}}, nil
}

// Fail ends a pending or processing job for good.
func (j *Job) Fail(reason string) ([]domain.Event, error) {
	if err := j.check(); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, domain.InvalidField("reason", "is required")
	}
	return []domain.Event{JobFailed{Reason: reason}}, nil
}
