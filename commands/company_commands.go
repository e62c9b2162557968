package commands

import (
	"context"

	"contacts/domain"
	"contacts/domain/company"
)

// CreateCompany creates a company; ID is optional.
type CreateCompany struct {
	AccountID string
	ActorID   string
	ID        string
	Fields    map[string]any
}

func (h *Handlers) CreateCompany(ctx context.Context, cmd CreateCompany) (company.State, error) {
	id, err := h.newAggregateID(cmd.ID)
	if err != nil {
		return company.State{}, err
	}
	evs, err := company.Create(company.CreateInput{ID: id, AccountID: cmd.AccountID, CreatedBy: cmd.ActorID, Fields: cmd.Fields})
	if err != nil {
		return company.State{}, err
	}
	return create[*company.Company, company.State](ctx, h, companyKind, newCompany(), cmd.AccountID, id, evs)
}

// UpdateCompany changes only the given fields.
type UpdateCompany struct {
	AccountID       string
	ID              string
	ExpectedVersion *int64
	Fields          map[string]any
}

func (h *Handlers) UpdateCompany(ctx context.Context, cmd UpdateCompany) (company.State, error) {
	return mutate(ctx, h, companyKind, newCompany, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *company.Company) ([]domain.Event, error) { return c.Update(cmd.Fields) })
}

// Ref names one aggregate of any kind.
type Ref struct {
	AccountID       string
	ID              string
	ExpectedVersion *int64
}

// DeleteCompany deletes a company; contacts keep their (now dangling) link,
// which the read models show as no company.
func (h *Handlers) DeleteCompany(ctx context.Context, cmd Ref) (company.State, error) {
	return mutate(ctx, h, companyKind, newCompany, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *company.Company) ([]domain.Event, error) { return c.Delete() })
}
