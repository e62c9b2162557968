package contact

import "contacts/domain"

// Event type names; stable on the wire.
const (
	TypeCreated                 = "contact.created"
	TypeUpdated                 = "contact.updated"
	TypeDeleted                 = "contact.deleted"
	TypeRestored                = "contact.restored"
	TypeInactivated             = "contact.inactivated"
	TypeActivated               = "contact.activated"
	TypeLabelsAdded             = "contact.labels_added"
	TypeLabelsRemoved           = "contact.labels_removed"
	TypeNoteAdded               = "contact.note_added"
	TypeNoteEdited              = "contact.note_edited"
	TypeNoteRemoved             = "contact.note_removed"
	TypeAssigned                = "contact.assigned"
	TypeAccountAssociated       = "contact.account_associated"
	TypeAccountDissociated      = "contact.account_dissociated"
	TypeCustomAttributesSet     = "contact.custom_attributes_set"
	TypeCustomAttributesRemoved = "contact.custom_attributes_removed"
	TypeMerged                  = "contact.merged"
	TypeAbsorbed                = "contact.absorbed"
)

// ContactCreated starts a contact stream with its full normalized profile.
type ContactCreated struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	CreatedBy string `json:"created_by"`
	Profile
	Labels           []string       `json:"labels"`
	CustomAttributes map[string]any `json:"custom_attributes"`
}

// ContactUpdated records the profile fields whose value changed. An update
// that also changes labels or custom attributes carries those changes too
// (applied in this order: changes, labels added, labels removed, custom
// attributes set, removed), so that one update is one event and one version.
// Labels holds the labels added under the name the label cascades look for.
type ContactUpdated struct {
	Changes                 map[string]domain.Change `json:"changes"`
	Labels                  []string                 `json:"labels,omitempty"`
	LabelsRemoved           []string                 `json:"labels_removed,omitempty"`
	CustomAttributesSet     map[string]any           `json:"custom_attributes_set,omitempty"`
	CustomAttributesRemoved []string                 `json:"custom_attributes_removed,omitempty"`
}

// ContactDeleted ends the contact (until restored); the time is the record time.
type ContactDeleted struct{}

// ContactRestored undoes a delete.
type ContactRestored struct{}

// ContactInactivated marks the contact inactive.
type ContactInactivated struct{}

// ContactActivated marks the contact active again.
type ContactActivated struct{}

// LabelsAdded adds labels (spellings as given).
type LabelsAdded struct {
	Labels []string `json:"labels"`
}

// LabelsRemoved removes labels (matched case-insensitively).
type LabelsRemoved struct {
	Labels []string `json:"labels"`
}

// NoteAdded adds a note; its created_at is the record time.
type NoteAdded struct {
	NoteID   string `json:"note_id"`
	Content  string `json:"content"`
	AuthorID string `json:"author_id"`
}

// NoteEdited replaces a note's content.
type NoteEdited struct {
	NoteID  string `json:"note_id"`
	Content string `json:"content"`
}

// NoteRemoved removes a note.
type NoteRemoved struct {
	NoteID string `json:"note_id"`
}

// Assigned replaces the assigned users and teams.
type Assigned struct {
	AssignedTo []string `json:"assigned_to"`
	Teams      []string `json:"teams"`
}

// AccountAssociated links the contact to another account (or changes the link).
type AccountAssociated struct {
	AccountID string `json:"account_id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
}

// AccountDissociated removes a link to another account.
type AccountDissociated struct {
	AccountID string `json:"account_id"`
}

// CustomAttributesSet sets (merges) custom attributes.
type CustomAttributesSet struct {
	Values map[string]any `json:"values"`
}

// CustomAttributesRemoved removes custom attributes.
type CustomAttributesRemoved struct {
	Keys []string `json:"keys"`
}

// ContactMerged is the last event of a contact merged into another one.
type ContactMerged struct {
	Into string `json:"into"`
}

// ContactAbsorbed records what a winner takes over from a merged contact.
type ContactAbsorbed struct {
	From               string         `json:"from"`
	Labels             []string       `json:"labels"`
	Notes              []Note         `json:"notes"`
	CustomAttributes   map[string]any `json:"custom_attributes"`
	AssociatedAccounts []Association  `json:"associated_accounts"`
	Fields             map[string]any `json:"fields"`
}

func (ContactCreated) EventType() string          { return TypeCreated }
func (ContactUpdated) EventType() string          { return TypeUpdated }
func (ContactDeleted) EventType() string          { return TypeDeleted }
func (ContactRestored) EventType() string         { return TypeRestored }
func (ContactInactivated) EventType() string      { return TypeInactivated }
func (ContactActivated) EventType() string        { return TypeActivated }
func (LabelsAdded) EventType() string             { return TypeLabelsAdded }
func (LabelsRemoved) EventType() string           { return TypeLabelsRemoved }
func (NoteAdded) EventType() string               { return TypeNoteAdded }
func (NoteEdited) EventType() string              { return TypeNoteEdited }
func (NoteRemoved) EventType() string             { return TypeNoteRemoved }
func (Assigned) EventType() string                { return TypeAssigned }
func (AccountAssociated) EventType() string       { return TypeAccountAssociated }
func (AccountDissociated) EventType() string      { return TypeAccountDissociated }
func (CustomAttributesSet) EventType() string     { return TypeCustomAttributesSet }
func (CustomAttributesRemoved) EventType() string { return TypeCustomAttributesRemoved }
func (ContactMerged) EventType() string           { return TypeMerged }
func (ContactAbsorbed) EventType() string         { return TypeAbsorbed }

var decoders = map[string]func([]byte) (domain.Event, error){
	TypeCreated:                 domain.DecodeAs[ContactCreated],
	TypeUpdated:                 decodeUpdated,
	TypeDeleted:                 domain.DecodeAs[ContactDeleted],
	TypeRestored:                domain.DecodeAs[ContactRestored],
	TypeInactivated:             domain.DecodeAs[ContactInactivated],
	TypeActivated:               domain.DecodeAs[ContactActivated],
	TypeLabelsAdded:             domain.DecodeAs[LabelsAdded],
	TypeLabelsRemoved:           domain.DecodeAs[LabelsRemoved],
	TypeNoteAdded:               domain.DecodeAs[NoteAdded],
	TypeNoteEdited:              domain.DecodeAs[NoteEdited],
	TypeNoteRemoved:             domain.DecodeAs[NoteRemoved],
	TypeAssigned:                domain.DecodeAs[Assigned],
	TypeAccountAssociated:       domain.DecodeAs[AccountAssociated],
	TypeAccountDissociated:      domain.DecodeAs[AccountDissociated],
	TypeCustomAttributesSet:     domain.DecodeAs[CustomAttributesSet],
	TypeCustomAttributesRemoved: domain.DecodeAs[CustomAttributesRemoved],
	TypeMerged:                  domain.DecodeAs[ContactMerged],
	TypeAbsorbed:                decodeAbsorbed,
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
func EventTypes() []string {
	return domain.SortedKeys(decoders)
}

// decodeUpdated restores the typed values of changes ([]any -> []string).
func decodeUpdated(data []byte) (domain.Event, error) {
	e, err := domain.DecodeAs[ContactUpdated](data)
	if err != nil {
		return nil, err
	}
	u := e.(ContactUpdated)
	for k, ch := range u.Changes {
		u.Changes[k] = domain.Change{Old: canonical(k, ch.Old), New: canonical(k, ch.New)}
	}
	return u, nil
}

func decodeAbsorbed(data []byte) (domain.Event, error) {
	e, err := domain.DecodeAs[ContactAbsorbed](data)
	if err != nil {
		return nil, err
	}
	a := e.(ContactAbsorbed)
	for k, v := range a.Fields {
		a.Fields[k] = canonical(k, v)
	}
	return a, nil
}
