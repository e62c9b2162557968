package contact

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"

	"contacts/domain"
)

// sample holds one event of every type, in an order that applies sensibly.
func sample() []domain.Event {
	p := Profile{FirstName: "Ada", Email: "ada@x.io", Departments: []string{"Eng"}, ReplyBotEnabled: true,
		AdditionalAttributes: map[string]any{"n": 1.5, "list": []any{"a", 2.0, true, nil}, "obj": map[string]any{"k": "v"}}}
	return []domain.Event{
		ContactCreated{ID: cid, AccountID: acct, CreatedBy: user, Profile: p, Labels: []string{"a"},
			CustomAttributes: map[string]any{"plan": "pro"}},
		ContactUpdated{Changes: map[string]domain.Change{
			"departments":           {Old: []string{"Eng"}, New: []string{"Eng", "Ops"}},
			"opt_out":               {Old: false, New: true},
			"city":                  {Old: "", New: "Paris"},
			"additional_attributes": {Old: map[string]any{"n": 1.5}, New: map[string]any{"n": 2.0, "x": []any{"y"}}},
		}},
		ContactDeleted{},
		ContactRestored{},
		ContactInactivated{},
		ContactActivated{},
		LabelsAdded{Labels: []string{"b", "C"}},
		LabelsRemoved{Labels: []string{"a"}},
		NoteAdded{NoteID: "n1", Content: "hello", AuthorID: user},
		NoteEdited{NoteID: "n1", Content: "bye"},
		NoteRemoved{NoteID: "n1"},
		Assigned{AssignedTo: []string{"u1"}, Teams: []string{"t1", "t2"}},
		AccountAssociated{AccountID: acct2, Name: "P", Role: "r"},
		AccountDissociated{AccountID: acct2},
		CustomAttributesSet{Values: map[string]any{"seats": 3.0, "nested": map[string]any{"a": []any{1.0}}}},
		CustomAttributesRemoved{Keys: []string{"plan"}},
		ContactAbsorbed{From: otherID, Labels: []string{"z"}, Notes: []Note{{ID: "l1", Content: "c", AuthorID: "u",
			CreatedAt: at(1), UpdatedAt: at(2)}}, CustomAttributes: map[string]any{"k": "v"},
			AssociatedAccounts: []Association{{AccountID: companyX, Name: "X"}},
			Fields:             map[string]any{"phone": "+14155550100", "departments": []string{"Math"}, "blocked": true}},
		ContactMerged{Into: companyX},
		ContactErased{},
	}
}

func TestEventRoundTrip(t *testing.T) {
	events := sample()
	var types []string
	var decoded []domain.Event
	for _, e := range events {
		types = append(types, e.EventType())
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(e.EventType(), data)
		if err != nil {
			t.Fatalf("%s: %v", e.EventType(), err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("%s round trip\n got: %#v\nwant: %#v", e.EventType(), back, e)
		}
		decoded = append(decoded, back)
	}
	sort.Strings(types)
	if !reflect.DeepEqual(types, EventTypes()) {
		t.Fatalf("sample covers %v, package has %v", types, EventTypes())
	}
	if !reflect.DeepEqual(given(events...).State(), given(decoded...).State()) {
		t.Fatal("decoded events build another state")
	}
	// Decisions' events round-trip too.
	created, err := Create(CreateInput{ID: cid, AccountID: acct, NoteID: "n", Fields: map[string]any{
		"name": "A B", "departments": "x,y", "labels": "l", "notes": "n",
		"additional_attributes": map[string]any{"k": []any{1.0}}, "custom_attributes": map[string]any{"c": true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	c := given(created...)
	upd, err := c.Update(map[string]any{"departments": nil, "additional_attributes": map[string]any{"j": "v"}, "city": "X"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range append(created, upd...) {
		data, _ := json.Marshal(e)
		back, err := Decode(e.EventType(), data)
		if err != nil || !reflect.DeepEqual(back, e) {
			t.Fatalf("%s round trip: %#v vs %#v (%v)", e.EventType(), back, e, err)
		}
	}
}

func TestEventJSONIsSnakeCase(t *testing.T) {
	data, _ := json.Marshal(NoteAdded{NoteID: "n", Content: "c", AuthorID: "a"})
	if string(data) != `{"note_id":"n","content":"c","author_id":"a"}` {
		t.Fatalf("got %s", data)
	}
	data, _ = json.Marshal(ContactCreated{ID: "i", Profile: Profile{Region: "CA"}})
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	if m["id"] != "i" || m["state"] != "CA" || m["reply_bot_enabled"] != false {
		t.Fatalf("created JSON: %s", data)
	}
}

func TestDecodeErrors(t *testing.T) {
	if _, err := Decode("contact.nope", []byte(`{}`)); err == nil {
		t.Fatal("unknown type decoded")
	}
	if _, err := Decode(TypeCreated, []byte(`{"id":`)); err == nil {
		t.Fatal("bad JSON decoded")
	}
	if _, err := Decode(TypeLabelsAdded, []byte(`{"labels":"x"}`)); err == nil {
		t.Fatal("wrong type decoded")
	}
}
