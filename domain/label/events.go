package label

import "contacts/domain"

// Event type names; stable on the wire.
const (
	TypeCreated = "label.created"
	TypeUpdated = "label.updated"
	TypeDeleted = "label.deleted"
)

// LabelCreated starts a label stream.
type LabelCreated struct {
	ID          string `json:"id"`
	AccountID   string `json:"account_id"`
	CreatedBy   string `json:"created_by"`
	Title       string `json:"title"`
	Color       string `json:"color"`
	Description string `json:"description"`
}

// LabelUpdated records the fields whose value changed (title, color, description).
type LabelUpdated struct {
	Changes map[string]domain.Change `json:"changes"`
}

// LabelDeleted ends the label.
type LabelDeleted struct{}

func (LabelCreated) EventType() string { return TypeCreated }
func (LabelUpdated) EventType() string { return TypeUpdated }
func (LabelDeleted) EventType() string { return TypeDeleted }

var decoders = map[string]func([]byte) (domain.Event, error){
	TypeCreated: domain.DecodeAs[LabelCreated],
	TypeUpdated: domain.DecodeAs[LabelUpdated], // all fields are strings: JSON keeps their type
	TypeDeleted: domain.DecodeAs[LabelDeleted],
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
