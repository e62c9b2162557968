package esstore

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"contacts/domain/company"
	"contacts/domain/contact"
	"contacts/domain/group"
	"contacts/projections"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func sampleContact(account, id string, version int64) projections.ContactDoc {
	return projections.ContactDoc{State: contact.State{
		ID: id, AccountID: account, Name: "Ada",
		Profile: contact.Profile{FirstName: "Ada", ReplyBotEnabled: true,
			Departments: []string{}, AdditionalAttributes: map[string]any{}},
		Labels: []string{}, Notes: []contact.Note{{ID: "n1", Content: "hi", CreatedAt: t0, UpdatedAt: t0}, {ID: "n2", CreatedAt: t0, UpdatedAt: t0}},
		AssignedTo: []string{}, Teams: []string{},
		AssociatedAccounts: []contact.Association{}, CustomAttributes: map[string]any{"big": json.Number("12345678901234567890")},
		CreatedAt: t0, UpdatedAt: t0, Active: true, Version: version,
	}, Position: version}
}

func TestEncodeContact(t *testing.T) {
	d := sampleContact("acc", "c1", 3)
	src, err := encodeContact(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(src, &m); err != nil {
		t.Fatal(err)
	}
	if m["notes_count"] != 2.0 {
		t.Errorf("notes_count = %v", m["notes_count"])
	}
	if v, ok := m["last_activity_at"]; !ok || v != nil {
		t.Errorf("empty last_activity_at must be stored as null (not a date), got %v", v)
	}
	if g, ok := m["groups"].([]any); !ok || len(g) != 0 {
		t.Errorf("groups = %#v, want []", m["groups"])
	}
	if m["uuid"] != "c1" || m["company"] != nil {
		t.Errorf("uuid/company: %v %v", m["uuid"], m["company"])
	}
	if !strings.Contains(string(src), `"big":12345678901234567890`) {
		t.Errorf("number not written exactly: %s", src)
	}

	d.LastActivityAt = "2026-01-02T03:04:05Z"
	src, _ = encodeContact(d)
	json.Unmarshal(src, &m) //nolint:errcheck
	if m["last_activity_at"] != "2026-01-02T03:04:05Z" {
		t.Errorf("last_activity_at = %v", m["last_activity_at"])
	}
}

// What is written reads back equal (the conformance suite compares whole
// documents).
func TestContactRoundTrip(t *testing.T) {
	d := sampleContact("acc", "c1", 3)
	d.CustomAttributes = map[string]any{"plan": "pro", "seats": 3.0}
	emp := int64(10)
	d.Company = &projections.CompanyRef{ID: "co", Profile: company.Profile{Name: "Acme", Industries: []string{}, Keywords: []string{}, Technologies: []string{"Go"}, Employees: &emp}}
	d.Groups = []projections.GroupRef{{ID: "g", Name: "VIP"}}
	src, err := encodeContact(d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeContact(src)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("round trip\n got %+v\nwant %+v", got, d)
	}
	exact, err := decodeContactExact(src)
	if err != nil {
		t.Fatal(err)
	}
	if exact.CustomAttributes["seats"] != json.Number("3") {
		t.Fatalf("exact decode: %#v", exact.CustomAttributes["seats"])
	}
	if d.Groups = nil; !reflect.DeepEqual(normGroups(d.Groups), []projections.GroupRef{}) {
		t.Fatal("normGroups")
	}
}

func TestCompanyRef(t *testing.T) {
	emp := int64(5)
	c := &projections.CompanyDoc{State: company.State{ID: "co", AccountID: "a", Version: 2,
		Profile: company.Profile{Name: "Acme", Industries: nil, Technologies: []string{"Go"}, Employees: &emp}}}
	ref := companyRef("a", c)
	if ref == nil || ref.ID != "co" || ref.Name != "Acme" || *ref.Employees != 5 {
		t.Fatalf("ref: %+v", ref)
	}
	if ref.Industries == nil || len(ref.Industries) != 0 {
		t.Errorf("nil lists become empty (stable comparison after a round trip): %#v", ref.Industries)
	}
	ref.Technologies[0] = "changed"
	if c.Technologies[0] != "Go" {
		t.Error("companyRef shares the company's slices")
	}
	if companyRef("other", c) != nil {
		t.Error("another account's company attached")
	}
	if companyRef("a", nil) != nil {
		t.Error("missing company attached")
	}
	c.Deleted = true
	if companyRef("a", c) != nil {
		t.Error("deleted company attached")
	}
}

func TestGroupRefs(t *testing.T) {
	hits := []groupHit{
		{ID: "g3", AccountID: "a", Name: "Beta"},
		{ID: "g2", AccountID: "a", Name: "Alpha"},
		{ID: "g1", AccountID: "a", Name: "Beta"},
		{ID: "g4", AccountID: "b", Name: "Aardvark"},
		{ID: "g5", AccountID: "a", Name: "Dead", Deleted: true},
		{ID: "g2", AccountID: "a", Name: "Alpha"},
	}
	want := []projections.GroupRef{{ID: "g2", Name: "Alpha"}, {ID: "g1", Name: "Beta"}, {ID: "g3", Name: "Beta"}}
	if got := groupRefs("a", hits); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got := groupRefs("a", nil); got == nil || len(got) != 0 {
		t.Fatalf("no groups: %#v", got)
	}
}

func TestSameDenormalised(t *testing.T) {
	a := sampleContact("acc", "c", 1)
	b := a
	b.FirstName = "other" // own fields do not matter here
	if !sameDenormalised(a, b) {
		t.Fatal("same company and groups")
	}
	b.Groups = []projections.GroupRef{}
	if !sameDenormalised(a, b) {
		t.Fatal("nil and empty groups are the same")
	}
	b.Groups = []projections.GroupRef{{ID: "g", Name: "x"}}
	if sameDenormalised(a, b) {
		t.Fatal("groups differ")
	}
	b.Groups = nil
	b.Company = &projections.CompanyRef{ID: "co"}
	if sameDenormalised(a, b) {
		t.Fatal("company differs")
	}
	a.Company = &projections.CompanyRef{ID: "co"}
	if !sameDenormalised(a, b) {
		t.Fatal("equal companies")
	}
	a.Company.Name = "renamed"
	if sameDenormalised(a, b) {
		t.Fatal("renamed company")
	}
}

func TestRefreshOps(t *testing.T) {
	stored := []projections.ContactDoc{sampleContact("a", "c1", 4), sampleContact("a", "c2", 9)}
	want := make([]projections.ContactDoc, 2)
	copy(want, stored)
	want[1].Groups = []projections.GroupRef{{ID: "g", Name: "VIP"}}
	ops, err := refreshOps("contacts-contacts", stored, want)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 1 {
		t.Fatalf("only the changed contact is re-written: %+v", ops)
	}
	op := ops[0]
	if op.ID != "a:c2" || op.Version != 9 || op.VersionType.Name != "external_gte" || op.Index != "contacts-contacts" {
		t.Fatalf("op: %+v", op)
	}
	if !strings.Contains(string(op.Source), `"groups":[{"id":"g","name":"VIP"}]`) {
		t.Fatalf("source: %s", op.Source)
	}
}

func TestAffectedMembers(t *testing.T) {
	g := func(v int64, name string, deleted bool, ids ...string) projections.GroupDoc {
		return projections.GroupDoc{State: group.State{ID: "g", AccountID: "a", Name: name, Deleted: deleted, Version: v, ContactIDs: ids}}
	}
	old := g(2, "VIP", false, "c1", "c2")
	cases := []struct {
		name string
		old  *projections.GroupDoc
		doc  projections.GroupDoc
		want []string
	}{
		{"new group", nil, g(1, "VIP", false, "c1"), []string{"c1"}},
		{"members change", &old, g(3, "VIP", false, "c2", "c3"), []string{"c1", "c3"}},
		{"rename", &old, g(3, "Gold", false, "c2"), []string{"c1", "c2"}},
		{"delete", &old, g(3, "VIP", true, "c1", "c2"), []string{"c1", "c2"}},
		{"description only", &old, g(3, "VIP", false, "c1", "c2"), []string{}},
		{"redelivery", &old, g(2, "VIP", false, "c1", "c2"), []string{"c1", "c2"}},
		{"older", &old, g(1, "Old", false, "c9"), []string{}},
	}
	for _, c := range cases {
		if got := affectedMembers(c.old, c.doc); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestLatest(t *testing.T) {
	docs := []projections.ContactDoc{sampleContact("a", "c1", 2), sampleContact("a", "c2", 1), sampleContact("a", "c1", 5), sampleContact("b", "c1", 1), sampleContact("a", "c1", 3)}
	got := latest(docs, contactKey, contactVersion)
	if len(got) != 3 || got[0].Version != 5 || got[1].ID != "c2" || got[2].AccountID != "b" {
		t.Fatalf("latest: %+v", got)
	}
	if docKey("a", "c1") != "a:c1" {
		t.Fatal("docKey")
	}
}
