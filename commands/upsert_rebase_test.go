package commands

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"contacts/eventstore"
	"contacts/internal/migrations"
	"contacts/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// A plan that adds members to a group another write changed after the plan
// read it is committed as decided (its new contacts keep the ids it gave
// them), on top of the group as it now is: no member is lost. This is what
// a bulk upsert's chunks do, each planned while the previous one commits.
func TestPlanRebasedOnAChangedGroup(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	h := New(eventstore.New(pool))
	account := eventstore.NewID()
	rows := func(from, n int) []UpsertRow {
		out := make([]UpsertRow, n)
		for i := range out {
			out[i] = UpsertRow{Fields: map[string]any{"first_name": fmt.Sprintf("P%d", from+i),
				"phone": fmt.Sprintf("+44%010d", 7_000_000_000+from+i)}, Groups: []string{"Team"}}
		}
		return out
	}
	commit := func(p *upsertPlan) {
		t.Helper()
		if err := h.commitPlan(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	plan := func(from, n int) *upsertPlan {
		t.Helper()
		p, err := h.planUpsert(ctx, account, "", "phone", "", rows(from, n))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	commit(plan(0, 2)) // creates the group
	second := plan(2, 3)
	commit(plan(5, 4)) // the group moves on after second was planned
	commit(second)
	third := plan(9, 1)
	// Renamed meanwhile: the rows named "Team", so the plan is refused and
	// must be decided again (the group named Team is a new one then).
	owner, _, err := h.store.LookupClaim(ctx, account, "group_name", "team")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.UpdateGroup(ctx, UpdateGroup{AccountID: account, ID: owner, Fields: map[string]any{"name": "Crew"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.commitPlan(ctx, third); err == nil {
		t.Fatal("a plan for a renamed group was committed")
	}

	g, err := h.Group(ctx, account, owner)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range []*upsertPlan{second} {
		for _, r := range p.results {
			if r.Outcome != OutcomeCreated {
				t.Fatalf("row: %+v", r)
			}
			want = append(want, r.ContactID)
		}
	}
	if g.MemberCount != 9 {
		t.Fatalf("the group has %d members, want 9", g.MemberCount)
	}
	for _, id := range want {
		if !slices.Contains(g.ContactIDs, id) {
			t.Fatalf("planned contact %s is not a member: the plan was decided again or its membership lost", id)
		}
		if _, err := h.Contact(ctx, account, id); err != nil {
			t.Fatalf("planned contact %s: %v", id, err)
		}
	}
}
