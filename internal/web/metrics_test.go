package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"contacts/internal/ratelimit"
	"contacts/internal/requestid"
	"contacts/internal/web"
)

// labelValues gathers reg and returns, for the family name, every value of
// label with the sum of the series' counters (or histogram counts) under it.
func labelValues(t *testing.T, reg *prometheus.Registry, name, label string) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			v := m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label {
					out[lp.GetValue()] += v
				}
			}
		}
	}
	return out
}

// The label value sets do not grow with requests: 100 reads of distinct
// contact ids (and 100 unknown paths, and made-up methods) add one route,
// not 100, and no id reaches any label.
func TestMetricsCardinalityIsBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnvWith(t, func(_ *pgxpool.Pool, d *web.Deps) { d.Metrics = web.NewMetrics(reg) })
	s := e.register(t)
	s.do("GET", "/api/v1/contacts/0190a5a4-2222-7000-8000-000000000000", nil).want(http.StatusNotFound)
	routes := len(labelValues(t, reg, "contacts_http_requests_total", "route"))
	for i := range 100 {
		s.do("GET", fmt.Sprintf("/api/v1/contacts/0190a5a4-2222-7000-8000-%012d", i+1), nil).want(http.StatusNotFound)
		s.do("GET", fmt.Sprintf("/no/such/path/%d", i), nil).want(http.StatusNotFound)
		s.do(fmt.Sprintf("BREW%d", i), "/api/v1/contacts", nil)
	}
	got := labelValues(t, reg, "contacts_http_requests_total", "route")
	// One more route: "(no route)" for the unknown paths and the unknown
	// methods (405). The contact reads share the one template.
	if len(got) != routes+1 || got["/api/v1/contacts/:id"] != 101 || got["(no route)"] != 200 {
		t.Fatalf("routes grew with requests: %d → %d: %v", routes, len(got), got)
	}
	if m := labelValues(t, reg, "contacts_http_requests_total", "method"); len(m) > 3 || m["OTHER"] != 100 {
		t.Fatalf("methods: %v", m)
	}
	if d := labelValues(t, reg, "contacts_http_request_duration_seconds", "route"); d["/api/v1/contacts/:id"] != 101 {
		t.Fatalf("latency histogram: %v", d)
	}
	fams, _ := reg.Gather()
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if strings.Contains(lp.GetValue(), "0190a5a4") || strings.Contains(lp.GetValue(), s.accountID) {
					t.Errorf("%s{%s=%q}: an id in a label", f.GetName(), lp.GetName(), lp.GetValue())
				}
			}
		}
	}
}

// Authentication failures are counted by kind (the error code), refused
// requests by limiter; /metrics is served when a handler is given.
func TestMetricsAuthFailuresAndRateLimits(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnvWith(t, func(_ *pgxpool.Pool, d *web.Deps) {
		d.Metrics = web.NewMetrics(reg)
		d.MetricsHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("scraped")) })
		d.Limits.AuthPerIP = ratelimit.New(0.001, 3)
	})
	if r := e.anon().do("GET", "/metrics", nil).want(http.StatusOK); string(r.body) != "scraped" {
		t.Fatalf("/metrics: %s", r.body)
	}
	e.anon().do("POST", "/api/v1/contacts", nil).wantError(http.StatusUnauthorized, "unauthorized")
	e.anon().do("POST", "/api/v1/contacts", nil, "Authorization", "Bearer nope").wantError(http.StatusUnauthorized, "unauthorized")
	for range 2 {
		e.anon().do("POST", "/api/v1/auth/login", map[string]any{"email": "nobody@example.com", "password": "wrong password!"}).
			wantError(http.StatusUnauthorized, "invalid_credentials")
	}
	// The IP's auth burst is 3: the third login is the last let through.
	e.anon().do("POST", "/api/v1/auth/login", map[string]any{"email": "nobody@example.com", "password": "wrong password!"})
	e.anon().do("POST", "/api/v1/auth/login", map[string]any{"email": "nobody@example.com", "password": "wrong password!"}).
		wantError(http.StatusTooManyRequests, "rate_limited")
	kinds := labelValues(t, reg, "contacts_auth_failures_total", "kind")
	if kinds["unauthorized"] != 2 || kinds["invalid_credentials"] != 3 {
		t.Fatalf("auth failures: %v", kinds)
	}
	if l := labelValues(t, reg, "contacts_rate_limited_total", "limiter"); l["auth_ip"] != 1 || len(l) != 1 {
		t.Fatalf("rate limited: %v", l)
	}
}

// The request id names every log line the request causes (a logger
// wrapped by requestid.Handler, as serve's is) and the events it appends;
// a trusted proxy's X-Request-Id is that id.
func TestRequestIDInLogsAndEvents(t *testing.T) {
	var logs syncBuffer
	var db *flakyDB
	e := newEnvWith(t, func(pool *pgxpool.Pool, d *web.Deps) {
		d.Logger = slog.New(requestid.Handler(slog.NewJSONHandler(&logs, nil)))
		d.TrustedProxies = []string{"127.0.0.1"}
		db = &flakyDB{Pinger: pool}
		d.DB = db
	})
	s := e.register(t)
	created := s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Grace", "phone": "+14155550100"},
		"X-Request-Id", "edge-req-1").want(http.StatusCreated)
	if created.header.Get("X-Request-Id") != "edge-req-1" {
		t.Fatalf("echoed: %q", created.header.Get("X-Request-Id"))
	}
	id := str(created.obj()["uuid"])
	var md map[string]any
	if err := e.pool.QueryRow(context.Background(), `SELECT metadata FROM events WHERE stream_id = $1 ORDER BY stream_version LIMIT 1`, id).Scan(&md); err != nil {
		t.Fatal(err)
	}
	if md["request_id"] != "edge-req-1" {
		t.Fatalf("event metadata: %v", md)
	}
	// A line logged with the request's context and no id of its own (the
	// readiness check's warning) names the request's id.
	db.fail = true
	r := e.anon().do("GET", "/readyz", nil, "X-Request-Id", "edge-req-2").want(http.StatusServiceUnavailable)
	if r.header.Get("X-Request-Id") != "edge-req-2" {
		t.Fatalf("echoed: %q", r.header.Get("X-Request-Id"))
	}
	found := false
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "readiness check failed" {
			found = m["request_id"] == "edge-req-2"
		}
	}
	if !found {
		t.Fatalf("the line the request caused does not name its id:\n%s", logs.String())
	}
}

// flakyDB fails its pings when told to (the readiness check's warning).
type flakyDB struct {
	web.Pinger
	fail bool
}

func (d *flakyDB) Ping(ctx context.Context) error {
	if d.fail {
		return errors.New("database down (test)")
	}
	return d.Pinger.Ping(ctx)
}

// Bulk upserts are counted by outcome, their contacts by result.
func TestMetricsBulkUpserts(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnvWith(t, func(_ *pgxpool.Pool, d *web.Deps) { d.Metrics = web.NewMetrics(reg) })
	s := e.register(t)
	contacts := []map[string]any{
		{"phone": "+12015550001", "first_name": "A"},
		{"phone": "+12015550002", "first_name": "B"},
		{"phone": "not a phone", "first_name": "C"},
	}
	s.do("POST", "/api/v1/contacts/bulk", map[string]any{"contacts": contacts}).want(http.StatusOK)
	s.do("POST", "/api/v1/contacts/bulk", map[string]any{"contacts": contacts[:1]}).want(http.StatusOK) // unchanged: skipped
	s.do("POST", "/api/v1/contacts/bulk", map[string]any{}).want(http.StatusUnprocessableEntity)
	rows := labelValues(t, reg, "contacts_bulk_upsert_rows_total", "result")
	if rows["created"] != 2 || rows["failed"] != 1 || rows["skipped"]+rows["updated"] != 1 {
		t.Fatalf("bulk rows: %v", rows)
	}
	// The refused body never reached the command: one outcome per command run.
	if o := labelValues(t, reg, "contacts_bulk_upserts_total", "outcome"); o["ok"] != 2 || o["error"] != 0 {
		t.Fatalf("bulk upserts: %v", o)
	}
}
