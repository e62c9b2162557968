// Package apierr is the one table that maps errors to HTTP statuses and
// stable error codes, for REST and WebSocket alike.
package apierr

import (
	"errors"
	"net/http"

	"contacts/commands"
	"contacts/commands/imports"
	"contacts/domain"
	"contacts/eventstore"
	"contacts/internal/accounts"
	"contacts/internal/auth"
	"contacts/internal/text"
)

// Error is an API-level error raised by the transport itself (bad JSON,
// missing auth, too large), already carrying its status and code.
type Error struct {
	Status  int
	Code    string
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string { return e.Message }

// New returns an API error.
func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// Problem is what a client sees.
type Problem struct {
	Status  int               `json:"-"`
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// Classify maps any error to a Problem. Known is false for errors the table
// does not know: they are 500s and must be logged by the caller.
func Classify(err error) (p Problem, known bool) {
	var api *Error
	var de *domain.Error
	var taken *commands.UniqueValueTakenError
	var mismatch *commands.VersionMismatchError
	var textErr *text.FieldError
	var syntaxErr *text.SyntaxError
	var tooLarge *imports.TooLargeError
	switch {
	case errors.As(err, &api):
		return Problem{api.Status, api.Code, api.Message, api.Fields}, true
	case errors.As(err, &textErr):
		return Problem{http.StatusUnprocessableEntity, "validation_error", "invalid input",
			map[string]string{textErr.Field: textErr.Err.Error()}}, true
	case errors.Is(err, text.ErrTrailingData):
		return Problem{http.StatusBadRequest, "invalid_json", "request body is not valid JSON: " + err.Error(), nil}, true
	case errors.As(err, &syntaxErr):
		return Problem{http.StatusBadRequest, "invalid_json", "request body is not valid JSON: " + syntaxErr.Error(), nil}, true
	case errors.As(err, &taken):
		return Problem{http.StatusConflict, "duplicate", taken.Field + " is already used by another record",
			map[string]string{taken.Field: "already used by " + taken.OwnerID}}, true
	case errors.As(err, &mismatch):
		return Problem{http.StatusPreconditionFailed, "version_mismatch", mismatch.Error(), nil}, true
	case errors.As(err, &de):
		return Problem{domainStatus(de), de.Code, de.Message, de.Fields}, true
	case errors.Is(err, eventstore.ErrConcurrency):
		return Problem{http.StatusConflict, "conflict", "the record was changed by another request; retry", nil}, true
	case errors.Is(err, auth.ErrInvalidCredentials):
		return Problem{http.StatusUnauthorized, "invalid_credentials", "invalid e-mail or password", nil}, true
	case errors.Is(err, auth.ErrTokenReused):
		return Problem{http.StatusUnauthorized, "invalid_token", "this refresh token was already used: the session is revoked, sign in again", nil}, true
	case errors.Is(err, auth.ErrInvalidToken):
		return Problem{http.StatusUnauthorized, "invalid_token", "the token is invalid, expired, revoked or already used", nil}, true
	case errors.Is(err, accounts.ErrEmailTaken):
		return Problem{http.StatusConflict, "duplicate", "this e-mail is already registered", map[string]string{"email": "already registered"}}, true
	case errors.As(err, &tooLarge):
		return Problem{http.StatusRequestEntityTooLarge, "file_too_large", tooLarge.Error(), nil}, true
	case errors.Is(err, imports.ErrAdminRequired):
		return Problem{http.StatusForbidden, "forbidden", imports.ErrAdminRequired.Error(), nil}, true
	case errors.Is(err, eventstore.ErrDuplicateRequest):
		return Problem{http.StatusConflict, "request_in_progress", "a request with this Idempotency-Key is already being processed", nil}, true
	}
	return Problem{http.StatusInternalServerError, "internal_error", "internal server error", nil}, false
}

func domainStatus(e *domain.Error) int {
	switch {
	case errors.Is(e, domain.ErrValidation):
		return http.StatusUnprocessableEntity
	case errors.Is(e, domain.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(e, domain.ErrDeleted), errors.Is(e, domain.ErrAlreadyExists), errors.Is(e, domain.ErrInvalidState):
		return http.StatusConflict
	}
	return http.StatusBadRequest
}
