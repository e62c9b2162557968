// Package label is the label aggregate: an account's named, coloured tag.
// Contacts carry label titles; this aggregate owns title, colour and description.
package label

import (
	"strings"
	"time"

	"contacts/domain"
)

// StreamType names label streams in the event store.
const StreamType = "label"

const kind = "label"

// DefaultColor is the colour of a label created without one.
const DefaultColor = "#1F93FF"

// Label is the aggregate. The zero value is a label not yet created.
type Label struct {
	id, accountID, createdBy  string
	title, color, description string
	created, deleted          bool
	createdAt, updatedAt      time.Time
	deletedAt                 *time.Time
	version                   int64
}

// State is the API shape of a label.
type State struct {
	ID          string     `json:"id"`
	AccountID   string     `json:"account_id"`
	Title       string     `json:"title"`
	Color       string     `json:"color"`
	Description string     `json:"description"`
	CreatedBy   string     `json:"created_by"`
	Deleted     bool       `json:"deleted"`
	DeletedAt   *time.Time `json:"deleted_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	Version     int64      `json:"version"`
}

func (l *Label) Version() int64    { return l.version }
func (l *Label) Exists() bool      { return l.created }
func (l *Label) ID() string        { return l.id }
func (l *Label) AccountID() string { return l.accountID }
func (l *Label) Title() string     { return l.title }

// Deleted tells whether the label is deleted.
func (l *Label) Deleted() bool { return l.deleted }

// UniqueKeys: the lower-cased title is unique per account while the label lives.
func (l *Label) UniqueKeys() map[string]string {
	if !l.created || l.deleted {
		return map[string]string{}
	}
	return map[string]string{"label_title": strings.ToLower(l.title)}
}

// State returns a copy of the current state.
func (l *Label) State() State {
	s := State{
		ID: l.id, AccountID: l.accountID, Title: l.title, Color: l.color, Description: l.description,
		CreatedBy: l.createdBy, Deleted: l.deleted, CreatedAt: l.createdAt, UpdatedAt: l.updatedAt,
		Version: l.version,
	}
	if l.deletedAt != nil {
		t := *l.deletedAt
		s.DeletedAt = &t
	}
	return s
}

// Apply changes the state by one recorded event; unknown events only move
// the version on.
func (l *Label) Apply(e domain.Event, r domain.Recorded) {
	at := r.At.UTC()
	l.version = r.Version
	switch ev := domain.Deref(e).(type) {
	case LabelCreated:
		l.created = true
		l.id, l.accountID, l.createdBy = ev.ID, ev.AccountID, ev.CreatedBy
		l.title, l.color, l.description = ev.Title, ev.Color, ev.Description
		l.createdAt = at
	case LabelUpdated:
		for field, ch := range ev.Changes {
			switch field {
			case "title":
				l.title = domain.ToString(ch.New)
			case "color":
				l.color = domain.ToString(ch.New)
			case "description":
				l.description = domain.ToString(ch.New)
			}
		}
	case LabelDeleted:
		l.deleted, l.deletedAt = true, &at
	default:
		return
	}
	l.updatedAt = at
}
