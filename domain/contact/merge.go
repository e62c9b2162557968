package contact

import (
	"reflect"
	"time"

	"contacts/domain"
)

// Merge folds loser into winner. The loser's stream ends with ContactMerged;
// the winner records in ContactAbsorbed what it takes over: the labels,
// notes, custom attributes and associations it lacks, and the profile fields
// it has empty (see absorbedFields). Group membership and uniqueness claims
// are the command layer's business.
func Merge(winner, loser *Contact) (winnerEvents, loserEvents []domain.Event, err error) {
	switch {
	case winner == nil || !winner.created:
		return nil, nil, domain.NotFound(kind, idOf(winner))
	case loser == nil || !loser.created:
		return nil, nil, domain.NotFound(kind, idOf(loser))
	case winner.id == loser.id:
		return nil, nil, domain.InvalidState("a contact cannot be merged into itself")
	case winner.accountID != loser.accountID:
		// Another account's contact is not visible from this one.
		return nil, nil, domain.NotFound(kind, loser.id)
	}
	if err := winner.check(); err != nil {
		return nil, nil, err
	}
	if err := loser.check(); err != nil {
		return nil, nil, err
	}
	a := ContactAbsorbed{From: loser.id, Labels: winner.missingLabels(loser.labels)}
	for _, n := range loser.notes {
		if winner.noteIndex(n.ID) < 0 {
			a.Notes = append(a.Notes, n)
		}
	}
	custom := map[string]any{}
	for k, v := range loser.custom {
		if _, ok := winner.custom[k]; !ok {
			custom[k] = v
		}
	}
	a.CustomAttributes = domain.CloneMap(custom)
	for _, as := range loser.associations {
		if winner.associationIndex(as.AccountID) < 0 {
			a.AssociatedAccounts = append(a.AssociatedAccounts, as)
		}
	}
	a.Fields = absorbedFields(&winner.profile, &loser.profile)
	return []domain.Event{a}, []domain.Event{ContactMerged{Into: winner.id}}, nil
}

func idOf(c *Contact) string {
	if c == nil {
		return ""
	}
	return c.id
}

// absorbedFields returns the profile values the winner takes from the loser:
//   - any field empty on the winner and set on the loser (e-mail, phone and
//     identifier included: the command layer re-claims their uniqueness);
//   - first_name and last_name together, only when the winner has neither;
//   - opt_out, opt_out_marketing and blocked when the loser has them set
//     (the stricter consent wins); reply_bot_enabled stays the winner's;
//   - last_activity_at when the loser's is later;
//   - additional_attributes keys the winner lacks (recorded as the whole new map).
func absorbedFields(w, l *Profile) map[string]any {
	out := map[string]any{}
	for name, a := range attrs {
		wv, lv := a.get(w), a.get(l)
		switch name {
		case "reply_bot_enabled":
			continue
		case "first_name", "last_name":
			if w.FirstName != "" || w.LastName != "" {
				continue
			}
		case "last_activity_at":
			if later(l.LastActivityAt, w.LastActivityAt) {
				out[name] = lv
			}
			continue
		case fieldAdditional:
			add := map[string]any{}
			for k, v := range l.AdditionalAttributes {
				if _, ok := w.AdditionalAttributes[k]; !ok {
					add[k] = v
				}
			}
			if len(add) > 0 {
				out[name] = mergeMap(w.AdditionalAttributes, add)
			}
			continue
		}
		if isZero(wv) && !isZero(lv) {
			out[name] = lv
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func isZero(v any) bool {
	return v == nil || reflect.ValueOf(v).IsZero()
}

// later tells whether RFC 3339 time a is after b (an empty b is always earlier).
func later(a, b string) bool {
	if a == "" {
		return false
	}
	if b == "" {
		return true
	}
	ta, errA := time.Parse(time.RFC3339, a)
	tb, errB := time.Parse(time.RFC3339, b)
	return errA == nil && errB == nil && ta.After(tb)
}
