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
	// PhoneRegion: the country of phone numbers given without a country
	// code; "" uses the account's default_phone_region.
	PhoneRegion string
}

func (h *Handlers) CreateCompany(ctx context.Context, cmd CreateCompany) (company.State, error) {
	id, err := h.newAggregateID(cmd.ID)
	if err != nil {
		return company.State{}, err
	}
	region, err := h.PhoneRegion(ctx, cmd.AccountID, cmd.PhoneRegion)
	if err != nil {
		return company.State{}, err
	}
	evs, err := company.Create(company.CreateInput{ID: id, AccountID: cmd.AccountID, CreatedBy: cmd.ActorID, Fields: cmd.Fields, PhoneRegion: region})
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
	PhoneRegion     string // "" uses the account's default_phone_region
}

func (h *Handlers) UpdateCompany(ctx context.Context, cmd UpdateCompany) (company.State, error) {
	region, err := h.PhoneRegion(ctx, cmd.AccountID, cmd.PhoneRegion)
	if err != nil {
		return company.State{}, err
	}
	nc := domain.Context{PhoneRegion: region}
	return mutate(ctx, h, companyKind, newCompany, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(c *company.Company) ([]domain.Event, error) { return c.UpdateIn(nc, cmd.Fields) })
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
