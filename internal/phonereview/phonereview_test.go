package phonereview_test

import (
	"context"
	"encoding/json"
	"testing"

	"contacts/eventstore"
	"contacts/internal/migrations"
	"contacts/internal/pgtest"
	"contacts/internal/phonereview"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type regions map[string]string

func (r regions) DefaultPhoneRegion(_ context.Context, accountID string) (string, error) {
	return r[accountID], nil
}

// Every account is scanned in its own region: contacts (both phone
// fields) and companies, live ones only; the flags replace the previous
// scan's and the rows themselves are left as they were.
func TestRunAll(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	us, gb := eventstore.NewID(), eventstore.NewID()
	for _, a := range []string{us, gb} {
		if _, err := pool.Exec(ctx, `INSERT INTO accounts (id, name) VALUES ($1, 'A')`, a); err != nil {
			t.Fatal(err)
		}
	}
	put := func(table, account string, doc map[string]any) string {
		t.Helper()
		id := eventstore.NewID()
		raw, _ := json.Marshal(doc)
		idCol := "uuid"
		if table == "rm_companies" {
			idCol = "id"
		}
		if _, err := pool.Exec(ctx, `INSERT INTO `+table+` (`+idCol+`, account_id, version, position, doc, created_at, updated_at)
			VALUES ($1, $2, 1, 1, $3, now(), now())`, id, account, raw); err != nil {
			t.Fatal(err)
		}
		return id
	}
	misread := put("rm_contacts", us, map[string]any{"phone": "+4155550123", "mobile_phone": "+2015550123"})
	put("rm_contacts", us, map[string]any{"phone": "+4155550124", "deleted": true}) // not live: skipped
	put("rm_contacts", us, map[string]any{"phone": "+14155550100"})
	company := put("rm_companies", us, map[string]any{"name": "Acme", "phone": "+4155550125"})
	put("rm_contacts", gb, map[string]any{"phone": "+2079460958"}) // "020 7946 0958" read as +20 (Egypt)
	put("rm_contacts", gb, map[string]any{"phone": "+4155550123"}) // not British, and invalid: invalid only

	svc := phonereview.New(pool, regions{us: "US", gb: "GB"})
	got := map[string]phonereview.Scan{}
	if err := svc.RunAll(ctx, "", func(id string, sc phonereview.Scan) { got[id] = sc }); err != nil {
		t.Fatal(err)
	}
	if s := got[us]; s.Region != "US" || s.Checked != 4 || s.Flagged != 3 {
		t.Errorf("US account: %+v", s)
	}
	if s := got[gb]; s.Region != "GB" || s.Checked != 2 || s.Flagged != 2 {
		t.Errorf("GB account: %+v", s)
	}
	rep, err := svc.List(ctx, us, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]phonereview.Flag{
		misread + "/phone":        {Entity: "contact", EntityID: misread, Field: "phone", Stored: "+4155550123", Suggested: "+14155550123", Reason: "national_number_read_as_international"},
		misread + "/mobile_phone": {Entity: "contact", EntityID: misread, Field: "mobile_phone", Stored: "+2015550123", Suggested: "+12015550123", Reason: "national_number_read_as_international"},
		company + "/phone":        {Entity: "company", EntityID: company, Field: "phone", Stored: "+4155550125", Suggested: "+14155550125", Reason: "national_number_read_as_international"},
	}
	if len(rep.Items) != len(want) || rep.Total != 3 {
		t.Fatalf("flags: %+v", rep)
	}
	for _, f := range rep.Items {
		if want[f.EntityID+"/"+f.Field] != f {
			t.Errorf("flag %+v, want %+v", f, want[f.EntityID+"/"+f.Field])
		}
	}
	gbRep, err := svc.List(ctx, gb, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, f := range gbRep.Items {
		reasons[f.Stored] = f.Reason + " " + f.Suggested
	}
	if reasons["+2079460958"] != "national_number_read_as_international +442079460958" || reasons["+4155550123"] != "invalid " {
		t.Errorf("GB flags: %v", reasons)
	}
	// Nothing rewritten.
	var phone string
	if err := pool.QueryRow(ctx, `SELECT doc ->> 'phone' FROM rm_contacts WHERE uuid = $1`, misread).Scan(&phone); err != nil || phone != "+4155550123" {
		t.Fatalf("stored phone now %q (%v)", phone, err)
	}
	// A scan in another region replaces the account's flags.
	sc, err := svc.Run(ctx, us, "gb")
	if err != nil || sc.Region != "GB" {
		t.Fatalf("scan in GB: %+v %v", sc, err)
	}
	rep, _ = svc.List(ctx, us, 0, 10)
	for _, f := range rep.Items {
		// +2015550123 is "020 1555 0123" read in GB: a London number.
		if f.Stored == "+4155550123" && f.Reason != "invalid" || f.Stored == "+2015550123" && f.Suggested != "+442015550123" {
			t.Errorf("in GB, %+v", f)
		}
	}
	if sc.Flagged != 3 || len(rep.Items) != 3 {
		t.Errorf("in GB: %+v %+v", sc, rep.Items)
	}
	if _, err := svc.Run(ctx, us, "Atlantis"); err == nil {
		t.Fatal("an unknown region was accepted")
	}
}
