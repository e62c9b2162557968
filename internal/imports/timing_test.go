package imports

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"contacts/domain/importjob"
)

func TestTimingScratch(t *testing.T) {
	if os.Getenv("IMPORTS_TIMING") == "" {
		t.Skip()
	}
	e := newEnv(t)
	e.svc.cfg.BatchRows = 1000
	var b strings.Builder
	b.WriteString("first_name,last_name,email,phone_number,title,tags\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&b, "F%d,L,p%d@x.test,+1%010d,CEO,vip\n", i, i, 3_000_000_000+i)
	}
	job := e.upload(e.admin, b.String(), UploadOptions{})
	last := time.Now()
	e.svc.afterBatch = func(j importjob.State) {
		t.Logf("batch to row %d: %v", j.NextRow, time.Since(last))
		last = time.Now()
	}
	t0 := time.Now()
	_ = e.run(e.admin.AccountID, job.ID)
	t.Logf("total %v", time.Since(t0))
	var vals []string
	for i := 0; i < 1000; i++ {
		vals = append(vals, fmt.Sprintf("p%d@x.test", i+20000))
	}
	for i := 0; i < 7; i++ {
		t1 := time.Now()
		_, _ = e.store.LookupClaims(context.Background(), e.admin.AccountID, "email", vals)
		t.Logf("lookup %v", time.Since(t1))
	}
	plan, _ := e.pool.Query(context.Background(), `EXPLAIN ANALYZE SELECT value, stream_id::text FROM unique_claims
		WHERE account_id = $1 AND kind = $2 AND value = ANY($3::text[])`, e.admin.AccountID, "email", vals)
	for plan.Next() {
		var l string
		_ = plan.Scan(&l)
		t.Log(l)
	}
	plan.Close()
	rows, _ := e.pool.Query(context.Background(), `SELECT relname, seq_scan, seq_tup_read, idx_scan FROM pg_stat_user_tables ORDER BY seq_tup_read DESC LIMIT 6`)
	for rows.Next() {
		var n string
		var a, b, c *int64
		_ = rows.Scan(&n, &a, &b, &c)
		t.Logf("%s seq=%v tup=%v idx=%v", n, *a, *b, c)
	}
	rows.Close()
	_ = context.Background()
}
