package importjob

import "contacts/domain"

// Event type names; stable on the wire.
const (
	TypeCreated        = "import_job.created"
	TypeStarted        = "import_job.started"
	TypeBatchProcessed = "import_job.batch_processed"
	TypeCompleted      = "import_job.completed"
	TypeFailed         = "import_job.failed"
)

// JobCreated queues a job: the uploaded file, how its columns map and the
// upsert key.
type JobCreated struct {
	ID             string   `json:"id"`
	AccountID      string   `json:"account_id"`
	CreatedBy      string   `json:"created_by"`
	FileName       string   `json:"file_name"`
	UploadPath     string   `json:"upload_path"`
	SizeBytes      int64    `json:"size_bytes"`
	UpsertKey      string   `json:"upsert_key"` // email, phone, identifier, or "" (always create)
	Headers        []string `json:"headers"`    // the file's header row, as written
	UnknownColumns []string `json:"unknown_columns"`
	// PhoneRegion: the country the file's national phone numbers are read
	// in, fixed when the job is created ("" refuses them).
	PhoneRegion string `json:"phone_region,omitempty"`
}

// JobStarted: processing began; the file holds TotalRows data rows.
type JobStarted struct {
	TotalRows int64 `json:"total_rows"`
}

// BatchProcessed records rows FirstRow..LastRow (file row numbers, the
// header being row 1) as done: the checkpoint. It is appended in the same
// transaction as the batch's contact events, so a batch is applied exactly
// once: a resumed job starts at NextOffset (a byte offset in the file) with
// row LastRow+1.
type BatchProcessed struct {
	FirstRow   int64 `json:"first_row"`
	LastRow    int64 `json:"last_row"`
	NextOffset int64 `json:"next_offset"`
	Created    int64 `json:"created"`
	Updated    int64 `json:"updated"`
	Unchanged  int64 `json:"unchanged"`
	Errors     int64 `json:"errors"`
	Duplicates int64 `json:"duplicates"` // of Errors: rows superseded by a later row with the same key
}

// JobCompleted: every row was processed.
type JobCompleted struct {
	ErrorFilePath string `json:"error_file_path"` // "" without errors
}

// JobFailed: the job stopped for good (unreadable file, …).
type JobFailed struct {
	Reason string `json:"reason"`
}

func (JobCreated) EventType() string     { return TypeCreated }
func (JobStarted) EventType() string     { return TypeStarted }
func (BatchProcessed) EventType() string { return TypeBatchProcessed }
func (JobCompleted) EventType() string   { return TypeCompleted }
func (JobFailed) EventType() string      { return TypeFailed }

var decoders = map[string]func([]byte) (domain.Event, error){
	TypeCreated:        domain.DecodeAs[JobCreated],
	TypeStarted:        domain.DecodeAs[JobStarted],
	TypeBatchProcessed: domain.DecodeAs[BatchProcessed],
	TypeCompleted:      domain.DecodeAs[JobCompleted],
	TypeFailed:         domain.DecodeAs[JobFailed],
}

// Decode turns a stored event back into its concrete value type.
func Decode(eventType string, data []byte) (domain.Event, error) {
	d, ok := decoders[eventType]
	if !ok {
		return nil, domain.UnknownEvent(StreamType, eventType)
	}
	return d(data)
}

// EventTypes lists every event type of the package.
func EventTypes() []string { return domain.SortedKeys(decoders) }
