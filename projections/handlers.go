package projections

import (
	"context"
	"fmt"

	"contacts/domain/company"
	"contacts/domain/contact"
	"contacts/domain/group"
	"contacts/domain/label"
	"contacts/eventstore"
	"contacts/internal/replay"
)

// StreamReader reads whole streams: a projection folds the current state of
// every stream an event batch touched, so it never depends on having seen
// (or not seen twice) any single event.
type StreamReader interface {
	ReadStreams(ctx context.Context, streamIDs []string) (map[string][]eventstore.Event, error)
}

var _ StreamReader = (*eventstore.Store)(nil)

// New returns the four projections over events, writing to store.
func New(events StreamReader, store Store) []Handler {
	return []Handler{
		&projection[*company.Company, CompanyDoc]{name: Companies, streamType: company.StreamType, events: events,
			fresh: func() *company.Company { return &company.Company{} }, decode: company.Decode,
			doc:    func(c *company.Company, pos int64) CompanyDoc { return CompanyDoc{State: c.State(), Position: pos} },
			upsert: store.UpsertCompanies},
		&projection[*group.Group, GroupDoc]{name: Groups, streamType: group.StreamType, events: events,
			fresh: func() *group.Group { return &group.Group{} }, decode: group.Decode,
			doc:    func(g *group.Group, pos int64) GroupDoc { return GroupDoc{State: g.State(), Position: pos} },
			upsert: store.UpsertGroups},
		&projection[*label.Label, LabelDoc]{name: Labels, streamType: label.StreamType, events: events,
			fresh: func() *label.Label { return &label.Label{} }, decode: label.Decode,
			doc:    func(l *label.Label, pos int64) LabelDoc { return LabelDoc{State: l.State(), Position: pos} },
			upsert: store.UpsertLabels},
		&projection[*contact.Contact, ContactDoc]{name: Contacts, streamType: contact.StreamType, events: events,
			fresh: func() *contact.Contact { return &contact.Contact{} }, decode: contact.Decode,
			doc:    func(c *contact.Contact, pos int64) ContactDoc { return ContactDoc{State: c.State(), Position: pos} },
			upsert: store.UpsertContacts},
	}
}

// aggregate is what a projection needs of a domain aggregate.
type aggregate interface {
	replay.Applier
	Exists() bool
}

// projection folds the streams of one type that a batch touched and writes
// their documents.
type projection[A aggregate, D any] struct {
	name       string
	streamType string
	events     StreamReader
	fresh      func() A
	decode     replay.Decoder
	doc        func(agg A, position int64) D // the document of a folded stream
	upsert     func(context.Context, []D) error
}

func (p *projection[A, D]) Name() string { return p.name }

func (p *projection[A, D]) Handle(ctx context.Context, events []eventstore.Event) error {
	seen := make(map[string]bool)
	var ids []string
	for _, e := range events {
		if e.StreamType == p.streamType && !seen[e.StreamID] {
			seen[e.StreamID] = true
			ids = append(ids, e.StreamID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	streams, err := p.events.ReadStreams(ctx, ids)
	if err != nil {
		return fmt.Errorf("projection %s: %w", p.name, err)
	}
	docs := make([]D, 0, len(ids))
	for _, id := range ids {
		evs := streams[id]
		if len(evs) == 0 {
			continue
		}
		agg := p.fresh()
		if err := replay.Fold(agg, p.decode, evs); err != nil {
			return fmt.Errorf("projection %s: %w", p.name, err)
		}
		if !agg.Exists() {
			continue // a stream whose creation this build cannot read
		}
		docs = append(docs, p.doc(agg, evs[len(evs)-1].Position))
	}
	if err := p.upsert(ctx, docs); err != nil {
		return fmt.Errorf("projection %s: %w", p.name, err)
	}
	return nil
}
