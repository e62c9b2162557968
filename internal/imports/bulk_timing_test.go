package imports

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"contacts/commands"
)

func TestBulkTimingScratch(t *testing.T) {
	if os.Getenv("IMPORTS_TIMING") == "" {
		t.Skip()
	}
	e := newEnv(t)
	rows := make([]commands.UpsertRow, 5000)
	for i := range rows {
		rows[i] = commands.UpsertRow{Fields: map[string]any{"name": fmt.Sprintf("B %d", i), "phone": fmt.Sprintf("+44%010d", 7_000_000_000+i),
			"email": fmt.Sprintf("b%d@x.test", i), "tags": []any{"bulk"}}, Groups: []string{"Bulk"}}
	}
	for round := 0; round < 2; round++ {
		t0 := time.Now()
		res, err := e.cmds.BulkUpsertContacts(context.Background(), commands.BulkUpsertContacts{AccountID: e.admin.AccountID, Contacts: rows})
		t.Logf("round %d: %v %+v %v", round, time.Since(t0), res.Created, err)
		for i := range rows {
			rows[i].Fields["title"] = "x"
		}
	}
}
