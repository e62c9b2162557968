package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"contacts/commands/imports/importroutes"
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

func (a *api) importRoutes(stream, json *gin.RouterGroup) {
	(&importroutes.Routes{Edge: a.edge(), Imports: a.Imports, Page: a.page}).Mount(stream)
	a.edge().Read(stream).POST("/contacts/export", a.exportContacts) // reads, though a POST
	a.edge().Write(json).POST("/contacts/bulk", a.commandRoutes().BulkUpsert)
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
		a.fail(c, apierr.Invalid(fields))
		return 0, 0, false
	}
	return limit, offset, true
}

// exportContacts streams the contacts a query matches as CSV, consistent
// as of one point in time. Body: the filters of POST /contacts/search, the
// advanced "filter" (or Chatwoot's "payload"), and "columns" (or
// "column_names").
func (a *api) exportContacts(c *gin.Context) {
	if a.Export == nil {
		a.fail(c, apierr.New(apierr.NotAvailable, "export needs the PostgreSQL read model"))
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
			a.fail(c, apierr.New(apierr.InvalidJSON, "request body is not valid JSON: "+err.Error()))
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
			a.Metrics.exported("error", 0)
			a.fail(c, err)
			return
		}
		a.Metrics.exported("aborted", c.Writer.Size())
		a.Logger.ErrorContext(ctx, "export failed mid-stream", "err", err)
		panic(http.ErrAbortHandler)
	}
	a.Metrics.exported("ok", c.Writer.Size())
}
