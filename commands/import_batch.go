package commands

import (
	"context"

	"contacts/domain"
	"contacts/domain/importjob"
)

// ImportBatch applies one batch of an import job's rows and records the
// job's checkpoint in the same transaction: either the batch's contacts,
// groups and checkpoint all commit, or none of them does. A batch that does
// not start at the job's next row (it was recorded already, by this process
// before a crash or by another one) is refused with an invalid-state error
// and changes nothing.
type ImportBatch struct {
	AccountID string
	ActorID   string
	JobID     string
	UpsertKey string // the job's key (checked against the job at commit)
	// PhoneRegion: the job's (fixed at its creation; "" refuses national
	// phone numbers).
	PhoneRegion string
	FirstRow    int64 // file row number of Rows[0]
	NextOffset  int64 // byte offset in the file after the batch's last row
	Rows        []UpsertRow
	Duplicates  int64 // rows the caller failed as superseded by a later row (among Rows' errors)
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

// ImportPlan is a batch decided but not yet appended. Planning the next
// batch while the previous one commits overlaps the CPU work of deciding
// rows with the database work of appending: a plan made before the previous
// commit may be stale (a unique value or a group taken meanwhile), which the
// append detects; the batch is then decided again.
type ImportPlan struct {
	cmd  ImportBatch
	plan *upsertPlan
}

// PlanImportBatch decides a batch's rows (reads only).
func (h *Handlers) PlanImportBatch(ctx context.Context, cmd ImportBatch) (*ImportPlan, error) {
	plan, err := h.planUpsert(ctx, cmd.AccountID, cmd.ActorID, cmd.UpsertKey, cmd.PhoneRegion, cmd.Rows)
	if err != nil {
		return nil, err
	}
	return &ImportPlan{cmd: cmd, plan: plan}, nil
}

// CommitImportBatch appends a planned batch with the job's checkpoint,
// deciding it again when it went stale.
func (h *Handlers) CommitImportBatch(ctx context.Context, p *ImportPlan) (ImportBatchResult, error) {
	var out ImportBatchResult
	cmd, plan := p.cmd, p.plan
	err := retryPlan(ctx, func() error {
		if plan == nil {
			var err error
			if plan, err = h.planUpsert(ctx, cmd.AccountID, cmd.ActorID, cmd.UpsertKey, cmd.PhoneRegion, cmd.Rows); err != nil {
				return err
			}
		}
		current := plan
		plan = nil // a failed try decides again
		job, err := loadExisting[*importjob.Job, importjob.State](ctx, h, importJobKind, newImportJob(), cmd.AccountID, cmd.JobID)
		if err != nil {
			return err
		}
		if job.State().UpsertKey != cmd.UpsertKey {
			return domain.InvalidField("upsert_key", "is not the job's")
		}
		b := importjob.BatchProcessed{
			FirstRow: cmd.FirstRow, LastRow: cmd.FirstRow + int64(len(cmd.Rows)) - 1,
			NextOffset: cmd.NextOffset, Duplicates: cmd.Duplicates,
		}
		for _, r := range current.results {
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
		jt.apply(current.now, evs)
		if cmd.BeforeCommit != nil {
			if err := cmd.BeforeCommit(ctx, current.results); err != nil {
				return err
			}
		}
		if err := h.commitPlan(ctx, current, jt); err != nil {
			return err
		}
		out = ImportBatchResult{Rows: current.results, Job: job.State()}
		return nil
	})
	return out, err
}

// ImportBatch plans and commits a batch.
func (h *Handlers) ImportBatch(ctx context.Context, cmd ImportBatch) (ImportBatchResult, error) {
	p, err := h.PlanImportBatch(ctx, cmd)
	if err != nil {
		return ImportBatchResult{}, err
	}
	return h.CommitImportBatch(ctx, p)
}
