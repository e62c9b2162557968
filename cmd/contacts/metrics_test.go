package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"contacts/internal/pgtest"
)

// scrape reads a Prometheus text exposition into sample → value, each
// sample named as the exposition spells it: name{label="v",…} (labels in
// the order the client library writes them: sorted by name).
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET /metrics: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsAfterAWorkload scripts writes, reads, a WebSocket session and a
// CSV import against `contacts serve` with CONTACTS_METRICS_ADDR, and
// checks that the counters moved by exactly what was done, that nothing
// per contact or per account reached a label, and that the main listener
// does not serve /metrics when a metrics listener is set.
func TestMetricsAfterAWorkload(t *testing.T) {
	dsn := pgtest.NewDSN(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	api, mx := freeAddr(t), freeAddr(t)
	done := make(chan error, 1)
	args := []string{"--database-url", dsn, "--http-addr", api, "--metrics-addr", mx, "--data-dir", t.TempDir(),
		"--jwt-secret", "metrics-test-secret-0123456789abcdef", "--log-level", "error", "--request-log", "off",
		"--roles", "api,projector,importer", "--rate-limit", "0", "--ip-rate-limit", "0"}
	go func() { done <- serve(ctx, args) }()
	waitUntil(t, 30*time.Second, func() bool {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v", err)
		default:
		}
		res, err := http.Get("http://" + api + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	if code, _ := getStatus("http://" + api + "/metrics"); code != http.StatusNotFound {
		t.Fatalf("the main listener answers /metrics with %d although CONTACTS_METRICS_ADDR is set", code)
	}
	var sess struct {
		AccessToken string `json:"access_token"`
	}
	call(t, "POST", api, "/api/v1/auth/register", "", `{"account_name":"A","name":"Ada","email":"ada@example.com","password":"correct horse battery"}`, http.StatusCreated, &sess)
	tok := sess.AccessToken
	before := scrape(t, mx)
	for _, want := range []string{"go_goroutines", "process_resident_memory_bytes", `contacts_db_pool_connections{state="idle"}`,
		"contacts_db_pool_max_connections", "contacts_event_store_head", `contacts_ws_connections{endpoint="contacts"}`,
		"contacts_ws_subscriptions", `contacts_projection_lag_events{projection="contacts"}`, "contacts_import_jobs_open"} {
		if _, ok := before[want]; !ok {
			t.Errorf("no %s in the scrape", want)
		}
	}
	delta := func(after map[string]float64, sample string) float64 { return after[sample] - before[sample] }

	// A live-update subscriber of the contacts channel.
	su := url.URL{Scheme: "ws", Host: api, Path: "/api/v1/stream", RawQuery: url.Values{"token": {tok}, "channels": {"contacts"}}.Encode()}
	stream, _, err := websocket.DefaultDialer.Dial(su.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var first struct{ Event string }
	if err := stream.ReadJSON(&first); err != nil || first.Event != "subscribed" {
		t.Fatalf("stream: %q %v", first.Event, err)
	}
	if got := scrape(t, mx); got["contacts_ws_subscriptions"] != 1 || got[`contacts_ws_connections{endpoint="stream"}`] != 1 {
		t.Errorf("subscriptions %v, stream connections %v: want 1 and 1", got["contacts_ws_subscriptions"], got[`contacts_ws_connections{endpoint="stream"}`])
	}

	// Writes: three contacts; an unauthenticated write (401).
	var ids []string
	for i := range 3 {
		var c struct {
			ID string `json:"uuid"`
		}
		call(t, "POST", api, "/api/v1/contacts", tok, fmt.Sprintf(`{"first_name":"C%d","phone":"+1201555%04d"}`, i, i), http.StatusCreated, &c)
		ids = append(ids, c.ID)
	}
	call(t, "POST", api, "/api/v1/contacts", "", `{"first_name":"X"}`, http.StatusUnauthorized, nil)
	// Reads: the three, and five ids that are not there.
	for _, id := range ids {
		call(t, "GET", api, "/api/v1/contacts/"+id, tok, "", http.StatusOK, nil)
	}
	for i := range 5 {
		call(t, "GET", api, fmt.Sprintf("/api/v1/contacts/0190a5a4-2222-7000-8000-%012d", i), tok, "", http.StatusNotFound, nil)
	}

	// The subscriber hears the three, pushed; then it leaves.
	for i := range 3 {
		_ = stream.SetReadDeadline(time.Now().Add(10 * time.Second))
		var m struct{ Event string }
		if err := stream.ReadJSON(&m); err != nil || m.Event != "contact.created" {
			t.Fatalf("push %d: %q %v", i, m.Event, err)
		}
	}
	if got := delta(scrape(t, mx), "contacts_ws_pushes_sent_total"); got != 3 {
		t.Errorf("pushes sent: %v, want 3", got)
	}
	stream.Close()
	waitUntil(t, 10*time.Second, func() bool {
		got := scrape(t, mx)
		return got["contacts_ws_subscriptions"] == 0 && got[`contacts_ws_connections{endpoint="stream"}`] == 0
	})

	// A WebSocket session: two counts, a get, an unknown action (once the
	// read model has the contacts).
	waitUntil(t, 30*time.Second, func() bool {
		return scrape(t, mx)[`contacts_projection_lag_events{projection="contacts"}`] == 0
	})
	u := url.URL{Scheme: "ws", Host: api, Path: "/api/v1/contacts/ws", RawQuery: url.Values{"token": {tok}}.Encode()}
	ws, _, err := websocket.DefaultDialer.Dial(u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// (The server counts the connection just after its 101 answer.)
	waitUntil(t, 10*time.Second, func() bool { return scrape(t, mx)[`contacts_ws_connections{endpoint="contacts"}`] == 1 })
	for i, msg := range []string{`{"action":"count_contacts","request_id":"a"}`, `{"action":"count_contacts","request_id":"b"}`,
		`{"action":"get_contact","request_id":"c","data":{"contact_uuid":"` + ids[0] + `"}}`, `{"action":"no_such","request_id":"d"}`} {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		var ans map[string]any
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := ws.ReadJSON(&ans); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		// The envelope is the protocol's: no member of the server's own.
		for k := range ans {
			if k != "request_id" && k != "action" && k != "status" && k != "data" && k != "error" {
				t.Errorf("answer %d has a member %q the protocol does not define", i, k)
			}
		}
	}
	ws.Close()
	waitUntil(t, 10*time.Second, func() bool { return scrape(t, mx)[`contacts_ws_connections{endpoint="contacts"}`] == 0 })

	// An import: two good rows, one bad.
	req, _ := http.NewRequest("POST", "http://"+api+"/api/v1/contacts/import?file_name=people.csv",
		bytes.NewBufferString("first_name,email\nGrace,grace@example.com\nAlan,alan@example.com\nBad,not-an-email\n"))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "text/csv")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		JobID string `json:"job_id"`
	}
	_ = json.NewDecoder(res.Body).Decode(&job)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("upload: %d", res.StatusCode)
	}
	waitUntil(t, 30*time.Second, func() bool {
		var j struct {
			Status string `json:"status"`
		}
		call(t, "GET", api, "/api/v1/contacts/import/"+job.JobID, tok, "", http.StatusOK, &j)
		return j.Status == "completed"
	})
	// The projections catch up (lag 0, position = head); the job is closed.
	var after map[string]float64
	waitUntil(t, 30*time.Second, func() bool {
		after = scrape(t, mx)
		return after[`contacts_projection_lag_events{projection="contacts"}`] == 0 && after["contacts_import_jobs_open"] == 0 &&
			after[`contacts_projection_position{projection="contacts"}`] == after["contacts_event_store_head"]
	})

	if after["contacts_import_jobs_open"] != 0 {
		t.Errorf("open import jobs after the job completed: %v", after["contacts_import_jobs_open"])
	}
	for _, c := range []struct {
		sample string
		want   float64
	}{
		{`contacts_http_requests_total{code="2xx",method="POST",route="/api/v1/contacts"}`, 3},
		{`contacts_http_requests_total{code="4xx",method="POST",route="/api/v1/contacts"}`, 1},
		{`contacts_http_requests_total{code="2xx",method="GET",route="/api/v1/contacts/:id"}`, 3},
		{`contacts_http_requests_total{code="4xx",method="GET",route="/api/v1/contacts/:id"}`, 5},
		{`contacts_http_request_duration_seconds_count{method="GET",route="/api/v1/contacts/:id"}`, 8},
		{`contacts_http_requests_total{code="2xx",method="POST",route="/api/v1/contacts/import"}`, 1},
		{`contacts_auth_failures_total{kind="unauthorized"}`, 1},
		{`contacts_ws_actions_total{action="count_contacts",outcome="success"}`, 2},
		{`contacts_ws_actions_total{action="get_contact",outcome="success"}`, 1},
		{`contacts_ws_actions_total{action="unknown",outcome="unknown_action"}`, 1},
		{`contacts_ws_action_duration_seconds_count{action="count_contacts"}`, 2},
		{`contacts_import_jobs_total{status="created"}`, 1},
		{`contacts_import_jobs_total{status="completed"}`, 1},
		{`contacts_import_rows_total{result="imported"}`, 2},
		{`contacts_import_rows_total{result="failed"}`, 1},
		// 3 created through the API and 2 by the import.
		{`contacts_events_appended_total{stream_type="contact"}`, 5},
		{`contacts_event_append_conflicts_total`, 0},
	} {
		if got := delta(after, c.sample); got != c.want {
			t.Errorf("%s moved by %v, want %v", c.sample, got, c.want)
		}
	}
	if after[`contacts_event_append_duration_seconds_count{outcome="ok"}`] < before[`contacts_event_append_duration_seconds_count{outcome="ok"}`]+4 {
		t.Errorf("append latency: %v appends timed", delta(after, `contacts_event_append_duration_seconds_count{outcome="ok"}`))
	}
	if delta(after, `contacts_projection_events_total{projection="contacts"}`) < 5 {
		t.Errorf("the contacts projection handled %v events, want ≥ 5", delta(after, `contacts_projection_events_total{projection="contacts"}`))
	}
	// No id (the contacts', the account's, the job's) in any label.
	uuid := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	for s := range after {
		if uuid.MatchString(s) {
			t.Errorf("an id in a label: %s", s)
		}
	}
	stop()
	waitServed(t, done, 1)
}
