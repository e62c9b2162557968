package commands

import (
	"context"

	"contacts/domain"
	"contacts/domain/importjob"
)

// FailImportJob ends a job that cannot go on (its file is gone or unreadable).
type FailImportJob struct {
	AccountID string
	ID        string
	Reason    string
}

func (h *Handlers) FailImportJob(ctx context.Context, cmd FailImportJob) (importjob.State, error) {
	return mutate(ctx, h, importJobKind, newImportJob, cmd.AccountID, cmd.ID, nil,
		func(j *importjob.Job) ([]domain.Event, error) { return j.Fail(cmd.Reason) })
}
