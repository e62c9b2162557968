package commands

import (
	"context"

	"contacts/domain"
	"contacts/domain/contact"
)

// ContactRef names one contact, with the client's expected version if any.
type ContactRef struct {
	AccountID       string
	ID              string
	ExpectedVersion *int64
}

// DeleteContact soft-deletes a contact; its unique values are released.
func (h *Handlers) DeleteContact(ctx context.Context, cmd ContactRef) (contact.State, error) {
	return mutate(ctx, h, contactKind, newContact, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *contact.Contact) ([]domain.Event, error) { return c.Delete() })
}

// RestoreContact undeletes a contact, re-claiming its unique values.
func (h *Handlers) RestoreContact(ctx context.Context, cmd ContactRef) (contact.State, error) {
	return mutate(ctx, h, contactKind, newContact, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *contact.Contact) ([]domain.Event, error) { return c.Restore() })
}

// InactivateContact marks a contact inactive (it stays listed and editable).
func (h *Handlers) InactivateContact(ctx context.Context, cmd ContactRef) (contact.State, error) {
	return mutate(ctx, h, contactKind, newContact, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *contact.Contact) ([]domain.Event, error) { return c.Inactivate() })
}

// ActivateContact reactivates an inactive contact.
func (h *Handlers) ActivateContact(ctx context.Context, cmd ContactRef) (contact.State, error) {
	return mutate(ctx, h, contactKind, newContact, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *contact.Contact) ([]domain.Event, error) { return c.Activate() })
}
