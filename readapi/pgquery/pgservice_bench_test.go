package pgquery

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/internal/migrations"
	"contacts/internal/pgtest"
	"contacts/readapi"
)

// EnvBenchDSN, when set, names a database to run TestLatencyAtScale in and
// keep (loaded once) instead of a fresh test database.
const EnvBenchDSN = "READAPI_BENCH_DSN"

// EnvBench names the variable that runs TestLatencyAtScale with that many
// contacts in one account (e.g. 1000000); unset, the test is skipped.
const EnvBench = "READAPI_BENCH_CONTACTS"

// loadSynthetic fills the read model with n contacts of account acctA (and
// n/10 of acctB) generated in SQL: 500 first names, 1,000 last names, ~2,000
// titles (5% in lower case), 2,000 cities, 60 states, 100 countries, a fifth
// with a note, and n/20 companies (in rm_companies, embedded into their
// contacts as the store does) with 1-3 of 150 industries, 0-8 of 3,000
// keywords and 2-10 of 500 technologies. Secondary indexes are dropped for
// the load and rebuilt after it.
func loadSynthetic(t testing.TB, ctx context.Context, pool *pgxpool.Pool, n int) {
	t.Helper()
	const companiesSQL = `
INSERT INTO rm_companies (id, account_id, version, position, doc, created_at, updated_at)
SELECT md5($1::text || 'co' || k)::uuid, $1::uuid, 1, k, jsonb_build_object(
	'id', md5($1::text || 'co' || k)::uuid, 'account_id', $1::text,
	'name', 'Company ' || k || ' ' || (ARRAY['Tech','Labs','Systems','Cloud','Health','Finance','Group','Partners','Solutions','Works'])[1 + k % 10],
	'domain', 'company' || k || '.com',
	'industries', (SELECT jsonb_agg('Industry ' || ((k * 7 + j * 13) % 150)) FROM generate_series(1, 1 + k % 3) j),
	'keywords', (SELECT coalesce(jsonb_agg('keyword' || ((k * 31 + j * 17) % 3000)), '[]') FROM generate_series(1, k % 9) j),
	'technologies', (SELECT jsonb_agg((ARRAY['Python','PostgreSQL','Go','Django','React','AWS','Kubernetes','Java','Ruby','Rails'])[1 + (k + j) % 10] || ' ' || ((k * 11 + j * 7) % 50))
		FROM generate_series(1, 2 + k % 9) j),
	'employees', CASE WHEN k % 10 = 0 THEN NULL ELSE (k * 37) % 20000 END,
	'annual_revenue', CASE WHEN k % 7 = 0 THEN NULL ELSE ((k * 53) % 100000) * 1000.0 END,
	'address_line', k || ' Market St', 'city', 'City ' || (k % 2000), 'state', 'ST' || (k % 60), 'postcode', '',
	'country', 'Country ' || (k % 100), 'text_search', k || ' Market St, City ' || (k % 2000) || ', ST' || (k % 60),
	'phone', '', 'website', '', 'created_by', '', 'deleted', k % 211 = 0, 'deleted_at', NULL,
	'created_at', '2020-01-01T00:00:00Z', 'updated_at', '2020-01-01T00:00:00Z', 'version', 1, 'position', k),
	'2020-01-01', '2020-01-01'
FROM generate_series(0, $2::int - 1) k`
	const contactsSQL = `
WITH words AS (SELECT
	ARRAY['Chief','Senior','Junior','Lead','Principal','Head of','VP','Director of','Manager,','Associate'] AS sen,
	ARRAY['Engineering','Sales','Marketing','Finance','Operations','Product','Design','Support','Legal','People',
	      'Data','Security','Research','Growth','Partnerships','Platform','Infrastructure','Analytics','Procurement','Quality',
	      'Technology','Strategy','Communications','Customer Success','Business Development','Revenue','Compliance','Facilities','IT','Training',
	      'Logistics','Supply Chain','Brand','Content','Community','Investor Relations','Accounting','Payroll','Recruiting','Mobile'] AS fn,
	ARRAY['','I','II','III','EMEA','APAC','Americas','Global','Remote','North America'] AS suf)
INSERT INTO rm_contacts (uuid, account_id, version, position, doc, created_at, updated_at)
SELECT u, $1::uuid, 1, i, jsonb_build_object(
	'uuid', u, 'account_id', $1::text, 'name', fnm || ' ' || lnm, 'identifier', 'ID' || i,
	'first_name', fnm, 'last_name', lnm, 'title', ttl, 'seniority', (ARRAY['c-level','vp','director','manager','senior','entry'])[1 + i % 6],
	'departments', jsonb_build_array((ARRAY['Engineering','Sales','Marketing','Finance','Operations'])[1 + i % 5]),
	'email', lower(fnm) || '.' || lower(lnm) || i || '@example' || (i % 1000) || '.com', 'email_status', (ARRAY['valid','invalid','unknown','risky','unverified'])[1 + i % 5],
	'secondary_email', '', 'phone', '+1555' || lpad((i % 10000000)::text, 7, '0'), 'mobile_phone', '', 'language_code', 'en', 'avatar_url', '',
	'address_line', '', 'street', '', 'city', 'City ' || ((i * 7) % 2000), 'state', 'ST' || ((i * 11) % 60), 'postcode', lpad((i % 99999)::text, 5, '0'),
	'country', 'Country ' || ((i * 13) % 100), 'text_search', i || ' Main Street, City ' || ((i * 7) % 2000),
	'company_id', co.id::text, 'opt_out', i % 50 = 0, 'opt_out_marketing', false, 'reply_bot_enabled', true, 'blocked', i % 97 = 0,
	'last_activity_at', '', 'additional_attributes', jsonb_build_object('source', (ARRAY['web','import','api'])[1 + i % 3]),
	'labels', CASE WHEN i % 4 = 0 THEN '[]'::jsonb ELSE jsonb_build_array('label' || (i % 20)) END,
	'notes', CASE WHEN i % 5 = 0 THEN jsonb_build_array(jsonb_build_object('id', u, 'content', repeat('note text ', 40))) ELSE '[]'::jsonb END,
	'assigned_to', '[]'::jsonb, 'teams', '[]'::jsonb, 'associated_accounts', '[]'::jsonb,
	'custom_attributes', jsonb_build_object('tier', (ARRAY['gold','silver','bronze'])[1 + i % 3], 'score', i % 100),
	'created_by', '', 'created_at', to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'updated_at', to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
	'inactivated_at', NULL, 'active', i % 13 <> 0, 'deleted', i % 101 = 0, 'deleted_at', NULL, 'merged_into', '', 'version', 1,
	'company', CASE WHEN co.deleted THEN 'null'::jsonb ELSE rm_company_ref(co.doc) END,
	'groups', '[]'::jsonb, 'position', i), ts, ts
FROM (SELECT i, gen_random_uuid() AS u, timestamptz '2020-01-01' + (i * interval '97 seconds') AS ts,
		'First' || (hashint4(i) & 511) AS fnm, 'Last' || (hashint4(i + 1) & 1023) AS lnm,
		CASE WHEN i % 20 = 0 THEN lower(t.s) ELSE t.s END AS ttl, abs(hashint4(i + 2)) % $3::int AS ck
	FROM generate_series($4::int, $2::int) i,
	LATERAL (SELECT btrim(w.sen[1 + abs(hashint4(i + 3)) % 10] || ' ' || w.fn[1 + abs(hashint4(i + 4)) % 40] || ' ' || w.suf[1 + abs(hashint4(i + 5)) % 5]) AS s FROM words w) t) x
JOIN rm_companies co ON co.id = md5($1::text || 'co' || x.ck)::uuid`
	start := time.Now()
	type index struct{ name, def string }
	rows, err := pool.Query(ctx, `SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
		WHERE x.indrelid = 'rm_contacts'::regclass AND NOT x.indisprimary`)
	if err != nil {
		t.Fatal(err)
	}
	indexes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var ix index
		return ix, r.Scan(&ix.name, &ix.def)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ix := range indexes {
		if _, err := pool.Exec(ctx, "DROP INDEX "+ix.name); err != nil {
			t.Fatal(err)
		}
	}
	for _, acct := range []struct {
		id string
		n  int
	}{{acctA, n}, {acctB, n / 10}} {
		cos := max(acct.n/20, 1)
		if _, err := pool.Exec(ctx, companiesSQL, acct.id, cos); err != nil {
			t.Fatal(err)
		}
		const batch = 200_000
		for lo := 1; lo <= acct.n; lo += batch {
			if _, err := pool.Exec(ctx, contactsSQL, acct.id, min(lo+batch-1, acct.n), cos, lo); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("loaded %d contacts in %s", n+n/10, time.Since(start).Round(time.Second))
	for _, ix := range indexes {
		s := time.Now()
		if _, err := pool.Exec(ctx, ix.def); err != nil {
			t.Fatal(err)
		}
		t.Logf("index %s built in %s", ix.name, time.Since(s).Round(time.Second))
	}
	for _, table := range []string{"rm_contacts", "rm_companies"} {
		if _, err := pool.Exec(ctx, "VACUUM ANALYZE "+table); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLatencyAtScale measures the read API's queries over a large account:
//
//	READAPI_BENCH_CONTACTS=1000000 go test ./readapi -run LatencyAtScale -v -timeout 60m
func TestLatencyAtScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(EnvBench))
	if n <= 0 {
		t.Skipf("set %s to run", EnvBench)
	}
	ctx := context.Background()
	var pool *pgxpool.Pool
	if dsn := os.Getenv(EnvBenchDSN); dsn != "" {
		var err error
		if pool, err = pgxpool.New(ctx, dsn); err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
	} else {
		pool = pgtest.New(t)
	}
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	var have int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM rm_contacts WHERE account_id = $1", acctA).Scan(&have); err != nil {
		t.Fatal(err)
	}
	if have == 0 {
		loadSynthetic(t, ctx, pool, n)
	}
	f := &fixture{pool: pool, svc: NewPG(pool)}
	var size string
	_ = pool.QueryRow(ctx, `SELECT pg_size_pretty(pg_total_relation_size('rm_contacts'))`).Scan(&size)
	t.Logf("rm_contacts: %s", size)

	lim := func(n int) *int { return &n }
	type fieldCase struct {
		field readapi.Field
		data  string
		opt   readapi.FieldOptions
	}
	fields := []fieldCase{
		{readapi.FieldTitle, `{}`, readapi.FieldOptions{Distinct: true, Search: "engineering", Limit: lim(50)}},
		{readapi.FieldTitle, `{}`, readapi.FieldOptions{Distinct: true, Search: "technology", Limit: lim(50)}},
		{readapi.FieldTitle, `{}`, readapi.FieldOptions{Distinct: true, Search: "vp", Limit: lim(50)}},
		{readapi.FieldTitle, `{}`, readapi.FieldOptions{Distinct: true, Search: "chief data officer", Limit: lim(50)}},
		{readapi.FieldCompany, `{}`, readapi.FieldOptions{Distinct: true, Search: "tech", Limit: lim(50)}},
		{readapi.FieldCompany, `{}`, readapi.FieldOptions{Distinct: true, Search: "company 1234", Limit: lim(50)}},
		{readapi.FieldIndustry, `{}`, readapi.FieldOptions{Distinct: true, Separated: true, Search: "industry 12", Limit: lim(50)}},
		{readapi.FieldKeyword, `{}`, readapi.FieldOptions{Distinct: true, Separated: true, Search: "keyword12"}},
		{readapi.FieldTechnology, `{}`, readapi.FieldOptions{Distinct: true, Separated: true, Search: "python"}},
		{readapi.FieldCompanyAddress, `{}`, readapi.FieldOptions{Distinct: true, Search: "city 12", Limit: lim(50)}},
		{readapi.FieldContactAddress, `{}`, readapi.FieldOptions{Distinct: true, Search: "city 12", Limit: lim(50)}},
		{readapi.FieldCity, `{}`, readapi.FieldOptions{Distinct: true, Search: "city 12", Limit: lim(50)}},
		{readapi.FieldState, `{}`, readapi.FieldOptions{Distinct: true, Search: "st1"}},
		{readapi.FieldCountry, `{}`, readapi.FieldOptions{Distinct: true, Search: "country 1"}},
		{readapi.FieldCompanyCity, `{}`, readapi.FieldOptions{Distinct: true, Search: "city 12"}},
		{readapi.FieldCompanyState, `{}`, readapi.FieldOptions{Distinct: true, Search: "st1"}},
		{readapi.FieldCompanyCountry, `{}`, readapi.FieldOptions{Distinct: true, Search: "country 1"}},
		{readapi.FieldState, `{}`, readapi.FieldOptions{Distinct: true}},
		{readapi.FieldCountry, `{}`, readapi.FieldOptions{Distinct: true}},
		{readapi.FieldTitle, `{}`, readapi.FieldOptions{Distinct: true, Limit: lim(50)}},
		{readapi.FieldTitle, `{"country": "Country 7"}`, readapi.FieldOptions{Distinct: true, Search: "engineering", Limit: lim(50)}},
		{readapi.FieldTitle, `{}`, readapi.FieldOptions{Search: "engineering", Limit: lim(50)}},
		{readapi.FieldIndustry, `{}`, readapi.FieldOptions{Distinct: true, Separated: true}},
	}
	lists := []string{
		`{"view": "simple"}`,
		`{}`,
		`{"limit": 25, "view": "simple", "first_name": "First1", "country": "Country 1", "employees_min": 50, "ordering": "-employees,company"}`,
		`{"ordering": "last_name", "view": "simple"}`,
		`{"ordering": "name", "view": "simple"}`,
		`{"ordering": "company", "view": "simple"}`,
		`{"ordering": "-updated_at", "city": "city 12", "view": "simple"}`,
		`{"search": "first12 last34", "view": "simple"}`,
		`{"search": "company 1234", "view": "simple"}`,
		`{"search": "ab", "view": "simple"}`,
		`{"title": "engineering", "exclude_seniorities": "vp", "view": "simple"}`,
		`{"filter": [{"attribute_key": "custom_attributes.tier", "filter_operator": "equal_to", "values": ["gold"]}, {"attribute_key": "labels", "filter_operator": "equal_to", "values": ["label3"]}], "view": "simple"}`,
	}
	counts := []string{`{}`, `{"country": "Country 7"}`, `{"email_status": "valid", "country": "Country 1"}`, `{"title": "engineering"}`}

	const runs = 30
	measure := func(name string, fn func() error) {
		var d []time.Duration
		for i := 0; i < runs; i++ {
			s := time.Now()
			if err := fn(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			d = append(d, time.Since(s))
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		ms := func(x time.Duration) string { return fmt.Sprintf("%6.1f", float64(x.Microseconds())/1000) }
		t.Logf("p50 %s  p99 %s ms  %s", ms(d[len(d)/2]), ms(d[len(d)-1]), name)
	}
	for _, fc := range fields {
		q := mustParse(t, fc.data)
		var got int
		measure(fmt.Sprintf("field %s %s %+v", fc.field, fc.data, optString(fc.opt)), func() error {
			v, err := f.svc.FieldValues(ctx, acctA, fc.field, q, fc.opt)
			got = len(v)
			return err
		})
		_ = got
	}
	for _, data := range lists {
		q := mustParse(t, data)
		measure("list "+data, func() error {
			_, err := f.svc.ListContacts(ctx, acctA, q)
			return err
		})
	}
	// A deep page: 50 pages in.
	for _, ordering := range []string{"-created_at", "last_name", "-employees,company"} {
		data := map[string]any{"ordering": ordering, "view": "simple", "limit": 100.0}
		for i := 0; i < 50; i++ {
			page, err := f.svc.ListContacts(ctx, acctA, mustParseMap(t, data))
			if err != nil {
				t.Fatal(err)
			}
			data["cursor"] = *page.Next
		}
		q := mustParseMap(t, data)
		measure("list page 51 ordering "+ordering, func() error {
			_, err := f.svc.ListContacts(ctx, acctA, q)
			return err
		})
	}
	for _, data := range counts {
		q := mustParse(t, data)
		measure("count "+data, func() error {
			_, err := f.svc.CountContacts(ctx, acctA, q)
			return err
		})
	}
}

func optString(o readapi.FieldOptions) string {
	s := fmt.Sprintf("distinct=%v separated=%v search=%q", o.Distinct, o.Separated, o.Search)
	if o.Limit != nil {
		s += fmt.Sprintf(" limit=%d", *o.Limit)
	}
	return s
}
