// Package company is the company aggregate: an organisation contacts work for.
package company

import (
	"reflect"
	"strings"
	"time"

	"contacts/domain"
)

// StreamType names company streams in the event store.
const StreamType = "company"

const kind = "company"

// Company is the aggregate. The zero value is a company not yet created.
type Company struct {
	id, accountID, createdBy string
	profile                  Profile
	created, deleted         bool
	createdAt, updatedAt     time.Time
	deletedAt                *time.Time
	version                  int64
}

// State is the API shape of a company (a deep copy).
type State struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Profile
	CreatedBy string     `json:"created_by"`
	Deleted   bool       `json:"deleted"`
	DeletedAt *time.Time `json:"deleted_at"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	Version   int64      `json:"version"`
}

func (c *Company) Version() int64    { return c.version }
func (c *Company) Exists() bool      { return c.created }
func (c *Company) ID() string        { return c.id }
func (c *Company) AccountID() string { return c.accountID }

// Deleted tells whether the company is deleted.
func (c *Company) Deleted() bool { return c.deleted }

// UniqueKeys: companies hold no per-account unique values.
func (c *Company) UniqueKeys() map[string]string { return map[string]string{} }

// State returns a deep copy of the current state.
func (c *Company) State() State {
	s := State{
		ID: c.id, AccountID: c.accountID, Profile: c.profile.clone(), CreatedBy: c.createdBy,
		Deleted: c.deleted, CreatedAt: c.createdAt, UpdatedAt: c.updatedAt, Version: c.version,
	}
	if c.deletedAt != nil {
		t := *c.deletedAt
		s.DeletedAt = &t
	}
	for _, l := range []*[]string{&s.Industries, &s.Keywords, &s.Technologies} {
		if *l == nil {
			*l = []string{}
		}
	}
	return s
}

// Apply changes the state by one recorded event; unknown events only move
// the version on.
func (c *Company) Apply(e domain.Event, r domain.Recorded) {
	at := r.At.UTC()
	c.version = r.Version
	switch ev := domain.Deref(e).(type) {
	case CompanyCreated:
		c.created = true
		c.id, c.accountID, c.createdBy = ev.ID, ev.AccountID, ev.CreatedBy
		c.profile = ev.Profile.clone()
		c.createdAt = at
	case CompanyUpdated:
		for name, ch := range ev.Changes {
			if a, ok := attrs[name]; ok {
				a.set(&c.profile, ch.New)
			}
		}
	case CompanyDeleted:
		c.deleted, c.deletedAt = true, &at
	default:
		return
	}
	c.updatedAt = at
}

// CreateInput is what Create needs. PhoneRegion is the country of phone
// numbers given without a country code ("" refuses them).
type CreateInput struct {
	ID, AccountID, CreatedBy string
	Fields                   map[string]any
	PhoneRegion              string
}

// Create validates a new company.
func Create(in CreateInput) ([]domain.Event, error) {
	parsed, errs := spec.ParseIn(domain.Context{PhoneRegion: in.PhoneRegion}, in.Fields, true)
	if strings.TrimSpace(in.ID) == "" {
		errs.Add("id", "is required")
	}
	if strings.TrimSpace(in.AccountID) == "" {
		errs.Add("account_id", "is required")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	var p Profile
	for name, a := range attrs {
		if v, ok := parsed.Values[name]; ok {
			a.set(&p, v)
		}
	}
	return []domain.Event{CompanyCreated{ID: in.ID, AccountID: in.AccountID, CreatedBy: in.CreatedBy, Profile: p}}, nil
}

func (c *Company) check() error {
	switch {
	case !c.created:
		return domain.NotFound(kind, c.id)
	case c.deleted:
		return domain.Deleted(kind, c.id)
	}
	return nil
}

// Update changes fields; only real changes are recorded (no event otherwise).
func (c *Company) Update(fields map[string]any) ([]domain.Event, error) {
	return c.UpdateIn(domain.Context{}, fields)
}

// UpdateIn is Update with a normalisation context (the default phone region).
func (c *Company) UpdateIn(ctx domain.Context, fields map[string]any) ([]domain.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	parsed, errs := spec.ParseIn(ctx, fields, false)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	changes := map[string]domain.Change{}
	for name, v := range parsed.Values {
		a := attrs[name]
		old, nv := a.get(&c.profile), canonical(name, v)
		if !reflect.DeepEqual(old, nv) {
			changes[name] = domain.Change{Old: old, New: nv}
		}
	}
	if len(changes) == 0 {
		return []domain.Event{}, nil
	}
	return []domain.Event{CompanyUpdated{Changes: changes}}, nil
}

// Delete ends the company.
func (c *Company) Delete() ([]domain.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	return []domain.Event{CompanyDeleted{}}, nil
}
