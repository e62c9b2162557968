package commands

import (
	"context"
	"strings"

	"contacts/domain"
	"contacts/domain/group"
)

// CreateGroup creates a group; names are unique per account (any case).
type CreateGroup struct {
	AccountID string
	ActorID   string
	ID        string
	Fields    map[string]any
}

func (h *Handlers) CreateGroup(ctx context.Context, cmd CreateGroup) (group.State, error) {
	id, err := h.newAggregateID(cmd.ID)
	if err != nil {
		return group.State{}, err
	}
	evs, err := group.Create(group.CreateInput{ID: id, AccountID: cmd.AccountID, CreatedBy: cmd.ActorID, Fields: cmd.Fields})
	if err != nil {
		return group.State{}, err
	}
	return create[*group.Group, group.State](ctx, h, groupKind, newGroup(), cmd.AccountID, id, evs)
}

// UpdateGroup renames or re-describes a group.
type UpdateGroup struct {
	AccountID       string
	ID              string
	ExpectedVersion *int64
	Fields          map[string]any
}

func (h *Handlers) UpdateGroup(ctx context.Context, cmd UpdateGroup) (group.State, error) {
	return mutate(ctx, h, groupKind, newGroup, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(g *group.Group) ([]domain.Event, error) { return g.Update(cmd.Fields) })
}

// DeleteGroup ends a group; its contacts are not touched.
func (h *Handlers) DeleteGroup(ctx context.Context, cmd Ref) (group.State, error) {
	return mutate(ctx, h, groupKind, newGroup, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(g *group.Group) ([]domain.Event, error) { return g.Delete() })
}

// ChangeGroupMembers adds or removes contacts.
type ChangeGroupMembers struct {
	Ref
	ContactIDs []string
}

// AddGroupMembers adds contacts of the same account; ids that are not the
// account's contacts are refused, all of them named in the error. The group
// is loaded first, so another account's group is "not found" whatever ids
// come with it.
func (h *Handlers) AddGroupMembers(ctx context.Context, cmd ChangeGroupMembers) (group.State, error) {
	return mutate(ctx, h, groupKind, newGroup, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(g *group.Group) ([]domain.Event, error) {
			ids, err := h.accountContacts(ctx, cmd.AccountID, cmd.ContactIDs)
			if err != nil {
				return nil, err
			}
			return g.AddMembers(ids)
		})
}

// accountContacts normalises ids and refuses any that is not a contact of
// the account.
func (h *Handlers) accountContacts(ctx context.Context, accountID string, given []string) ([]string, error) {
	ids := make([]string, 0, len(given))
	var bad []string
	for _, id := range given {
		if !domain.IsUUID(id) {
			bad = append(bad, id)
			continue
		}
		ids = append(ids, toLowerASCII(id))
	}
	if len(ids) > 0 {
		exist, err := h.store.ExistingStreams(ctx, accountID, contactKind.streamType, ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if !exist[id] {
				bad = append(bad, id)
			}
		}
	}
	if len(bad) > 0 {
		if len(bad) > 20 {
			bad = append(bad[:20], "…")
		}
		return nil, domain.InvalidField("contact_ids", "not contacts of this account: "+strings.Join(bad, ", "))
	}
	return ids, nil
}

func (h *Handlers) RemoveGroupMembers(ctx context.Context, cmd ChangeGroupMembers) (group.State, error) {
	ids := make([]string, len(cmd.ContactIDs))
	for i, id := range cmd.ContactIDs {
		ids[i] = toLowerASCII(id)
	}
	return mutate(ctx, h, groupKind, newGroup, cmd.AccountID, cmd.ID, cmd.ExpectedVersion,
		func(g *group.Group) ([]domain.Event, error) { return g.RemoveMembers(ids) })
}
