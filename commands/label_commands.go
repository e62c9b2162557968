package commands

import (
	"context"
	"errors"
	"fmt"

	"contacts/domain"
	"contacts/domain/contact"
	"contacts/domain/label"
)

// CreateLabel defines a label (title unique per account, any case).
type CreateLabel struct {
	AccountID string
	ActorID   string
	ID        string
	Fields    map[string]any
}

func (h *Handlers) CreateLabel(ctx context.Context, cmd CreateLabel) (label.State, error) {
	id, err := h.newAggregateID(cmd.ID)
	if err != nil {
		return label.State{}, err
	}
	evs, err := label.Create(label.CreateInput{ID: id, AccountID: cmd.AccountID, CreatedBy: cmd.ActorID, Fields: cmd.Fields})
	if err != nil {
		return label.State{}, err
	}
	return create[*label.Label, label.State](ctx, h, labelKind, newLabel(), cmd.AccountID, id, evs)
}

// UpdateLabel changes title, color or description.
type UpdateLabel struct {
	AccountID       string
	ID              string
	ExpectedVersion *int64
	Fields          map[string]any
}

func (h *Handlers) UpdateLabel(ctx context.Context, cmd UpdateLabel) (label.State, error) {
	return mutate(ctx, h, labelKind, newLabel, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(l *label.Label) ([]domain.Event, error) { return l.Update(cmd.Fields) })
}

// labelCarriers are the contact events that can put a label on a contact
// (contact.updated: an update that changed labels with other things).
var labelCarriers = []string{"contact.created", "contact.labels_added", "contact.absorbed", "contact.updated"}

// DeleteLabel deletes a label and then removes it from every live contact
// that carries it, one contact transaction each. Deleted and merged contacts
// keep their history untouched.
func (h *Handlers) DeleteLabel(ctx context.Context, cmd Ref) (label.State, error) {
	st, err := mutate(ctx, h, labelKind, newLabel, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(l *label.Label) ([]domain.Event, error) { return l.Delete() })
	if err != nil {
		return st, err
	}
	ids, err := h.store.StreamsMentioning(ctx, cmd.AccountID, labelCarriers, "labels", st.Title)
	if err != nil {
		return st, fmt.Errorf("label deleted, finding its contacts: %w", err)
	}
	for _, id := range ids {
		_, err := mutate(ctx, h, contactKind, newContact, cmd.AccountID, id, nil,
			func(c *contact.Contact) ([]domain.Event, error) { return c.RemoveLabels([]string{st.Title}) })
		if err != nil && !errors.Is(err, domain.ErrDeleted) && !errors.Is(err, domain.ErrInvalidState) {
			return st, fmt.Errorf("label deleted, removing it from contact %s: %w", id, err)
		}
	}
	return st, nil
}
