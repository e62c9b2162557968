// Package group is the group aggregate: a named, static list of contacts.
package group

import (
	"sort"
	"strings"
	"time"

	"contacts/domain"
)

// StreamType names group streams in the event store.
const StreamType = "group"

const kind = "group"

// MaxMembersPerCall bounds AddMembers and RemoveMembers.
const MaxMembersPerCall = 50000

// Group is the aggregate. The zero value is a group not yet created.
type Group struct {
	id, accountID, createdBy string
	name, description        string
	members                  map[string]struct{}
	created, deleted         bool
	createdAt, updatedAt     time.Time
	deletedAt                *time.Time
	version                  int64
}

// State is the API shape of a group (a deep copy).
type State struct {
	ID          string     `json:"id"`
	AccountID   string     `json:"account_id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	MemberCount int        `json:"member_count"`
	ContactIDs  []string   `json:"contact_ids"`
	CreatedBy   string     `json:"created_by"`
	Deleted     bool       `json:"deleted"`
	DeletedAt   *time.Time `json:"deleted_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	Version     int64      `json:"version"`
}

func (g *Group) Version() int64    { return g.version }
func (g *Group) Exists() bool      { return g.created }
func (g *Group) ID() string        { return g.id }
func (g *Group) AccountID() string { return g.accountID }
func (g *Group) Name() string      { return g.name }

// Deleted tells whether the group is deleted.
func (g *Group) Deleted() bool { return g.deleted }

// MemberCount returns the number of members.
func (g *Group) MemberCount() int { return len(g.members) }

// HasMember tells whether the contact is a member.
func (g *Group) HasMember(id string) bool {
	_, ok := g.members[strings.ToLower(strings.TrimSpace(id))]
	return ok
}

// UniqueKeys: the lower-cased name is unique per account while the group lives.
func (g *Group) UniqueKeys() map[string]string {
	if !g.created || g.deleted {
		return map[string]string{}
	}
	return map[string]string{"group_name": strings.ToLower(g.name)}
}

// State returns a deep copy of the current state; contact_ids are sorted.
func (g *Group) State() State {
	ids := make([]string, 0, len(g.members))
	for id := range g.members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	s := State{
		ID: g.id, AccountID: g.accountID, Name: g.name, Description: g.description,
		MemberCount: len(ids), ContactIDs: ids, CreatedBy: g.createdBy, Deleted: g.deleted,
		CreatedAt: g.createdAt, UpdatedAt: g.updatedAt, Version: g.version,
	}
	if g.deletedAt != nil {
		t := *g.deletedAt
		s.DeletedAt = &t
	}
	return s
}

// Apply changes the state by one recorded event; unknown events only move
// the version on.
func (g *Group) Apply(e domain.Event, r domain.Recorded) {
	at := r.At.UTC()
	g.version = r.Version
	switch ev := domain.Deref(e).(type) {
	case GroupCreated:
		g.created = true
		g.id, g.accountID, g.createdBy = ev.ID, ev.AccountID, ev.CreatedBy
		g.name, g.description = ev.Name, ev.Description
		g.createdAt = at
	case GroupUpdated:
		for field, ch := range ev.Changes {
			switch field {
			case "name":
				g.name = domain.ToString(ch.New)
			case "description":
				g.description = domain.ToString(ch.New)
			}
		}
	case GroupDeleted:
		g.deleted, g.deletedAt = true, &at
	case MembersAdded:
		if g.members == nil {
			g.members = map[string]struct{}{}
		}
		for _, id := range ev.ContactIDs {
			g.members[id] = struct{}{}
		}
	case MembersRemoved:
		for _, id := range ev.ContactIDs {
			delete(g.members, id)
		}
	default:
		return
	}
	g.updatedAt = at
}
