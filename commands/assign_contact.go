package commands

import (
	"context"

	"contacts/domain"
	"contacts/domain/contact"
)

// AssignContact sets who (users) and which teams look after a contact.
type AssignContact struct {
	ContactRef
	Users []string
	Teams []string
}

func (h *Handlers) AssignContact(ctx context.Context, cmd AssignContact) (contact.State, error) {
	return mutate(ctx, h, contactKind, newContact, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *contact.Contact) ([]domain.Event, error) { return c.Assign(cmd.Users, cmd.Teams) })
}
