package contact

import (
	"reflect"
	"testing"

	"contacts/domain"
)

func update(fields map[string]any) decision {
	return func(c *Contact) ([]domain.Event, error) { return c.Update(fields) }
}

func TestUpdate(t *testing.T) {
	rich := created()
	rich.Departments = []string{"Eng"}
	rich.AdditionalAttributes = map[string]any{"a": 1.0, "b": "x"}
	rich.Labels = []string{"Lead", "vip"}
	rich.CustomAttributes = map[string]any{"plan": "pro", "seats": 3.0}
	ch := func(old, new any) domain.Change { return domain.Change{Old: old, New: new} }
	updated := func(changes map[string]domain.Change) ContactUpdated { return ContactUpdated{Changes: changes} }
	run(t, []tcase{
		{name: "changed fields only", given: []domain.Event{rich}, when: update(map[string]any{
			"first_name": "Ada", "title": "Countess", "phone_number": "+14155550100", "opt_out": true,
			"departments": "Eng, Math", "email": "ada@EXAMPLE.com", "reply_bot_enabled": true,
		}), want: []domain.Event{updated(map[string]domain.Change{
			"title":       ch("", "Countess"),
			"phone":       ch("", "+14155550100"),
			"opt_out":     ch(false, true),
			"departments": ch([]string{"Eng"}, []string{"Eng", "Math"}),
		})}},
		{name: "no real change emits nothing", given: []domain.Event{rich}, when: update(map[string]any{
			"first_name": " Ada ", "name": "ignored", "email": "ada@Example.COM", "departments": []any{"Eng"},
			"labels": []any{"VIP", "lead"}, "custom_attributes": map[string]any{"plan": "pro", "missing": nil},
			"additional_attributes": map[string]any{"a": 1.0}, "state": nil,
		})},
		{name: "empty input emits nothing", given: []domain.Event{rich}, when: update(map[string]any{})},
		{name: "null and empty string clear", given: []domain.Event{rich}, when: update(map[string]any{
			"last_name": nil, "departments": "", "additional_attributes": nil,
		}), want: []domain.Event{updated(map[string]domain.Change{
			"last_name":             ch("Lovelace", ""),
			"departments":           ch([]string{"Eng"}, []string(nil)),
			"additional_attributes": ch(map[string]any{"a": 1.0, "b": "x"}, map[string]any(nil)),
		})}},
		{name: "name replaces both parts", given: []domain.Event{rich}, when: update(map[string]any{"name": "Grace"}),
			want: []domain.Event{updated(map[string]domain.Change{
				"first_name": ch("Ada", "Grace"), "last_name": ch("Lovelace", ""),
			})}},
		{name: "additional attributes merge", given: []domain.Event{rich}, when: update(map[string]any{
			"additional_attributes": map[string]any{"a": nil, "c": []any{"y"}},
		}), want: []domain.Event{updated(map[string]domain.Change{
			"additional_attributes": ch(map[string]any{"a": 1.0, "b": "x"}, map[string]any{"b": "x", "c": []any{"y"}}),
		})}},
		{name: "labels replace the set", given: []domain.Event{rich}, when: update(map[string]any{"tags": "VIP, new, New"}),
			want: []domain.Event{ContactUpdated{Changes: map[string]domain.Change{}, Labels: []string{"new"}, LabelsRemoved: []string{"Lead"}}}},
		{name: "null labels remove all", given: []domain.Event{rich}, when: update(map[string]any{"labels": nil}),
			want: []domain.Event{LabelsRemoved{Labels: []string{"Lead", "vip"}}}},
		{name: "custom attributes merge", given: []domain.Event{rich}, when: update(map[string]any{
			"custom_fields": map[string]any{"plan": "team", "seats": nil, "region": "eu", "x": nil},
		}), want: []domain.Event{ContactUpdated{Changes: map[string]domain.Change{},
			CustomAttributesSet:     map[string]any{"plan": "team", "region": "eu"},
			CustomAttributesRemoved: []string{"seats"},
		}}},
		{name: "null custom attributes remove all", given: []domain.Event{rich}, when: update(map[string]any{"custom_attributes": nil}),
			want: []domain.Event{CustomAttributesRemoved{Keys: []string{"plan", "seats"}}}},
		// One update is one event (one version), whatever it changes.
		{name: "fields, labels and custom attributes in one event", given: []domain.Event{rich}, when: update(map[string]any{
			"city": "Paris", "labels": []any{"x"}, "custom_attributes": map[string]any{"plan": nil},
		}), want: []domain.Event{ContactUpdated{
			Changes:                 map[string]domain.Change{"city": ch("", "Paris")},
			Labels:                  []string{"x"},
			LabelsRemoved:           []string{"Lead", "vip"},
			CustomAttributesRemoved: []string{"plan"},
		}}},
		{name: "fields and labels in one event", given: []domain.Event{rich}, when: update(map[string]any{
			"title": "CTO", "labels": []any{"Lead", "vip", "new"},
		}), want: []domain.Event{ContactUpdated{
			Changes: map[string]domain.Change{"title": ch("", "CTO")}, Labels: []string{"new"},
		}}},
		{name: "fields and custom attributes in one event", given: []domain.Event{rich}, when: update(map[string]any{
			"title": "CTO", "custom_attributes": map[string]any{"seats": 4.0},
		}), want: []domain.Event{ContactUpdated{
			Changes: map[string]domain.Change{"title": ch("", "CTO")}, CustomAttributesSet: map[string]any{"seats": 4.0},
		}}},
		{name: "cannot clear every identity", given: []domain.Event{rich}, when: update(map[string]any{
			"name": "", "email": nil,
		}), err: domain.ErrValidation, fields: []string{"first_name"}},
		{name: "notes are refused", given: []domain.Event{rich}, when: update(map[string]any{"notes": "x"}),
			err: domain.ErrValidation, fields: []string{"notes"}},
		{name: "validation errors collected", given: []domain.Event{rich}, when: update(map[string]any{
			"email": "bad", "mobile_number": "bad", "nope": 1.0, "version": 3.0,
		}), err: domain.ErrValidation, fields: []string{"email", "mobile_number", "nope", "version"}},
		{name: "not found", when: update(map[string]any{"city": "x"}), err: domain.ErrNotFound},
		{name: "deleted", given: []domain.Event{rich, ContactDeleted{}}, when: update(map[string]any{"city": "x"}),
			err: domain.ErrDeleted},
		{name: "merged", given: []domain.Event{rich, ContactMerged{Into: otherID}}, when: update(map[string]any{"city": "x"}),
			err: domain.ErrInvalidState},
	})
}

func TestUpdateApplied(t *testing.T) {
	c := given(created())
	events, err := c.Update(map[string]any{
		"name": "Grace Hopper", "departments": "Navy", "additional_attributes": map[string]any{"k": "v"},
		"labels": "a", "custom_attributes": map[string]any{"x": 1.0},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range events {
		c.Apply(e, domain.Recorded{Version: int64(i + 2), At: at(i + 1)})
	}
	s := c.State()
	if s.Name != "Grace Hopper" || s.Departments[0] != "Navy" || s.AdditionalAttributes["k"] != "v" ||
		s.Labels[0] != "a" || s.CustomAttributes["x"] != 1.0 || s.Version != int64(len(events)+1) {
		t.Fatalf("state after update: %+v", s)
	}
	again, err := c.Update(map[string]any{"name": "Grace Hopper", "labels": []any{"A"}})
	if err != nil || len(again) != 0 {
		t.Fatalf("repeating an update should emit nothing: %v %v", again, err)
	}
}

// One update, applied, moves the version by one and changes what the update
// asked, labels and custom attributes included.
func TestUpdateIsOneVersion(t *testing.T) {
	rich := created()
	rich.Labels = []string{"Lead", "vip"}
	rich.CustomAttributes = map[string]any{"plan": "pro", "seats": 3.0}
	for _, tc := range []struct {
		name   string
		fields map[string]any
		check  func(s State) bool
	}{
		{"fields and labels", map[string]any{"title": "CTO", "labels": []any{"vip", "new"}},
			func(s State) bool { return s.Title == "CTO" && reflect.DeepEqual(s.Labels, []string{"new", "vip"}) }},
		{"labels replaced", map[string]any{"labels": []any{"x"}},
			func(s State) bool { return reflect.DeepEqual(s.Labels, []string{"x"}) }},
		{"fields and custom attributes", map[string]any{"city": "Paris", "custom_attributes": map[string]any{"plan": nil, "seats": 4.0, "eu": true}},
			func(s State) bool {
				return s.City == "Paris" && reflect.DeepEqual(s.CustomAttributes, map[string]any{"seats": 4.0, "eu": true})
			}},
		{"everything", map[string]any{"city": "Rome", "labels": nil, "custom_attributes": nil},
			func(s State) bool { return s.City == "Rome" && len(s.Labels) == 0 && len(s.CustomAttributes) == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := given(rich)
			evs, err := c.Update(tc.fields)
			if err != nil || len(evs) != 1 {
				t.Fatalf("update: %d events, %v", len(evs), err)
			}
			c.Apply(evs[0], domain.Recorded{Version: 2, At: at(1)})
			if s := c.State(); s.Version != 2 || !tc.check(s) {
				t.Fatalf("state after the update: %+v", s)
			}
		})
	}
}
