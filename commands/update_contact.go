package commands

import (
	"context"

	"contacts/domain"
	"contacts/domain/contact"
)

// UpdateContact changes only the given fields (custom and additional
// attributes are merged; labels given here replace the set).
type UpdateContact struct {
	AccountID       string
	ID              string
	ExpectedVersion *int64 // If-Match
	Fields          map[string]any
	PhoneRegion     string // "" uses the account's default_phone_region
}

func (h *Handlers) UpdateContact(ctx context.Context, cmd UpdateContact) (contact.State, error) {
	if err := h.checkCompanyLink(ctx, cmd.AccountID, cmd.Fields); err != nil {
		return contact.State{}, err
	}
	region, err := h.PhoneRegion(ctx, cmd.AccountID, cmd.PhoneRegion)
	if err != nil {
		return contact.State{}, err
	}
	nc := domain.Context{PhoneRegion: region}
	return mutate(ctx, h, contactKind, newContact, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *contact.Contact) ([]domain.Event, error) { return c.UpdateIn(nc, cmd.Fields) })
}
