package commands

import (
	"context"

	"contacts/domain"
	"contacts/domain/contact"
)

// AddNote adds a note written by AuthorID; NoteID is generated.
type AddNote struct {
	ContactRef
	AuthorID string
	Content  string
}

// AddNote returns the contact and the new note's id.
func (h *Handlers) AddNote(ctx context.Context, cmd AddNote) (contact.State, string, error) {
	noteID := h.ids.NewID()
	st, err := mutate(ctx, h, contactKind, newContact, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *contact.Contact) ([]domain.Event, error) { return c.AddNote(noteID, cmd.Content, cmd.AuthorID) })
	return st, noteID, err
}

// EditNote replaces a note's content.
type EditNote struct {
	ContactRef
	NoteID  string
	Content string
}

func (h *Handlers) EditNote(ctx context.Context, cmd EditNote) (contact.State, error) {
	return mutate(ctx, h, contactKind, newContact, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *contact.Contact) ([]domain.Event, error) { return c.EditNote(cmd.NoteID, cmd.Content) })
}

// RemoveNote removes a note.
type RemoveNote struct {
	ContactRef
	NoteID string
}

func (h *Handlers) RemoveNote(ctx context.Context, cmd RemoveNote) (contact.State, error) {
	return mutate(ctx, h, contactKind, newContact, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *contact.Contact) ([]domain.Event, error) { return c.RemoveNote(cmd.NoteID) })
}
