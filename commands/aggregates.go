package commands

import (
	"context"
	"errors"

	"contacts/domain"
	"contacts/domain/company"
	"contacts/domain/contact"
	"contacts/domain/group"
	"contacts/domain/label"
	"contacts/eventstore"
)

var (
	contactKind = kind{name: "contact", streamType: contact.StreamType, decode: contact.Decode}
	companyKind = kind{name: "company", streamType: company.StreamType, decode: company.Decode}
	groupKind   = kind{name: "group", streamType: group.StreamType, decode: group.Decode}
	labelKind   = kind{name: "label", streamType: label.StreamType, decode: label.Decode}
)

// loaded is an aggregate that can also report its state.
type loaded[S any] interface {
	aggregate
	State() S
}

// loadExisting loads id and fails with not found when it was never created.
func loadExisting[A loaded[S], S any](ctx context.Context, h *Handlers, k kind, agg A, accountID, id string) (A, error) {
	if err := h.load(ctx, k, accountID, id, agg); err != nil {
		return agg, err
	}
	if !agg.Exists() {
		return agg, domain.NotFound(k.name, id)
	}
	return agg, nil
}

// mutate is the shape of every command on an existing aggregate: load,
// check the client's expected version, decide, append; retried on a
// concurrent write unless the client pinned the version.
func mutate[A loaded[S], S any](ctx context.Context, h *Handlers, k kind, fresh func() A,
	accountID, id string, expected *int64, decide func(A) ([]domain.Event, error)) (S, error) {
	var out S
	err := retry(ctx, expected, func() error {
		agg, err := loadExisting[A, S](ctx, h, k, fresh(), accountID, id)
		if err != nil {
			return err
		}
		if err := checkExpected(expected, agg.Version()); err != nil {
			return err
		}
		evs, err := decide(agg)
		if err != nil {
			return err
		}
		if err := h.commit(ctx, change{kind: k, accountID: accountID, id: id, agg: agg, events: evs}); err != nil {
			return err
		}
		out = agg.State()
		return nil
	})
	return out, err
}

// create appends the creation events of a new aggregate. An id already in
// use (client-chosen ids are allowed) is reported as already existing.
func create[A loaded[S], S any](ctx context.Context, h *Handlers, k kind, agg A, accountID, id string, evs []domain.Event) (S, error) {
	var out S
	err := h.commit(ctx, change{kind: k, accountID: accountID, id: id, agg: agg, events: evs})
	if errors.Is(err, eventstore.ErrConcurrency) {
		return out, domain.AlreadyExists(k.name, id)
	}
	if err != nil {
		return out, err
	}
	return agg.State(), nil
}

func newContact() *contact.Contact { return &contact.Contact{} }
func newCompany() *company.Company { return &company.Company{} }
func newGroup() *group.Group       { return &group.Group{} }
func newLabel() *label.Label       { return &label.Label{} }

// newAggregateID returns the client's id (normalised) or a fresh one.
func (h *Handlers) newAggregateID(given string) (string, error) {
	if given == "" {
		return h.ids.NewID(), nil
	}
	if !domain.IsUUID(given) {
		return "", domain.InvalidField("uuid", "must be a UUID")
	}
	return toLowerASCII(given), nil
}

func toLowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
