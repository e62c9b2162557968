// Package importroutes is the HTTP side of CSV import jobs (package
// imports): upload, status, error rows, error file. It is apart from
// imports so that imports stays free of HTTP (its errors get their statuses
// from internal/apierr, which imports it).
package importroutes

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"contacts/commands/imports"
	"contacts/internal/apierr"
	"contacts/internal/web/edge"
)

// Routes are the CSV import routes: upload (POST /contacts/import), the
// job's status, its error rows and its error file. internal/web mounts them
// on both ways of naming the account, without the idempotency middleware
// (uploads stream).
type Routes struct {
	edge.Edge
	// Imports nil: every route answers 501 not_available.
	Imports *imports.Service
	// Page reads ?limit and ?offset (internal/web's rule).
	Page func(c *gin.Context, def, maxLimit int) (limit, offset int, ok bool)
}

// phoneRegionParam: the query parameter (and form field) naming the country
// of phone numbers written without a country code (rest.PhoneRegionParam).
const phoneRegionParam = "phone_region"

var errImportsUnavailable = apierr.New(http.StatusNotImplemented, "not_available", "CSV import is not configured on this server")

// Mount mounts the import routes on stream.
func (a *Routes) Mount(stream *gin.RouterGroup) {
	stream.POST("/contacts/import", a.RequireAdmin, a.uploadImport)
	stream.GET("/contacts/import", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"message": "Upload a CSV file via POST to /api/v1/contacts/import/ to start a background import job."})
	})
	stream.GET("/contacts/import/:job_id", a.importStatus)
	stream.GET("/contacts/import/:job_id/errors", a.importErrors)
	stream.GET("/contacts/import/:job_id/errors.csv", a.importErrorCSV)
}

// uploadImport: multipart/form-data (the file in "import_file", "file" or
// the first file part; upsert_key and file_name as fields or query
// parameters) or a raw text/csv body (file_name in the query). Answers 202
// with the queued job.
func (a *Routes) uploadImport(c *gin.Context) {
	if a.Imports == nil {
		a.Fail(c, errImportsUnavailable)
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
				a.Fail(c, uploadReadError(err))
				return
			}
			if part.FileName() == "" { // a form field
				v, err := io.ReadAll(io.LimitReader(part, 1024))
				if err != nil {
					a.Fail(c, uploadReadError(err))
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
			a.Fail(c, &apierr.Error{Status: http.StatusUnprocessableEntity, Code: "validation_error", Message: "invalid input",
				Fields: map[string]string{"import_file": "is required (a file part of the multipart body)"}})
			return
		}
	case mediaType == "text/csv" || mediaType == "application/csv" || mediaType == "text/plain" || mediaType == "application/octet-stream":
		body = c.Request.Body
		if name == "" {
			name = "upload.csv"
		}
	default:
		a.Fail(c, apierr.New(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send the CSV as multipart/form-data (field import_file) or as a text/csv body"))
		return
	}
	job, err := a.Imports.Create(ctx, edge.Principal(c), name, &errReader{r: body}, opt)
	if err != nil {
		var re *readError
		if errors.As(err, &re) {
			err = uploadReadError(re.err)
		}
		a.Fail(c, err)
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

func (a *Routes) importStatus(c *gin.Context) {
	if a.Imports == nil {
		a.Fail(c, errImportsUnavailable)
		return
	}
	include, _ := strconv.ParseBool(c.DefaultQuery("include_errors", "false"))
	job, err := a.Imports.Status(c.Request.Context(), edge.Principal(c).AccountID, c.Param("job_id"), include)
	if err != nil {
		a.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, job)
}

// importErrors pages the error records: ?limit (default 1000, at most
// 10000) and ?offset.
func (a *Routes) importErrors(c *gin.Context) {
	if a.Imports == nil {
		a.Fail(c, errImportsUnavailable)
		return
	}
	limit, offset, ok := a.Page(c, 1000, imports.MaxErrorsInline)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	account := edge.Principal(c).AccountID
	job, err := a.Imports.Job(ctx, account, c.Param("job_id"))
	if err != nil {
		a.Fail(c, err)
		return
	}
	rows, err := a.Imports.ErrorRows(ctx, account, job.ID, limit, offset)
	if err != nil {
		a.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"count": job.ErrorCount, "errors": rows})
}

// importErrorCSV downloads the error file: the original columns plus "error".
func (a *Routes) importErrorCSV(c *gin.Context) {
	if a.Imports == nil {
		a.Fail(c, errImportsUnavailable)
		return
	}
	ctx := c.Request.Context()
	job, err := a.Imports.Job(ctx, edge.Principal(c).AccountID, c.Param("job_id"))
	if err != nil {
		a.Fail(c, err)
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
