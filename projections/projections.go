// Package projections turns events into read-model documents. A projection
// folds each changed aggregate's stream with the domain's own Apply (one
// source of truth for state transitions), and hands the resulting documents
// to a Store that writes them only when they are newer than what it holds:
// applying an event twice, or an older one after a newer, changes nothing.
//
// Two stores implement one contract: PostgreSQL (the embedded default) and
// Elasticsearch. The same handlers are fed by the embedded tailer (straight
// from the event store) or by Kafka consumer groups named after them.
package projections

import (
	"context"

	"contacts/domain/company"
	"contacts/domain/contact"
	"contacts/domain/group"
	"contacts/domain/label"
	"contacts/eventstore"
)

// Projection names. They double as Kafka consumer-group names and as the
// keys of stored checkpoints: never rename them.
const (
	Contacts  = "contacts"
	Companies = "companies"
	Groups    = "groups"
	Labels    = "labels"
)

// Names lists every projection, in the order a full rebuild runs them
// (companies and groups before contacts, which denormalise them).
var Names = []string{Companies, Groups, Labels, Contacts}

// Handler is one projection: it consumes events, in order per stream, at
// least once, and must be idempotent and order-safe.
type Handler interface {
	Name() string
	Handle(ctx context.Context, events []eventstore.Event) error
}

// Preparer is a Handler that can split its work: Prepare does what it can
// without writing (reading, folding) and returns the write. A rebuild
// prepares the next batch while the previous one is being written.
type Preparer interface {
	Handler
	Prepare(ctx context.Context, events []eventstore.Event) (write func(context.Context) error, err error)
}

// CompanyRef is the company as denormalised into each of its contacts.
type CompanyRef struct {
	ID string `json:"id"`
	company.Profile
}

// GroupRef is a group a contact belongs to.
type GroupRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ContactDoc is a contacts read-model document: the contact's state, plus
// its company's fields and its groups, which the Store fills in from its
// companies and groups (so either may be written first).
type ContactDoc struct {
	contact.State
	Company  *CompanyRef `json:"company"`
	Groups   []GroupRef  `json:"groups"`
	Position int64       `json:"position"` // global position of the last event folded in
}

// CompanyDoc is a companies read-model document.
type CompanyDoc struct {
	company.State
	Position int64 `json:"position"`
}

// GroupDoc is a groups read-model document (member ids and count included).
type GroupDoc struct {
	group.State
	Position int64 `json:"position"`
}

// LabelDoc is a labels read-model document.
type LabelDoc struct {
	label.State
	Position int64 `json:"position"`
	// UsageCount is how many live (not deleted, not merged) contacts of the
	// account carry the label. Readers compute it from the contacts read
	// model when they read the label: it is not stored.
	UsageCount int64 `json:"usage_count"`
}

// Store is a read-model store. Every Upsert writes a document only when its
// version is newer than the stored one (PostgreSQL: conditional upsert;
// Elasticsearch: version_type=external), and keeps the denormalised parts
// consistent whichever side is written first:
//   - UpsertContacts fills each contact's Company from the stored companies
//     and Groups from the stored groups' member lists;
//   - UpsertCompanies refreshes the company fields of that company's contacts;
//   - UpsertGroups refreshes the group list of every contact that joined or
//     left, or whose group was renamed or deleted.
type Store interface {
	UpsertContacts(ctx context.Context, docs []ContactDoc) error
	UpsertCompanies(ctx context.Context, docs []CompanyDoc) error
	UpsertGroups(ctx context.Context, docs []GroupDoc) error
	UpsertLabels(ctx context.Context, docs []LabelDoc) error
}

// Rebuilder builds a read model afresh beside the live one and swaps it in
// atomically (PostgreSQL: table rename; Elasticsearch: alias swap).
type Rebuilder interface {
	// StartRebuild drops any unfinished rebuild of name and returns a Store
	// that writes into new, empty storage for it (other read models are
	// read from their live storage).
	StartRebuild(ctx context.Context, name string) (Store, error)
	// FinishRebuild makes the rebuilt storage live and drops the old one.
	FinishRebuild(ctx context.Context, name string) error
}

// Reader reads documents back by id, within one account (another account's
// id reads as not found).
type Reader interface {
	Contact(ctx context.Context, accountID, id string) (ContactDoc, bool, error)
	Company(ctx context.Context, accountID, id string) (CompanyDoc, bool, error)
	Group(ctx context.Context, accountID, id string) (GroupDoc, bool, error)
	Label(ctx context.Context, accountID, id string) (LabelDoc, bool, error)
}

// ReadModel is everything a read-model backend offers.
type ReadModel interface {
	Store
	Reader
	Rebuilder
}
