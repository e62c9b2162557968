package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"contacts/domain"
	"contacts/domain/contact"
	"contacts/domain/group"
	"contacts/eventstore"
)

// The set-wise upsert that CSV import batches and the bulk endpoint share:
// thousands of rows resolved with a handful of queries (unique-value owners,
// existing contacts and groups), decided row by row in memory, and appended
// in one transaction. Each row is applied whole or reported as failed, never
// half-applied.

// UpsertRow is one contact to create or update.
type UpsertRow struct {
	Fields map[string]any // contact fields, as create/update take them
	Groups []string       // group names; missing groups are created
	Err    error          // set by the caller for a row it could not read: reported, not applied
}

// Outcome is what became of one row.
type Outcome int

const (
	OutcomeFailed    Outcome = iota
	OutcomeCreated           // a new contact
	OutcomeUpdated           // an existing contact changed
	OutcomeUnchanged         // an existing contact already had these values
)

// RowResult is one row's outcome: the contact it touched, or why it failed.
type RowResult struct {
	Outcome   Outcome
	ContactID string
	Err       error
}

// upsertKinds are the contact's unique values, as claim kinds.
var upsertKinds = []string{"email", "phone", "identifier"}

// tracked is one stream an upsert changes: its state as loaded, and the
// events decided since (already applied to agg, so later rows see them).
type tracked struct {
	kind        kind
	accountID   string
	id          string
	agg         aggregate
	baseVersion int64
	before      map[string]string
	events      []domain.Event
}

func (t *tracked) apply(now time.Time, evs []domain.Event) {
	for _, e := range evs {
		t.agg.Apply(e, domain.Recorded{Version: t.agg.Version() + 1, At: now})
		t.events = append(t.events, e)
	}
}

// upsertPlan is a batch decided in memory.
type upsertPlan struct {
	now     time.Time
	region  string     // phone region the rows are read in
	order   []*tracked // append order: groups first, then contacts, then extras
	results []RowResult
	// Group memberships the rows add, one event per group at the end.
	joining   map[*tracked]map[string]bool
	joinOrder []*tracked
}

// addMembers turns the collected memberships into one event per group.
// changes tells whether the plan has events to append.
func (p *upsertPlan) changes() bool {
	for _, t := range p.order {
		if len(t.events) > 0 {
			return true
		}
	}
	return false
}

func (p *upsertPlan) addMembers() error {
	for _, gt := range p.joinOrder {
		ids := keys(p.joining[gt])
		evs, err := gt.agg.(*group.Group).AddMembers(ids)
		if err != nil {
			return fmt.Errorf("add to group %s: %w", gt.id, err)
		}
		gt.apply(p.now, evs)
	}
	return nil
}

// UpsertKeyValue returns the canonical value of key in fields (as the
// unique claim stores it), "" when absent or invalid. region is the phone
// region the rows are read in (see PhoneRegion).
func UpsertKeyValue(key string, fields map[string]any, region string) string {
	s, _ := fields[key].(string)
	if key == "phone" && s == "" {
		s, _ = fields["phone_number"].(string)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	switch key {
	case "email":
		e, err := domain.NormalizeEmail(s)
		if err != nil {
			return ""
		}
		return strings.ToLower(e)
	case "phone":
		p, err := domain.NormalizePhone(s, region)
		if err != nil {
			return ""
		}
		return p
	case "identifier":
		return s
	}
	return ""
}

// planUpsert decides every row. key is the claim kind rows are matched by
// ("" always creates). Labels given with a row are added to the contact's
// (merged, never removed); custom attributes are merged; a note is added
// unless the contact already has one with the same text.
// region is the resolved phone region of the rows (see PhoneRegion).
func (h *Handlers) planUpsert(ctx context.Context, accountID, actorID, key, region string, rows []UpsertRow) (*upsertPlan, error) {
	p := &upsertPlan{now: h.clock.Now().UTC().Truncate(time.Microsecond), results: make([]RowResult, len(rows)), region: region}

	// Every unique value and group name the rows mention, looked up at once.
	values, groupNames := mentionedValues(rows, region)
	claims, groupOwners, load, err := h.lookupClaims(ctx, accountID, key, values, groupNames)
	if err != nil {
		return nil, err
	}
	streams := map[string][]eventstore.Event{}
	if len(load) > 0 {
		if streams, err = h.store.ReadStreams(ctx, dedupe(load)); err != nil {
			return nil, err
		}
	}
	contacts := map[string]*tracked{} // by contact id
	groups := map[string]*tracked{}   // by lower-cased name
	track := func(k kind, id string, agg aggregate) *tracked {
		t := &tracked{kind: k, accountID: accountID, id: id, agg: agg, baseVersion: agg.Version(), before: agg.UniqueKeys()}
		p.order = append(p.order, t)
		return t
	}
	var foldErr error
	fold := func(k kind, id string, agg aggregate) bool {
		evs := streams[id]
		for _, e := range evs {
			if e.AccountID != accountID { // claims are per account; never cross
				return false
			}
		}
		if err := eventstore.Fold(agg, k.decode, evs); err != nil {
			foldErr = err
			return false
		}
		return agg.Exists()
	}
	for name, id := range groupOwners {
		g := newGroup()
		if fold(groupKind, id, g) && !g.Deleted() {
			groups[name] = track(groupKind, id, g)
		}
	}
	if foldErr != nil {
		return nil, foldErr
	}
	byKey := resolveKeys(key, values, claims, contacts, fold, track)
	if foldErr != nil {
		return nil, foldErr
	}

	for i, r := range rows {
		if r.Err != nil {
			p.results[i] = RowResult{Err: r.Err}
			continue
		}
		res, err := h.upsertRow(p, accountID, actorID, key, r, claims, byKey, contacts, groups, track)
		if err != nil {
			return nil, err
		}
		p.results[i] = res
	}
	if err := p.addMembers(); err != nil {
		return nil, err
	}
	return p, nil
}

// mentionedValues are the unique values (by kind) and the lower-cased group
// names the valid rows mention.
func mentionedValues(rows []UpsertRow, region string) (values map[string]map[string]bool, groupNames map[string]bool) {
	values = map[string]map[string]bool{}
	groupNames = map[string]bool{}
	for _, r := range rows {
		if r.Err != nil {
			continue
		}
		for _, k := range upsertKinds {
			if v := UpsertKeyValue(k, r.Fields, region); v != "" {
				if values[k] == nil {
					values[k] = map[string]bool{}
				}
				values[k][v] = true
			}
		}
		for _, g := range r.Groups {
			if n := strings.ToLower(strings.TrimSpace(g)); n != "" {
				groupNames[n] = true
			}
		}
	}
	return values, groupNames
}

// lookupClaims finds who holds the values and group names: claims is
// "kind\x00value" → owner (as the batch will leave them), groupOwners is
// name → group, load the streams to read.
func (h *Handlers) lookupClaims(ctx context.Context, accountID, key string, values map[string]map[string]bool,
	groupNames map[string]bool) (claims, groupOwners map[string]string, load []string, err error) {
	claims = map[string]string{}
	for _, k := range upsertKinds {
		owners, err := h.store.LookupClaims(ctx, accountID, k, keys(values[k]))
		if err != nil {
			return nil, nil, nil, err
		}
		for v, owner := range owners {
			claims[k+"\x00"+v] = owner
			if key != "" {
				load = append(load, owner) // the key's owners, and the fallbacks of rows without a key value
			}
		}
	}
	if groupOwners, err = h.store.LookupClaims(ctx, accountID, "group_name", keys(groupNames)); err != nil {
		return nil, nil, nil, err
	}
	for _, owner := range groupOwners {
		load = append(load, owner)
	}
	return claims, groupOwners, load, nil
}

// resolveKeys tracks the live contacts holding the values (folded by fold)
// and returns byKey: the contact a key value resolves to (loaded here, or
// made later in this batch).
func resolveKeys(key string, values map[string]map[string]bool, claims map[string]string, contacts map[string]*tracked,
	fold func(kind, string, aggregate) bool, track func(kind, string, aggregate) *tracked) map[string]string {
	byKey := map[string]string{}
	if key == "" {
		return byKey
	}
	for _, k := range upsertKinds {
		for _, v := range keys(values[k]) {
			id, ok := claims[k+"\x00"+v]
			if !ok {
				continue
			}
			if _, seen := contacts[id]; !seen {
				c := newContact()
				if !fold(contactKind, id, c) || c.Deleted() || c.MergedInto() != "" {
					continue
				}
				contacts[id] = track(contactKind, id, c)
			}
			if k == key {
				byKey[v] = id
			}
		}
	}
	return byKey
}

// upsertRow decides one row against the batch's state and applies it to
// the tracked aggregates only when every part of it is valid.
func (h *Handlers) upsertRow(p *upsertPlan, accountID, actorID, key string, r UpsertRow,
	claims, byKey map[string]string, contacts, groups map[string]*tracked,
	track func(kind, string, aggregate) *tracked) (RowResult, error) {
	fields := make(map[string]any, len(r.Fields))
	for k, v := range r.Fields {
		fields[k] = v
	}
	target := matchRow(p.region, key, fields, claims, byKey, contacts)
	id, evs, unique, err := h.decideContact(p, accountID, actorID, target, fields)
	if err != nil {
		return RowResult{Err: err}, nil
	}
	if err := checkUnique(unique, claims, id); err != nil {
		return RowResult{Err: err}, nil
	}
	steps, err := h.planGroups(accountID, actorID, r.Groups, groups)
	if err != nil {
		return RowResult{Err: err}, nil
	}

	// Everything is valid: apply.
	t := target
	if t == nil {
		t = track(contactKind, id, newContact())
		contacts[id] = t
	}
	applyContact(p, t, id, key, evs, claims, byKey)
	grouped := joinGroups(p, id, steps, claims, groups, track)
	switch {
	case target == nil:
		return RowResult{Outcome: OutcomeCreated, ContactID: id}, nil
	case len(evs) > 0 || grouped:
		return RowResult{Outcome: OutcomeUpdated, ContactID: id}, nil
	}
	return RowResult{Outcome: OutcomeUnchanged, ContactID: id}, nil
}

// matchRow is the contact the row updates: the one whose key value the row
// has, or (for a row without a key value) one that holds another of its
// unique values; nil for a new contact.
func matchRow(region, key string, fields map[string]any, claims, byKey map[string]string, contacts map[string]*tracked) *tracked {
	if key == "" {
		return nil
	}
	var target *tracked
	keyValue := UpsertKeyValue(key, fields, region)
	if id, ok := byKey[keyValue]; ok && keyValue != "" {
		target = contacts[id]
	}
	// A row without a key value is matched by another unique value
	// (phone, e-mail, identifier) that belongs to a contact: creating
	// one would fail on it anyway, and re-importing the row must not
	// duplicate it.
	for _, k := range upsertKinds {
		if keyValue != "" || target != nil {
			break
		}
		if k == key {
			continue
		}
		if v := UpsertKeyValue(k, fields, region); v != "" {
			if id, ok := claims[k+"\x00"+v]; ok {
				target = contacts[id]
			}
		}
	}
	return target
}

// decideContact is what the row does to its contact: creates it (target
// nil) or updates target, with the contact's unique values after the row.
// An error is the row's: it is rejected, nothing applied.
func (h *Handlers) decideContact(p *upsertPlan, accountID, actorID string, target *tracked, fields map[string]any) (id string, evs []domain.Event, unique map[string]string, err error) {
	if target == nil {
		id = h.ids.NewID()
		created, err := contact.Create(contact.CreateInput{ID: id, AccountID: accountID, CreatedBy: actorID, NoteID: h.ids.NewID(), Fields: fields, PhoneRegion: p.region})
		if err != nil {
			return "", nil, nil, err
		}
		c := created[0].(contact.ContactCreated)
		return id, created, uniqueOf(c.Profile.Email, c.Profile.Phone, c.Profile.Identifier), nil
	}
	id = target.id
	c := target.agg.(*contact.Contact)
	labels, hasLabels := fields["labels"]
	if !hasLabels {
		labels, hasLabels = fields["tags"]
	}
	delete(fields, "labels")
	delete(fields, "tags")
	note, _ := fields["notes"].(string)
	delete(fields, "notes")
	upd, err := c.UpdateIn(domain.Context{PhoneRegion: p.region}, fields)
	if err != nil {
		return "", nil, nil, err
	}
	evs = upd
	if hasLabels && labels != nil {
		ls, ok := toStringList(labels)
		if !ok {
			return "", nil, nil, domain.InvalidField("labels", "must be a list of strings")
		}
		add, err := c.AddLabels(ls)
		if err != nil {
			return "", nil, nil, err
		}
		evs = append(evs, add...)
	}
	if strings.TrimSpace(note) != "" && !hasNote(c, note) {
		add, err := c.AddNote(h.ids.NewID(), note, actorID)
		if err != nil {
			return "", nil, nil, err
		}
		evs = append(evs, add...)
	}
	return id, evs, uniqueAfter(c.UniqueKeys(), upd), nil
}

// uniqueAfter is unique (a contact's unique values) changed by upd.
func uniqueAfter(unique map[string]string, upd []domain.Event) map[string]string {
	for _, e := range upd {
		if u, ok := e.(contact.ContactUpdated); ok {
			for _, k := range upsertKinds {
				if ch, changed := u.Changes[k]; changed {
					v := domain.ToString(ch.New)
					if k == "email" {
						v = strings.ToLower(v)
					}
					if v == "" {
						delete(unique, k)
					} else {
						unique[k] = v
					}
				}
			}
		}
	}
	return unique
}

// checkUnique: the unique values must be free, or already contact id's.
func checkUnique(unique, claims map[string]string, id string) error {
	for _, k := range upsertKinds {
		v, ok := unique[k]
		if !ok {
			continue
		}
		if owner, taken := claims[k+"\x00"+v]; taken && owner != id {
			return &UniqueValueTakenError{Field: k, Value: v, OwnerID: owner}
		}
	}
	return nil
}

// groupStep is one group a row's contact joins.
type groupStep struct {
	name   string
	t      *tracked // nil: create
	create []domain.Event
	newID  string
}

// planGroups: existing groups gain the contact; missing ones are created.
func (h *Handlers) planGroups(accountID, actorID string, names []string, groups map[string]*tracked) ([]groupStep, error) {
	var steps []groupStep
	seen := map[string]bool{}
	for _, g := range names {
		name := strings.TrimSpace(g)
		lname := strings.ToLower(name)
		if name == "" || seen[lname] {
			continue
		}
		seen[lname] = true
		if t, ok := groups[lname]; ok {
			steps = append(steps, groupStep{name: lname, t: t})
			continue
		}
		gid := h.ids.NewID()
		ge, err := group.Create(group.CreateInput{ID: gid, AccountID: accountID, CreatedBy: actorID, Fields: map[string]any{"name": name}})
		if err != nil {
			var de *domain.Error
			if errors.As(err, &de) && de.Fields["name"] != "" {
				return nil, domain.InvalidField("groups", fmt.Sprintf("%q %s", name, de.Fields["name"]))
			}
			return nil, err
		}
		steps = append(steps, groupStep{name: lname, create: ge, newID: gid})
	}
	return steps, nil
}

// applyContact applies evs to t (contact id) and moves the unique values
// it claims (and the key value it is found by) to what they are after.
func applyContact(p *upsertPlan, t *tracked, id, key string, evs []domain.Event, claims, byKey map[string]string) {
	beforeKeys := t.agg.UniqueKeys()
	t.apply(p.now, evs)
	for k, v := range beforeKeys {
		if claims[k+"\x00"+v] == id {
			delete(claims, k+"\x00"+v)
		}
	}
	for k, v := range t.agg.UniqueKeys() {
		claims[k+"\x00"+v] = id
	}
	if key != "" {
		if v := t.agg.UniqueKeys()[key]; v != "" {
			byKey[v] = id
		}
	}
}

// joinGroups creates the missing groups of steps and records contact id as
// joining each group it is not a member of yet; it reports whether any.
func joinGroups(p *upsertPlan, id string, steps []groupStep, claims map[string]string, groups map[string]*tracked,
	track func(kind, string, aggregate) *tracked) (grouped bool) {
	for _, s := range steps {
		gt := s.t
		if gt == nil {
			gt = track(groupKind, s.newID, newGroup())
			gt.apply(p.now, s.create)
			groups[s.name] = gt
			claims["group_name\x00"+s.name] = s.newID
		}
		if !gt.agg.(*group.Group).HasMember(id) && !p.joining[gt][id] {
			grouped = true
			if p.joining == nil {
				p.joining = map[*tracked]map[string]bool{}
			}
			if p.joining[gt] == nil {
				p.joining[gt] = map[string]bool{}
				p.joinOrder = append(p.joinOrder, gt)
			}
			p.joining[gt][id] = true
		}
	}
	return grouped
}

func uniqueOf(email, phone, identifier string) map[string]string {
	m := map[string]string{}
	if email != "" {
		m["email"] = strings.ToLower(email)
	}
	if phone != "" {
		m["phone"] = phone
	}
	if identifier != "" {
		m["identifier"] = identifier
	}
	return m
}

func hasNote(c *contact.Contact, content string) bool {
	content = strings.TrimSpace(content)
	for _, n := range c.State().Notes {
		if strings.TrimSpace(n.Content) == content {
			return true
		}
	}
	return false
}

func toStringList(v any) ([]string, bool) {
	switch x := v.(type) {
	case []string:
		return x, true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// commitPlan appends every tracked stream's events (with extra, the job's
// checkpoint, in the same transaction), taking and giving up the unique
// values they changed. A plan that changes nothing appends nothing.
func (h *Handlers) commitPlan(ctx context.Context, p *upsertPlan, extra ...*tracked) error {
	if err := h.rebaseGroups(ctx, p); err != nil {
		return err
	}
	req := eventstore.AppendRequest{RecordedAt: p.now}
	// Groups were tracked as rows met them; append them before contacts
	// only for readability of the stream order: the transaction is one.
	all := append(append([]*tracked{}, p.order...), extra...)
	sort.SliceStable(all, func(i, j int) bool {
		return all[i].kind.streamType == groupKind.streamType && all[j].kind.streamType != groupKind.streamType
	})
	for _, t := range all {
		if len(t.events) == 0 {
			continue
		}
		sa := eventstore.StreamAppend{AccountID: t.accountID, StreamType: t.kind.streamType, StreamID: t.id, ExpectedVersion: t.baseVersion}
		for _, e := range t.events {
			data, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode %s: %w", e.EventType(), err)
			}
			sa.Events = append(sa.Events, eventstore.NewEvent{ID: h.ids.NewID(), Type: e.EventType(), Data: data})
		}
		after := t.agg.UniqueKeys()
		for k, v := range t.before {
			if after[k] != v {
				req.Releases = append(req.Releases, eventstore.Claim{AccountID: t.accountID, Kind: k, Value: v, StreamID: t.id})
			}
		}
		for k, v := range after {
			if t.before[k] != v {
				req.Claims = append(req.Claims, eventstore.Claim{AccountID: t.accountID, Kind: k, Value: v, StreamID: t.id})
			}
		}
		req.Streams = append(req.Streams, sa)
	}
	if len(req.Streams) == 0 {
		return nil
	}
	_, err := h.store.Append(ctx, req)
	var taken *eventstore.ClaimTakenError
	if errors.As(err, &taken) {
		return &UniqueValueTakenError{Field: claimField(taken.Kind), Value: taken.Value, OwnerID: taken.Owner}
	}
	return err
}

// rebaseGroups brings the plan's memberships of existing groups up to
// groups that changed since the plan read them. Consecutive chunks of a
// bulk upsert or an import add members to the same group, and the next
// chunk is planned while the previous one commits: without this, every
// chunk found its group one version further than planned and was decided
// again from scratch (its lookups, reads and decisions twice). Adding
// members does not depend on the group's other members, so the plan's
// additions are made again on the group as it now is, provided it still
// exists under the name the rows gave; otherwise the append's version check
// refuses the plan and it is decided again.
func (h *Handlers) rebaseGroups(ctx context.Context, p *upsertPlan) error {
	for _, gt := range p.joinOrder {
		if gt.baseVersion == 0 {
			continue // created by this plan: the name claim decides
		}
		newer, err := h.store.ReadStream(ctx, gt.accountID, gt.id, gt.baseVersion)
		if err != nil {
			return err
		}
		if len(newer) == 0 {
			continue
		}
		all, err := h.store.ReadStream(ctx, gt.accountID, gt.id, 0)
		if err != nil {
			return err
		}
		planned := gt.agg.(*group.Group)
		g := newGroup()
		if err := eventstore.Fold(g, groupKind.decode, all); err != nil {
			return err
		}
		if !g.Exists() || g.Deleted() || g.Name() != planned.Name() {
			continue // the append refuses the stale version: decided again
		}
		evs, err := g.AddMembers(keys(p.joining[gt]))
		if err != nil {
			continue
		}
		gt.agg, gt.baseVersion, gt.before, gt.events = g, g.Version(), g.UniqueKeys(), nil
		gt.apply(p.now, evs)
	}
	return nil
}

// retryPlan runs plan-and-commit again when a concurrent writer changed a
// stream or took a unique value between the lookups and the append: the
// next plan sees their result.
func retryPlan(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = fn()
		var taken *UniqueValueTakenError
		if !errors.Is(err, eventstore.ErrConcurrency) && !errors.As(err, &taken) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
	return err
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
