package imports

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"contacts/commands"
	"contacts/domain"
	"contacts/domain/importjob"
	"contacts/eventstore"
	"contacts/internal/requestid"
)

// Run processes import jobs until ctx ends: every unfinished job at start
// (so a job a killed process left half-done resumes), then whenever an
// upload wakes it, and every PollEvery (jobs uploaded to other instances
// sharing the imports directory). Several processes may run it: a job is
// processed by one at a time (a PostgreSQL advisory lock), and even without
// the lock a batch could never be recorded twice (the checkpoint is the
// job stream's next version).
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.PollEvery)
	defer t.Stop()
	for {
		if err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "import worker", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-t.C:
		}
	}
}

type openJob struct {
	id, accountID, path string
	createdAt           time.Time
}

// RunOnce processes every unfinished job once, oldest first.
func (s *Service) RunOnce(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT job_id::text, account_id::text, upload_path, created_at
		FROM import_jobs WHERE open AND (retry_at IS NULL OR retry_at <= now()) ORDER BY created_at`)
	if err != nil {
		return fmt.Errorf("imports: open jobs: %w", err)
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (openJob, error) {
		var j openJob
		return j, r.Scan(&j.id, &j.accountID, &j.path, &j.createdAt)
	})
	if err != nil {
		return fmt.Errorf("imports: open jobs: %w", err)
	}
	for _, j := range jobs {
		if err := s.process(ctx, j); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if err := s.failedAttempt(ctx, j, err); err != nil {
				s.log.ErrorContext(ctx, "import job: recording a failed attempt", "job_id", j.id, "err", err)
			}
		}
	}
	return nil
}

// failedAttempt counts a run of the job that failed for an internal reason
// (bad rows and bad files are not: they end as error rows or a failed job).
// The next run waits PollEvery, doubled per failure in a row; after
// MaxAttempts the job fails with a message the uploader can act on, instead
// of staying "processing" and retrying forever (across restarts: the count
// is in import_jobs).
func (s *Service) failedAttempt(ctx context.Context, j openJob, cause error) error {
	var attempts int
	err := s.pool.QueryRow(ctx, `UPDATE import_jobs SET attempts = attempts + 1, last_error = $2,
		retry_at = now() + least($3::bigint << least(attempts, 30), $4::bigint) * interval '1 microsecond'
		WHERE job_id = $1 RETURNING attempts`,
		j.id, cause.Error(), s.cfg.PollEvery.Microseconds(), s.cfg.MaxRetryDelay.Microseconds()).Scan(&attempts)
	if err != nil {
		return err
	}
	if attempts < s.cfg.MaxAttempts {
		s.log.ErrorContext(ctx, "import job failed to run; it will be retried", "job_id", j.id, "attempt", attempts,
			"max_attempts", s.cfg.MaxAttempts, "err", cause)
		return nil
	}
	s.log.ErrorContext(ctx, "import job failed to run too many times; failing it", "job_id", j.id, "attempts", attempts, "err", cause)
	reason := fmt.Sprintf("the import stopped after %d failed attempts because of an internal error (not the file's content); "+
		"the rows imported so far are kept; upload the file again later, or report job %s to the operator", attempts, j.id)
	if _, err := s.cmds.FailImportJob(ctx, commands.FailImportJob{AccountID: j.accountID, ID: j.id, Reason: reason}); err != nil &&
		!errors.Is(err, domain.ErrInvalidState) {
		return err
	} else if err == nil {
		s.cfg.Metrics.job("failed")
	}
	_, err = s.pool.Exec(ctx, `UPDATE import_jobs SET open = false WHERE job_id = $1`, j.id)
	return err
}

// fatalError ends a job as failed.
type fatalError struct{ reason string }

func (e *fatalError) Error() string { return e.reason }

func fatal(format string, args ...any) error {
	return &fatalError{reason: fmt.Sprintf(format, args...)}
}

// errStale: another process recorded the batch this one was about to.
var errStale = errors.New("imports: the job moved on in another process")

func lockKey(jobID string) int64 {
	h := fnv.New64a()
	h.Write([]byte("import_job:" + jobID))
	return int64(h.Sum64())
}

func (s *Service) process(ctx context.Context, j openJob) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lockKey(j.id)).Scan(&locked); err != nil {
		return err
	}
	if !locked {
		return nil // another process runs it
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey(j.id))
	}()

	job, err := s.cmds.ImportJob(ctx, j.accountID, j.id)
	if errors.Is(err, domain.ErrNotFound) {
		// The upload died between registering and creating the job.
		if time.Since(j.createdAt) > time.Minute {
			_ = os.Remove(j.path)
			_, err = s.pool.Exec(ctx, `DELETE FROM import_jobs WHERE job_id = $1`, j.id)
			return err
		}
		return nil
	}
	if err != nil {
		return err
	}
	if !job.Finished() {
		err = s.runJob(ctx, job)
		var f *fatalError
		switch {
		case errors.As(err, &f):
			s.log.WarnContext(ctx, "import job failed", "job_id", j.id, "reason", f.reason)
			if _, err := s.cmds.FailImportJob(ctx, commands.FailImportJob{AccountID: j.accountID, ID: j.id, Reason: f.reason}); err != nil {
				return err
			}
			s.cfg.Metrics.job("failed")
		case errors.Is(err, errStale):
			return nil
		case err != nil:
			return err
		}
	}
	_, err = s.pool.Exec(ctx, `UPDATE import_jobs SET open = false WHERE job_id = $1`, j.id)
	return err
}

// keyIndex remembers, per upsert key value, the last row that has it: a
// 128-bit hash and a row number, about 40 bytes per distinct value.
type keyIndex struct {
	seeds [2]maphash.Seed
	last  map[[2]uint64]int32
}

func newKeyIndex() *keyIndex {
	return &keyIndex{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, last: map[[2]uint64]int32{}}
}

func (k *keyIndex) hash(v string) [2]uint64 {
	return [2]uint64{maphash.String(k.seeds[0], v), maphash.String(k.seeds[1], v)}
}

// scan reads the whole file once: its data rows, and for each upsert key
// value the last row that carries it (duplicates resolve to the last row).
func (s *Service) scan(ctx context.Context, path string, m Mapping, key, region string) (int64, *keyIndex, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, fatal("the uploaded file cannot be read: %v", err)
	}
	defer f.Close()
	cr := newReader(bufio.NewReaderSize(f, 1<<20))
	cr.ReuseRecord = true
	if _, err := cr.Read(); err != nil {
		return 0, nil, fatal("the file has no readable header row: %v", err)
	}
	idx := newKeyIndex()
	row := int64(importjob.FirstDataRow) - 1
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		row++
		if row%100_000 == 0 && ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		if row-1 > s.cfg.MaxRows {
			return 0, nil, fatal("the file has more than %d rows (CONTACTS_IMPORT_MAX_ROWS)", s.cfg.MaxRows)
		}
		if err != nil || key == "" {
			continue
		}
		if v := m.KeyValue(rec, key, region); v != "" {
			idx.last[idx.hash(v)] = int32(row) // rows ≤ MaxRows < 2^31
		}
	}
	return row - 1, idx, nil
}

// batch is a slice of rows read from the file.
type batch struct {
	firstRow   int64
	nextOffset int64
	rows       []commands.UpsertRow
	records    [][]string
	dups       int64
}

func (s *Service) runJob(ctx context.Context, job importjob.State) error {
	// The job's events are the uploader's doing (a user, or "key:<id>" for
	// an API key), correlated by the job.
	actorType := "user"
	if strings.HasPrefix(job.CreatedBy, "key:") {
		actorType = "api_key"
	}
	// The job's id is its request id: in its events' metadata and in every
	// line it logs.
	ctx = requestid.With(ctx, job.ID)
	ctx = eventstore.WithRequestInfo(ctx, eventstore.RequestInfo{Metadata: eventstore.Metadata{
		Actor: job.CreatedBy, ActorType: actorType, RequestID: job.ID, CorrelationID: job.ID, CausationID: job.ID,
	}})
	m, err := NewMapping(job.Headers)
	if err != nil {
		return fatal("the header row cannot be mapped: %s", ErrorMessage(err))
	}
	total, idx, err := s.scan(ctx, job.UploadPath, m, job.UpsertKey, job.PhoneRegion)
	if err != nil {
		return err
	}
	if job.Status == importjob.StatusPending {
		if job, err = s.cmds.StartImportJob(ctx, commands.StartImportJob{AccountID: job.AccountID, ID: job.ID, TotalRows: total}); err != nil {
			return err
		}
	}
	f, err := os.Open(job.UploadPath)
	if err != nil {
		return fatal("the uploaded file cannot be read: %v", err)
	}
	defer f.Close()
	base := job.NextOffset
	if _, err := f.Seek(base, io.SeekStart); err != nil {
		return fatal("the uploaded file cannot be read: %v", err)
	}
	cr := newReader(bufio.NewReaderSize(f, 1<<20))
	if base == 0 {
		if _, err := cr.Read(); err != nil {
			return fatal("the file has no readable header row: %v", err)
		}
	}
	// Three stages: read and map rows; decide them (the next batch while
	// the previous one commits); append.
	g, gctx := errgroup.WithContext(ctx)
	batches := make(chan batch, 2)
	planned := make(chan plannedBatch, 1)
	g.Go(func() error {
		defer close(batches)
		return s.readBatches(gctx, cr, base, job, m, idx, batches)
	})
	g.Go(func() error {
		defer close(planned)
		for b := range batches {
			p, err := s.cmds.PlanImportBatch(gctx, s.batchCommand(job, b))
			if err != nil {
				return err
			}
			select {
			case planned <- plannedBatch{b: b, plan: p}:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	g.Go(func() error {
		progressed := false
		for p := range planned {
			next, err := s.commitBatch(gctx, job, p.plan)
			if err != nil {
				return err
			}
			job = next
			if !progressed { // failed attempts count in a row: this run moves on
				progressed = true
				if _, err := s.pool.Exec(gctx, `UPDATE import_jobs SET attempts = 0, retry_at = NULL
					WHERE job_id = $1 AND attempts > 0`, job.ID); err != nil {
					return err
				}
			}
			if s.afterBatch != nil {
				s.afterBatch(job)
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	if job.ProcessedRows < job.TotalRows {
		return fatal("the file changed while it was imported: %d of %d rows read", job.ProcessedRows, job.TotalRows)
	}
	errorPath := ""
	if job.ErrorCount > 0 {
		if errorPath, err = s.saveErrorFile(ctx, job); err != nil {
			return err
		}
	}
	_, err = s.cmds.CompleteImportJob(ctx, commands.CompleteImportJob{AccountID: job.AccountID, ID: job.ID, ErrorFilePath: errorPath})
	if err == nil {
		s.cfg.Metrics.job("completed")
	}
	return err
}

// readBatches parses rows from the job's next row on and sends them in
// batches of BatchRows.
func (s *Service) readBatches(ctx context.Context, cr *csv.Reader, base int64, job importjob.State, m Mapping,
	idx *keyIndex, out chan<- batch) error {
	row := job.NextRow - 1
	cur := batch{firstRow: job.NextRow}
	send := func() error {
		if len(cur.rows) == 0 {
			return nil
		}
		select {
		case out <- cur:
		case <-ctx.Done():
			return ctx.Err()
		}
		cur = batch{firstRow: row + 1}
		return nil
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		row++
		var r commands.UpsertRow
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			r = commands.UpsertRow{Err: rowError("the row is not valid CSV: " + pe.Err.Error())}
			rec = []string{}
		case err != nil:
			return fatal("the uploaded file cannot be read: %v", err)
		default:
			if i, err := badCell(rec); err != nil {
				col := fmt.Sprintf("column %d", i+1)
				if i < len(job.Headers) {
					col = job.Headers[i]
				}
				r = commands.UpsertRow{Err: rowError(col + ": " + err.Error())}
				rec = storable(rec)
				break
			}
			r = m.Row(rec)
			if r.Err == nil && job.UpsertKey != "" {
				if v := m.KeyValue(rec, job.UpsertKey, job.PhoneRegion); v != "" {
					if last := int64(idx.last[idx.hash(v)]); last != row {
						r = commands.UpsertRow{Err: rowError(fmt.Sprintf("duplicate %s %s: row %d later in the file has the same %s and wins",
							job.UpsertKey, v, last, job.UpsertKey))}
						cur.dups++
					}
				}
			}
		}
		cur.rows = append(cur.rows, r)
		cur.records = append(cur.records, rec)
		cur.nextOffset = base + cr.InputOffset()
		if len(cur.rows) >= s.cfg.BatchRows {
			if err := send(); err != nil {
				return err
			}
		}
	}
	return send()
}

type plannedBatch struct {
	b    batch
	plan *commands.ImportPlan
}

func (s *Service) batchCommand(job importjob.State, b batch) commands.ImportBatch {
	return commands.ImportBatch{
		AccountID: job.AccountID, ActorID: job.CreatedBy, JobID: job.ID, UpsertKey: job.UpsertKey, PhoneRegion: job.PhoneRegion, FirstRow: b.firstRow,
		NextOffset: b.nextOffset, Rows: b.rows, Duplicates: b.dups,
		BeforeCommit: func(ctx context.Context, results []commands.RowResult) error {
			return s.saveErrors(ctx, job, b, results)
		},
	}
}

// commitBatch records the batch's failed rows, then appends the batch and
// its checkpoint in one transaction.
func (s *Service) commitBatch(ctx context.Context, job importjob.State, p *commands.ImportPlan) (importjob.State, error) {
	res, err := s.cmds.CommitImportBatch(ctx, p)
	if errors.Is(err, domain.ErrInvalidState) {
		return job, errStale
	}
	if err != nil {
		return job, err
	}
	s.cfg.Metrics.batch(res.Rows)
	return res.Job, nil
}

// saveErrors replaces the batch's error records.
func (s *Service) saveErrors(ctx context.Context, job importjob.State, b batch, results []commands.RowResult) error {
	var copyRows [][]any
	for i, r := range results {
		if r.Outcome != commands.OutcomeFailed {
			continue
		}
		rec := b.records[i]
		data := make(map[string]string, len(rec))
		for c, v := range rec {
			if c < len(job.Headers) {
				data[job.Headers[c]] = v
			} else {
				data[fmt.Sprintf("column_%d", c+1)] = v
			}
		}
		raw, err := json.Marshal(data)
		if err != nil {
			return err
		}
		copyRows = append(copyRows, []any{job.AccountID, job.ID, b.firstRow + int64(i), ErrorMessage(r.Err), raw, rec})
	}
	last := b.firstRow + int64(len(results)) - 1
	if len(copyRows) == 0 {
		// Most batches have no error: a read, not a write transaction (a
		// commit and its fsync), unless an earlier try left records here.
		var stale bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM import_errors
			WHERE job_id = $1 AND row_number BETWEEN $2 AND $3)`, job.ID, b.firstRow, last).Scan(&stale); err != nil || !stale {
			return err
		}
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM import_errors WHERE job_id = $1 AND row_number BETWEEN $2 AND $3`,
			job.ID, b.firstRow, last); err != nil {
			return err
		}
		if len(copyRows) == 0 {
			return nil
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"import_errors"},
			[]string{"account_id", "job_id", "row_number", "error_message", "row_data", "row_values"}, pgx.CopyFromRows(copyRows))
		return err
	})
}

// saveErrorFile writes errors/job_<id>_errors.csv (atomically).
func (s *Service) saveErrorFile(ctx context.Context, job importjob.State) (string, error) {
	dir := filepath.Join(s.cfg.Dir, "errors")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "job_"+job.ID+"_errors.csv")
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	tmp, err := os.CreateTemp(dir, ".errors-*.csv")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	if err := s.writeErrorCSV(ctx, job, w); err != nil {
		tmp.Close()
		return "", err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return path, nil
}
