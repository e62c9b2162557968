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
	_ = context.Background()
}
