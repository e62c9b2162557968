package commands

import (
	"context"

	"contacts/domain"
	"contacts/domain/contact"
)

// AssociateAccount links a contact with a (customer) account and a role.
type AssociateAccount struct {
	ContactRef
	LinkedAccountID string
	Name            string
	Role            string
}

func (h *Handlers) AssociateAccount(ctx context.Context, cmd AssociateAccount) (contact.State, error) {
	return mutate(ctx, h, contactKind, newContact, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *contact.Contact) ([]domain.Event, error) {
			return c.Associate(cmd.LinkedAccountID, cmd.Name, cmd.Role)
		})
}

// DissociateAccount removes such a link.
type DissociateAccount struct {
	ContactRef
	LinkedAccountID string
}

func (h *Handlers) DissociateAccount(ctx context.Context, cmd DissociateAccount) (contact.State, error) {
	return mutate(ctx, h, contactKind, newContact, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *contact.Contact) ([]domain.Event, error) { return c.Dissociate(cmd.LinkedAccountID) })
}
