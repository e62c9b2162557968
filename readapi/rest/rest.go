// Package rest serves the read API over REST: the contact queries (list,
// count, uuids, search, the 13 field routes built from readapi's one table
// of field actions), the company/group/label lists, and the OpenAPI
// document of every route (openapi.json; its account-scoped copies are
// written by gen_openapi_accounts.py: go generate ./readapi/rest). Errors
// are domain errors, answered through internal/apierr's table.
package rest

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"contacts/internal/apierr"
	"contacts/internal/auth"
	textrule "contacts/internal/text"
	"contacts/readapi"
)

// principalKey is where internal/web's authentication middleware keeps
// the request's auth.Principal in the gin context.
const principalKey = "principal"

// Deps are what the REST reads need.
type Deps struct {
	Service readapi.Service // the query model; nil: the contact reads answer 500 (logged)
	Lists   readapi.Lists   // GET /companies, /groups, /labels; nil: they answer 501
	Logger  *slog.Logger
}

// Mount adds the REST read routes to r, a group under /api/v1 that already
// authenticates (internal/web's middleware stores the auth.Principal
// under "principal"). They share the query model of the WebSocket actions
// (package readapi; readapi/ws is the WebSocket protocol):
//
//	GET  /contacts                  filters as query parameters → {next, previous, results}
//	GET  /contacts/count            → {count}
//	GET  /contacts/uuids            → {count, uuids} (limit optional: all)
//	POST /contacts/search           JSON body: the filters plus "filter" (advanced conditions), or
//	                                the condition list itself; query-string filters too → a page
//	GET  /contacts/fields/<field>   one per field action (titles, companies, …) → {results}
//	GET  /companies, /groups, /labels  search, limit, offset → {count, results} (live records, by name)
//
// The static segments live beside internal/web's /contacts/:id routes.
func Mount(r *gin.RouterGroup, d Deps) {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	rh := &restHandler{deps: d, log: log}
	r.GET("/contacts", rh.listContacts)
	r.GET("/contacts/count", rh.countContacts)
	r.GET("/contacts/uuids", rh.contactUUIDs)
	r.POST("/contacts/search", rh.searchContacts)
	for _, action := range readapi.FieldActions() {
		field, _ := readapi.ParseField(action)
		r.GET("/contacts/fields/"+strings.TrimPrefix(action, "get_"), rh.fieldValues(field))
	}
	rh.mountLists(r)
}

type restHandler struct {
	deps Deps
	log  *slog.Logger
}

var errNoReadService = errors.New("readapi: no query service configured")

func restPrincipal(c *gin.Context) (auth.Principal, bool) {
	v, ok := c.Get(principalKey)
	if !ok {
		return auth.Principal{}, false
	}
	p, ok := v.(auth.Principal)
	return p, ok
}

func restPrincipalOrErr(c *gin.Context) (auth.Principal, error) {
	if p, ok := restPrincipal(c); ok && p.AccountID != "" {
		return p, nil
	}
	return auth.Principal{}, auth.ErrInvalidToken
}

// begin returns the account and the service, or answers the error.
func (rh *restHandler) begin(c *gin.Context) (string, readapi.Service, bool) {
	p, ok := restPrincipal(c)
	if !ok || p.AccountID == "" {
		rh.fail(c, apierr.New(http.StatusUnauthorized, "unauthorized", "a valid access token is required (Authorization: Bearer <token>)"))
		return "", nil, false
	}
	// The text rule (internal/text) on every filter, also where these
	// routes are mounted without internal/web's check.
	if fe := textrule.CheckValues(c.Request.URL.Query()); fe != nil {
		rh.fail(c, fe)
		return "", nil, false
	}
	if rh.deps.Service == nil {
		rh.fail(c, errNoReadService)
		return "", nil, false
	}
	return p.AccountID, rh.deps.Service, true
}

func (rh *restHandler) listContacts(c *gin.Context) {
	account, svc, ok := rh.begin(c)
	if !ok {
		return
	}
	q, err := readapi.ParseQueryValues(c.Request.URL.Query())
	if err != nil {
		rh.fail(c, err)
		return
	}
	page, err := svc.ListContacts(c.Request.Context(), account, q)
	if err != nil {
		rh.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

func (rh *restHandler) countContacts(c *gin.Context) {
	account, svc, ok := rh.begin(c)
	if !ok {
		return
	}
	q, err := readapi.ParseQueryValues(c.Request.URL.Query())
	if err != nil {
		rh.fail(c, err)
		return
	}
	n, err := svc.CountContacts(c.Request.Context(), account, q)
	if err != nil {
		rh.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"count": n})
}

func (rh *restHandler) contactUUIDs(c *gin.Context) {
	account, svc, ok := rh.begin(c)
	if !ok {
		return
	}
	q, err := readapi.ParseQueryValues(c.Request.URL.Query())
	if err != nil {
		rh.fail(c, err)
		return
	}
	out, err := readapi.ListContactUUIDs(c.Request.Context(), svc, account, q)
	if err != nil {
		rh.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (rh *restHandler) searchContacts(c *gin.Context) {
	account, svc, ok := rh.begin(c)
	if !ok {
		return
	}
	body, err := decodeBody(c.Request.Body)
	if err != nil {
		rh.fail(c, err)
		return
	}
	q, err := readapi.ParseSearchRequest(c.Request.URL.Query(), body)
	if err != nil {
		rh.fail(c, err)
		return
	}
	page, err := svc.ListContacts(c.Request.Context(), account, q)
	if err != nil {
		rh.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

func (rh *restHandler) fieldValues(field readapi.Field) gin.HandlerFunc {
	return func(c *gin.Context) {
		account, svc, ok := rh.begin(c)
		if !ok {
			return
		}
		opt, q, err := readapi.ParseFieldOptions(readapi.DataFromValues(c.Request.URL.Query()))
		if err != nil {
			rh.fail(c, err)
			return
		}
		out, err := readapi.ListFieldValues(c.Request.Context(), svc, account, field, q, opt)
		if err != nil {
			rh.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, out)
	}
}

// decodeBody reads a JSON body of any shape (empty: nil).
func decodeBody(r io.Reader) (any, error) {
	raw, err := io.ReadAll(r)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, apierr.New(http.StatusRequestEntityTooLarge, "payload_too_large", "request body is too large")
	}
	if err != nil {
		return nil, apierr.New(http.StatusBadRequest, "invalid_json", "request body could not be read")
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return nil, nil
	}
	// One document, every string valid UTF-8 without NUL (internal/text).
	if err := textrule.CheckJSON(raw); err != nil {
		return nil, err
	}
	if t := strings.TrimSpace(string(raw)); t == "null" {
		return nil, apierr.New(http.StatusBadRequest, "invalid_json", "request body must be a JSON object or list, not null")
	}
	var body any
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, apierr.New(http.StatusBadRequest, "invalid_json", "request body is not valid JSON: "+err.Error())
	}
	return body, nil
}

// fail answers in the API's one error format: {"error":{code,message,fields}}.
// Every error here is a domain, text-rule or apierr error: its status comes
// from internal/apierr's table (unknown errors: 500, logged).
func (rh *restHandler) fail(c *gin.Context, err error) {
	p, known := apierr.Classify(err)
	if !known {
		rh.log.ErrorContext(c.Request.Context(), "read request failed", "err", err,
			"method", c.Request.Method, "path", c.FullPath())
	}
	c.AbortWithStatusJSON(p.Status, gin.H{"error": p})
}
