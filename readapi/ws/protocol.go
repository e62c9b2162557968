package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"contacts/eventstore"
	"contacts/internal/apierr"
	"contacts/internal/auth"
	"contacts/internal/requestid"
	textrule "contacts/internal/text"
)

// The WebSocket error codes of the protocol document.
const (
	wsCodeMissingField          = "missing_field"
	wsCodeInvalidJSON           = "invalid_json"
	wsCodeValidation            = "validation_error"
	wsCodeUnknownAction         = "unknown_action"
	wsCodeListError             = "list_error"
	wsCodeGetError              = "get_error"
	wsCodeCountError            = "count_error"
	wsCodeUUIDsError            = "uuids_error"
	wsCodeCreateError           = "create_error"
	wsCodeFieldError            = "field_error"
	wsCodeAdminRequired         = "admin_required"
	wsCodeInvalidWriteKey       = "invalid_write_key"
	wsCodeWriteKeyNotConfigured = "write_key_not_configured"
	wsCodeUploadError           = "upload_error"
	wsCodeImportStatusError     = "import_status_error"
	wsCodeImportErrorsError     = "import_errors_error"
	wsCodeNotFound              = "not_found"
	// Additions to the document's codes: an API key without the scope an
	// action needs (a read-only key's writes answer admin_required, as the
	// document has it), and the per-user/per-key rate limit.
	wsCodeInsufficientScope = "insufficient_scope"
	wsCodeRateLimited       = "rate_limited"
	wsCodeUnauthorized      = "unauthorized" // the connection's token expired or was revoked; the connection closes (1008)
)

const (
	wsStatusSuccess = "success"
	wsStatusError   = "error"
)

// wsResponse is the answer envelope: request_id is echoed exactly as the
// client sent it (null when it could not be read).
type wsResponse struct {
	RequestID json.RawMessage `json:"request_id"`
	Action    *string         `json:"action"`
	Status    string          `json:"status"`
	Data      any             `json:"data"`
	Error     *wsError        `json:"error,omitempty"`
}

func (r *wsResponse) action() string {
	if r.Action == nil {
		return ""
	}
	return *r.Action
}

// wsError is an action's failure as the client sees it. Fields names the
// offending inputs of a validation_error (an addition to the document's
// message and code).
type wsError struct {
	Message string            `json:"message"`
	Code    string            `json:"code"`
	Fields  map[string]string `json:"fields,omitempty"`
}

func (e *wsError) Error() string { return e.Message }

func wsMissing(field string) *wsError {
	return &wsError{Code: wsCodeMissingField, Message: "Missing required field: " + field}
}

func wsInvalid(fields map[string]string) *wsError {
	return &wsError{Code: wsCodeValidation, Message: "Validation error: " + wsDescribeFields(fields), Fields: fields}
}

func wsDescribeFields(fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+fields[k])
	}
	return strings.Join(parts, "; ")
}

// wsRequest is one decoded request.
type wsRequest struct {
	conn      *wsConn
	rawID     json.RawMessage // the envelope's request_id as sent (null when absent)
	principal auth.Principal
	clientID  string // the envelope's request_id as text (generated when absent): the events' correlation id
	data      map[string]any
}

// handle decodes one message, runs its action and returns the answer (nil
// when the connection ended meanwhile).
func (c *wsConn) handle(msg []byte) (resp *wsResponse) {
	var action string
	if m := c.h.deps.Metrics; m != nil {
		start := time.Now()
		defer func() { m.answered(action, resp, c.ctx.Err() != nil, time.Since(start)) }()
	}
	resp = &wsResponse{RequestID: json.RawMessage("null"), Status: wsStatusError}
	// The text rule (internal/text) before decoding: encoding/json would
	// turn invalid UTF-8 into U+FFFD, and a NUL would reach the database.
	// A violation is answered (below) once the envelope is read, so that
	// the answer carries the request_id and counts against the rate limit.
	var textErr *textrule.FieldError
	switch err := textrule.CheckJSON(msg); {
	case errors.As(err, &textErr):
	case errors.Is(err, textrule.ErrTrailingData):
		resp.Error = &wsError{Code: wsCodeInvalidJSON, Message: "Invalid JSON: " + err.Error()}
		return resp
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(msg, &env); err != nil || env == nil {
		resp.Error = &wsError{Code: wsCodeInvalidJSON, Message: wsInvalidJSONMessage(msg, err)}
		return resp
	}
	if raw, ok := env["request_id"]; ok && wsScalar(raw) && (textErr == nil || !strings.HasPrefix(textErr.Field, "request_id")) {
		resp.RequestID = wsCompact(raw)
	}
	if raw, ok := env["action"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &action); err != nil {
			resp.Error = wsInvalid(map[string]string{"action": "must be a string"})
			return resp
		}
		if textErr == nil || textErr.Field != "action" { // an invalid name is not echoed
			resp.Action = &action
		}
	}
	principal, allowed, err := c.currentPrincipal()
	switch {
	case err != nil:
		resp.Error = c.h.toWSError(c.ctx, action, wsActionErrorCode(action), err)
		return resp
	case !allowed:
		resp.Error = &wsError{Code: wsCodeUnauthorized, Message: "The token has expired or was revoked: reconnect with a valid token"}
		return resp
	}
	// Every request spends the principal's rate limit, refused ones
	// (unknown action, invalid text) included: they cost a decode each.
	if c.h.deps.Limit != nil {
		if retry, ok := c.h.deps.Limit(principal); !ok {
			secs := int(math.Ceil(retry.Seconds()))
			resp.Error = &wsError{Code: wsCodeRateLimited, Message: fmt.Sprintf("Rate limit exceeded: retry in %d s", max(secs, 1))}
			return resp
		}
	}
	if textErr != nil {
		resp.Error = wsInvalid(map[string]string{wsTextField(textErr.Field): textErr.Err.Error()})
		return resp
	}
	var data map[string]any
	if raw, ok := env["data"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &data); err != nil || data == nil {
			resp.Error = &wsError{Code: wsCodeInvalidJSON, Message: "data must be a JSON object"}
			return resp
		}
	}
	if data == nil {
		data = map[string]any{}
	}
	if action == "" {
		resp.Error = wsMissing("action")
		return resp
	}
	a, ok := wsActions[action]
	if !ok {
		resp.Error = &wsError{Code: wsCodeUnknownAction, Message: "Unknown action: " + action}
		return resp
	}
	if a.write && !principal.Can(auth.ScopeWriteContacts) {
		resp.Error = &wsError{Code: wsCodeAdminRequired, Message: "Admin access required for this action (this API key lacks the write_contacts scope)"}
		return resp
	}
	if !a.write && !principal.Can(auth.ScopeReadContacts) {
		resp.Error = &wsError{Code: wsCodeInsufficientScope, Message: "This API key lacks the read_contacts scope"}
		return resp
	}
	req := &wsRequest{conn: c, rawID: resp.RequestID, principal: principal, clientID: wsRequestIDText(resp.RequestID), data: data}
	// The action's own request id (runAction), in every line it logs.
	actx := requestid.With(c.ctx, eventstore.NewID())
	out, err := c.runAction(actx, a, action, req)
	if err != nil {
		if c.ctx.Err() != nil {
			return nil // the connection is gone: nobody to answer
		}
		resp.Error = c.h.toWSError(actx, action, a.code, err)
		return resp
	}
	if _, ok := out.(wsAnswered); ok {
		return nil // the action queued its answer itself
	}
	resp.Status, resp.Data = wsStatusSuccess, out
	return resp
}

// wsTextField names a text rule violation as the actions name their
// inputs: a field of data by its own name ("first_name"), an envelope
// member by its name ("request_id").
func wsTextField(path string) string {
	if f, ok := strings.CutPrefix(path, "data."); ok {
		return f
	}
	return path
}

// run calls the action with a context that carries who asks (for the
// events create_contact appends) and the action's own request id, and
// recovers a panic as an internal error. The request id (in ctx) is the
// server's (a new one per action, like an HTTP request's): every log line the action
// causes and every event it appends names it. The envelope's request_id
// is the client's to choose, so it is recorded as the correlation id, not
// as the request id. The answer's envelope does not carry the server's id:
// the protocol document fixes the envelope's members (request_id echoes the
// client's), and clients written against it need nothing else.
func (c *wsConn) runAction(ctx context.Context, a wsAction, name string, req *wsRequest) (out any, err error) {
	id := requestid.From(ctx)
	defer func() {
		if r := recover(); r != nil {
			c.h.log.ErrorContext(ctx, "websocket action panic", "action", name, "panic", r, "stack", string(debug.Stack()))
			out, err = nil, fmt.Errorf("panic: %v", r)
		}
	}()
	ctx = eventstore.WithRequestInfo(ctx, eventstore.RequestInfo{Metadata: eventstore.Metadata{
		Actor: req.principal.Actor(), ActorType: req.principal.ActorType(), RequestID: id, CorrelationID: req.clientID,
	}})
	return a.run(c.h, ctx, req)
}

// toWSError maps an action's failure to the protocol's codes: transport
// errors pass through; otherwise the error table (internal/apierr) says how
// the error's code is reported: validation_error (fields named), not_found,
// or the action's own code, with a generic message when the cause is
// internal (and then logged).
func (h *wsHandler) toWSError(ctx context.Context, action, code string, err error) *wsError {
	var we *wsError
	if errors.As(err, &we) {
		return we
	}
	p, known := apierr.Classify(err)
	if !known {
		h.log.ErrorContext(ctx, "websocket action failed", "action", action, "err", err)
		return &wsError{Code: code, Message: wsGenericMessage(code)}
	}
	switch p.WS {
	case apierr.WSValidation:
		if len(p.Fields) > 0 {
			return wsInvalid(p.Fields)
		}
		return &wsError{Code: wsCodeValidation, Message: "Validation error: " + p.Message}
	case apierr.WSNotFound:
		return &wsError{Code: wsCodeNotFound, Message: p.Message}
	case apierr.WSOwn:
		return &wsError{Code: p.Code, Message: p.Message, Fields: p.Fields}
	}
	return &wsError{Code: code, Message: p.Message, Fields: p.Fields}
}

func wsGenericMessage(code string) string {
	switch code {
	case wsCodeListError:
		return "Error listing contacts"
	case wsCodeGetError:
		return "Error retrieving contact"
	case wsCodeCountError:
		return "Error counting contacts"
	case wsCodeUUIDsError:
		return "Error retrieving contact UUIDs"
	case wsCodeCreateError:
		return "Error creating contact"
	case wsCodeFieldError:
		return "Error retrieving field values"
	case wsCodeUploadError:
		return "Error uploading CSV file"
	case wsCodeImportStatusError:
		return "Error retrieving import status"
	case wsCodeImportErrorsError:
		return "Error retrieving import errors"
	}
	return "Internal error"
}

// wsActionErrorCode is an action's own error code (invalid_json when the
// action is unknown: the answer of an unreadable request).
func wsActionErrorCode(action string) string {
	if a, ok := wsActions[action]; ok {
		return a.code
	}
	return wsCodeInvalidJSON
}

func wsInvalidJSONMessage(msg []byte, err error) string {
	if err == nil || json.Valid(msg) {
		return "Invalid JSON: the message must be a JSON object"
	}
	return "Invalid JSON: " + err.Error()
}

// wsScalar reports a request_id worth echoing: a string or a number.
func wsScalar(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null" && s[0] != '{' && s[0] != '[' && s != "true" && s != "false"
}

func wsCompact(raw json.RawMessage) json.RawMessage {
	return json.RawMessage(strings.TrimSpace(string(raw)))
}

// wsRequestIDText is the request id recorded with appended events.
func wsRequestIDText(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s != "" && len(s) <= 128 {
			return s
		}
	} else if t := string(raw); t != "null" && len(t) <= 128 {
		return t
	}
	return eventstore.NewID()
}
