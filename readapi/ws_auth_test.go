package readapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"

	"contacts/readapi/pgquery"
	"contacts/readapi/ws"
)

// TestWebSocketAuthenticatesItself: mounted without internal/web's
// middleware, the handler authenticates the upgrade from ?token= or
// Authorization itself (access tokens and API keys alike) and refuses a
// missing or bad token with 401.
func TestWebSocketAuthenticatesItself(t *testing.T) {
	e := newEnv(t)
	u := e.register(t)
	r := gin.New()
	r.GET("/ws", ws.WebSocketHandler(ws.Deps{Service: pgquery.NewPG(e.pool), Auth: e.auth}))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	base := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"

	conn, _, err := websocket.DefaultDialer.Dial(base+"?token="+u.token, nil)
	if err != nil {
		t.Fatalf("dial with ?token=: %v", err)
	}
	c := &wsClient{t: t, conn: conn}
	if got := c.ok("count_contacts", map[string]any{}); got["count"] == nil {
		t.Fatalf("count: %v", got)
	}
	conn.Close()
	conn, _, err = websocket.DefaultDialer.Dial(base, http.Header{"Authorization": {"Bearer " + u.token}})
	if err != nil {
		t.Fatalf("dial with Authorization: %v", err)
	}
	conn.Close()
	for _, tok := range []string{"", "garbage", e.expiredToken(t, u), "ck_" + strings.Repeat("x", 43)} {
		_, res, err := websocket.DefaultDialer.Dial(base+"?token="+tok, nil)
		if err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("token %.10q: %v %v", tok, err, res)
		}
	}
}
