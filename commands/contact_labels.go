package commands

import (
	"context"

	"contacts/domain"
	"contacts/domain/contact"
)

// ChangeContactLabels adds or removes label titles on a contact.
type ChangeContactLabels struct {
	ContactRef
	Labels []string
}

func (h *Handlers) AddContactLabels(ctx context.Context, cmd ChangeContactLabels) (contact.State, error) {
	return mutate(ctx, h, contactKind, newContact, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *contact.Contact) ([]domain.Event, error) { return c.AddLabels(cmd.Labels) })
}

func (h *Handlers) RemoveContactLabels(ctx context.Context, cmd ChangeContactLabels) (contact.State, error) {
	return mutate(ctx, h, contactKind, newContact, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *contact.Contact) ([]domain.Event, error) { return c.RemoveLabels(cmd.Labels) })
}
