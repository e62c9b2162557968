package eventstore

// Fold is the one loop the command side (to decide) and the projections (to
// build documents) share: it folds recorded events into an aggregate.

import (
	"errors"
	"fmt"

	"contacts/domain"
)

// Applier is an aggregate.
type Applier interface {
	Apply(e domain.Event, r domain.Recorded)
}

// Decoder turns a stored event into a domain event.
type Decoder func(eventType string, data []byte) (domain.Event, error)

// Fold applies events, in order, to agg. Event types this build does not
// know are applied as domain.Unknown (the version still moves on).
func Fold(agg Applier, decode Decoder, events []Event) error {
	for _, e := range events {
		de, err := decode(e.Type, e.Data)
		if errors.Is(err, domain.ErrUnknownEvent) {
			de = domain.Unknown{Type: e.Type}
		} else if err != nil {
			return fmt.Errorf("%s %s version %d: %w", e.StreamType, e.StreamID, e.Version, err)
		}
		agg.Apply(de, domain.Recorded{Version: e.Version, At: e.RecordedAt})
	}
	return nil
}
