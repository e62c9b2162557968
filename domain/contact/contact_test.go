package contact

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"contacts/domain"
)

const (
	cid      = "6f1c2a9e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
	otherID  = "7a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
	acct     = "11111111-2222-4333-8444-555555555555"
	acct2    = "99999999-2222-4333-8444-555555555555"
	user     = "user-1"
	companyX = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// at is the record time of the i-th (0-based) event in given.
func at(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }

// given builds a contact by applying events with versions 1, 2, ...
func given(events ...domain.Event) *Contact {
	c := &Contact{}
	for i, e := range events {
		c.Apply(e, domain.Recorded{Version: int64(i + 1), At: at(i)})
	}
	return c
}

// created is a minimal creation event.
func created() ContactCreated {
	return createdWith(cid, acct, Profile{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", ReplyBotEnabled: true})
}

func createdWith(id, account string, p Profile) ContactCreated {
	return ContactCreated{ID: id, AccountID: account, CreatedBy: user, Profile: p}
}

type decision func(c *Contact) ([]domain.Event, error)

type tcase struct {
	name   string
	given  []domain.Event
	when   decision
	want   []domain.Event // nil: expect no events (when err is nil)
	err    error          // sentinel the error must match
	fields []string       // field names the *domain.Error must name exactly
}

func run(t *testing.T, cases []tcase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := given(tc.given...)
			before := c.State()
			got, err := tc.when(c)
			if !reflect.DeepEqual(c.State(), before) {
				t.Fatalf("decision mutated the aggregate")
			}
			checkResult(t, got, err, tc.want, tc.err, tc.fields)
		})
	}
}

func checkResult(t *testing.T, got []domain.Event, err error, want []domain.Event, wantErr error, fields []string) {
	t.Helper()
	if wantErr != nil {
		checkErr(t, err, wantErr, fields...)
		if got != nil {
			t.Fatalf("events returned with an error: %v", got)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if len(want) == 0 {
		if got == nil || len(got) != 0 {
			t.Fatalf("want an empty event slice, got %#v", got)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events\n got: %s\nwant: %s", js(got), js(want))
	}
}

func checkErr(t *testing.T, err, sentinel error, fields ...string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("want %v, got %v", sentinel, err)
	}
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("want *domain.Error, got %T", err)
	}
	if fields == nil {
		return
	}
	got := domain.SortedKeys(de.Fields)
	sort.Strings(fields)
	if !reflect.DeepEqual(got, fields) {
		t.Fatalf("error fields: got %v (%v), want %v", got, de.Fields, fields)
	}
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestStateLifecycle(t *testing.T) {
	c := given(
		created(),
		LabelsAdded{Labels: []string{"zeta", "Alpha"}},
		NoteAdded{NoteID: "n2", Content: "second?", AuthorID: user},
		NoteAdded{NoteID: "n1", Content: "first", AuthorID: user},
		NoteEdited{NoteID: "n2", Content: "edited"},
		ContactInactivated{},
		ContactDeleted{},
	)
	s := c.State()
	if s.Name != "Ada Lovelace" || s.ID != cid || s.AccountID != acct || s.CreatedBy != user {
		t.Fatalf("identity: %+v", s)
	}
	if !reflect.DeepEqual(s.Labels, []string{"Alpha", "zeta"}) {
		t.Fatalf("labels not sorted: %v", s.Labels)
	}
	if len(s.Notes) != 2 || s.Notes[0].ID != "n2" || s.Notes[0].Content != "edited" ||
		!s.Notes[0].CreatedAt.Equal(at(2)) || !s.Notes[0].UpdatedAt.Equal(at(4)) {
		t.Fatalf("notes: %+v", s.Notes)
	}
	if s.Active || s.InactivatedAt == nil || !s.InactivatedAt.Equal(at(5)) {
		t.Fatalf("inactive: %+v", s)
	}
	if !s.Deleted || s.DeletedAt == nil || !s.DeletedAt.Equal(at(6)) || s.Version != 7 ||
		!s.CreatedAt.Equal(at(0)) || !s.UpdatedAt.Equal(at(6)) {
		t.Fatalf("lifecycle: %+v", s)
	}
	if len(c.UniqueKeys()) != 0 {
		t.Fatalf("deleted contact holds keys: %v", c.UniqueKeys())
	}
	c.Apply(ContactRestored{}, domain.Recorded{Version: 8, At: at(7)})
	c.Apply(ContactActivated{}, domain.Recorded{Version: 9, At: at(8)})
	s = c.State()
	if s.Deleted || s.DeletedAt != nil || !s.Active || s.InactivatedAt != nil {
		t.Fatalf("restored/activated: %+v", s)
	}
}

func TestStateIsADeepCopy(t *testing.T) {
	p := created().Profile
	p.Departments = []string{"eng"}
	p.AdditionalAttributes = map[string]any{"a": []any{"x"}}
	c := given(createdWith(cid, acct, p), CustomAttributesSet{Values: map[string]any{"k": map[string]any{"n": 1.0}}})
	s := c.State()
	s.Departments[0] = "changed"
	s.AdditionalAttributes["a"].([]any)[0] = "changed"
	s.CustomAttributes["k"].(map[string]any)["n"] = 2.0
	s2 := c.State()
	if s2.Departments[0] != "eng" || s2.AdditionalAttributes["a"].([]any)[0] != "x" ||
		s2.CustomAttributes["k"].(map[string]any)["n"] != 1.0 {
		t.Fatalf("state shares memory with the aggregate: %+v", s2)
	}
}

func TestStateJSONShape(t *testing.T) {
	c := given(created())
	b, err := json.Marshal(c.State())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"uuid", "account_id", "name", "first_name", "last_name", "email", "state",
		"departments", "labels", "notes", "assigned_to", "teams", "associated_accounts",
		"custom_attributes", "additional_attributes", "reply_bot_enabled", "created_at",
		"updated_at", "inactivated_at", "active", "deleted", "deleted_at", "merged_into", "version"} {
		if _, ok := m[k]; !ok {
			t.Errorf("state JSON lacks %q", k)
		}
	}
	for _, k := range []string{"labels", "notes", "departments", "assigned_to", "teams", "associated_accounts"} {
		if _, ok := m[k].([]any); !ok {
			t.Errorf("%s should be a JSON array, got %v", k, m[k])
		}
	}
	if m["name"] != "Ada Lovelace" || m["version"] != 1.0 || m["active"] != true {
		t.Errorf("state JSON: %s", b)
	}
}

func TestUniqueKeys(t *testing.T) {
	p := Profile{Email: "Ada@Example.com", Phone: "+14155550100", Identifier: "crm-1", MobilePhone: "+14155550199"}
	c := given(createdWith(cid, acct, p))
	want := map[string]string{"email": "ada@example.com", "phone": "+14155550100", "identifier": "crm-1"}
	if !reflect.DeepEqual(c.UniqueKeys(), want) {
		t.Fatalf("got %v", c.UniqueKeys())
	}
	c = given(createdWith(cid, acct, Profile{FirstName: "x"}))
	if k := c.UniqueKeys(); k == nil || len(k) != 0 {
		t.Fatalf("want empty map, got %v", k)
	}
	c = given(created(), ContactMerged{Into: otherID})
	if k := c.UniqueKeys(); k == nil || len(k) != 0 {
		t.Fatalf("merged: want empty map, got %v", k)
	}
	if k := (&Contact{}).UniqueKeys(); k == nil || len(k) != 0 {
		t.Fatalf("zero value: want empty map, got %v", k)
	}
}

func TestApplyAcceptsPointersAndIgnoresUnknown(t *testing.T) {
	ev := created()
	a := given(ev)
	b := &Contact{}
	b.Apply(&ev, domain.Recorded{Version: 1, At: at(0)})
	if !reflect.DeepEqual(a.State(), b.State()) {
		t.Fatalf("pointer event applied differently")
	}
	before := a.State()
	a.Apply(unknownEvent{}, domain.Recorded{Version: 2, At: at(5)})
	after := a.State()
	if after.Version != 2 {
		t.Fatalf("version should follow the stream, got %d", after.Version)
	}
	after.Version = before.Version
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("unknown event changed state")
	}
}

type unknownEvent struct{}

func (unknownEvent) EventType() string { return "contact.from_the_future" }

func TestZeroValue(t *testing.T) {
	var c Contact
	if c.Exists() || c.Version() != 0 || c.ID() != "" || c.AccountID() != "" {
		t.Fatal("zero value should be an uncreated contact")
	}
}
