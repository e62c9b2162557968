package group

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"contacts/domain"
)

const (
	gid  = "6f1c2a9e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
	acct = "11111111-2222-4333-8444-555555555555"
	user = "user-1"
	c1   = "00000000-0000-4000-8000-000000000001"
	c2   = "00000000-0000-4000-8000-000000000002"
	c3   = "00000000-0000-4000-8000-000000000003"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func at(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }

func given(events ...domain.Event) *Group {
	g := &Group{}
	for i, e := range events {
		g.Apply(e, domain.Recorded{Version: int64(i + 1), At: at(i)})
	}
	return g
}

func created() GroupCreated {
	return GroupCreated{ID: gid, AccountID: acct, CreatedBy: user, Name: "VIPs", Description: "best"}
}

type decision func(g *Group) ([]domain.Event, error)

type tcase struct {
	name   string
	given  []domain.Event
	when   decision
	want   []domain.Event
	err    error
	fields []string
}

func run(t *testing.T, cases []tcase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := given(tc.given...)
			before := g.State()
			got, err := tc.when(g)
			if !reflect.DeepEqual(before, g.State()) {
				t.Fatal("decision mutated the aggregate")
			}
			if tc.err != nil {
				var de *domain.Error
				if !errors.Is(err, tc.err) || !errors.As(err, &de) {
					t.Fatalf("want *domain.Error %v, got %v", tc.err, err)
				}
				if tc.fields != nil {
					sort.Strings(tc.fields)
					if k := domain.SortedKeys(de.Fields); !reflect.DeepEqual(k, tc.fields) {
						t.Fatalf("error fields %v (%v), want %v", k, de.Fields, tc.fields)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(tc.want) == 0 {
				if got == nil || len(got) != 0 {
					t.Fatalf("want an empty event slice, got %#v", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events\n got: %#v\nwant: %#v", got, tc.want)
			}
		})
	}
}

func create(fields map[string]any) decision {
	return func(*Group) ([]domain.Event, error) {
		return Create(CreateInput{ID: gid, AccountID: acct, CreatedBy: user, Fields: fields})
	}
}

func update(fields map[string]any) decision {
	return func(g *Group) ([]domain.Event, error) { return g.Update(fields) }
}

func add(ids ...string) decision {
	return func(g *Group) ([]domain.Event, error) { return g.AddMembers(ids) }
}

func remove(ids ...string) decision {
	return func(g *Group) ([]domain.Event, error) { return g.RemoveMembers(ids) }
}

func del(g *Group) ([]domain.Event, error) { return g.Delete() }

func TestCreateUpdateDelete(t *testing.T) {
	deleted := []domain.Event{created(), GroupDeleted{}}
	run(t, []tcase{
		{name: "create", when: create(map[string]any{"name": " VIPs ", "description": "best "}),
			want: []domain.Event{created()}},
		{name: "create without description", when: create(map[string]any{"name": "A"}),
			want: []domain.Event{GroupCreated{ID: gid, AccountID: acct, CreatedBy: user, Name: "A"}}},
		{name: "name required", when: create(map[string]any{"description": "x"}), err: domain.ErrValidation,
			fields: []string{"name"}},
		{name: "invalid fields", when: create(map[string]any{"name": strings.Repeat("n", 101),
			"description": strings.Repeat("d", 1001), "color": "red", "contact_ids": []any{}}),
			err: domain.ErrValidation, fields: []string{"name", "description", "color", "contact_ids"}},
		{name: "wrong type", when: create(map[string]any{"name": 1.0}), err: domain.ErrValidation, fields: []string{"name"}},
		{name: "ids required", when: func(*Group) ([]domain.Event, error) {
			return Create(CreateInput{Fields: map[string]any{"name": "x"}})
		}, err: domain.ErrValidation, fields: []string{"id", "account_id"}},
		{name: "update", given: []domain.Event{created()}, when: update(map[string]any{"name": "Top", "description": "best"}),
			want: []domain.Event{GroupUpdated{Changes: map[string]domain.Change{"name": {Old: "VIPs", New: "Top"}}}}},
		{name: "clear description", given: []domain.Event{created()}, when: update(map[string]any{"description": nil}),
			want: []domain.Event{GroupUpdated{Changes: map[string]domain.Change{"description": {Old: "best", New: ""}}}}},
		{name: "update without change", given: []domain.Event{created()}, when: update(map[string]any{"name": "VIPs"})},
		{name: "update clears name", given: []domain.Event{created()}, when: update(map[string]any{"name": ""}),
			err: domain.ErrValidation, fields: []string{"name"}},
		{name: "update missing", when: update(map[string]any{"name": "x"}), err: domain.ErrNotFound},
		{name: "update deleted", given: deleted, when: update(map[string]any{"name": "x"}), err: domain.ErrDeleted},
		{name: "delete", given: []domain.Event{created(), MembersAdded{ContactIDs: []string{c1}}}, when: del,
			want: []domain.Event{GroupDeleted{}}},
		{name: "delete deleted", given: deleted, when: del, err: domain.ErrDeleted},
		{name: "delete missing", when: del, err: domain.ErrNotFound},
	})
}

func TestMembers(t *testing.T) {
	withMembers := []domain.Event{created(), MembersAdded{ContactIDs: []string{c1, c2}}}
	tooMany := make([]string, MaxMembersPerCall+1)
	for i := range tooMany {
		tooMany[i] = c3
	}
	run(t, []tcase{
		{name: "add new only", given: withMembers, when: add(c3, strings.ToUpper(c1), c3),
			want: []domain.Event{MembersAdded{ContactIDs: []string{c3}}}},
		{name: "add nothing new", given: withMembers, when: add(c2)},
		{name: "add none", given: withMembers, when: add()},
		{name: "add invalid id", given: withMembers, when: add(c3, "nope"), err: domain.ErrValidation,
			fields: []string{"contact_ids"}},
		{name: "add too many", given: withMembers, when: add(tooMany...), err: domain.ErrValidation,
			fields: []string{"contact_ids"}},
		{name: "add the maximum", given: withMembers, when: add(tooMany[1:]...),
			want: []domain.Event{MembersAdded{ContactIDs: []string{c3}}}},
		{name: "add to deleted", given: append(withMembers, GroupDeleted{}), when: add(c3), err: domain.ErrDeleted},
		{name: "add to missing", when: add(c3), err: domain.ErrNotFound},
		{name: "remove present only", given: withMembers, when: remove(c2, c3, c1),
			want: []domain.Event{MembersRemoved{ContactIDs: []string{c1, c2}}}},
		{name: "remove absent", given: withMembers, when: remove(c3)},
		{name: "remove invalid", given: withMembers, when: remove(""), err: domain.ErrValidation},
		{name: "remove from deleted", given: append(withMembers, GroupDeleted{}), when: remove(c1), err: domain.ErrDeleted},
	})
}

func TestStateAndRoundTrip(t *testing.T) {
	events := []domain.Event{
		created(),
		GroupUpdated{Changes: map[string]domain.Change{"name": {Old: "VIPs", New: "Top"}, "description": {Old: "best", New: ""}}},
		MembersAdded{ContactIDs: []string{c3, c1, c2}},
		MembersRemoved{ContactIDs: []string{c2}},
		GroupDeleted{},
	}
	var types []string
	var decoded []domain.Event
	for _, e := range events {
		types = append(types, e.EventType())
		data, _ := json.Marshal(e)
		back, err := Decode(e.EventType(), data)
		if err != nil || !reflect.DeepEqual(back, e) {
			t.Fatalf("%s round trip: %#v vs %#v (%v)", e.EventType(), back, e, err)
		}
		decoded = append(decoded, back)
	}
	sort.Strings(types)
	if !reflect.DeepEqual(types, EventTypes()) {
		t.Fatalf("types %v vs %v", types, EventTypes())
	}
	g := given(events[:4]...)
	s := g.State()
	if s.Name != "Top" || s.Description != "" || s.MemberCount != 2 || !reflect.DeepEqual(s.ContactIDs, []string{c1, c3}) ||
		s.Version != 4 || !s.UpdatedAt.Equal(at(3)) || s.Deleted || !g.HasMember(c1) || g.HasMember(c2) ||
		!g.HasMember(strings.ToUpper(c3)) {
		t.Fatalf("state: %+v", s)
	}
	if k := g.UniqueKeys(); !reflect.DeepEqual(k, map[string]string{"group_name": "top"}) {
		t.Fatalf("keys: %v", k)
	}
	s.ContactIDs[0] = "changed"
	if g.State().ContactIDs[0] != c1 {
		t.Fatal("state shares memory")
	}
	full, back := given(events...), given(decoded...)
	if !reflect.DeepEqual(full.State(), back.State()) {
		t.Fatal("decoded events build another state")
	}
	if st := full.State(); !st.Deleted || st.DeletedAt == nil || st.MemberCount != 2 || len(full.UniqueKeys()) != 0 {
		t.Fatalf("deleted state: %+v", st)
	}
	if k := (&Group{}).UniqueKeys(); k == nil || len(k) != 0 {
		t.Fatal("zero value keys")
	}
	empty := given(created()).State()
	if empty.ContactIDs == nil || empty.MemberCount != 0 {
		t.Fatalf("empty group: %+v", empty)
	}
	if _, err := Decode("group.nope", nil); err == nil {
		t.Fatal("unknown type decoded")
	}
	ev := created()
	p := &Group{}
	p.Apply(&ev, domain.Recorded{Version: 1, At: at(0)})
	p.Apply(unknown{}, domain.Recorded{Version: 2, At: at(1)})
	if !p.Exists() || p.ID() != gid || p.AccountID() != acct || p.Version() != 2 || !p.State().UpdatedAt.Equal(at(0)) {
		t.Fatalf("pointer / unknown events: %+v", p.State())
	}
}

type unknown struct{}

func (unknown) EventType() string { return "group.future" }
