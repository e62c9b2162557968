package projections

import (
	"context"
	"fmt"

	"contacts/domain/company"
	"contacts/domain/contact"
	"contacts/domain/group"
	"contacts/domain/label"
	"contacts/eventstore"
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
	eventstore.Applier
	Exists() bool
}

// projection folds the streams of one type that a batch touched and writes
// their documents. The document of a stream is its state at the newest
// version available; writing it is a no-op when the store already holds
// that version or a newer one.
type projection[A aggregate, D any] struct {
	name       string
	streamType string
	events     StreamReader
	fresh      func() A
	decode     eventstore.Decoder
	doc        func(agg A, position int64) D // the document of a folded stream
	upsert     func(context.Context, []D) error
}

func (p *projection[A, D]) Name() string { return p.name }

func (p *projection[A, D]) Handle(ctx context.Context, events []eventstore.Event) error {
	write, err := p.Prepare(ctx, events)
	if err != nil {
		return err
	}
	return write(ctx)
}

// Prepare folds the documents of the streams events touched and returns the
// write of them. Folding is CPU work in this process and writing is work in
// the store, so a rebuild overlaps the two across batches.
func (p *projection[A, D]) Prepare(ctx context.Context, events []eventstore.Event) (func(context.Context) error, error) {
	// Per stream, the batch's own events; a stream whose events here start at
	// version 1 (a new contact, or any stream during a rebuild) needs no read.
	own := map[string][]eventstore.Event{}
	var ids, reread []string
	for _, e := range events {
		if e.StreamType != p.streamType {
			continue
		}
		prev, seen := own[e.StreamID]
		if !seen {
			ids = append(ids, e.StreamID)
		}
		own[e.StreamID] = append(prev, e)
	}
	for _, id := range ids {
		if !startsAtOne(own[id]) {
			reread = append(reread, id)
		}
	}
	if len(reread) > 0 {
		streams, err := p.events.ReadStreams(ctx, reread)
		if err != nil {
			return nil, fmt.Errorf("projection %s: %w", p.name, err)
		}
		for _, id := range reread {
			own[id] = streams[id]
		}
	}
	docs := make([]D, 0, len(ids))
	for _, id := range ids {
		evs := own[id]
		if len(evs) == 0 {
			continue
		}
		agg := p.fresh()
		if err := eventstore.Fold(agg, p.decode, evs); err != nil {
			return nil, fmt.Errorf("projection %s: %w", p.name, err)
		}
		if !agg.Exists() {
			continue // a stream whose creation this build cannot read
		}
		docs = append(docs, p.doc(agg, evs[len(evs)-1].Position))
	}
	return func(ctx context.Context) error {
		if err := p.upsert(ctx, docs); err != nil {
			return fmt.Errorf("projection %s: %w", p.name, err)
		}
		return nil
	}, nil
}

// startsAtOne reports whether evs are versions 1, 2, … n of their stream
// with nothing missing or repeated: then they alone give its state at n.
func startsAtOne(evs []eventstore.Event) bool {
	for i, e := range evs {
		if e.Version != int64(i+1) {
			return false
		}
	}
	return true
}
