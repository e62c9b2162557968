package rest

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"contacts/commands"
	"contacts/commands/imports"
	"contacts/internal/apierr"
	"contacts/internal/web/edge"
)

// bulkRequest is the WAAPI bulk body.
type bulkRequest struct {
	Contacts []map[string]any `json:"contacts"`
	// PhoneRegion: the country of phone numbers written without a country
	// code (also accepted as the phone_region query parameter).
	PhoneRegion string `json:"phone_region"`
}

// BulkUpsert: POST /contacts/bulk {"contacts":[…]} → {created, updated,
// skipped, errors}. Up to 50,000 contacts, matched by phone.
// BulkUpsert is POST /contacts/bulk (mounted by internal/web under its
// own body limit).
func (a *Routes) BulkUpsert(c *gin.Context) {
	var req bulkRequest
	raw, ok := a.ReadObject(c)
	if !ok {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		a.Fail(c, edge.BindError(err))
		return
	}
	if req.Contacts == nil {
		a.Fail(c, apierr.Invalid(map[string]string{"contacts": "is required (a list of contacts)"}))
		return
	}
	rows := make([]commands.UpsertRow, len(req.Contacts))
	for i, in := range req.Contacts {
		rows[i] = bulkRow(in)
	}
	p := edge.Principal(c)
	region := req.PhoneRegion
	if region == "" {
		region = c.Query(PhoneRegionParam)
	}
	res, err := a.Commands.BulkUpsertContacts(c.Request.Context(), commands.BulkUpsertContacts{
		AccountID: p.AccountID, ActorID: p.Actor(), Contacts: rows, PhoneRegion: region})
	if a.Observe != nil {
		a.Observe(err, res.Created, res.Updated, res.Skipped, len(res.Errors))
	}
	if err != nil {
		a.Fail(c, err)
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
	return apierr.Invalid(map[string]string{"groups": "must be a list of group names"})
}
