package commands

import (
	"context"

	"contacts/domain/company"
	"contacts/domain/contact"
	"contacts/domain/group"
	"contacts/domain/label"
)

// The current state of one aggregate, replayed from its stream: strongly
// consistent (it includes the caller's own last write), for GET-by-id and
// If-Match round trips. Lists and searches use the read models.

func (h *Handlers) Contact(ctx context.Context, accountID, id string) (contact.State, error) {
	c, err := loadExisting[*contact.Contact, contact.State](ctx, h, contactKind, newContact(), accountID, id)
	if err != nil {
		return contact.State{}, err
	}
	return c.State(), nil
}

func (h *Handlers) Company(ctx context.Context, accountID, id string) (company.State, error) {
	c, err := loadExisting[*company.Company, company.State](ctx, h, companyKind, newCompany(), accountID, id)
	if err != nil {
		return company.State{}, err
	}
	return c.State(), nil
}

func (h *Handlers) Group(ctx context.Context, accountID, id string) (group.State, error) {
	g, err := loadExisting[*group.Group, group.State](ctx, h, groupKind, newGroup(), accountID, id)
	if err != nil {
		return group.State{}, err
	}
	return g.State(), nil
}

func (h *Handlers) Label(ctx context.Context, accountID, id string) (label.State, error) {
	l, err := loadExisting[*label.Label, label.State](ctx, h, labelKind, newLabel(), accountID, id)
	if err != nil {
		return label.State{}, err
	}
	return l.State(), nil
}
