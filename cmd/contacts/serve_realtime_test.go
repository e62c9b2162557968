package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"contacts/internal/pgtest"
)

// TestServeTwoInstancesPushLiveUpdates: two `serve` instances on one
// database, the projector in the first only; a subscriber of each hears a
// contact written through the first (the second learns of it through
// PostgreSQL NOTIFY, not in-process).
func TestServeTwoInstancesPushLiveUpdates(t *testing.T) {
	dsn := pgtest.NewDSN(t)
	secret := "serve-realtime-test-secret-0123456789"
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	addrs := []string{freeAddr(t), freeAddr(t)}
	roles := []string{"api,projector", "api"}
	done := make(chan error, 2)
	// One after the other: two instances migrating an empty database at
	// once collide (internal/migrations takes no lock).
	for i, addr := range addrs {
		args := []string{"--database-url", dsn, "--http-addr", addrs[i], "--data-dir", t.TempDir(),
			"--jwt-secret", secret, "--log-level", "error", "--roles", roles[i]}
		go func() { done <- serve(ctx, args) }()
		waitUntil(t, 30*time.Second, func() bool {
			select {
			case err := <-done:
				t.Fatalf("serve ended: %v", err)
			default:
			}
			res, err := http.Get("http://" + addr + "/readyz")
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == http.StatusOK
		})
	}
	reg, err := http.Post("http://"+addrs[0]+"/api/v1/auth/register", "application/json", bytes.NewBufferString(
		`{"account_name":"A","name":"Ada","email":"ada@example.com","password":"correct horse battery"}`))
	if err != nil || reg.StatusCode != http.StatusCreated {
		t.Fatalf("register: %v %v", err, reg)
	}
	var sess struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(reg.Body).Decode(&sess)
	reg.Body.Close()

	var conns []*websocket.Conn
	for _, addr := range addrs {
		u := url.URL{Scheme: "ws", Host: addr, Path: "/api/v1/stream",
			RawQuery: url.Values{"token": {sess.AccessToken}, "channels": {"contacts"}}.Encode()}
		c, _, err := websocket.DefaultDialer.Dial(u.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var first struct{ Event string }
		if err := c.ReadJSON(&first); err != nil || first.Event != "subscribed" {
			t.Fatalf("%s: first message %q %v", addr, first.Event, err)
		}
		conns = append(conns, c)
	}
	req, _ := http.NewRequest("POST", "http://"+addrs[0]+"/api/v1/contacts", bytes.NewBufferString(`{"first_name":"Grace"}`))
	req.Header.Set("Authorization", "Bearer "+sess.AccessToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %v %v", err, res)
	}
	var created struct {
		ID string `json:"uuid"`
	}
	json.NewDecoder(res.Body).Decode(&created)
	res.Body.Close()
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var m struct {
			Event    string `json:"event"`
			ID       string `json:"id"`
			Position int64  `json:"position"`
		}
		if err := c.ReadJSON(&m); err != nil || m.Event != "contact.created" || m.ID != created.ID || m.Position == 0 {
			t.Fatalf("instance %d: %+v %v (created %s)", i, m, err, created.ID)
		}
	}
	stop()
	waitServed(t, done, len(addrs))
}

// waitServed waits for n serve calls, stopped, to return without error.
func waitServed(t *testing.T, done <-chan error, n int) {
	t.Helper()
	for range n {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
		}
	}
}
