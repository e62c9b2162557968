// Package storetest is the conformance suite of the read-model stores: one
// contract, checked the same way against PostgreSQL (always) and
// Elasticsearch (whenever a cluster is configured).
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"contacts/domain/company"
	"contacts/domain/contact"
	"contacts/domain/group"
	"contacts/domain/label"
	"contacts/projections"
)

var seq atomic.Int64

// id returns a fresh UUID-shaped id, unique within the test run.
func id() string {
	n := seq.Add(1)
	return fmt.Sprintf("0190a5a4-%04x-7000-8000-%012x", time.Now().UnixNano()&0xffff, n)
}

// searchLag bounds how long a search-backed answer may lag the writes it
// counts: Elasticsearch's refresh interval (1 s) with room for a loaded
// machine.
const searchLag = 5 * time.Second

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func contactDoc(account, uuid string, version int64, first, companyID string) projections.ContactDoc {
	return projections.ContactDoc{State: contact.State{
		ID: uuid, AccountID: account, Name: first,
		Profile: contact.Profile{FirstName: first, CompanyID: companyID, ReplyBotEnabled: true,
			Departments: []string{}, AdditionalAttributes: map[string]any{}},
		Labels: []string{}, Notes: []contact.Note{}, AssignedTo: []string{}, Teams: []string{},
		AssociatedAccounts: []contact.Association{}, CustomAttributes: map[string]any{},
		CreatedAt: t0, UpdatedAt: t0.Add(time.Duration(version) * time.Second), Active: true, Version: version,
	}, Position: version}
}

func companyDoc(account, cid string, version int64, name string, deleted bool) projections.CompanyDoc {
	emp := int64(10 * version)
	return projections.CompanyDoc{State: company.State{
		ID: cid, AccountID: account, Deleted: deleted, Version: version, CreatedAt: t0, UpdatedAt: t0,
		Profile: company.Profile{Name: name, Industries: []string{"Software"}, Keywords: []string{}, Technologies: []string{"Go"}, Employees: &emp},
	}, Position: version}
}

func groupDoc(account, gid string, version int64, name string, deleted bool, members ...string) projections.GroupDoc {
	if members == nil {
		members = []string{}
	}
	return projections.GroupDoc{State: group.State{
		ID: gid, AccountID: account, Name: name, MemberCount: len(members), ContactIDs: members,
		Deleted: deleted, Version: version, CreatedAt: t0, UpdatedAt: t0,
	}, Position: version}
}

// Run checks a read-model store against the contract. open returns an empty
// store (fresh database, fresh indices) for each subtest.
func Run(t *testing.T, open func(t *testing.T) projections.ReadModel) {
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(ctx, t, open(t)) })
	}
}

// cases are the contract, one named case a subtest, each on an empty store.
var cases = []struct {
	name string
	run  func(ctx context.Context, t *testing.T, rm projections.ReadModel)
}{
	{"write, read back, tenancy", writeReadBackTenancy},
	{"label usage counts live contacts", labelUsageCountsLiveContacts},
	{"only newer versions are written", onlyNewerVersionsAreWritten},
	{"an erased contact's tombstone replaces its personal data", erasedContactTombstone},
	{"company fields whichever is written first", companyFieldsEitherOrder},
	{"groups whichever is written first", groupsEitherOrder},
	{"group lists follow each kind of group change", groupListsFollowGroupChanges},
	{"rebuild beside the live read model, then swap", rebuildThenSwap},
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func getContact(ctx context.Context, t *testing.T, rm projections.ReadModel, account, uuid string) projections.ContactDoc {
	t.Helper()
	d, ok, err := rm.Contact(ctx, account, uuid)
	must(t, err)
	if !ok {
		t.Fatalf("contact %s not found", uuid)
	}
	return d
}

func writeReadBackTenancy(ctx context.Context, t *testing.T, rm projections.ReadModel) {
	a, b := id(), id()
	c, co, g, l := id(), id(), id(), id()
	must(t, rm.UpsertCompanies(ctx, []projections.CompanyDoc{companyDoc(a, co, 1, "Acme", false)}))
	must(t, rm.UpsertGroups(ctx, []projections.GroupDoc{groupDoc(a, g, 1, "VIP", false)}))
	must(t, rm.UpsertLabels(ctx, []projections.LabelDoc{{State: label.State{ID: l, AccountID: a, Title: "lead", Color: "#1F93FF", Version: 1, CreatedAt: t0, UpdatedAt: t0}, Position: 1}}))
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{contactDoc(a, c, 1, "Ada", "")}))

	got := getContact(ctx, t, rm, a, c)
	want := contactDoc(a, c, 1, "Ada", "")
	want.Groups = []projections.GroupRef{}
	if got.Groups == nil {
		got.Groups = []projections.GroupRef{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("contact read back\n got %+v\nwant %+v", got, want)
	}
	if d, ok, err := rm.Company(ctx, a, co); err != nil || !ok || d.Name != "Acme" || *d.Employees != 10 {
		t.Fatalf("company: %+v %v %v", d, ok, err)
	}
	if d, ok, err := rm.Group(ctx, a, g); err != nil || !ok || d.Name != "VIP" {
		t.Fatalf("group: %+v %v %v", d, ok, err)
	}
	if d, ok, err := rm.Label(ctx, a, l); err != nil || !ok || d.Title != "lead" {
		t.Fatalf("label: %+v %v %v", d, ok, err)
	}
	// Another account reads nothing.
	for name, read := range map[string]func() (bool, error){
		"contact": func() (bool, error) { _, ok, err := rm.Contact(ctx, b, c); return ok, err },
		"company": func() (bool, error) { _, ok, err := rm.Company(ctx, b, co); return ok, err },
		"group":   func() (bool, error) { _, ok, err := rm.Group(ctx, b, g); return ok, err },
		"label":   func() (bool, error) { _, ok, err := rm.Label(ctx, b, l); return ok, err },
	} {
		if ok, err := read(); err != nil || ok {
			t.Errorf("%s readable from another account (%v, %v)", name, ok, err)
		}
	}
	if _, ok, err := rm.Contact(ctx, a, "not-a-uuid"); err != nil || ok {
		t.Errorf("malformed id: %v %v", ok, err)
	}
}

func labelUsageCountsLiveContacts(ctx context.Context, t *testing.T, rm projections.ReadModel) {
	a, l := id(), id()
	must(t, rm.UpsertLabels(ctx, []projections.LabelDoc{{State: label.State{ID: l, AccountID: a, Title: "VIP", Color: "#1F93FF", Version: 1, CreatedAt: t0, UpdatedAt: t0}, Position: 1}}))
	with := func(uuid string, labels ...string) projections.ContactDoc {
		d := contactDoc(a, uuid, 1, "X", "")
		d.Labels = labels
		return d
	}
	deleted := with(id(), "vip")
	deleted.Deleted = true
	merged := with(id(), "VIP")
	merged.MergedInto = id()
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{
		with(id(), "vip"), with(id(), "VIP", "other"), with(id(), "vipx"), with(id(), "other"), deleted, merged,
	}))
	other := contactDoc(id(), id(), 1, "Y", "") // another account
	other.Labels = []string{"VIP"}
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{other}))
	// The count is a search over the contacts read model. A store whose
	// searches see writes after a refresh (Elasticsearch with
	// refresh=false: within its 1 s interval) may lag its writes, so the
	// count is read until it is right, for a bounded time; a count still
	// wrong then fails.
	var d projections.LabelDoc
	var ok bool
	for deadline := time.Now().Add(searchLag); ; time.Sleep(50 * time.Millisecond) {
		var err error
		d, ok, err = rm.Label(ctx, a, l)
		must(t, err)
		if ok && d.UsageCount == 2 || time.Now().After(deadline) {
			break
		}
	}
	if !ok || d.UsageCount != 2 {
		t.Fatalf("usage count %d (found %v), want 2", d.UsageCount, ok)
	}
}

func onlyNewerVersionsAreWritten(ctx context.Context, t *testing.T, rm projections.ReadModel) {
	a, c := id(), id()
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{contactDoc(a, c, 3, "Three", "")}))
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{contactDoc(a, c, 2, "Two", "")}))
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{contactDoc(a, c, 3, "Three again", "")}))
	if got := getContact(ctx, t, rm, a, c); got.FirstName != "Three" || got.Version != 3 {
		t.Fatalf("older or equal version overwrote: %s v%d", got.FirstName, got.Version)
	}
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{contactDoc(a, c, 4, "Four", "")}))
	if got := getContact(ctx, t, rm, a, c); got.FirstName != "Four" {
		t.Fatalf("newer version not written: %s", got.FirstName)
	}
}

func erasedContactTombstone(ctx context.Context, t *testing.T, rm projections.ReadModel) {
	a, c := id(), id()
	live := contactDoc(a, c, 1, "Ada", "")
	live.Email = "ada@erase.test"
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{live}))
	erased := contactDoc(a, c, 2, "", "")
	erased.Deleted, erased.Erased = true, true
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{erased}))
	// A redelivered older document (at-least-once) brings nothing back.
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{live}))
	got := getContact(ctx, t, rm, a, c)
	if !got.Erased || !got.Deleted || got.FirstName != "" || got.Email != "" || got.Version != 2 {
		t.Fatalf("erased contact read back: erased %v deleted %v first %q email %q v%d",
			got.Erased, got.Deleted, got.FirstName, got.Email, got.Version)
	}
}

func companyFieldsEitherOrder(ctx context.Context, t *testing.T, rm projections.ReadModel) {
	a, c1, c2, co := id(), id(), id(), id()
	must(t, rm.UpsertCompanies(ctx, []projections.CompanyDoc{companyDoc(a, co, 1, "Acme", false)}))
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{contactDoc(a, c1, 1, "Ada", co)}))
	if got := getContact(ctx, t, rm, a, c1); got.Company == nil || got.Company.ID != co || got.Company.Name != "Acme" {
		t.Fatalf("company first: %+v", got.Company)
	}
	// Contact first, then its company.
	co2 := id()
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{contactDoc(a, c2, 1, "Bob", co2)}))
	if got := getContact(ctx, t, rm, a, c2); got.Company != nil {
		t.Fatalf("company of an unknown company: %+v", got.Company)
	}
	must(t, rm.UpsertCompanies(ctx, []projections.CompanyDoc{companyDoc(a, co2, 1, "Beta", false)}))
	if got := getContact(ctx, t, rm, a, c2); got.Company == nil || got.Company.Name != "Beta" {
		t.Fatalf("contact first: %+v", got.Company)
	}
	// A change reaches the contacts; an older company version does not.
	must(t, rm.UpsertCompanies(ctx, []projections.CompanyDoc{companyDoc(a, co, 3, "Acme Corp", false)}))
	must(t, rm.UpsertCompanies(ctx, []projections.CompanyDoc{companyDoc(a, co, 2, "Stale", false)}))
	if got := getContact(ctx, t, rm, a, c1); got.Company == nil || got.Company.Name != "Acme Corp" || *got.Company.Employees != 30 {
		t.Fatalf("after company update: %+v", got.Company)
	}
	// A company of another account is never attached.
	other := id()
	must(t, rm.UpsertCompanies(ctx, []projections.CompanyDoc{companyDoc(other, co2+"", 5, "Foreign", false)}))
	if got := getContact(ctx, t, rm, a, c2); got.Company == nil || got.Company.Name != "Beta" {
		t.Fatalf("another account's write changed the company: %+v", got.Company)
	}
	// Deleted: the contacts lose it.
	must(t, rm.UpsertCompanies(ctx, []projections.CompanyDoc{companyDoc(a, co, 4, "Acme Corp", true)}))
	if got := getContact(ctx, t, rm, a, c1); got.Company != nil {
		t.Fatalf("deleted company still on its contact: %+v", got.Company)
	}
}

func groupsEitherOrder(ctx context.Context, t *testing.T, rm projections.ReadModel) {
	a, c1, c2, g1, g2 := id(), id(), id(), id(), id()
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{contactDoc(a, c1, 1, "Ada", "")}))
	must(t, rm.UpsertGroups(ctx, []projections.GroupDoc{groupDoc(a, g1, 2, "Beta", false, c1, c2)}))
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{contactDoc(a, c2, 1, "Bob", "")}))
	must(t, rm.UpsertGroups(ctx, []projections.GroupDoc{groupDoc(a, g2, 2, "Alpha", false, c1)}))
	want := []projections.GroupRef{{ID: g2, Name: "Alpha"}, {ID: g1, Name: "Beta"}}
	if got := getContact(ctx, t, rm, a, c1).Groups; !reflect.DeepEqual(got, want) {
		t.Fatalf("groups of c1: %+v, want %+v", got, want)
	}
	if got := getContact(ctx, t, rm, a, c2).Groups; !reflect.DeepEqual(got, []projections.GroupRef{{ID: g1, Name: "Beta"}}) {
		t.Fatalf("groups of c2 (written after its group): %+v", got)
	}
	// Removal, rename, and an older version that must not undo them.
	must(t, rm.UpsertGroups(ctx, []projections.GroupDoc{groupDoc(a, g1, 4, "Gamma", false, c2)}))
	must(t, rm.UpsertGroups(ctx, []projections.GroupDoc{groupDoc(a, g1, 3, "Beta", false, c1, c2)}))
	if got := getContact(ctx, t, rm, a, c1).Groups; !reflect.DeepEqual(got, []projections.GroupRef{{ID: g2, Name: "Alpha"}}) {
		t.Fatalf("c1 after removal: %+v", got)
	}
	if got := getContact(ctx, t, rm, a, c2).Groups; !reflect.DeepEqual(got, []projections.GroupRef{{ID: g1, Name: "Gamma"}}) {
		t.Fatalf("c2 after rename: %+v", got)
	}
	// A contact update keeps its groups.
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{contactDoc(a, c2, 2, "Bobby", "")}))
	if got := getContact(ctx, t, rm, a, c2).Groups; len(got) != 1 {
		t.Fatalf("contact update lost its groups: %+v", got)
	}
	// Deleting a group takes it off its contacts (they stay).
	must(t, rm.UpsertGroups(ctx, []projections.GroupDoc{groupDoc(a, g1, 5, "Gamma", true, c2)}))
	if got := getContact(ctx, t, rm, a, c2).Groups; len(got) != 0 {
		t.Fatalf("deleted group still listed: %+v", got)
	}
}

func groupListsFollowGroupChanges(ctx context.Context, t *testing.T, rm projections.ReadModel) {
	a, c1, c2, c3, g := id(), id(), id(), id(), id()
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{contactDoc(a, c1, 1, "Ada", ""),
		contactDoc(a, c2, 1, "Bob", ""), contactDoc(a, c3, 1, "Cy", "")}))
	check := func(t *testing.T, step string, want map[string][]projections.GroupRef) {
		t.Helper()
		for c, w := range want {
			if w == nil {
				w = []projections.GroupRef{}
			}
			if got := getContact(ctx, t, rm, a, c).Groups; !reflect.DeepEqual(got, w) {
				t.Fatalf("%s: groups of %s: %+v, want %+v", step, c, got, w)
			}
		}
	}
	in := func(name string) []projections.GroupRef { return []projections.GroupRef{{ID: g, Name: name}} }
	must(t, rm.UpsertGroups(ctx, []projections.GroupDoc{groupDoc(a, g, 1, "Team", false, c1)}))
	check(t, "created", map[string][]projections.GroupRef{c1: in("Team"), c2: nil, c3: nil})
	// Members join in steps (as bulk upserts add them), same name.
	must(t, rm.UpsertGroups(ctx, []projections.GroupDoc{groupDoc(a, g, 2, "Team", false, c1, c2)}))
	must(t, rm.UpsertGroups(ctx, []projections.GroupDoc{groupDoc(a, g, 3, "Team", false, c1, c2, c3)}))
	check(t, "joined", map[string][]projections.GroupRef{c1: in("Team"), c2: in("Team"), c3: in("Team")})
	// One leaves, the name stays.
	must(t, rm.UpsertGroups(ctx, []projections.GroupDoc{groupDoc(a, g, 4, "Team", false, c1, c3)}))
	check(t, "left", map[string][]projections.GroupRef{c1: in("Team"), c2: nil, c3: in("Team")})
	// Renamed with no member change: every member's list shows it.
	must(t, rm.UpsertGroups(ctx, []projections.GroupDoc{groupDoc(a, g, 5, "Crew", false, c1, c3)}))
	check(t, "renamed", map[string][]projections.GroupRef{c1: in("Crew"), c2: nil, c3: in("Crew")})
	// Deleted, then restored.
	must(t, rm.UpsertGroups(ctx, []projections.GroupDoc{groupDoc(a, g, 6, "Crew", true, c1, c3)}))
	check(t, "deleted", map[string][]projections.GroupRef{c1: nil, c2: nil, c3: nil})
	must(t, rm.UpsertGroups(ctx, []projections.GroupDoc{groupDoc(a, g, 7, "Crew", false, c1, c3)}))
	check(t, "restored", map[string][]projections.GroupRef{c1: in("Crew"), c2: nil, c3: in("Crew")})
	// A stale version changes nothing.
	must(t, rm.UpsertGroups(ctx, []projections.GroupDoc{groupDoc(a, g, 3, "Team", false, c1, c2, c3)}))
	check(t, "stale", map[string][]projections.GroupRef{c1: in("Crew"), c2: nil, c3: in("Crew")})
}

func rebuildThenSwap(ctx context.Context, t *testing.T, rm projections.ReadModel) {
	a, c := id(), id()
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{contactDoc(a, c, 1, "Live", "")}))
	target, err := rm.StartRebuild(ctx, projections.Contacts)
	must(t, err)
	c2 := id()
	must(t, target.UpsertContacts(ctx, []projections.ContactDoc{contactDoc(a, c, 2, "Rebuilt", ""), contactDoc(a, c2, 1, "New", "")}))
	if got := getContact(ctx, t, rm, a, c); got.FirstName != "Live" {
		t.Fatalf("live read model changed during the rebuild: %s", got.FirstName)
	}
	must(t, rm.FinishRebuild(ctx, projections.Contacts))
	if got := getContact(ctx, t, rm, a, c); got.FirstName != "Rebuilt" {
		t.Fatalf("after swap: %s", got.FirstName)
	}
	getContact(ctx, t, rm, a, c2)
	// The swapped-in read model takes writes as before, and a rerun works.
	must(t, rm.UpsertContacts(ctx, []projections.ContactDoc{contactDoc(a, c, 3, "After", "")}))
	if got := getContact(ctx, t, rm, a, c); got.FirstName != "After" {
		t.Fatalf("write after swap: %s", got.FirstName)
	}
	_, err = rm.StartRebuild(ctx, projections.Contacts)
	must(t, err)
	_, err = rm.StartRebuild(ctx, projections.Contacts) // an interrupted rebuild is simply restarted
	must(t, err)
	must(t, rm.FinishRebuild(ctx, projections.Contacts))
	if _, ok, _ := rm.Contact(ctx, a, c); ok {
		t.Fatal("an empty rebuild did not replace the read model")
	}
}
