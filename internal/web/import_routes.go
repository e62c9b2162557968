package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"contacts/commands"
	"contacts/commands/imports"
	"contacts/internal/apierr"
	"contacts/readapi"
)

// Routes of CSV import jobs, bulk upsert and export. Uploads and exports
// stream (never a whole file in memory), so they are mounted without the
// idempotency middleware, which buffers bodies; their body limit is the
// import file limit, not the JSON one.
const (
	routeImport = "/api/v1/contacts/import"
	routeBulk   = "/api/v1/contacts/bulk"
	routeExport = "/api/v1/contacts/export"
	// accountPrefix names the account in the path (the twin of every
	// account-scoped route).
	accountPrefix = "/api/v1/accounts/:account_id"
)

var errImportsUnavailable = apierr.New(http.StatusNotImplemented, "not_available", "CSV import is not configured on this server")

func (a *api) importRoutes(stream, json *gin.RouterGroup) {
	stream.POST("/contacts/import", a.requireAdmin, a.uploadImport)
	stream.GET("/contacts/import", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"message": "Upload a CSV file via POST to /api/v1/contacts/import/ to start a background import job."})
	})
	stream.GET("/contacts/import/:job_id", a.importStatus)
	stream.GET("/contacts/import/:job_id/errors", a.importErrors)
	stream.GET("/contacts/import/:job_id/errors.csv", a.importErrorCSV)
	stream.POST("/contacts/export", a.exportContacts)
	json.POST("/contacts/bulk", a.bulkUpsert)
}

// bodyLimit is the largest body a route accepts (either way of naming the
// account: /api/v1/... or /api/v1/accounts/:account_id/...).
func (a *api) bodyLimit(route string) int64 {
	if rest, ok := strings.CutPrefix(route, accountPrefix); ok {
		route = "/api/v1" + rest
	}
	switch route {
	case routeImport:
		if a.Imports != nil {
			return a.ImportMaxBytes + 1<<20 // the multipart envelope around the file
		}
	case routeBulk:
		if a.BulkMaxBodyBytes > 0 {
			return a.BulkMaxBodyBytes
		}
	}
	return a.MaxBodyBytes
}

// uploadImport: multipart/form-data (the file in "import_file", "file" or
// the first file part; upsert_key and file_name as fields or query
// parameters) or a raw text/csv body (file_name in the query). Answers 202
// with the queued job.
func (a *api) uploadImport(c *gin.Context) {
	if a.Imports == nil {
		a.fail(c, errImportsUnavailable)
		return
	}
	ctx := c.Request.Context()
	opt := imports.UploadOptions{UpsertKey: c.Query("upsert_key"), PhoneRegion: c.Query(phoneRegionParam)}
	name := c.Query("file_name")
	mediaType, params, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	var body io.Reader
	switch {
	case mediaType == "multipart/form-data":
		mr := multipart.NewReader(c.Request.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				a.fail(c, uploadReadError(err))
				return
			}
			if part.FileName() == "" { // a form field
				v, err := io.ReadAll(io.LimitReader(part, 1024))
				if err != nil {
					a.fail(c, uploadReadError(err))
					return
				}
				switch part.FormName() {
				case "upsert_key":
					opt.UpsertKey = string(v)
				case phoneRegionParam:
					opt.PhoneRegion = string(v)
				case "file_name":
					name = string(v)
				}
				continue
			}
			if name == "" {
				name = part.FileName()
			}
			body = part // streamed straight to disk; later parts are ignored
			break
		}
		if body == nil {
			a.fail(c, &apierr.Error{Status: http.StatusUnprocessableEntity, Code: "validation_error", Message: "invalid input",
				Fields: map[string]string{"import_file": "is required (a file part of the multipart body)"}})
			return
		}
	case mediaType == "text/csv" || mediaType == "application/csv" || mediaType == "text/plain" || mediaType == "application/octet-stream":
		body = c.Request.Body
		if name == "" {
			name = "upload.csv"
		}
	default:
		a.fail(c, apierr.New(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send the CSV as multipart/form-data (field import_file) or as a text/csv body"))
		return
	}
	job, err := a.Imports.Create(ctx, principal(c), name, &errReader{r: body}, opt)
	if err != nil {
		var re *readError
		if errors.As(err, &re) {
			err = uploadReadError(re.err)
		}
		a.fail(c, err)
		return
	}
	c.Header("Location", strings.TrimSuffix(c.Request.URL.Path, "/")+"/"+job.ID)
	c.JSON(http.StatusAccepted, imports.View(job))
}

// errReader marks errors of the request body (too large, cut short) apart
// from errors writing the file.
type errReader struct{ r io.Reader }

type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

func (r *errReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, &readError{err: err}
	}
	return n, err
}

func uploadReadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return apierr.New(http.StatusRequestEntityTooLarge, "file_too_large", "the file is larger than the import limit")
	}
	return apierr.New(http.StatusBadRequest, "invalid_upload", "the upload could not be read: "+err.Error())
}

func (a *api) importStatus(c *gin.Context) {
	if a.Imports == nil {
		a.fail(c, errImportsUnavailable)
		return
	}
	include, _ := strconv.ParseBool(c.DefaultQuery("include_errors", "false"))
	job, err := a.Imports.Status(c.Request.Context(), principal(c).AccountID, c.Param("job_id"), include)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, job)
}

// importErrors pages the error records: ?limit (default 1000, at most
// 10000) and ?offset.
func (a *api) importErrors(c *gin.Context) {
	if a.Imports == nil {
		a.fail(c, errImportsUnavailable)
		return
	}
	limit, offset, ok := a.page(c, 1000, imports.MaxErrorsInline)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	account := principal(c).AccountID
	job, err := a.Imports.Job(ctx, account, c.Param("job_id"))
	if err != nil {
		a.fail(c, err)
		return
	}
	rows, err := a.Imports.ErrorRows(ctx, account, job.ID, limit, offset)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"count": job.ErrorCount, "errors": rows})
}

func (a *api) page(c *gin.Context, def, maxLimit int) (int, int, bool) {
	limit, offset := def, 0
	fields := map[string]string{}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			fields["limit"] = fmt.Sprintf("must be a whole number from 1 to %d", maxLimit)
		}
		limit = n
	}
	if v := c.Query("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fields["offset"] = "must be a whole number ≥ 0"
		}
		offset = n
	}
	if len(fields) > 0 {
		a.fail(c, &apierr.Error{Status: http.StatusUnprocessableEntity, Code: "validation_error", Message: "invalid input", Fields: fields})
		return 0, 0, false
	}
	return limit, offset, true
}

// importErrorCSV downloads the error file: the original columns plus "error".
func (a *api) importErrorCSV(c *gin.Context) {
	if a.Imports == nil {
		a.fail(c, errImportsUnavailable)
		return
	}
	ctx := c.Request.Context()
	job, err := a.Imports.Job(ctx, principal(c).AccountID, c.Param("job_id"))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="job_`+job.ID+`_errors.csv"`)
	c.Status(http.StatusOK)
	if err := a.Imports.WriteErrorCSV(ctx, job.AccountID, job.ID, c.Writer); err != nil {
		a.Logger.ErrorContext(ctx, "error csv download failed", "err", err, "job_id", job.ID)
		panic(http.ErrAbortHandler) // a cut connection, never a truncated file that looks whole
	}
}

// bulkRequest is the WAAPI bulk body.
type bulkRequest struct {
	Contacts []map[string]any `json:"contacts"`
	// PhoneRegion: the country of phone numbers written without a country
	// code (also accepted as the phone_region query parameter).
	PhoneRegion string `json:"phone_region"`
}

// bulkUpsert: POST /contacts/bulk {"contacts":[…]} → {created, updated,
// skipped, errors}. Up to 50,000 contacts, matched by phone.
func (a *api) bulkUpsert(c *gin.Context) {
	var req bulkRequest
	raw, ok := a.readObject(c)
	if !ok {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		a.fail(c, bindError(err))
		return
	}
	if req.Contacts == nil {
		a.fail(c, &apierr.Error{Status: http.StatusUnprocessableEntity, Code: "validation_error", Message: "invalid input",
			Fields: map[string]string{"contacts": "is required (a list of contacts)"}})
		return
	}
	rows := make([]commands.UpsertRow, len(req.Contacts))
	for i, in := range req.Contacts {
		rows[i] = bulkRow(in)
	}
	p := principal(c)
	region := req.PhoneRegion
	if region == "" {
		region = c.Query(phoneRegionParam)
	}
	res, err := a.Commands.BulkUpsertContacts(c.Request.Context(), commands.BulkUpsertContacts{
		AccountID: p.AccountID, ActorID: p.Actor(), Contacts: rows, PhoneRegion: region})
	if err != nil {
		a.fail(c, err)
		return
	}
	errs := make([]gin.H, 0, len(res.Errors))
	for _, e := range res.Errors {
		pr, _ := apierr.Classify(e.Err)
		h := gin.H{"index": e.Index, "phone": e.Phone, "code": pr.Code, "message": imports.ErrorMessage(e.Err)}
		if len(pr.Fields) > 0 {
			h["fields"] = pr.Fields
		}
		errs = append(errs, h)
	}
	c.JSON(http.StatusOK, gin.H{"created": res.Created, "updated": res.Updated, "skipped": res.Skipped, "errors": errs})
}

// bulkRow splits a bulk contact into its fields and its group names.
func bulkRow(in map[string]any) commands.UpsertRow {
	fields := make(map[string]any, len(in))
	for k, v := range in {
		fields[k] = v
	}
	g, has := fields["groups"]
	delete(fields, "groups")
	if !has || g == nil {
		return commands.UpsertRow{Fields: fields}
	}
	list, ok := g.([]any)
	if !ok {
		return commands.UpsertRow{Err: invalidGroups()}
	}
	names := make([]string, 0, len(list))
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			return commands.UpsertRow{Err: invalidGroups()}
		}
		names = append(names, s)
	}
	return commands.UpsertRow{Fields: fields, Groups: names}
}

func invalidGroups() error {
	return &apierr.Error{Status: http.StatusUnprocessableEntity, Code: "validation_error", Message: "invalid input",
		Fields: map[string]string{"groups": "must be a list of group names"}}
}

// exportContacts streams the contacts a query matches as CSV, consistent
// as of one point in time. Body: the filters of POST /contacts/search, the
// advanced "filter" (or Chatwoot's "payload"), and "columns" (or
// "column_names").
func (a *api) exportContacts(c *gin.Context) {
	if a.Export == nil {
		a.fail(c, apierr.New(http.StatusNotImplemented, "not_available", "export needs the PostgreSQL read model"))
		return
	}
	var body any
	raw, err := readJSONBody(c.Request.Body, false)
	if err != nil && !errors.Is(err, io.EOF) { // an empty body exports everything
		a.fail(c, bindError(err))
		return
	}
	if raw != nil {
		if err := json.Unmarshal(raw, &body); err != nil {
			a.fail(c, apierr.New(http.StatusBadRequest, "invalid_json", "request body is not valid JSON: "+err.Error()))
			return
		}
	}
	req, err := readapi.ParseExportRequest(c.Request.URL.Query(), body)
	if err != nil {
		a.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	p := principal(c)
	started := false
	err = a.Export.ExportCSV(ctx, p.AccountID, req, func() io.Writer {
		started = true
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Header("Content-Disposition", `attachment; filename="contacts-`+time.Now().UTC().Format("20060102-150405")+`.csv"`)
		c.Status(http.StatusOK)
		return c.Writer
	})
	if err != nil {
		if !started {
			a.fail(c, err)
			return
		}
		a.Logger.ErrorContext(ctx, "export failed mid-stream", "err", err)
		panic(http.ErrAbortHandler)
	}
}
