// Package edge is what every route package of the HTTP API shares, below
// internal/web's router: binding and checking bodies, path and header
// parameters, the principal the middleware authenticated, and writing an
// error in the one error format (internal/apierr's table).
package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"
	"github.com/go-playground/validator/v10"
	"github.com/google/uuid"

	"contacts/internal/apierr"
	"contacts/internal/auth"
	"contacts/internal/text"
)

// Gin context keys the middleware sets.
const (
	CtxRequestID = "request_id"
	CtxPrincipal = "principal"
	// CtxErrorCode is the code of the error Fail answered (for the
	// authentication-failure metric's kind).
	CtxErrorCode = "error_code"
)

// Errors of the edge itself.
var (
	ErrForbidden = apierr.New(apierr.Forbidden, "administrator role required")
	ErrTooLarge  = apierr.New(apierr.PayloadTooLarge, "request body is too large")
)

// Edge writes errors through Logger (what the table does not know is
// logged as a 500) and records the scope each route declares in Scopes.
type Edge struct {
	Logger *slog.Logger
	Scopes *Scopes
}

// Fail writes err in the one error format and logs what the table does not
// know as a 500.
func (a Edge) Fail(c *gin.Context, err error) {
	p, known := apierr.Classify(err)
	if !known {
		a.Logger.ErrorContext(c.Request.Context(), "request failed", "err", err,
			"method", c.Request.Method, "path", c.FullPath(), "request_id", c.GetString(CtxRequestID))
	}
	c.Set(CtxErrorCode, p.Code)
	c.AbortWithStatusJSON(p.Status, gin.H{"error": p})
}

// Principal is who the request acts as (set by the authentication
// middleware).
func Principal(c *gin.Context) auth.Principal {
	p, _ := c.Get(CtxPrincipal)
	return p.(auth.Principal)
}

// RequireAdmin lets administrators on.
func (a Edge) RequireAdmin(c *gin.Context) {
	if !Principal(c).IsAdmin() {
		a.Fail(c, ErrForbidden)
		return
	}
	c.Next()
}

// BindJSON decodes a typed body with gin's binding and validation; every
// failure becomes the API's error format. It reports whether to go on.
func (a Edge) BindJSON(c *gin.Context, dst any) bool {
	raw, ok := a.ReadObject(c)
	if !ok {
		return false
	}
	if err := binding.JSON.BindBody(raw, dst); err != nil {
		a.Fail(c, BindError(err))
		return false
	}
	return true
}

// ReadObject reads a JSON object body and checks it at the edge: the text
// rule of internal/text on every string (a NUL or invalid UTF-8 is a
// validation_error naming the field, not a database error or a silent
// U+FFFD), exactly one document (`{} {}` is invalid_json, not the first
// one), and an object: `null` is not taken for `{}`.
func (a Edge) ReadObject(c *gin.Context) ([]byte, bool) {
	raw, err := ReadObjectBody(c.Request.Body)
	if err != nil {
		a.Fail(c, BindError(err))
		return nil, false
	}
	return raw, true
}

func ReadObjectBody(r io.Reader) ([]byte, error) { return ReadJSONBody(r, true) }

// ReadJSONBody reads a JSON body under the edge checks; object demands an
// object, otherwise any document but null is taken (export bodies may be a
// list of conditions). An empty body is io.EOF.
func ReadJSONBody(r io.Reader, object bool) ([]byte, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, io.EOF
	}
	if err := text.CheckJSON(raw); err != nil {
		return nil, err
	}
	if object && trimmed[0] != '{' || string(trimmed) == "null" {
		return nil, errNotObject
	}
	return raw, nil
}

var errNotObject = apierr.New(apierr.InvalidJSON, "request body must be a JSON object")

// DecodeObject reads a JSON object body as a map, the input shape of the
// field-level commands (the domain validates each field).
func (a Edge) DecodeObject(c *gin.Context) (map[string]any, bool) {
	raw, ok := a.ReadObject(c)
	if !ok {
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		a.Fail(c, BindError(err))
		return nil, false
	}
	return m, true
}

// BindError turns a body decoding error into the API's error.
func BindError(err error) error {
	var tooLarge *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var verrs validator.ValidationErrors
	if _, known := apierr.Classify(err); known {
		return err // the text rule's errors, errNotObject
	}
	switch {
	case errors.As(err, &tooLarge):
		return ErrTooLarge
	case errors.Is(err, io.EOF):
		return apierr.New(apierr.InvalidJSON, "request body is empty; a JSON object is expected")
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return apierr.New(apierr.InvalidJSON, "request body is not valid JSON: "+err.Error())
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return apierr.New(apierr.InvalidJSON, "request body must be a JSON object")
		}
		return apierr.Invalid(map[string]string{typeErr.Field: "must be a " + jsonKind(typeErr.Type.Kind().String())})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apierr.Invalid(map[string]string{field: "unknown field"})
	case errors.As(err, &verrs):
		fields := map[string]string{}
		for _, fe := range verrs {
			fields[jsonName(fe)] = describe(fe)
		}
		return apierr.Invalid(fields)
	}
	return apierr.New(apierr.InvalidJSON, err.Error())
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice":
		return "list"
	case "map", "struct":
		return "object"
	case "bool":
		return "boolean"
	}
	return "number"
}

// jsonName is the field's path without the struct's own name
// ("contact_ids", "items[0].phone").
func jsonName(fe validator.FieldError) string {
	ns := fe.Namespace()
	if i := strings.IndexByte(ns, '.'); i >= 0 {
		ns = ns[i+1:]
	}
	return ns
}

func describe(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "max":
		return "must have at most " + fe.Param() + " items or characters"
	case "min":
		return "must have at least " + fe.Param() + " items or characters"
	case "uuid":
		return "must be a UUID"
	case "oneof":
		return "must be one of: " + fe.Param()
	}
	return fmt.Sprintf("failed the %q check", fe.Tag())
}

// PathID reads a UUID path parameter; a malformed one is simply not found.
func (a Edge) PathID(c *gin.Context, name string) (string, bool) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		a.Fail(c, apierr.New(apierr.NotFound, name+" "+strconv.Quote(c.Param(name))+" not found"))
		return "", false
	}
	return id.String(), true
}

// IfMatch reads the client's expected version from If-Match ("3", W/"3" or
// 3; "*" means any).
func (a Edge) IfMatch(c *gin.Context) (*int64, bool) {
	h := strings.TrimSpace(c.GetHeader("If-Match"))
	if h == "" || h == "*" {
		return nil, true
	}
	h = strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	v, err := strconv.ParseInt(h, 10, 64)
	if err != nil || v < 0 {
		a.Fail(c, apierr.New(apierr.InvalidIfMatch, "If-Match must be a version number, like \"3\""))
		return nil, false
	}
	return &v, true
}

// Respond writes a state with its version as ETag.
func Respond(c *gin.Context, status int, version int64, body any) {
	c.Header("ETag", `"`+strconv.FormatInt(version, 10)+`"`)
	c.JSON(status, body)
}

// Lower is strings.ToLower (ids in paths are compared in lower case).
func Lower(s string) string { return strings.ToLower(s) }

// NotFound is kind id not found.
func NotFound(kind, id string) error {
	return apierr.New(apierr.NotFound, kind+" "+id+" not found")
}
