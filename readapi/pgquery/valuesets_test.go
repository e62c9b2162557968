package pgquery

import (
	"context"
	"reflect"
	"testing"

	"contacts/projections"
	"contacts/readapi"
)

// TestValueSetsMatchPatterns checks that filters answered through value sets
// (migration 0009) select exactly the contacts the plain patterns select:
// lists, counts and uuids, every operator that becomes a set, in both
// accounts, with deleted and merged contacts present, mixed case, special
// characters, empty and absent fields, and after writes change the values.
func TestValueSetsMatchPatterns(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	patterns := &PG{pool: f.pool, patternFilters: true}
	queries := []map[string]any{
		{"title": "ceo"},
		{"title": "CE"},
		{"title": "eng", "country": "united"},
		{"country": "United States", "seniority": "c-level"},
		{"seniority": "senior,vp"},
		{"city": "austin", "state": "tx"},
		{"title": "100%"},
		{"title": "growth_"},
		{"title": "zzz"},
		{"exclude_titles": []any{"ceo", "cto"}},
		{"exclude_seniorities": "c-level", "country": "states"},
		{"exclude_countries": "spain"},
		{"company_city": "a"},
		{"company_country": "united states"},
		{"filter": map[string]any{"or": []any{
			map[string]any{"attribute_key": "title", "filter_operator": "starts_with", "values": []any{"vp"}},
			map[string]any{"attribute_key": "country", "filter_operator": "equal_to", "values": []any{"SPAIN", "united kingdom"}},
		}}},
		{"filter": map[string]any{"and": []any{
			map[string]any{"attribute_key": "city", "filter_operator": "not_equal_to", "values": []any{"Austin"}},
			map[string]any{"attribute_key": "state", "filter_operator": "does_not_contain", "values": []any{"c"}},
			map[string]any{"attribute_key": "title", "filter_operator": "equal_to", "values": []any{"cto", "Ceo"}},
		}}},
		{"title": "ceo", "include_deleted": true},
		{"title": "ceo", "ordering": "-created_at", "limit": float64(2)},
	}
	check := func(t *testing.T, stage string) {
		t.Helper()
		rewritten := 0
		for _, data := range queries {
			q, err := readapi.ParseQuery(data)
			if err != nil {
				t.Fatalf("%v: %v", data, err)
			}
			if len(valueSetLookups(q)) > 0 {
				rewritten++
			}
			for _, account := range []string{acctA, acctB} {
				wantN, err := patterns.CountContacts(ctx, account, q)
				if err != nil {
					t.Fatal(err)
				}
				gotN, err := f.svc.CountContacts(ctx, account, q)
				if err != nil {
					t.Fatal(err)
				}
				want, err := patterns.ContactUUIDs(ctx, account, q)
				if err != nil {
					t.Fatal(err)
				}
				got, err := f.svc.ContactUUIDs(ctx, account, q)
				if err != nil {
					t.Fatal(err)
				}
				wantPage, err := patterns.ListContacts(ctx, account, q)
				if err != nil {
					t.Fatal(err)
				}
				gotPage, err := f.svc.ListContacts(ctx, account, q)
				if err != nil {
					t.Fatal(err)
				}
				if gotN != wantN || !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotPage, wantPage) {
					t.Fatalf("%s: %v in %s: value sets count %d %v, patterns count %d %v", stage, data, account, gotN, got, wantN, want)
				}
				// Field actions with contact filters go through the same filters.
				for _, opt := range []readapi.FieldOptions{{Distinct: true}, {}, {Distinct: true, Separated: true, Search: "a"}} {
					want, err := patterns.FieldValues(ctx, account, readapi.FieldCity, q, opt)
					if err != nil {
						t.Fatal(err)
					}
					got, err := f.svc.FieldValues(ctx, account, readapi.FieldCity, q, opt)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("%s: cities %+v of %v in %s: value sets %q, patterns %q", stage, opt, data, account, got, want)
					}
				}
			}
		}
		if rewritten < len(queries)-2 {
			t.Fatalf("%s: only %d of %d queries used value sets", stage, rewritten, len(queries))
		}
	}
	check(t, "fixture")

	// Values come and go: a title changes, a contact is deleted, the merged
	// one restored, a new spelling arrives.
	byN := map[int]person{}
	for _, p := range people {
		byN[p.n] = p
	}
	bump := func(p person, v int64) projections.ContactDoc {
		d := p.doc(acctA)
		d.Version = v
		return d
	}
	p1 := byN[1]
	p1.title, p1.seniority = "Chief Executive", "Founder"
	p2 := byN[2]
	p2.deleted = true
	p8 := byN[8]
	p8.mergedInto = ""
	p9 := person{n: 9, first: "Nina", title: "CEO ", seniority: "C-LEVEL", city: "AUSTIN", country: "Spain", company: 1, active: true, created: t0}
	if err := f.store.UpsertContacts(ctx, []projections.ContactDoc{bump(p1, 2), bump(p2, 2), bump(p8, 2), bump(p9, 1)}); err != nil {
		t.Fatal(err)
	}
	check(t, "after writes")
}

// TestValueSetsBounded checks that a pattern matching more distinct values
// than maxValueSet stays a pattern, and an empty value is never a set.
func TestValueSetsBounded(t *testing.T) {
	if _, ok := valueSetPattern(readapi.OpContains, ""); ok {
		t.Fatal("an empty value became a set")
	}
	f := newFixture(t)
	ctx := context.Background()
	var docs []projections.ContactDoc
	for i := 0; i <= maxValueSet; i++ {
		p := person{n: 1000 + i, first: "T", title: "Title " + string(rune('a'+i%26)) + string(rune('a'+i/26)), active: true, created: t0}
		docs = append(docs, p.doc(acctB))
	}
	if err := f.store.UpsertContacts(ctx, docs); err != nil {
		t.Fatal(err)
	}
	keys := []valueSetKey{{"title", "%title%"}, {"title", "%title a%"}}
	sets, err := resolveValueSets(ctx, f.pool, acctB, keys)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sets[keys[0]]; ok {
		t.Fatalf("%d values made a set", maxValueSet+1)
	}
	if got := len(sets[keys[1]]); got != 4 {
		t.Fatalf("title a*: %d values, want 4", got)
	}
	q, _ := readapi.ParseQuery(map[string]any{"title": "title"})
	n, err := f.svc.CountContacts(ctx, acctB, q)
	if err != nil || n != int64(maxValueSet+1)+countTitled(t, f, acctB) {
		t.Fatalf("count %d, %v", n, err)
	}
}

// countTitled counts the fixture's own contacts of account whose title
// contains "title" (none are expected, but the fixture decides).
func countTitled(t *testing.T, f *fixture, account string) int64 {
	t.Helper()
	var n int64
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM rm_contacts WHERE account_id = $1
		AND NOT hidden AND lower(title) LIKE '%title%' AND first_name <> 'T'`, account).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
