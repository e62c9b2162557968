package ws

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"

	"contacts/commands"
	"contacts/domain"
	"contacts/projections"
	"contacts/readapi"
)

// wsAction is one action: its handler and its own error code (for failures
// that are not invalid input or a missing record).
type wsAction struct {
	run   func(h *wsHandler, ctx context.Context, r *wsRequest) (any, error)
	code  string
	write bool // needs write_contacts (and the administrator role); the others read_contacts
}

// Actions lists every WebSocket action, sorted, and whether it writes (the
// cross-tenant isolation suite walks them all).
func Actions() map[string]bool {
	out := make(map[string]bool, len(wsActions))
	for name, a := range wsActions {
		out[name] = a.write
	}
	return out
}

// wsActions is the routing table of the 22 actions.
var wsActions = map[string]wsAction{}

func init() {
	wsActions["list_contacts"] = wsAction{(*wsHandler).listContacts, wsCodeListError, false}
	wsActions["get_contact"] = wsAction{(*wsHandler).getContact, wsCodeGetError, false}
	wsActions["count_contacts"] = wsAction{(*wsHandler).countContacts, wsCodeCountError, false}
	wsActions["get_contact_uuids"] = wsAction{(*wsHandler).contactUUIDs, wsCodeUUIDsError, false}
	wsActions["create_contact"] = wsAction{(*wsHandler).createContact, wsCodeCreateError, true}
	for _, name := range readapi.FieldActions() {
		field, _ := readapi.ParseField(name)
		wsActions[name] = wsAction{fieldValuesAction(field), wsCodeFieldError, false}
	}
	wsActions["get_import_info"] = wsAction{(*wsHandler).importInfo, wsCodeUploadError, false}
	wsActions["upload_contacts_csv"] = wsAction{(*wsHandler).uploadCSV, wsCodeUploadError, true}
	wsActions["get_import_status"] = wsAction{(*wsHandler).importStatus, wsCodeImportStatusError, false}
	wsActions["get_import_errors"] = wsAction{(*wsHandler).importErrors, wsCodeImportErrorsError, false}
}

var errNoReadService = errors.New("readapi: no query service configured")

func (h *wsHandler) service() (readapi.Service, error) {
	if h.deps.Service == nil {
		return nil, errNoReadService
	}
	return h.deps.Service, nil
}

func (h *wsHandler) listContacts(ctx context.Context, r *wsRequest) (any, error) {
	q, err := wsListQuery(r.data)
	if err != nil {
		return nil, err
	}
	svc, err := h.service()
	if err != nil {
		return nil, err
	}
	return svc.ListContacts(ctx, r.principal.AccountID, q)
}

func (h *wsHandler) getContact(ctx context.Context, r *wsRequest) (any, error) {
	raw, ok := r.data["contact_uuid"]
	if !ok || raw == nil || raw == "" {
		return nil, wsMissing("contact_uuid")
	}
	id, ok := raw.(string)
	if !ok {
		return nil, wsInvalid(map[string]string{"contact_uuid": "must be a string"})
	}
	view, err := wsView(r.data)
	if err != nil {
		return nil, err
	}
	svc, err := h.service()
	if err != nil {
		return nil, err
	}
	return wsGetContact(ctx, svc, r.principal.AccountID, id, view)
}

// wsGetContact reads one contact of the account; a malformed id, another
// account's contact or a deleted one are all not found.
func wsGetContact(ctx context.Context, svc readapi.Service, accountID, id, view string) (map[string]any, error) {
	notFound := &wsError{Code: wsCodeNotFound, Message: "Contact not found: " + id}
	if !domain.IsUUID(id) {
		return nil, notFound
	}
	doc, found, err := svc.GetContact(ctx, accountID, strings.ToLower(id))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound
	}
	return readapi.ContactResult(doc, view), nil
}

func (h *wsHandler) countContacts(ctx context.Context, r *wsRequest) (any, error) {
	q, err := wsCountQuery(r.data)
	if err != nil {
		return nil, err
	}
	svc, err := h.service()
	if err != nil {
		return nil, err
	}
	n, err := svc.CountContacts(ctx, r.principal.AccountID, q)
	if err != nil {
		return nil, err
	}
	return map[string]any{"count": n}, nil
}

func (h *wsHandler) contactUUIDs(ctx context.Context, r *wsRequest) (any, error) {
	q, err := wsUUIDsQuery(r.data)
	if err != nil {
		return nil, err
	}
	svc, err := h.service()
	if err != nil {
		return nil, err
	}
	return readapi.ListContactUUIDs(ctx, svc, r.principal.AccountID, q)
}

func fieldValuesAction(field readapi.Field) func(*wsHandler, context.Context, *wsRequest) (any, error) {
	return func(h *wsHandler, ctx context.Context, r *wsRequest) (any, error) {
		q, opt, err := wsFieldQuery(r.data)
		if err != nil {
			return nil, err
		}
		svc, err := h.service()
		if err != nil {
			return nil, err
		}
		return readapi.ListFieldValues(ctx, svc, r.principal.AccountID, field, q, opt)
	}
}

// createContact creates a contact through the write side (events appended,
// the read model follows through the projections): administrators only,
// with the configured write key.
func (h *wsHandler) createContact(ctx context.Context, r *wsRequest) (any, error) {
	if !r.principal.IsAdmin() {
		return nil, &wsError{Code: wsCodeAdminRequired, Message: "Admin access required for this action"}
	}
	if h.deps.WriteKey == "" {
		return nil, &wsError{Code: wsCodeWriteKeyNotConfigured, Message: "Write key is not configured on the server"}
	}
	key, _ := r.data["write_key"].(string)
	if !wsSameSecret(key, h.deps.WriteKey) {
		return nil, &wsError{Code: wsCodeInvalidWriteKey, Message: "Invalid write key"}
	}
	if h.deps.Commands == nil {
		return nil, errors.New("readapi: no command handlers configured")
	}
	fields := make(map[string]any, len(r.data))
	for k, v := range r.data {
		fields[k] = v
	}
	delete(fields, "write_key")
	var id string
	if v, given := fields["uuid"]; given {
		delete(fields, "uuid")
		if v != nil && v != "" {
			if id, _ = v.(string); id == "" {
				id = "-" // present but not a string: the id check refuses it
			}
		}
	}
	st, err := h.deps.Commands.CreateContact(ctx, commands.CreateContact{
		AccountID: r.principal.AccountID, ActorID: r.principal.Actor(), ID: id, Fields: fields,
	})
	if err != nil {
		return nil, err
	}
	doc := projections.ContactDoc{State: st, Position: 0}
	if st.CompanyID != "" {
		// The answer shows the company as the read model will: its name and
		// fields, read from the write side (the read model may lag).
		if co, err := h.deps.Commands.Company(ctx, st.AccountID, st.CompanyID); err == nil {
			doc.Company = &projections.CompanyRef{ID: co.ID, Profile: co.Profile}
		}
	}
	return readapi.ContactResult(doc, readapi.ViewFull), nil
}

// wsSameSecret compares in constant time (lengths included: both sides are
// hashed first).
func wsSameSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1 && got != "" // "" never matches
}

const wsImportInfoMessage = "Upload a CSV file via POST to /api/v1/contacts/import/ to start a background import job."

func (h *wsHandler) importInfo(context.Context, *wsRequest) (any, error) {
	return map[string]any{"message": wsImportInfoMessage}, nil
}

var wsImportsUnavailable = "CSV import is not available yet"

func (h *wsHandler) uploadCSV(ctx context.Context, r *wsRequest) (any, error) {
	if !r.principal.IsAdmin() {
		return nil, &wsError{Code: wsCodeAdminRequired, Message: "Admin access required for this action"}
	}
	name, err := wsRequiredString(r.data, "file_name")
	if err != nil {
		return nil, err
	}
	encoded, err := wsRequiredString(r.data, "file_data")
	if err != nil {
		return nil, err
	}
	content, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, wsInvalid(map[string]string{"file_data": "must be base64-encoded"})
	}
	if h.deps.Imports == nil {
		return nil, &wsError{Code: wsCodeUploadError, Message: wsImportsUnavailable}
	}
	return h.deps.Imports.Upload(ctx, r.principal, name, content)
}

func (h *wsHandler) importStatus(ctx context.Context, r *wsRequest) (any, error) {
	jobID, err := wsRequiredString(r.data, "job_id")
	if err != nil {
		return nil, err
	}
	include := false
	if v, ok := r.data["include_errors"]; ok && v != nil {
		b, isBool := v.(bool)
		if !isBool {
			return nil, wsInvalid(map[string]string{"include_errors": "must be a boolean"})
		}
		include = b
	}
	if h.deps.Imports == nil {
		return nil, &wsError{Code: wsCodeImportStatusError, Message: wsImportsUnavailable}
	}
	if !domain.IsUUID(jobID) {
		return nil, &wsError{Code: wsCodeNotFound, Message: "Import job not found: " + jobID}
	}
	return h.deps.Imports.Status(ctx, r.principal.AccountID, strings.ToLower(jobID), include)
}

func (h *wsHandler) importErrors(ctx context.Context, r *wsRequest) (any, error) {
	jobID, err := wsRequiredString(r.data, "job_id")
	if err != nil {
		return nil, err
	}
	if h.deps.Imports == nil {
		return nil, &wsError{Code: wsCodeImportErrorsError, Message: wsImportsUnavailable}
	}
	if !domain.IsUUID(jobID) {
		return nil, &wsError{Code: wsCodeNotFound, Message: "Import job not found: " + jobID}
	}
	rows, err := h.deps.Imports.Errors(ctx, r.principal.AccountID, strings.ToLower(jobID))
	if err != nil {
		return nil, err
	}
	if rows == nil {
		rows = []readapi.ImportError{}
	}
	return map[string]any{"errors": rows}, nil
}

// wsRequiredString reads a required string field: absent, null or empty is
// missing_field; another type is validation_error.
func wsRequiredString(data map[string]any, field string) (string, error) {
	v, ok := data[field]
	if !ok || v == nil || v == "" {
		return "", wsMissing(field)
	}
	s, ok := v.(string)
	if !ok {
		return "", wsInvalid(map[string]string{field: "must be a string"})
	}
	return s, nil
}
