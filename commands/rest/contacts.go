package rest

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"contacts/commands"
	"contacts/domain"
	"contacts/domain/contact"
	"contacts/internal/apierr"
	"contacts/internal/web/edge"
)

func (a *Routes) contacts(r *gin.RouterGroup) {
	read, write := a.Read(r), a.Write(r)
	write.POST("/contacts", a.createContact)
	write.POST("/contacts/merge", a.mergeContacts)
	read.GET("/contacts/:id", a.getContact)
	write.PATCH("/contacts/:id", a.updateContact)
	write.PUT("/contacts/:id", a.updateContact) // partial, as the reference APIs' PUT
	write.DELETE("/contacts/:id", a.deleteContact)
	write.POST("/contacts/:id/restore", a.contactLifecycle((*commands.Handlers).RestoreContact))
	write.POST("/contacts/:id/inactivate", a.contactLifecycle((*commands.Handlers).InactivateContact))
	write.POST("/contacts/:id/activate", a.contactLifecycle((*commands.Handlers).ActivateContact))
	read.GET("/contacts/:id/labels", a.listContactLabels)
	write.POST("/contacts/:id/labels", a.changeLabels((*commands.Handlers).AddContactLabels))
	write.DELETE("/contacts/:id/labels", a.changeLabels((*commands.Handlers).RemoveContactLabels))
	read.GET("/contacts/:id/notes", a.listNotes)
	write.POST("/contacts/:id/notes", a.addNote)
	write.PATCH("/contacts/:id/notes/:note_id", a.editNote)
	write.PUT("/contacts/:id/notes/:note_id", a.editNote)
	write.DELETE("/contacts/:id/notes/:note_id", a.removeNote)
	write.PUT("/contacts/:id/assignment", contactCommand(a, func(ctx context.Context, ref commands.ContactRef, in assignRequest) (contact.State, error) {
		// Only the account's own users can be assigned.
		if missing, err := a.Auth.NotMembers(ctx, ref.AccountID, in.AssignedTo); err != nil || len(missing) > 0 {
			if err == nil {
				err = domain.InvalidField("assigned_to", "not users of this account: "+strings.Join(missing, ", "))
				if _, cerr := a.Commands.Contact(ctx, ref.AccountID, ref.ID); cerr != nil {
					err = cerr // another account's contact is not found, whatever the body says
				}
			}
			return contact.State{}, err
		}
		return a.Commands.AssignContact(ctx, commands.AssignContact{ContactRef: ref, Users: in.AssignedTo, Teams: in.Teams})
	}))
	write.POST("/contacts/:id/accounts", contactCommand(a, func(ctx context.Context, ref commands.ContactRef, in associateRequest) (contact.State, error) {
		return a.Commands.AssociateAccount(ctx, commands.AssociateAccount{ContactRef: ref, LinkedAccountID: in.AccountID, Name: in.Name, Role: in.Role})
	}))
	write.DELETE("/contacts/:id/accounts/:linked_account_id", a.dissociateAccount)
	write.PATCH("/contacts/:id/custom_attributes", contactCommand(a, func(ctx context.Context, ref commands.ContactRef, in customAttributesRequest) (contact.State, error) {
		return a.Commands.SetCustomAttributes(ctx, commands.SetCustomAttributes{ContactRef: ref, Values: in.CustomAttributes})
	}))
	write.POST("/contacts/:id/destroy_custom_attributes", contactCommand(a, func(ctx context.Context, ref commands.ContactRef, in removeCustomAttributesRequest) (contact.State, error) {
		return a.Commands.RemoveCustomAttributes(ctx, commands.RemoveCustomAttributes{ContactRef: ref, Keys: in.CustomAttributes})
	}))
	read.GET("/contacts/:id/events", a.contactHistory)
}

// contactRef reads the path id and If-Match; it reports whether to go on.
func (a *Routes) contactRef(c *gin.Context) (commands.ContactRef, bool) {
	id, ok := a.PathID(c, "id")
	if !ok {
		return commands.ContactRef{}, false
	}
	expected, ok := a.IfMatch(c)
	if !ok {
		return commands.ContactRef{}, false
	}
	return commands.ContactRef{AccountID: edge.Principal(c).AccountID, ID: id, ExpectedVersion: expected}, true
}

// contactCommand wires the common shape of contact sub-resource writes: the
// path id and If-Match, a typed body, one command, the contact back.
func contactCommand[B any](a *Routes, run func(context.Context, commands.ContactRef, B) (contact.State, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		ref, ok := a.contactRef(c)
		if !ok {
			return
		}
		var in B
		if !a.BindJSON(c, &in) {
			return
		}
		st, err := run(c.Request.Context(), ref, in)
		a.sendContact(c, st, err)
	}
}

// sendContact answers with the contact's state (status 200) or the error.
func (a *Routes) sendContact(c *gin.Context, st contact.State, err error) {
	if err != nil {
		a.Fail(c, err)
		return
	}
	edge.Respond(c, http.StatusOK, st.Version, st)
}

func (a *Routes) createContact(c *gin.Context) {
	fields, ok := a.DecodeObject(c)
	if !ok {
		return
	}
	id, _ := fields["uuid"].(string)
	if _, given := fields["uuid"]; given {
		delete(fields, "uuid")
		if id == "" {
			id = "-" // present but not a string: let the id check refuse it
		}
	}
	p := edge.Principal(c)
	st, err := a.Commands.CreateContact(c.Request.Context(), commands.CreateContact{
		AccountID: p.AccountID, ActorID: p.Actor(), ID: id, Fields: fields, PhoneRegion: c.Query(PhoneRegionParam),
	})
	if err != nil {
		a.Fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/contacts/"+st.ID)
	edge.Respond(c, http.StatusCreated, st.Version, st)
}

func (a *Routes) getContact(c *gin.Context) {
	id, ok := a.PathID(c, "id")
	if !ok {
		return
	}
	st, err := a.Commands.Contact(c.Request.Context(), edge.Principal(c).AccountID, id)
	a.sendContact(c, st, err)
}

func (a *Routes) updateContact(c *gin.Context) {
	ref, ok := a.contactRef(c)
	if !ok {
		return
	}
	fields, ok := a.DecodeObject(c)
	if !ok {
		return
	}
	st, err := a.Commands.UpdateContact(c.Request.Context(), commands.UpdateContact{
		AccountID: ref.AccountID, ID: ref.ID, ExpectedVersion: ref.ExpectedVersion, Fields: fields,
		PhoneRegion: c.Query(PhoneRegionParam),
	})
	a.sendContact(c, st, err)
}

func (a *Routes) contactLifecycle(run func(*commands.Handlers, context.Context, commands.ContactRef) (contact.State, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		ref, ok := a.contactRef(c)
		if !ok {
			return
		}
		st, err := run(a.Commands, c.Request.Context(), ref)
		a.sendContact(c, st, err)
	}
}

// deleteContact soft-deletes a contact, or with ?erase=true erases its
// personal data for good (administrators only; README "Erasing a person").
func (a *Routes) deleteContact(c *gin.Context) {
	switch c.Query("erase") {
	case "", "false":
		a.contactLifecycle((*commands.Handlers).DeleteContact)(c)
	case "true":
		if !edge.Principal(c).IsAdmin() {
			a.Fail(c, edge.ErrForbidden)
			return
		}
		a.contactLifecycle((*commands.Handlers).EraseContact)(c)
	default:
		a.Fail(c, apierr.New(apierr.InvalidParameter, "erase must be true or false"))
	}
}

type labelsRequest struct {
	Labels []string `json:"labels" binding:"required,max=100"`
}

func (a *Routes) listContactLabels(c *gin.Context) {
	id, ok := a.PathID(c, "id")
	if !ok {
		return
	}
	st, err := a.Commands.Contact(c.Request.Context(), edge.Principal(c).AccountID, id)
	if err != nil {
		a.Fail(c, err)
		return
	}
	edge.Respond(c, http.StatusOK, st.Version, gin.H{"labels": st.Labels})
}

func (a *Routes) changeLabels(run func(*commands.Handlers, context.Context, commands.ChangeContactLabels) (contact.State, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		ref, ok := a.contactRef(c)
		if !ok {
			return
		}
		var in labelsRequest
		if !a.BindJSON(c, &in) {
			return
		}
		st, err := run(a.Commands, c.Request.Context(), commands.ChangeContactLabels{ContactRef: ref, Labels: in.Labels})
		if err != nil {
			a.Fail(c, err)
			return
		}
		edge.Respond(c, http.StatusOK, st.Version, gin.H{"labels": st.Labels, "version": st.Version})
	}
}

func (a *Routes) listNotes(c *gin.Context) {
	id, ok := a.PathID(c, "id")
	if !ok {
		return
	}
	st, err := a.Commands.Contact(c.Request.Context(), edge.Principal(c).AccountID, id)
	if err != nil {
		a.Fail(c, err)
		return
	}
	edge.Respond(c, http.StatusOK, st.Version, st.Notes)
}

type noteRequest struct {
	Content string `json:"content" binding:"required"`
}

func (a *Routes) addNote(c *gin.Context) {
	ref, ok := a.contactRef(c)
	if !ok {
		return
	}
	var in noteRequest
	if !a.BindJSON(c, &in) {
		return
	}
	st, noteID, err := a.Commands.AddNote(c.Request.Context(), commands.AddNote{ContactRef: ref, AuthorID: edge.Principal(c).Actor(), Content: in.Content})
	if err != nil {
		a.Fail(c, err)
		return
	}
	respondNote(c, http.StatusCreated, st, noteID)
}

func (a *Routes) editNote(c *gin.Context) {
	ref, ok := a.contactRef(c)
	if !ok {
		return
	}
	noteID, ok := a.PathID(c, "note_id")
	if !ok {
		return
	}
	var in noteRequest
	if !a.BindJSON(c, &in) {
		return
	}
	st, err := a.Commands.EditNote(c.Request.Context(), commands.EditNote{ContactRef: ref, NoteID: noteID, Content: in.Content})
	if err != nil {
		a.Fail(c, err)
		return
	}
	respondNote(c, http.StatusOK, st, noteID)
}

// respondNote answers with the note noteID of the contact st (the contact
// itself should the note not be there), versioned by the contact.
func respondNote(c *gin.Context, status int, st contact.State, noteID string) {
	for _, n := range st.Notes {
		if n.ID == noteID {
			edge.Respond(c, status, st.Version, n)
			return
		}
	}
	edge.Respond(c, status, st.Version, st)
}

func (a *Routes) removeNote(c *gin.Context) {
	ref, ok := a.contactRef(c)
	if !ok {
		return
	}
	noteID, ok := a.PathID(c, "note_id")
	if !ok {
		return
	}
	st, err := a.Commands.RemoveNote(c.Request.Context(), commands.RemoveNote{ContactRef: ref, NoteID: noteID})
	a.sendContact(c, st, err)
}

type assignRequest struct {
	AssignedTo []string `json:"assigned_to" binding:"max=100"`
	Teams      []string `json:"teams" binding:"max=100"`
}

type associateRequest struct {
	AccountID string `json:"account_id" binding:"required"`
	Name      string `json:"name"`
	Role      string `json:"role"`
}

func (a *Routes) dissociateAccount(c *gin.Context) {
	ref, ok := a.contactRef(c)
	if !ok {
		return
	}
	linked, ok := a.PathID(c, "linked_account_id")
	if !ok {
		return
	}
	st, err := a.Commands.DissociateAccount(c.Request.Context(), commands.DissociateAccount{ContactRef: ref, LinkedAccountID: linked})
	a.sendContact(c, st, err)
}

type customAttributesRequest struct {
	CustomAttributes map[string]any `json:"custom_attributes" binding:"required"`
}

type removeCustomAttributesRequest struct {
	CustomAttributes []string `json:"custom_attributes" binding:"required"`
}

type mergeRequest struct {
	BaseContactID   string `json:"base_contact_id" binding:"required,uuid"`
	MergeeContactID string `json:"mergee_contact_id" binding:"required,uuid"`
}

func (a *Routes) mergeContacts(c *gin.Context) {
	var in mergeRequest
	if !a.BindJSON(c, &in) {
		return
	}
	st, err := a.Commands.MergeContacts(c.Request.Context(), commands.MergeContacts{
		AccountID: edge.Principal(c).AccountID, WinnerID: edge.Lower(in.BaseContactID), LoserID: edge.Lower(in.MergeeContactID),
	})
	a.sendContact(c, st, err)
}

// contactHistory lists the contact's events with who made each change.
func (a *Routes) contactHistory(c *gin.Context) {
	id, ok := a.PathID(c, "id")
	if !ok {
		return
	}
	evs, err := a.Store.ReadStream(c.Request.Context(), edge.Principal(c).AccountID, id, 0)
	if err != nil {
		a.Fail(c, err)
		return
	}
	if len(evs) == 0 || evs[0].StreamType != contact.StreamType {
		a.Fail(c, edge.NotFound("contact", id))
		return
	}
	c.JSON(http.StatusOK, gin.H{"events": evs})
}
