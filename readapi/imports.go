package readapi

import (
	"context"

	"contacts/commands/imports"
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

// ImportJob is an import job as the protocol shows it (the import
// feature's own type).
type ImportJob = imports.Job

// ImportError is one CSV row the job could not import.
type ImportError = imports.RowError
