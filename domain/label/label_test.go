package label

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
	lid  = "6f1c2a9e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
	acct = "11111111-2222-4333-8444-555555555555"
	user = "user-1"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func at(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }

func given(events ...domain.Event) *Label {
	l := &Label{}
	for i, e := range events {
		l.Apply(e, domain.Recorded{Version: int64(i + 1), At: at(i)})
	}
	return l
}

func created() LabelCreated {
	return LabelCreated{ID: lid, AccountID: acct, CreatedBy: user, Title: "VIP", Color: "#FF0000", Description: "d"}
}

type decision func(l *Label) ([]domain.Event, error)

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
			l := given(tc.given...)
			before := l.State()
			got, err := tc.when(l)
			if !reflect.DeepEqual(before, l.State()) {
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
	return func(*Label) ([]domain.Event, error) {
		return Create(CreateInput{ID: lid, AccountID: acct, CreatedBy: user, Fields: fields})
	}
}

func update(fields map[string]any) decision {
	return func(l *Label) ([]domain.Event, error) { return l.Update(fields) }
}

func del(l *Label) ([]domain.Event, error) { return l.Delete() }

func labelCreated(title, color, description string) LabelCreated {
	return LabelCreated{ID: lid, AccountID: acct, CreatedBy: user, Title: title, Color: color, Description: description}
}

func TestDecisions(t *testing.T) {
	deleted := []domain.Event{created(), LabelDeleted{}}
	changes := func(kv ...string) []domain.Event {
		m := map[string]domain.Change{}
		for i := 0; i < len(kv); i += 3 {
			m[kv[i]] = domain.Change{Old: kv[i+1], New: kv[i+2]}
		}
		return []domain.Event{LabelUpdated{Changes: m}}
	}
	run(t, []tcase{
		{name: "create", when: create(map[string]any{"title": " VIP ", "color": "#ff0000", "description": "d"}),
			want: []domain.Event{created()}},
		{name: "default colour", when: create(map[string]any{"title": "x"}),
			want: []domain.Event{labelCreated("x", DefaultColor, "")}},
		{name: "null colour is the default", when: create(map[string]any{"title": "x", "color": nil}),
			want: []domain.Event{labelCreated("x", DefaultColor, "")}},
		{name: "short colour expands", when: create(map[string]any{"title": "x", "color": "#f9a"}),
			want: []domain.Event{labelCreated("x", "#FF99AA", "")}},
		{name: "longest title", when: create(map[string]any{"title": strings.Repeat("é", 50)}),
			want: []domain.Event{labelCreated(strings.Repeat("é", 50), DefaultColor, "")}},
		{name: "title required", when: create(map[string]any{"color": "#fff"}), err: domain.ErrValidation,
			fields: []string{"title"}},
		{name: "invalid fields", when: create(map[string]any{"title": "a,b", "color": "red", "description": strings.Repeat("d", 1001), "x": 1.0}),
			err: domain.ErrValidation, fields: []string{"title", "color", "description", "x"}},
		{name: "title too long", when: create(map[string]any{"title": strings.Repeat("t", 51)}), err: domain.ErrValidation,
			fields: []string{"title"}},
		{name: "bad colours", when: create(map[string]any{"title": "t", "color": "#12345G"}), err: domain.ErrValidation,
			fields: []string{"color"}},
		{name: "colour without hash", when: create(map[string]any{"title": "t", "color": "1F93FF"}), err: domain.ErrValidation,
			fields: []string{"color"}},
		{name: "colour too long", when: create(map[string]any{"title": "t", "color": "#1F93FF00"}), err: domain.ErrValidation,
			fields: []string{"color"}},
		{name: "wrong types", when: create(map[string]any{"title": true, "color": 1.0}), err: domain.ErrValidation,
			fields: []string{"title", "color"}},
		{name: "ids required", when: func(*Label) ([]domain.Event, error) {
			return Create(CreateInput{Fields: map[string]any{"title": "x"}})
		}, err: domain.ErrValidation, fields: []string{"id", "account_id"}},
		{name: "update", given: []domain.Event{created()}, when: update(map[string]any{"title": "Gold", "color": "#F00", "description": ""}),
			want: changes("title", "VIP", "Gold", "description", "d", "")},
		{name: "colour reset", given: []domain.Event{created()}, when: update(map[string]any{"color": ""}),
			want: changes("color", "#FF0000", DefaultColor)},
		{name: "update without change", given: []domain.Event{created()}, when: update(map[string]any{"title": "VIP", "color": "#ff0000"})},
		{name: "update clears title", given: []domain.Event{created()}, when: update(map[string]any{"title": nil}),
			err: domain.ErrValidation, fields: []string{"title"}},
		{name: "update read-only", given: []domain.Event{created()}, when: update(map[string]any{"id": "x"}),
			err: domain.ErrValidation, fields: []string{"id"}},
		{name: "update missing", when: update(map[string]any{"title": "x"}), err: domain.ErrNotFound},
		{name: "update deleted", given: deleted, when: update(map[string]any{"title": "x"}), err: domain.ErrDeleted},
		{name: "delete", given: []domain.Event{created()}, when: del, want: []domain.Event{LabelDeleted{}}},
		{name: "delete deleted", given: deleted, when: del, err: domain.ErrDeleted},
		{name: "delete missing", when: del, err: domain.ErrNotFound},
	})
}

func TestStateAndRoundTrip(t *testing.T) {
	events := []domain.Event{
		created(),
		LabelUpdated{Changes: map[string]domain.Change{"title": {Old: "VIP", New: "Gold"}, "color": {Old: "#FF0000", New: "#00FF00"}}},
		LabelDeleted{},
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
	l := given(events[:2]...)
	s := l.State()
	if s.Title != "Gold" || s.Color != "#00FF00" || s.Description != "d" || s.Version != 2 || s.Deleted ||
		!s.CreatedAt.Equal(at(0)) || !s.UpdatedAt.Equal(at(1)) || l.Title() != "Gold" {
		t.Fatalf("state: %+v", s)
	}
	if k := l.UniqueKeys(); !reflect.DeepEqual(k, map[string]string{"label_title": "gold"}) {
		t.Fatalf("keys: %v", k)
	}
	full, back := given(events...), given(decoded...)
	if !reflect.DeepEqual(full.State(), back.State()) {
		t.Fatal("decoded events build another state")
	}
	if st := full.State(); !st.Deleted || st.DeletedAt == nil || len(full.UniqueKeys()) != 0 || !full.Deleted() {
		t.Fatalf("deleted: %+v", st)
	}
	if _, err := Decode("label.nope", nil); err == nil {
		t.Fatal("unknown type decoded")
	}
	ev := created()
	p := &Label{}
	p.Apply(&ev, domain.Recorded{Version: 1, At: at(0)})
	if !p.Exists() || p.ID() != lid || p.AccountID() != acct || p.Version() != 1 || p.State().Title != "VIP" {
		t.Fatal("pointer event")
	}
	data, _ := json.Marshal(p.State())
	for _, k := range []string{`"title":"VIP"`, `"color":"#FF0000"`, `"deleted_at":null`, `"version":1`, `"created_at":`} {
		if !strings.Contains(string(data), k) {
			t.Errorf("state JSON lacks %s: %s", k, data)
		}
	}
}
