package readapi_test

import (
	"context"
	"encoding/base64"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/commands"
	"contacts/commands/imports"
	"contacts/internal/accounts"
	"contacts/internal/auth"
	"contacts/readapi"
)

// A principal that may not upload (here a read-only API key) gets the
// 1 MiB message limit: its 60 MiB upload_contacts_csv messages are refused
// at the frame header (1009), unread, instead of being buffered whole
// (the issue: eight of them took the server from 261 MiB to 1.3-1.7 GiB
// before each was answered admin_required). The server's allocations over
// the eight attempts stay far below one such message.
func TestWSReadOnlyKeyLargeMessageNotBuffered(t *testing.T) {
	e := newEnv(t, func(o *envOptions) {
		o.maxUploadBytes = 64 << 20 // the read limit of an administrator: ≈ 86 MiB
		o.newImports = func(pool *pgxpool.Pool, cmds *commands.Handlers) readapi.Imports {
			return imports.New(pool, cmds, imports.Config{Dir: t.TempDir()}, nil)
		}
	})
	ctx := context.Background()
	u := e.register(t)
	admin, err := e.auth.Authenticate(ctx, u.token)
	if err != nil {
		t.Fatal(err)
	}
	key, err := e.auth.CreateAPIKey(ctx, admin, accounts.CreateAPIKeyInput{Name: "ro", Scopes: []string{"read_contacts"}})
	if err != nil {
		t.Fatal(err)
	}
	chunk := []byte(strings.Repeat("A", 1<<20))
	const messages, size = 8, 60 // MiB each
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rssBefore := rssMiB()
	for i := 0; i < messages; i++ {
		conn, res, err := websocket.DefaultDialer.Dial(e.wsURL(key.Key), nil)
		if err != nil {
			t.Fatalf("dial: %v (%v)", err, res)
		}
		w, err := conn.NextWriter(websocket.TextMessage)
		if err != nil {
			t.Fatal(err)
		}
		sent := 0
		_, err = w.Write([]byte(`{"action":"upload_contacts_csv","request_id":"big","data":{"file_name":"a.csv","file_data":"`))
		for ; err == nil && sent < size; sent++ {
			_, err = w.Write(chunk)
		}
		if err == nil {
			_, _ = w.Write([]byte(`"}}`))
			err = w.Close()
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, rerr := conn.ReadMessage()
		conn.Close()
		if err == nil && rerr == nil {
			t.Fatalf("message %d: the server read all %d MiB and answered %s", i, size, msg)
		}
		if rerr != nil && !websocket.IsCloseError(rerr, websocket.CloseMessageTooBig) && err == nil {
			t.Fatalf("message %d: want close 1009, got %v", i, rerr)
		}
	}
	runtime.ReadMemStats(&after)
	alloc := (after.TotalAlloc - before.TotalAlloc) >> 20
	t.Logf("%d × %d MiB messages from a read-only key: %d MiB allocated in the process (server and client); RSS %d → %d MiB",
		messages, size, alloc, rssBefore, rssMiB())
	if alloc > 64 {
		t.Fatalf("%d MiB allocated: the server buffered the messages", alloc)
	}
	// An administrator still uploads a file larger than 1 MiB.
	c := e.dial(t, u)
	file := "first_name,email\n" + strings.Repeat("Ann,ann@x.test\n", 100_000)
	c.ok("upload_contacts_csv", map[string]any{"file_name": "big.csv", "file_data": base64.StdEncoding.EncodeToString([]byte(file))})
}

// rssMiB is the process's resident set (Linux; 0 elsewhere), for the log.
func rssMiB() int64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize()) >> 20
}

// All connections together hold at most MaxBufferedBytes in messages
// beyond their first 64 KiB: a message that would pass it is answered
// rate_limited ("server busy"), skipped unread, and gives its budget back;
// smaller messages and later ones go on.
func TestWSBufferBudget(t *testing.T) {
	e := newEnv(t, func(o *envOptions) {
		o.maxUploadBytes = 8 << 20
		o.maxBuffered = 1 << 20
		o.newImports = func(pool *pgxpool.Pool, cmds *commands.Handlers) readapi.Imports {
			return imports.New(pool, cmds, imports.Config{Dir: t.TempDir()}, nil)
		}
	})
	u := e.register(t)
	c := e.dial(t, u)
	upload := func(rows int) string {
		file := "first_name,email\n" + strings.Repeat("Ann,ann@x.test\n", rows)
		return `{"action":"upload_contacts_csv","request_id":"up","data":{"file_name":"a.csv","file_data":"` +
			base64.StdEncoding.EncodeToString([]byte(file)) + `"}}`
	}
	for round := 0; round < 3; round++ {
		c.sendRaw(upload(200_000)) // ≈ 4 MiB: over the budget
		if a := c.recv(); a.code() != "rate_limited" || !strings.Contains(a.Error["message"].(string), "busy") {
			t.Fatalf("round %d: over-budget message: %s", round, a)
		}
		c.sendRaw(upload(30_000)) // ≈ 600 KiB: within it, every round (the budget came back)
		if a := c.recv(); a.Status != "success" {
			t.Fatalf("round %d: within-budget upload: %s", round, a)
		}
	}
	c.ok("count_contacts", map[string]any{})
}

// Every message spends the principal's rate limit: unknown actions and
// messages refused for their text too (unknown actions used to be free).
func TestWSUnknownActionsAreRateLimited(t *testing.T) {
	var spent atomic.Int64
	e := newEnv(t, func(o *envOptions) {
		o.limit = func(auth.Principal) (time.Duration, bool) {
			return time.Second, spent.Add(1) <= 3
		}
	})
	c := e.dial(t, e.register(t))
	for i, want := range []string{"unknown_action", "unknown_action", "unknown_action", "rate_limited", "rate_limited"} {
		msg := `{"action":"no_such_action","request_id":"x","data":{}}`
		if i == 4 { // refused for its text: still counted
			msg = `{"action":"count_contacts","request_id":"x","data":{"first_name":"\u0000"}}`
		}
		c.sendRaw(msg)
		if a := c.recv(); a.code() != want {
			t.Fatalf("message %d: want %s, got %s", i, want, a)
		}
	}
}
