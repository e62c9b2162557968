package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"contacts/internal/kafkatest"
	"contacts/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestGracefulShutdownFinishesInFlightRequests: a request still sending its
// body when the service is told to stop is answered, and its write lands.
func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	addr := freeAddr(t)
	t.Setenv("DATABASE_URL", pgtest.NewDSN(t))
	t.Setenv("CONTACTS_HTTP_ADDR", addr)
	t.Setenv("CONTACTS_DATA_DIR", t.TempDir())
	t.Setenv("LOG_LEVEL", "error")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, nil) }()

	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil && res.StatusCode == http.StatusOK {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	reg, err := http.Post(base+"/api/v1/auth/register", "application/json", bytes.NewBufferString(
		`{"account_name":"A","name":"Ada","email":"ada@example.com","password":"correct horse battery"}`))
	if err != nil || reg.StatusCode != http.StatusCreated {
		t.Fatalf("register: %v %v", err, reg)
	}
	var sess struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(reg.Body).Decode(&sess)
	reg.Body.Close()

	// Start a create whose body arrives in two halves, and stop the service
	// between them.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", base+"/api/v1/contacts", pr)
	req.Header.Set("Authorization", "Bearer "+sess.AccessToken)
	answered := make(chan *http.Response, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("in-flight request failed: %v", err)
			answered <- nil
			return
		}
		answered <- res
	}()
	fmt.Fprint(pw, `{"first_name":"Grace",`)
	time.Sleep(200 * time.Millisecond) // the request is in the handler, reading
	stop()
	time.Sleep(200 * time.Millisecond) // shutdown has begun
	fmt.Fprint(pw, `"last_name":"Hopper"}`)
	pw.Close()

	res := <-answered
	if res == nil {
		t.FailNow()
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("in-flight create: %d %s", res.StatusCode, body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not return after shutdown")
	}
	// New connections are refused once stopped.
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("service still answers after shutdown")
	}
}

// TestServeWithKafka: with KAFKA_BROKERS set, `serve` runs the relay and the
// Kafka-fed projector; a contact written over HTTP shows up in the read API
// and the projections report no lag.
func TestServeWithKafka(t *testing.T) {
	addr := freeAddr(t)
	t.Setenv("DATABASE_URL", pgtest.NewDSN(t))
	t.Setenv("CONTACTS_HTTP_ADDR", addr)
	t.Setenv("CONTACTS_DATA_DIR", t.TempDir())
	t.Setenv("LOG_LEVEL", "error")
	t.Setenv("KAFKA_BROKERS", strings.Join(kafkatest.Start(t), ","))
	t.Setenv("KAFKA_TOPIC_PREFIX", kafkatest.Prefix(t))
	// The polls below (20 a second, for as long as a real broker's consumer
	// group takes to join) would exceed the per-user rate limit: a 429.
	t.Setenv("CONTACTS_RATE_LIMIT", "0")
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, nil) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	base := "http://" + addr
	waitUntil(t, 20*time.Second, func() bool {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	reg, err := http.Post(base+"/api/v1/auth/register", "application/json", bytes.NewBufferString(
		`{"account_name":"A","name":"Ada","email":"ada@example.com","password":"correct horse battery"}`))
	if err != nil || reg.StatusCode != http.StatusCreated {
		t.Fatalf("register: %v %v", err, reg)
	}
	var sess struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(reg.Body).Decode(&sess)
	reg.Body.Close()
	call := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+sess.AccessToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	if st, _ := call("POST", "/api/v1/contacts", `{"first_name":"Grace","last_name":"Hopper","city":"Arlington"}`); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	waitUntil(t, 30*time.Second, func() bool {
		st, out := call("GET", "/api/v1/contacts/count?city=arlington", "")
		return st == http.StatusOK && out["count"] == float64(1)
	})
	st, out := call("GET", "/api/v1/projections", "")
	list, ok := out["projections"].([]any)
	if st != http.StatusOK || !ok {
		t.Fatalf("GET /api/v1/projections: %d %v", st, out)
	}
	found := map[string]bool{}
	for _, p := range list {
		found[p.(map[string]any)["name"].(string)] = true
	}
	if !found["relay:kafka"] {
		t.Fatalf("the relay's checkpoint is not reported: %v", out)
	}
	// The relay's metrics: what it published, its lag (caught up), no
	// broker error.
	var m map[string]float64
	waitUntil(t, 30*time.Second, func() bool {
		m = scrape(t, addr)
		return m["contacts_relay_lag_events"] == 0 && m["contacts_relay_published_total"] >= 1
	})
	if m["contacts_relay_position"] != m["contacts_event_store_head"] || m["contacts_relay_broker_errors_total"] != 0 ||
		m["contacts_relay_lag_seconds"] != 0 {
		t.Fatalf("relay metrics: position %v head %v errors %v lag %vs", m["contacts_relay_position"], m["contacts_event_store_head"],
			m["contacts_relay_broker_errors_total"], m["contacts_relay_lag_seconds"])
	}
}

func waitUntil(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in time")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
