package esstore

import (
	"encoding/json"
	"reflect"
	"sort"

	"contacts/projections"
)

// docKey is the Elasticsearch _id of a document: the account and the
// aggregate id, so documents of two accounts never share an _id (ids come
// from clients and are only unique within an account) and a read by
// (account, id) cannot reach another account's document.
func docKey(accountID, id string) string { return accountID + ":" + id }

// contactSource is a ContactDoc as stored: notes_count added for filters and
// sorting, and last_activity_at null rather than "" (not a valid date).
type contactSource struct {
	projections.ContactDoc
	NotesCount     int     `json:"notes_count"`
	LastActivityAt *string `json:"last_activity_at"` // shadows Profile.LastActivityAt
}

// encodeContact returns the _source of a contact document.
func encodeContact(d projections.ContactDoc) (json.RawMessage, error) {
	d.Groups = normGroups(d.Groups)
	src := contactSource{ContactDoc: d, NotesCount: len(d.Notes)}
	if d.LastActivityAt != "" {
		v := d.LastActivityAt
		src.LastActivityAt = &v
	}
	return json.Marshal(src)
}

// decodeContact reads a contact document back from its _source.
func decodeContact(raw json.RawMessage) (projections.ContactDoc, error) {
	var d projections.ContactDoc
	err := json.Unmarshal(raw, &d)
	d.Groups = normGroups(d.Groups)
	return d, err
}

func normGroups(gs []projections.GroupRef) []projections.GroupRef {
	if gs == nil {
		return []projections.GroupRef{}
	}
	return gs
}

// companyRef is what a contact of account accountID shows of company c:
// nothing when it is unknown, deleted or another account's.
func companyRef(accountID string, c *projections.CompanyDoc) *projections.CompanyRef {
	if c == nil || c.Deleted || c.AccountID != accountID || c.ID == "" {
		return nil
	}
	p := c.Profile
	p.Industries = append([]string{}, p.Industries...)
	p.Keywords = append([]string{}, p.Keywords...)
	p.Technologies = append([]string{}, p.Technologies...)
	return &projections.CompanyRef{ID: c.ID, Profile: p}
}

// groupHit is a group as the denormalisation lookup sees it.
type groupHit struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Name      string `json:"name"`
	Deleted   bool   `json:"deleted"`
}

// groupRefs is a contact's group list: the live groups of its account,
// sorted by name, then id.
func groupRefs(accountID string, groups []groupHit) []projections.GroupRef {
	seen := map[string]bool{}
	refs := []projections.GroupRef{}
	for _, g := range groups {
		if g.Deleted || g.AccountID != accountID || seen[g.ID] {
			continue
		}
		seen[g.ID] = true
		refs = append(refs, projections.GroupRef{ID: g.ID, Name: g.Name})
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Name != refs[j].Name {
			return refs[i].Name < refs[j].Name
		}
		return refs[i].ID < refs[j].ID
	})
	return refs
}

// sameDenormalised tells whether two versions of a contact show the same
// company and groups.
func sameDenormalised(a, b projections.ContactDoc) bool {
	return equalJSON(a.Company, b.Company) && equalJSON(normGroups(a.Groups), normGroups(b.Groups))
}

// equalJSON compares values by their JSON form (nil and empty slices of the
// stored form compare as they were written and read back).
func equalJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return reflect.DeepEqual(a, b)
	}
	var u, v any
	if json.Unmarshal(x, &u) != nil || json.Unmarshal(y, &v) != nil {
		return string(x) == string(y)
	}
	return reflect.DeepEqual(u, v)
}
