package group

import (
	"sort"
	"strconv"
	"strings"

	"contacts/domain"
)

var spec = domain.Spec{
	Fields: map[string]domain.Field{
		"name":        {Kind: domain.KindText, Required: true, Min: 1, Max: 100},
		"description": {Kind: domain.KindText, Max: 1000},
	},
	Refused: map[string]string{
		"id": "is read-only", "account_id": "is read-only", "created_by": "is read-only",
		"created_at": "is read-only", "updated_at": "is read-only", "deleted": "is read-only",
		"deleted_at": "is read-only", "version": "is read-only", "member_count": "is read-only",
		"contact_ids": "cannot be set here; add or remove members",
	},
}

// CreateInput is what Create needs.
type CreateInput struct {
	ID, AccountID, CreatedBy string
	Fields                   map[string]any
}

// Create validates a new group.
func Create(in CreateInput) ([]domain.Event, error) {
	parsed, errs := spec.Parse(in.Fields, true)
	if strings.TrimSpace(in.ID) == "" {
		errs.Add("id", "is required")
	}
	if strings.TrimSpace(in.AccountID) == "" {
		errs.Add("account_id", "is required")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return []domain.Event{GroupCreated{
		ID: in.ID, AccountID: in.AccountID, CreatedBy: in.CreatedBy,
		Name:        domain.ToString(parsed.Values["name"]),
		Description: domain.ToString(parsed.Values["description"]),
	}}, nil
}

func (g *Group) check() error {
	switch {
	case !g.created:
		return domain.NotFound(kind, g.id)
	case g.deleted:
		return domain.Deleted(kind, g.id)
	}
	return nil
}

// Update changes name and description; only real changes are recorded.
func (g *Group) Update(fields map[string]any) ([]domain.Event, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	parsed, errs := spec.Parse(fields, false)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	changes := map[string]domain.Change{}
	for field, old := range map[string]string{"name": g.name, "description": g.description} {
		if v, ok := parsed.Values[field]; ok && v != old {
			changes[field] = domain.Change{Old: old, New: v}
		}
	}
	if len(changes) == 0 {
		return []domain.Event{}, nil
	}
	return []domain.Event{GroupUpdated{Changes: changes}}, nil
}

// Delete ends the group; member contacts are not touched.
func (g *Group) Delete() ([]domain.Event, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	return []domain.Event{GroupDeleted{}}, nil
}

// AddMembers adds the contacts that are not members yet.
func (g *Group) AddMembers(ids []string) ([]domain.Event, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	valid, err := contactIDs(ids)
	if err != nil {
		return nil, err
	}
	var add []string
	for _, id := range valid {
		if _, ok := g.members[id]; !ok {
			add = append(add, id)
		}
	}
	if len(add) == 0 {
		return []domain.Event{}, nil
	}
	return []domain.Event{MembersAdded{ContactIDs: add}}, nil
}

// RemoveMembers removes the contacts that are members.
func (g *Group) RemoveMembers(ids []string) ([]domain.Event, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	valid, err := contactIDs(ids)
	if err != nil {
		return nil, err
	}
	var drop []string
	for _, id := range valid {
		if _, ok := g.members[id]; ok {
			drop = append(drop, id)
		}
	}
	if len(drop) == 0 {
		return []domain.Event{}, nil
	}
	return []domain.Event{MembersRemoved{ContactIDs: drop}}, nil
}

// contactIDs validates, lower-cases, dedups and sorts contact ids.
func contactIDs(ids []string) ([]string, error) {
	if len(ids) > MaxMembersPerCall {
		return nil, domain.InvalidField("contact_ids", "must have at most 50000 ids per call")
	}
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		id = strings.ToLower(strings.TrimSpace(id))
		if !domain.IsUUID(id) {
			return nil, domain.InvalidField("contact_ids", "must be UUIDs; "+quote(id)+" is not")
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out, nil
}

func quote(s string) string {
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return strconv.Quote(s)
}
