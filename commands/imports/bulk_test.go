package imports

import (
	"context"
	"fmt"
	"testing"

	"contacts/commands"
)

// A bulk upsert larger than one chunk: every contact lands once, a group
// named by all of them is created once, and a phone repeated in a later
// chunk is won by the later contact.
func TestBulkUpsertAcrossChunks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 11_000
	rows := make([]commands.UpsertRow, n)
	for i := range rows {
		phone := fmt.Sprintf("+44%010d", 7_000_000_000+i)
		if i == n-1 {
			phone = fmt.Sprintf("+44%010d", 7_000_000_000+10) // row 10's phone, two chunks later
		}
		rows[i] = commands.UpsertRow{Fields: map[string]any{"first_name": fmt.Sprintf("B%d", i), "phone": phone}, Groups: []string{"All"}}
	}
	res, err := e.cmds.BulkUpsertContacts(ctx, commands.BulkUpsertContacts{AccountID: e.admin.AccountID, Contacts: rows})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != n-1 || res.Skipped != 1 || res.Updated != 0 || len(res.Errors) != 0 {
		t.Fatalf("result: %+v", res)
	}
	var contacts, groups, members int
	_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE account_id = $1 AND event_type = 'contact.created'`, e.admin.AccountID).Scan(&contacts)
	_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE account_id = $1 AND event_type = 'group.created'`, e.admin.AccountID).Scan(&groups)
	_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM events e, jsonb_array_elements_text(e.data->'contact_ids')
		WHERE e.account_id = $1 AND e.event_type = 'group.members_added'`, e.admin.AccountID).Scan(&members)
	if contacts != n-1 || groups != 1 || members != n-1 {
		t.Fatalf("%d contacts, %d groups, %d memberships", contacts, groups, members)
	}
	owner, _, _ := e.store.LookupClaim(ctx, e.admin.AccountID, "phone", fmt.Sprintf("+44%010d", 7_000_000_010))
	c, err := e.cmds.Contact(ctx, e.admin.AccountID, owner)
	if err != nil || c.FirstName != fmt.Sprintf("B%d", n-1) {
		t.Fatalf("the later duplicate must win: %+v %v", c.FirstName, err)
	}
}
