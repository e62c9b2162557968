package commands

import (
	"context"

	"contacts/domain/importjob"
)

// ImportBatch applies one batch of an import job's rows and records the
// job's checkpoint in the same transaction: either the batch's contacts,
// groups and checkpoint all commit, or none of them does. A batch that does
// not start at the job's next row (it was recorded already, by this process
// before a crash or by another one) is refused with an invalid-state error
// and changes nothing.
type ImportBatch struct {
	AccountID  string
	ActorID    string
	JobID      string
	FirstRow   int64 // file row number of Rows[0]
	NextOffset int64 // byte offset in the file after the batch's last row
	Rows       []UpsertRow
	Duplicates int64 // rows the caller failed as superseded by a later row (among Rows' errors)
	// BeforeCommit, when set, runs after the rows are decided and before
	// the batch is appended (again on a retry): the worker records the
	// failed rows there, idempotently, so none is lost if the process dies
	// right after the commit.
	BeforeCommit func(ctx context.Context, rows []RowResult) error
}

// ImportBatchResult is the outcome of each row and the job after the batch.
type ImportBatchResult struct {
	Rows []RowResult
	Job  importjob.State
}

func (h *Handlers) ImportBatch(ctx context.Context, cmd ImportBatch) (ImportBatchResult, error) {
	var out ImportBatchResult
	err := retryPlan(ctx, func() error {
		job, err := loadExisting[*importjob.Job, importjob.State](ctx, h, importJobKind, newImportJob(), cmd.AccountID, cmd.JobID)
		if err != nil {
			return err
		}
		key := job.State().UpsertKey
		plan, err := h.planUpsert(ctx, cmd.AccountID, cmd.ActorID, key, cmd.Rows)
		if err != nil {
			return err
		}
		b := importjob.BatchProcessed{
			FirstRow: cmd.FirstRow, LastRow: cmd.FirstRow + int64(len(cmd.Rows)) - 1,
			NextOffset: cmd.NextOffset, Duplicates: cmd.Duplicates,
		}
		for _, r := range plan.results {
			switch r.Outcome {
			case OutcomeCreated:
				b.Created++
			case OutcomeUpdated:
				b.Updated++
			case OutcomeUnchanged:
				b.Unchanged++
			default:
				b.Errors++
			}
		}
		evs, err := job.RecordBatch(b)
		if err != nil {
			return err
		}
		jt := &tracked{kind: importJobKind, accountID: cmd.AccountID, id: cmd.JobID, agg: job,
			baseVersion: job.Version(), before: job.UniqueKeys()}
		jt.apply(plan.now, evs)
		if cmd.BeforeCommit != nil {
			if err := cmd.BeforeCommit(ctx, plan.results); err != nil {
				return err
			}
		}
		if err := h.commitPlan(ctx, plan, jt); err != nil {
			return err
		}
		out = ImportBatchResult{Rows: plan.results, Job: job.State()}
		return nil
	})
	return out, err
}
