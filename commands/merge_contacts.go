package commands

import (
	"context"

	"contacts/domain"
	"contacts/domain/contact"
)

// MergeContacts folds the loser into the winner in one transaction: the
// loser's stream ends with contact.merged, the winner gains its labels,
// notes, attributes and empty fields, and every group the loser was in gets
// the winner instead.
type MergeContacts struct {
	AccountID string
	WinnerID  string
	LoserID   string
}

func (h *Handlers) MergeContacts(ctx context.Context, cmd MergeContacts) (contact.State, error) {
	var out contact.State
	err := retry(ctx, nil, func() error {
		winner, err := loadExisting[*contact.Contact, contact.State](ctx, h, contactKind, newContact(), cmd.AccountID, cmd.WinnerID)
		if err != nil {
			return err
		}
		loser, err := loadExisting[*contact.Contact, contact.State](ctx, h, contactKind, newContact(), cmd.AccountID, cmd.LoserID)
		if err != nil {
			return err
		}
		winnerEvents, loserEvents, err := contact.Merge(winner, loser)
		if err != nil {
			return err
		}
		changes := []change{
			{kind: contactKind, accountID: cmd.AccountID, id: cmd.LoserID, agg: loser, events: loserEvents},
			{kind: contactKind, accountID: cmd.AccountID, id: cmd.WinnerID, agg: winner, events: winnerEvents},
		}
		groupIDs, err := h.store.StreamsMentioning(ctx, cmd.AccountID, []string{"group.members_added"}, "contact_ids", cmd.LoserID)
		if err != nil {
			return err
		}
		for _, gid := range groupIDs {
			g := newGroup()
			if err := h.load(ctx, groupKind, cmd.AccountID, gid, g); err != nil {
				return err
			}
			if !g.Exists() || g.State().Deleted || !g.HasMember(cmd.LoserID) {
				continue
			}
			var evs []domain.Event
			if !g.HasMember(cmd.WinnerID) {
				add, err := g.AddMembers([]string{cmd.WinnerID})
				if err != nil {
					return err
				}
				evs = append(evs, add...)
			}
			remove, err := g.RemoveMembers([]string{cmd.LoserID})
			if err != nil {
				return err
			}
			evs = append(evs, remove...)
			changes = append(changes, change{kind: groupKind, accountID: cmd.AccountID, id: gid, agg: g, events: evs})
		}
		if err := h.commit(ctx, changes...); err != nil {
			return err
		}
		out = winner.State()
		return nil
	})
	return out, err
}
