package company

import "contacts/domain"

// Event type names; stable on the wire.
const (
	TypeCreated = "company.created"
	TypeUpdated = "company.updated"
	TypeDeleted = "company.deleted"
)

// CompanyCreated starts a company stream with its full profile.
type CompanyCreated struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	CreatedBy string `json:"created_by"`
	Profile
}

// CompanyUpdated records the fields whose value changed.
type CompanyUpdated struct {
	Changes map[string]domain.Change `json:"changes"`
}

// CompanyDeleted ends the company.
type CompanyDeleted struct{}

func (CompanyCreated) EventType() string { return TypeCreated }
func (CompanyUpdated) EventType() string { return TypeUpdated }
func (CompanyDeleted) EventType() string { return TypeDeleted }

var decoders = map[string]func([]byte) (domain.Event, error){
	TypeCreated: domain.DecodeAs[CompanyCreated],
	TypeUpdated: decodeUpdated,
	TypeDeleted: domain.DecodeAs[CompanyDeleted],
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

// decodeUpdated restores typed change values (float64 -> int64, []any -> []string).
func decodeUpdated(data []byte) (domain.Event, error) {
	e, err := domain.DecodeAs[CompanyUpdated](data)
	if err != nil {
		return nil, err
	}
	u := e.(CompanyUpdated)
	for k, ch := range u.Changes {
		u.Changes[k] = domain.Change{Old: canonical(k, ch.Old), New: canonical(k, ch.New)}
	}
	return u, nil
}
