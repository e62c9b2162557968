package readapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/commands"
	"contacts/eventstore"
	"contacts/internal/accounts"
	"contacts/internal/auth"
	"contacts/internal/migrations"
	"contacts/internal/pgtest"
	"contacts/internal/phonereview"
	"contacts/internal/web"
	"contacts/projections"
	"contacts/projections/pgstore"
	"contacts/readapi"
	"contacts/readapi/pgquery"
	"contacts/readapi/ws"
)

const (
	testSecret   = "test-secret-test-secret-test-secret!"
	testWriteKey = "the-write-key"
)

// env is the whole service over one fresh database: the real router
// (internal/web with the read API mounted) on an httptest.Server.
type env struct {
	t       *testing.T
	pool    *pgxpool.Pool
	store   *eventstore.Store
	cmds    *commands.Handlers
	auth    *accounts.Service
	srv     *httptest.Server
	handler http.Handler
	svc     *hookedService
}

type envOptions struct {
	writeKey string
	noKey    bool
	imports  readapi.Imports
	// newImports builds the imports over the env's database (wins over imports).
	newImports     func(pool *pgxpool.Pool, cmds *commands.Handlers) readapi.Imports
	maxUploadBytes int64
	maxBuffered    int64 // ws.Deps.MaxBufferedBytes
	limit          func(auth.Principal) (time.Duration, bool)
	closing        chan struct{}
	// readCommands builds the read API's command handlers (default: the
	// router's).
	readCommands func(*eventstore.Store) *commands.Handlers
}

func newEnv(t *testing.T, opts ...func(*envOptions)) *env {
	t.Helper()
	o := envOptions{writeKey: testWriteKey}
	for _, f := range opts {
		f(&o)
	}
	if o.noKey {
		o.writeKey = ""
	}
	pool := pgtest.New(t)
	if _, err := migrations.Apply(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	store := eventstore.New(pool)
	cmds := commands.New(store)
	authSvc := accounts.New(pool, []byte(testSecret), time.Hour)
	svc := &hookedService{Service: pgquery.NewPG(pool)}
	var readCmds *commands.Handlers
	if o.readCommands != nil {
		readCmds = o.readCommands(store)
	}
	if o.newImports != nil {
		o.imports = o.newImports(pool, cmds)
	}
	h := web.NewRouter(web.Deps{
		// Every optional route group is mounted, as `contacts serve` does:
		// the OpenAPI route test walks this router.
		Commands: cmds, Auth: authSvc, Store: store, DB: pool, Progress: store, PhoneReview: phonereview.New(pool, authSvc),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxBodyBytes: 64 << 10,
		Read: &ws.Deps{Service: svc, WriteKey: o.writeKey, Imports: o.imports, MaxUploadBytes: o.maxUploadBytes, MaxBufferedBytes: o.maxBuffered, Limit: o.limit, Lists: pgquery.NewPGLists(pool), Closing: o.closing, Commands: readCmds},
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, pool: pool, store: store, cmds: cmds, auth: authSvc, srv: srv, handler: h, svc: svc}
}

func noWriteKey(o *envOptions) { o.noKey = true }

// user is a signed-in user of an account.
type user struct {
	userID, accountID, token, email, password string
}

func (e *env) register(t *testing.T) user {
	t.Helper()
	email := "u" + strings.ReplaceAll(eventstore.NewID(), "-", "")[:16] + "@example.com"
	s, err := e.auth.Register(context.Background(), accounts.RegisterInput{
		AccountName: "Account " + email, Name: "Admin", Email: email, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	return user{userID: s.User.ID, accountID: s.Account.ID, token: s.AccessToken, email: email, password: "correct horse battery"}
}

// agentOf adds an agent to admin's account and signs them in there.
func (e *env) agentOf(t *testing.T, admin user) user {
	t.Helper()
	other := e.register(t)
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `INSERT INTO memberships (account_id, user_id, role) VALUES ($1, $2, 'agent')`,
		admin.accountID, other.userID); err != nil {
		t.Fatal(err)
	}
	s, err := e.auth.Login(ctx, other.email, other.password, admin.accountID)
	if err != nil {
		t.Fatal(err)
	}
	if s.Account.Role != auth.RoleAgent {
		t.Fatalf("role %q", s.Account.Role)
	}
	return user{userID: other.userID, accountID: admin.accountID, token: s.AccessToken, email: other.email, password: other.password}
}

// expiredToken signs u in with a token that expired a minute ago.
func (e *env) expiredToken(t *testing.T, u user) string {
	t.Helper()
	s, err := accounts.New(e.pool, []byte(testSecret), -time.Minute).Login(context.Background(), u.email, u.password, u.accountID)
	if err != nil {
		t.Fatal(err)
	}
	return s.AccessToken
}

func (e *env) company(t *testing.T, u user, fields map[string]any) string {
	t.Helper()
	st, err := e.cmds.CreateCompany(context.Background(), commands.CreateCompany{AccountID: u.accountID, ActorID: u.userID, Fields: fields})
	if err != nil {
		t.Fatal(err)
	}
	return st.ID
}

func (e *env) contact(t *testing.T, u user, fields map[string]any) string {
	t.Helper()
	st, err := e.cmds.CreateContact(context.Background(), commands.CreateContact{AccountID: u.accountID, ActorID: u.userID, Fields: fields})
	if err != nil {
		t.Fatal(err)
	}
	return st.ID
}

// project runs every projection over all events so far (the read model
// catches up, as the runner would make it).
func (e *env) project(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var evs []eventstore.Event
	cur := eventstore.Cursor{}
	for {
		batch, err := e.store.ReadAll(ctx, cur, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		evs = append(evs, batch...)
		cur = batch[len(batch)-1].Cursor()
	}
	rm := pgstore.New(e.pool)
	for _, name := range projections.Names {
		for _, h := range projections.New(e.store, rm) {
			if h.Name() != name {
				continue
			}
			if err := h.Handle(ctx, evs); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// world is two accounts with data: admin's account holds companies and
// contacts; other's account holds one contact that admin must never see.
type world struct {
	*env
	admin, agent, other           user
	acme, globex                  string // companies
	ada, grace, linus, otherHuman string // contacts
}

func newWorld(t *testing.T, opts ...func(*envOptions)) *world {
	t.Helper()
	e := newEnv(t, opts...)
	w := &world{env: e, admin: e.register(t), other: e.register(t)}
	w.agent = e.agentOf(t, w.admin)
	w.acme = e.company(t, w.admin, map[string]any{
		"name": "Acme Corp", "industries": []any{"Technology", "Software"}, "keywords": []any{"cloud", "saas"},
		"technologies": []any{"Python", "PostgreSQL"}, "employees": 250, "annual_revenue": 5e6,
		"city": "San Francisco", "state": "CA", "country": "United States", "text_search": "123 Main St, San Francisco, CA"})
	w.globex = e.company(t, w.admin, map[string]any{
		"name": "Globex", "industries": []any{"Finance"}, "keywords": []any{"enterprise"}, "technologies": []any{"Go"},
		"employees": 20, "city": "Denver", "state": "CO", "country": "United States", "text_search": "456 Oak Ave, Denver, CO"})
	w.ada = e.contact(t, w.admin, map[string]any{
		"first_name": "Ada", "last_name": "Lovelace", "title": "CEO", "email": "ada@acme.com", "email_status": "valid",
		"seniority": "c-level", "departments": []any{"executive"}, "city": "San Francisco", "state": "CA",
		"country": "United States", "text_search": "789 Market St, San Francisco, CA", "company_id": w.acme})
	w.grace = e.contact(t, w.admin, map[string]any{
		"first_name": "Grace", "last_name": "Hopper", "title": "CTO", "email": "grace@globex.com", "email_status": "valid",
		"city": "Denver", "state": "CO", "country": "United States", "text_search": "1 Navy Way, Denver, CO", "company_id": w.globex})
	w.linus = e.contact(t, w.admin, map[string]any{
		"first_name": "Linus", "last_name": "Torvalds", "title": "Engineer", "email": "linus@example.org",
		"city": "Portland", "state": "OR", "country": "Canada"})
	w.otherHuman = e.contact(t, w.other, map[string]any{"first_name": "Eve", "title": "Spy", "city": "Nowhere", "country": "Elsewhere"})
	e.project(t)
	return w
}

// hookedService wraps the query service so tests can slow calls down and
// watch their contexts and concurrency.
type hookedService struct {
	readapi.Service
	mu        sync.Mutex
	countHook func(ctx context.Context)
	fieldHook func(ctx context.Context)
	inFlight  atomic.Int64
	maxFlight atomic.Int64
}

func (s *hookedService) hooks() (count, field func(context.Context)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.countHook, s.fieldHook
}

func (s *hookedService) setHooks(count, field func(context.Context)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.countHook, s.fieldHook = count, field
}

func (s *hookedService) enter() func() {
	n := s.inFlight.Add(1)
	for {
		m := s.maxFlight.Load()
		if n <= m || s.maxFlight.CompareAndSwap(m, n) {
			break
		}
	}
	return func() { s.inFlight.Add(-1) }
}

func (s *hookedService) CountContacts(ctx context.Context, accountID string, q readapi.Query) (int64, error) {
	defer s.enter()()
	if h, _ := s.hooks(); h != nil {
		h(ctx)
	}
	return s.Service.CountContacts(ctx, accountID, q)
}

func (s *hookedService) FieldValues(ctx context.Context, accountID string, f readapi.Field, q readapi.Query, o readapi.FieldOptions) ([]string, error) {
	defer s.enter()()
	if _, h := s.hooks(); h != nil {
		h(ctx)
	}
	return s.Service.FieldValues(ctx, accountID, f, q, o)
}

// --- WebSocket client ---

type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	seq  int
}

func (e *env) wsURL(token string) string {
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/api/v1/contacts/ws"
	if token != "" {
		u += "?token=" + token
	}
	return u
}

func (e *env) dial(t *testing.T, u user) *wsClient {
	t.Helper()
	conn, res, err := websocket.DefaultDialer.Dial(e.wsURL(u.token), nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, res)
	}
	t.Cleanup(func() { conn.Close() })
	return &wsClient{t: t, conn: conn}
}

func (c *wsClient) sendRaw(msg string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *wsClient) send(action, requestID string, data any) {
	c.t.Helper()
	raw, err := json.Marshal(map[string]any{"action": action, "request_id": requestID, "data": data})
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(raw))
}

// wsAnswer is one decoded answer.
type wsAnswer struct {
	raw       []byte
	RequestID any            `json:"request_id"`
	Action    any            `json:"action"`
	Status    string         `json:"status"`
	Data      any            `json:"data"`
	Error     map[string]any `json:"error"`
}

func (a wsAnswer) obj() map[string]any { m, _ := a.Data.(map[string]any); return m }

func (a wsAnswer) code() string { s, _ := a.Error["code"].(string); return s }

func (a wsAnswer) String() string { return string(a.raw) }

func (c *wsClient) recv() wsAnswer {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, msg, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var a wsAnswer
	if err := json.Unmarshal(msg, &a); err != nil {
		c.t.Fatalf("answer is not JSON: %v: %s", err, msg)
	}
	// The envelope has exactly these keys; error only on errors.
	var keys map[string]json.RawMessage
	_ = json.Unmarshal(msg, &keys)
	want := 4
	if a.Status == "error" {
		want = 5
		if string(keys["data"]) != "null" || a.Error["message"] == nil || a.Error["code"] == nil {
			c.t.Fatalf("error envelope: %s", msg)
		}
	}
	if len(keys) != want {
		c.t.Fatalf("envelope keys: %s", msg)
	}
	a.raw = msg
	return a
}

// call sends one request and waits for its answer.
func (c *wsClient) call(action string, data any) wsAnswer {
	c.t.Helper()
	c.seq++
	id := fmt.Sprintf("req-%d", c.seq)
	c.send(action, id, data)
	a := c.recv()
	if a.RequestID != id || a.Action != action {
		c.t.Fatalf("answer to %s %s: %s", action, id, a)
	}
	return a
}

func (c *wsClient) ok(action string, data any) map[string]any {
	c.t.Helper()
	a := c.call(action, data)
	if a.Status != "success" {
		c.t.Fatalf("%s: %s", action, a)
	}
	return a.obj()
}

func (c *wsClient) fail(action string, data any, code string) wsAnswer {
	c.t.Helper()
	a := c.call(action, data)
	if a.Status != "error" || a.code() != code {
		c.t.Fatalf("%s: want error %s, got %s", action, code, a)
	}
	return a
}

// --- REST client ---

type restAnswer struct {
	t      *testing.T
	status int
	body   []byte
}

func (e *env) rest(t *testing.T, token, method, path string, body any) restAnswer {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return restAnswer{t: t, status: res.StatusCode, body: raw}
}

func (r restAnswer) want(status int) restAnswer {
	r.t.Helper()
	if r.status != status {
		r.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

func (r restAnswer) obj() map[string]any {
	r.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		r.t.Fatalf("not a JSON object: %s", r.body)
	}
	return m
}

func (r restAnswer) wantError(status int, code string) map[string]any {
	r.t.Helper()
	r.want(status)
	e, _ := r.obj()["error"].(map[string]any)
	if e == nil || e["code"] != code || e["message"] == nil {
		r.t.Fatalf("error %s want code %s", r.body, code)
	}
	return e
}

func engine(t *testing.T, h http.Handler) *gin.Engine {
	t.Helper()
	g, ok := h.(*gin.Engine)
	if !ok {
		t.Fatalf("router is a %T", h)
	}
	return g
}

func list(v any) []any { l, _ := v.([]any); return l }

func strs(v any) []string {
	var out []string
	for _, x := range list(v) {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
