package company

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
	coID = "6f1c2a9e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
	acct = "11111111-2222-4333-8444-555555555555"
	user = "user-1"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func at(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }

func given(events ...domain.Event) *Company {
	c := &Company{}
	for i, e := range events {
		c.Apply(e, domain.Recorded{Version: int64(i + 1), At: at(i)})
	}
	return c
}

func i64(n int64) *int64      { return &n }
func f64(n float64) *float64  { return &n }
func created() CompanyCreated { return createdWith(Profile{Name: "Acme"}) }
func createdWith(p Profile) CompanyCreated {
	return CompanyCreated{ID: coID, AccountID: acct, CreatedBy: user, Profile: p}
}

type decision func(c *Company) ([]domain.Event, error)

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
			c := given(tc.given...)
			before := c.State()
			got, err := tc.when(c)
			if !reflect.DeepEqual(before, c.State()) {
				t.Fatal("decision mutated the aggregate")
			}
			if tc.err != nil {
				checkErr(t, err, tc.err, tc.fields...)
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
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tc.want)
				t.Fatalf("events\n got: %s\nwant: %s", g, w)
			}
		})
	}
}

func checkErr(t *testing.T, err, sentinel error, fields ...string) {
	t.Helper()
	var de *domain.Error
	if !errors.Is(err, sentinel) || !errors.As(err, &de) {
		t.Fatalf("want *domain.Error %v, got %v", sentinel, err)
	}
	if fields == nil {
		return
	}
	sort.Strings(fields)
	if got := domain.SortedKeys(de.Fields); !reflect.DeepEqual(got, fields) {
		t.Fatalf("error fields: got %v (%v), want %v", got, de.Fields, fields)
	}
}

func create(fields map[string]any) decision {
	return func(*Company) ([]domain.Event, error) {
		return Create(CreateInput{ID: coID, AccountID: acct, CreatedBy: user, Fields: fields})
	}
}

func update(fields map[string]any) decision {
	return func(c *Company) ([]domain.Event, error) { return c.Update(fields) }
}

func TestCreate(t *testing.T) {
	run(t, []tcase{
		{name: "full", when: create(map[string]any{
			"name": " Acme ", "domain": "https://WWW.Acme.io/about", "industries": "Retail, Tech, Retail",
			"keywords": []any{"a", "b"}, "technologies": []any{"go"}, "employees": 120.0, "annual_revenue": 1.5e6,
			"address_line": "1 St", "city": "X", "state": "CA", "postcode": "1", "country": "US",
			"text_search": "1 St X", "phone": "+1 415 555 0100", "website": "https://acme.io",
		}), want: []domain.Event{createdWith(Profile{
			Name: "Acme", Domain: "www.acme.io", Industries: []string{"Retail", "Tech"}, Keywords: []string{"a", "b"},
			Technologies: []string{"go"}, Employees: i64(120), AnnualRevenue: f64(1.5e6), AddressLine: "1 St",
			City: "X", Region: "CA", Postcode: "1", Country: "US", TextSearch: "1 St X", Phone: "+14155550100",
			Website: "https://acme.io",
		})}},
		{name: "minimal", when: create(map[string]any{"name": "Acme", "employees": nil}), want: []domain.Event{created()}},
		{name: "zero employees is known", when: create(map[string]any{"name": "Acme", "employees": 0.0}),
			want: []domain.Event{createdWith(Profile{Name: "Acme", Employees: i64(0)})}},
		{name: "name required", when: create(map[string]any{"city": "X"}), err: domain.ErrValidation, fields: []string{"name"}},
		{name: "blank name", when: create(map[string]any{"name": "  "}), err: domain.ErrValidation, fields: []string{"name"}},
		{name: "ids required", when: func(*Company) ([]domain.Event, error) {
			return Create(CreateInput{Fields: map[string]any{"name": "A"}})
		}, err: domain.ErrValidation, fields: []string{"id", "account_id"}},
		{name: "every kind of error", when: create(map[string]any{
			"name": strings.Repeat("n", 256), "domain": "not a domain", "industries": 3.0, "keywords": []any{1.0},
			"employees": 1.5, "annual_revenue": -1.0, "city": true, "text_search": strings.Repeat("t", 1001),
			"phone": "123", "website": "acme.io", "id": "x", "founded": 1999.0,
		}), err: domain.ErrValidation, fields: []string{"name", "domain", "industries", "keywords", "employees",
			"annual_revenue", "city", "text_search", "phone", "website", "id", "founded"}},
		{name: "numbers must be numbers", when: create(map[string]any{"name": "A", "employees": "12", "annual_revenue": "1"}),
			err: domain.ErrValidation, fields: []string{"employees", "annual_revenue"}},
		{name: "negative employees", when: create(map[string]any{"name": "A", "employees": -3.0}),
			err: domain.ErrValidation, fields: []string{"employees"}},
	})
}

func TestUpdateAndDelete(t *testing.T) {
	rich := createdWith(Profile{Name: "Acme", Industries: []string{"Retail"}, Employees: i64(10), AnnualRevenue: f64(5)})
	ch := func(old, new any) domain.Change { return domain.Change{Old: old, New: new} }
	run(t, []tcase{
		{name: "changes only", given: []domain.Event{rich}, when: update(map[string]any{
			"name": "Acme", "industries": "Retail,Tech", "employees": 11.0, "annual_revenue": 5.0, "city": "X",
		}), want: []domain.Event{CompanyUpdated{Changes: map[string]domain.Change{
			"industries": ch([]string{"Retail"}, []string{"Retail", "Tech"}),
			"employees":  ch(int64(10), int64(11)),
			"city":       ch("", "X"),
		}}}},
		{name: "clear", given: []domain.Event{rich}, when: update(map[string]any{"employees": nil, "industries": nil, "annual_revenue": nil}),
			want: []domain.Event{CompanyUpdated{Changes: map[string]domain.Change{
				"employees":      ch(int64(10), nil),
				"annual_revenue": ch(5.0, nil),
				"industries":     ch([]string{"Retail"}, []string(nil)),
			}}}},
		{name: "no change", given: []domain.Event{rich}, when: update(map[string]any{"name": " Acme ", "employees": 10.0})},
		{name: "name cannot be cleared", given: []domain.Event{rich}, when: update(map[string]any{"name": nil}),
			err: domain.ErrValidation, fields: []string{"name"}},
		{name: "unknown field", given: []domain.Event{rich}, when: update(map[string]any{"x": 1.0, "version": 2.0}),
			err: domain.ErrValidation, fields: []string{"x", "version"}},
		{name: "update missing", when: update(map[string]any{"city": "x"}), err: domain.ErrNotFound},
		{name: "update deleted", given: []domain.Event{rich, CompanyDeleted{}}, when: update(map[string]any{"city": "x"}),
			err: domain.ErrDeleted},
		{name: "delete", given: []domain.Event{rich}, when: func(c *Company) ([]domain.Event, error) { return c.Delete() },
			want: []domain.Event{CompanyDeleted{}}},
		{name: "delete deleted", given: []domain.Event{rich, CompanyDeleted{}},
			when: func(c *Company) ([]domain.Event, error) { return c.Delete() }, err: domain.ErrDeleted},
		{name: "delete missing", when: func(c *Company) ([]domain.Event, error) { return c.Delete() }, err: domain.ErrNotFound},
	})
}

func TestStateAndRoundTrip(t *testing.T) {
	events := []domain.Event{
		createdWith(Profile{Name: "Acme", Keywords: []string{"k"}, Employees: i64(3), AnnualRevenue: f64(2.5)}),
		CompanyUpdated{Changes: map[string]domain.Change{
			"employees":    {Old: int64(3), New: int64(4)},
			"technologies": {Old: []string(nil), New: []string{"go", "sql"}},
			"city":         {Old: "", New: "Paris"},
		}},
		CompanyDeleted{},
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
	a, b := given(events...), given(decoded...)
	if !reflect.DeepEqual(a.State(), b.State()) {
		t.Fatal("decoded events build another state")
	}
	s := a.State()
	if s.Name != "Acme" || *s.Employees != 4 || s.City != "Paris" || !s.Deleted || s.DeletedAt == nil ||
		s.Version != 3 || !s.CreatedAt.Equal(at(0)) || !s.UpdatedAt.Equal(at(2)) || len(s.Industries) != 0 || s.Industries == nil {
		t.Fatalf("state: %+v", s)
	}
	*s.Employees = 99
	s.Keywords[0] = "changed"
	if s2 := a.State(); *s2.Employees != 4 || s2.Keywords[0] != "k" {
		t.Fatal("state shares memory")
	}
	if k := a.UniqueKeys(); k == nil || len(k) != 0 {
		t.Fatalf("unique keys: %v", k)
	}
	if _, err := Decode("company.nope", nil); err == nil {
		t.Fatal("unknown type decoded")
	}
	before := a.State()
	a.Apply(CompanyUpdated{}, domain.Recorded{Version: 4, At: at(9)})
	ev := created()
	p := &Company{}
	p.Apply(&ev, domain.Recorded{Version: 1, At: at(0)})
	if !p.Exists() || p.ID() != coID || p.AccountID() != acct || p.Version() != 1 || a.Version() != 4 || before.Name != "Acme" {
		t.Fatal("accessors")
	}
	data, _ := json.Marshal(p.State())
	for _, k := range []string{`"employees":null`, `"annual_revenue":null`, `"industries":[]`, `"state":""`, `"version":1`} {
		if !strings.Contains(string(data), k) {
			t.Errorf("state JSON lacks %s: %s", k, data)
		}
	}
}
