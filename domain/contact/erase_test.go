package contact

import (
	"encoding/json"
	"strings"
	"testing"

	"contacts/domain"
)

var erase = func(c *Contact) ([]domain.Event, error) { return c.Erase() }

func TestErase(t *testing.T) {
	erased := []domain.Event{created(), ContactErased{}}
	run(t, []tcase{
		{name: "erase", given: []domain.Event{created()}, when: erase, want: []domain.Event{ContactErased{}}},
		{name: "erase deleted", given: []domain.Event{created(), ContactDeleted{}}, when: erase, want: []domain.Event{ContactErased{}}},
		{name: "erase merged", given: []domain.Event{created(), ContactMerged{Into: otherID}}, when: erase, want: []domain.Event{ContactErased{}}},
		{name: "erase inactive", given: []domain.Event{created(), ContactInactivated{}}, when: erase, want: []domain.Event{ContactErased{}}},
		{name: "erase twice decides nothing", given: erased, when: erase, want: []domain.Event{}},
		{name: "erase missing", when: erase, err: domain.ErrNotFound},
		{name: "restore erased", given: erased, when: restore, err: domain.ErrInvalidState},
		{name: "delete erased", given: erased, when: del, err: domain.ErrInvalidState},
		{name: "update erased", given: erased, when: update(map[string]any{"city": "x"}), err: domain.ErrDeleted},
		{name: "note on erased", given: erased, when: func(c *Contact) ([]domain.Event, error) { return c.AddNote("n", "x", user) },
			err: domain.ErrDeleted},
	})
}

// TestErasedStateHoldsNoPersonalData: whatever the earlier events carried
// (clear, or still readable on an instance whose key cache is stale), the
// state after contact.erased has none of it, and no unique value.
func TestErasedStateHoldsNoPersonalData(t *testing.T) {
	c := given(created(),
		ContactUpdated{Changes: map[string]domain.Change{"city": {New: "Quimper"}, "phone": {New: "+33298000000"}}},
		NoteAdded{NoteID: "n1", Content: "Quintessa likes tea", AuthorID: user},
		CustomAttributesSet{Values: map[string]any{"nickname": "Quinnie"}},
		AccountAssociated{AccountID: acct2, Name: "Quintessa Ltd", Role: "owner"},
		ContactErased{})
	s := c.State()
	b, _ := json.Marshal(s)
	for _, v := range []string{"Ada", "ada@", "Quimper", "+33298000000", "Quintessa", "Quinnie"} {
		if strings.Contains(string(b), v) {
			t.Fatalf("erased state shows %q: %s", v, b)
		}
	}
	if !s.Erased || !s.Deleted || s.DeletedAt == nil || s.ID != cid || s.AccountID != acct || len(c.UniqueKeys()) != 0 {
		t.Fatalf("erased state %s, unique keys %v", b, c.UniqueKeys())
	}
	// A contact never erased does not show the field at all.
	if b, _ := json.Marshal(given(created()).State()); strings.Contains(string(b), `"erased"`) {
		t.Fatalf("live contact shows erased: %s", b)
	}
}
