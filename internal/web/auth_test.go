package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/eventstore"
	"contacts/internal/web"
	"contacts/projections"
)

func TestRegisterLoginRefresh(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)

	login := e.anon().do("POST", "/api/v1/auth/login", map[string]any{"email": strings.ToUpper(s.email), "password": s.password}).
		want(http.StatusOK).obj()
	for _, k := range []string{"access_token", "refresh_token", "user", "account"} {
		if login[k] == nil {
			t.Fatalf("login answer lacks %q: %v", k, login)
		}
	}
	if login["account"].(map[string]any)["role"] != "administrator" {
		t.Fatalf("first user is not an administrator: %v", login["account"])
	}
	// The token works.
	c := &client{e: e, token: str(login["access_token"])}
	c.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Ada"}).want(http.StatusCreated)

	// Refresh rotates: the new pair works, the old refresh token is spent.
	refresh := str(login["refresh_token"])
	next := e.anon().do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": refresh}).want(http.StatusOK).obj()
	if str(next["refresh_token"]) == refresh || str(next["access_token"]) == "" {
		t.Fatalf("refresh did not issue new tokens: %v", next)
	}
	e.anon().do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": refresh}).wantError(http.StatusUnauthorized, "invalid_token")
}

func TestAuthBadInput(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	a := e.anon()
	cases := []struct {
		name   string
		path   string
		body   any
		status int
		code   string
		field  string
	}{
		{"malformed JSON", "/api/v1/auth/register", `{"email":`, 400, "invalid_json", ""},
		{"empty body", "/api/v1/auth/register", "", 400, "invalid_json", ""},
		{"not an object", "/api/v1/auth/register", `[1,2]`, 400, "invalid_json", ""},
		{"unknown field", "/api/v1/auth/register", map[string]any{"account_name": "A", "name": "B", "email": "b@example.com", "password": "12345678", "admin": true}, 422, "validation_error", "admin"},
		{"wrong type", "/api/v1/auth/register", map[string]any{"account_name": 5, "name": "B", "email": "b@example.com", "password": "12345678"}, 422, "validation_error", "account_name"},
		{"bad e-mail", "/api/v1/auth/register", map[string]any{"account_name": "A", "name": "B", "email": "nope", "password": "12345678"}, 422, "validation_error", "email"},
		{"short password", "/api/v1/auth/register", map[string]any{"account_name": "A", "name": "B", "email": "c@example.com", "password": "short"}, 422, "validation_error", "password"},
		{"missing names", "/api/v1/auth/register", map[string]any{"email": "d@example.com", "password": "12345678"}, 422, "validation_error", "account_name"},
		{"e-mail taken", "/api/v1/auth/register", map[string]any{"account_name": "A", "name": "B", "email": s.email, "password": "12345678"}, 409, "duplicate", "email"},
		{"wrong password", "/api/v1/auth/login", map[string]any{"email": s.email, "password": "wrong password"}, 401, "invalid_credentials", ""},
		{"unknown user", "/api/v1/auth/login", map[string]any{"email": "nobody@example.com", "password": "whatever1"}, 401, "invalid_credentials", ""},
		{"login missing password", "/api/v1/auth/login", map[string]any{"email": s.email}, 422, "validation_error", "password"},
		{"refresh garbage", "/api/v1/auth/refresh", map[string]any{"refresh_token": "garbage"}, 401, "invalid_token", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do("POST", tc.path, tc.body).wantError(tc.status, tc.code)
			if tc.field != "" {
				if _, ok := r.errFields()[tc.field]; !ok {
					t.Fatalf("error does not name field %q: %s", tc.field, r.body)
				}
			}
		})
	}
}

func TestProtectedRoutesNeedAToken(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	for _, token := range []string{"", "not-a-jwt", s.token[:len(s.token)-2] + "xx"} {
		c := &client{e: e, token: token}
		c.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Ada"}).wantError(http.StatusUnauthorized, "unauthorized")
		c.do("GET", "/api/v1/contacts/0190a5a4-0000-7000-8000-000000000000", nil).wantError(http.StatusUnauthorized, "unauthorized")
	}
	// A token signed with another secret is refused too.
	forged := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhY2MiOiJ4Iiwicm9sZSI6ImFkbWluaXN0cmF0b3IiLCJzdWIiOiJ5IiwiZXhwIjo0MTAyNDQ0ODAwfQ.3mR4x8h3Gq0m0sJwQH2yq9Zq7hQ7v6aE7k0mU4c8yQk"
	(&client{e: e, token: forged}).do("GET", "/api/v1/contacts/0190a5a4-0000-7000-8000-000000000000", nil).wantError(http.StatusUnauthorized, "unauthorized")
}

func TestHealth(t *testing.T) {
	e := newEnv(t)
	e.anon().do("GET", "/healthz", nil).want(http.StatusOK)
	e.anon().do("GET", "/readyz", nil).want(http.StatusOK)
	e.anon().do("GET", "/api/v1/nope", nil).wantError(http.StatusNotFound, "not_found")
	e.anon().do("DELETE", "/api/v1/auth/login", nil).wantError(http.StatusMethodNotAllowed, "method_not_allowed")
}

func TestProjectionStatus(t *testing.T) {
	e := newEnv(t)
	s := e.register(t)
	e.anon().do("GET", "/api/v1/projections", nil).wantError(http.StatusUnauthorized, "unauthorized")
	s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Ada"}).want(http.StatusCreated)
	r := s.do("GET", "/api/v1/projections", nil).want(http.StatusOK).obj()
	ps := r["projections"].([]any)
	if len(ps) != 4 {
		t.Fatalf("projections: %v", ps)
	}
	first := ps[0].(map[string]any)
	if r["scope"] != "account" || first["name"] != "companies" || first["head"].(float64) < 1 || first["lag"] != 1.0 || first["position"] != 0.0 {
		t.Fatalf("status of a projection that has not run: %v", r)
	}
}

// A tenant sees how far the projections have got with its own events; its
// answer does not move when another account writes. An operator (an
// administrator of a CONTACTS_OPERATOR_ACCOUNTS account) sees the store's.
func TestProjectionStatusPerAccount(t *testing.T) {
	// The router keeps this slice's array: the operator account is named
	// once it exists.
	operators := make([]string, 1)
	e := newEnvWith(t, func(_ *pgxpool.Pool, d *web.Deps) { d.OperatorAccounts = operators })
	ctx := context.Background()
	store := eventstore.New(e.pool)
	head := func() int64 {
		h, err := store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	checkpoint := func(pos int64) {
		for _, n := range projections.Names {
			if err := store.SaveCheckpoint(ctx, n, eventstore.Cursor{Position: pos}); err != nil {
				t.Fatal(err)
			}
		}
	}
	a, b := e.register(t), e.register(t)
	key := a.do("POST", "/api/v1/api_keys", map[string]any{"name": "ro", "scopes": []string{"read_contacts"}}).want(http.StatusCreated).obj()
	reader := &client{e: e, token: str(key["key"])}
	for range 2 {
		a.do("POST", "/api/v1/contacts", map[string]any{"first_name": "A"}).want(http.StatusCreated)
	}
	checkpoint(head())
	status := func(c *client) string {
		return string(c.do("GET", "/api/v1/projections", nil).want(http.StatusOK).body)
	}
	before := status(reader)
	if before != status(a.client) {
		t.Fatalf("key and administrator differ: %s vs %s", before, status(a.client))
	}
	var got struct {
		Scope       string           `json:"scope"`
		Projections []map[string]any `json:"projections"`
	}
	_ = json.Unmarshal([]byte(before), &got)
	if got.Scope != "account" || got.Projections[0]["lag"] != 0.0 || got.Projections[0]["position"] != got.Projections[0]["head"] {
		t.Fatalf("tenant status: %s", before)
	}
	for range 3 {
		b.do("POST", "/api/v1/contacts", map[string]any{"first_name": "B"}).want(http.StatusCreated)
	}
	if after := status(reader); after != before {
		t.Fatalf("another account's writes changed the answer:\n%s\n%s", before, after)
	}
	checkpoint(head())
	if after := status(reader); after != before {
		t.Fatalf("another account's projected writes changed the answer:\n%s\n%s", before, after)
	}
	// A's own write, not yet projected: one behind.
	a.do("POST", "/api/v1/contacts", map[string]any{"first_name": "A"}).want(http.StatusCreated)
	_ = json.Unmarshal([]byte(status(reader)), &got)
	if p := got.Projections[0]; p["lag"] != 1.0 || p["position"].(float64) >= p["head"].(float64) {
		t.Fatalf("tenant status with its write pending: %v", got)
	}

	operators[0] = a.accountID
	_ = json.Unmarshal([]byte(status(a.client)), &got)
	if p := got.Projections[0]; got.Scope != "deployment" || p["head"] != float64(head()) || p["updated_at"] == nil {
		t.Fatalf("operator status: %v", got)
	}
	for _, c := range []*client{reader, b.client} { // a key of the operator account; another account's administrator
		if _ = json.Unmarshal([]byte(status(c)), &got); got.Scope != "account" {
			t.Fatalf("non-operator status: %v", got)
		}
	}
}
