package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"contacts/internal/kafkatest"
	"contacts/internal/pgtest"
)

// push is a live-update message as a client reads it.
type push struct {
	Event    string `json:"event"`
	Channel  string `json:"channel"`
	ID       string `json:"id"`
	Position int64  `json:"position"`
	Version  int64  `json:"version"`
}

// TestServeKafkaRolesPushLiveUpdates: with KAFKA_BROKERS and the roles in
// separate processes — "api,relay", "projector" alone, and "api" alone —
// subscribers of both API instances (listen-only stream, and subscribe on
// the contacts WebSocket) get every change, in order, each push only once
// the read model (queried on the instance that pushed) reflects it; a
// stream cut off and resumed with from_position gets exactly what it missed.
func TestServeKafkaRolesPushLiveUpdates(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	dsn := pgtest.NewDSN(t)
	brokers, prefix := kafkatest.Start(t), kafkatest.Prefix(t)
	secret := "serve-kafka-realtime-test-secret-0123456789"
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	roles := []string{"api,relay", "projector", "api"}
	addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	done := make(chan error, len(roles))
	for i := range roles {
		args := []string{"--database-url", dsn, "--http-addr", addrs[i], "--data-dir", t.TempDir(),
			"--jwt-secret", secret, "--log-level", "error", "--roles", roles[i],
			"--kafka-brokers", brokers[0], "--kafka-topic-prefix", prefix, "--rate-limit", "0", "--ip-rate-limit", "0"}
		go func() { done <- serve(ctx, args) }()
		if roles[i] == "projector" {
			continue // no HTTP; it has migrated once it consumes
		}
		// One after the other: the first migrates the empty database.
		waitUntil(t, 30*time.Second, func() bool {
			select {
			case err := <-done:
				t.Fatalf("serve ended: %v", err)
			default:
			}
			res, err := http.Get("http://" + addrs[i] + "/readyz")
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == http.StatusOK
		})
	}
	writer, other := addrs[0], addrs[2]

	var sess struct {
		AccessToken string `json:"access_token"`
	}
	call(t, "POST", writer, "/api/v1/auth/register", "", `{"account_name":"A","name":"Ada","email":"ada@example.com","password":"correct horse battery"}`, http.StatusCreated, &sess)
	token := sess.AccessToken

	stream := func(addr string, from *int64) *websocket.Conn {
		q := url.Values{"token": {token}, "channels": {"contacts"}}
		if from != nil {
			q.Set("from_position", strconv.FormatInt(*from, 10))
		}
		c, _, err := websocket.DefaultDialer.Dial((&url.URL{Scheme: "ws", Host: addr, Path: "/api/v1/stream", RawQuery: q.Encode()}).String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var first struct{ Event string }
		if err := c.ReadJSON(&first); err != nil || first.Event != "subscribed" {
			t.Fatalf("%s: first message %q %v", addr, first.Event, err)
		}
		return c
	}
	sWriter, sOther := stream(writer, nil), stream(other, nil)
	defer sWriter.Close()
	defer sOther.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+other+"/api/v1/contacts/ws?token="+url.QueryEscape(token), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteJSON(map[string]any{"action": "subscribe", "request_id": "s1", "data": map[string]any{"channel": "contacts"}}); err != nil {
		t.Fatal(err)
	}
	var ack struct {
		RequestID string `json:"request_id"`
		Status    string `json:"status"`
	}
	if err := ws.ReadJSON(&ack); err != nil || ack.RequestID != "s1" || ack.Status != "success" {
		t.Fatalf("subscribe: %+v %v", ack, err)
	}

	// Writes through the first instance: contacts created, and each updated.
	type change struct{ event, id, name string }
	var want []change
	write := func(n int, tag string) {
		for i := range n {
			name := fmt.Sprintf("%s%02d", tag, i)
			var c struct {
				UUID string `json:"uuid"`
			}
			call(t, "POST", writer, "/api/v1/contacts", token, `{"first_name":"Grace","last_name":"`+name+`"}`, http.StatusCreated, &c)
			want = append(want, change{"contact.created", c.UUID, name})
			call(t, "PATCH", writer, "/api/v1/contacts/"+c.UUID, token, `{"title":"Chief `+name+`"}`, http.StatusOK, nil)
			want = append(want, change{"contact.updated", c.UUID, name})
		}
	}
	write(8, "First")

	// receive checks the next pushes of c against want, in order; on each,
	// the read model of addr already holds the change.
	receive := func(what string, c *websocket.Conn, addr string, want []change) []push {
		var got []push
		for i, w := range want {
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			var p push
			if err := c.ReadJSON(&p); err != nil {
				t.Fatalf("%s: push %d: %v", what, i, err)
			}
			if p.Event != w.event || p.ID != w.id {
				t.Fatalf("%s: push %d is %s %s, want %s %s", what, i, p.Event, p.ID, w.event, w.id)
			}
			if len(got) > 0 && p.Position <= got[len(got)-1].Position {
				t.Fatalf("%s: position %d after %d", what, p.Position, got[len(got)-1].Position)
			}
			q := url.Values{"last_name": {w.name}}
			if w.event == "contact.updated" {
				q.Set("title", "Chief "+w.name)
			}
			var count struct{ Count int }
			call(t, "GET", addr, "/api/v1/contacts/count?"+q.Encode(), token, "", http.StatusOK, &count)
			if count.Count != 1 {
				t.Fatalf("%s: pushed %s of %s (position %d) before the read model reflects it", what, p.Event, w.name, p.Position)
			}
			got = append(got, p)
		}
		return got
	}
	receive("stream on the writer", sWriter, writer, want)
	got := receive("stream on the other instance", sOther, other, want)
	receive("subscription on the other instance", ws, other, want)

	// Cut off; what is written meanwhile comes on resuming, then live ones.
	last := got[5].Position // as if only six had arrived
	sOther.Close()
	mark := len(want)
	write(3, "Second")
	resumed := stream(other, &last)
	defer resumed.Close()
	receive("resumed stream", resumed, other, want[6:])
	write(1, "Third")
	receive("resumed stream, live", resumed, other, want[mark+6:])
	receive("stream on the writer, later", sWriter, writer, want[len(got):])
	_ = resumed.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	var extra push
	if err := resumed.ReadJSON(&extra); err == nil {
		t.Fatalf("resumed stream: unexpected %+v", extra)
	}

	stop()
	waitServed(t, done, len(roles))
}

// call makes a request and decodes the answer (into out, when not nil).
func call(t *testing.T, method, addr, path, token, body string, status int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != status {
		var b bytes.Buffer
		_, _ = b.ReadFrom(res.Body)
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b.String())
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}
