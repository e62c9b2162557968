package imports

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"contacts/domain/importjob"
	"contacts/internal/pgtest"
)

// TestKillHelper is the child process of TestKillAndResume: it processes
// the jobs of the database it is given, slowly, until it is killed.
func TestKillHelper(t *testing.T) {
	dsn := os.Getenv("IMPORTS_KILL_HELPER_DSN")
	if dsn == "" {
		t.Skip("run by TestKillAndResume")
	}
	e := newEnvDSNNoAccounts(t, dsn)
	e.svc.afterBatch = func(importjob.State) { time.Sleep(30 * time.Millisecond) }
	_ = e.svc.RunOnce(context.Background())
	t.Fatal("the helper should have been killed before finishing")
}

// A process killed (SIGKILL) in the middle of a job: after a restart the
// job resumes from its checkpoint, and every row is imported exactly once.
func TestKillAndResume(t *testing.T) {
	dsn := pgtest.NewDSN(t)
	e := newEnvDSN(t, dsn)
	const rows = 90
	var b strings.Builder
	b.WriteString("first_name,last_name,email,tags\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&b, "First%d,Last%d,person%d@x.test,\"t%d,all\"\n", i, i, i, i%3)
	}
	job := e.upload(e.admin, b.String(), UploadOptions{})

	cmd := exec.Command(os.Args[0], "-test.run", "^TestKillHelper$", "-test.count", "1")
	cmd.Env = append(os.Environ(), "IMPORTS_KILL_HELPER_DSN="+dsn)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := e.cmds.ImportJob(ctx, e.admin.AccountID, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.ProcessedRows >= rows/3 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the helper made no progress: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed, err := e.cmds.ImportJob(ctx, e.admin.AccountID, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if killed.Status != importjob.StatusProcessing || killed.ProcessedRows >= rows {
		t.Fatalf("the kill did not land mid-job: %+v", killed)
	}
	t.Logf("killed after %d of %d rows", killed.ProcessedRows, rows)

	// The restarted worker (here: this process) resumes and finishes.
	done := e.run(e.admin.AccountID, job.ID)
	if done.Status != importjob.StatusCompleted || done.SuccessCount != rows || done.ErrorCount != 0 || done.CreatedCount != rows {
		t.Fatalf("resumed job: %+v", done)
	}
	var created, batches, covered int64
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE account_id = $1 AND event_type = 'contact.created'`,
		e.admin.AccountID).Scan(&created); err != nil {
		t.Fatal(err)
	}
	if created != rows {
		t.Fatalf("%d contact.created events for %d rows", created, rows)
	}
	if err := e.pool.QueryRow(ctx, `SELECT count(*), sum((data->>'last_row')::bigint - (data->>'first_row')::bigint + 1)
		FROM events WHERE stream_id = $1 AND event_type = 'import_job.batch_processed'`, job.ID).Scan(&batches, &covered); err != nil {
		t.Fatal(err)
	}
	if covered != rows {
		t.Fatalf("checkpoints cover %d rows in %d batches", covered, batches)
	}
	cs := e.contacts(e.admin.AccountID)
	for i := 0; i < rows; i++ {
		c, ok := cs[fmt.Sprintf("person%d@x.test", i)]
		if !ok || c.FirstName != fmt.Sprintf("First%d", i) || len(c.Labels) != 2 {
			t.Fatalf("row %d: %+v", i, c)
		}
	}
}
