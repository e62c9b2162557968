package pgquery

import (
	"context"
	"reflect"
	"testing"
	"time"

	"contacts/projections"
	"contacts/readapi"
)

// TestFieldValuesTableMatchesScan checks that distinct field values answered
// from rm_contact_values (kept by triggers, recomputed by a rebuild) are
// exactly what scanning the contacts gives, for every field, separated or
// not, with and without a search, as contacts are written, hidden, restored,
// moved between companies, as a company changes, and after a rebuild.
func TestFieldValuesTableMatchesScan(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	scan := &PG{pool: f.pool, scanFieldValues: true}
	lim := func(n int) *int { return &n }
	check := func(t *testing.T, stage string) {
		t.Helper()
		used := 0
		for field, spec := range fieldSpecs {
			for _, sep := range []bool{false, true} {
				for _, search := range []string{"", "a", "ENG", "san", "o", ", ", "%", "zzz"} {
					for _, account := range []string{acctA, acctB} {
						opt := readapi.FieldOptions{Distinct: true, Separated: sep, Search: search}
						if _, ok := valuesKey(field, spec, readapi.Query{}, opt); ok {
							used++
						}
						want, err := scan.FieldValues(ctx, account, field, readapi.Query{}, opt)
						if err != nil {
							t.Fatal(err)
						}
						got, err := f.svc.FieldValues(ctx, account, field, readapi.Query{}, opt)
						if err != nil {
							t.Fatal(err)
						}
						if !reflect.DeepEqual(got, want) {
							t.Fatalf("%s: %s separated=%v search=%q in %s:\ntable %q\nscan  %q", stage, field, sep, search, account, got, want)
						}
					}
				}
			}
		}
		if used == 0 {
			t.Fatal("the values table answered nothing")
		}
		// Paging goes through the same ordering.
		opt := readapi.FieldOptions{Distinct: true, Limit: lim(2), Offset: 1}
		want, _ := scan.FieldValues(ctx, acctA, readapi.FieldCity, readapi.Query{}, opt)
		got, _ := f.svc.FieldValues(ctx, acctA, readapi.FieldCity, readapi.Query{}, opt)
		if !reflect.DeepEqual(got, want) || len(got) != 2 {
			t.Fatalf("%s: page: table %q, scan %q", stage, got, want)
		}
	}
	check(t, "fixture")

	// Writes: a title changes, one contact is deleted, the merged one is
	// restored, one moves to another company, a new one arrives.
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
	p1.title = "Chief Executive, Founder"
	p2 := byN[2]
	p2.deleted = true
	p8 := byN[8]
	p8.mergedInto = ""
	p3 := byN[3]
	p3.company = 3
	p9 := person{n: 9, first: "Nina", title: "cto", city: "SAN FRANCISCO", country: "Spain", company: 1, active: true, created: t0}
	if err := f.store.UpsertContacts(ctx, []projections.ContactDoc{bump(p1, 2), bump(p2, 2), bump(p8, 2), bump(p3, 2), bump(p9, 1)}); err != nil {
		t.Fatal(err)
	}
	// An older version changes nothing (the upsert skips it; so must the counts).
	if err := f.store.UpsertContacts(ctx, []projections.ContactDoc{bump(byN[1], 1)}); err != nil {
		t.Fatal(err)
	}
	check(t, "after contact writes")

	// A company change reaches its contacts' denormalised fields.
	cos := companies(acctA, 0)
	cos[0].Name = "Acme Holdings"
	cos[0].Industries = []string{"Cloud", "Robotics"}
	cos[0].City = "Oakland"
	cos[0].Version = 2
	cos[0].UpdatedAt = t0.Add(time.Hour)
	if err := f.store.UpsertCompanies(ctx, cos[:1]); err != nil {
		t.Fatal(err)
	}
	check(t, "after a company change")

	// A rebuild recomputes the table for the rebuilt contacts.
	target, err := f.store.StartRebuild(ctx, projections.Contacts)
	if err != nil {
		t.Fatal(err)
	}
	docs := []projections.ContactDoc{bump(p1, 2), bump(p2, 2), bump(p8, 2), bump(p3, 2), bump(p9, 1), other.doc(acctB)}
	for _, n := range []int{4, 5, 6, 7} {
		docs = append(docs, byN[n].doc(acctA))
	}
	if err := target.UpsertContacts(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if err := f.store.FinishRebuild(ctx, projections.Contacts); err != nil {
		t.Fatal(err)
	}
	check(t, "after a rebuild")
	// The rebuilt table keeps the live one's storage parameters and planner
	// statistics (migration 0008).
	var options []string
	var stats int
	if err := f.pool.QueryRow(ctx, `SELECT coalesce(c.reloptions, '{}'), (SELECT count(*) FROM pg_statistic_ext s WHERE s.stxrelid = c.oid)
		FROM pg_class c WHERE c.oid = 'rm_contacts'::regclass`).Scan(&options, &stats); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(options, []string{"toast_tuple_target=1024"}) || stats < 9 {
		t.Fatalf("rebuilt rm_contacts: options %q, %d statistics objects", options, stats)
	}
	// The rebuilt table keeps the table exact on later writes.
	p4 := byN[4]
	p4.city = "Berlin"
	if err := f.store.UpsertContacts(ctx, []projections.ContactDoc{bump(p4, 2)}); err != nil {
		t.Fatal(err)
	}
	check(t, "after a write to the rebuilt table")
	var stale int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM rm_contact_values WHERE field = 'city' AND value = 'London' AND contacts > 0`).Scan(&stale); err != nil || stale != 0 {
		t.Fatalf("London still counted: %d, %v", stale, err)
	}
	// A second rebuild works over the first one's names.
	if _, err := f.store.StartRebuild(ctx, projections.Contacts); err != nil {
		t.Fatal(err)
	}
	if err := f.store.FinishRebuild(ctx, projections.Contacts); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM rm_contact_values`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("an empty rebuild leaves %d values (%v)", n, err)
	}
}
