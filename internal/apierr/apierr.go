// Package apierr is the one error table: every error a client can see maps
// to one Code, and the Code carries its HTTP status and how the WebSocket
// protocol reports it (benbjohnson/wtf's model). Packages below the
// transports return domain errors (the sentinels of domain, commands,
// eventstore, auth, accounts, imports) or an *Error with a Code; they never
// pick a status. The transports (internal/web, commands/rest, readapi/rest,
// readapi/ws, …) look the code up here with Classify.
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
	"contacts/readapi/realtime"
)

// Code is a stable error code, as clients see it in "code".
type Code string

// WS is how the WebSocket protocol (/work/shared/seeds/000) reports a code
// raised inside an action.
type WS int

const (
	// WSAction: the action's own code (list_error, create_error, …) with
	// the error's message.
	WSAction WS = iota
	// WSValidation: validation_error, "Validation error: …", fields named.
	WSValidation
	// WSNotFound: not_found with the error's message.
	WSNotFound
	// WSOwn: under its own code (the live-update subscriptions' errors,
	// which readapi/ws reports itself).
	WSOwn
)

// The codes of the table.
const (
	Internal             Code = "internal_error"
	InvalidJSON          Code = "invalid_json"
	InvalidParameter     Code = "invalid_parameter"
	InvalidIfMatch       Code = "invalid_if_match"
	InvalidIdempotency   Code = "invalid_idempotency_key"
	InvalidUpload        Code = "invalid_upload"
	Validation           Code = domain.CodeValidation
	IdempotencyReused    Code = "idempotency_key_reused"
	BulkLimit            Code = commands.CodeBulkLimit
	Unauthorized         Code = "unauthorized"
	InvalidCredentials   Code = "invalid_credentials"
	InvalidToken         Code = "invalid_token"
	Forbidden            Code = "forbidden"
	InsufficientScope    Code = "insufficient_scope"
	NotFound             Code = domain.CodeNotFound
	MethodNotAllowed     Code = "method_not_allowed"
	Conflict             Code = "conflict"
	Duplicate            Code = "duplicate"
	AlreadyExists        Code = domain.CodeAlreadyExists
	Deleted              Code = domain.CodeDeleted
	InvalidState         Code = domain.CodeInvalidState
	RequestInProgress    Code = "request_in_progress"
	VersionMismatch      Code = "version_mismatch"
	PayloadTooLarge      Code = "payload_too_large"
	FileTooLarge         Code = "file_too_large"
	UnsupportedMediaType Code = "unsupported_media_type"
	RateLimited          Code = "rate_limited"
	NotImplemented       Code = "not_implemented"
	NotAvailable         Code = "not_available"

	// The live-update subscriptions' codes (readapi/realtime): their status
	// answers a refused /stream upgrade; on the WebSocket they are their own.
	InvalidChannel      Code = realtime.CodeInvalidChannel
	InvalidPosition     Code = realtime.CodeInvalidPosition
	AlreadySubscribed   Code = realtime.CodeAlreadySubscribe
	NotSubscribed       Code = realtime.CodeNotSubscribed
	TooManySubscription Code = realtime.CodeTooMany
	InvalidFilter       Code = realtime.CodeInvalidFilter
	RealtimeUnavailable Code = realtime.CodeUnavailable

	// badRequest is the row of a domain error that names no sentinel.
	badRequest Code = ""
)

type row struct {
	status int
	ws     WS
}

// table is the one table. A code missing from it is a 500.
var table = map[Code]row{
	Internal:             {http.StatusInternalServerError, WSAction},
	badRequest:           {http.StatusBadRequest, WSValidation},
	InvalidJSON:          {http.StatusBadRequest, WSValidation},
	InvalidParameter:     {http.StatusBadRequest, WSValidation},
	InvalidIfMatch:       {http.StatusBadRequest, WSValidation},
	InvalidIdempotency:   {http.StatusBadRequest, WSValidation},
	InvalidUpload:        {http.StatusBadRequest, WSValidation},
	Validation:           {http.StatusUnprocessableEntity, WSValidation},
	IdempotencyReused:    {http.StatusUnprocessableEntity, WSValidation},
	BulkLimit:            {http.StatusUnprocessableEntity, WSValidation},
	Unauthorized:         {http.StatusUnauthorized, WSAction},
	InvalidCredentials:   {http.StatusUnauthorized, WSAction},
	InvalidToken:         {http.StatusUnauthorized, WSAction},
	Forbidden:            {http.StatusForbidden, WSAction},
	InsufficientScope:    {http.StatusForbidden, WSAction},
	NotFound:             {http.StatusNotFound, WSNotFound},
	MethodNotAllowed:     {http.StatusMethodNotAllowed, WSAction},
	Conflict:             {http.StatusConflict, WSAction},
	Duplicate:            {http.StatusConflict, WSValidation},
	AlreadyExists:        {http.StatusConflict, WSValidation},
	Deleted:              {http.StatusConflict, WSAction},
	InvalidState:         {http.StatusConflict, WSAction},
	RequestInProgress:    {http.StatusConflict, WSAction},
	VersionMismatch:      {http.StatusPreconditionFailed, WSAction},
	PayloadTooLarge:      {http.StatusRequestEntityTooLarge, WSAction},
	FileTooLarge:         {http.StatusRequestEntityTooLarge, WSAction},
	UnsupportedMediaType: {http.StatusUnsupportedMediaType, WSAction},
	RateLimited:          {http.StatusTooManyRequests, WSAction},
	NotImplemented:       {http.StatusNotImplemented, WSAction},
	NotAvailable:         {http.StatusNotImplemented, WSAction},

	InvalidChannel:      {http.StatusBadRequest, WSOwn},
	InvalidPosition:     {http.StatusBadRequest, WSOwn},
	AlreadySubscribed:   {http.StatusBadRequest, WSOwn},
	NotSubscribed:       {http.StatusBadRequest, WSOwn},
	TooManySubscription: {http.StatusBadRequest, WSOwn},
	InvalidFilter:       {http.StatusBadRequest, WSOwn},
	RealtimeUnavailable: {http.StatusNotImplemented, WSOwn},
}

// Status is the code's HTTP status (500 for a code not in the table).
func (c Code) Status() int {
	if r, ok := table[c]; ok {
		return r.status
	}
	return http.StatusInternalServerError
}

// WS is how the WebSocket protocol reports the code.
func (c Code) WS() WS { return table[c].ws }

// Error is an error raised with a code of the table (bad JSON, missing
// auth, too large, …); its status is the code's.
type Error struct {
	Code    Code
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string { return e.Message }

// New returns a coded error.
func New(code Code, message string) *Error {
	return &Error{Code: code, Message: message}
}

// Invalid is the validation error of bad inputs, named by field.
func Invalid(fields map[string]string) *Error {
	return &Error{Code: Validation, Message: "invalid input", Fields: fields}
}

// Problem is what a client sees; Status and WS come from the table.
type Problem struct {
	Status  int               `json:"-"`
	WS      WS                `json:"-"`
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

func problem(c Code, message string, fields map[string]string) Problem {
	r := table[c]
	return Problem{Status: r.status, WS: r.ws, Code: string(c), Message: message, Fields: fields}
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
		if _, ok := table[api.Code]; !ok {
			break
		}
		return problem(api.Code, api.Message, api.Fields), true
	case errors.As(err, &textErr):
		return problem(Validation, "invalid input", map[string]string{textErr.Field: textErr.Err.Error()}), true
	case errors.Is(err, text.ErrTrailingData):
		return problem(InvalidJSON, "request body is not valid JSON: "+err.Error(), nil), true
	case errors.As(err, &syntaxErr):
		return problem(InvalidJSON, "request body is not valid JSON: "+syntaxErr.Error(), nil), true
	case errors.As(err, &taken):
		return problem(Duplicate, taken.Field+" is already used by another record",
			map[string]string{taken.Field: "already used by " + taken.OwnerID}), true
	case errors.As(err, &mismatch):
		return problem(VersionMismatch, mismatch.Error(), nil), true
	case errors.As(err, &de):
		// A domain error keeps its own code; its sentinel picks the row.
		p := problem(domainRow(de), de.Message, de.Fields)
		p.Code = de.Code
		return p, true
	case errors.Is(err, eventstore.ErrConcurrency):
		return problem(Conflict, "the record was changed by another request; retry", nil), true
	case errors.Is(err, auth.ErrInvalidCredentials):
		return problem(InvalidCredentials, "invalid e-mail or password", nil), true
	case errors.Is(err, auth.ErrTokenReused):
		return problem(InvalidToken, "this refresh token was already used: the session is revoked, sign in again", nil), true
	case errors.Is(err, auth.ErrInvalidToken):
		return problem(InvalidToken, "the token is invalid, expired, revoked or already used", nil), true
	case errors.Is(err, accounts.ErrEmailTaken):
		return problem(Duplicate, "this e-mail is already registered", map[string]string{"email": "already registered"}), true
	case errors.As(err, &tooLarge):
		return problem(FileTooLarge, tooLarge.Error(), nil), true
	case errors.Is(err, imports.ErrAdminRequired):
		return problem(Forbidden, imports.ErrAdminRequired.Error(), nil), true
	case errors.Is(err, eventstore.ErrDuplicateRequest):
		return problem(RequestInProgress, "a request with this Idempotency-Key is already being processed", nil), true
	}
	return problem(Internal, "internal server error", nil), false
}

// domainRow is the row of a domain error: its sentinel's.
func domainRow(e *domain.Error) Code {
	switch {
	case errors.Is(e, domain.ErrValidation):
		return Validation
	case errors.Is(e, domain.ErrNotFound):
		return NotFound
	case errors.Is(e, domain.ErrAlreadyExists):
		return AlreadyExists
	case errors.Is(e, domain.ErrDeleted):
		return Deleted
	case errors.Is(e, domain.ErrInvalidState):
		return InvalidState
	}
	return badRequest
}
