package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"

	"contacts/commands"
	"contacts/commands/imports"
	"contacts/eventstore"
	"contacts/internal/accounts"
	"contacts/internal/migrations"
	"contacts/internal/pgtest"
	"contacts/internal/phonereview"
	"contacts/internal/web"
	"contacts/projections"
	"contacts/projections/pgstore"
	"contacts/readapi/pgquery"
	"contacts/readapi/realtime"
	"contacts/readapi/ws"
)

const accessWriteKey = "access-test-write-key"

// fullEnv is the whole API — write routes, read routes, the WebSocket —
// over one fresh database, with the given options applied to its Deps.
type fullEnv struct {
	*env
	store   *eventstore.Store
	handler http.Handler
	secret  []byte
	imports *imports.Service // its worker does not run: RunOnce runs the queued jobs
}

func newFullEnv(t *testing.T, opts ...func(*web.Deps)) *fullEnv {
	t.Helper()
	pool := pgtest.New(t)
	if _, err := migrations.Apply(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	store := eventstore.New(pool)
	secret := []byte("test-secret-test-secret-test-secret!")
	authSvc := accounts.New(pool, secret, time.Hour)
	// As serve wires them: national phone numbers read in the account's default region.
	cmds := commands.New(store, commands.WithPhoneRegions(authSvc))
	imp := imports.New(pool, cmds, imports.Config{Dir: t.TempDir(), MaxFileBytes: 256 << 10}, nil)
	hub := realtime.NewHub(realtime.Options{Source: store, Announcements: store,
		Reached: func(ctx context.Context) (eventstore.Cursor, error) { return store.Reached(ctx, projections.Names) }})
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		_ = hub.Run(hubCtx)
	}()
	t.Cleanup(func() { stopHub(); <-hubDone })
	d := web.Deps{
		Commands:     cmds,
		Auth:         authSvc,
		PhoneReview:  phonereview.New(pool, authSvc),
		Store:        store,
		DB:           pool,
		Progress:     store,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		MaxBodyBytes: 64 << 10,
		Read: &ws.Deps{Service: pgquery.NewPG(pool), Lists: pgquery.NewPGLists(pool), WriteKey: accessWriteKey,
			Imports: imp, MaxUploadBytes: 256 << 10, Realtime: hub},
		Imports:          imp,
		ImportMaxBytes:   256 << 10,
		BulkMaxBodyBytes: 1 << 20,
		Export:           pgquery.NewPG(pool),
	}
	for _, o := range opts {
		o(&d)
	}
	h := web.NewRouter(d)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fullEnv{env: &env{t: t, url: srv.URL, pool: pool, auth: authSvc}, store: store, handler: h, secret: secret, imports: imp}
}

// project runs every projection over all events so far.
func (e *fullEnv) project(t *testing.T) {
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
			if h.Name() == name {
				if err := h.Handle(ctx, evs); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func (e *fullEnv) routes() gin.RoutesInfo { return e.handler.(*gin.Engine).Routes() }

// ws is one WebSocket connection.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	n    int
}

// dialWS connects to path with the token in ?token=; headers are sent with
// the handshake. It returns the connection, or the refused handshake's
// response.
func (e *fullEnv) dialWS(t *testing.T, path, token string, headers ...string) (*wsClient, response) {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	u := "ws" + strings.TrimPrefix(e.url, "http") + path + sep + "token=" + url.QueryEscape(token)
	h := http.Header{}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	conn, res, err := websocket.DefaultDialer.Dial(u, h)
	if err != nil {
		if res == nil {
			t.Fatalf("dial %s: %v", path, err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return nil, response{t: t, status: res.StatusCode, header: res.Header, body: raw}
	}
	t.Cleanup(func() { conn.Close() })
	return &wsClient{t: t, conn: conn}, response{t: t, status: res.StatusCode}
}

// call sends one request and returns the raw answer and its decoded form.
func (w *wsClient) call(action string, data any) (raw []byte, answer map[string]any) {
	w.t.Helper()
	w.n++
	if err := w.conn.WriteJSON(map[string]any{"action": action, "request_id": w.n, "data": data}); err != nil {
		w.t.Fatal(err)
	}
	_ = w.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := w.conn.ReadJSON(&answer); err != nil {
		w.t.Fatalf("%s: %v", action, err)
	}
	raw, _ = jsonMarshal(answer)
	return raw, answer
}

func wsErrCode(answer map[string]any) string {
	e, _ := answer["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
