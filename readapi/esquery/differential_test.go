package esquery

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"contacts/domain/company"
	"contacts/domain/contact"
	"contacts/domain/group"
	"contacts/internal/enginetest"
	"contacts/internal/migrations"
	"contacts/internal/pgtest"
	"contacts/projections"
	"contacts/projections/esstore"
	"contacts/projections/pgstore"
	"contacts/readapi"
	"contacts/readapi/pgquery"
)

const (
	acct  = "5a000000-0000-4000-8000-00000000000a"
	other = "5a000000-0000-4000-8000-00000000000b"
	third = "5a000000-0000-4000-8000-00000000000c"
)

// Awkward values: case variants, unicode, LIKE and wildcard
// metacharacters, commas, quotes, backslashes, empty strings.
var (
	firstNames = []string{"Ana", "ana", "ANA", "Zoë", "zoë", "José", "jose", "Ñandú", "straße", "O'Brien", "100%", "a_b",
		".*", `back\slash`, `say "hi"`, "st*r", "what?", "", "Émile", "émile", "Li", "李", "Ωmega", "ωmega"}
	lastNames = []string{"Smith", "SMITH", "smith", "Müller", "Muller", "de la Cruz", "Ng", "", "Doe-Ray", "d'Arc", "x_y", "50%off", "Søren"}
	titles    = []string{"CEO", "Ceo", "ceo", "Engineer, Backend", "Engineer", "VP Sales", "vp sales", "", "100% remote", "C_O",
		"Director *", "Head of ?", `R\D`, "Café owner", "cafe owner", "Zürich lead"}
	cities    = []string{"Austin", "austin", "AUSTIN", "São Paulo", "sao paulo", "Zürich", "Zurich", "", "New York", "new york, ny", "Köln"}
	states    = []string{"TX", "tx", "CA", "", "Île-de-France", "ile-de-france", "NY"}
	countries = []string{"United States", "united states", "United Kingdom", "Deutschland", "", "España", "espana", "Brasil"}
	labelSets = [][]string{nil, {}, {"vip"}, {"VIP", "customer"}, {"a,b", "c"}, {"100%"}, {"x_y", `say "hi"`}, {""}, {"Café", "cafe"}}
	deptSets  = [][]string{nil, {"Engineering"}, {"engineering", "Sales"}, {"R&D, Europe"}, {""}}
	seniority = []string{"Senior", "senior", "C-Level", "", "Junior"}
	statuses  = []string{"valid", "invalid", "risky", "VALID", ""}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func uuidOf(kind, n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, n) }

func companiesOf(r *rand.Rand, account string, n, version int) []projections.CompanyDoc {
	inds := [][]string{nil, {"SaaS"}, {"saas", "Cloud"}, {"Tech, Media", "Ads"}, {"Énergie"}, {""}, {"100%", "a_b"}}
	names := []string{"Acme", "ACME", "acme inc", "Globex, Inc.", "Zoë & Co", "100% Corp", "a_b Ltd", "", "Straße GmbH", `Q\"uote`, "Søren ApS", "Initech"}
	var out []projections.CompanyDoc
	for i := 0; i < n; i++ {
		p := company.Profile{
			Name: pick(r, names), Industries: pick(r, inds), Keywords: pick(r, inds), Technologies: pick(r, [][]string{nil, {"Go", "Django"}, {"go"}, {"Java, EE"}}),
			City: pick(r, cities), Region: pick(r, states), Country: pick(r, countries), TextSearch: pick(r, []string{"", "1 Oak Ave, Austin", "1 oak ave", "Rue *, Paris"}),
		}
		if r.IntN(4) > 0 {
			e := int64(r.IntN(5000))
			p.Employees = &e
		}
		if r.IntN(3) > 0 {
			v := float64(r.IntN(1000)) * 1000.5
			p.AnnualRevenue = &v
		}
		// The company domain always has lists (never null), as here.
		for _, l := range []*[]string{&p.Industries, &p.Keywords, &p.Technologies} {
			if *l == nil {
				*l = []string{}
			}
		}
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		out = append(out, projections.CompanyDoc{State: company.State{ID: uuidOf(0xc0, i), AccountID: account, Profile: p,
			Version: int64(version), CreatedAt: t0, UpdatedAt: t0}})
	}
	return out
}

func contactsOf(r *rand.Rand, account string, n, companies int) []projections.ContactDoc {
	var out []projections.ContactDoc
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		first, last := pick(r, firstNames), pick(r, lastNames)
		p := contact.Profile{
			FirstName: first, LastName: last, Title: pick(r, titles), Seniority: pick(r, seniority), Departments: pick(r, deptSets),
			Email:       strings.ToLower(strings.ReplaceAll(first, " ", "")) + fmt.Sprint(i%7) + pick(r, []string{"@mail.example", "@Example.COM", "@x_y.org", ""}),
			EmailStatus: pick(r, statuses), City: pick(r, cities), Region: pick(r, states), Country: pick(r, countries),
			Postcode: pick(r, []string{"", "78701", "SW1A 1AA"}), Phone: pick(r, []string{"", "+1 555 0100", "+44 20 7946"}),
			TextSearch: pick(r, []string{"", "1 Market St", "1 market st, SF", "Calle 5"}), OptOut: r.IntN(5) == 0, Blocked: r.IntN(9) == 0,
		}
		if r.IntN(6) > 0 {
			p.CompanyID = uuidOf(0xc0, r.IntN(companies+2)) // some point at no company
		}
		created := t0.Add(time.Duration(i/3) * time.Second) // ties: the uuid decides
		if i%4 == 0 {                                       // no random draw: the rest of the data stays as it was
			p.LastActivityAt = t0.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
		}
		s := contact.State{ID: uuidOf(0xa0, i), AccountID: account, Name: strings.TrimSpace(first + " " + last), Profile: p,
			Labels: pick(r, labelSets), CreatedAt: created, UpdatedAt: created.Add(time.Duration(r.IntN(100)) * time.Hour),
			Active: r.IntN(8) > 0, Version: 1}
		switch r.IntN(20) {
		case 0:
			s.Deleted = true
		case 1:
			s.MergedInto = uuidOf(0xa0, 0)
		}
		out = append(out, projections.ContactDoc{State: s})
	}
	return out
}

type engines struct {
	pg, es readapi.Service
	stores []projections.ReadModel // PostgreSQL, Elasticsearch
	uuids  []string                // every contact of acct, for cursor walks
}

// seed writes one generated account (and a small other one) through both
// read-model stores.
func seed(t *testing.T) engines {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.New(t)
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	zero := 0
	es, err := esstore.New(ctx, esstore.Config{URL: enginetest.Elasticsearch(t), IndexPrefix: enginetest.Unique("esquery") + "-",
		Refresh: esstore.RefreshWaitFor, Replicas: &zero})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, name := range projections.Names {
			_, _ = es.Client().Indices.Delete(es.Alias(name) + "-v*").Do(context.Background())
		}
	})
	stores := []projections.ReadModel{pgstore.New(pool), es}
	r := rand.New(rand.NewPCG(16, 2026))
	const nContacts, nCompanies = 2500, 40
	comps := companiesOf(r, acct, nCompanies, 1)
	otherComps := companiesOf(r, other, 5, 1)
	contacts := contactsOf(r, acct, nContacts, nCompanies)
	otherContacts := contactsOf(r, other, 50, 5)
	// The other account's ids differ (PostgreSQL keys documents by id).
	for i := range otherComps {
		otherComps[i].ID = uuidOf(0xc1, i)
	}
	for i := range otherContacts {
		otherContacts[i].ID = uuidOf(0xb0, i)
		if c := otherContacts[i].CompanyID; c != "" {
			otherContacts[i].CompanyID = "000000c1" + c[8:]
		}
	}
	var subMillisecond []projections.ContactDoc
	for i := 0; i < 3; i++ {
		at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 300 * time.Microsecond)
		subMillisecond = append(subMillisecond, projections.ContactDoc{State: contact.State{ID: uuidOf(0xd0, 3-i), AccountID: third,
			Name: "T", Profile: contact.Profile{FirstName: "T"}, CreatedAt: at, UpdatedAt: at, Active: true, Version: 1}})
	}
	groups := []projections.GroupDoc{
		{State: group.State{ID: uuidOf(0x90, 1), AccountID: acct, Name: "Newsletter", ContactIDs: []string{uuidOf(0xa0, 1), uuidOf(0xa0, 2), uuidOf(0xa0, 5)}, MemberCount: 3, Version: 1}},
		{State: group.State{ID: uuidOf(0x90, 2), AccountID: acct, Name: "Beta, testers", ContactIDs: []string{uuidOf(0xa0, 2), uuidOf(0xa0, 9)}, MemberCount: 2, Version: 1}},
	}
	// A company changed after its contacts were written.
	changed := comps[3]
	changed.Name, changed.Version, changed.Industries = "Renamed, Co", 2, []string{"Fintech", "fintech"}
	for _, st := range stores {
		for _, step := range []func() error{
			func() error {
				return st.UpsertCompanies(ctx, append(append([]projections.CompanyDoc{}, comps...), otherComps...))
			},
			func() error { return st.UpsertGroups(ctx, groups) },
			func() error {
				for i := 0; i < len(contacts); i += 500 {
					if err := st.UpsertContacts(ctx, contacts[i:min(i+500, len(contacts))]); err != nil {
						return err
					}
				}
				if err := st.UpsertContacts(ctx, otherContacts); err != nil {
					return err
				}
				return st.UpsertContacts(ctx, subMillisecond)
			},
			func() error { return st.UpsertCompanies(ctx, []projections.CompanyDoc{changed}) },
		} {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := es.Client().Indices.Refresh().Index(es.Alias(projections.Contacts)).Do(ctx); err != nil {
		t.Fatal(err)
	}
	e := engines{pg: pgquery.NewPG(pool), es: New(es), stores: stores}
	for _, c := range contacts {
		e.uuids = append(e.uuids, c.ID)
	}
	return e
}

func parse(t *testing.T, data string) readapi.Query {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		t.Fatal(err)
	}
	q, err := readapi.ParseQuery(m)
	if err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return q
}

// queries are the contact queries every engine must answer alike.
var queries = []string{
	`{}`,
	`{"include_deleted": true}`,
	`{"first_name": "ana"}`, `{"first_name": "ë"}`, `{"first_name": "e"}`, `{"first_name": "%"}`, `{"first_name": "_"}`,
	`{"first_name": ".*"}`, `{"first_name": "\\"}`, `{"first_name": "\""}`, `{"first_name": "*"}`, `{"first_name": "?"}`,
	`{"first_name": "STRASSE"}`, `{"first_name": "straße"}`, `{"first_name": "ω"}`, `{"first_name": "李"}`,
	`{"last_name": "mull"}`, `{"last_name": "ü"}`, `{"name": "ana smith"}`, `{"name": "a s"}`, `{"name": "de la"}`, `{"name": "zoë"}`,
	`{"title": "ceo"}`, `{"title": "Engineer, Backend"}`, `{"title": ["Engineer, Backend"]}`, `{"title": "100%"}`, `{"title": "c_o"}`,
	`{"title": "*"}`, `{"title": "?"}`, `{"title": "\\"}`, `{"title": "café"}`, `{"title": "cafe"}`,
	`{"company": "acme"}`, `{"company": ["globex, inc"]}`, `{"company": "renamed"}`, `{"company": "\\\""}`,
	`{"email": "mail.example"}`, `{"email": "EXAMPLE.com"}`, `{"email": "x_y"}`, `{"email_status": "valid"}`, `{"email_status": "INVALID,risky"}`,
	`{"city": "austin"}`, `{"city": "zu"}`, `{"city": "zü"}`, `{"city": ["new york, ny"]}`, `{"state": "île"}`, `{"country": "españa"}`,
	`{"postcode": "sw1a"}`, `{"seniority": "SENIOR"}`, `{"departments": "engineer"}`, `{"departments": ["r&d, europe"]}`,
	`{"industries": "saas"}`, `{"industries": "fintech"}`, `{"industries": ["tech, media"]}`, `{"keywords": "%"}`, `{"technologies": "go"}`,
	`{"company_city": "são"}`, `{"company_state": "tx"}`, `{"company_country": "kingdom"}`, `{"company_address": "oak ave"}`, `{"company_address": "*"}`,
	`{"contact_address": "market st"}`, `{"labels": "vip"}`, `{"labels": ["a,b"]}`, `{"labels": "_"}`, `{"labels": "say \"hi"}`, `{"labels": "café"}`,
	`{"labels": ["vip\", \"cust"]}`, `{"labels": "\\"}`, `{"groups": "newsletter"}`, `{"groups": ["beta, testers"]}`, `{"phone": "555"}`, `{"identifier": "x"}`,
	`{"exclude_titles": "ceo"}`, `{"exclude_titles": ["Engineer, Backend", "vp sales"]}`, `{"exclude_companies": "acme"}`,
	`{"exclude_industries": "saas"}`, `{"exclude_labels": "vip,customer"}`, `{"exclude_cities": "austin"}`, `{"exclude_countries": ["united states"]}`,
	`{"exclude_email_statuses": "valid"}`, `{"exclude_departments": "sales"}`, `{"exclude_seniorities": "senior"}`,
	`{"employees_min": 100, "employees_max": 2500}`, `{"employees_max": 0}`, `{"annual_revenue_min": 500000}`,
	`{"created_at_after": "2024-03-01T12:10:00Z"}`, `{"created_at_before": "2024-03-01"}`, `{"created_at_after": "2024-03-01", "created_at_before": "2024-03-01T12:05:00Z"}`,
	`{"updated_at_after": "2024-03-03"}`, `{"active": false}`, `{"active": true}`, `{"opt_out": true}`, `{"blocked": false}`,
	`{"search": "ana"}`, `{"search": ".*"}`, `{"search": "\\"}`, `{"search": "\""}`, `{"search": "*"}`, `{"search": "?"}`, `{"search": "%"}`,
	`{"search": "_"}`, `{"search": "mail.example"}`, `{"search": "ceo"}`, `{"search": "acme"}`, `{"search": "ana smith"}`, `{"search": "ZOË"}`,
	`{"city": "austin", "title": "ceo", "exclude_labels": "vip"}`,
	`{"filter": [{"attribute_key": "city", "filter_operator": "equal_to", "values": ["Austin"], "query_operator": "or"},
		{"attribute_key": "title", "filter_operator": "starts_with", "values": ["vp"]}]}`,
	`{"filter": {"and": [{"attribute_key": "labels", "filter_operator": "is_present"}, {"or": [
		{"attribute_key": "employees", "filter_operator": "is_greater_than", "values": [1000]},
		{"attribute_key": "company", "filter_operator": "is_not_present"}]}]}}`,
	`{"filter": [{"attribute_key": "email", "filter_operator": "does_not_contain", "values": ["example"]},
		{"attribute_key": "created_at", "filter_operator": "is_less_than", "values": ["2024-03-01T12:03:00Z"]}]}`,
	`{"filter": [{"attribute_key": "industries", "filter_operator": "starts_with", "values": ["tech"]}]}`,
	`{"filter": [{"attribute_key": "last_activity_at", "filter_operator": "is_greater_than", "values": ["2024-03-02"]}]}`,
	`{"filter": [{"attribute_key": "last_activity_at", "filter_operator": "is_not_present"}]}`,
	`{"filter": [{"attribute_key": "last_activity_at", "filter_operator": "equal_to", "values": ["2024-03-01T13:00:00Z"]}]}`,
	`{"filter": [{"attribute_key": "created_at", "filter_operator": "days_before", "values": [30]}, {"attribute_key": "title", "filter_operator": "is_present"}]}`,
	`{"filter": [{"attribute_key": "updated_at", "filter_operator": "days_before", "values": [100000]}]}`,
	`{"filter": [{"attribute_key": "annual_revenue", "filter_operator": "not_equal_to", "values": [0]},
		{"attribute_key": "updated_at", "filter_operator": "equal_to", "values": ["2024-03-02"]}]}`,
}

var orderings = []string{"", "first_name", "-first_name", "last_name,first_name", "-name", "title", "-company", "email",
	"city,-state", "country", "seniority", "created_at", "-updated_at", "employees", "-employees,company", "annual_revenue", "-annual_revenue"}

func withKey(data, key string, v any) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(data), &m)
	m[key] = v
	b, _ := json.Marshal(m)
	return string(b)
}

func TestDifferential(t *testing.T) {
	e := seed(t)
	ctx := context.Background()
	same := func(t *testing.T, what string, pg, es any, pgErr, esErr error) {
		t.Helper()
		if pgErr != nil || esErr != nil {
			t.Fatalf("%s: errors: pg %v, es %v", what, pgErr, esErr)
		}
		if !reflect.DeepEqual(pg, es) {
			t.Errorf("%s:\n pg %v\n es %v", what, short(pg), short(es))
		}
	}
	t.Run("uuids and counts", func(t *testing.T) {
		matching := 0
		defer func() {
			// The table must not be vacuous: most queries match contacts.
			if matching < len(queries)*3/4 {
				t.Errorf("only %d of %d queries match any contact", matching, len(queries))
			}
		}()
		for _, data := range queries {
			for _, ord := range []string{"", "-employees,company", "first_name"} {
				d := data
				if ord != "" {
					d = withKey(data, "ordering", ord)
				}
				q := parse(t, d)
				pgIDs, err1 := e.pg.ContactUUIDs(ctx, acct, q)
				esIDs, err2 := e.es.ContactUUIDs(ctx, acct, q)
				same(t, "uuids "+d, pgIDs, esIDs, err1, err2)
			}
			q := parse(t, data)
			pgN, err1 := e.pg.CountContacts(ctx, acct, q)
			esN, err2 := e.es.CountContacts(ctx, acct, q)
			same(t, "count "+data, pgN, esN, err1, err2)
			if pgN > 0 {
				matching++
			}
		}
	})
	t.Run("tenancy", func(t *testing.T) {
		q := parse(t, `{"include_deleted": true}`)
		mine, err := e.es.ContactUUIDs(ctx, acct, q)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := e.es.ContactUUIDs(ctx, other, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(mine) != len(e.uuids) || len(theirs) != 50 {
			t.Fatalf("%d and %d contacts, want %d and 50", len(mine), len(theirs), len(e.uuids))
		}
		for _, id := range theirs {
			if !strings.HasPrefix(id, "000000b0") {
				t.Fatalf("the other account lists %s", id)
			}
		}
		if _, ok, err := e.es.GetContact(ctx, other, e.uuids[1]); ok || err != nil {
			t.Fatalf("another account reads %s: %v %v", e.uuids[1], ok, err)
		}
	})
	t.Run("known difference: sub-millisecond times", func(t *testing.T) {
		// Three contacts created 300 µs apart: PostgreSQL orders them by
		// time, Elasticsearch ("date": milliseconds) sees one instant and
		// orders them by the uuid tiebreak (see the package comment).
		q := parse(t, `{"ordering": "created_at"}`)
		pg, err1 := e.pg.ContactUUIDs(ctx, third, q)
		es, err2 := e.es.ContactUUIDs(ctx, third, q)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		want := []string{uuidOf(0xd0, 3), uuidOf(0xd0, 2), uuidOf(0xd0, 1)}
		if !reflect.DeepEqual(pg, want) || !reflect.DeepEqual(es, []string{want[2], want[1], want[0]}) {
			t.Errorf("pg %v (want %v), es %v (want the reverse)", pg, want, es)
		}
	})
	t.Run("orderings", func(t *testing.T) {
		for _, ord := range orderings {
			for _, data := range []string{`{"include_deleted": true}`, `{"first_name": "a"}`} {
				d := data
				if ord != "" {
					d = withKey(data, "ordering", ord)
				}
				q := parse(t, d)
				pgIDs, err1 := e.pg.ContactUUIDs(ctx, acct, q)
				esIDs, err2 := e.es.ContactUUIDs(ctx, acct, q)
				same(t, "uuids "+d, pgIDs, esIDs, err1, err2)
			}
		}
	})
	t.Run("beyond the result window", func(t *testing.T) {
		// A service whose window and walk pages are small walks deep
		// offsets with a point in time, as a real one does beyond 10,000.
		small := *e.es.(*Service)
		small.window, small.pageSize = 100, 64
		for _, d := range []string{`{"limit": 30, "offset": 2300, "include_deleted": true}`, `{"limit": 90, "offset": 20, "ordering": "city"}`,
			`{"offset": 150, "ordering": "-employees,company", "title": "e"}`} {
			q := parse(t, d)
			pg, err1 := e.pg.ListContacts(ctx, acct, q)
			es, err2 := small.ListContacts(ctx, acct, q)
			same(t, "list "+d, resultsJSON(t, pg), resultsJSON(t, es), err1, err2)
			pgIDs, err1 := e.pg.ContactUUIDs(ctx, acct, q)
			esIDs, err2 := small.ContactUUIDs(ctx, acct, q)
			same(t, "uuids "+d, pgIDs, esIDs, err1, err2)
		}
		pgFwd, pgBack := walkPages(t, e.pg, `{"limit": 250, "ordering": "title"}`)
		esFwd, esBack := walkPages(t, &small, `{"limit": 250, "ordering": "title"}`)
		same(t, "walk", pgFwd, esFwd, nil, nil)
		same(t, "walk back", pgBack, esBack, nil, nil)
	})
	t.Run("cursor walks under concurrent writes", func(t *testing.T) {
		// Lock-step: each engine reads a page, then the same contacts are
		// written into both, some sorting before the walk's position and
		// some after; the pages must stay identical, and no contact of the
		// start is skipped or repeated.
		const fourth = "5a000000-0000-4000-8000-00000000000d"
		r := rand.New(rand.NewPCG(4, 4))
		write := func(docs []projections.ContactDoc) {
			for _, st := range e.stores {
				if err := st.UpsertContacts(ctx, docs); err != nil {
					t.Fatal(err)
				}
			}
		}
		initial := contactsOf(r, fourth, 300, 0)
		for i := range initial {
			initial[i].ID = uuidOf(0xe0, i)
			initial[i].Deleted, initial[i].MergedInto = false, ""
		}
		write(initial)
		data := `{"limit": 40, "ordering": "first_name"}`
		pgQ, esQ := parse(t, data), parse(t, data)
		seen := map[string]int{}
		for n := 0; ; n++ {
			pg, err1 := e.pg.ListContacts(ctx, fourth, pgQ)
			es, err2 := e.es.ListContacts(ctx, fourth, esQ)
			same(t, fmt.Sprintf("page %d", n), resultsJSON(t, pg), resultsJSON(t, es), err1, err2)
			for _, res := range pg.Results {
				seen[res["uuid"].(string)]++
			}
			if pg.Next == nil || es.Next == nil {
				if (pg.Next == nil) != (es.Next == nil) {
					t.Fatalf("page %d: pg next %v, es next %v", n, pg.Next != nil, es.Next != nil)
				}
				break
			}
			more := contactsOf(r, fourth, 10, 0)
			for i := range more {
				more[i].ID = uuidOf(0xe1, n*10+i)
				more[i].Deleted, more[i].MergedInto = false, ""
			}
			write(more)
			pgQ, esQ = parse(t, withKey(data, "cursor", *pg.Next)), parse(t, withKey(data, "cursor", *es.Next))
		}
		for _, c := range initial {
			if seen[c.ID] != 1 {
				t.Errorf("contact %s listed %d times", c.ID, seen[c.ID])
			}
		}
	})
	t.Run("pages", func(t *testing.T) {
		for _, d := range []string{`{"limit": 50}`, `{"limit": 7, "offset": 13, "ordering": "-employees,company"}`,
			`{"limit": 20, "offset": 2400, "include_deleted": true}`, `{"view": "simple", "title": "ceo", "ordering": "city"}`} {
			q := parse(t, d)
			pg, err1 := e.pg.ListContacts(ctx, acct, q)
			es, err2 := e.es.ListContacts(ctx, acct, q)
			same(t, "list "+d, resultsJSON(t, pg), resultsJSON(t, es), err1, err2)
			if (pg.Next == nil) != (es.Next == nil) || (pg.Previous == nil) != (es.Previous == nil) {
				t.Errorf("list %s: cursors pg next %v prev %v, es next %v prev %v", d, pg.Next != nil, pg.Previous != nil, es.Next != nil, es.Previous != nil)
			}
		}
	})
	t.Run("cursor walks", func(t *testing.T) {
		for _, ord := range []string{"", "first_name", "-employees,company", "annual_revenue,-title", "city"} {
			for _, svc := range []struct {
				name string
				s    readapi.Service
			}{{"pg", e.pg}, {"es", e.es}} {
				_ = svc
			}
			d := `{"limit": 97, "country": "a"}`
			if ord != "" {
				d = withKey(d, "ordering", ord)
			}
			pgFwd, pgBack := walkPages(t, e.pg, d)
			esFwd, esBack := walkPages(t, e.es, d)
			same(t, "forward walk "+d, pgFwd, esFwd, nil, nil)
			same(t, "backward walk "+d, pgBack, esBack, nil, nil)
			all, _ := e.pg.ContactUUIDs(ctx, acct, parse(t, withKey(d, "limit", nil)))
			if !reflect.DeepEqual(pgFwd, all) {
				t.Errorf("%s: the forward walk is not the whole list (%d of %d)", d, len(pgFwd), len(all))
			}
		}
	})
	t.Run("field values", func(t *testing.T) {
		fields := []readapi.Field{readapi.FieldTitle, readapi.FieldCompany, readapi.FieldIndustry, readapi.FieldKeyword,
			readapi.FieldTechnology, readapi.FieldCompanyAddress, readapi.FieldContactAddress, readapi.FieldCity, readapi.FieldState,
			readapi.FieldCountry, readapi.FieldCompanyCity, readapi.FieldCompanyState, readapi.FieldCompanyCountry}
		opts := []string{`{}`, `{"distinct": true}`, `{"separated": true}`, `{"distinct": true, "separated": true}`,
			`{"distinct": true, "search": "a"}`, `{"search": "%"}`, `{"separated": true, "search": "e"}`, `{"distinct": true, "search": "*"}`,
			`{"distinct": true, "limit": 3, "offset": 2}`, `{"limit": 10, "offset": 5, "ordering": "first_name"}`,
			`{"distinct": true, "city": "austin"}`, `{"title": "ceo", "ordering": "-employees,company"}`, `{"distinct": true, "include_deleted": true}`}
		for _, f := range fields {
			for _, o := range opts {
				var m map[string]any
				_ = json.Unmarshal([]byte(o), &m)
				opt, q, err := readapi.ParseFieldOptions(m)
				if err != nil {
					t.Fatal(err)
				}
				pg, err1 := e.pg.FieldValues(ctx, acct, f, q, opt)
				es, err2 := e.es.FieldValues(ctx, acct, f, q, opt)
				same(t, fmt.Sprintf("%s %s", f, o), pg, es, err1, err2)
			}
		}
	})
	t.Run("get", func(t *testing.T) {
		for _, id := range append(e.uuids[:40], uuidOf(0xb0, 1), "not-a-uuid") {
			pg, ok1, err1 := e.pg.GetContact(ctx, acct, id)
			es, ok2, err2 := e.es.GetContact(ctx, acct, id)
			same(t, "get "+id, fmt.Sprint(ok1, resultJSON(t, pg)), fmt.Sprint(ok2, resultJSON(t, es)), err1, err2)
		}
	})
}

// walkPages follows Next from the first page to the end, then Previous
// back to the start, and returns the uuids of both walks in list order.
func walkPages(t *testing.T, s readapi.Service, data string) (fwd, back []string) {
	t.Helper()
	ctx := context.Background()
	q := parse(t, data)
	var last readapi.Page
	for i := 0; i < 1000; i++ {
		p, err := s.ListContacts(ctx, acct, q)
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		for _, r := range p.Results {
			fwd = append(fwd, r["uuid"].(string))
		}
		last = p
		if p.Next == nil {
			break
		}
		q = parse(t, withKey(data, "cursor", *p.Next))
	}
	var pages [][]string
	for p := last; p.Previous != nil; {
		q = parse(t, withKey(data, "cursor", *p.Previous))
		var err error
		if p, err = s.ListContacts(ctx, acct, q); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		var ids []string
		for _, r := range p.Results {
			ids = append(ids, r["uuid"].(string))
		}
		pages = append([][]string{ids}, pages...)
	}
	for _, p := range pages {
		back = append(back, p...)
	}
	return fwd, back
}

func resultJSON(t *testing.T, d projections.ContactDoc) string {
	return jsonOf(t, readapi.ContactResult(d, readapi.ViewFull))
}

func resultsJSON(t *testing.T, p readapi.Page) []string {
	out := make([]string, len(p.Results))
	for i, r := range p.Results {
		out[i] = jsonOf(t, r)
	}
	return out
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	// Compare documents as parsed JSON: key order and number spelling aside.
	var x any
	_ = json.Unmarshal(b, &x)
	b, _ = json.Marshal(x)
	return string(b)
}

func short(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 600 {
		return s[:600] + fmt.Sprintf("… (%d chars)", len(s))
	}
	return s
}
