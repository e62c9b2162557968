package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"contacts/commands"
	"contacts/commands/imports"
	"contacts/eventstore"
	"contacts/internal/accounts"
	"contacts/internal/auth"
	"contacts/internal/config"
	"contacts/internal/database"
	"contacts/internal/leader"
	"contacts/projections"
	"contacts/readapi"
	"contacts/readapi/pgquery"
)

// benchImport generates a CSV file, imports it through an import job with
// the live embedded projector running, and measures until every row is
// queryable through the read API; then it times bulk upserts of --bulk
// contacts over HTTP. It prints one JSON object. --projector=false leaves
// the projector out, to tell the commands' own time from the time lost to
// the read model's writes on the same cores.
func newBenchImportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "CSV import until queryable, and bulk upsert timings",
		Args:  cobra.NoArgs,
	}
	fs := cmd.Flags()
	rows := fs.Int("rows", 1_000_000, "CSV rows to generate and import")
	bulk := fs.Int("bulk", 50_000, "contacts per bulk upsert request (0: skip)")
	batch := fs.Int("batch", imports.DefaultBatchRows, "rows per import transaction")
	pad := fs.Int("pad", 0, "bytes of an extra, unmapped column per row (reported as unknown, ignored): large files from fewer rows")
	cpuProfile := fs.String("cpuprofile", "", "write this process's CPU profile (import and bulk phases) to this file")
	project := fs.Bool("projector", true, "run the live projector; with false, the import and bulk upserts are timed without the read model's writes beside them (nothing becomes queryable: queryable_seconds is omitted)")
	config.AddFlags(fs)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return benchImport(cmd.Context(), cmd, rows, bulk, batch, pad, cpuProfile, project)
	}
	return cmd
}

func benchImport(ctx context.Context, cmd *cobra.Command, rows, bulk, batch, pad *int, cpuProfile *string, project *bool) error {
	cfg, logger, db, err := open(ctx, cmd, 16)
	if err != nil {
		return err
	}
	defer closeDB(ctx, logger, db)
	secret, err := jwtSecret(cfg)
	if err != nil {
		return err
	}
	authSvc := accounts.New(db.Pool, secret, cfg.AccessTokenTTL)
	suffix := strings.ReplaceAll(eventstore.NewID(), "-", "")[20:]
	sess, err := authSvc.Register(ctx, accounts.RegisterInput{AccountName: "Bench " + suffix, Name: "Bench",
		Email: "bench-" + suffix + "@example.com", Password: "bench-" + suffix})
	if err != nil {
		return err
	}
	p := auth.Principal{UserID: sess.User.ID, AccountID: sess.Account.ID, Role: sess.Account.Role}

	dir, err := os.MkdirTemp("", "contacts-bench-import-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "contacts.csv")
	genStart := time.Now()
	size, err := generateCSV(file, *rows, *pad, suffix)
	if err != nil {
		return err
	}
	genTime := time.Since(genStart)

	store := eventstore.New(db.Pool, eventstore.WithMasterKey(cfg.MasterKey()))
	cmds := commands.New(store)
	imp := imports.New(db.Pool, cmds, imports.Config{Dir: filepath.Join(dir, "imports"), BatchRows: *batch,
		MaxFileBytes: cfg.ImportMaxFileBytes, MaxRows: cfg.ImportMaxRows}, logger)
	rm, err := openReadModel(ctx, cfg, db, logger)
	if err != nil {
		return err
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	// The embedded service's moving parts: the projector and the import worker.
	runner := &projections.Runner{Source: store, Handlers: projections.New(store, rm), Logger: logger}
	if *project {
		go func() { _ = leader.Run(wctx, db.Pool, "projector", leader.Options{Logger: logger}, runner.Run) }()
	}
	go func() { _ = imp.Run(wctx) }()
	read := pgquery.NewPG(db.Pool)
	all, err := readapi.ParseQuery(map[string]any{})
	if err != nil {
		return err
	}

	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	start := time.Now()
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	job, err := imp.Create(ctx, p, "bench.csv", f, imports.UploadOptions{})
	f.Close()
	if err != nil {
		return err
	}
	uploaded := time.Since(start)
	var completed, queryable time.Duration
	terminal := isTerminal(os.Stderr)
	// The job's state is polled every 100 ms; the read API's count (which
	// takes a while over a million rows, on the same two cores as the
	// import) every 200 ms once the job completed, and before that only
	// for the progress line, every second.
	var lastCount time.Time
	var n int64
	for completed == 0 || (*project && queryable == 0) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		st, err := imp.Job(ctx, p.AccountID, job.ID)
		if err != nil {
			return err
		}
		if st.Status == "failed" {
			return fmt.Errorf("import failed: %s", st.Reason)
		}
		if completed == 0 && st.Finished() {
			completed = time.Since(start)
		}
		every := time.Second
		if completed != 0 {
			every = 200 * time.Millisecond
		}
		if *project && (completed != 0 || terminal) && time.Since(lastCount) >= every {
			lastCount = time.Now()
			if n, err = read.CountContacts(ctx, p.AccountID, all); err != nil {
				return err
			}
			if completed != 0 && n >= st.SuccessCount {
				queryable = time.Since(start)
			}
		}
		if terminal {
			fmt.Fprintf(os.Stderr, "\r\033[Kimported %d/%d rows, %d queryable, %.1fs", st.ProcessedRows, st.TotalRows, n, time.Since(start).Seconds())
		}
	}
	if terminal {
		fmt.Fprintln(os.Stderr)
	}
	final, err := imp.Job(ctx, p.AccountID, job.ID)
	if err != nil {
		return err
	}
	// A timing of error rows is no import benchmark: say so, loudly.
	if final.ErrorCount > 0 {
		return fmt.Errorf("bench import: %d of %d generated rows were refused (see the job's error file); the figures would not measure an import",
			final.ErrorCount, *rows)
	}
	out := map[string]any{
		"rows": *rows, "file_bytes": size, "generate_seconds": genTime.Seconds(),
		"upload_seconds": uploaded.Seconds(), "job_completed_seconds": completed.Seconds(),
		"success_count": final.SuccessCount, "error_count": final.ErrorCount,
		"import_peak_rss_mib": peakRSSMiB(), // this process (service side and the benchmark's client) until queryable
	}
	if *project {
		out["queryable_seconds"], out["rows_per_second"] = queryable.Seconds(), float64(*rows)/queryable.Seconds()
	}

	if *bulk > 0 {
		created, updated, err := benchBulk(ctx, cfg, db, sess.AccessToken, *bulk, suffix)
		if err != nil {
			return err
		}
		out["bulk_contacts"] = *bulk
		out["bulk_create_seconds"] = created.Seconds()
		out["bulk_update_seconds"] = updated.Seconds()
	}
	out["peak_rss_mib"] = peakRSSMiB() // with the bulk requests (built and sent by this process too)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// generateCSV writes rows realistic contacts, each with pad bytes of an
// unmapped "padding" column when pad > 0.
func generateCSV(path string, rows, pad int, suffix string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	firsts := []string{"James", "Mary", "Robert", "Patricia", "Wei", "Aisha", "Hiroshi", "Priya", "Olga", "Mateo"}
	lasts := []string{"Smith", "Johnson", "Garcia", "Nguyen", "Khan", "Tanaka", "Müller", "Rossi", "Okafor", "Silva"}
	titles := []string{"CEO", "CTO", "Software Engineer", "Product Manager", "Sales Director", "Designer"}
	places := []string{"San Francisco,CA,United States", "London,England,United Kingdom", "Berlin,Berlin,Germany",
		"Toronto,ON,Canada", "Bangalore,Karnataka,India"}
	tags := []string{"lead", "customer", "vip", "newsletter", ""}
	header, padding := "first_name,last_name,email,phone_number,title,company_name,city,state,country,tags,custom_fields.tier", ""
	if pad > 0 {
		header += ",padding"
		padding = "," + strings.Repeat("x", pad)
	}
	fmt.Fprintln(w, header)
	for i := 0; i < rows; i++ {
		fmt.Fprintf(w, "%s,%s,person%d.%s@bench.example,%s,%s,Company %d,%s,%s,%s%s\n",
			firsts[i%len(firsts)], lasts[(i/10)%len(lasts)], i, suffix, benchPhone(i), titles[i%len(titles)],
			i%5000, places[i%len(places)], tags[i%len(tags)], []string{"gold", "silver", "bronze"}[i%3], padding)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	return st.Size(), f.Close()
}

// benchBulk times POST /api/v1/contacts/bulk with n new contacts, then
// again with the same phones changed (updates), over a local HTTP server.
func benchBulk(ctx context.Context, cfg config.Config, db *database.DB, token string, n int, suffix string) (created, updated time.Duration, err error) {
	addr, _, stop, err := benchAPI(ctx, cfg, db, func(cfg *config.Config) { cfg.BulkMaxBodyBytes = 256 << 20 })
	if err != nil {
		return 0, 0, err
	}
	defer stop()
	post := func(title string) (time.Duration, error) {
		contacts := make([]map[string]any, n)
		for i := range contacts {
			contacts[i] = map[string]any{"name": "Bulk Person" + strconv.Itoa(i), "phone": fmt.Sprintf("+44%010d", 7_000_000_000+int64(i)),
				"email": fmt.Sprintf("bulk%d.%s@bench.example", i, suffix), "tags": []string{"bulk"}, "groups": []string{"Bulk " + suffix},
				"custom_fields": map[string]any{"title": title}}
		}
		body, _ := json.Marshal(map[string]any{"contacts": contacts})
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/api/v1/contacts/bulk", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		t0 := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		var out struct{ Created, Updated, Skipped int }
		_ = json.NewDecoder(res.Body).Decode(&out)
		d := time.Since(t0)
		if res.StatusCode != http.StatusOK || out.Created+out.Updated != n {
			return 0, fmt.Errorf("bulk: status %d, %+v", res.StatusCode, out)
		}
		return d, nil
	}
	if created, err = post("first"); err != nil {
		return 0, 0, err
	}
	updated, err = post("second")
	return created, updated, err
}

// peakRSSMiB is this process's peak resident set (VmHWM), in MiB; -1 when
// the platform does not report it.
func peakRSSMiB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return -1
}

// benchAreaCodes are real US area codes: with exchanges 200–999 they make
// 80,000,000 distinct numbers that libphonenumber accepts (a made-up prefix
// such as +1300… is refused, and every row would be an error row).
var benchAreaCodes = []int{201, 202, 203, 205, 206, 207, 208, 209, 210, 212}

// benchPhone is row i's phone number, distinct for every i below 80,000,000.
func benchPhone(i int) string {
	return fmt.Sprintf("+1%03d%03d%04d", benchAreaCodes[(i/8_000_000)%len(benchAreaCodes)], 200+(i/10_000)%800, i%10_000)
}
