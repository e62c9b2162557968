package commands

import (
	"context"

	"contacts/domain"
	"contacts/domain/importjob"
)

// CompleteImportJob finishes a job whose every row was processed.
type CompleteImportJob struct {
	AccountID     string
	ID            string
	ErrorFilePath string
}

func (h *Handlers) CompleteImportJob(ctx context.Context, cmd CompleteImportJob) (importjob.State, error) {
	return mutate(ctx, h, importJobKind, newImportJob, cmd.AccountID, cmd.ID, nil,
		func(j *importjob.Job) ([]domain.Event, error) { return j.Complete(cmd.ErrorFilePath) })
}
