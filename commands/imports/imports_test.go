package imports

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/commands"
	"contacts/domain/contact"
	"contacts/domain/importjob"
	"contacts/eventstore"
	"contacts/internal/accounts"
	"contacts/internal/auth"
	"contacts/internal/migrations"
	"contacts/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type env struct {
	t     *testing.T
	pool  *pgxpool.Pool
	store *eventstore.Store
	cmds  *commands.Handlers
	svc   *Service
	admin auth.Principal
	agent auth.Principal
	other auth.Principal // an administrator of another account
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvDSN(t, "")
}

func newEnvDSN(t *testing.T, dsn string) *env {
	t.Helper()
	e := newEnvDSNNoAccounts(t, dsn)
	ctx := context.Background()
	a := accounts.New(e.pool, []byte("test-secret-test-secret-test-secret!"), time.Hour)
	reg := func(name string) auth.Principal {
		s, err := a.Register(ctx, accounts.RegisterInput{AccountName: name, Name: "Ada", Email: strings.ToLower(name) + "@x.test", Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		return auth.Principal{UserID: s.User.ID, AccountID: s.Account.ID, Role: auth.RoleAdministrator}
	}
	e.admin = reg("Acme")
	e.agent = auth.Principal{UserID: e.admin.UserID, AccountID: e.admin.AccountID, Role: "agent"}
	e.other = reg("Other")
	return e
}

func newEnvDSNNoAccounts(t *testing.T, dsn string) *env {
	t.Helper()
	ctx := context.Background()
	var pool *pgxpool.Pool
	if dsn == "" {
		pool = pgtest.New(t)
	} else {
		var err error
		if pool, err = pgxpool.New(ctx, dsn); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
	}
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store := eventstore.New(pool)
	cmds := commands.New(store)
	e := &env{t: t, pool: pool, store: store, cmds: cmds}
	e.svc = New(pool, cmds, Config{Dir: t.TempDir(), BatchRows: 3, PollEvery: 50 * time.Millisecond}, nil)
	return e
}

func (e *env) upload(p auth.Principal, csvText string, opt UploadOptions) importjob.State {
	e.t.Helper()
	job, err := e.svc.Create(context.Background(), p, "contacts.csv", strings.NewReader(csvText), opt)
	if err != nil {
		e.t.Fatalf("upload: %v", err)
	}
	return job
}

// run runs the worker until the job is finished (a job still locked by a
// process that just died is skipped until PostgreSQL notices the death).
func (e *env) run(accountID, jobID string) importjob.State {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := e.svc.RunOnce(context.Background()); err != nil {
			e.t.Fatal(err)
		}
		job, err := e.cmds.ImportJob(context.Background(), accountID, jobID)
		if err != nil {
			e.t.Fatal(err)
		}
		if job.Finished() || time.Now().After(deadline) {
			return job
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// contactsByEmail replays every contact stream of the account.
func (e *env) contacts(accountID string) map[string]contact.State {
	e.t.Helper()
	ctx := context.Background()
	rows, err := e.pool.Query(ctx, `SELECT DISTINCT stream_id::text FROM events WHERE account_id = $1 AND stream_type = 'contact'`, accountID)
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	out := map[string]contact.State{}
	for _, id := range ids {
		c, err := e.cmds.Contact(ctx, accountID, id)
		if err != nil {
			e.t.Fatal(err)
		}
		key := strings.ToLower(c.Email)
		if key == "" {
			key = c.Phone
		}
		if key == "" {
			key = c.Identifier
		}
		if _, dup := out[key]; dup {
			e.t.Fatalf("two contacts with key %q", key)
		}
		out[key] = c
	}
	return out
}

// A file with every kind of bad row: good rows import, each bad row is an
// error record with its row number, message and data, and the error CSV
// is the original columns plus "error".
func TestImportEveryKindOfBadRow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// An existing contact owns a phone number a row will try to take.
	if _, err := e.cmds.CreateContact(ctx, commands.CreateContact{AccountID: e.admin.AccountID, Fields: map[string]any{
		"first_name": "Owner", "email": "owner@acme.test", "phone": "+14155550999"}}); err != nil {
		t.Fatal(err)
	}
	file := strings.Join([]string{
		"Name,Email,Phone Number,Company,Tags,Groups,custom_fields.tier,Opt Out,Fax",
		"Grace Hopper,grace@navy.test,+1 415 555 0100,Navy,\"vip,speaker\",Admirals,gold,no,123", // 2 ok
		"Bad Email,not-an-email,,,,,,,",  // 3 invalid e-mail
		"Bad Phone,bp@x.test,12ab,,,,,,", // 4 invalid phone
		",,,,,,,,",                       // 5 nothing to identify a contact
		"Too,Few",                        // 6 wrong width
		"Alan Turing,alan@x.test,+44 20 7946 0000,,,,,maybe,", // 7 bad boolean
		"Taker,taker@x.test,+14155550999,,,,,,",               // 8 phone owned by another contact
		"Dup First,dup@x.test,,,,,silver,,",                   // 9 superseded by row 10
		"Dup Second,DUP@x.test,,,,,platinum,,",                // 10 wins
		strings.Repeat("x", 51) + " Long,long@x.test,,,,,,,",  // 11 first name too long
		"Ünïcödé Ok,uni@x.test,,,,,,yes,",                     // 12 ok
	}, "\n") + "\n"
	job := e.upload(e.admin, file, UploadOptions{})
	if job.Status != importjob.StatusPending || job.UpsertKey != "email" {
		t.Fatalf("new job: %+v", job)
	}
	if fmt.Sprint(job.UnknownColumns) != "[Fax]" {
		t.Fatalf("unknown columns: %v", job.UnknownColumns)
	}
	job = e.run(e.admin.AccountID, job.ID)
	if job.Status != importjob.StatusCompleted {
		t.Fatalf("job: %+v", job)
	}
	if job.TotalRows != 11 || job.SuccessCount != 3 || job.ErrorCount != 8 || job.CreatedCount != 3 || job.DuplicateCount != 1 {
		t.Fatalf("counters: total %d success %d errors %d created %d dups %d", job.TotalRows, job.SuccessCount, job.ErrorCount, job.CreatedCount, job.DuplicateCount)
	}
	if job.StartedAt == nil || job.FinishedAt == nil || job.ErrorFilePath == "" {
		t.Fatalf("times/paths: %+v", job)
	}
	errs, err := e.svc.Errors(ctx, e.admin.AccountID, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{
		3: "email: is not a valid e-mail address", 4: "phone", 5: "a contact needs", 6: "the row has 2 columns but the header has 9",
		7: "opt_out", 8: "phone \"+14155550999\" is already used by contact", 9: "duplicate email dup@x.test: row 10",
		11: "name: must be at most 50 characters",
	}
	if len(errs) != len(want) {
		t.Fatalf("errors: %+v", errs)
	}
	for _, er := range errs {
		w, ok := want[er.RowNumber]
		if !ok || !strings.Contains(er.ErrorMessage, w) {
			t.Errorf("row %d: %q, want it to mention %q", er.RowNumber, er.ErrorMessage, w)
		}
	}
	if errs[0].RowData["Email"] != "not-an-email" || errs[0].RowData["Name"] != "Bad Email" {
		t.Errorf("row data: %v", errs[0].RowData)
	}
	cs := e.contacts(e.admin.AccountID)
	g := cs["grace@navy.test"]
	if g.FirstName != "Grace" || g.LastName != "Hopper" || g.Phone != "+14155550100" || fmt.Sprint(g.Labels) != "[speaker vip]" ||
		g.CustomAttributes["tier"] != "gold" || g.AdditionalAttributes["company_name"] != "Navy" || g.OptOut {
		t.Errorf("grace: %+v", g)
	}
	if d := cs["dup@x.test"]; d.FirstName != "Dup" || d.LastName != "Second" || d.CustomAttributes["tier"] != "platinum" {
		t.Errorf("the last duplicate must win: %+v", d)
	}
	if u := cs["uni@x.test"]; u.FirstName != "Ünïcödé" || !u.OptOut {
		t.Errorf("unicode row: %+v", u)
	}
	if len(cs) != 4 { // owner + 3 imported
		t.Errorf("contacts: %d", len(cs))
	}
	// Grace is in the auto-created group "Admirals".
	var members int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE account_id = $1 AND event_type = 'group.members_added'
		AND data->'contact_ids' ? $2`, e.admin.AccountID, g.ID).Scan(&members); err != nil || members != 1 {
		t.Errorf("group membership: %d %v", members, err)
	}
	var buf bytes.Buffer
	if err := e.svc.WriteErrorCSV(ctx, e.admin.AccountID, job.ID, &buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err == nil && len(recs) > 0 {
		// every line has the header's width
		for _, r := range recs {
			if len(r) != 10 {
				err = fmt.Errorf("width %d: %v", len(r), r)
			}
		}
	}
	if err != nil || len(recs) != 9 || recs[0][9] != "error" || recs[1][1] != "not-an-email" || !strings.Contains(recs[1][9], "e-mail") {
		t.Fatalf("error csv: %v %q", err, recs)
	}
	// Another account sees nothing of the job.
	if _, err := e.svc.Status(ctx, e.other.AccountID, job.ID, true); err == nil {
		t.Error("another account read the job")
	}
	if rows, _ := e.svc.ErrorRows(ctx, e.other.AccountID, job.ID, 100, 0); len(rows) != 0 {
		t.Error("another account read the errors")
	}
}

// Re-uploading the same file changes nothing: with the (default) e-mail
// key every row finds its contact unchanged, and no contact event is
// appended; without a key the rows are refused as duplicates.
func TestReuploadIsIdempotent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	file := "name,email,phone,labels,groups,custom_attributes.plan\n" +
		"Ada Lovelace,ada@x.test,+442079460001,vip,Founders,pro\n" +
		"Charles Babbage,charles@x.test,+442079460002,,Founders,\n" +
		"Mary Somerville,mary@x.test,,\"a,b\",,basic\n" +
		"No Email,,+442079460003,,,\n" // matched on re-upload by its phone
	first := e.run(e.admin.AccountID, e.upload(e.admin, file, UploadOptions{}).ID)
	if first.CreatedCount != 4 || first.ErrorCount != 0 {
		t.Fatalf("first import: %+v", first)
	}
	count := func() (n int64) {
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE account_id = $1 AND stream_type <> 'import_job'`,
			e.admin.AccountID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	again := e.run(e.admin.AccountID, e.upload(e.admin, file, UploadOptions{}).ID)
	if again.Status != importjob.StatusCompleted || again.UnchangedCount != 4 || again.CreatedCount != 0 || again.UpdatedCount != 0 {
		t.Fatalf("re-upload: %+v", again)
	}
	if after := count(); after != before {
		t.Fatalf("re-upload appended %d events", after-before)
	}
	noKey := e.run(e.admin.AccountID, e.upload(e.admin, file, UploadOptions{UpsertKey: "none"}).ID)
	if noKey.ErrorCount != 4 || noKey.CreatedCount != 0 || count() != before {
		t.Fatalf("re-upload without a key: %+v", noKey)
	}
	if len(e.contacts(e.admin.AccountID)) != 4 {
		t.Fatal("contacts were duplicated")
	}

	// A changed file updates in place: fields set, labels merged, custom
	// attributes merged, empty cells leave values alone.
	changed := "email,title,tags,custom_fields.tier\n" +
		"ada@x.test,Countess,speaker,gold\n" +
		"charles@x.test,,,\n"
	upd := e.run(e.admin.AccountID, e.upload(e.admin, changed, UploadOptions{}).ID)
	if upd.UpdatedCount != 1 || upd.UnchangedCount != 1 {
		t.Fatalf("update: %+v", upd)
	}
	ada := e.contacts(e.admin.AccountID)["ada@x.test"]
	if ada.Title != "Countess" || fmt.Sprint(ada.Labels) != "[speaker vip]" || ada.CustomAttributes["plan"] != "pro" ||
		ada.CustomAttributes["tier"] != "gold" || ada.FirstName != "Ada" {
		t.Fatalf("ada: %+v", ada)
	}
}

// Upload refusals leave nothing behind: bad options, an empty file, no
// usable header, an agent, a file over the limit.
func TestUploadRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.svc.cfg.MaxFileBytes = 64
	cases := []struct {
		name, file string
		p          auth.Principal
		opt        UploadOptions
		want       string
	}{
		{"agent", "email\na@x.test\n", e.agent, UploadOptions{}, "administrator"},
		{"bad key", "email\na@x.test\n", e.admin, UploadOptions{UpsertKey: "name"}, "upsert_key"},
		{"key without column", "email\na@x.test\n", e.admin, UploadOptions{UpsertKey: "phone"}, "no phone column"},
		{"empty", "", e.admin, UploadOptions{}, "empty"},
		{"no known column", "foo,bar\n1,2\n", e.admin, UploadOptions{}, "no column matches"},
		{"two columns, one field", "email,Email Address\n", e.admin, UploadOptions{}, "both fill email"},
		{"too large", "email\n" + strings.Repeat("a@x.test\n", 10), e.admin, UploadOptions{}, "larger than the import limit"},
	}
	for _, c := range cases {
		_, err := e.svc.Create(ctx, c.p, "f.csv", strings.NewReader(c.file), c.opt)
		if err == nil || !strings.Contains(err.Error()+ErrorMessage(err), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	var jobs, events int
	_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM import_jobs`).Scan(&jobs)
	_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_type = 'import_job'`).Scan(&events)
	entries, _ := os.ReadDir(e.svc.cfg.Dir + "/uploads")
	if jobs != 0 || events != 0 || len(entries) != 0 {
		t.Fatalf("refused uploads left %d jobs, %d events, %d files", jobs, events, len(entries))
	}
}

// A job whose file vanished fails with a reason instead of looping.
func TestMissingFileFailsTheJob(t *testing.T) {
	e := newEnv(t)
	job := e.upload(e.admin, "email\na@x.test\n", UploadOptions{})
	if err := os.Remove(job.UploadPath); err != nil {
		t.Fatal(err)
	}
	done := e.run(e.admin.AccountID, job.ID)
	if done.Status != importjob.StatusFailed || !strings.Contains(done.Reason, "cannot be read") || done.FinishedAt == nil {
		t.Fatalf("job: %+v", done)
	}
}

// Batches are decided while the previous one commits: a batch decided
// before its predecessor created a group (or took a phone number) is
// decided again, so a group named in every row is created once and every
// row joins it; a phone taken by an earlier batch is refused.
func TestPipelinedBatchesStayConsistent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("email,first_name,phone,groups\n")
	const rows = 30
	for i := 0; i < rows; i++ {
		phone := fmt.Sprintf("+1415555%04d", i)
		if i == 20 {
			phone = "+14155550003" // row 5's phone, in a later batch
		}
		fmt.Fprintf(&b, "p%d@x.test,P%d,%s,Team; Batch %d\n", i, i, phone, i/3)
	}
	job := e.run(e.admin.AccountID, e.upload(e.admin, b.String(), UploadOptions{}).ID)
	if job.Status != importjob.StatusCompleted || job.CreatedCount != rows-1 || job.ErrorCount != 1 {
		t.Fatalf("job: %+v", job)
	}
	errs, _ := e.svc.Errors(ctx, e.admin.AccountID, job.ID)
	if len(errs) != 1 || errs[0].RowNumber != 22 || !strings.Contains(errs[0].ErrorMessage, "phone") {
		t.Fatalf("errors: %+v", errs)
	}
	var teams, members int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE account_id = $1 AND event_type = 'group.created'
		AND data->>'name' = 'Team'`, e.admin.AccountID).Scan(&teams); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM events e, jsonb_array_elements_text(e.data->'contact_ids')
		WHERE e.event_type = 'group.members_added' AND e.stream_id = (SELECT stream_id FROM unique_claims
		WHERE account_id = $1 AND kind = 'group_name' AND value = 'team')`, e.admin.AccountID).Scan(&members); err != nil {
		t.Fatal(err)
	}
	if teams != 1 || members != rows-1 {
		t.Fatalf("group Team created %d times with %d members", teams, members)
	}
}

// A file over the row limit fails the job before any row is applied.
func TestRowLimitFailsTheJob(t *testing.T) {
	e := newEnv(t)
	e.svc.cfg.MaxRows = 2
	job := e.run(e.admin.AccountID, e.upload(e.admin, "email\na@x.test\nb@x.test\nc@x.test\n", UploadOptions{}).ID)
	if job.Status != importjob.StatusFailed || !strings.Contains(job.Reason, "more than 2 rows") || job.ProcessedRows != 0 {
		t.Fatalf("job: %+v", job)
	}
	if n := len(e.contacts(e.admin.AccountID)); n != 0 {
		t.Fatalf("%d contacts imported", n)
	}
	ok := e.run(e.admin.AccountID, e.upload(e.admin, "email\na@x.test\nb@x.test\n", UploadOptions{}).ID)
	if ok.Status != importjob.StatusCompleted || ok.CreatedCount != 2 {
		t.Fatalf("at the limit: %+v", ok)
	}
}
