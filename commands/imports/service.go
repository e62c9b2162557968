package imports

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/commands"
	"contacts/domain"
	"contacts/domain/importjob"
	"contacts/eventstore"
	"contacts/internal/auth"
	"contacts/internal/text"
)

// Config tunes imports.
type Config struct {
	Dir          string // uploads/ and errors/ live here
	MaxFileBytes int64  // largest upload (CONTACTS_IMPORT_MAX_FILE_BYTES)
	MaxRows      int64  // most data rows in one file (CONTACTS_IMPORT_MAX_ROWS)
	BatchRows    int    // rows per transaction
	PollEvery    time.Duration
	// MaxAttempts is how many runs in a row a job may fail for an internal
	// reason (database down, a bug) before it is failed; between them the
	// worker waits PollEvery, doubled after each failure (at most
	// MaxRetryDelay).
	MaxAttempts   int
	MaxRetryDelay time.Duration
	Metrics       *Metrics // nil: not counted
}

// Defaults.
const (
	DefaultMaxFileBytes = 2 << 30 // 2 GiB
	DefaultMaxRows      = 10_000_000
	DefaultBatchRows    = 1000
	DefaultMaxAttempts  = 8 // 2 s, 4 s, … 4 min 16 s: about 8.5 minutes of retries
	DefaultRetryDelay   = 5 * time.Minute
	// MaxErrorsInline bounds the error records a status or errors answer
	// carries; the error CSV has them all.
	MaxErrorsInline = 10_000
)

func (c *Config) setDefaults() {
	if c.Dir == "" {
		c.Dir = "./.contacts-data/imports"
	}
	if c.MaxFileBytes <= 0 {
		c.MaxFileBytes = DefaultMaxFileBytes
	}
	if c.MaxRows <= 0 {
		c.MaxRows = DefaultMaxRows
	}
	c.MaxRows = min(c.MaxRows, 1<<31-2) // row numbers are int32 in the duplicate index
	if c.BatchRows <= 0 {
		c.BatchRows = DefaultBatchRows
	}
	if c.PollEvery <= 0 {
		c.PollEvery = 2 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MaxRetryDelay <= 0 {
		c.MaxRetryDelay = DefaultRetryDelay
	}
}

// Service runs import jobs. It implements readapi.Imports (whose job and
// error-row types are this package's Job and RowError).
type Service struct {
	pool   *pgxpool.Pool
	cmds   *commands.Handlers
	cfg    Config
	log    *slog.Logger
	wake   chan struct{}
	events interface {
		ReadStream(ctx context.Context, accountID, streamID string, afterVersion int64) ([]eventstore.Event, error)
	}
	// afterBatch, in tests, runs after each committed batch.
	afterBatch func(job importjob.State)
}

// New returns the service. Run must be running for jobs to progress.
func New(pool *pgxpool.Pool, cmds *commands.Handlers, cfg Config, logger *slog.Logger) *Service {
	cfg.setDefaults()
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Service{pool: pool, cmds: cmds, cfg: cfg, log: logger, wake: make(chan struct{}, 1)}
}

// Errors callers see, as domain errors: the transports' error table
// (internal/apierr) gives each its status and code.
var (
	// ErrAdminRequired: only an administrator may start an import.
	ErrAdminRequired = errors.New("administrator role required")
)

// TooLargeError is a file over the import size limit.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the file is larger than the import limit of %d bytes", e.Limit)
}

func errTooLarge(limit int64) error { return &TooLargeError{Limit: limit} }

// UploadOptions are the job's choices.
type UploadOptions struct {
	// UpsertKey: "email", "phone", "identifier", "none"; empty: the first
	// of email, phone, identifier the file has a column for.
	UpsertKey string
	// PhoneRegion: ISO 3166 alpha-2 country of the file's phone numbers
	// written without a country code; empty: the account's
	// default_phone_region.
	PhoneRegion string
}

// Create streams body to disk (never holding the file in memory), reads
// its header row, and queues a job. A file over the size limit, with no
// usable header, or an invalid option is refused and leaves nothing.
func (s *Service) Create(ctx context.Context, p auth.Principal, fileName string, body io.Reader, opt UploadOptions) (importjob.State, error) {
	if !p.IsAdmin() {
		return importjob.State{}, ErrAdminRequired
	}
	key := strings.ToLower(strings.TrimSpace(opt.UpsertKey))
	if key == "none" {
		key = importjob.KeyNone
	} else if key != "" && !importjob.ValidKey(key) {
		return importjob.State{}, domain.InvalidField("upsert_key", "must be one of email, phone, identifier or none")
	}
	if _, err := domain.NormalizePhoneRegion(opt.PhoneRegion); err != nil {
		return importjob.State{}, err
	}
	fileName = strings.TrimSpace(filepath.Base(strings.ReplaceAll(fileName, "\\", "/")))
	if fileName == "" || fileName == "." || fileName == "/" {
		return importjob.State{}, domain.InvalidField("file_name", "is required")
	}
	if err := text.Check(fileName); err != nil {
		return importjob.State{}, domain.InvalidField("file_name", err.Error())
	}
	id := eventstore.NewID()
	dir := filepath.Join(s.cfg.Dir, "uploads")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return importjob.State{}, fmt.Errorf("imports: %w", err)
	}
	path := filepath.Join(dir, id+"_"+safeName(fileName))
	abs, err := filepath.Abs(path)
	if err == nil {
		path = abs
	}
	size, err := writeFile(path, body, s.cfg.MaxFileBytes)
	if err != nil {
		return importjob.State{}, err
	}
	keep := false
	defer func() {
		if !keep {
			_ = os.Remove(path)
		}
	}()
	headers, err := readHeader(path)
	if err != nil {
		return importjob.State{}, err
	}
	m, err := NewMapping(headers)
	if err != nil {
		return importjob.State{}, err
	}
	if opt.UpsertKey == "" {
		key = m.DefaultKey()
	}
	if key != "" && !m.HasColumn(key) {
		return importjob.State{}, domain.InvalidField("upsert_key", "the file has no "+key+" column")
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO import_jobs (job_id, account_id, upload_path) VALUES ($1, $2, $3)`,
		id, p.AccountID, path); err != nil {
		return importjob.State{}, fmt.Errorf("imports: register job: %w", err)
	}
	job, err := s.cmds.CreateImportJob(ctx, commands.CreateImportJob{
		AccountID: p.AccountID, ActorID: p.Actor(), ID: id, FileName: fileName, UploadPath: path,
		SizeBytes: size, UpsertKey: key, Headers: headers, UnknownColumns: m.Unknown, PhoneRegion: opt.PhoneRegion,
	})
	if err != nil {
		_, _ = s.pool.Exec(context.WithoutCancel(ctx), `DELETE FROM import_jobs WHERE job_id = $1`, id)
		return importjob.State{}, err
	}
	keep = true
	s.cfg.Metrics.job("created")
	s.Wake()
	return job, nil
}

// Wake tells the worker a job is waiting.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(name string) string {
	n := unsafeChars.ReplaceAllString(name, "_")
	if len(n) > 100 {
		n = n[len(n)-100:]
	}
	return strings.TrimLeft(n, ".")
}

// writeFile copies body to path, refusing more than limit bytes.
func writeFile(path string, body io.Reader, limit int64) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("imports: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(body, limit+1))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge) || err == nil && n > limit:
		_ = os.Remove(path)
		return 0, errTooLarge(limit)
	case err != nil:
		_ = os.Remove(path)
		return 0, fmt.Errorf("imports: saving the upload: %w", err)
	case n == 0:
		_ = os.Remove(path)
		return 0, domain.InvalidField("file_data", "the file is empty")
	}
	return n, nil
}

func newReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // rows of the wrong width are error records, not the end
	return cr
}

// readHeader reads the first record of the file.
func readHeader(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("imports: %w", err)
	}
	defer f.Close()
	cr := newReader(bufio.NewReader(f))
	h, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, domain.InvalidField("file_data", "the file is empty")
	}
	if err != nil {
		return nil, domain.InvalidField("file_data", "the header row is not valid CSV: "+err.Error())
	}
	// The header names the job's columns (stored in its events): it must be
	// text (internal/text) or the file cannot be imported at all.
	if i, err := badCell(h); err != nil {
		return nil, domain.InvalidField("file_data", fmt.Sprintf("the header row's column %d %s", i+1, err))
	}
	return h, nil
}

// badCell finds the first cell of a record that breaks the text rule
// (internal/text: valid UTF-8, no NUL): PostgreSQL can store neither, and
// the row's contact would otherwise hold U+FFFD where the file had bytes.
func badCell(rec []string) (int, error) {
	for i, v := range rec {
		if err := text.Check(v); err != nil {
			return i, err
		}
	}
	return -1, nil
}

// storable is a record fit to keep in an error row: bytes that break the
// text rule become U+FFFD (the error message says which column had them).
func storable(rec []string) []string {
	out := make([]string, len(rec))
	for i, v := range rec {
		if text.Check(v) != nil {
			v = strings.ToValidUTF8(strings.ReplaceAll(v, "\x00", "\uFFFD"), "\uFFFD")
		}
		out[i] = v
	}
	return out
}

// Upload is upload_contacts_csv: the decoded file, default options.
func (s *Service) Upload(ctx context.Context, p auth.Principal, fileName string, content []byte) (Job, error) {
	job, err := s.Create(ctx, p, fileName, bytes.NewReader(content), UploadOptions{})
	if err != nil {
		return Job{}, err
	}
	return View(job), nil
}

// Job returns the job's state; another account's job is not found.
func (s *Service) Job(ctx context.Context, accountID, jobID string) (importjob.State, error) {
	if !domain.IsUUID(jobID) {
		return importjob.State{}, domain.NotFound("import job", jobID)
	}
	return s.cmds.ImportJob(ctx, accountID, strings.ToLower(jobID))
}

// Status is get_import_status.
func (s *Service) Status(ctx context.Context, accountID, jobID string, includeErrors bool) (Job, error) {
	job, err := s.Job(ctx, accountID, jobID)
	if err != nil {
		return Job{}, err
	}
	v := View(job)
	if includeErrors {
		if v.Errors, err = s.ErrorRows(ctx, accountID, job.ID, MaxErrorsInline, 0); err != nil {
			return Job{}, err
		}
		if v.Errors == nil {
			v.Errors = []RowError{}
		}
	}
	return v, nil
}

// Errors is get_import_errors (the first MaxErrorsInline; the CSV has all).
func (s *Service) Errors(ctx context.Context, accountID, jobID string) ([]RowError, error) {
	job, err := s.Job(ctx, accountID, jobID)
	if err != nil {
		return nil, err
	}
	return s.ErrorRows(ctx, accountID, job.ID, MaxErrorsInline, 0)
}

// ErrorRows pages through a job's error records in row order.
func (s *Service) ErrorRows(ctx context.Context, accountID, jobID string, limit, offset int) ([]RowError, error) {
	rows, err := s.pool.Query(ctx, `SELECT row_number, error_message, row_data FROM import_errors
		WHERE job_id = $1 AND account_id = $2 ORDER BY row_number LIMIT $3 OFFSET $4`, jobID, accountID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("imports: error rows: %w", err)
	}
	defer rows.Close()
	out := []RowError{}
	for rows.Next() {
		var e RowError
		var data []byte
		if err := rows.Scan(&e.RowNumber, &e.ErrorMessage, &data); err != nil {
			return nil, fmt.Errorf("imports: error rows: %w", err)
		}
		if err := json.Unmarshal(data, &e.RowData); err != nil {
			return nil, fmt.Errorf("imports: error rows: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// WriteErrorCSV writes the job's error file: the original columns plus an
// "error" column, one line per failed row, in row order (streamed).
func (s *Service) WriteErrorCSV(ctx context.Context, accountID, jobID string, w io.Writer) error {
	job, err := s.Job(ctx, accountID, jobID)
	if err != nil {
		return err
	}
	return s.writeErrorCSV(ctx, job, w)
}

func (s *Service) writeErrorCSV(ctx context.Context, job importjob.State, w io.Writer) error {
	cw := csv.NewWriter(w)
	header := append(append([]string{}, job.Headers...), "error")
	if err := cw.Write(header); err != nil {
		return err
	}
	rows, err := s.pool.Query(ctx, `SELECT row_values, error_message FROM import_errors
		WHERE job_id = $1 AND account_id = $2 ORDER BY row_number`, job.ID, job.AccountID)
	if err != nil {
		return fmt.Errorf("imports: error csv: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var vals []string
		var msg string
		if err := rows.Scan(&vals, &msg); err != nil {
			return fmt.Errorf("imports: error csv: %w", err)
		}
		line := make([]string, len(job.Headers)+1)
		copy(line, vals) // a short row leaves the rest empty; a long one is cut
		if len(vals) > len(job.Headers) {
			msg += fmt.Sprintf(" (extra cells: %s)", strings.Join(vals[len(job.Headers):], ", "))
		}
		line[len(job.Headers)] = msg
		if err := cw.Write(line); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("imports: error csv: %w", err)
	}
	cw.Flush()
	return cw.Error()
}

// View is the job as the contacts WebSocket API shows it.
func View(j importjob.State) Job {
	v := Job{
		JobID: j.ID, Status: j.Status, TotalRows: j.TotalRows, SuccessCount: j.SuccessCount, ErrorCount: j.ErrorCount,
		UploadFilePath: areaPath(j.UploadPath), Message: j.Message(), StartedAt: j.StartedAt, FinishedAt: j.FinishedAt,
		CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
		FileName: j.FileName, UpsertKey: upsertKeyName(j.UpsertKey), ProcessedRows: j.ProcessedRows,
		CreatedCount: j.CreatedCount, UpdatedCount: j.UpdatedCount, UnchangedCount: j.UnchangedCount,
		DuplicateCount: j.DuplicateCount, UnknownColumns: j.UnknownColumns, PhoneRegion: j.PhoneRegion,
	}
	if j.ErrorFilePath != "" {
		p := areaPath(j.ErrorFilePath)
		v.ErrorFilePath = &p
	}
	return v
}

// areaPath is a job's file as clients see it: relative to the import area
// (uploads/<id>_<name>.csv, errors/job_<id>_errors.csv), never the server's
// own file system. Jobs record absolute paths, and every file lies directly
// in uploads/ or errors/ of the import directory.
func areaPath(p string) string {
	return path.Join(filepath.Base(filepath.Dir(p)), filepath.Base(p))
}

func upsertKeyName(k string) string {
	if k == "" {
		return "none"
	}
	return k
}
