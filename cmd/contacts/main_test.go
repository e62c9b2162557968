package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

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
