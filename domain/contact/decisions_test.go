package contact

import (
	"strings"
	"testing"

	"contacts/domain"
)

var (
	del        = func(c *Contact) ([]domain.Event, error) { return c.Delete() }
	restore    = func(c *Contact) ([]domain.Event, error) { return c.Restore() }
	inactivate = func(c *Contact) ([]domain.Event, error) { return c.Inactivate() }
	activate   = func(c *Contact) ([]domain.Event, error) { return c.Activate() }
)

func TestLifecycle(t *testing.T) {
	merged := []domain.Event{created(), ContactMerged{Into: otherID}}
	deleted := []domain.Event{created(), ContactDeleted{}}
	run(t, []tcase{
		{name: "delete", given: []domain.Event{created()}, when: del, want: []domain.Event{ContactDeleted{}}},
		{name: "delete twice", given: deleted, when: del, err: domain.ErrInvalidState},
		{name: "delete missing", when: del, err: domain.ErrNotFound},
		{name: "delete merged", given: merged, when: del, err: domain.ErrInvalidState},
		{name: "restore", given: deleted, when: restore, want: []domain.Event{ContactRestored{}}},
		{name: "restore live", given: []domain.Event{created()}, when: restore, err: domain.ErrInvalidState},
		{name: "restore missing", when: restore, err: domain.ErrNotFound},
		{name: "restore merged", given: merged, when: restore, err: domain.ErrInvalidState},
		{name: "restored can be deleted again", given: append(deleted, ContactRestored{}), when: del,
			want: []domain.Event{ContactDeleted{}}},
		{name: "inactivate", given: []domain.Event{created()}, when: inactivate, want: []domain.Event{ContactInactivated{}}},
		{name: "inactivate inactive", given: []domain.Event{created(), ContactInactivated{}}, when: inactivate,
			err: domain.ErrInvalidState},
		{name: "inactivate deleted", given: deleted, when: inactivate, err: domain.ErrDeleted},
		{name: "inactivate missing", when: inactivate, err: domain.ErrNotFound},
		{name: "activate", given: []domain.Event{created(), ContactInactivated{}}, when: activate,
			want: []domain.Event{ContactActivated{}}},
		{name: "activate active", given: []domain.Event{created()}, when: activate, err: domain.ErrInvalidState},
		{name: "activate merged", given: merged, when: activate, err: domain.ErrInvalidState},
	})
}

func TestMergedRefusesEverything(t *testing.T) {
	c := given(created(), ContactMerged{Into: otherID})
	for name, d := range map[string]decision{
		"update":     update(map[string]any{"city": "x"}),
		"delete":     del,
		"restore":    restore,
		"inactivate": inactivate,
		"add labels": func(c *Contact) ([]domain.Event, error) { return c.AddLabels([]string{"a"}) },
		"add note":   func(c *Contact) ([]domain.Event, error) { return c.AddNote("n", "x", user) },
		"assign":     func(c *Contact) ([]domain.Event, error) { return c.Assign(nil, nil) },
		"associate":  func(c *Contact) ([]domain.Event, error) { return c.Associate(acct2, "", "") },
		"custom":     func(c *Contact) ([]domain.Event, error) { return c.SetCustomAttributes(map[string]any{"a": 1.0}) },
	} {
		_, err := d(c)
		checkErr(t, err, domain.ErrInvalidState)
		if !strings.Contains(err.Error(), "merged into "+otherID) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestLabels(t *testing.T) {
	withLabels := []domain.Event{created(), LabelsAdded{Labels: []string{"VIP", "lead"}}}
	add := func(ls ...string) decision {
		return func(c *Contact) ([]domain.Event, error) { return c.AddLabels(ls) }
	}
	remove := func(ls ...string) decision {
		return func(c *Contact) ([]domain.Event, error) { return c.RemoveLabels(ls) }
	}
	run(t, []tcase{
		{name: "add new only", given: withLabels, when: add("vip", " Customer ", "customer", "new"),
			want: []domain.Event{LabelsAdded{Labels: []string{"Customer", "new"}}}},
		{name: "add nothing new", given: withLabels, when: add("Lead"), want: nil},
		{name: "add none", given: withLabels, when: add(), want: nil},
		{name: "add invalid", given: withLabels, when: add("a,b"), err: domain.ErrValidation, fields: []string{"labels"}},
		{name: "add empty", given: withLabels, when: add(""), err: domain.ErrValidation, fields: []string{"labels"}},
		{name: "add too long", given: withLabels, when: add(strings.Repeat("x", 51)), err: domain.ErrValidation,
			fields: []string{"labels"}},
		{name: "add to deleted", given: append(withLabels, ContactDeleted{}), when: add("x"), err: domain.ErrDeleted},
		{name: "add to missing", when: add("x"), err: domain.ErrNotFound},
		{name: "remove present case-insensitively", given: withLabels, when: remove("vip", "other"),
			want: []domain.Event{LabelsRemoved{Labels: []string{"VIP"}}}},
		{name: "remove absent", given: withLabels, when: remove("other"), want: nil},
		{name: "remove invalid", given: withLabels, when: remove("a,b"), err: domain.ErrValidation},
		{name: "remove from deleted", given: append(withLabels, ContactDeleted{}), when: remove("vip"), err: domain.ErrDeleted},
	})
	c := given(append(withLabels, LabelsRemoved{Labels: []string{"vip"}}, LabelsAdded{Labels: []string{"Alpha"}})...)
	if got := c.State().Labels; strings.Join(got, ",") != "Alpha,lead" {
		t.Fatalf("labels after apply: %v", got)
	}
}

func TestNotes(t *testing.T) {
	withNote := []domain.Event{created(), NoteAdded{NoteID: "n1", Content: "hello", AuthorID: user}}
	addNote := func(id, content, author string) decision {
		return func(c *Contact) ([]domain.Event, error) { return c.AddNote(id, content, author) }
	}
	edit := func(id, content string) decision {
		return func(c *Contact) ([]domain.Event, error) { return c.EditNote(id, content) }
	}
	remove := func(id string) decision {
		return func(c *Contact) ([]domain.Event, error) { return c.RemoveNote(id) }
	}
	run(t, []tcase{
		{name: "add", given: withNote, when: addNote("n2", "  hi  ", user),
			want: []domain.Event{NoteAdded{NoteID: "n2", Content: "hi", AuthorID: user}}},
		{name: "add without author", given: withNote, when: addNote("n2", "hi", ""),
			want: []domain.Event{NoteAdded{NoteID: "n2", Content: "hi"}}},
		{name: "add existing id", given: withNote, when: addNote("n1", "x", user), err: domain.ErrAlreadyExists},
		{name: "add empty", given: withNote, when: addNote("n2", "   ", user), err: domain.ErrValidation,
			fields: []string{"content"}},
		{name: "add too long", given: withNote, when: addNote("", strings.Repeat("x", 10001), user),
			err: domain.ErrValidation, fields: []string{"content", "note_id"}},
		{name: "add longest", given: withNote, when: addNote("n2", strings.Repeat("x", 10000), user),
			want: []domain.Event{NoteAdded{NoteID: "n2", Content: strings.Repeat("x", 10000), AuthorID: user}}},
		{name: "add to deleted", given: append(withNote, ContactDeleted{}), when: addNote("n2", "x", user),
			err: domain.ErrDeleted},
		{name: "add to missing", when: addNote("n2", "x", user), err: domain.ErrNotFound},
		{name: "edit", given: withNote, when: edit("n1", " bye "), want: []domain.Event{NoteEdited{NoteID: "n1", Content: "bye"}}},
		{name: "edit unchanged", given: withNote, when: edit("n1", "hello "), want: nil},
		{name: "edit unknown", given: withNote, when: edit("n9", "x"), err: domain.ErrNotFound},
		{name: "edit removed", given: append(withNote, NoteRemoved{NoteID: "n1"}), when: edit("n1", "x"),
			err: domain.ErrNotFound},
		{name: "edit empty", given: withNote, when: edit("n1", ""), err: domain.ErrValidation, fields: []string{"content"}},
		{name: "edit on deleted", given: append(withNote, ContactDeleted{}), when: edit("n1", "x"), err: domain.ErrDeleted},
		{name: "remove", given: withNote, when: remove("n1"), want: []domain.Event{NoteRemoved{NoteID: "n1"}}},
		{name: "remove unknown", given: withNote, when: remove("n9"), err: domain.ErrNotFound},
		{name: "remove on deleted", given: append(withNote, ContactDeleted{}), when: remove("n1"), err: domain.ErrDeleted},
	})
}

func TestAssign(t *testing.T) {
	assigned := []domain.Event{created(), Assigned{AssignedTo: []string{"u1", "u2"}, Teams: []string{"t1"}}}
	assign := func(users, teams []string) decision {
		return func(c *Contact) ([]domain.Event, error) { return c.Assign(users, teams) }
	}
	run(t, []tcase{
		{name: "assign", given: []domain.Event{created()}, when: assign([]string{"u2", " u1 ", "u2"}, []string{"t1"}),
			want: []domain.Event{Assigned{AssignedTo: []string{"u1", "u2"}, Teams: []string{"t1"}}}},
		{name: "same set in another order", given: assigned, when: assign([]string{"u2", "u1"}, []string{"t1"}), want: nil},
		{name: "nothing to nothing", given: []domain.Event{created()}, when: assign(nil, []string{}), want: nil},
		{name: "clear", given: assigned, when: assign(nil, nil), want: []domain.Event{Assigned{}}},
		{name: "replace teams", given: assigned, when: assign([]string{"u1", "u2"}, []string{"t2"}),
			want: []domain.Event{Assigned{AssignedTo: []string{"u1", "u2"}, Teams: []string{"t2"}}}},
		{name: "invalid ids", given: assigned, when: assign([]string{""}, []string{strings.Repeat("t", 101)}),
			err: domain.ErrValidation, fields: []string{"assigned_to", "teams"}},
		{name: "deleted", given: append(assigned, ContactDeleted{}), when: assign(nil, nil), err: domain.ErrDeleted},
		{name: "missing", when: assign(nil, nil), err: domain.ErrNotFound},
	})
}

func TestAssociations(t *testing.T) {
	linked := []domain.Event{created(), AccountAssociated{AccountID: acct2, Name: "Partner", Role: "reseller"}}
	associate := func(id, name, role string) decision {
		return func(c *Contact) ([]domain.Event, error) { return c.Associate(id, name, role) }
	}
	dissociate := func(id string) decision {
		return func(c *Contact) ([]domain.Event, error) { return c.Dissociate(id) }
	}
	run(t, []tcase{
		{name: "associate", given: []domain.Event{created()}, when: associate(strings.ToUpper(acct2), " Partner ", ""),
			want: []domain.Event{AccountAssociated{AccountID: acct2, Name: "Partner"}}},
		{name: "identical", given: linked, when: associate(acct2, "Partner", "reseller"), want: nil},
		{name: "new role", given: linked, when: associate(acct2, "Partner", "owner"),
			want: []domain.Event{AccountAssociated{AccountID: acct2, Name: "Partner", Role: "owner"}}},
		{name: "invalid", given: linked, when: associate("nope", strings.Repeat("n", 256), strings.Repeat("r", 101)),
			err: domain.ErrValidation, fields: []string{"account_id", "name", "role"}},
		{name: "deleted", given: append(linked, ContactDeleted{}), when: associate(acct2, "", ""), err: domain.ErrDeleted},
		{name: "dissociate", given: linked, when: dissociate(acct2), want: []domain.Event{AccountDissociated{AccountID: acct2}}},
		{name: "dissociate unknown", given: linked, when: dissociate(acct), err: domain.ErrNotFound},
		{name: "dissociate twice", given: append(linked, AccountDissociated{AccountID: acct2}), when: dissociate(acct2),
			err: domain.ErrNotFound},
		{name: "dissociate missing contact", when: dissociate(acct2), err: domain.ErrNotFound},
	})
	c := given(append(linked, AccountAssociated{AccountID: acct2, Name: "P2"}, AccountAssociated{AccountID: acct, Name: "Own"})...)
	if got := c.State().AssociatedAccounts; len(got) != 2 || got[0].Name != "P2" || got[0].Role != "" || got[1].AccountID != acct {
		t.Fatalf("associations: %+v", got)
	}
}

func TestCustomAttributes(t *testing.T) {
	withAttrs := []domain.Event{created(), CustomAttributesSet{Values: map[string]any{"plan": "pro", "seats": 3.0}}}
	set := func(v map[string]any) decision {
		return func(c *Contact) ([]domain.Event, error) { return c.SetCustomAttributes(v) }
	}
	remove := func(keys ...string) decision {
		return func(c *Contact) ([]domain.Event, error) { return c.RemoveCustomAttributes(keys) }
	}
	run(t, []tcase{
		{name: "set merges", given: withAttrs, when: set(map[string]any{"plan": "pro", "seats": 4, "tags": []any{"a"}}),
			want: []domain.Event{CustomAttributesSet{Values: map[string]any{"seats": 4.0, "tags": []any{"a"}}}}},
		{name: "null removes present keys", given: withAttrs, when: set(map[string]any{"plan": nil, "ghost": nil}),
			want: []domain.Event{CustomAttributesRemoved{Keys: []string{"plan"}}}},
		{name: "set and remove in one event", given: withAttrs, when: set(map[string]any{"plan": nil, "seats": 5.0}),
			want: []domain.Event{ContactUpdated{Changes: map[string]domain.Change{},
				CustomAttributesSet: map[string]any{"seats": 5.0}, CustomAttributesRemoved: []string{"plan"}}}},
		{name: "set unchanged", given: withAttrs, when: set(map[string]any{"plan": "pro"}), want: nil},
		{name: "set nil", given: withAttrs, when: set(nil), want: nil},
		{name: "bad key", given: withAttrs, when: set(map[string]any{"": 1.0}), err: domain.ErrValidation,
			fields: []string{"custom_attributes"}},
		{name: "bad value", given: withAttrs, when: set(map[string]any{"f": func() {}}), err: domain.ErrValidation,
			fields: []string{"custom_attributes"}},
		{name: "set on deleted", given: append(withAttrs, ContactDeleted{}), when: set(map[string]any{"a": 1.0}),
			err: domain.ErrDeleted},
		{name: "remove present only", given: withAttrs, when: remove("seats", "ghost", "plan"),
			want: []domain.Event{CustomAttributesRemoved{Keys: []string{"plan", "seats"}}}},
		{name: "remove absent", given: withAttrs, when: remove("ghost"), want: nil},
		{name: "remove on missing", when: remove("a"), err: domain.ErrNotFound},
	})
	c := given(append(withAttrs, CustomAttributesRemoved{Keys: []string{"plan"}})...)
	if got := c.State().CustomAttributes; len(got) != 1 || got["seats"] != 3.0 {
		t.Fatalf("custom attributes: %v", got)
	}
}
