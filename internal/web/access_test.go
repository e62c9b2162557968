package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"contacts/internal/accounts"
	"contacts/internal/auth"
	"contacts/internal/ratelimit"
	"contacts/internal/web"
)

func signIn(t *testing.T, e *env, email, password, accountID string) map[string]any {
	t.Helper()
	body := map[string]any{"email": email, "password": password}
	if accountID != "" {
		body["account_id"] = accountID
	}
	return e.anon().do("POST", "/api/v1/auth/login", body).want(http.StatusOK).obj()
}

func TestMembersRolesAndInvitations(t *testing.T) {
	e := newFullEnv(t)
	admin := e.register(t)
	other := e.register(t) // an existing user of another account

	// An existing user is invited like a new one: the answer is made of the
	// request and fresh ids (not their id or name), and they are no member
	// until they accept.
	existing := admin.do("POST", "/api/v1/agents", map[string]any{"agent": map[string]any{"email": strings.ToUpper(other.email), "role": "agent"}}).
		want(http.StatusCreated).obj()
	invited := admin.do("POST", "/api/v1/agents", map[string]any{"email": "new.agent@example.com", "name": "New Agent"}).
		want(http.StatusCreated).obj()
	inv, _ := invited["invitation"].(map[string]any)
	if invited["role"] != "agent" || invited["confirmed"] != false || str(inv["token"]) == "" || invited["name"] != "New Agent" {
		t.Fatalf("invited user: %v", invited)
	}
	existingInv, _ := existing["invitation"].(map[string]any)
	if existing["id"] == other.userID || existing["name"] != strings.Split(strings.ToUpper(other.email), "@")[0] ||
		existing["confirmed"] != false || str(existingInv["token"]) == "" {
		t.Fatalf("existing user invited: %v", existing)
	}
	var keys1, keys2 []string
	for k := range existing {
		keys1 = append(keys1, k)
	}
	for k := range invited {
		keys2 = append(keys2, k)
	}
	sort.Strings(keys1)
	sort.Strings(keys2)
	if strings.Join(keys1, ",") != strings.Join(keys2, ",") {
		t.Fatalf("the answers differ in shape: %v vs %v", keys1, keys2)
	}
	for _, m := range admin.do("GET", "/api/v1/agents", nil).want(http.StatusOK).list() {
		if m.(map[string]any)["id"] == other.userID {
			t.Fatal("an invited existing user is a member before accepting")
		}
	}
	other.do("GET", "/api/v1/accounts/"+admin.accountID+"/contacts", nil).wantError(http.StatusNotFound, "not_found")
	// They accept with their own password, not a new one.
	e.anon().do("POST", "/api/v1/auth/invitations/accept", map[string]any{"token": existingInv["token"], "password": "somebody else's"}).
		wantError(http.StatusUnauthorized, "invalid_credentials")
	joined := e.anon().do("POST", "/api/v1/auth/invitations/accept", map[string]any{"token": existingInv["token"], "password": other.password}).
		want(http.StatusOK).obj()
	if joined["user"].(map[string]any)["id"] != other.userID || joined["account"].(map[string]any)["id"] != admin.accountID {
		t.Fatalf("accepted by an existing user: %v", joined)
	}
	signIn(t, e.env, other.email, other.password, "")
	admin.do("POST", "/api/v1/agents", map[string]any{"email": other.email}).wantError(http.StatusConflict, "already_exists")
	for _, bad := range []map[string]any{{"email": "nope"}, {"email": "x@example.com", "role": "owner"}, {"email": "y@example.com", "admin": true}} {
		admin.do("POST", "/api/v1/agents", bad).wantError(http.StatusUnprocessableEntity, "validation_error")
	}
	// In bulk: all or nothing; members already there are skipped.
	admin.do("POST", "/api/v1/agents/bulk_create", map[string]any{"emails": []string{"ok1@example.com", "bad"}}).
		wantError(http.StatusUnprocessableEntity, "validation_error")
	bulk := admin.do("POST", "/api/v1/agents/bulk_create", map[string]any{"emails": []string{"bulk1@example.com", other.email, "BULK2@example.com"}}).
		want(http.StatusOK).obj()["agents"].([]any)
	if len(bulk) != 2 || bulk[1].(map[string]any)["email"] != "BULK2@example.com" || bulk[0].(map[string]any)["invitation"] == nil {
		t.Fatalf("bulk: %v", bulk)
	}
	// Pending invitations are withdrawn by their id.
	for _, m := range bulk {
		admin.do("DELETE", "/api/v1/agents/"+str(m.(map[string]any)["id"]), nil).want(http.StatusNoContent)
	}
	admin.do("POST", "/api/v1/agents/bulk_create", map[string]any{"emails": []string{}}).wantError(http.StatusUnprocessableEntity, "validation_error")

	// The invited person cannot sign in until they chose a password.
	e.anon().do("POST", "/api/v1/auth/login", map[string]any{"email": "new.agent@example.com", "password": "anything at all"}).
		wantError(http.StatusUnauthorized, "invalid_credentials")
	e.anon().do("POST", "/api/v1/auth/invitations/accept", map[string]any{"token": "inv_nope", "password": "a new password"}).
		wantError(http.StatusUnauthorized, "invalid_token")
	sess := e.anon().do("POST", "/api/v1/auth/invitations/accept", map[string]any{"token": inv["token"], "password": "a new password"}).
		want(http.StatusOK).obj()
	if sess["account"].(map[string]any)["id"] != admin.accountID || sess["account"].(map[string]any)["role"] != "agent" {
		t.Fatalf("accepted invitation: %v", sess)
	}
	e.anon().do("POST", "/api/v1/auth/invitations/accept", map[string]any{"token": inv["token"], "password": "another password"}).
		wantError(http.StatusUnauthorized, "invalid_token") // used once
	newAgent := &client{e: e.env, token: str(sess["access_token"])}
	signIn(t, e.env, "new.agent@example.com", "a new password", "")

	// The list shows everyone with their role; agents can read it, not change it.
	members := admin.do("GET", "/api/v1/agents", nil).want(http.StatusOK).list()
	if len(members) != 3 {
		t.Fatalf("members: %v", members)
	}
	newAgent.do("GET", "/api/v1/agents", nil).want(http.StatusOK)
	newAgent.do("POST", "/api/v1/agents", map[string]any{"email": "z@example.com"}).wantError(http.StatusForbidden, "forbidden")
	newAgent.do("DELETE", "/api/v1/companies/"+str(admin.do("POST", "/api/v1/companies", map[string]any{"name": "C"}).want(201).obj()["id"]), nil).
		wantError(http.StatusForbidden, "forbidden")

	// A promotion takes effect on the member's next request, with the same token.
	agentID := str(sess["user"].(map[string]any)["id"])
	admin.do("PATCH", "/api/v1/agents/"+agentID, map[string]any{"role": "administrator"}).want(http.StatusOK)
	newAgent.do("GET", "/api/v1/api_keys", nil).want(http.StatusOK)
	// The last administrator cannot be demoted or removed.
	admin.do("PUT", "/api/v1/agents/"+agentID, map[string]any{"role": "agent"}).want(http.StatusOK)
	admin.do("PATCH", "/api/v1/agents/"+admin.userID, map[string]any{"role": "agent"}).wantError(http.StatusConflict, "last_administrator")
	admin.do("DELETE", "/api/v1/agents/"+admin.userID, nil).wantError(http.StatusConflict, "last_administrator")
	admin.do("PATCH", "/api/v1/agents/"+agentID, map[string]any{"name": "renamed"}).wantError(http.StatusUnprocessableEntity, "validation_error")

	// Removing a member ends their access to the account at once: their
	// access token and their refresh token for it.
	admin.do("DELETE", "/api/v1/agents/"+agentID, nil).want(http.StatusNoContent)
	newAgent.do("GET", "/api/v1/contacts", nil).wantError(http.StatusUnauthorized, "unauthorized")
	e.anon().do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": sess["refresh_token"]}).wantError(http.StatusUnauthorized, "invalid_token")
	admin.do("GET", "/api/v1/agents/"+agentID, nil).wantError(http.StatusNotFound, "not_found")
	admin.do("DELETE", "/api/v1/agents/not-an-id", nil).wantError(http.StatusNotFound, "not_found")

	// The audit log tells who did each of it.
	entries := admin.do("GET", "/api/v1/audit_log?limit=50", nil).want(http.StatusOK).obj()["entries"].([]any)
	var actions []string
	for _, x := range entries {
		m := x.(map[string]any)
		if m["actor"] != admin.userID || m["actor_type"] != "user" || str(m["request_id"]) == "" {
			t.Errorf("audit entry without its actor: %v", m)
		}
		actions = append(actions, str(m["action"]))
	}
	if got := strings.Join(actions, ","); got != "member.removed,member.role_changed,member.role_changed,member.invitation_withdrawn,member.invitation_withdrawn,member.invited,member.invited,member.invited,member.invited" {
		t.Fatalf("audit log: %s", got)
	}
	admin.do("GET", "/api/v1/audit_log?limit=0", nil).wantError(http.StatusUnprocessableEntity, "validation_error")
}

func TestProfileAndPasswordChange(t *testing.T) {
	e := newFullEnv(t)
	s := e.register(t)
	p := s.do("GET", "/api/v1/profile", nil).want(http.StatusOK).obj()
	if p["id"] != s.userID || p["account_id"] != s.accountID || p["role"] != "administrator" || len(p["accounts"].([]any)) != 1 {
		t.Fatalf("profile: %v", p)
	}
	p = s.do("PUT", "/api/v1/profile", map[string]any{"profile": map[string]any{"name": " Ada King ", "display_name": "Ada"}}).want(http.StatusOK).obj()
	if p["name"] != "Ada King" || p["display_name"] != "Ada" {
		t.Fatalf("profile update: %v", p)
	}
	s.do("PATCH", "/api/v1/profile", map[string]any{"email": "x@example.com"}).wantError(http.StatusUnprocessableEntity, "validation_error")

	other := signIn(t, e.env, s.email, s.password, "") // a second session (another device)
	cases := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"password": "a brand new one"}, "current_password"},
		{map[string]any{"current_password": "wrong password", "password": "a brand new one"}, "current_password"},
		{map[string]any{"current_password": s.password, "password": "short"}, "password"},
		{map[string]any{"current_password": s.password, "password": "a brand new one", "password_confirmation": "different"}, "password_confirmation"},
	}
	for _, c := range cases {
		r := s.do("PATCH", "/api/v1/profile", c.body).wantError(http.StatusUnprocessableEntity, "validation_error")
		if _, ok := r.errFields()[c.field]; !ok {
			t.Errorf("%v: error does not name %s: %s", c.body, c.field, r.body)
		}
	}
	s.do("PATCH", "/api/v1/profile", map[string]any{"current_password": s.password, "password": "a brand new one",
		"password_confirmation": "a brand new one"}).want(http.StatusOK)
	// This session goes on; the other device is signed out; the old password is gone.
	s.do("GET", "/api/v1/profile", nil).want(http.StatusOK)
	(&client{e: e.env, token: str(other["access_token"])}).do("GET", "/api/v1/profile", nil).wantError(http.StatusUnauthorized, "unauthorized")
	e.anon().do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": other["refresh_token"]}).wantError(http.StatusUnauthorized, "invalid_token")
	e.anon().do("POST", "/api/v1/auth/login", map[string]any{"email": s.email, "password": s.password}).wantError(http.StatusUnauthorized, "invalid_credentials")
	signIn(t, e.env, s.email, "a brand new one", "")
}

func TestSessionsSignOutAndRefreshReuse(t *testing.T) {
	e := newFullEnv(t)
	s := e.register(t)
	r0 := e.anon().do("POST", "/api/v1/auth/login", map[string]any{"email": s.email, "password": s.password}).want(http.StatusOK)
	if r0.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("a session answer may be cached: %v", r0.header)
	}
	first := signIn(t, e.env, s.email, s.password, "")
	v := (&client{e: e.env, token: str(first["access_token"])}).do("GET", "/api/v1/auth/validate_token", nil).want(http.StatusOK).obj()
	data := v["data"].(map[string]any)
	if v["success"] != true || data["id"] != s.userID || data["account_id"] != s.accountID || data["type"] != "user" {
		t.Fatalf("validate_token: %v", v)
	}
	e.anon().do("GET", "/api/v1/auth/validate_token", nil).wantError(http.StatusUnauthorized, "unauthorized")

	// Rotation: each refresh token works once.
	second := e.anon().do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": first["refresh_token"]}).want(http.StatusOK).obj()
	third := e.anon().do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": second["refresh_token"]}).want(http.StatusOK).obj()
	// The first token again: it was stolen. The whole session is revoked —
	// the newest refresh token and the access tokens issued from it too.
	r := e.anon().do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": first["refresh_token"]}).wantError(http.StatusUnauthorized, "invalid_token")
	if !strings.Contains(string(r.body), "already used") {
		t.Fatalf("reuse answer: %s", r.body)
	}
	e.anon().do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": third["refresh_token"]}).wantError(http.StatusUnauthorized, "invalid_token")
	(&client{e: e.env, token: str(third["access_token"])}).do("GET", "/api/v1/contacts", nil).wantError(http.StatusUnauthorized, "unauthorized")
	// Other sessions of the user are not touched.
	s.do("GET", "/api/v1/contacts", nil).want(http.StatusOK)

	// Sign out: this session ends (access and refresh), the others go on.
	a, b := signIn(t, e.env, s.email, s.password, ""), signIn(t, e.env, s.email, s.password, "")
	ca, cb := &client{e: e.env, token: str(a["access_token"])}, &client{e: e.env, token: str(b["access_token"])}
	ca.do("DELETE", "/api/v1/auth/sign_out", nil).want(http.StatusOK)
	ca.do("GET", "/api/v1/contacts", nil).wantError(http.StatusUnauthorized, "unauthorized")
	e.anon().do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": a["refresh_token"]}).wantError(http.StatusUnauthorized, "invalid_token")
	cb.do("GET", "/api/v1/contacts", nil).want(http.StatusOK)
	// ?all=true: every session.
	cb.do("DELETE", "/api/v1/auth/sign_out?all=true", nil).want(http.StatusOK)
	cb.do("GET", "/api/v1/contacts", nil).wantError(http.StatusUnauthorized, "unauthorized")
	s.do("GET", "/api/v1/contacts", nil).wantError(http.StatusUnauthorized, "unauthorized")

	// Concurrent refreshes of one token: exactly one wins, and the session
	// is then revoked (the token was presented twice).
	c := signIn(t, e.env, s.email, s.password, "")
	var wg sync.WaitGroup
	statuses := make([]int, 4)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.anon().do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": c["refresh_token"]}).status
		}()
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		if st == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("concurrent refreshes: %v", statuses)
	}
}

func TestTokenExpiry(t *testing.T) {
	e := newFullEnv(t)
	s := e.register(t)
	ctx := context.Background()
	// An access token past its expiry is refused.
	expired, err := accounts.New(e.pool, e.secret, -time.Minute).Login(ctx, s.email, s.password, "")
	if err != nil {
		t.Fatal(err)
	}
	(&client{e: e.env, token: expired.AccessToken}).do("GET", "/api/v1/contacts", nil).wantError(http.StatusUnauthorized, "unauthorized")
	// A refresh token past its 30 days is refused.
	later := e.auth.WithClock(func() time.Time { return time.Now().Add(31 * 24 * time.Hour) })
	if _, err := later.Refresh(ctx, expired.RefreshToken); err != auth.ErrInvalidToken {
		t.Fatalf("refresh after 31 days: %v", err)
	}
	if _, err := e.auth.WithClock(func() time.Time { return time.Now().Add(29 * 24 * time.Hour) }).Refresh(ctx, expired.RefreshToken); err != nil {
		t.Fatalf("refresh within 30 days: %v", err)
	}
}

func TestAccountsSwitchPathAndHeader(t *testing.T) {
	e := newFullEnv(t)
	s := e.register(t)
	second := s.do("POST", "/api/v1/accounts", map[string]any{"name": "Second", "settings": map[string]any{"locale": "es"}}).
		want(http.StatusCreated).obj()
	secondID := str(second["id"])
	if second["role"] != "administrator" || second["settings"].(map[string]any)["locale"] != "es" {
		t.Fatalf("created account: %v", second)
	}
	s.do("POST", "/api/v1/accounts", map[string]any{"name": ""}).wantError(http.StatusUnprocessableEntity, "validation_error")
	if l := s.do("GET", "/api/v1/accounts", nil).want(http.StatusOK).obj()["accounts"].([]any); len(l) != 2 {
		t.Fatalf("accounts: %v", l)
	}
	// The same token reaches both accounts by path or header; each write lands where it was sent.
	s.do("POST", "/api/v1/accounts/"+secondID+"/contacts", map[string]any{"first_name": "In second"}).want(http.StatusCreated)
	s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "In second too"}, "organization-id", secondID).want(http.StatusCreated)
	s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "In first"}).want(http.StatusCreated)
	var n1, n2 int
	ctx := context.Background()
	_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE account_id = $1 AND event_type = 'contact.created'`, s.accountID).Scan(&n1)
	_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE account_id = $1 AND event_type = 'contact.created'`, secondID).Scan(&n2)
	if n1 != 1 || n2 != 2 {
		t.Fatalf("contacts created: first %d, second %d", n1, n2)
	}
	// The read side follows the same account: REST queries and the WebSocket.
	e.project(t)
	count := func(path string, headers ...string) float64 {
		t.Helper()
		return s.do("GET", path, nil, headers...).want(http.StatusOK).obj()["count"].(float64)
	}
	if a, b, c := count("/api/v1/contacts/count"), count("/api/v1/accounts/"+secondID+"/contacts/count"),
		count("/api/v1/contacts/count", "organization-id", secondID); a != 1 || b != 2 || c != 2 {
		t.Fatalf("counts: token's account %v, by path %v, by header %v", a, b, c)
	}
	for _, dial := range []struct {
		path    string
		headers []string
	}{{"/api/v1/accounts/" + secondID + "/contacts/ws", nil}, {"/api/v1/contacts/ws", []string{"organization-id", secondID}}} {
		conn, r := e.dialWS(t, dial.path, s.token, dial.headers...)
		if conn == nil {
			t.Fatalf("dial %s: %d %s", dial.path, r.status, r.body)
		}
		if _, a := conn.call("count_contacts", map[string]any{}); a["data"].(map[string]any)["count"] != float64(2) {
			t.Fatalf("WebSocket %s %v: %v", dial.path, dial.headers, a)
		}
	}

	// Settings merge; a null removes a key.
	acc := s.do("PATCH", "/api/v1/accounts/"+secondID, map[string]any{"settings": map[string]any{"tz": "UTC", "locale": nil}}).want(http.StatusOK).obj()
	if st := acc["settings"].(map[string]any); st["tz"] != "UTC" || st["locale"] != nil || len(st) != 1 {
		t.Fatalf("settings: %v", acc)
	}
	s.do("GET", "/api/v1/account", nil, "organization-id", secondID).want(http.StatusOK)

	// Not a member: 404 by path, 403 by header, malformed ids alike.
	stranger := e.register(t)
	for _, id := range []string{stranger.accountID, "not-a-uuid"} {
		s.do("GET", "/api/v1/accounts/"+id+"/contacts", nil).wantError(http.StatusNotFound, "not_found")
		s.do("GET", "/api/v1/accounts/"+id, nil).wantError(http.StatusNotFound, "not_found")
		s.do("GET", "/api/v1/contacts", nil, "organization-id", id).wantError(http.StatusForbidden, "forbidden")
	}
	s.do("GET", "/api/v1/accounts/"+secondID+"/contacts", nil, "organization-id", s.accountID).wantError(http.StatusForbidden, "forbidden")

	// Switching the active account: a token pair of this session for the other account.
	sw := s.do("PUT", "/api/v1/profile/set_active_account", map[string]any{"profile": map[string]any{"account_id": secondID}}).want(http.StatusOK).obj()
	if sw["account"].(map[string]any)["id"] != secondID {
		t.Fatalf("switch: %v", sw)
	}
	c2 := &client{e: e.env, token: str(sw["access_token"])}
	if got := c2.do("GET", "/api/v1/profile", nil).want(http.StatusOK).obj()["account_id"]; got != secondID {
		t.Fatalf("active account after the switch: %v", got)
	}
	s.do("PUT", "/api/v1/profile/set_active_account", map[string]any{"account_id": stranger.accountID}).wantError(http.StatusNotFound, "not_found")
	s.do("PUT", "/api/v1/profile/set_active_account", map[string]any{}).wantError(http.StatusUnprocessableEntity, "validation_error")
	// Signing out ends the switched tokens too: one session.
	s.do("DELETE", "/api/v1/auth/sign_out", nil).want(http.StatusOK)
	c2.do("GET", "/api/v1/contacts", nil).wantError(http.StatusUnauthorized, "unauthorized")
}

func TestAPIKeysAndScopes(t *testing.T) {
	e := newFullEnv(t)
	admin := e.register(t)
	agent := e.agentIn(t, admin)
	agent.do("POST", "/api/v1/api_keys", map[string]any{"name": "k", "scopes": []string{"read_contacts"}}).wantError(http.StatusForbidden, "forbidden")
	for _, bad := range []map[string]any{
		{"name": "k", "scopes": []string{"admin"}}, {"name": "k", "scopes": []string{}}, {"name": "", "scopes": []string{"read_contacts"}},
		{"name": "k", "scopes": []string{"read_contacts"}, "expires_at": "2001-01-01T00:00:00Z"},
	} {
		admin.do("POST", "/api/v1/api_keys", bad).wantError(http.StatusUnprocessableEntity, "validation_error")
	}
	newKey := func(name string, scopes ...string) (string, string) {
		r := admin.do("POST", "/api/v1/api_keys", map[string]any{"name": name, "scopes": scopes}).want(http.StatusCreated)
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("key answer cacheable: %v", r.header)
		}
		k := r.obj()
		if !strings.HasPrefix(str(k["key"]), "ck_") || !strings.HasPrefix(str(k["key"]), str(k["prefix"])) {
			t.Fatalf("created key: %v", k)
		}
		return str(k["id"]), str(k["key"])
	}
	roID, ro := newKey("reader", "read_contacts")
	_, rw := newKey("writer", "read_contacts", "write_contacts")
	_, wo := newKey("write only", "write_contacts")
	id := str(admin.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Ada"}).want(http.StatusCreated).obj()["uuid"])
	e.project(t)

	// The list never shows a secret; only a hash is stored.
	list := admin.do("GET", "/api/v1/api_keys", nil).want(http.StatusOK)
	for _, secret := range []string{ro, rw, wo} {
		if bytes.Contains(list.body, []byte(secret)) || bytes.Contains(admin.do("GET", "/api/v1/api_keys/"+roID, nil).body, []byte(secret)) {
			t.Fatal("a key's secret is listed")
		}
		var n int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM api_keys WHERE position($1::bytea IN key_hash) > 0 OR prefix = $2`, []byte(secret), secret).Scan(&n)
		if n != 0 {
			t.Fatal("a key's secret is stored")
		}
	}
	if l := list.obj()["api_keys"].([]any); len(l) != 3 || l[0].(map[string]any)["last_used_at"] != nil {
		t.Fatalf("keys: %v", l)
	}

	reader, writer, writeOnly := &client{e: e.env, token: ro}, &client{e: e.env, token: rw}, &client{e: e.env, token: wo}
	// A read-only key reads (REST, search, WebSocket) and can never write.
	reader.do("GET", "/api/v1/contacts/"+id, nil).want(http.StatusOK)
	reader.do("GET", "/api/v1/contacts", nil).want(http.StatusOK)
	reader.do("POST", "/api/v1/contacts/search", map[string]any{}).want(http.StatusOK)
	for _, w := range []struct{ method, path string }{
		{"POST", "/api/v1/contacts"}, {"PATCH", "/api/v1/contacts/" + id}, {"DELETE", "/api/v1/contacts/" + id},
		{"POST", "/api/v1/companies"}, {"POST", "/api/v1/accounts/" + admin.accountID + "/contacts"},
	} {
		reader.do(w.method, w.path, map[string]any{"first_name": "x", "name": "x"}).wantError(http.StatusForbidden, "insufficient_scope")
	}
	conn, r := e.dialWS(t, "/api/v1/contacts/ws", ro)
	if conn == nil {
		t.Fatalf("key on the WebSocket: %d %s", r.status, r.body)
	}
	if _, a := conn.call("get_contact", map[string]any{"contact_uuid": id}); a["status"] != "success" {
		t.Fatalf("read-only key get_contact: %v", a)
	}
	for _, action := range []string{"create_contact", "upload_contacts_csv"} {
		if _, a := conn.call(action, map[string]any{"write_key": accessWriteKey, "first_name": "x", "file_name": "a.csv", "file_data": "YQ=="}); wsErrCode(a) != "admin_required" {
			t.Fatalf("read-only key %s: %v", action, a)
		}
	}
	// A write-only key writes and cannot read.
	writeOnly.do("GET", "/api/v1/contacts/"+id, nil).wantError(http.StatusForbidden, "insufficient_scope")
	writeOnly.do("POST", "/api/v1/contacts/search", map[string]any{}).wantError(http.StatusForbidden, "insufficient_scope")
	writeOnly.do("POST", "/api/v1/labels", map[string]any{"title": "from key"}).want(http.StatusCreated)
	wconn, _ := e.dialWS(t, "/api/v1/contacts/ws", wo)
	if _, a := wconn.call("list_contacts", map[string]any{}); wsErrCode(a) != "insufficient_scope" {
		t.Fatalf("write-only key list_contacts: %v", a)
	}
	// A read-write key does both, over REST and the WebSocket, and what it
	// writes records the key as the actor.
	created := writer.do("POST", "/api/v1/contacts", map[string]any{"first_name": "By key"}).want(http.StatusCreated).obj()
	wsw, _ := e.dialWS(t, "/api/v1/contacts/ws", rw)
	if _, a := wsw.call("create_contact", map[string]any{"write_key": accessWriteKey, "first_name": "By key on WS"}); a["status"] != "success" {
		t.Fatalf("read-write key create_contact: %v", a)
	}
	hist := admin.do("GET", "/api/v1/contacts/"+str(created["uuid"])+"/events", nil).want(http.StatusOK).obj()["events"].([]any)
	md := hist[0].(map[string]any)["metadata"].(map[string]any)
	keyActor := str(created["created_by"])
	if md["actor_type"] != "api_key" || md["actor"] != keyActor || !strings.HasPrefix(keyActor, "key:") {
		t.Fatalf("event metadata of a key's write: %v (created_by %v)", md, created["created_by"])
	}
	// Keys never administer the account.
	for _, p := range []string{"/api/v1/api_keys", "/api/v1/agents", "/api/v1/profile", "/api/v1/audit_log", "/api/v1/account"} {
		writer.do("GET", p, nil).wantError(http.StatusForbidden, "forbidden")
	}
	writer.do("POST", "/api/v1/api_keys", map[string]any{"name": "escalate", "scopes": []string{"write_contacts"}}).wantError(http.StatusForbidden, "forbidden")
	// A key belongs to its account: another account by path or header is refused.
	other := e.register(t)
	writer.do("GET", "/api/v1/accounts/"+other.accountID+"/contacts", nil).wantError(http.StatusNotFound, "not_found")
	writer.do("GET", "/api/v1/contacts", nil, "organization-id", other.accountID).wantError(http.StatusForbidden, "forbidden")
	writer.do("GET", "/api/v1/accounts/"+admin.accountID+"/contacts", nil).want(http.StatusOK)
	v := writer.do("GET", "/api/v1/auth/validate_token", nil).want(http.StatusOK).obj()["data"].(map[string]any)
	if v["type"] != "api_key" || v["id"] != strings.TrimPrefix(keyActor, "key:") || v["account_id"] != admin.accountID ||
		strings.Join(strList(v["scopes"]), ",") != "read_contacts,write_contacts" {
		t.Fatalf("validate_token of a key: %v", v)
	}

	// Last used is recorded.
	k := admin.do("GET", "/api/v1/api_keys/"+roID, nil).want(http.StatusOK).obj()
	if k["last_used_at"] == nil {
		t.Fatalf("last_used_at not set: %v", k)
	}
	// Revoked or expired keys stop at once, REST and WebSocket alike.
	admin.do("DELETE", "/api/v1/api_keys/"+roID, nil).want(http.StatusOK)
	reader.do("GET", "/api/v1/contacts", nil).wantError(http.StatusUnauthorized, "unauthorized")
	if c, r := e.dialWS(t, "/api/v1/contacts/ws", ro); c != nil || r.status != http.StatusUnauthorized {
		t.Fatalf("revoked key on the WebSocket: %d", r.status)
	}
	if _, err := e.pool.Exec(context.Background(), `UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE prefix = $1`, rw[:9]); err != nil {
		t.Fatal(err)
	}
	writer.do("GET", "/api/v1/contacts", nil).wantError(http.StatusUnauthorized, "unauthorized")
	(&client{e: e.env, token: "ck_" + strings.Repeat("A", 43)}).do("GET", "/api/v1/contacts", nil).wantError(http.StatusUnauthorized, "unauthorized")
	admin.do("DELETE", "/api/v1/api_keys/"+other.accountID, nil).wantError(http.StatusNotFound, "not_found")
}

func strList(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, str(x))
	}
	return out
}

func TestRateLimits(t *testing.T) {
	e := newFullEnv(t, func(d *web.Deps) {
		// Slow refills (one token per 5 s): a loaded machine cannot refill a
		// bucket between the requests that are meant to empty it.
		d.Limits = web.Limits{PerPrincipal: ratelimit.New(0.2, 3), LoginPerUser: ratelimit.New(5.0/60, 5)}
	})
	s := e.register(t)
	for i := 0; i < 3; i++ {
		r := s.do("GET", "/api/v1/contacts", nil).want(http.StatusOK)
		// The limit is the rate (0.2/s: 12 a minute), not the burst.
		if r.header.Get("RateLimit-Limit") != "12" || r.header.Get("RateLimit-Policy") != "12;w=60;burst=3" ||
			r.header.Get("RateLimit-Remaining") != strconv.Itoa(2-i) || r.header.Get("RateLimit-Reset") == "" {
			t.Fatalf("request %d: headers %v", i, r.header)
		}
	}
	r := s.do("POST", "/api/v1/contacts", map[string]any{"first_name": "x"}).wantError(http.StatusTooManyRequests, "rate_limited")
	if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); ra < 1 || r.header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("429 headers: %v", r.header)
	}
	var n int
	_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n)
	if n != 0 {
		t.Fatalf("a refused write landed: %d events", n)
	}
	// Another user has their own bucket; the same user in another account shares theirs.
	other := e.register(t)
	other.do("GET", "/api/v1/contacts", nil).want(http.StatusOK)
	// WebSocket actions spend the same bucket: the handshake is one request,
	// each action another (a fresh user: three tokens, refilling slowly).
	w := e.register(t)
	conn, resp := e.dialWS(t, "/api/v1/contacts/ws", w.token)
	if conn == nil {
		t.Fatalf("dial: %d %s", resp.status, resp.body)
	}
	for i := 0; i < 2; i++ {
		if _, a := conn.call("count_contacts", map[string]any{}); a["status"] != "success" {
			t.Fatalf("action %d: %v", i, a)
		}
	}
	raw, a := conn.call("count_contacts", map[string]any{})
	if wsErrCode(a) != "rate_limited" || !strings.Contains(string(raw), "retry in") {
		t.Fatalf("action over the limit: %s", raw)
	}
	w.do("GET", "/api/v1/contacts", nil).wantError(http.StatusTooManyRequests, "rate_limited") // one bucket for REST and WebSocket

	// Login throttling: five attempts a minute per e-mail, right password or not.
	victim := e.register(t)
	started := time.Now()
	for i := 0; i < 5; i++ {
		e.anon().do("POST", "/api/v1/auth/login", map[string]any{"email": victim.email, "password": "guess " + strconv.Itoa(i)}).
			wantError(http.StatusUnauthorized, "invalid_credentials")
	}
	r = e.anon().do("POST", "/api/v1/auth/login", map[string]any{"email": strings.ToUpper(victim.email), "password": victim.password}).
		wantError(http.StatusTooManyRequests, "rate_limited")
	// The next attempt is 12 s (a minute / 5) after the first, less the time
	// the attempts took (password hashing is slow on a loaded machine).
	if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); ra < 11-int(time.Since(started).Seconds()) || ra > 12 {
		t.Fatalf("Retry-After of a throttled login: %v (attempts took %v)", r.header, time.Since(started))
	}
	signIn(t, e.env, other.email, other.password, "") // other addresses are not throttled
}

func TestIPRateLimit(t *testing.T) {
	e := newFullEnv(t, func(d *web.Deps) {
		d.Limits = web.Limits{PerIP: ratelimit.New(0.1, 2)} // one token per 10 s
	})
	e.anon().do("GET", "/healthz", nil).want(http.StatusOK)
	e.anon().do("GET", "/api/v1/contacts", nil).wantError(http.StatusUnauthorized, "unauthorized")
	r := e.anon().do("GET", "/healthz", nil).wantError(http.StatusTooManyRequests, "rate_limited")
	if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); ra < 1 || ra > 10 {
		t.Fatalf("Retry-After: %v", r.header)
	}
	// X-Forwarded-For from an untrusted client changes nothing.
	e.anon().do("GET", "/healthz", nil, "X-Forwarded-For", "203.0.113.9").wantError(http.StatusTooManyRequests, "rate_limited")

	// The /auth routes have their own, tighter bucket per IP.
	a := newFullEnv(t, func(d *web.Deps) { d.Limits = web.Limits{AuthPerIP: ratelimit.New(1.0/60, 2)} })
	s := a.register(t)
	a.anon().do("POST", "/api/v1/auth/login", map[string]any{"email": s.email, "password": "wrong password"}).wantError(http.StatusUnauthorized, "invalid_credentials")
	a.anon().do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": "x"}).wantError(http.StatusTooManyRequests, "rate_limited")
	s.do("GET", "/api/v1/contacts", nil).want(http.StatusOK) // signed-in routes are not affected
}

// TestNoSecretsInLogs runs sign-up, sign-in, refresh, key creation, key use
// and failures with debug logging, and looks for every secret in the log.
func TestNoSecretsInLogs(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	e := newFullEnv(t, func(d *web.Deps) {
		d.Logger = slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	s := e.register(t)
	sess := signIn(t, e.env, s.email, s.password, "")
	e.anon().do("POST", "/api/v1/auth/login", map[string]any{"email": s.email, "password": "wrong password 123"}).want(http.StatusUnauthorized)
	next := e.anon().do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": sess["refresh_token"]}).want(http.StatusOK).obj()
	e.anon().do("POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": sess["refresh_token"]}).want(http.StatusUnauthorized)
	key := str(s.do("POST", "/api/v1/api_keys", map[string]any{"name": "k", "scopes": []string{"read_contacts"}}).want(http.StatusCreated).obj()["key"])
	(&client{e: e.env, token: key}).do("GET", "/api/v1/contacts", nil).want(http.StatusOK)
	(&client{e: e.env, token: key}).do("POST", "/api/v1/contacts", map[string]any{"first_name": "x"}).want(http.StatusForbidden)
	e.dialWS(t, "/api/v1/contacts/ws", key)
	e.dialWS(t, "/api/v1/contacts/ws", "ck_wrong")
	s.do("PATCH", "/api/v1/profile", map[string]any{"current_password": s.password, "password": "another secret pw"}).want(http.StatusOK)
	mu.Lock()
	log := buf.String()
	mu.Unlock()
	if !strings.Contains(log, "http request") {
		t.Fatalf("nothing was logged: %q", log)
	}
	for _, secret := range []string{s.password, "wrong password 123", "another secret pw", s.token, str(sess["access_token"]),
		str(sess["refresh_token"]), str(next["refresh_token"]), key, "ck_wrong"} {
		if strings.Contains(log, secret) {
			t.Errorf("the log holds a secret (%.8s…)", secret)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestWebSocketRevocation: a connection does not outlive its authorization —
// a revoked key, a signed-out session, a removed member or a demotion are
// seen within RecheckEvery.
func TestWebSocketRevocation(t *testing.T) {
	e := newFullEnv(t, func(d *web.Deps) { d.Read.RecheckEvery = time.Millisecond })
	admin := e.register(t)
	key := str(admin.do("POST", "/api/v1/api_keys", map[string]any{"name": "k", "scopes": []string{"read_contacts"}}).want(http.StatusCreated).obj()["key"])
	keyID := str(admin.do("GET", "/api/v1/api_keys", nil).obj()["api_keys"].([]any)[0].(map[string]any)["id"])
	agentLogin := func() (*client, map[string]any) {
		t.Helper()
		c := e.agentIn(t, admin)
		v := c.do("GET", "/api/v1/auth/validate_token", nil).want(http.StatusOK).obj()["data"].(map[string]any)
		return c, v
	}
	check := func(name string, token string, revoke func()) {
		t.Helper()
		conn, r := e.dialWS(t, "/api/v1/contacts/ws", token)
		if conn == nil {
			t.Fatalf("%s: dial %d %s", name, r.status, r.body)
		}
		if _, a := conn.call("count_contacts", map[string]any{}); a["status"] != "success" {
			t.Fatalf("%s: before: %v", name, a)
		}
		revoke()
		time.Sleep(5 * time.Millisecond)
		if _, a := conn.call("count_contacts", map[string]any{}); wsErrCode(a) != "unauthorized" {
			t.Fatalf("%s: after: %v", name, a)
		}
		_ = conn.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err := conn.conn.ReadMessage()
		if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
			t.Fatalf("%s: connection not closed with 1008: %v", name, err)
		}
	}
	check("revoked key", key, func() { admin.do("DELETE", "/api/v1/api_keys/"+keyID, nil).want(http.StatusOK) })
	a1, _ := agentLogin()
	check("signed out", a1.token, func() { a1.do("DELETE", "/api/v1/auth/sign_out", nil).want(http.StatusOK) })
	a2, v2 := agentLogin()
	check("removed member", a2.token, func() { admin.do("DELETE", "/api/v1/agents/"+str(v2["id"]), nil).want(http.StatusNoContent) })

	// A promotion is picked up by the open connection (create_contact needs an administrator).
	a3, v3 := agentLogin()
	conn, _ := e.dialWS(t, "/api/v1/contacts/ws", a3.token)
	if _, a := conn.call("create_contact", map[string]any{"write_key": accessWriteKey, "first_name": "x"}); wsErrCode(a) != "admin_required" {
		t.Fatalf("agent create_contact: %v", a)
	}
	admin.do("PATCH", "/api/v1/agents/"+str(v3["id"]), map[string]any{"role": "administrator"}).want(http.StatusOK)
	time.Sleep(5 * time.Millisecond)
	if _, a := conn.call("create_contact", map[string]any{"write_key": accessWriteKey, "first_name": "x"}); a["status"] != "success" {
		t.Fatalf("promoted agent create_contact: %v", a)
	}
}

// TestLastAdministratorUnderConcurrency: two administrators demoting each
// other at once cannot leave the account without one.
func TestLastAdministratorUnderConcurrency(t *testing.T) {
	e := newFullEnv(t)
	for round := 0; round < 5; round++ {
		a := e.register(t)
		other := e.register(t)
		inv := a.do("POST", "/api/v1/agents", map[string]any{"email": other.email, "role": "administrator"}).want(http.StatusCreated).obj()
		e.anon().do("POST", "/api/v1/auth/invitations/accept", map[string]any{"token": inv["invitation"].(map[string]any)["token"],
			"password": other.password}).want(http.StatusOK)
		b := &client{e: e.env, token: str(signIn(t, e.env, other.email, other.password, a.accountID)["access_token"])}
		var wg sync.WaitGroup
		var sa, sb int
		wg.Add(2)
		go func() {
			defer wg.Done()
			sa = a.do("PATCH", "/api/v1/agents/"+other.userID, map[string]any{"role": "agent"}).status
		}()
		go func() {
			defer wg.Done()
			sb = b.do("PATCH", "/api/v1/agents/"+a.userID, map[string]any{"role": "agent"}).status
		}()
		wg.Wait()
		var admins int
		if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM memberships WHERE account_id = $1 AND role = 'administrator'`, a.accountID).Scan(&admins); err != nil {
			t.Fatal(err)
		}
		if admins != 1 || !((sa == 200 && (sb == 409 || sb == 403)) || (sb == 200 && (sa == 409 || sa == 403))) {
			t.Fatalf("round %d: statuses %d and %d, %d administrators left", round, sa, sb, admins)
		}
	}
}
