// Package realtime pushes live updates to subscribers over channels, after
// the read models reflect them (read-your-writes), reliably and resumably.
//
// The projector announces, through PostgreSQL NOTIFY, how far in the event
// store's tail order the read models have got; the Hub of every instance
// listens, reads the events up to there from the event store and fans them
// out to its own subscribers. Every message carries the event's global
// position: a client that reconnects with from_position gets every message
// it missed (replayed from the event store), then the live stream — no gap,
// no duplicate. A connection that cannot keep up is cut off with a
// resync_required message naming the position to resume from: its buffer is
// bounded and never grows server memory.
package realtime

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"contacts/domain"
	"contacts/domain/company"
	"contacts/domain/contact"
	"contacts/domain/group"
	"contacts/domain/label"
	"contacts/eventstore"
)

// Channel kinds. A channel is written "<kind>" (every change of that kind
// in the account) or "<kind>:<id>" (one entity).
const (
	KindContacts  = "contacts"  // every contact change (optional filter)
	KindContact   = "contact"   // contact:<uuid>
	KindGroups    = "groups"    // every group change
	KindGroup     = "group"     // group:<id>: the group and its membership
	KindLabels    = "labels"    // every label change
	KindCompanies = "companies" // every company change
	KindImports   = "imports"   // every import job's events
	KindImport    = "import"    // import:<job_id>: one job's progress
)

// ImportEventPrefix marks import job events: every event whose type starts
// with it (import.created, import.progress, import.completed, …), or whose
// stream type starts with "import" (import, import_job), goes to the imports
// channel and to import:<stream id> — an import job's stream id is its job id.
const ImportEventPrefix = "import."

// Channel is a parsed channel name.
type Channel struct {
	Kind string
	ID   string // the entity id of contact:, group:, import: (lower case)
}

func (c Channel) String() string {
	if c.ID == "" {
		return c.Kind
	}
	return c.Kind + ":" + c.ID
}

// ParseChannel reads a channel name.
func ParseChannel(s string) (Channel, error) {
	kind, id, hasID := strings.Cut(strings.TrimSpace(s), ":")
	switch kind {
	case KindContacts, KindGroups, KindLabels, KindCompanies, KindImports:
		if hasID {
			return Channel{}, errorf(CodeInvalidChannel, "channel %q takes no id (did you mean %s:<id>?)", s, strings.TrimSuffix(kind, "s"))
		}
		return Channel{Kind: kind}, nil
	case KindContact, KindGroup, KindImport:
		if !hasID || !domain.IsUUID(id) {
			return Channel{}, errorf(CodeInvalidChannel, "channel %q needs an id: %s:<uuid>", s, kind)
		}
		return Channel{Kind: kind, ID: strings.ToLower(id)}, nil
	}
	return Channel{}, errorf(CodeInvalidChannel, "unknown channel %q: one of contacts, contact:<uuid>, groups, group:<id>, labels, companies, imports, import:<job_id>", s)
}

// streamTypeOf is the stream type an entity channel's id must have.
func (c Channel) streamType() string {
	switch c.Kind {
	case KindContact:
		return contact.StreamType
	case KindGroup:
		return group.StreamType
	}
	return ""
}

// channelsOf lists the channels an event belongs to, the most specific
// first (a subscription holding several gets the event once, on the first).
func channelsOf(e eventstore.Event) []string {
	switch {
	case strings.HasPrefix(e.Type, ImportEventPrefix) || strings.HasPrefix(e.StreamType, KindImport):
		return []string{KindImport + ":" + e.StreamID, KindImports}
	case e.StreamType == contact.StreamType:
		return []string{KindContact + ":" + e.StreamID, KindContacts}
	case e.StreamType == group.StreamType:
		return []string{KindGroup + ":" + e.StreamID, KindGroups}
	case e.StreamType == label.StreamType:
		return []string{KindLabels}
	case e.StreamType == company.StreamType:
		return []string{KindCompanies}
	}
	return nil
}

// removal tells the events after which a contact no longer shows in
// queries: a filtered contacts subscription always hears of them (the UI
// drops the row), whatever the filter.
func removal(eventType string) bool {
	return eventType == contact.TypeDeleted || eventType == contact.TypeMerged || eventType == contact.TypeErased
}

// Message is one push.
type Message struct {
	Event      string          `json:"event"` // the domain event's type: contact.updated, group.members_added, …
	Channel    string          `json:"channel"`
	ID         string          `json:"id"`   // the entity (stream) id
	Data       json.RawMessage `json:"data"` // the event's data: the change (a delta)
	Position   int64           `json:"position"`
	Version    int64           `json:"version"` // the entity's version after this event
	OccurredAt time.Time       `json:"occurred_at"`
}

func encode(e eventstore.Event, channel string) []byte {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	b, err := json.Marshal(Message{Event: e.Type, Channel: channel, ID: e.StreamID, Data: data,
		Position: e.Position, Version: e.Version, OccurredAt: e.RecordedAt})
	if err != nil {
		// Stored data is valid JSON (jsonb): this cannot happen.
		b, _ = json.Marshal(Message{Event: e.Type, Channel: channel, ID: e.StreamID, Data: json.RawMessage("{}"),
			Position: e.Position, Version: e.Version, OccurredAt: e.RecordedAt})
	}
	return b
}

// Resync is the message that ends a subscription which fell behind.
type Resync struct {
	Event    string   `json:"event"` // "resync_required"
	Channels []string `json:"channels"`
	// Position is where to resume: subscribe again with from_position set
	// to it and get every message after it.
	Position int64  `json:"position"`
	Reason   string `json:"reason"`
	Message  string `json:"message"`
}

// EventResyncRequired is the event name of the Resync message.
const EventResyncRequired = "resync_required"

// Codes of subscription errors.
const (
	CodeInvalidChannel   = "invalid_channel"
	CodeNotFound         = "not_found" // the channel's entity is not the account's
	CodeInvalidPosition  = "invalid_position"
	CodeAlreadySubscribe = "already_subscribed"
	CodeNotSubscribed    = "not_subscribed"
	CodeTooMany          = "too_many_subscriptions"
	CodeUnavailable      = "realtime_unavailable"
	CodeInvalidFilter    = "invalid_filter"
)

// Error is a subscription failure with a stable code.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
