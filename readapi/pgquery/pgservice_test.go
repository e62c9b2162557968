package pgquery

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/domain/company"
	"contacts/domain/contact"
	"contacts/domain/group"
	"contacts/internal/migrations"
	"contacts/internal/pgtest"
	"contacts/projections"
	"contacts/projections/pgstore"
	"contacts/readapi"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	acctA = "0a000000-0000-4000-8000-00000000000a"
	acctB = "0b000000-0000-4000-8000-00000000000b"
)

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func cid(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }
func coid(n int) string {
	return fmt.Sprintf("c0000000-0000-4000-8000-%012d", n)
}
func i64(n int64) *int64     { return &n }
func f64(f float64) *float64 { return &f }

// person is a fixture contact; its first name identifies it in assertions.
type person struct {
	n                        int
	first, last, title       string
	company                  int // coid(company); 0 none
	email, status, seniority string
	departments, labels      []string
	city, state, country     string
	postcode, textSearch     string
	phone, mobile, ident     string
	custom, additional       map[string]any
	active, optOut, blocked  bool
	deleted                  bool
	mergedInto               string
	lastActivity             string
	created, updated         time.Time
}

func (p person) doc(account string) projections.ContactDoc {
	if p.custom == nil {
		p.custom = map[string]any{}
	}
	if p.additional == nil {
		p.additional = map[string]any{}
	}
	if p.labels == nil {
		p.labels = []string{}
	}
	co := ""
	if p.company != 0 {
		co = coid(p.company)
	}
	upd := p.updated
	if upd.IsZero() {
		upd = p.created.Add(time.Hour)
	}
	return projections.ContactDoc{State: contact.State{
		ID: cid(p.n), AccountID: account, Name: strings.TrimSpace(p.first + " " + p.last),
		Profile: contact.Profile{
			Identifier: p.ident, FirstName: p.first, LastName: p.last, Title: p.title, Seniority: p.seniority,
			Departments: p.departments, Email: p.email, EmailStatus: p.status, Phone: p.phone, MobilePhone: p.mobile,
			City: p.city, Region: p.state, Postcode: p.postcode, Country: p.country, TextSearch: p.textSearch,
			CompanyID: co, OptOut: p.optOut, Blocked: p.blocked, ReplyBotEnabled: true, LastActivityAt: p.lastActivity,
			AdditionalAttributes: p.additional,
		},
		Labels: p.labels, Notes: []contact.Note{}, AssignedTo: []string{}, Teams: []string{},
		AssociatedAccounts: []contact.Association{}, CustomAttributes: p.custom,
		CreatedAt: p.created, UpdatedAt: upd, Active: p.active, Deleted: p.deleted, MergedInto: p.mergedInto, Version: 1,
	}, Position: int64(p.n)}
}

func companies(account string, off int) []projections.CompanyDoc {
	mk := func(n int, name string, ind, kw, tech []string, emp *int64, rev *float64, city, state, country, addr string) projections.CompanyDoc {
		return projections.CompanyDoc{State: company.State{ID: coid(off + n), AccountID: account, Version: 1, CreatedAt: t0, UpdatedAt: t0,
			Profile: company.Profile{Name: name, Industries: ind, Keywords: kw, Technologies: tech, Employees: emp, AnnualRevenue: rev,
				City: city, Region: state, Country: country, TextSearch: addr}}, Position: int64(n)}
	}
	return []projections.CompanyDoc{
		mk(1, "Acme Corp", []string{"Cloud", "SaaS"}, []string{"enterprise", "cloud"}, []string{"Python", "PostgreSQL"},
			i64(500), f64(1e7), "San Francisco", "CA", "United States", "123 Main St, San Francisco, CA"),
		mk(2, "Tech Inc", []string{"Healthcare"}, []string{"health", "saas"}, []string{"Go", "Django"},
			i64(50), f64(2e6), "Austin", "TX", "United States", "456 Oak Ave, Austin, TX"),
		mk(3, "Globex", []string{"Finance", "Technology"}, nil, []string{"Java"},
			nil, nil, "London", "", "United Kingdom", "1 Bank St, London"),
	}
}

// people is account A's fixture. Names are unique first names.
var people = []person{
	{n: 1, first: "John", last: "Doe", title: "CEO", company: 1, email: "john@acme.com", status: "valid", seniority: "c-level",
		departments: []string{"Executive"}, labels: []string{"vip", "customer"}, city: "San Francisco", state: "CA",
		country: "United States", postcode: "94105", textSearch: "789 Market St, San Francisco, CA", phone: "+14155550101",
		ident: "CUST001", custom: map[string]any{"tier": "gold", "score": 90}, additional: map[string]any{"source": "web"},
		active: true, lastActivity: "2024-02-01T00:00:00Z", created: t0},
	{n: 2, first: "Jane", last: "Smith", title: "CTO", company: 1, email: "jane@acme.com", status: "valid", seniority: "c-level",
		departments: []string{"Engineering", "Executive"}, labels: []string{"customer"}, city: "Austin", state: "TX",
		country: "United States", postcode: "78701", textSearch: "1 Congress Ave, Austin, TX", phone: "+15125550102",
		custom: map[string]any{"tier": "silver", "score": 75}, active: true, created: t0.Add(1 * time.Hour)},
	{n: 3, first: "Bob", last: "Brown", title: "VP Engineering", company: 2, email: "bob@tech.io", status: "invalid", seniority: "vp",
		departments: []string{"Engineering"}, city: "Denver", state: "CO", country: "United States",
		mobile: "+17205550103", custom: map[string]any{"score": "100"}, active: true, optOut: true, created: t0.Add(2 * time.Hour)},
	{n: 4, first: "Alice", last: "Johnson", title: "Engineer, Backend", company: 3, email: "alice@globex.co.uk", status: "unknown",
		seniority: "senior", departments: []string{"Engineering"}, city: "London", country: "United Kingdom",
		textSearch: "10 Downing St, London", active: false, blocked: true, created: t0.Add(3 * time.Hour),
		lastActivity: "2024-02-28T00:00:00Z"},
	{n: 5, first: "Carlos", last: "Núñez", title: "ceo", email: "carlos@example.com", status: "risky", seniority: "c-level",
		city: "Madrid", country: "Spain", custom: map[string]any{"tier": "Gold", "vip": true}, active: true, created: t0.Add(4 * time.Hour)},
	{n: 6, first: "Eve", last: "Evans", title: "Growth_Hacker 100%", company: 2, email: "eve@x.org", status: "valid",
		city: "austin", state: "tx", country: "united states", labels: []string{"a_b", `say "hi"`}, active: true,
		created: t0.Add(5 * time.Hour)},
	{n: 7, first: "Dan", last: "Deleted", title: "CEO", company: 1, email: "dan@acme.com", city: "Austin", active: true,
		deleted: true, created: t0.Add(6 * time.Hour)},
	{n: 8, first: "Mary", last: "Merged", title: "CEO", company: 1, email: "mary@acme.com", city: "Austin", active: true,
		mergedInto: cid(1), created: t0.Add(7 * time.Hour)},
}

// other is account B's only contact: it matches nearly every filter and
// must never appear in account A's results.
var other = person{n: 100, first: "John", last: "Other", title: "CEO", company: 101, email: "john@acme.com", status: "valid",
	seniority: "c-level", labels: []string{"vip"}, city: "Austin", state: "TX", country: "United States", textSearch: "Oslo Street",
	active: true, created: t0}

type fixture struct {
	pool  *pgxpool.Pool
	svc   *PG
	store *pgstore.Store
	names map[string]string // uuid → first name
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.New(t)
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	f := &fixture{pool: pool, svc: NewPG(pool), store: pgstore.New(pool), names: map[string]string{}}
	if err := f.store.UpsertCompanies(ctx, append(companies(acctA, 0), companies(acctB, 100)...)); err != nil {
		t.Fatal(err)
	}
	var docs []projections.ContactDoc
	for _, p := range people {
		docs = append(docs, p.doc(acctA))
		f.names[cid(p.n)] = p.first
	}
	docs = append(docs, other.doc(acctB))
	f.names[cid(other.n)] = "OTHER"
	if err := f.store.UpsertContacts(ctx, docs); err != nil {
		t.Fatal(err)
	}
	groups := []projections.GroupDoc{
		{State: group.State{ID: "9a000000-0000-4000-8000-000000000001", AccountID: acctA, Name: "Newsletter",
			ContactIDs: []string{cid(1), cid(3)}, MemberCount: 2, Version: 1, CreatedAt: t0, UpdatedAt: t0}},
		{State: group.State{ID: "9a000000-0000-4000-8000-000000000002", AccountID: acctB, Name: "Newsletter",
			ContactIDs: []string{cid(other.n)}, MemberCount: 1, Version: 1, CreatedAt: t0, UpdatedAt: t0}},
	}
	if err := f.store.UpsertGroups(ctx, groups); err != nil {
		t.Fatal(err)
	}
	return f
}

// firstNames runs ContactUUIDs and maps the result to first names, in order.
func (f *fixture) firstNames(t testing.TB, q readapi.Query) []string {
	t.Helper()
	ids, err := f.svc.ContactUUIDs(context.Background(), acctA, q)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = f.names[id]
	}
	return out
}

func mustParse(t testing.TB, data string) readapi.Query {
	t.Helper()
	q, err := readapi.ParseQuery(decode(t, data))
	if err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return q
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}

// live is every visible contact of account A.
var live = []string{"Alice", "Bob", "Carlos", "Eve", "Jane", "John"}

func TestFilters(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		data string
		want []string // sorted first names
	}{
		{`{}`, live},
		// text filters: case-insensitive substrings, lists mean any of them
		{`{"first_name": "jo"}`, []string{"John"}},
		{`{"last_name": "SON"}`, []string{"Alice"}},
		{`{"name": "n d"}`, []string{"John"}},         // spans first and last name
		{`{"name": "john doe"}`, []string{"John"}},    // whole name
		{`{"name": "hn"}`, []string{"Alice", "John"}}, // inside one part (Johnson too)
		{`{"name": "ÑE"}`, []string{"Carlos"}},        // non-ASCII last name
		{`{"name": "jane doe"}`, nil},                 // each word matches someone, not the whole
		{`{"title": "ceo"}`, []string{"Carlos", "John"}},
		{`{"title": "Engineer, Backend"}`, []string{"Alice", "Bob"}}, // comma-separated: any of "Engineer", "Backend"
		{`{"title": ["Engineer, Backend"]}`, []string{"Alice"}},      // array: the value itself
		{`{"title": "100%"}`, []string{"Eve"}},                       // LIKE metacharacters are literal
		{`{"title": "c_o"}`, nil},                                    // "_" is no wildcard
		{`{"title": "_"}`, []string{"Eve"}},
		{`{"company": "acme"}`, []string{"Jane", "John"}},
		{`{"company": ["tech", "globex"]}`, []string{"Alice", "Bob", "Eve"}},
		{`{"email": "ACME.COM"}`, []string{"Jane", "John"}},
		{`{"email_status": "valid"}`, []string{"Eve", "Jane", "John"}}, // exact: not "invalid"
		{`{"email_status": "INVALID,risky"}`, []string{"Bob", "Carlos"}},
		{`{"city": "austin"}`, []string{"Eve", "Jane"}},
		{`{"city": "san, mad"}`, []string{"Carlos", "John"}},
		{`{"state": "tx"}`, []string{"Eve", "Jane"}},
		{`{"country": "kingdom"}`, []string{"Alice"}},
		{`{"postcode": 78701}`, []string{"Jane"}},
		{`{"seniority": "C-LEVEL"}`, []string{"Carlos", "Jane", "John"}},
		{`{"departments": "engineer"}`, []string{"Alice", "Bob", "Jane"}},
		{`{"departments": "exec"}`, []string{"Jane", "John"}},
		{`{"industries": "saas"}`, []string{"Jane", "John"}},
		{`{"industries": "tech"}`, []string{"Alice"}},
		{`{"keywords": "saas"}`, []string{"Bob", "Eve"}},
		{`{"technologies": "go"}`, []string{"Bob", "Eve"}}, // Go, Django
		{`{"technologies": "java"}`, []string{"Alice"}},
		{`{"company_city": "austin"}`, []string{"Bob", "Eve"}},
		{`{"company_state": "ca"}`, []string{"Jane", "John"}},
		{`{"company_country": "kingdom"}`, []string{"Alice"}},
		{`{"company_address": "oak ave"}`, []string{"Bob", "Eve"}},
		{`{"contact_address": "market st"}`, []string{"John"}},
		{`{"labels": "cust"}`, []string{"Jane", "John"}},
		{`{"labels": "a_b"}`, []string{"Eve"}},
		{`{"labels": "say \"hi"}`, []string{"Eve"}}, // a quote inside a list element
		{`{"labels": ["\", \""]}`, nil},             // never matches the list's own punctuation
		{`{"groups": "newsletter"}`, []string{"Bob", "John"}},
		{`{"phone": "555010"}`, []string{"Bob", "Jane", "John"}}, // mobile numbers too
		{`{"phone": "+1415"}`, []string{"John"}},
		{`{"identifier": "cust0"}`, []string{"John"}},
		// several filters: all must hold
		{`{"city": "austin", "first_name": "ja"}`, []string{"Jane"}},
		// exclusions: exact values, case-insensitive; lists: any element
		{`{"exclude_titles": "ceo"}`, []string{"Alice", "Bob", "Eve", "Jane"}},
		{`{"exclude_titles": ["Engineer, Backend", "cto"]}`, []string{"Bob", "Carlos", "Eve", "John"}},
		{`{"exclude_seniorities": "c-level,vp"}`, []string{"Alice", "Eve"}},
		{`{"exclude_departments": "engineering"}`, []string{"Carlos", "Eve", "John"}},
		{`{"exclude_departments": "engineer"}`, live}, // exact element, not a substring
		{`{"exclude_companies": "acme corp"}`, []string{"Alice", "Bob", "Carlos", "Eve"}},
		{`{"exclude_industries": "cloud"}`, []string{"Alice", "Bob", "Carlos", "Eve"}},
		{`{"exclude_keywords": "saas"}`, []string{"Alice", "Carlos", "Jane", "John"}},
		{`{"exclude_technologies": "go, java"}`, []string{"Carlos", "Jane", "John"}},
		{`{"exclude_cities": "AUSTIN"}`, []string{"Alice", "Bob", "Carlos", "John"}},
		{`{"exclude_states": "tx,ca"}`, []string{"Alice", "Bob", "Carlos"}},
		{`{"exclude_countries": "united states"}`, []string{"Alice", "Carlos"}},
		{`{"exclude_labels": "VIP"}`, []string{"Alice", "Bob", "Carlos", "Eve", "Jane"}},
		{`{"exclude_labels": "say \"hi\""}`, []string{"Alice", "Bob", "Carlos", "Jane", "John"}},
		{`{"exclude_email_statuses": "valid"}`, []string{"Alice", "Bob", "Carlos"}},
		// numeric ranges (company employees / revenue; unknown never matches a bound)
		{`{"employees_min": 50}`, []string{"Bob", "Eve", "Jane", "John"}},
		{`{"employees_min": "51"}`, []string{"Jane", "John"}},
		{`{"employees_max": 50}`, []string{"Bob", "Eve"}},
		{`{"employees_min": 50, "employees_max": 50}`, []string{"Bob", "Eve"}},
		{`{"annual_revenue_min": 5e6}`, []string{"Jane", "John"}},
		{`{"annual_revenue_max": "2000000"}`, []string{"Bob", "Eve"}},
		// date ranges: RFC 3339 instants (inclusive) or whole UTC days
		{`{"created_at_after": "2024-03-01T14:00:00Z"}`, []string{"Alice", "Bob", "Carlos", "Eve"}},
		{`{"created_at_after": "2024-03-01T16:00:00+02:00"}`, []string{"Alice", "Bob", "Carlos", "Eve"}},
		{`{"created_at_before": "2024-03-01T13:00:00Z"}`, []string{"Jane", "John"}},
		{`{"created_at_after": "2024-03-01", "created_at_before": "2024-03-01"}`, live},
		{`{"created_at_after": "2024-03-02"}`, nil},
		{`{"created_at_before": "2024-02-29"}`, nil},
		{`{"updated_at_after": "2024-03-01T17:00:00Z", "updated_at_before": "2024-03-01T18:00:00Z"}`, []string{"Carlos", "Eve"}},
		// booleans
		{`{"active": false}`, []string{"Alice"}},
		{`{"active": "true"}`, []string{"Bob", "Carlos", "Eve", "Jane", "John"}},
		{`{"opt_out": true}`, []string{"Bob"}},
		{`{"blocked": "true"}`, []string{"Alice"}},
		{`{"blocked": false, "opt_out": false, "active": true}`, []string{"Carlos", "Eve", "Jane", "John"}},
		// deleted and merged contacts
		{`{"include_deleted": true}`, append([]string{"Dan", "Mary"}, live...)},
		{`{"include_deleted": true, "last_name": "e"}`, []string{"Carlos", "Dan", "John", "Mary", "Eve"}},
		// search: name, e-mail, title or company name
		{`{"search": "acme"}`, []string{"Jane", "John"}},
		{`{"search": "CEO"}`, []string{"Carlos", "John"}},
		{`{"search": "globex.co"}`, []string{"Alice"}},
		{`{"search": "tech inc"}`, []string{"Bob", "Eve"}},
		{`{"search": "jane smith"}`, []string{"Jane"}},
		{`{"search": "brown"}`, []string{"Bob"}},
		{`{"search": "%"}`, []string{"Eve"}},
		{`{"search": "nobody"}`, nil},
		{`{"search": "acme", "exclude_titles": "ceo"}`, []string{"Jane"}},
	}
	for _, tc := range cases {
		t.Run(tc.data, func(t *testing.T) {
			got := sorted(f.firstNames(t, mustParse(t, tc.data)))
			want := sorted(tc.want)
			if len(got) == 0 && len(want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
			n, err := f.svc.CountContacts(context.Background(), acctA, mustParse(t, tc.data))
			if err != nil || n != int64(len(want)) {
				t.Fatalf("count %d (%v), want %d", n, err, len(want))
			}
		})
	}
}

func TestAdvancedFilter(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		filter string
		want   []string
	}{
		// text operators
		{`[{"attribute_key": "city", "filter_operator": "equal_to", "values": ["AUSTIN"]}]`, []string{"Eve", "Jane"}},
		{`[{"attribute_key": "city", "filter_operator": "equal_to", "values": ["Austin", "London"]}]`, []string{"Alice", "Eve", "Jane"}},
		{`[{"attribute_key": "city", "filter_operator": "not_equal_to", "values": ["austin", "london"]}]`, []string{"Bob", "Carlos", "John"}},
		{`[{"attribute_key": "state", "filter_operator": "not_equal_to", "values": ["tx"]}]`, []string{"Alice", "Bob", "Carlos", "John"}}, // empty state counts as not equal
		{`[{"attribute_key": "email", "filter_operator": "contains", "values": ["@acme"]}]`, []string{"Jane", "John"}},
		{`[{"attribute_key": "email", "filter_operator": "does_not_contain", "values": ["@acme", ".io"]}]`, []string{"Alice", "Carlos", "Eve"}},
		{`[{"attribute_key": "title", "filter_operator": "starts_with", "values": ["C"]}]`, []string{"Carlos", "Jane", "John"}},
		{`[{"attribute_key": "name", "filter_operator": "starts_with", "values": ["jane s"]}]`, []string{"Jane"}},
		{`[{"attribute_key": "name", "filter_operator": "equal_to", "values": ["john doe"]}]`, []string{"John"}},
		{`[{"attribute_key": "state", "filter_operator": "is_present"}]`, []string{"Bob", "Eve", "Jane", "John"}},
		{`[{"attribute_key": "state", "filter_operator": "is_not_present"}]`, []string{"Alice", "Carlos"}},
		{`[{"attribute_key": "company", "filter_operator": "is_not_present"}]`, []string{"Carlos"}},
		{`[{"attribute_key": "phone_number", "filter_operator": "is_present"}]`, []string{"Bob", "Jane", "John"}},
		{`[{"attribute_key": "postcode", "filter_operator": "starts_with", "values": [94]}]`, []string{"John"}},
		// lists
		{`[{"attribute_key": "labels", "filter_operator": "equal_to", "values": ["VIP"]}]`, []string{"John"}},
		{`[{"attribute_key": "labels", "filter_operator": "not_equal_to", "values": ["customer"]}]`, []string{"Alice", "Bob", "Carlos", "Eve"}},
		{`[{"attribute_key": "labels", "filter_operator": "contains", "values": ["usto"]}]`, []string{"Jane", "John"}},
		{`[{"attribute_key": "labels", "filter_operator": "does_not_contain", "values": ["usto"]}]`, []string{"Alice", "Bob", "Carlos", "Eve"}},
		{`[{"attribute_key": "labels", "filter_operator": "starts_with", "values": ["cus"]}]`, []string{"Jane", "John"}},
		{`[{"attribute_key": "labels", "filter_operator": "starts_with", "values": ["ustomer"]}]`, nil},
		{`[{"attribute_key": "labels", "filter_operator": "is_present"}]`, []string{"Eve", "Jane", "John"}},
		{`[{"attribute_key": "labels", "filter_operator": "is_not_present"}]`, []string{"Alice", "Bob", "Carlos"}},
		{`[{"attribute_key": "keywords", "filter_operator": "is_not_present"}]`, []string{"Alice", "Carlos"}}, // Globex's are null
		{`[{"attribute_key": "industries", "filter_operator": "equal_to", "values": ["technology"]}]`, []string{"Alice"}},
		{`[{"attribute_key": "groups", "filter_operator": "equal_to", "values": ["Newsletter"]}]`, []string{"Bob", "John"}},
		{`[{"attribute_key": "departments", "filter_operator": "equal_to", "values": ["executive"]}]`, []string{"Jane", "John"}},
		// numbers
		{`[{"attribute_key": "employees", "filter_operator": "equal_to", "values": [50]}]`, []string{"Bob", "Eve"}},
		{`[{"attribute_key": "employees", "filter_operator": "not_equal_to", "values": [50]}]`, []string{"Alice", "Carlos", "Jane", "John"}},
		{`[{"attribute_key": "employees", "filter_operator": "is_greater_than", "values": [50]}]`, []string{"Jane", "John"}},
		{`[{"attribute_key": "employees", "filter_operator": "is_less_than", "values": ["500"]}]`, []string{"Bob", "Eve"}},
		{`[{"attribute_key": "annual_revenue", "filter_operator": "is_not_present"}]`, []string{"Alice", "Carlos"}},
		{`[{"attribute_key": "annual_revenue", "filter_operator": "is_present"}]`, []string{"Bob", "Eve", "Jane", "John"}},
		// dates
		{`[{"attribute_key": "created_at", "filter_operator": "equal_to", "values": ["2024-03-01"]}]`, live},
		{`[{"attribute_key": "created_at", "filter_operator": "equal_to", "values": ["2024-03-01T13:00:00Z"]}]`, []string{"Jane"}},
		{`[{"attribute_key": "created_at", "filter_operator": "not_equal_to", "values": ["2024-03-01T13:00:00Z"]}]`, []string{"Alice", "Bob", "Carlos", "Eve", "John"}},
		{`[{"attribute_key": "created_at", "filter_operator": "is_greater_than", "values": ["2024-03-01T15:00:00Z"]}]`, []string{"Carlos", "Eve"}},
		{`[{"attribute_key": "created_at", "filter_operator": "is_greater_than", "values": ["2024-02-29"]}]`, live},
		{`[{"attribute_key": "created_at", "filter_operator": "is_greater_than", "values": ["2024-03-01"]}]`, nil},
		{`[{"attribute_key": "created_at", "filter_operator": "is_less_than", "values": ["2024-03-01T13:00:00Z"]}]`, []string{"John"}},
		{`[{"attribute_key": "created_at", "filter_operator": "is_less_than", "values": ["2024-03-02"]}]`, live},
		{`[{"attribute_key": "created_at", "filter_operator": "days_before", "values": [30]}]`, live}, // 2024 is long ago
		{`[{"attribute_key": "created_at", "filter_operator": "days_before", "values": [100000]}]`, nil},
		{`[{"attribute_key": "last_activity_at", "filter_operator": "is_less_than", "values": ["2024-02-15"]}]`, []string{"John"}},
		{`[{"attribute_key": "last_activity_at", "filter_operator": "is_present"}]`, []string{"Alice", "John"}},
		{`[{"attribute_key": "last_activity_at", "filter_operator": "days_before", "values": [1]}]`, []string{"Alice", "John"}},
		// booleans
		{`[{"attribute_key": "active", "filter_operator": "equal_to", "values": [false]}]`, []string{"Alice"}},
		{`[{"attribute_key": "opt_out", "filter_operator": "not_equal_to", "values": ["true"]}]`, []string{"Alice", "Carlos", "Eve", "Jane", "John"}},
		{`[{"attribute_key": "blocked", "filter_operator": "equal_to", "values": [true]}]`, []string{"Alice"}},
		// custom and additional attributes
		{`[{"attribute_key": "custom_attributes.tier", "filter_operator": "equal_to", "values": ["gold"]}]`, []string{"Carlos", "John"}},
		{`[{"attribute_key": "custom_attributes.tier", "filter_operator": "not_equal_to", "values": ["gold"]}]`, []string{"Alice", "Bob", "Eve", "Jane"}},
		{`[{"attribute_key": "custom_attributes.tier", "filter_operator": "contains", "values": ["ILV"]}]`, []string{"Jane"}},
		{`[{"attribute_key": "custom_attributes.tier", "filter_operator": "starts_with", "values": ["g"]}]`, []string{"Carlos", "John"}},
		{`[{"attribute_key": "custom_attributes.tier", "filter_operator": "does_not_contain", "values": ["l"]}]`, []string{"Alice", "Bob", "Eve"}},
		{`[{"attribute_key": "custom_attributes.tier", "filter_operator": "is_present"}]`, []string{"Carlos", "Jane", "John"}},
		{`[{"attribute_key": "custom_attributes.tier", "filter_operator": "is_not_present"}]`, []string{"Alice", "Bob", "Eve"}},
		{`[{"attribute_key": "custom_attributes.score", "filter_operator": "is_greater_than", "values": [80]}]`, []string{"John"}}, // "100" is a string
		{`[{"attribute_key": "custom_attributes.score", "filter_operator": "is_less_than", "values": [80]}]`, []string{"Jane"}},
		{`[{"attribute_key": "custom_attributes.score", "filter_operator": "equal_to", "values": [100]}]`, []string{"Bob"}}, // string "100" equals 100
		{`[{"attribute_key": "custom_attributes.score", "filter_operator": "equal_to", "values": [90.0, 75]}]`, []string{"Jane", "John"}},
		{`[{"attribute_key": "custom_attributes.score", "filter_operator": "is_greater_than", "values": ["05"]}]`, []string{"Bob"}}, // text: "100" > "05"
		{`[{"attribute_key": "custom_attributes.score", "filter_operator": "is_greater_than", "values": ["2"]}]`, nil},              // text: "100" < "2"
		{`[{"attribute_key": "custom_attributes.vip", "filter_operator": "equal_to", "values": [true]}]`, []string{"Carlos"}},
		{`[{"attribute_key": "additional_attributes.source", "filter_operator": "equal_to", "values": ["WEB"]}]`, []string{"John"}},
		{`[{"attribute_key": "custom_attributes.it's \"odd\"", "filter_operator": "is_present"}]`, nil},
		// combinations: and binds tighter than or; groups; and/or objects
		{`[{"attribute_key": "city", "filter_operator": "equal_to", "values": ["austin"], "query_operator": "and"},
		   {"attribute_key": "title", "filter_operator": "contains", "values": ["cto"], "query_operator": "or"},
		   {"attribute_key": "country", "filter_operator": "equal_to", "values": ["spain"]}]`, []string{"Carlos", "Jane"}},
		{`[{"attribute_key": "country", "filter_operator": "equal_to", "values": ["spain"], "query_operator": "or"},
		   {"attribute_key": "city", "filter_operator": "equal_to", "values": ["austin"], "query_operator": "and"},
		   {"attribute_key": "title", "filter_operator": "contains", "values": ["cto"]}]`, []string{"Carlos", "Jane"}},
		{`[{"attribute_key": "title", "filter_operator": "contains", "values": ["ceo"], "query_operator": "and"},
		   {"group": [{"attribute_key": "city", "filter_operator": "equal_to", "values": ["madrid"], "query_operator": "or"},
		              {"attribute_key": "labels", "filter_operator": "equal_to", "values": ["vip"]}]}]`, []string{"Carlos", "John"}},
		{`[{"group": [{"attribute_key": "city", "filter_operator": "equal_to", "values": ["austin"], "query_operator": "or"},
		              {"attribute_key": "city", "filter_operator": "equal_to", "values": ["denver"]}], "query_operator": "and"},
		   {"group": [{"group": [{"attribute_key": "employees", "filter_operator": "is_less_than", "values": [100]}]}]}]`, []string{"Bob", "Eve"}},
		{`{"or": [{"and": [{"attribute_key": "seniority", "filter_operator": "equal_to", "values": ["c-level"]},
		                   {"attribute_key": "custom_attributes.tier", "filter_operator": "equal_to", "values": ["silver"]}]},
		          {"attribute_key": "blocked", "filter_operator": "equal_to", "values": [true]}]}`, []string{"Alice", "Jane"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(strings.Fields(tc.filter), " "), func(t *testing.T) {
			q, err := readapi.ParseQuery(map[string]any{"filter": parseJSON(t, tc.filter)})
			if err != nil {
				t.Fatal(err)
			}
			got, want := sorted(f.firstNames(t, q)), sorted(tc.want)
			if len(got)+len(want) > 0 && !reflect.DeepEqual(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
	// The advanced filter ANDs with the basic filters.
	got := f.firstNames(t, mustParse(t, `{"city": "austin", "filter": [{"attribute_key": "labels", "filter_operator": "is_present"}], "ordering": "name"}`))
	if !reflect.DeepEqual(got, []string{"Eve", "Jane"}) {
		t.Fatal(got)
	}
}

func TestOrdering(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		ordering string
		want     []string
	}{
		{"", []string{"Eve", "Carlos", "Alice", "Bob", "Jane", "John"}}, // -created_at
		{"created_at", []string{"John", "Jane", "Bob", "Alice", "Carlos", "Eve"}},
		{"-updated_at", []string{"Eve", "Carlos", "Alice", "Bob", "Jane", "John"}},
		{"first_name", []string{"Alice", "Bob", "Carlos", "Eve", "Jane", "John"}},
		{"-first_name", []string{"John", "Jane", "Eve", "Carlos", "Bob", "Alice"}},
		{"last_name", []string{"Bob", "John", "Eve", "Alice", "Carlos", "Jane"}},
		{"name", []string{"Alice", "Bob", "Carlos", "Eve", "Jane", "John"}},
		{"title", []string{"John", "Carlos", "Jane", "Alice", "Eve", "Bob"}}, // "ceo" = "CEO": uuid tiebreak
		{"-title", []string{"Bob", "Eve", "Alice", "Jane", "Carlos", "John"}},
		{"company,first_name", []string{"Carlos", "Jane", "John", "Alice", "Bob", "Eve"}}, // no company first
		{"email", []string{"Alice", "Bob", "Carlos", "Eve", "Jane", "John"}},
		{"city,-first_name", []string{"Jane", "Eve", "Bob", "Alice", "Carlos", "John"}}, // "austin" = "Austin"
		{"-state,first_name", []string{"Eve", "Jane", "Bob", "John", "Alice", "Carlos"}},
		{"country,-created_at", []string{"Carlos", "Alice", "Eve", "Bob", "Jane", "John"}},
		{"seniority,first_name", []string{"Eve", "Carlos", "Jane", "John", "Alice", "Bob"}},          // none first
		{"-employees,company,first_name", []string{"Jane", "John", "Bob", "Eve", "Carlos", "Alice"}}, // unknown lowest
		{"employees,first_name", []string{"Alice", "Carlos", "Bob", "Eve", "Jane", "John"}},
		{"annual_revenue,-first_name", []string{"Carlos", "Alice", "Eve", "Bob", "John", "Jane"}},
		{"-annual_revenue,first_name", []string{"Jane", "John", "Bob", "Eve", "Alice", "Carlos"}},
	}
	for _, tc := range cases {
		t.Run(tc.ordering, func(t *testing.T) {
			q := mustParse(t, fmt.Sprintf(`{"ordering": %q}`, tc.ordering))
			if got := f.firstNames(t, q); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			page, err := f.svc.ListContacts(context.Background(), acctA, q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range page.Results {
				got = append(got, r["first_name"].(string))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("list %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCursorPagination walks every ordering's pages forward and back, with
// contacts inserted (before and after the walk's position) and others
// updated between fetches: every contact present throughout is seen exactly
// once each way, and no page repeats a row.
func TestCursorPagination(t *testing.T) {
	ctx := context.Background()
	orderingsToTest := []string{"", "created_at", "first_name", "-title,first_name", "city,-created_at", "-employees,company", "annual_revenue", "last_name,email"}
	for _, ordering := range orderingsToTest {
		t.Run(ordering, func(t *testing.T) {
			f := newFixture(t)
			// 60 more contacts in account A, with repeated values everywhere
			// (ties resolved by uuid).
			var docs []projections.ContactDoc
			base := map[string]bool{}
			for _, n := range live {
				base[n] = true
			}
			mk := func(n int) projections.ContactDoc {
				p := person{n: n, first: fmt.Sprintf("P%02d", n%7), last: fmt.Sprintf("L%d", n%3), title: []string{"CEO", "cto", "Engineer"}[n%3],
					company: n % 4, email: fmt.Sprintf("p%d@x.org", n%5), city: []string{"Austin", "austin", "Denver"}[n%3],
					active: true, created: t0.Add(time.Duration(n%11) * time.Minute)}
				return p.doc(acctA)
			}
			for n := 200; n < 260; n++ {
				docs = append(docs, mk(n))
				f.names[cid(n)] = fmt.Sprint(n)
				base[fmt.Sprint(n)] = true
			}
			if err := f.store.UpsertContacts(ctx, docs); err != nil {
				t.Fatal(err)
			}
			extra := 1000
			insert := func() {
				var more []projections.ContactDoc
				for i := 0; i < 3; i++ {
					extra++
					more = append(more, mk(extra))
					f.names[cid(extra)] = fmt.Sprint(extra)
				}
				if err := f.store.UpsertContacts(ctx, more); err != nil {
					t.Fatal(err)
				}
			}
			data := map[string]any{"limit": 7.0, "view": "simple"}
			if ordering != "" {
				data["ordering"] = ordering
			}
			q, err := readapi.ParseQuery(data)
			if err != nil {
				t.Fatal(err)
			}
			page, err := f.svc.ListContacts(ctx, acctA, q)
			if err != nil {
				t.Fatal(err)
			}
			if page.Previous != nil {
				t.Fatal("first page has a previous cursor")
			}
			seen := map[string]int{}
			var pages [][]string
			collect := func(p readapi.Page) []string {
				var ids []string
				for _, r := range p.Results {
					ids = append(ids, r["uuid"].(string))
				}
				return ids
			}
			pages = append(pages, collect(page))
			for page.Next != nil {
				insert()
				data["cursor"] = *page.Next
				q, err := readapi.ParseQuery(data)
				if err != nil {
					t.Fatal(err)
				}
				page, err = f.svc.ListContacts(ctx, acctA, q)
				if err != nil {
					t.Fatal(err)
				}
				if page.Previous == nil {
					t.Fatal("a later page has no previous cursor")
				}
				pages = append(pages, collect(page))
				if len(pages) > 100 {
					t.Fatal("endless")
				}
			}
			for _, ids := range pages {
				for _, id := range ids {
					seen[f.names[id]]++
				}
			}
			for name := range base {
				if seen[name] != 1 {
					t.Fatalf("forward: %s seen %d times", name, seen[name])
				}
			}
			for name, n := range seen {
				if n != 1 {
					t.Fatalf("forward: %s seen %d times", name, n)
				}
			}
			// The forward pages, concatenated, are in the ordering.
			var all []string
			for _, ids := range pages {
				all = append(all, ids...)
			}
			if want, err := f.svc.ContactUUIDs(ctx, acctA, mustParseMap(t, map[string]any{"ordering": ordering})); err != nil {
				t.Fatal(err)
			} else if !isSubsequence(all, want) {
				t.Fatalf("pages out of order:\n%v\n%v", all, want)
			}
			// Backward from the last page.
			seenBack := map[string]int{}
			for _, id := range collect(page) {
				seenBack[f.names[id]]++
			}
			for page.Previous != nil {
				insert()
				data["cursor"] = *page.Previous
				q, err := readapi.ParseQuery(data)
				if err != nil {
					t.Fatal(err)
				}
				page, err = f.svc.ListContacts(ctx, acctA, q)
				if err != nil {
					t.Fatal(err)
				}
				if page.Next == nil {
					t.Fatal("a backward page has no next cursor")
				}
				if len(page.Results) > 7 {
					t.Fatalf("page of %d", len(page.Results))
				}
				for _, id := range collect(page) {
					seenBack[f.names[id]]++
				}
				if len(seenBack) > 1000 {
					t.Fatal("endless")
				}
			}
			for name := range base {
				if seenBack[name] != 1 {
					t.Fatalf("backward: %s seen %d times", name, seenBack[name])
				}
			}
			for name, n := range seenBack {
				if n != 1 {
					t.Fatalf("backward: %s seen %d times", name, n)
				}
			}
			// Back at the start: the page holds the first row.
			first, err := f.svc.ContactUUIDs(ctx, acctA, mustParseMap(t, map[string]any{"ordering": ordering, "limit": 1.0}))
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Results) == 0 || page.Results[0]["uuid"] != first[0] {
				t.Fatalf("backward walk ended at %v, not at %s", page.Results, first[0])
			}
		})
	}
}

func mustParseMap(t testing.TB, data map[string]any) readapi.Query {
	t.Helper()
	if data["ordering"] == "" {
		delete(data, "ordering")
	}
	q, err := readapi.ParseQuery(data)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// isSubsequence tells whether a appears in b in order.
func isSubsequence(a, b []string) bool {
	i := 0
	for _, x := range b {
		if i < len(a) && a[i] == x {
			i++
		}
	}
	return i == len(a)
}

func TestCursorEdges(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	// Pages of 2 in name order: Alice Bob | Carlos Eve | Jane John.
	list := func(data map[string]any) readapi.Page {
		t.Helper()
		page, err := f.svc.ListContacts(ctx, acctA, mustParseMap(t, data))
		if err != nil {
			t.Fatal(err)
		}
		return page
	}
	names := func(p readapi.Page) string {
		var out []string
		for _, r := range p.Results {
			out = append(out, r["first_name"].(string))
		}
		return strings.Join(out, " ")
	}
	p1 := list(map[string]any{"ordering": "name", "limit": 2.0})
	p2 := list(map[string]any{"ordering": "name", "limit": 2.0, "cursor": *p1.Next})
	p3 := list(map[string]any{"ordering": "name", "limit": 2.0, "cursor": *p2.Next})
	if names(p1) != "Alice Bob" || names(p2) != "Carlos Eve" || names(p3) != "Jane John" || p3.Next != nil || p1.Previous != nil {
		t.Fatalf("%s | %s | %s", names(p1), names(p2), names(p3))
	}
	// The page size may change between pages.
	if got := names(list(map[string]any{"ordering": "name", "limit": 3.0, "cursor": *p1.Next})); got != "Carlos Eve Jane" {
		t.Fatal(got)
	}
	back := list(map[string]any{"ordering": "name", "limit": 2.0, "cursor": *p3.Previous})
	if names(back) != "Carlos Eve" || back.Previous == nil || back.Next == nil {
		t.Fatal(names(back))
	}
	first := list(map[string]any{"ordering": "name", "limit": 2.0, "cursor": *back.Previous})
	if names(first) != "Alice Bob" || first.Previous != nil || first.Next == nil {
		t.Fatal(names(first))
	}
	// Jane and John are deleted: the page after Carlos Eve is empty, and its
	// previous cursor leads back to a page ending with Eve.
	var gone []projections.ContactDoc
	for _, p := range people[:2] {
		d := p.doc(acctA)
		d.Deleted, d.Version = true, 2
		gone = append(gone, d)
	}
	if err := f.store.UpsertContacts(ctx, gone); err != nil {
		t.Fatal(err)
	}
	empty := list(map[string]any{"ordering": "name", "limit": 2.0, "cursor": *p2.Next})
	if len(empty.Results) != 0 || empty.Next != nil || empty.Previous == nil {
		t.Fatalf("%+v", empty)
	}
	if got := names(list(map[string]any{"ordering": "name", "limit": 2.0, "cursor": *empty.Previous})); got != "Carlos Eve" {
		t.Fatal(got)
	}
	// A cursor of one query is refused by another.
	_, err := readapi.ParseQuery(map[string]any{"ordering": "-name", "cursor": *p1.Next})
	if f := fieldsOf(t, err); f["cursor"] == "" {
		t.Fatal(f)
	}
}

func TestOffsetPagination(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var got []string
	for off := 0; off < 8; off += 4 {
		page, err := f.svc.ListContacts(ctx, acctA, mustParse(t, fmt.Sprintf(`{"ordering": "first_name", "limit": 4, "offset": %d}`, off)))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Results {
			got = append(got, r["first_name"].(string))
		}
		if (off == 0) != (page.Previous == nil) || (off == 0) != (page.Next != nil) {
			t.Fatalf("offset %d: previous %v next %v", off, page.Previous, page.Next)
		}
	}
	if !reflect.DeepEqual(got, []string{"Alice", "Bob", "Carlos", "Eve", "Jane", "John"}) {
		t.Fatal(got)
	}
	// The next cursor of an offset page continues after it.
	page, _ := f.svc.ListContacts(ctx, acctA, mustParse(t, `{"ordering": "first_name", "limit": 2, "offset": 1}`))
	next, err := f.svc.ListContacts(ctx, acctA, mustParseMap(t, map[string]any{"ordering": "first_name", "limit": 2.0, "cursor": *page.Next}))
	if err != nil || next.Results[0]["first_name"] != "Eve" {
		t.Fatal(next, err)
	}
	// Offsets apply to UUIDs too.
	if got := f.firstNames(t, mustParse(t, `{"ordering": "first_name", "offset": 4}`)); !reflect.DeepEqual(got, []string{"Jane", "John"}) {
		t.Fatal(got)
	}
}

func TestDefaultLimit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var docs []projections.ContactDoc
	for n := 300; n < 300+readapi.DefaultListLimit+5; n++ {
		docs = append(docs, person{n: n, first: "X", active: true, created: t0.Add(-time.Duration(n) * time.Minute)}.doc(acctA))
	}
	if err := f.store.UpsertContacts(ctx, docs); err != nil {
		t.Fatal(err)
	}
	page, err := f.svc.ListContacts(ctx, acctA, readapi.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Results) != readapi.DefaultListLimit || page.Next == nil {
		t.Fatalf("%d results", len(page.Results))
	}
	page, err = f.svc.ListContacts(ctx, acctA, mustParse(t, `{"limit": 1000}`))
	if err != nil || len(page.Results) != readapi.DefaultListLimit+5+len(live) || page.Next != nil {
		t.Fatalf("%d results, %v", len(page.Results), err)
	}
	// UUIDs: all without a limit, else the limit.
	ids, err := f.svc.ContactUUIDs(ctx, acctA, readapi.Query{})
	if err != nil || len(ids) != readapi.DefaultListLimit+5+len(live) {
		t.Fatalf("%d uuids, %v", len(ids), err)
	}
	ids, err = f.svc.ContactUUIDs(ctx, acctA, mustParse(t, `{"limit": 3, "ordering": "first_name"}`))
	if err != nil || len(ids) != 3 || f.names[ids[0]] != "Alice" {
		t.Fatalf("%v, %v", ids, err)
	}
}

func TestViews(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	page, err := f.svc.ListContacts(ctx, acctA, mustParse(t, `{"view": "simple", "first_name": "john"}`))
	if err != nil || len(page.Results) != 1 {
		t.Fatal(page, err)
	}
	want := map[string]any{
		"uuid": cid(1), "first_name": "John", "last_name": "Doe", "title": "CEO", "company": "Acme Corp",
		"email": "john@acme.com", "email_status": "valid",
		"created_at": "2024-03-01T12:00:00Z", "updated_at": "2024-03-01T13:00:00Z",
	}
	if !reflect.DeepEqual(page.Results[0], want) {
		t.Fatalf("simple:\n%v\nwant\n%v", page.Results[0], want)
	}
	// No company: null.
	page, _ = f.svc.ListContacts(ctx, acctA, mustParse(t, `{"view": "simple", "first_name": "carlos"}`))
	if v, ok := page.Results[0]["company"]; !ok || v != nil {
		t.Fatalf("company %v", v)
	}

	page, err = f.svc.ListContacts(ctx, acctA, mustParse(t, `{"first_name": "john"}`))
	if err != nil {
		t.Fatal(err)
	}
	full := page.Results[0]
	b, _ := json.Marshal(full)
	var got map[string]any
	_ = json.Unmarshal(b, &got)
	checks := map[string]any{
		"uuid": cid(1), "company": "Acme Corp", "company_id": coid(1), "departments": []any{"Executive"},
		"seniority": "c-level", "city": "San Francisco", "state": "CA", "country": "United States",
		"created_at": "2024-03-01T12:00:00Z", "labels": []any{"vip", "customer"}, "phone": "+14155550101",
		"custom_attributes": map[string]any{"tier": "gold", "score": 90.0}, "account_id": acctA, "name": "John Doe",
		"groups": []any{map[string]any{"id": "9a000000-0000-4000-8000-000000000001", "name": "Newsletter"}},
	}
	for k, v := range checks {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("full %s = %#v, want %#v", k, got[k], v)
		}
	}
	details, _ := got["company_details"].(map[string]any)
	if details["name"] != "Acme Corp" || details["id"] != coid(1) || details["employees"] != 500.0 {
		t.Errorf("company_details %v", details)
	}
	if _, ok := got["position"]; ok {
		t.Error("position leaked")
	}
	// get_contact uses the same shape.
	doc, ok, err := f.svc.GetContact(ctx, acctA, cid(1))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if !reflect.DeepEqual(readapi.ContactResult(doc, readapi.ViewFull), full) {
		t.Fatalf("get_contact and list differ:\n%v\n%v", readapi.ContactResult(doc, readapi.ViewFull), full)
	}
	if r := readapi.ContactResult(doc, readapi.ViewSimple); !reflect.DeepEqual(r, want) {
		t.Fatal(r)
	}
}

func TestGetContact(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		account, id string
		found       bool
	}{
		{acctA, cid(1), true},
		{acctA, strings.ToUpper(cid(1)), true},
		{acctA, cid(7), false},       // deleted
		{acctA, cid(8), false},       // merged
		{acctA, cid(100), false},     // account B's
		{acctB, cid(1), false},       // account A's
		{acctA, cid(999), false},     // none
		{acctA, "not-a-uuid", false}, // malformed
		{"not-an-account", cid(1), false},
	} {
		doc, ok, err := f.svc.GetContact(ctx, tc.account, tc.id)
		if err != nil || ok != tc.found || ok && doc.ID != cid(1) {
			t.Errorf("%s/%s: %v %v %v", tc.account, tc.id, doc.ID, ok, err)
		}
	}
	doc, ok, err := f.svc.GetContactAny(ctx, acctA, cid(7))
	if err != nil || !ok || !doc.Deleted {
		t.Fatal(ok, err)
	}
}

func TestTenantIsolation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, data := range []string{`{}`, `{"first_name": "john"}`, `{"search": "acme"}`, `{"groups": "newsletter"}`, `{"include_deleted": true}`,
		`{"filter": [{"attribute_key": "title", "filter_operator": "equal_to", "values": ["ceo"]}]}`} {
		for _, name := range f.firstNames(t, mustParse(t, data)) {
			if name == "OTHER" {
				t.Fatalf("%s: account B's contact listed", data)
			}
		}
	}
	ids, err := f.svc.ContactUUIDs(ctx, acctB, readapi.Query{})
	if err != nil || !reflect.DeepEqual(ids, []string{cid(100)}) {
		t.Fatal(ids, err)
	}
	n, err := f.svc.CountContacts(ctx, acctB, mustParse(t, `{"city": "austin"}`))
	if err != nil || n != 1 {
		t.Fatal(n, err)
	}
	vals, err := f.svc.FieldValues(ctx, acctB, readapi.FieldTitle, readapi.Query{}, readapi.FieldOptions{})
	if err != nil || !reflect.DeepEqual(vals, []string{"CEO"}) {
		t.Fatal(vals, err)
	}
	vals, err = f.svc.FieldValues(ctx, acctA, readapi.FieldContactAddress, readapi.Query{}, readapi.FieldOptions{Search: "oslo"})
	if err != nil || len(vals) != 0 {
		t.Fatal(vals, err)
	}
	// An account that is no UUID is refused.
	if _, err := f.svc.ListContacts(ctx, "x", readapi.Query{}); err == nil {
		t.Fatal("bad account accepted")
	}
	if _, err := f.svc.CountContacts(ctx, "x", readapi.Query{}); err == nil {
		t.Fatal("bad account accepted")
	}
	if _, err := f.svc.FieldValues(ctx, "x", readapi.FieldCity, readapi.Query{}, readapi.FieldOptions{}); err == nil {
		t.Fatal("bad account accepted")
	}
}

func TestFieldValues(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	lim := func(n int) *int { return &n }
	cases := []struct {
		name  string
		field readapi.Field
		data  string // contact filters
		opt   readapi.FieldOptions
		want  []string
	}{
		// not distinct: one value per contact, newest first, empty skipped
		{"titles", readapi.FieldTitle, `{}`, readapi.FieldOptions{}, []string{"Growth_Hacker 100%", "ceo", "Engineer, Backend", "VP Engineering", "CTO", "CEO"}},
		{"titles by name", readapi.FieldTitle, `{"ordering": "first_name"}`, readapi.FieldOptions{}, []string{"Engineer, Backend", "VP Engineering", "ceo", "Growth_Hacker 100%", "CTO", "CEO"}},
		{"titles distinct", readapi.FieldTitle, `{}`, readapi.FieldOptions{Distinct: true}, []string{"CEO", "CTO", "Engineer, Backend", "Growth_Hacker 100%", "VP Engineering"}},
		{"titles search", readapi.FieldTitle, `{}`, readapi.FieldOptions{Search: "ENG"}, []string{"Engineer, Backend", "VP Engineering"}},
		{"titles search literal", readapi.FieldTitle, `{}`, readapi.FieldOptions{Search: "_"}, []string{"Growth_Hacker 100%"}},
		{"titles separated", readapi.FieldTitle, `{"ordering": "first_name"}`, readapi.FieldOptions{Separated: true}, []string{"Engineer", "Backend", "VP Engineering", "ceo", "Growth_Hacker 100%", "CTO", "CEO"}},
		{"titles separated search", readapi.FieldTitle, `{}`, readapi.FieldOptions{Separated: true, Search: "back"}, []string{"Backend"}},
		{"titles separated distinct", readapi.FieldTitle, `{}`, readapi.FieldOptions{Separated: true, Distinct: true}, []string{"Backend", "CEO", "CTO", "Engineer", "Growth_Hacker 100%", "VP Engineering"}},
		{"titles limit offset", readapi.FieldTitle, `{}`, readapi.FieldOptions{Distinct: true, Limit: lim(2), Offset: 1}, []string{"CTO", "Engineer, Backend"}},
		{"titles non-distinct limit", readapi.FieldTitle, `{"ordering": "first_name"}`, readapi.FieldOptions{Limit: lim(2)}, []string{"Engineer, Backend", "VP Engineering"}},
		{"titles offset past end", readapi.FieldTitle, `{}`, readapi.FieldOptions{Offset: 50}, nil},
		{"titles filtered", readapi.FieldTitle, `{"country": "united states", "exclude_titles": "cto"}`, readapi.FieldOptions{Distinct: true}, []string{"CEO", "Growth_Hacker 100%", "VP Engineering"}},
		{"titles deleted included", readapi.FieldTitle, `{"include_deleted": true}`, readapi.FieldOptions{Distinct: true, Search: "ceo"}, []string{"CEO"}},
		{"companies", readapi.FieldCompany, `{"ordering": "first_name"}`, readapi.FieldOptions{}, []string{"Globex", "Tech Inc", "Tech Inc", "Acme Corp", "Acme Corp"}},
		{"companies distinct search", readapi.FieldCompany, `{}`, readapi.FieldOptions{Distinct: true, Search: "c"}, []string{"Acme Corp", "Tech Inc"}},
		{"industries", readapi.FieldIndustry, `{"ordering": "first_name"}`, readapi.FieldOptions{}, []string{"Finance, Technology", "Healthcare", "Healthcare", "Cloud, SaaS", "Cloud, SaaS"}},
		{"industries search", readapi.FieldIndustry, `{"ordering": "first_name"}`, readapi.FieldOptions{Search: "TECH"}, []string{"Finance, Technology"}},
		{"industries distinct", readapi.FieldIndustry, `{}`, readapi.FieldOptions{Distinct: true}, []string{"Cloud, SaaS", "Finance, Technology", "Healthcare"}},
		{"industries separated", readapi.FieldIndustry, `{"ordering": "first_name"}`, readapi.FieldOptions{Separated: true}, []string{"Finance", "Technology", "Healthcare", "Healthcare", "Cloud", "SaaS", "Cloud", "SaaS"}},
		{"industries separated distinct", readapi.FieldIndustry, `{}`, readapi.FieldOptions{Separated: true, Distinct: true}, []string{"Cloud", "Finance", "Healthcare", "SaaS", "Technology"}},
		{"industries separated distinct search", readapi.FieldIndustry, `{}`, readapi.FieldOptions{Separated: true, Distinct: true, Search: "a"}, []string{"Finance", "Healthcare", "SaaS"}},
		{"keywords separated distinct", readapi.FieldKeyword, `{}`, readapi.FieldOptions{Separated: true, Distinct: true}, []string{"cloud", "enterprise", "health", "saas"}},
		{"keywords separated distinct paged", readapi.FieldKeyword, `{}`, readapi.FieldOptions{Separated: true, Distinct: true, Limit: lim(2), Offset: 1}, []string{"enterprise", "health"}},
		{"keywords (Globex has none)", readapi.FieldKeyword, `{"ordering": "first_name"}`, readapi.FieldOptions{}, []string{"health, saas", "health, saas", "enterprise, cloud", "enterprise, cloud"}},
		{"technologies separated distinct search", readapi.FieldTechnology, `{}`, readapi.FieldOptions{Separated: true, Distinct: true, Search: "go"}, []string{"Django", "Go"}},
		{"technologies separated filtered", readapi.FieldTechnology, `{"first_name": "alice"}`, readapi.FieldOptions{Separated: true}, []string{"Java"}},
		{"company addresses", readapi.FieldCompanyAddress, `{}`, readapi.FieldOptions{Distinct: true, Search: "san francisco"}, []string{"123 Main St, San Francisco, CA"}},
		{"company addresses separated", readapi.FieldCompanyAddress, `{}`, readapi.FieldOptions{Distinct: true, Separated: true, Search: "an"}, []string{"1 Bank St", "San Francisco"}},
		{"contact addresses", readapi.FieldContactAddress, `{"ordering": "first_name"}`, readapi.FieldOptions{}, []string{"10 Downing St, London", "1 Congress Ave, Austin, TX", "789 Market St, San Francisco, CA"}},
		{"cities distinct", readapi.FieldCity, `{}`, readapi.FieldOptions{Distinct: true}, []string{"Austin", "Denver", "London", "Madrid", "San Francisco"}},
		{"cities distinct search", readapi.FieldCity, `{}`, readapi.FieldOptions{Distinct: true, Search: "AN"}, []string{"San Francisco"}},
		{"cities not distinct", readapi.FieldCity, `{}`, readapi.FieldOptions{Search: "austin"}, []string{"austin", "Austin"}},
		{"states", readapi.FieldState, `{}`, readapi.FieldOptions{Distinct: true}, []string{"CA", "CO", "TX"}},
		{"countries", readapi.FieldCountry, `{}`, readapi.FieldOptions{Distinct: true}, []string{"Spain", "United Kingdom", "United States"}},
		{"company cities", readapi.FieldCompanyCity, `{}`, readapi.FieldOptions{Distinct: true}, []string{"Austin", "London", "San Francisco"}},
		{"company states", readapi.FieldCompanyState, `{}`, readapi.FieldOptions{Distinct: true}, []string{"CA", "TX"}},
		{"company countries", readapi.FieldCompanyCountry, `{}`, readapi.FieldOptions{Distinct: true}, []string{"United Kingdom", "United States"}},
		{"company countries not distinct", readapi.FieldCompanyCountry, `{"ordering": "first_name"}`, readapi.FieldOptions{}, []string{"United Kingdom", "United States", "United States", "United States", "United States"}},
		{"advanced filter applies", readapi.FieldCity, `{"filter": [{"attribute_key": "labels", "filter_operator": "is_present"}]}`, readapi.FieldOptions{Distinct: true}, []string{"Austin", "San Francisco"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.svc.FieldValues(ctx, acctA, tc.field, mustParse(t, tc.data), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("nil result (want an empty list)")
			}
			if len(got)+len(tc.want) > 0 && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	// The options come from the field action's data.
	opt, q, err := readapi.ParseFieldOptions(decode(t, `{"search": "ceo", "distinct": true, "limit": 50, "offset": 0, "country": "spain"}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.FieldValues(ctx, acctA, readapi.FieldTitle, q, opt)
	if err != nil || !reflect.DeepEqual(got, []string{"ceo"}) {
		t.Fatal(got, err)
	}
	// Unknown field.
	if _, err := f.svc.FieldValues(ctx, acctA, readapi.Field("colour"), readapi.Query{}, readapi.FieldOptions{}); err == nil {
		t.Fatal("unknown field accepted")
	}
	// Every field action has its SQL (ParseField itself: readapi's TestParseField).
	for _, action := range readapi.FieldActions() {
		field, _ := readapi.ParseField(action)
		if _, ok := fieldSpecs[field]; !ok {
			t.Errorf("%s: field %s has no SQL", action, field)
		}
	}
	if len(readapi.FieldActions()) != 13 || len(fieldSpecs) != 13 {
		t.Fatal("13 field actions")
	}
}

// TestSeedExamples runs the request data of the WebSocket document's
// examples as they are written.
func TestSeedExamples(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	lists := []string{
		`{"first_name": "John", "country": "United States", "employees_min": 50, "limit": 25, "offset": 0, "view": "simple", "ordering": "-employees,company"}`,
		`{"first_name": "John", "country": "United States", "limit": 10}`,
	}
	for _, data := range lists {
		page, err := f.svc.ListContacts(ctx, acctA, mustParse(t, data))
		if err != nil || len(page.Results) != 1 || page.Results[0]["uuid"] != cid(1) {
			t.Fatalf("%s: %v %v", data, page, err)
		}
	}
	n, err := f.svc.CountContacts(ctx, acctA, mustParse(t, `{"country": "United States", "city": "San Francisco", "employees_min": 50}`))
	if err != nil || n != 1 {
		t.Fatal(n, err)
	}
	ids, err := f.svc.ContactUUIDs(ctx, acctA, mustParse(t, `{"country": "United States", "email_status": "valid", "limit": 1000}`))
	if err != nil || len(ids) != 3 {
		t.Fatal(ids, err)
	}
	for _, tc := range []struct {
		field readapi.Field
		data  string
	}{
		{readapi.FieldTitle, `{"search": "technology", "distinct": true, "limit": 50, "offset": 0}`},
		{readapi.FieldCompany, `{"search": "tech", "distinct": true}`},
		{readapi.FieldIndustry, `{"search": "technology", "distinct": true, "separated": true}`},
		{readapi.FieldKeyword, `{"search": "cloud", "separated": true, "distinct": true}`},
		{readapi.FieldTechnology, `{"search": "python", "separated": true, "distinct": true}`},
		{readapi.FieldCompanyAddress, `{"search": "San Francisco", "distinct": true}`},
		{readapi.FieldContactAddress, `{"search": "Austin", "distinct": true}`},
		{readapi.FieldCity, `{"search": "San", "distinct": true}`},
		{readapi.FieldState, `{"distinct": true}`},
		{readapi.FieldCountry, `{"distinct": true}`},
		{readapi.FieldCompanyCity, `{"distinct": true}`},
		{readapi.FieldCompanyState, `{"distinct": true}`},
		{readapi.FieldCompanyCountry, `{"distinct": true}`},
	} {
		opt, q, err := readapi.ParseFieldOptions(decode(t, tc.data))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.FieldValues(ctx, acctA, tc.field, q, opt); err != nil {
			t.Fatalf("%s %s: %v", tc.field, tc.data, err)
		}
	}
}
