package esstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/versiontype"

	"contacts/projections"
)

const (
	// mgetChunk bounds the ids of one multi-get.
	mgetChunk = 1000
	// reconcileChunk bounds the contacts reconciled together (and so the
	// named clauses of one groups lookup).
	reconcileChunk = 500
	// maxReconcileRounds bounds re-reads of contacts that keep changing
	// under a reconcile.
	maxReconcileRounds = 5
)

// accepts refuses documents of another read model in a rebuild's store.
func (s *Store) accepts(name string) error {
	if s.rebuilding != "" && s.rebuilding != name {
		return fmt.Errorf("esstore: the store of a rebuild of %s takes no %s", s.rebuilding, name)
	}
	return nil
}

// latest keeps, for each key, the document of the highest version (the
// first one among equals), in first-seen order: a batch never conflicts
// with itself.
func latest[D any](docs []D, key func(D) string, version func(D) int64) []D {
	at := map[string]int{}
	var out []D
	for _, d := range docs {
		k := key(d)
		if i, ok := at[k]; ok {
			if version(d) > version(out[i]) {
				out[i] = d
			}
			continue
		}
		at[k] = len(out)
		out = append(out, d)
	}
	return out
}

// writeOps is the bulk operations writing docs into index with
// version_type external.
func writeOps[D any](index string, docs []D, key func(D) string, version func(D) int64, encode func(D) (json.RawMessage, error)) ([]bulkOp, error) {
	ops := make([]bulkOp, len(docs))
	for i, d := range docs {
		src, err := encode(d)
		if err != nil {
			return nil, fmt.Errorf("esstore: encoding %s: %w", key(d), err)
		}
		ops[i] = bulkOp{Index: index, ID: key(d), Version: version(d), VersionType: versiontype.External, Source: src}
	}
	return ops, nil
}

func marshal[D any](d D) (json.RawMessage, error) { return json.Marshal(d) }

func contactKey(d projections.ContactDoc) string    { return docKey(d.AccountID, d.ID) }
func contactVersion(d projections.ContactDoc) int64 { return d.Version }
func companyKey(d projections.CompanyDoc) string    { return docKey(d.AccountID, d.ID) }
func companyVersion(d projections.CompanyDoc) int64 { return d.Version }
func groupKey(d projections.GroupDoc) string        { return docKey(d.AccountID, d.ID) }
func groupVersion(d projections.GroupDoc) int64     { return d.Version }
func labelKey(d projections.LabelDoc) string        { return docKey(d.AccountID, d.ID) }
func labelVersion(d projections.LabelDoc) int64     { return d.Version }
func keysOf[D any](docs []D, key func(D) string) []string {
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = key(d)
	}
	return out
}

// UpsertContacts writes contacts with their company and groups filled in
// from the stored companies and groups, then reconciles them (a company or
// group written meanwhile by another projection is not missed).
func (s *Store) UpsertContacts(ctx context.Context, docs []projections.ContactDoc) error {
	if err := s.accepts(projections.Contacts); err != nil || len(docs) == 0 {
		return err
	}
	docs = latest(docs, contactKey, contactVersion) // a copy: the caller's docs stay as given
	if err := s.denormalise(ctx, docs); err != nil {
		return err
	}
	index := s.target(projections.Contacts)
	ops, err := writeOps(index, docs, contactKey, contactVersion, encodeContact)
	if err != nil {
		return err
	}
	if _, err := s.bulk(ctx, ops); err != nil {
		return err
	}
	return s.reconcile(ctx, index, keysOf(docs, contactKey))
}

// UpsertCompanies writes companies, then reconciles the contacts that point
// at them (in the live contacts index, and in a contacts rebuild under way).
// Contacts of every company of the batch are reconciled, written or not: a
// redelivered batch repairs a refresh an earlier attempt could not finish.
func (s *Store) UpsertCompanies(ctx context.Context, docs []projections.CompanyDoc) error {
	if err := s.accepts(projections.Companies); err != nil || len(docs) == 0 {
		return err
	}
	docs = latest(docs, companyKey, companyVersion)
	ops, err := writeOps(s.target(projections.Companies), docs, companyKey, companyVersion, marshal[projections.CompanyDoc])
	if err != nil {
		return err
	}
	if _, err := s.bulk(ctx, ops); err != nil {
		return err
	}
	if s.rebuilding != "" {
		return nil // a rebuilt companies index: contacts follow the live one
	}
	accounts, ids := map[string]bool{}, map[string]bool{}
	for _, d := range docs {
		accounts[d.AccountID], ids[d.ID] = true, true
	}
	indices, err := s.contactIndices(ctx)
	if err != nil {
		return err
	}
	for _, index := range indices {
		if err := s.searchable(ctx, index); err != nil {
			return err
		}
		var keys []string
		err := s.searchAll(ctx, index, func(after []types.FieldValue) *search.Request {
			return companyContactsQuery(setKeys(accounts), setKeys(ids), after)
		}, func(hit types.Hit) {
			if hit.Id_ != nil {
				keys = append(keys, *hit.Id_)
			}
		})
		if err != nil {
			return fmt.Errorf("esstore: contacts of companies: %w", err)
		}
		if err := s.reconcile(ctx, index, keys); err != nil {
			return err
		}
	}
	return nil
}

// UpsertGroups writes groups, then reconciles the contacts that joined or
// left them, or all their members when a group was renamed or deleted (or
// written again at the same version: a redelivery).
func (s *Store) UpsertGroups(ctx context.Context, docs []projections.GroupDoc) error {
	if err := s.accepts(projections.Groups); err != nil || len(docs) == 0 {
		return err
	}
	docs = latest(docs, groupKey, groupVersion)
	index := s.target(projections.Groups)
	var before map[string]projections.GroupDoc
	if s.rebuilding == "" {
		raw, err := s.mget(ctx, index, keysOf(docs, groupKey))
		if err != nil {
			return err
		}
		before = map[string]projections.GroupDoc{}
		for k, src := range raw {
			var g projections.GroupDoc
			if err := json.Unmarshal(src, &g); err != nil {
				return fmt.Errorf("esstore: group %s: %w", k, err)
			}
			before[k] = g
		}
	}
	ops, err := writeOps(index, docs, groupKey, groupVersion, marshal[projections.GroupDoc])
	if err != nil {
		return err
	}
	if _, err := s.bulk(ctx, ops); err != nil {
		return err
	}
	if s.rebuilding != "" {
		return nil // a rebuilt groups index: contacts follow the live one
	}
	var keys []string
	seen := map[string]bool{}
	for _, d := range docs {
		old, had := before[groupKey(d)]
		var oldPtr *projections.GroupDoc
		if had {
			oldPtr = &old
		}
		for _, c := range affectedMembers(oldPtr, d) {
			if k := docKey(d.AccountID, c); !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	indices, err := s.contactIndices(ctx)
	if err != nil {
		return err
	}
	for _, index := range indices {
		if err := s.reconcile(ctx, index, keys); err != nil {
			return err
		}
	}
	return nil
}

// affectedMembers are the contacts whose group list a group write may
// change, given the stored group before the write (nil: none).
func affectedMembers(old *projections.GroupDoc, d projections.GroupDoc) []string {
	set := map[string]bool{}
	add := func(ids []string) {
		for _, id := range ids {
			set[id] = true
		}
	}
	switch {
	case old == nil || old.AccountID != d.AccountID:
		add(d.ContactIDs)
	case old.Version > d.Version:
		// Older than what is stored: refused, and the newer write
		// reconciled its members.
	case old.Version == d.Version || old.Name != d.Name || old.Deleted != d.Deleted:
		add(old.ContactIDs)
		add(d.ContactIDs)
	default: // membership changes only
		was := map[string]bool{}
		for _, id := range old.ContactIDs {
			was[id] = true
		}
		is := map[string]bool{}
		for _, id := range d.ContactIDs {
			is[id] = true
			if !was[id] {
				set[id] = true
			}
		}
		for _, id := range old.ContactIDs {
			if !is[id] {
				set[id] = true
			}
		}
	}
	return setKeys(set)
}

// UpsertLabels writes labels.
func (s *Store) UpsertLabels(ctx context.Context, docs []projections.LabelDoc) error {
	if err := s.accepts(projections.Labels); err != nil || len(docs) == 0 {
		return err
	}
	docs = latest(docs, labelKey, labelVersion)
	ops, err := writeOps(s.target(projections.Labels), docs, labelKey, labelVersion, marshal[projections.LabelDoc])
	if err != nil {
		return err
	}
	_, err = s.bulk(ctx, ops)
	return err
}

// contactIndices are the contacts indices whose denormalised parts a
// company or group write must refresh: the live one, and a rebuild's.
func (s *Store) contactIndices(ctx context.Context) ([]string, error) {
	out := []string{s.target(projections.Contacts)}
	rebuilding, err := s.indicesOf(ctx, s.rebuildAlias(projections.Contacts))
	if err != nil {
		return nil, err
	}
	return append(out, rebuilding...), nil
}

// denormalise fills the Company and Groups of docs from the stored
// companies (realtime multi-get) and groups (search).
func (s *Store) denormalise(ctx context.Context, docs []projections.ContactDoc) error {
	var companyKeys []string
	for _, d := range docs {
		if d.CompanyID != "" {
			companyKeys = append(companyKeys, docKey(d.AccountID, d.CompanyID))
		}
	}
	companies := map[string]*projections.CompanyDoc{}
	if len(companyKeys) > 0 {
		raw, err := s.mget(ctx, s.target(projections.Companies), companyKeys)
		if err != nil {
			return err
		}
		for k, src := range raw {
			var c projections.CompanyDoc
			if err := json.Unmarshal(src, &c); err != nil {
				return fmt.Errorf("esstore: company %s: %w", k, err)
			}
			companies[k] = &c
		}
	}
	groups, err := s.groupsOf(ctx, docs)
	if err != nil {
		return err
	}
	for i := range docs {
		d := &docs[i]
		d.Company = nil
		if d.CompanyID != "" {
			d.Company = companyRef(d.AccountID, companies[docKey(d.AccountID, d.CompanyID)])
		}
		d.Groups = groupRefs(d.AccountID, groups[d.ID])
	}
	return nil
}

// groupsOf returns, by contact id, the live groups listing each contact.
func (s *Store) groupsOf(ctx context.Context, docs []projections.ContactDoc) (map[string][]groupHit, error) {
	out := map[string][]groupHit{}
	if len(docs) == 0 {
		return out, nil
	}
	index := s.target(projections.Groups)
	if err := s.searchable(ctx, index); err != nil {
		return nil, err
	}
	for start := 0; start < len(docs); start += reconcileChunk {
		chunk := docs[start:min(start+reconcileChunk, len(docs))]
		accounts, ids := map[string]bool{}, map[string]bool{}
		for _, d := range chunk {
			accounts[d.AccountID], ids[d.ID] = true, true
		}
		accountList, idList := setKeys(accounts), setKeys(ids)
		var decodeErr error
		err := s.searchAll(ctx, index, func(after []types.FieldValue) *search.Request {
			return groupsOfContactsQuery(accountList, idList, after)
		}, func(hit types.Hit) {
			var g groupHit
			if err := json.Unmarshal(hit.Source_, &g); err != nil {
				decodeErr = err
				return
			}
			for _, c := range matchedQueries(hit) {
				if ids[c] {
					out[c] = append(out[c], g)
				}
			}
		})
		if err == nil {
			err = decodeErr
		}
		if err != nil {
			return nil, fmt.Errorf("esstore: groups of contacts: %w", err)
		}
	}
	return out, nil
}

// reconcile makes the stored contacts keys of index show their current
// company and groups: it re-reads them, recomputes, and re-writes those
// that differ at their own version (external_gte), until a re-read finds
// nothing to change. A contact that moved to a newer version meanwhile is
// re-read too (its writer reconciles it as well).
func (s *Store) reconcile(ctx context.Context, index string, keys []string) error {
	for start := 0; start < len(keys); start += reconcileChunk {
		pending := keys[start:min(start+reconcileChunk, len(keys))]
		for round := 0; len(pending) > 0; round++ {
			if round == maxReconcileRounds {
				s.log.Warn("esstore: contacts still changing after reconcile rounds; leaving them to their next write",
					"index", index, "contacts", len(pending))
				break
			}
			raw, err := s.mget(ctx, index, pending)
			if err != nil {
				return err
			}
			stored := make([]projections.ContactDoc, 0, len(raw))
			for _, k := range pending {
				if src, ok := raw[k]; ok {
					d, err := decodeContactExact(src)
					if err != nil {
						return fmt.Errorf("esstore: contact %s: %w", k, err)
					}
					stored = append(stored, d)
				}
			}
			want := make([]projections.ContactDoc, len(stored))
			copy(want, stored)
			if err := s.denormalise(ctx, want); err != nil {
				return err
			}
			ops, err := refreshOps(index, stored, want)
			if err != nil {
				return err
			}
			if len(ops) == 0 {
				break
			}
			if _, err := s.bulk(ctx, ops); err != nil {
				return err
			}
			pending = pending[:0:0]
			for _, op := range ops {
				pending = append(pending, op.ID)
			}
		}
	}
	return nil
}

// refreshOps re-writes, at their stored version with external_gte, the
// contacts whose recomputed company or groups differ from the stored ones.
func refreshOps(index string, stored, want []projections.ContactDoc) ([]bulkOp, error) {
	var ops []bulkOp
	for i := range stored {
		if sameDenormalised(stored[i], want[i]) {
			continue
		}
		src, err := encodeContact(want[i])
		if err != nil {
			return nil, err
		}
		ops = append(ops, bulkOp{Index: index, ID: contactKey(want[i]), Version: want[i].Version,
			VersionType: versiontype.Externalgte, Source: src})
	}
	return ops, nil
}

// decodeContactExact decodes a stored contact for re-writing it: numbers in
// free-form attributes stay json.Number, so they are written back exactly.
func decodeContactExact(raw json.RawMessage) (projections.ContactDoc, error) {
	var d projections.ContactDoc
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	err := dec.Decode(&d)
	d.Groups = normGroups(d.Groups)
	return d, err
}

// searchable makes index's completed writes visible to search: a refresh,
// unless every write already waited for one.
func (s *Store) searchable(ctx context.Context, index string) error {
	if s.cfg.Refresh == RefreshWaitFor {
		return nil
	}
	return s.retry(ctx, "refresh", func() error {
		_, err := s.es.Indices.Refresh().Index(index).Do(ctx)
		return err
	})
}

// searchAll walks every page of a search_after query.
func (s *Store) searchAll(ctx context.Context, index string, page func(after []types.FieldValue) *search.Request, each func(types.Hit)) error {
	var after []types.FieldValue
	for {
		req := page(after)
		var hits []types.Hit
		err := s.retry(ctx, "search", func() error {
			res, err := s.es.Search().Index(index).Request(req).Do(ctx)
			if err != nil {
				return err
			}
			hits = res.Hits.Hits
			return nil
		})
		if err != nil {
			return err
		}
		for _, h := range hits {
			each(h)
		}
		if req.Size == nil || len(hits) < *req.Size {
			return nil
		}
		after = hits[len(hits)-1].Sort
		if len(after) == 0 {
			return errors.New("esstore: search_after page without sort values")
		}
	}
}

// mget reads documents by _id (realtime) and returns the sources of those
// found, by _id.
func (s *Store) mget(ctx context.Context, index string, keys []string) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(keys))
	for start := 0; start < len(keys); start += mgetChunk {
		chunk := keys[start:min(start+mgetChunk, len(keys))]
		var docs []types.MgetResponseItem
		err := s.retry(ctx, "mget", func() error {
			res, err := s.es.Mget().Index(index).Ids(chunk...).Realtime(true).Do(ctx)
			if err != nil {
				return err
			}
			docs = res.Docs
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("esstore: reading from %s: %w", index, err)
		}
		for _, item := range docs {
			switch d := item.(type) {
			case *types.GetResult:
				if d.Found {
					out[d.Id_] = d.Source_
				}
			case *types.MultiGetError:
				reason := ""
				if d.Error.Reason != nil {
					reason = *d.Error.Reason
				}
				return nil, fmt.Errorf("esstore: reading %s from %s: %s: %s", d.Id_, index, d.Error.Type, reason)
			default:
				return nil, fmt.Errorf("esstore: reading from %s: unexpected multi-get item %T", index, item)
			}
		}
	}
	return out, nil
}

// Contact reads a contact of the account.
func (s *Store) Contact(ctx context.Context, accountID, id string) (projections.ContactDoc, bool, error) {
	raw, ok, err := s.getOne(ctx, projections.Contacts, accountID, id)
	if err != nil || !ok {
		return projections.ContactDoc{}, false, err
	}
	d, err := decodeContact(raw)
	if err != nil || d.AccountID != accountID || d.ID != id {
		return projections.ContactDoc{}, false, err
	}
	return d, true, nil
}

// Company reads a company of the account.
func (s *Store) Company(ctx context.Context, accountID, id string) (projections.CompanyDoc, bool, error) {
	var d projections.CompanyDoc
	ok, err := s.getDoc(ctx, projections.Companies, accountID, id, &d, func() (string, string) { return d.AccountID, d.ID })
	return d, ok, err
}

// Group reads a group of the account.
func (s *Store) Group(ctx context.Context, accountID, id string) (projections.GroupDoc, bool, error) {
	var d projections.GroupDoc
	ok, err := s.getDoc(ctx, projections.Groups, accountID, id, &d, func() (string, string) { return d.AccountID, d.ID })
	return d, ok, err
}

// Label reads a label of the account, with its usage count (live contacts
// carrying it; the labels field's normalizer makes the match case-insensitive).
func (s *Store) Label(ctx context.Context, accountID, id string) (projections.LabelDoc, bool, error) {
	var d projections.LabelDoc
	ok, err := s.getDoc(ctx, projections.Labels, accountID, id, &d, func() (string, string) { return d.AccountID, d.ID })
	if err != nil || !ok {
		return d, ok, err
	}
	res, err := s.es.Count().Index(s.target(projections.Contacts)).Query(labelUsageQuery(accountID, d.Title)).Do(ctx)
	if err != nil {
		return d, false, fmt.Errorf("esstore: usage of label %s: %w", id, err)
	}
	d.UsageCount = res.Count
	return d, true, nil
}

func (s *Store) getDoc(ctx context.Context, name, accountID, id string, into any, owner func() (string, string)) (bool, error) {
	raw, ok, err := s.getOne(ctx, name, accountID, id)
	if err != nil || !ok {
		return false, err
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return false, fmt.Errorf("esstore: %s %s: %w", name, id, err)
	}
	if a, i := owner(); a != accountID || i != id {
		return false, nil
	}
	return true, nil
}

// getOne reads one document of read model name by (account, id), realtime.
// A multi-get of one id rather than GET /_doc/{id}: ids come from clients
// and need no escaping in a request body.
func (s *Store) getOne(ctx context.Context, name, accountID, id string) (json.RawMessage, bool, error) {
	if accountID == "" || id == "" {
		return nil, false, nil
	}
	key := docKey(accountID, id)
	raw, err := s.mget(ctx, s.target(name), []string{key})
	if err != nil {
		return nil, false, err
	}
	src, ok := raw[key]
	return src, ok, nil
}

// setKeys returns a set's members, sorted.
func setKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
