package web_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/internal/web"
)

// syncBuffer is a log destination the server's goroutines share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the logged "http request" lines.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var m map[string]any
		if l == "" || json.Unmarshal([]byte(l), &m) != nil || m["msg"] != "http request" {
			continue
		}
		out = append(out, m)
	}
	return out
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// One line per request at info (the default): a 4xx with its route template,
// status, request id and principal kind, and never the token. The test
// client connects from 127.0.0.1, made a trusted proxy here: its
// X-Request-Id is taken (TestRequestIDOnlyFromTrustedProxies: not otherwise).
func TestRequestLog(t *testing.T) {
	var logs syncBuffer
	e := newEnvWith(t, func(_ *pgxpool.Pool, d *web.Deps) {
		d.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		d.TrustedProxies = []string{"127.0.0.0/8"}
	})
	s := e.register(t)
	r := s.do("GET", "/api/v1/contacts/0190a5a4-2222-7000-8000-00000000dead", nil, "X-Request-Id", "client-req-42").
		wantError(http.StatusNotFound, "not_found")
	if r.header.Get("X-Request-Id") != "client-req-42" {
		t.Fatalf("request id echoed: %q", r.header.Get("X-Request-Id"))
	}
	bad := s.do("GET", "/api/v1/contacts/0190a5a4-2222-7000-8000-00000000beef", nil, "X-Request-Id", "forged\tline \"x\"", "Authorization", "Bearer not-a-real-token-secret").
		wantError(http.StatusUnauthorized, "unauthorized")
	generated := bad.header.Get("X-Request-Id")
	if generated == "" || strings.Contains(generated, "forged") {
		t.Fatalf("an insane request id was kept: %q", generated)
	}

	var got404, got401 map[string]any
	for _, l := range logs.lines(t) {
		switch l["request_id"] {
		case "client-req-42":
			got404 = l
		case generated:
			got401 = l
		}
	}
	if got404 == nil || got404["level"] != "INFO" || got404["method"] != "GET" || got404["route"] != "/api/v1/contacts/:id" ||
		got404["status"] != 404.0 || got404["principal"] != "user" || got404["duration_ms"] == nil {
		t.Fatalf("404 line: %v\n%s", got404, logs.String())
	}
	if got401 == nil || got401["status"] != 401.0 || got401["principal"] != "anonymous" {
		t.Fatalf("401 line: %v\n%s", got401, logs.String())
	}
	all := logs.String()
	if strings.Contains(all, s.token) || strings.Contains(all, "not-a-real-token-secret") || strings.Contains(all, "00000000dead") || strings.Contains(all, "00000000beef") {
		t.Fatalf("a token or a path reached the log:\n%s", all)
	}
}

// CONTACTS_REQUEST_LOG=off logs no request lines.
func TestRequestLogOff(t *testing.T) {
	var logs syncBuffer
	e := newEnvWith(t, func(_ *pgxpool.Pool, d *web.Deps) {
		d.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		d.RequestLogOff = true
	})
	e.anon().do("GET", "/api/v1/contacts/0190a5a4-2222-7000-8000-00000000beef", nil).want(http.StatusUnauthorized)
	if l := logs.lines(t); len(l) != 0 {
		t.Fatalf("logged with the request log off: %v", l)
	}
}

// A client's own X-Request-Id is not taken: only a trusted proxy's
// (CONTACTS_TRUSTED_PROXIES), else anyone could choose the id that logs and
// event metadata record. The id the server chose is echoed instead.
func TestRequestIDOnlyFromTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		trusted []string
		kept    bool
	}{{nil, false}, {[]string{"10.0.0.0/8"}, false}, {[]string{"127.0.0.1"}, true}, {[]string{"::1", "127.0.0.0/8"}, true}} {
		e := newEnvWith(t, func(_ *pgxpool.Pool, d *web.Deps) { d.TrustedProxies = tc.trusted })
		r := e.anon().do("GET", "/healthz", nil, "X-Request-Id", "proxy-req-7").want(http.StatusOK)
		got := r.header.Get("X-Request-Id")
		if (got == "proxy-req-7") != tc.kept || got == "" {
			t.Errorf("trusted %v: X-Request-Id %q (kept: want %v)", tc.trusted, got, tc.kept)
		}
	}
}
