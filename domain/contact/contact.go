// Package contact is the contact aggregate: a person in a CRM account, with
// profile, labels, notes, assignment, associations and custom attributes.
// State changes only through Apply; decisions validate and return events.
package contact

import (
	"sort"
	"strings"
	"time"

	"contacts/domain"
)

// StreamType names contact streams in the event store.
const StreamType = "contact"

const kind = "contact"

// Note is a free-text note on a contact.
type Note struct {
	ID        string    `json:"id"`
	Content   string    `json:"content"`
	AuthorID  string    `json:"author_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Association links a contact to another account.
type Association struct {
	AccountID string `json:"account_id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
}

// Contact is the aggregate. The zero value is a contact not yet created.
type Contact struct {
	id, accountID, createdBy string
	profile                  Profile
	labels                   []string // sorted
	notes                    []Note   // creation order
	assignedTo, teams        []string // sorted
	associations             []Association
	custom                   map[string]any
	created, deleted         bool
	mergedInto               string
	createdAt, updatedAt     time.Time
	inactivatedAt, deletedAt *time.Time
	version                  int64
}

// State is the API shape of a contact: a deep copy, safe to hand out.
type State struct {
	ID        string `json:"uuid"` // "uuid", as the contacts WebSocket API names it
	AccountID string `json:"account_id"`
	Name      string `json:"name"`
	Profile
	Labels             []string       `json:"labels"`
	Notes              []Note         `json:"notes"`
	AssignedTo         []string       `json:"assigned_to"`
	Teams              []string       `json:"teams"`
	AssociatedAccounts []Association  `json:"associated_accounts"`
	CustomAttributes   map[string]any `json:"custom_attributes"`
	CreatedBy          string         `json:"created_by"`
	CreatedAt          time.Time      `json:"created_at"`
	UpdatedAt          time.Time      `json:"updated_at"`
	InactivatedAt      *time.Time     `json:"inactivated_at"`
	Active             bool           `json:"active"`
	Deleted            bool           `json:"deleted"`
	DeletedAt          *time.Time     `json:"deleted_at"`
	MergedInto         string         `json:"merged_into"`
	Version            int64          `json:"version"`
}

func (c *Contact) Version() int64    { return c.version }
func (c *Contact) Exists() bool      { return c.created }
func (c *Contact) ID() string        { return c.id }
func (c *Contact) AccountID() string { return c.accountID }

// Deleted tells whether the contact is deleted (and not restored).
func (c *Contact) Deleted() bool { return c.deleted }

// MergedInto returns the id of the contact this one was merged into, or "".
func (c *Contact) MergedInto() string { return c.mergedInto }

// Labels returns the contact's labels, sorted.
func (c *Contact) Labels() []string { return nonNil(c.labels) }

// State returns a deep copy of the current state.
func (c *Contact) State() State {
	s := State{
		ID:                 c.id,
		AccountID:          c.accountID,
		Name:               fullName(c.profile.FirstName, c.profile.LastName),
		Profile:            c.profile.clone(),
		Labels:             nonNil(c.labels),
		Notes:              append([]Note{}, c.notes...),
		AssignedTo:         nonNil(c.assignedTo),
		Teams:              nonNil(c.teams),
		AssociatedAccounts: append([]Association{}, c.associations...),
		CustomAttributes:   domain.CloneMap(c.custom),
		CreatedBy:          c.createdBy,
		CreatedAt:          c.createdAt,
		UpdatedAt:          c.updatedAt,
		InactivatedAt:      copyTime(c.inactivatedAt),
		Active:             c.inactivatedAt == nil,
		Deleted:            c.deleted,
		DeletedAt:          copyTime(c.deletedAt),
		MergedInto:         c.mergedInto,
		Version:            c.version,
	}
	if s.Departments == nil {
		s.Departments = []string{}
	}
	if s.AdditionalAttributes == nil {
		s.AdditionalAttributes = map[string]any{}
	}
	if s.CustomAttributes == nil {
		s.CustomAttributes = map[string]any{}
	}
	return s
}

// UniqueKeys returns the per-account unique values the contact holds now:
// lower-cased e-mail, phone and identifier; none once deleted or merged.
func (c *Contact) UniqueKeys() map[string]string {
	keys := map[string]string{}
	if !c.created || c.deleted || c.mergedInto != "" {
		return keys
	}
	if c.profile.Email != "" {
		keys["email"] = strings.ToLower(c.profile.Email)
	}
	if c.profile.Phone != "" {
		keys["phone"] = c.profile.Phone
	}
	if c.profile.Identifier != "" {
		keys["identifier"] = c.profile.Identifier
	}
	return keys
}

// Apply changes the state by one recorded event. Unknown events only move
// the version on.
func (c *Contact) Apply(e domain.Event, r domain.Recorded) {
	at := r.At.UTC()
	c.version = r.Version
	switch ev := domain.Deref(e).(type) {
	case ContactCreated:
		c.created = true
		c.id, c.accountID, c.createdBy = ev.ID, ev.AccountID, ev.CreatedBy
		c.profile = ev.Profile.clone()
		c.labels = nil
		c.addLabels(ev.Labels)
		c.custom = domain.CloneMap(ev.CustomAttributes)
		c.createdAt = at
	case ContactUpdated:
		for name, ch := range ev.Changes {
			if a, ok := attrs[name]; ok {
				a.set(&c.profile, ch.New)
			}
		}
		c.addLabels(ev.Labels)
		c.removeLabels(ev.LabelsRemoved)
		if len(ev.CustomAttributesSet) > 0 {
			c.custom = mergeMap(c.custom, ev.CustomAttributesSet)
		}
		c.removeCustom(ev.CustomAttributesRemoved)
	case ContactDeleted:
		c.deleted, c.deletedAt = true, &at
	case ContactRestored:
		c.deleted, c.deletedAt = false, nil
	case ContactInactivated:
		c.inactivatedAt = &at
	case ContactActivated:
		c.inactivatedAt = nil
	case LabelsAdded:
		c.addLabels(ev.Labels)
	case LabelsRemoved:
		c.removeLabels(ev.Labels)
	case NoteAdded:
		c.addNote(Note{ID: ev.NoteID, Content: ev.Content, AuthorID: ev.AuthorID, CreatedAt: at, UpdatedAt: at})
	case NoteEdited:
		if i := c.noteIndex(ev.NoteID); i >= 0 {
			c.notes[i].Content, c.notes[i].UpdatedAt = ev.Content, at
		}
	case NoteRemoved:
		if i := c.noteIndex(ev.NoteID); i >= 0 {
			c.notes = append(c.notes[:i:i], c.notes[i+1:]...)
		}
	case Assigned:
		c.assignedTo, c.teams = sortedSet(ev.AssignedTo), sortedSet(ev.Teams)
	case AccountAssociated:
		c.associate(Association(ev))
	case AccountDissociated:
		if i := c.associationIndex(ev.AccountID); i >= 0 {
			c.associations = append(c.associations[:i:i], c.associations[i+1:]...)
		}
	case CustomAttributesSet:
		if len(ev.Values) > 0 { // a nil patch would mean "clear all"
			c.custom = mergeMap(c.custom, ev.Values)
		}
	case CustomAttributesRemoved:
		c.removeCustom(ev.Keys)
	case ContactMerged:
		c.mergedInto = ev.Into
	case ContactAbsorbed:
		c.addLabels(ev.Labels)
		for _, n := range ev.Notes {
			n.CreatedAt, n.UpdatedAt = n.CreatedAt.UTC(), n.UpdatedAt.UTC()
			c.addNote(n)
		}
		add := map[string]any{}
		for k, v := range ev.CustomAttributes {
			if _, ok := c.custom[k]; !ok {
				add[k] = v
			}
		}
		c.custom = mergeMap(c.custom, add)
		for _, a := range ev.AssociatedAccounts {
			if c.associationIndex(a.AccountID) < 0 {
				c.associate(a)
			}
		}
		for name, v := range ev.Fields {
			if a, ok := attrs[name]; ok {
				a.set(&c.profile, v)
			}
		}
	default:
		return
	}
	c.updatedAt = at
}

func (c *Contact) hasLabel(l string) bool {
	for _, x := range c.labels {
		if strings.EqualFold(x, l) {
			return true
		}
	}
	return false
}

func (c *Contact) addLabels(ls []string) {
	for _, l := range ls {
		if !c.hasLabel(l) {
			c.labels = append(c.labels, l)
		}
	}
	sortLabels(c.labels)
}

func (c *Contact) removeLabels(ls []string) {
	var keep []string
	for _, x := range c.labels {
		drop := false
		for _, l := range ls {
			drop = drop || strings.EqualFold(x, l)
		}
		if !drop {
			keep = append(keep, x)
		}
	}
	c.labels = keep
}

// sortLabels sorts case-insensitively (byte order breaks ties).
func sortLabels(ls []string) {
	sort.Slice(ls, func(i, j int) bool {
		a, b := strings.ToLower(ls[i]), strings.ToLower(ls[j])
		if a != b {
			return a < b
		}
		return ls[i] < ls[j]
	})
}

func (c *Contact) noteIndex(id string) int {
	for i, n := range c.notes {
		if n.ID == id {
			return i
		}
	}
	return -1
}

func (c *Contact) addNote(n Note) {
	if c.noteIndex(n.ID) < 0 {
		c.notes = append(c.notes, n)
	}
}

func (c *Contact) associationIndex(accountID string) int {
	for i, a := range c.associations {
		if a.AccountID == accountID {
			return i
		}
	}
	return -1
}

func (c *Contact) associate(a Association) {
	if i := c.associationIndex(a.AccountID); i >= 0 {
		c.associations[i] = a
		return
	}
	c.associations = append(c.associations, a)
}

func nonNil(s []string) []string {
	return append([]string{}, s...)
}

func sortedSet(s []string) []string {
	out := domain.ToStrings(s)
	sort.Strings(out)
	return out
}

func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := *t
	return &v
}

func (c *Contact) removeCustom(keys []string) {
	if len(keys) == 0 {
		return
	}
	patch := map[string]any{}
	for _, k := range keys {
		patch[k] = nil
	}
	c.custom = mergeMap(c.custom, patch)
}
