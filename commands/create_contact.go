package commands

import (
	"context"

	"contacts/domain"
	"contacts/domain/contact"
)

// CreateContact creates a contact. ID is optional (a client-chosen UUID).
type CreateContact struct {
	AccountID string
	ActorID   string
	ID        string
	Fields    map[string]any
	// PhoneRegion: the country of phone numbers given without a country
	// code; "" uses the account's default_phone_region.
	PhoneRegion string
}

// CreateContact validates the fields, checks the company link and appends
// contact.created, claiming the contact's e-mail, phone and identifier.
func (h *Handlers) CreateContact(ctx context.Context, cmd CreateContact) (contact.State, error) {
	id, err := h.newAggregateID(cmd.ID)
	if err != nil {
		return contact.State{}, err
	}
	if err := h.checkCompanyLink(ctx, cmd.AccountID, cmd.Fields); err != nil {
		return contact.State{}, err
	}
	region, err := h.PhoneRegion(ctx, cmd.AccountID, cmd.PhoneRegion)
	if err != nil {
		return contact.State{}, err
	}
	evs, err := contact.Create(contact.CreateInput{
		ID: id, AccountID: cmd.AccountID, CreatedBy: cmd.ActorID, NoteID: h.ids.NewID(), Fields: cmd.Fields,
		PhoneRegion: region,
	})
	if err != nil {
		return contact.State{}, err
	}
	return create[*contact.Contact, contact.State](ctx, h, contactKind, newContact(), cmd.AccountID, id, evs)
}

// checkCompanyLink refuses a company_id that is not a live company of the
// account (another account's company reads as missing).
func (h *Handlers) checkCompanyLink(ctx context.Context, accountID string, fields map[string]any) error {
	cid, ok := fields["company_id"].(string)
	if !ok || cid == "" || !domain.IsUUID(cid) {
		return nil // absent, cleared, or malformed: the domain reports the latter
	}
	c := newCompany()
	if err := h.load(ctx, companyKind, accountID, toLowerASCII(cid), c); err != nil {
		return err
	}
	if !c.Exists() || c.State().Deleted {
		return domain.InvalidField("company_id", "no such company")
	}
	return nil
}
