package contact

import (
	"reflect"
	"testing"

	"contacts/domain"
)

func TestMerge(t *testing.T) {
	winner := given(
		createdWith(cid, acct, Profile{FirstName: "Ada", Email: "ada@x.io", ReplyBotEnabled: true,
			LastActivityAt: "2024-01-01T00:00:00Z", AdditionalAttributes: map[string]any{"a": "w"}}),
		LabelsAdded{Labels: []string{"vip"}},
		CustomAttributesSet{Values: map[string]any{"plan": "pro"}},
		NoteAdded{NoteID: "w1", Content: "winner note", AuthorID: user},
		AccountAssociated{AccountID: acct2, Name: "W"},
	)
	loser := given(
		createdWith(otherID, acct, Profile{FirstName: "Ada", LastName: "King", Email: "king@x.io",
			Phone: "+14155550100", Identifier: "crm-9", City: "London", Departments: []string{"Math"},
			OptOut: true, ReplyBotEnabled: false, LastActivityAt: "2024-02-01T00:00:00Z",
			AdditionalAttributes: map[string]any{"a": "l", "b": "l"}}),
		LabelsAdded{Labels: []string{"VIP", "lead"}},
		CustomAttributesSet{Values: map[string]any{"plan": "free", "seats": 2.0}},
		NoteAdded{NoteID: "l1", Content: "loser note", AuthorID: "u9"},
		AccountAssociated{AccountID: acct2, Name: "L"},
		AccountAssociated{AccountID: companyX, Name: "Other", Role: "buyer"},
	)
	wBefore, lBefore := winner.State(), loser.State()
	we, le, err := Merge(winner, loser)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(winner.State(), wBefore) || !reflect.DeepEqual(loser.State(), lBefore) {
		t.Fatal("merge mutated an aggregate")
	}
	wantAbsorbed := ContactAbsorbed{
		From:               otherID,
		Labels:             []string{"lead"},
		Notes:              []Note{{ID: "l1", Content: "loser note", AuthorID: "u9", CreatedAt: at(3), UpdatedAt: at(3)}},
		CustomAttributes:   map[string]any{"seats": 2.0},
		AssociatedAccounts: []Association{{AccountID: companyX, Name: "Other", Role: "buyer"}},
		Fields: map[string]any{
			"phone": "+14155550100", "identifier": "crm-9", "city": "London", "departments": []string{"Math"},
			"opt_out": true, "last_activity_at": "2024-02-01T00:00:00Z",
			"additional_attributes": map[string]any{"a": "w", "b": "l"},
		},
	}
	checkResult(t, we, nil, []domain.Event{wantAbsorbed}, nil, nil)
	checkResult(t, le, nil, []domain.Event{ContactMerged{Into: cid}}, nil, nil)

	for i, e := range we {
		winner.Apply(e, domain.Recorded{Version: winner.Version() + 1, At: at(10 + i)})
	}
	for _, e := range le {
		loser.Apply(e, domain.Recorded{Version: loser.Version() + 1, At: at(10)})
	}
	s := winner.State()
	if s.Name != "Ada" || s.Email != "ada@x.io" || s.Phone != "+14155550100" || !s.OptOut || !s.ReplyBotEnabled ||
		!reflect.DeepEqual(s.Labels, []string{"lead", "vip"}) || len(s.Notes) != 2 || s.Notes[1].ID != "l1" ||
		s.CustomAttributes["plan"] != "pro" || s.CustomAttributes["seats"] != 2.0 || len(s.AssociatedAccounts) != 2 ||
		s.AssociatedAccounts[0].Name != "W" {
		t.Fatalf("winner after merge: %+v", s)
	}
	if want := map[string]string{"email": "ada@x.io", "phone": "+14155550100", "identifier": "crm-9"}; !reflect.DeepEqual(winner.UniqueKeys(), want) {
		t.Fatalf("winner keys: %v", winner.UniqueKeys())
	}
	if loser.State().MergedInto != cid || len(loser.UniqueKeys()) != 0 {
		t.Fatalf("loser after merge: %+v", loser.State())
	}
}

func TestMergeNameIsAUnit(t *testing.T) {
	w := given(createdWith(cid, acct, Profile{Email: "a@x.io"}))
	l := given(createdWith(otherID, acct, Profile{FirstName: "Ada", LastName: "King"}))
	we, _, err := Merge(w, l)
	if err != nil {
		t.Fatal(err)
	}
	if f := we[0].(ContactAbsorbed).Fields; f["first_name"] != "Ada" || f["last_name"] != "King" {
		t.Fatalf("fields: %v", f)
	}
	w = given(createdWith(cid, acct, Profile{FirstName: "Ada"}))
	we, _, _ = Merge(w, l)
	if f := we[0].(ContactAbsorbed).Fields; f != nil {
		t.Fatalf("a winner with a name keeps it: %v", f)
	}
	if a := we[0].(ContactAbsorbed); a.From != otherID || a.Labels != nil || a.Notes != nil || a.CustomAttributes != nil {
		t.Fatalf("nothing to absorb: %+v", a)
	}
}

func TestMergeRefused(t *testing.T) {
	live := func(id, account string) *Contact { return given(createdWith(id, account, Profile{FirstName: "x"})) }
	deleted := given(createdWith(otherID, acct, Profile{FirstName: "x"}), ContactDeleted{})
	merged := given(createdWith(otherID, acct, Profile{FirstName: "x"}), ContactMerged{Into: companyX})
	cases := []struct {
		name          string
		winner, loser *Contact
		err           error
	}{
		{"missing winner", &Contact{}, live(otherID, acct), domain.ErrNotFound},
		{"nil winner", nil, live(otherID, acct), domain.ErrNotFound},
		{"missing loser", live(cid, acct), &Contact{}, domain.ErrNotFound},
		{"itself", live(cid, acct), live(cid, acct), domain.ErrInvalidState},
		{"other account", live(cid, acct), live(otherID, acct2), domain.ErrNotFound},
		{"deleted loser", live(cid, acct), deleted, domain.ErrDeleted},
		{"deleted winner", given(createdWith(cid, acct, Profile{FirstName: "x"}), ContactDeleted{}), live(otherID, acct), domain.ErrDeleted},
		{"merged loser", live(cid, acct), merged, domain.ErrInvalidState},
		{"merged winner", given(createdWith(cid, acct, Profile{FirstName: "x"}), ContactMerged{Into: companyX}), live(otherID, acct), domain.ErrInvalidState},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			we, le, err := Merge(tc.winner, tc.loser)
			if we != nil || le != nil {
				t.Fatal("events with an error")
			}
			checkErr(t, err, tc.err)
		})
	}
}
