package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/commands"
	"contacts/eventstore"
	"contacts/internal/accounts"
	"contacts/internal/migrations"
	"contacts/internal/pgtest"
	"contacts/internal/web"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type env struct {
	t    *testing.T
	url  string
	pool *pgxpool.Pool
	auth *accounts.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith lets a test add dependencies (imports, export, read API).
func newEnvWith(t *testing.T, more func(pool *pgxpool.Pool, d *web.Deps)) *env {
	t.Helper()
	pool := pgtest.New(t)
	if _, err := migrations.Apply(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	store := eventstore.New(pool)
	authSvc := accounts.New(pool, []byte("test-secret-test-secret-test-secret!"), time.Hour)
	deps := web.Deps{
		Commands:     commands.New(store),
		Auth:         authSvc,
		Store:        store,
		DB:           pool,
		Progress:     store,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		MaxBodyBytes: 64 << 10,
	}
	if more != nil {
		more(pool, &deps)
	}
	srv := httptest.NewServer(web.NewRouter(deps))
	t.Cleanup(srv.Close)
	return &env{t: t, url: srv.URL, pool: pool, auth: authSvc}
}

// response is one HTTP answer.
type response struct {
	t      *testing.T
	status int
	header http.Header
	body   []byte
}

func (r response) obj() map[string]any {
	r.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		r.t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func (r response) list() []any {
	r.t.Helper()
	var l []any
	if err := json.Unmarshal(r.body, &l); err != nil {
		r.t.Fatalf("response is not a JSON list: %v: %s", err, r.body)
	}
	return l
}

// errCode returns error.code of an error response.
func (r response) errCode() string {
	e, _ := r.obj()["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func (r response) errFields() map[string]any {
	e, _ := r.obj()["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	return f
}

func (r response) want(status int) response {
	r.t.Helper()
	if r.status != status {
		r.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

func (r response) wantError(status int, code string) response {
	r.t.Helper()
	r.want(status)
	if got := r.errCode(); got != code {
		r.t.Fatalf("error code %q, want %q: %s", got, code, r.body)
	}
	return r
}

// client calls the API as one user.
type client struct {
	e     *env
	token string
}

func (e *env) anon() *client { return &client{e: e} }

// do sends body: a string is sent as is, anything else as JSON.
func (c *client) do(method, path string, body any, headers ...string) response {
	c.e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.e.url+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{t: c.e.t, status: res.StatusCode, header: res.Header, body: raw}
}

// session is a registered administrator with a fresh account.
type session struct {
	*client
	userID, accountID, email, password string
}

var userSeq int

func (e *env) register(t *testing.T) session {
	t.Helper()
	userSeq++
	email := "admin" + strings.ReplaceAll(eventstore.NewID(), "-", "")[:12] + "@example.com"
	r := e.anon().do("POST", "/api/v1/auth/register", map[string]any{
		"account_name": "Acme " + email, "name": "Ada Admin", "email": email, "password": "correct horse battery",
	}).want(http.StatusCreated).obj()
	user := r["user"].(map[string]any)
	account := r["account"].(map[string]any)
	return session{
		client: &client{e: e, token: r["access_token"].(string)},
		userID: user["id"].(string), accountID: account["id"].(string),
		email: email, password: "correct horse battery",
	}
}

// agentIn adds a user with the agent role to s's account and signs them in.
func (e *env) agentIn(t *testing.T, s session) *client {
	t.Helper()
	email := "agent" + strings.ReplaceAll(eventstore.NewID(), "-", "")[:12] + "@example.com"
	other := e.register(t) // a user of their own account first, then a membership in s's
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `UPDATE users SET email = $1 WHERE id = $2`, email, other.userID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO memberships (account_id, user_id, role) VALUES ($1, $2, 'agent')`, s.accountID, other.userID); err != nil {
		t.Fatal(err)
	}
	r := e.anon().do("POST", "/api/v1/auth/login", map[string]any{"email": email, "password": other.password, "account_id": s.accountID}).
		want(http.StatusOK).obj()
	if r["account"].(map[string]any)["role"] != "agent" {
		t.Fatalf("login as agent: %v", r)
	}
	return &client{e: e, token: r["access_token"].(string)}
}

func str(v any) string { s, _ := v.(string); return s }
