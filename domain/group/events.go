package group

import "contacts/domain"

// Event type names; stable on the wire.
const (
	TypeCreated        = "group.created"
	TypeUpdated        = "group.updated"
	TypeDeleted        = "group.deleted"
	TypeMembersAdded   = "group.members_added"
	TypeMembersRemoved = "group.members_removed"
)

// GroupCreated starts a group stream.
type GroupCreated struct {
	ID          string `json:"id"`
	AccountID   string `json:"account_id"`
	CreatedBy   string `json:"created_by"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// GroupUpdated records the fields whose value changed (name, description).
type GroupUpdated struct {
	Changes map[string]domain.Change `json:"changes"`
}

// GroupDeleted ends the group; its members are not touched.
type GroupDeleted struct{}

// MembersAdded adds contacts to the group.
type MembersAdded struct {
	ContactIDs []string `json:"contact_ids"`
}

// MembersRemoved removes contacts from the group.
type MembersRemoved struct {
	ContactIDs []string `json:"contact_ids"`
}

func (GroupCreated) EventType() string   { return TypeCreated }
func (GroupUpdated) EventType() string   { return TypeUpdated }
func (GroupDeleted) EventType() string   { return TypeDeleted }
func (MembersAdded) EventType() string   { return TypeMembersAdded }
func (MembersRemoved) EventType() string { return TypeMembersRemoved }

var decoders = map[string]func([]byte) (domain.Event, error){
	TypeCreated:        domain.DecodeAs[GroupCreated],
	TypeUpdated:        domain.DecodeAs[GroupUpdated], // both fields are strings: JSON keeps their type
	TypeDeleted:        domain.DecodeAs[GroupDeleted],
	TypeMembersAdded:   domain.DecodeAs[MembersAdded],
	TypeMembersRemoved: domain.DecodeAs[MembersRemoved],
}

// Decode turns a stored event back into its concrete value type.
func Decode(eventType string, data []byte) (domain.Event, error) {
	d, ok := decoders[eventType]
	if !ok {
		return nil, domain.UnknownEvent(StreamType, eventType)
	}
	return d(data)
}

// EventTypes lists every event type of the package.
func EventTypes() []string { return domain.SortedKeys(decoders) }
