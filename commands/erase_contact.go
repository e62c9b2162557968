package commands

import (
	"context"

	"contacts/domain/contact"
)

// EraseContact erases a contact's personal data for good (README "Erasing a
// person"): contact.erased is appended and, in the same transaction, the
// event store destroys the contact's data key (crypto-shredding) and redacts
// events recorded in clear before sealing existed. Its unique values are
// released. Erasing an erased contact changes nothing.
func (h *Handlers) EraseContact(ctx context.Context, cmd ContactRef) (contact.State, error) {
	var out contact.State
	err := retry(ctx, cmd.ExpectedVersion, func() error {
		c := newContact()
		if err := h.load(ctx, contactKind, cmd.AccountID, cmd.ID, c); err != nil {
			return err
		}
		if err := checkExpected(cmd.ExpectedVersion, c.Version()); err != nil {
			return err
		}
		evs, err := c.Erase()
		if err != nil {
			return err
		}
		if err := h.commit(ctx, change{kind: contactKind, accountID: cmd.AccountID, id: cmd.ID, agg: c, events: evs, erase: true}); err != nil {
			return err
		}
		out = c.State()
		return nil
	})
	return out, err
}
