package commands

import (
	"context"

	"contacts/domain/importjob"
)

// CreateImportJob queues an import of an uploaded CSV file.
type CreateImportJob struct {
	AccountID      string
	ActorID        string
	ID             string // optional; a fresh UUID when empty
	FileName       string
	UploadPath     string
	SizeBytes      int64
	UpsertKey      string
	Headers        []string
	UnknownColumns []string
	// PhoneRegion: the country of the file's national phone numbers; ""
	// takes the account's default_phone_region now, so a resumed job
	// reads the file the same way.
	PhoneRegion string
}

func (h *Handlers) CreateImportJob(ctx context.Context, cmd CreateImportJob) (importjob.State, error) {
	id, err := h.newAggregateID(cmd.ID)
	if err != nil {
		return importjob.State{}, err
	}
	region, err := h.PhoneRegion(ctx, cmd.AccountID, cmd.PhoneRegion)
	if err != nil {
		return importjob.State{}, err
	}
	evs, err := importjob.Create(importjob.CreateInput{
		PhoneRegion: region,
		ID:          id, AccountID: cmd.AccountID, CreatedBy: cmd.ActorID, FileName: cmd.FileName, UploadPath: cmd.UploadPath,
		SizeBytes: cmd.SizeBytes, UpsertKey: cmd.UpsertKey, Headers: cmd.Headers, UnknownColumns: cmd.UnknownColumns,
	})
	if err != nil {
		return importjob.State{}, err
	}
	return create[*importjob.Job, importjob.State](ctx, h, importJobKind, newImportJob(), cmd.AccountID, id, evs)
}

var importJobKind = kind{name: "import job", streamType: importjob.StreamType, decode: importjob.Decode}

func newImportJob() *importjob.Job { return &importjob.Job{} }

// ImportJob is the job's current state, replayed from its stream.
func (h *Handlers) ImportJob(ctx context.Context, accountID, id string) (importjob.State, error) {
	j, err := loadExisting[*importjob.Job, importjob.State](ctx, h, importJobKind, newImportJob(), accountID, id)
	if err != nil {
		return importjob.State{}, err
	}
	return j.State(), nil
}
