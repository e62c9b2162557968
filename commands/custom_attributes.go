package commands

import (
	"context"

	"contacts/domain"
	"contacts/domain/contact"
)

// SetCustomAttributes merges values into a contact's custom attributes; a
// null value removes that key.
type SetCustomAttributes struct {
	ContactRef
	Values map[string]any
}

func (h *Handlers) SetCustomAttributes(ctx context.Context, cmd SetCustomAttributes) (contact.State, error) {
	return mutate(ctx, h, contactKind, newContact, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *contact.Contact) ([]domain.Event, error) { return c.SetCustomAttributes(cmd.Values) })
}

// RemoveCustomAttributes deletes the named keys.
type RemoveCustomAttributes struct {
	ContactRef
	Keys []string
}

func (h *Handlers) RemoveCustomAttributes(ctx context.Context, cmd RemoveCustomAttributes) (contact.State, error) {
	return mutate(ctx, h, contactKind, newContact, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *contact.Contact) ([]domain.Event, error) { return c.RemoveCustomAttributes(cmd.Keys) })
}
