package contact

import (
	"reflect"
	"sort"
	"strings"

	"contacts/domain"
)

// CreateInput is what Create needs: identities chosen by the caller and the
// raw JSON-decoded fields. NoteID names the first note when Fields carries
// "notes" as a string. PhoneRegion is the country of phone numbers given
// without a country code ("" refuses them).
type CreateInput struct {
	ID, AccountID, CreatedBy, NoteID string
	Fields                           map[string]any
	PhoneRegion                      string
}

func none() []domain.Event { return []domain.Event{} }

// Create validates a new contact: ContactCreated, then NoteAdded when the
// input carries a first note.
func Create(in CreateInput) ([]domain.Event, error) {
	parsed, errs := parse(domain.Context{PhoneRegion: in.PhoneRegion}, in.Fields, true)
	if strings.TrimSpace(in.ID) == "" {
		errs.Add("id", "is required")
	}
	if strings.TrimSpace(in.AccountID) == "" {
		errs.Add("account_id", "is required")
	}
	p := Profile{ReplyBotEnabled: true}
	for name, a := range attrs {
		if v, ok := parsed.Values[name]; ok {
			a.set(&p, v)
		}
	}
	p.AdditionalAttributes = withoutNulls(p.AdditionalAttributes)
	if !p.identified() && !gaveIdentity(in.Fields) {
		errs.Add("first_name", needsIdentity)
	}
	note, _ := parsed.Values[fieldNotes].(string)
	if note != "" && strings.TrimSpace(in.NoteID) == "" {
		errs.Add("note_id", "is required with notes")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	labels := domain.ToStrings(parsed.Values[fieldLabels])
	sortLabels(labels)
	custom, _ := parsed.Values[fieldCustomAttributes].(map[string]any)
	events := []domain.Event{ContactCreated{
		ID:               in.ID,
		AccountID:        in.AccountID,
		CreatedBy:        in.CreatedBy,
		Profile:          p,
		Labels:           labels,
		CustomAttributes: withoutNulls(custom),
	}}
	if note != "" {
		events = append(events, NoteAdded{NoteID: in.NoteID, Content: note, AuthorID: in.CreatedBy})
	}
	return events, nil
}

// check refuses decisions on a contact that does not exist, was merged or is deleted.
func (c *Contact) check() error {
	switch {
	case !c.created:
		return domain.NotFound(kind, c.id)
	case c.mergedInto != "":
		return domain.InvalidState("contact was merged into " + c.mergedInto)
	case c.deleted:
		return domain.Deleted(kind, c.id)
	}
	return nil
}

// Update changes profile fields (only real changes are recorded), replaces
// the label set and merges custom and additional attributes. Phone numbers
// without a country code are refused (see UpdateIn).
func (c *Contact) Update(fields map[string]any) ([]domain.Event, error) {
	return c.UpdateIn(domain.Context{}, fields)
}

// UpdateIn is Update with a normalisation context (the default phone region).
func (c *Contact) UpdateIn(ctx domain.Context, fields map[string]any) ([]domain.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	in, errs := parse(ctx, fields, false)
	if in.Has(fieldNotes) {
		errs.Add(in.Key(fieldNotes), "cannot be changed by an update; use the note commands")
	}
	changes := map[string]domain.Change{}
	after := c.profile.clone()
	for name, a := range attrs {
		v, ok := in.Values[name]
		if !ok {
			continue
		}
		if name == fieldAdditional {
			patch, _ := v.(map[string]any)
			v = mergeMap(c.profile.AdditionalAttributes, patch)
		}
		old, nv := a.get(&c.profile), canonical(name, v)
		if !reflect.DeepEqual(old, nv) {
			changes[name] = domain.Change{Old: old, New: nv}
			a.set(&after, nv)
		}
	}
	if !after.identified() && len(errs) == 0 {
		errs.Add("first_name", needsIdentity)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	events := none()
	if len(changes) > 0 {
		events = append(events, ContactUpdated{Changes: changes})
	}
	if in.Has(fieldLabels) {
		want := domain.ToStrings(in.Values[fieldLabels])
		if add := c.missingLabels(want); len(add) > 0 {
			events = append(events, LabelsAdded{Labels: add})
		}
		var drop []string
		for _, l := range c.labels {
			if !containsFold(want, l) {
				drop = append(drop, l)
			}
		}
		if len(drop) > 0 {
			events = append(events, LabelsRemoved{Labels: drop})
		}
	}
	if in.Has(fieldCustomAttributes) {
		patch, _ := in.Values[fieldCustomAttributes].(map[string]any)
		events = append(events, c.customEvents(patch)...)
	}
	return oneEvent(events), nil
}

// oneEvent makes the events of one update a single event: the stream's
// version is what clients see (ETag, If-Match), and one request must move it
// by one. A single event stays as it is; several become one ContactUpdated.
func oneEvent(events []domain.Event) []domain.Event {
	if len(events) <= 1 {
		return events
	}
	u := ContactUpdated{Changes: map[string]domain.Change{}}
	for _, e := range events {
		switch ev := domain.Deref(e).(type) {
		case ContactUpdated:
			u.Changes = ev.Changes
		case LabelsAdded:
			u.Labels = ev.Labels
		case LabelsRemoved:
			u.LabelsRemoved = ev.Labels
		case CustomAttributesSet:
			u.CustomAttributesSet = ev.Values
		case CustomAttributesRemoved:
			u.CustomAttributesRemoved = ev.Keys
		default:
			panic("contact: cannot fold an event of type " + reflect.TypeOf(ev).String())
		}
	}
	return []domain.Event{u}
}

// Delete deletes the contact (InvalidState when already deleted).
func (c *Contact) Delete() ([]domain.Event, error) {
	switch {
	case !c.created:
		return nil, domain.NotFound(kind, c.id)
	case c.mergedInto != "":
		return nil, domain.InvalidState("contact was merged into " + c.mergedInto)
	case c.deleted:
		return nil, domain.InvalidState("contact is already deleted")
	}
	return []domain.Event{ContactDeleted{}}, nil
}

// Restore undoes a delete (InvalidState when not deleted).
func (c *Contact) Restore() ([]domain.Event, error) {
	switch {
	case !c.created:
		return nil, domain.NotFound(kind, c.id)
	case c.mergedInto != "":
		return nil, domain.InvalidState("contact was merged into " + c.mergedInto)
	case !c.deleted:
		return nil, domain.InvalidState("contact is not deleted")
	}
	return []domain.Event{ContactRestored{}}, nil
}

// Inactivate marks an active contact inactive.
func (c *Contact) Inactivate() ([]domain.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.inactivatedAt != nil {
		return nil, domain.InvalidState("contact is already inactive")
	}
	return []domain.Event{ContactInactivated{}}, nil
}

// Activate marks an inactive contact active.
func (c *Contact) Activate() ([]domain.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.inactivatedAt == nil {
		return nil, domain.InvalidState("contact is already active")
	}
	return []domain.Event{ContactActivated{}}, nil
}

// AddLabels adds the labels the contact does not have yet.
func (c *Contact) AddLabels(labels []string) ([]domain.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	ls, err := parseLabels(labels)
	if err != nil {
		return nil, err
	}
	if add := c.missingLabels(ls); len(add) > 0 {
		return []domain.Event{LabelsAdded{Labels: add}}, nil
	}
	return none(), nil
}

// RemoveLabels removes the labels the contact has (case-insensitively).
func (c *Contact) RemoveLabels(labels []string) ([]domain.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	ls, err := parseLabels(labels)
	if err != nil {
		return nil, err
	}
	var drop []string
	for _, l := range c.labels {
		if containsFold(ls, l) {
			drop = append(drop, l)
		}
	}
	if len(drop) == 0 {
		return none(), nil
	}
	return []domain.Event{LabelsRemoved{Labels: drop}}, nil
}

func parseLabels(labels []string) ([]string, error) {
	errs := domain.Errors{}
	v, _ := labelList.Parse(errs, fieldLabels, labels)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return domain.ToStrings(v), nil
}

func (c *Contact) missingLabels(ls []string) []string {
	var add []string
	for _, l := range ls {
		if !c.hasLabel(l) && !containsFold(add, l) {
			add = append(add, l)
		}
	}
	return add
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// AddNote adds a note.
func (c *Contact) AddNote(noteID, content, authorID string) ([]domain.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	errs := domain.Errors{}
	noteID = strings.TrimSpace(noteID)
	domain.CheckLength(errs, "note_id", noteID, 1, 100)
	content = checkContent(errs, content)
	authorID = strings.TrimSpace(authorID)
	domain.CheckLength(errs, "author_id", authorID, 0, 100)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if c.noteIndex(noteID) >= 0 {
		return nil, domain.AlreadyExists("note", noteID)
	}
	return []domain.Event{NoteAdded{NoteID: noteID, Content: content, AuthorID: authorID}}, nil
}

// EditNote replaces a note's content (no event when it is unchanged).
func (c *Contact) EditNote(noteID, content string) ([]domain.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	i := c.noteIndex(noteID)
	if i < 0 {
		return nil, domain.NotFound("note", noteID)
	}
	errs := domain.Errors{}
	content = checkContent(errs, content)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if c.notes[i].Content == content {
		return none(), nil
	}
	return []domain.Event{NoteEdited{NoteID: noteID, Content: content}}, nil
}

// RemoveNote removes a note.
func (c *Contact) RemoveNote(noteID string) ([]domain.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.noteIndex(noteID) < 0 {
		return nil, domain.NotFound("note", noteID)
	}
	return []domain.Event{NoteRemoved{NoteID: noteID}}, nil
}

func checkContent(errs domain.Errors, content string) string {
	content = strings.TrimSpace(content)
	domain.CheckLength(errs, "content", content, 1, 10000)
	return content
}

// Assign replaces the assigned users and teams.
func (c *Contact) Assign(users, teams []string) ([]domain.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	errs := domain.Errors{}
	users, teams = idSet(errs, "assigned_to", users), idSet(errs, "teams", teams)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if reflect.DeepEqual(users, domain.ToStrings(c.assignedTo)) && reflect.DeepEqual(teams, domain.ToStrings(c.teams)) {
		return none(), nil
	}
	return []domain.Event{Assigned{AssignedTo: users, Teams: teams}}, nil
}

// idSet trims, validates, dedups and sorts ids; nil when empty.
func idSet(errs domain.Errors, field string, ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" {
			errs.Add(field, "must not contain empty ids")
			continue
		}
		domain.CheckLength(errs, field, id, 1, 100)
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Associate links the contact to another account, or changes the link's
// name or role.
func (c *Contact) Associate(accountID, name, role string) ([]domain.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	errs := domain.Errors{}
	accountID = strings.ToLower(strings.TrimSpace(accountID))
	if !domain.IsUUID(accountID) {
		errs.Add("account_id", "must be a UUID")
	}
	name, role = strings.TrimSpace(name), strings.TrimSpace(role)
	domain.CheckLength(errs, "name", name, 0, 255)
	domain.CheckLength(errs, "role", role, 0, 100)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	a := Association{AccountID: accountID, Name: name, Role: role}
	if i := c.associationIndex(accountID); i >= 0 && c.associations[i] == a {
		return none(), nil
	}
	return []domain.Event{AccountAssociated(a)}, nil
}

// Dissociate removes the link to another account.
func (c *Contact) Dissociate(accountID string) ([]domain.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	accountID = strings.ToLower(strings.TrimSpace(accountID))
	if c.associationIndex(accountID) < 0 {
		return nil, domain.NotFound("association", accountID)
	}
	return []domain.Event{AccountDissociated{AccountID: accountID}}, nil
}

// SetCustomAttributes merges values into the custom attributes; a null
// value removes its key.
func (c *Contact) SetCustomAttributes(values map[string]any) ([]domain.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if values == nil {
		return none(), nil
	}
	errs := domain.Errors{}
	v, _ := attrMap.Parse(errs, fieldCustomAttributes, values)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	patch, _ := v.(map[string]any)
	return oneEvent(c.customEvents(patch)), nil
}

func (c *Contact) customEvents(patch map[string]any) []domain.Event {
	events := none()
	set, removed := attributeDiff(c.custom, patch)
	if len(set) > 0 {
		events = append(events, CustomAttributesSet{Values: set})
	}
	if len(removed) > 0 {
		events = append(events, CustomAttributesRemoved{Keys: removed})
	}
	return events
}

// RemoveCustomAttributes removes the given keys that are present.
func (c *Contact) RemoveCustomAttributes(keys []string) ([]domain.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	present := map[string]bool{}
	for _, k := range keys {
		if _, ok := c.custom[k]; ok {
			present[k] = true
		}
	}
	if len(present) == 0 {
		return none(), nil
	}
	return []domain.Event{CustomAttributesRemoved{Keys: domain.SortedKeys(present)}}, nil
}
