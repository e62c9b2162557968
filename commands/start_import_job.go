package commands

import (
	"context"

	"contacts/domain"
	"contacts/domain/importjob"
)

// StartImportJob moves a pending job to processing, with its row count.
type StartImportJob struct {
	AccountID string
	ID        string
	TotalRows int64
}

func (h *Handlers) StartImportJob(ctx context.Context, cmd StartImportJob) (importjob.State, error) {
	return mutate(ctx, h, importJobKind, newImportJob, cmd.AccountID, cmd.ID, nil,
		func(j *importjob.Job) ([]domain.Event, error) { return j.Start(cmd.TotalRows) })
}
