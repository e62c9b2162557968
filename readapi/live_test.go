package readapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/commands"
	"contacts/eventstore"
	"contacts/internal/accounts"
	"contacts/internal/auth"
	"contacts/internal/migrations"
	"contacts/internal/pgtest"
	"contacts/internal/web"
	"contacts/projections"
	"contacts/projections/pgstore"
	"contacts/readapi/pgquery"
	"contacts/readapi/realtime"
	readws "contacts/readapi/ws"
)

// liveEnv is the service with live updates over one fresh database: the
// embedded projector announcing its batches (PostgreSQL NOTIFY) and one or
// more instances, each with its own hub and router on its own server.
type liveEnv struct {
	pool  *pgxpool.Pool
	store *eventstore.Store
	cmds  *commands.Handlers
	auth  *accounts.Service
	svc   *pgquery.PG
	hubs  []*realtime.Hub
	srvs  []*httptest.Server
}

type liveOptions struct {
	instances  int
	queueLimit int
	tokenTTL   time.Duration
	smallSend  bool          // the servers' sockets get a small send buffer (slow consumers show at once)
	noNotify   bool          // the projector announces nothing: the hubs poll the checkpoints
	noPoll     bool          // the hubs poll the checkpoints only hourly: announcements alone must drive them
	recheck    time.Duration // Deps.RecheckEvery (0: the default)
	rechecks   *atomic.Int64 // when set, counts the principal rechecks
}

func newLiveEnv(t *testing.T, o liveOptions) *liveEnv {
	t.Helper()
	if o.instances == 0 {
		o.instances = 1
	}
	if o.tokenTTL == 0 {
		o.tokenTTL = time.Hour
	}
	pool := pgtest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	if _, err := migrations.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store := eventstore.New(pool)
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &liveEnv{pool: pool, store: store, cmds: commands.New(store), auth: accounts.New(pool, []byte(testSecret), o.tokenTTL),
		svc: pgquery.NewPG(pool)}
	runner := &projections.Runner{Source: store, Handlers: projections.New(store, pgstore.New(pool)), Logger: discard,
		Poll: 5 * time.Millisecond, SaveEvery: 50 * time.Millisecond}
	if !o.noNotify {
		runner.Committed = func(ctx context.Context, c eventstore.Cursor) { _ = store.NotifyCommitted(ctx, c) }
	}
	wg.Add(1)
	go func() { defer wg.Done(); _ = runner.Run(ctx) }()
	pollEvery := 100 * time.Millisecond
	if o.noPoll {
		pollEvery = time.Hour
	}
	for range o.instances {
		hub := realtime.NewHub(realtime.Options{Source: store, Announcements: store, QueueLimit: o.queueLimit,
			PollEvery: pollEvery, Logger: discard,
			Reached: func(ctx context.Context) (eventstore.Cursor, error) { return store.Reached(ctx, projections.Names) }})
		if o.noNotify {
			hub = realtime.NewHub(realtime.Options{Source: store, QueueLimit: o.queueLimit, PollEvery: 100 * time.Millisecond, Logger: discard,
				Reached: func(ctx context.Context) (eventstore.Cursor, error) { return store.Reached(ctx, projections.Names) }})
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = hub.Run(ctx) }()
		h := web.NewRouter(web.Deps{
			Commands: e.cmds, Auth: e.auth, Store: store, DB: pool, Progress: store, Logger: discard, MaxBodyBytes: 64 << 10,
			Read: &readws.Deps{Service: e.svc, Lists: pgquery.NewPGLists(pool), Realtime: hub, RecheckEvery: o.recheck},
		})
		if o.rechecks != nil {
			h = web.NewRouter(web.Deps{
				Commands: e.cmds, Auth: e.auth, Store: store, DB: pool, Progress: store, Logger: discard, MaxBodyBytes: 64 << 10,
				Read: &readws.Deps{Service: e.svc, Lists: pgquery.NewPGLists(pool), Realtime: hub, RecheckEvery: o.recheck,
					Recheck: func(ctx context.Context, p auth.Principal) (auth.Principal, error) {
						o.rechecks.Add(1)
						return e.auth.Recheck(ctx, p)
					}},
			})
		}
		srv := httptest.NewUnstartedServer(h)
		if o.smallSend {
			srv.Listener = smallSendListener{srv.Listener}
		}
		srv.Start()
		t.Cleanup(srv.Close)
		e.hubs = append(e.hubs, hub)
		e.srvs = append(e.srvs, srv)
	}
	return e
}

// smallSendListener gives accepted connections a 4 KiB send buffer, so a
// client that does not read blocks the server's writer almost at once.
type smallSendListener struct{ net.Listener }

func (l smallSendListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

func (e *liveEnv) register(t *testing.T) user {
	t.Helper()
	email := "u" + strings.ReplaceAll(eventstore.NewID(), "-", "")[:16] + "@example.com"
	s, err := e.auth.Register(context.Background(), accounts.RegisterInput{
		AccountName: "Account " + email, Name: "Admin", Email: email, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	return user{userID: s.User.ID, accountID: s.Account.ID, token: s.AccessToken, email: email}
}

func (e *liveEnv) createContact(t *testing.T, u user, fields map[string]any) string {
	t.Helper()
	st, err := e.cmds.CreateContact(context.Background(), commands.CreateContact{AccountID: u.accountID, ActorID: u.userID, Fields: fields})
	if err != nil {
		t.Fatal(err)
	}
	return st.ID
}

func (e *liveEnv) updateContact(t *testing.T, u user, id string, fields map[string]any) {
	t.Helper()
	if _, err := e.cmds.UpdateContact(context.Background(), commands.UpdateContact{AccountID: u.accountID, ID: id, Fields: fields}); err != nil {
		t.Fatal(err)
	}
}

// liveClient is one WebSocket connection of a test; a goroutine reads it
// (a gorilla read that times out breaks the connection for good).
type liveClient struct {
	t    *testing.T
	conn *websocket.Conn
	msgs chan liveMsg
}

type liveMsg struct {
	m   map[string]any
	err error
}

func newLiveClient(t *testing.T, conn *websocket.Conn) *liveClient {
	c := &liveClient{t: t, conn: conn, msgs: make(chan liveMsg, 1024)}
	go func() {
		for {
			_, body, err := conn.ReadMessage()
			if err != nil {
				c.msgs <- liveMsg{err: err}
				return
			}
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				err = fmt.Errorf("message %s: %w", body, err)
			}
			c.msgs <- liveMsg{m: m, err: err}
		}
	}()
	t.Cleanup(func() { _ = conn.Close() })
	return c
}

func (e *liveEnv) dial(t *testing.T, instance int, path string, query url.Values) *liveClient {
	t.Helper()
	c, resp, err := e.tryDial(instance, path, query)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", path, err, status)
	}
	return newLiveClient(t, c)
}

func (e *liveEnv) tryDial(instance int, path string, query url.Values) (*websocket.Conn, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(e.srvs[instance].URL, "http") + path + "?" + query.Encode()
	c, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err == nil {
		return c, resp, nil
	}
	return nil, resp, err
}

func (c *liveClient) send(action, requestID string, data map[string]any) {
	c.t.Helper()
	if err := c.conn.WriteJSON(map[string]any{"action": action, "request_id": requestID, "data": data}); err != nil {
		c.t.Fatal(err)
	}
}

// next reads one message (failing after timeout).
func (c *liveClient) next(timeout time.Duration) map[string]any {
	c.t.Helper()
	m, err := c.read(timeout)
	if err != nil {
		c.t.Fatalf("reading: %v", err)
	}
	return m
}

var errNoMessage = errors.New("no message")

func (c *liveClient) read(timeout time.Duration) (map[string]any, error) {
	select {
	case lm := <-c.msgs:
		return lm.m, lm.err
	case <-time.After(timeout):
		return nil, errNoMessage
	}
}

// expectNothing checks that no message arrives for a while.
func (c *liveClient) expectNothing(d time.Duration) {
	c.t.Helper()
	if m, err := c.read(d); err != errNoMessage {
		c.t.Fatalf("unexpected message %v", m)
	}
}

// subscribe subscribes on /contacts/ws and returns the answer's data.
func (c *liveClient) subscribe(data map[string]any) map[string]any {
	c.t.Helper()
	c.send("subscribe", "sub", data)
	m := c.next(5 * time.Second)
	if m["status"] != "success" || m["request_id"] != "sub" {
		c.t.Fatalf("subscribe %v: %v", data, m)
	}
	return m["data"].(map[string]any)
}

func pos(m map[string]any) int64 {
	f, _ := m["position"].(float64)
	return int64(f)
}

// accountPositions lists the positions of the account's events in the
// event store's tail order (the order pushes must follow).
func (e *liveEnv) accountPositions(t *testing.T, accountID string, streamType string) []int64 {
	t.Helper()
	evs, err := e.store.ReadRange(context.Background(), eventstore.Cursor{}, eventstore.Cursor{TxID: 1 << 62, Position: 1 << 62}, accountID, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, ev := range evs {
		if ev.StreamType == streamType {
			out = append(out, ev.Position)
		}
	}
	return out
}

func TestLiveOrderingAndReadYourWrites(t *testing.T) {
	e := newLiveEnv(t, liveOptions{})
	u := e.register(t)
	c := e.dial(t, 0, "/api/v1/contacts/ws", url.Values{"token": {u.token}})
	ack := c.subscribe(map[string]any{"channel": "contacts"})
	if ack["subscription"] != "contacts" {
		t.Fatalf("ack %v", ack)
	}

	// Four writers at once: creates, then an update of each.
	const writers, each = 4, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := e.createContact(t, u, map[string]any{"first_name": fmt.Sprintf("W%d-%d", w, i)})
				e.updateContact(t, u, id, map[string]any{"title": "Engineer"})
			}
		}()
	}
	wg.Wait()

	want := e.accountPositions(t, u.accountID, "contact")
	if len(want) != writers*each*2 {
		t.Fatalf("%d events recorded", len(want))
	}
	versions := map[string]int64{}
	var got []int64
	for len(got) < len(want) {
		m := c.next(10 * time.Second)
		if m["channel"] != "contacts" {
			t.Fatalf("message on %v: %v", m["channel"], m)
		}
		id, _ := m["id"].(string)
		v := int64(m["version"].(float64))
		if v != versions[id]+1 {
			t.Fatalf("contact %s: version %d after %d", id, v, versions[id])
		}
		versions[id] = v
		// Read-your-writes: the read model already shows this version.
		doc, found, err := e.svc.GetContact(context.Background(), u.accountID, id)
		if err != nil || !found || doc.Version < v {
			t.Fatalf("push of %s v%d but the read model has v%d (found %v, %v)", id, v, doc.Version, found, err)
		}
		if m["event"] != "contact.created" && m["event"] != "contact.updated" || m["occurred_at"] == nil || m["data"] == nil {
			t.Fatalf("message %v", m)
		}
		got = append(got, pos(m))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pushed positions\n%v\nwant (tail order)\n%v", got, want)
	}
	c.expectNothing(300 * time.Millisecond) // no duplicates
}

func TestLiveResumeAfterForcedDisconnect(t *testing.T) {
	e := newLiveEnv(t, liveOptions{})
	u := e.register(t)
	c := e.dial(t, 0, "/api/v1/contacts/ws", url.Values{"token": {u.token}})
	c.subscribe(map[string]any{"channel": "contacts"})
	var ids []string
	for i := range 3 {
		ids = append(ids, e.createContact(t, u, map[string]any{"first_name": fmt.Sprint("before", i)}))
	}
	var last int64
	for range 3 {
		last = pos(c.next(5 * time.Second))
	}
	// The network drops: no close frame.
	_ = c.conn.UnderlyingConn().Close()

	for i := range 5 {
		ids = append(ids, e.createContact(t, u, map[string]any{"first_name": fmt.Sprint("during", i)}))
	}
	e.updateContact(t, u, ids[0], map[string]any{"title": "Missed"})

	for _, path := range []string{"/api/v1/contacts/ws", "/api/v1/stream"} {
		t.Run(path, func(t *testing.T) {
			missed := e.accountPositions(t, u.accountID, "contact")[3:]
			waitDelivered(t, e.hubs[0], missed[len(missed)-1])
			var c2 *liveClient
			if path == "/api/v1/stream" {
				c2 = e.dial(t, 0, path, url.Values{"token": {u.token}, "channels": {"contacts"}, "from_position": {fmt.Sprint(last)}})
				if m := c2.next(5 * time.Second); m["event"] != "subscribed" || pos(m) != last {
					t.Fatalf("first message %v", m)
				}
			} else {
				c2 = e.dial(t, 0, path, url.Values{"token": {u.token}})
				if ack := c2.subscribe(map[string]any{"channel": "contacts", "from_position": last}); pos(ack) != last {
					t.Fatalf("ack %v", ack)
				}
			}
			var got []int64
			for range missed {
				got = append(got, pos(c2.next(5*time.Second)))
			}
			if fmt.Sprint(got) != fmt.Sprint(missed) {
				t.Fatalf("replayed %v, want %v", got, missed)
			}
			c2.expectNothing(200 * time.Millisecond)
			// Then live, once.
			e.updateContact(t, u, ids[1], map[string]any{"title": "Live " + path})
			m := c2.next(5 * time.Second)
			if m["event"] != "contact.updated" || m["id"] != ids[1] || pos(m) <= missed[len(missed)-1] {
				t.Fatalf("live message %v", m)
			}
			c2.expectNothing(200 * time.Millisecond)
			_ = c2.conn.Close()
		})
	}
}

// waitDelivered waits until the hub has delivered up to position.
func waitDelivered(t *testing.T, hub *realtime.Hub, position int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for hub.Position() < position {
		if time.Now().After(deadline) {
			t.Fatalf("hub at %d, want %d", hub.Position(), position)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLiveSlowConsumerIsCutOffAndResumes(t *testing.T) {
	e := newLiveEnv(t, liveOptions{queueLimit: 16, smallSend: true})
	u := e.register(t)
	// The client's receive buffer is small too, and it does not read.
	dialer := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{Control: nil}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}
	wsURL := "ws" + strings.TrimPrefix(e.srvs[0].URL, "http") + "/api/v1/stream?" +
		url.Values{"token": {u.token}, "channels": {"contacts"}}.Encode()
	conn, _, err := dialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newLiveClient(t, conn)
	if m := c.next(5 * time.Second); m["event"] != "subscribed" {
		t.Fatalf("first message %v", m)
	}
	big := strings.Repeat("x", 900)
	const n = 300
	for i := range n {
		e.createContact(t, u, map[string]any{"first_name": fmt.Sprint("slow", i), "custom_attributes": map[string]any{"pad": big}})
	}
	all := e.accountPositions(t, u.accountID, "contact")
	waitDelivered(t, e.hubs[0], all[len(all)-1])

	// Now read: some pushes, then resync_required naming the last one, then 4002.
	var got []int64
	var resync map[string]any
	for resync == nil {
		m := c.next(5 * time.Second)
		if m["event"] == realtime.EventResyncRequired {
			resync = m
			break
		}
		got = append(got, pos(m))
	}
	if len(got) >= n {
		t.Fatalf("the consumer was never cut off (%d pushes)", len(got))
	}
	want := all[:len(got)]
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("before the cut-off: %v, want %v", got, want)
	}
	resumeAt := pos(resync)
	if len(got) > 0 && resumeAt != got[len(got)-1] {
		t.Fatalf("resync at %d, last push %d", resumeAt, got[len(got)-1])
	}
	_, err = c.read(5 * time.Second)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != readws.WSCloseResyncRequired {
		t.Fatalf("after resync_required: %v, want close %d", err, readws.WSCloseResyncRequired)
	}

	// Resuming from there gets the rest, exactly once.
	q := url.Values{"token": {u.token}, "channels": {"contacts"}, "from_position": {fmt.Sprint(resumeAt)}}
	c2 := e.dial(t, 0, "/api/v1/stream", q)
	c2.next(5 * time.Second) // subscribed
	for _, p := range all[len(got):] {
		m := c2.next(5 * time.Second)
		if pos(m) != p {
			t.Fatalf("resumed stream: %v, want position %d", m, p)
		}
	}
	c2.expectNothing(200 * time.Millisecond)
}

func TestLiveCrossAccountDenied(t *testing.T) {
	e := newLiveEnv(t, liveOptions{})
	a, b := e.register(t), e.register(t)
	aContact := e.createContact(t, a, map[string]any{"first_name": "Alice"})
	g, err := e.cmds.CreateGroup(context.Background(), commands.CreateGroup{AccountID: a.accountID, ActorID: a.userID, Fields: map[string]any{"name": "A's"}})
	if err != nil {
		t.Fatal(err)
	}
	cb := e.dial(t, 0, "/api/v1/contacts/ws", url.Values{"token": {b.token}})
	for i, ch := range []string{"contact:" + aContact, "group:" + g.ID, "import:" + aContact, "contact:" + eventstore.NewID()} {
		cb.send("subscribe", fmt.Sprint(i), map[string]any{"channel": ch})
		m := cb.next(5 * time.Second)
		errObj, _ := m["error"].(map[string]any)
		if m["status"] != "error" || errObj["code"] != "not_found" {
			t.Fatalf("B subscribing to %s: %v", ch, m)
		}
	}
	// The listen-only stream refuses before the upgrade.
	_, resp, err := e.tryDial(0, "/api/v1/stream", url.Values{"token": {b.token}, "channels": {"contact:" + aContact}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("stream on A's contact with B's token: %v %v", err, resp)
	}
	// B's account-wide channel hears only B.
	cb.subscribe(map[string]any{"channels": []any{"contacts", "groups"}})
	e.createContact(t, a, map[string]any{"first_name": "Alice 2"})
	mine := e.createContact(t, b, map[string]any{"first_name": "Bob"})
	if m := cb.next(5 * time.Second); m["id"] != mine {
		t.Fatalf("B heard %v", m)
	}
	cb.expectNothing(300 * time.Millisecond)
	// A's own entity channel works.
	ca := e.dial(t, 0, "/api/v1/contacts/ws", url.Values{"token": {a.token}})
	ca.subscribe(map[string]any{"channel": "contact:" + strings.ToUpper(aContact)})
	e.updateContact(t, a, aContact, map[string]any{"title": "CEO"})
	if m := ca.next(5 * time.Second); m["channel"] != "contact:"+aContact || m["event"] != "contact.updated" {
		t.Fatalf("A heard %v", m)
	}
}

func TestLiveTwoInstancesBothDeliver(t *testing.T) {
	e := newLiveEnv(t, liveOptions{instances: 2, noPoll: true}) // PostgreSQL NOTIFY alone reaches both
	u := e.register(t)
	c0 := e.dial(t, 0, "/api/v1/contacts/ws", url.Values{"token": {u.token}})
	c0.subscribe(map[string]any{"channel": "contacts"})
	c1 := e.dial(t, 1, "/api/v1/stream", url.Values{"token": {u.token}, "channels": {"contacts"}})
	c1.next(5 * time.Second) // subscribed
	id := e.createContact(t, u, map[string]any{"first_name": "Both"})
	for i, c := range []*liveClient{c0, c1} {
		if m := c.next(5 * time.Second); m["id"] != id || m["event"] != "contact.created" {
			t.Fatalf("instance %d: %v", i, m)
		}
	}
	// A client that heard instance 0 resumes on instance 1 without a gap or a repeat.
	second := e.createContact(t, u, map[string]any{"first_name": "Second"})
	m := c0.next(5 * time.Second)
	if m["id"] != second {
		t.Fatalf("instance 0: %v", m)
	}
	_ = c0.conn.Close()
	third := e.createContact(t, u, map[string]any{"first_name": "Third"})
	c2 := e.dial(t, 1, "/api/v1/contacts/ws", url.Values{"token": {u.token}})
	c2.subscribe(map[string]any{"channel": "contacts", "from_position": pos(m)})
	if m := c2.next(5 * time.Second); m["id"] != third {
		t.Fatalf("resumed on instance 1: %v", m)
	}
	c2.expectNothing(200 * time.Millisecond)
}

func TestLivePollsWhenAnnouncementsAreMissing(t *testing.T) {
	e := newLiveEnv(t, liveOptions{noNotify: true})
	u := e.register(t)
	c := e.dial(t, 0, "/api/v1/contacts/ws", url.Values{"token": {u.token}})
	c.subscribe(map[string]any{"channel": "contacts"})
	id := e.createContact(t, u, map[string]any{"first_name": "Polled"})
	if m := c.next(5 * time.Second); m["id"] != id {
		t.Fatalf("%v", m)
	}
}

func TestLiveFilterUsesTheQueryModel(t *testing.T) {
	e := newLiveEnv(t, liveOptions{})
	u := e.register(t)
	c := e.dial(t, 0, "/api/v1/contacts/ws", url.Values{"token": {u.token}})
	c.subscribe(map[string]any{"channel": "contacts", "filter": map[string]any{"city": "austin"}})
	same := e.dial(t, 0, "/api/v1/contacts/ws", url.Values{"token": {u.token}}) // shares the evaluation
	same.subscribe(map[string]any{"channel": "contacts", "filter": map[string]any{"city": "austin"}})
	other := e.dial(t, 0, "/api/v1/stream", url.Values{"token": {u.token}, "channels": {"contacts"}, "filter": {`{"city":"boston"}`}})
	other.next(5 * time.Second) // subscribed
	// A filter is evaluated on the read model when the push goes out: each
	// step waits for the previous one to be delivered.
	step := func(f func()) {
		f()
		all := e.accountPositions(t, u.accountID, "contact")
		waitDelivered(t, e.hubs[0], all[len(all)-1])
	}
	var austin, boston string
	step(func() { austin = e.createContact(t, u, map[string]any{"first_name": "In", "city": "Austin"}) })
	step(func() { boston = e.createContact(t, u, map[string]any{"first_name": "Out", "city": "Boston"}) })
	step(func() { e.updateContact(t, u, boston, map[string]any{"title": "Still out"}) })
	step(func() { e.updateContact(t, u, boston, map[string]any{"city": "Austin"}) })
	step(func() {
		if _, err := e.cmds.DeleteContact(context.Background(), commands.ContactRef{AccountID: u.accountID, ID: austin}); err != nil {
			t.Fatal(err)
		}
	})
	want := []string{"contact.created " + austin, "contact.updated " + boston, "contact.deleted " + austin}
	for _, cl := range []*liveClient{c, same} {
		for _, w := range want {
			m := cl.next(5 * time.Second)
			if got := fmt.Sprint(m["event"], " ", m["id"]); got != w {
				t.Fatalf("got %s, want %s", got, w)
			}
		}
	}
	// Boston: the creation and the update while in Boston, then (deleted is always told) the Austin deletion.
	for _, w := range []string{"contact.created " + boston, "contact.updated " + boston, "contact.deleted " + austin} {
		m := other.next(5 * time.Second)
		if got := fmt.Sprint(m["event"], " ", m["id"]); got != w {
			t.Fatalf("boston filter: got %s, want %s", got, w)
		}
	}
	c.expectNothing(300 * time.Millisecond)
	other.expectNothing(100 * time.Millisecond)
}

func TestLiveTokenExpiryCloses(t *testing.T) {
	e := newLiveEnv(t, liveOptions{tokenTTL: 2 * time.Second})
	for _, path := range []string{"/api/v1/contacts/ws", "/api/v1/stream"} {
		u := e.register(t)
		c := e.dial(t, 0, path, url.Values{"token": {u.token}})
		var err error
		for err == nil {
			_, err = c.read(5 * time.Second)
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != readws.WSCloseTokenExpired || ce.Text != "token_expired" {
			t.Fatalf("%s: %v, want close %d token_expired", path, err, readws.WSCloseTokenExpired)
		}
	}
}

func TestLiveSubscribeValidation(t *testing.T) {
	e := newLiveEnv(t, liveOptions{})
	u := e.register(t)
	c := e.dial(t, 0, "/api/v1/contacts/ws", url.Values{"token": {u.token}})
	cases := []struct {
		data map[string]any
		code string
	}{
		{map[string]any{}, "missing_field"},
		{map[string]any{"channel": "everything"}, "validation_error"},
		{map[string]any{"channel": "contact:not-a-uuid"}, "validation_error"},
		{map[string]any{"channel": "contacts", "colour": "red"}, "validation_error"},
		{map[string]any{"channel": "contacts", "from_position": -1}, "validation_error"},
		{map[string]any{"channel": "contacts", "from_position": "7"}, "validation_error"},
		{map[string]any{"channel": "contacts", "from_position": 999999}, realtime.CodeInvalidPosition},
		{map[string]any{"channel": "groups", "filter": map[string]any{"city": "x"}}, "validation_error"},
		{map[string]any{"channel": "contacts", "filter": map[string]any{"no_such_filter": "x"}}, "validation_error"},
	}
	for i, tc := range cases {
		c.send("subscribe", fmt.Sprint(i), tc.data)
		m := c.next(5 * time.Second)
		errObj, _ := m["error"].(map[string]any)
		if m["status"] != "error" || errObj["code"] != tc.code || m["request_id"] != fmt.Sprint(i) {
			t.Errorf("subscribe %v: %v, want %s", tc.data, m, tc.code)
		}
	}
	c.subscribe(map[string]any{"channel": "labels"})
	c.send("subscribe", "dup", map[string]any{"channel": "labels"})
	if m := c.next(5 * time.Second); m["error"].(map[string]any)["code"] != realtime.CodeAlreadySubscribe {
		t.Fatalf("%v", m)
	}
	c.send("unsubscribe", "u1", map[string]any{"channel": "labels"})
	if m := c.next(5 * time.Second); m["status"] != "success" {
		t.Fatalf("%v", m)
	}
	c.send("unsubscribe", "u2", map[string]any{"channel": "labels"})
	if m := c.next(5 * time.Second); m["error"].(map[string]any)["code"] != realtime.CodeNotSubscribed {
		t.Fatalf("%v", m)
	}
	// Bad stream parameters are refused before the upgrade.
	for _, q := range []url.Values{
		{"token": {u.token}, "channels": {"nope"}},
		{"token": {u.token}, "from_position": {"x"}},
		{"token": {u.token}, "filter": {"{"}},
	} {
		if _, resp, err := e.tryDial(0, "/api/v1/stream", q); err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("stream %v: %v %v", q, err, resp)
		}
	}
	if _, resp, err := e.tryDial(0, "/api/v1/stream", url.Values{}); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("stream without a token: %v %v", err, resp)
	}
}

func TestLiveImportChannels(t *testing.T) {
	e := newLiveEnv(t, liveOptions{})
	a, b := e.register(t), e.register(t)
	job := eventstore.NewID()
	ca := e.dial(t, 0, "/api/v1/contacts/ws", url.Values{"token": {a.token}})
	cImports := e.dial(t, 0, "/api/v1/stream", url.Values{"token": {a.token}, "channels": {"imports"}})
	cImports.next(5 * time.Second) // subscribed
	// Import job events as the import feature records them (stream id = job id).
	appendJob := func(version int64, typ, data string) {
		t.Helper()
		_, err := e.store.Append(context.Background(), eventstore.AppendRequest{Streams: []eventstore.StreamAppend{{
			AccountID: a.accountID, StreamType: "import_job", StreamID: job, ExpectedVersion: version,
			Events: []eventstore.NewEvent{{Type: typ, Data: []byte(data)}}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	appendJob(0, "import.created", `{"file_name":"people.csv","total_rows":2}`)
	waitDelivered(t, e.hubs[0], e.accountPositions(t, a.accountID, "import_job")[0])
	ca.subscribe(map[string]any{"channel": "import:" + job})
	appendJob(1, "import.progress", `{"processed":1,"total_rows":2}`)
	appendJob(2, "import.completed", `{"success_count":2}`)
	for _, want := range []string{"import.progress", "import.completed"} {
		if m := ca.next(5 * time.Second); m["event"] != want || m["channel"] != "import:"+job || m["id"] != job {
			t.Fatalf("import:%s: %v, want %s", job, m, want)
		}
	}
	for _, want := range []string{"import.created", "import.progress", "import.completed"} {
		if m := cImports.next(5 * time.Second); m["event"] != want || m["channel"] != "imports" {
			t.Fatalf("imports: %v, want %s", m, want)
		}
	}
	cb := e.dial(t, 0, "/api/v1/contacts/ws", url.Values{"token": {b.token}})
	cb.send("subscribe", "x", map[string]any{"channel": "import:" + job})
	if m := cb.next(5 * time.Second); m["error"].(map[string]any)["code"] != "not_found" {
		t.Fatalf("B on A's import job: %v", m)
	}
}

func TestLiveStreamRefusesMessages(t *testing.T) {
	e := newLiveEnv(t, liveOptions{})
	u := e.register(t)
	c := e.dial(t, 0, "/api/v1/stream", url.Values{"token": {u.token}})
	c.next(5 * time.Second) // subscribed
	c.send("list_contacts", "r1", nil)
	_, err := c.read(5 * time.Second)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseUnsupportedData {
		t.Fatalf("a message on the stream: %v, want close 1003", err)
	}
}

// TestLiveAPIKeysAndRevocation: live updates with an API key (no expiry, no
// user) as with a session; a key without read_contacts cannot listen; a key
// that expires closes its stream with 4001; a revoked key and a signed-out
// session are found out by the recheck before pushes and closed with 1008.
func TestLiveAPIKeysAndRevocation(t *testing.T) {
	e := newLiveEnv(t, liveOptions{recheck: time.Millisecond})
	ctx := context.Background()
	u := e.register(t)
	admin, err := e.auth.Authenticate(ctx, u.token)
	if err != nil {
		t.Fatal(err)
	}
	newKey := func(scopes []string, expires *time.Time) accounts.NewAPIKey {
		t.Helper()
		k, err := e.auth.CreateAPIKey(ctx, admin, accounts.CreateAPIKeyInput{Name: "k", Scopes: scopes, ExpiresAt: expires})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	readKey := newKey([]string{"read_contacts"}, nil)
	writeOnly := newKey([]string{"write_contacts"}, nil)

	// A write-only key may not listen; a read key may, both ways of naming the account.
	for _, path := range []string{"/api/v1/stream", "/api/v1/accounts/" + u.accountID + "/stream"} {
		if _, resp, err := e.tryDial(0, path, url.Values{"token": {writeOnly.Key}}); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%s: write-only key: %v %v", path, resp, err)
		}
	}
	stream := e.dial(t, 0, "/api/v1/accounts/"+u.accountID+"/stream", url.Values{"token": {readKey.Key}, "channels": {"contacts"}})
	if m := stream.next(5 * time.Second); m["event"] != "subscribed" {
		t.Fatalf("key stream: %v", m)
	}
	ws := e.dial(t, 0, "/api/v1/contacts/ws", url.Values{"token": {readKey.Key}})
	if m := ws.subscribe(map[string]any{"channel": "contacts"}); m["subscription"] != "contacts" {
		t.Fatalf("key subscribe: %v", m)
	}
	session := e.dial(t, 0, "/api/v1/stream", url.Values{"token": {u.token}, "channels": {"contacts"}})
	if m := session.next(5 * time.Second); m["event"] != "subscribed" {
		t.Fatalf("session stream: %v", m)
	}
	id := e.createContact(t, u, map[string]any{"first_name": "Ada"})
	for name, c := range map[string]*liveClient{"key stream": stream, "key subscription": ws, "session stream": session} {
		if m := c.next(5 * time.Second); m["event"] != "contact.created" || m["id"] != id {
			t.Fatalf("%s: %v", name, m)
		}
	}

	// Revoked key, signed-out session: the next push is not sent, the connection closes with 1008.
	if _, err := e.auth.RevokeAPIKey(ctx, admin, readKey.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.auth.SignOut(ctx, admin, false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	// The push of this contact starts the recheck (off the writer): it may
	// still go out; nothing after it does, and the connection closes.
	grace := e.createContact(t, u, map[string]any{"first_name": "Grace"})
	for name, c := range map[string]*liveClient{"key stream": stream, "key subscription": ws, "session stream": session} {
		var err error
		var m map[string]any
		for n := 0; err == nil; n++ {
			if m, err = c.read(5 * time.Second); err == nil && (n > 0 || m["id"] != grace) {
				t.Fatalf("%s: pushed after revocation: %v", name, m)
			}
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
			t.Fatalf("%s: %v, want close 1008", name, err)
		}
	}

	// A key that expires closes its stream with 4001, as an access token does.
	u2 := e.register(t)
	admin2, err := e.auth.Authenticate(ctx, u2.token)
	if err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(2 * time.Second)
	k2, err := e.auth.CreateAPIKey(ctx, admin2, accounts.CreateAPIKeyInput{Name: "soon", Scopes: []string{"read_contacts"}, ExpiresAt: &soon})
	if err != nil {
		t.Fatal(err)
	}
	c := e.dial(t, 0, "/api/v1/stream", url.Values{"token": {k2.Key}})
	for err == nil {
		_, err = c.read(10 * time.Second)
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != readws.WSCloseTokenExpired {
		t.Fatalf("expiring key: %v, want close %d", err, readws.WSCloseTokenExpired)
	}
}

// TestLiveRechecksSharedByPrincipal: the connections of one principal
// (here five streams of one token) are rechecked with one database round
// trip per interval, not one each, and all still get their pushes.
func TestLiveRechecksSharedByPrincipal(t *testing.T) {
	var rechecks atomic.Int64
	every := 2 * time.Second
	e := newLiveEnv(t, liveOptions{recheck: every, rechecks: &rechecks})
	u := e.register(t)
	var streams []*liveClient
	for range 5 {
		c := e.dial(t, 0, "/api/v1/stream", url.Values{"token": {u.token}, "channels": {"contacts"}})
		if m := c.next(5 * time.Second); m["event"] != "subscribed" {
			t.Fatalf("stream: %v", m)
		}
		streams = append(streams, c)
	}
	time.Sleep(every + 100*time.Millisecond) // every connection's check is now stale
	before := rechecks.Load()
	id := e.createContact(t, u, map[string]any{"first_name": "Ada"})
	for i, c := range streams {
		if m := c.next(5 * time.Second); m["event"] != "contact.created" || m["id"] != id {
			t.Fatalf("stream %d: %v", i, m)
		}
	}
	time.Sleep(200 * time.Millisecond) // the rechecks run off the writers
	if n := rechecks.Load() - before; n != 1 {
		t.Fatalf("%d rechecks for five connections of one principal, want 1", n)
	}
}
