// Package domain holds what every aggregate shares: the event contract, the
// typed domain error and the value validation users rely on (e-mail, E.164
// phone numbers, name lengths). It imports only the standard library and
// one pure library: libphonenumber's metadata (github.com/nyaruka/phonenumbers)
// for phone numbers; the default phone region is an input, never looked up.
package domain

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Event is a fact that happened to one aggregate. Concrete events are plain
// structs with exported, JSON-tagged fields; EventType is their stable name on
// the wire ("contact.created"), never renamed once published.
type Event interface {
	EventType() string
}

// Recorded is what the event store adds to an event when it is applied to an
// aggregate: the stream version it became and when it was recorded.
type Recorded struct {
	Version int64
	At      time.Time
}

// Sentinels classify every domain failure; the HTTP and WebSocket layers map
// them to status codes in one table with errors.Is.
var (
	ErrValidation    = errors.New("validation failed")
	ErrNotFound      = errors.New("not found")
	ErrDeleted       = errors.New("deleted")
	ErrAlreadyExists = errors.New("already exists")
	ErrInvalidState  = errors.New("invalid state")
)

// Error is the one typed domain error. Code is stable (clients switch on it),
// Message is for humans, Fields names the offending inputs.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
	Err     error // one of the sentinels above
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return e.Message + " (" + strings.Join(parts, "; ") + ")"
}

func (e *Error) Unwrap() error { return e.Err }

// Codes carried by Error.
const (
	CodeValidation    = "validation_error"
	CodeNotFound      = "not_found"
	CodeDeleted       = "deleted"
	CodeAlreadyExists = "already_exists"
	CodeInvalidState  = "invalid_state"
)

// Invalid reports invalid input on one or more fields.
func Invalid(fields map[string]string) *Error {
	return &Error{Code: CodeValidation, Message: "invalid input", Fields: fields, Err: ErrValidation}
}

// InvalidField reports one invalid field.
func InvalidField(field, problem string) *Error {
	return Invalid(map[string]string{field: problem})
}

// NotFound reports a missing aggregate ("contact", id).
func NotFound(kind, id string) *Error {
	return &Error{Code: CodeNotFound, Message: fmt.Sprintf("%s %s not found", kind, id), Err: ErrNotFound}
}

// Deleted reports a change attempted on a deleted aggregate.
func Deleted(kind, id string) *Error {
	return &Error{Code: CodeDeleted, Message: fmt.Sprintf("%s %s is deleted", kind, id), Err: ErrDeleted}
}

// AlreadyExists reports a create of something that already exists.
func AlreadyExists(kind, what string) *Error {
	return &Error{Code: CodeAlreadyExists, Message: fmt.Sprintf("%s %s already exists", kind, what), Err: ErrAlreadyExists}
}

// InvalidState reports a transition the current state does not allow
// (activating an active contact, editing a removed note, ...).
func InvalidState(message string) *Error {
	return &Error{Code: CodeInvalidState, Message: message, Err: ErrInvalidState}
}

// Errors collects per-field problems while validating a whole input, so a
// client learns about every bad field at once.
type Errors map[string]string

// Add records a problem for field unless one is already recorded.
func (e Errors) Add(field, problem string) {
	if _, ok := e[field]; !ok {
		e[field] = problem
	}
}

// Err returns nil when nothing was recorded.
func (e Errors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return Invalid(map[string]string(e))
}
