// Package ws is the contacts WebSocket protocol (one endpoint, 22 actions,
// implemented to the letter of the reference document): the connection
// (ws.go), the action table (actions.go; the 13 field actions come from
// readapi's one table), the protocol's codes and messages (protocol.go),
// live subscriptions (subscribe.go, live_filter.go) and the listen-only
// stream (stream.go). Queries go through readapi's query model; the
// end-to-end tests (the real router, REST and WebSocket together) are in
// package readapi's directory.
package ws

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"
	"golang.org/x/sync/semaphore"

	"contacts/commands"
	"contacts/internal/apierr"
	"contacts/internal/auth"
	"contacts/readapi"
	"contacts/readapi/realtime"
)

// Deps is what the WebSocket endpoints need (internal/web passes the
// REST reads their part: readapi/rest.Deps).
type Deps struct {
	Service  readapi.Service    // the query model, scoped per account
	Commands *commands.Handlers // create_contact goes through the write side
	Auth     interface {
		// Authenticate tells who a bearer token (access token or API key)
		// acts as.
		Authenticate(ctx context.Context, token string) (auth.Principal, error)
	}
	// Limit, when set, spends one token of the principal's rate limit per
	// WebSocket request; refused, the request is answered rate_limited.
	Limit func(p auth.Principal) (retryAfter time.Duration, ok bool)
	// Recheck, when set, tells whether a connection's principal may still
	// act (token not expired, session or key not revoked, still a member)
	// and returns its current role. Connections call it before an action at
	// most every RecheckEvery (default 5 s); a principal that may no longer
	// act gets an unauthorized answer and the connection is closed (1008).
	Recheck      func(ctx context.Context, p auth.Principal) (auth.Principal, error)
	RecheckEvery time.Duration
	WriteKey     string          // CONTACTS_WRITE_KEY; empty: create_contact answers write_key_not_configured
	Imports      readapi.Imports // CSV import jobs; nil: the import actions answer "not available yet"
	// MaxUploadBytes is the largest file upload_contacts_csv takes (decoded;
	// at most wsMaxUpload): its message may be that large, base64-encoded.
	MaxUploadBytes int64
	// MaxBufferedBytes bounds the memory all WebSocket connections together
	// may hold in messages being read or handled, beyond the first
	// wsUnbudgeted bytes of each (default: max(256 MiB, one largest
	// upload)). A message that would exceed it is answered rate_limited
	// ("server busy") and skipped unread.
	MaxBufferedBytes int64
	Lists            readapi.Lists // GET /companies, /groups, /labels; nil: they answer 501
	Logger           *slog.Logger
	// Closing, when closed, ends every WebSocket connection gracefully: no
	// new request is read, the running ones are answered, then the server
	// closes with 1001 (going away). Close it from http.Server's
	// RegisterOnShutdown: Shutdown does not wait for hijacked connections.
	Closing <-chan struct{}
	// Realtime, when set, serves live updates: the subscribe/unsubscribe
	// actions and WS /api/v1/stream. Matcher evaluates contacts filters
	// (default: Service, when it can).
	Realtime *realtime.Hub
	Matcher  readapi.ContactMatcher
	// Metrics, when set, counts actions and connections (metrics.go).
	Metrics *Metrics
}

func (d Deps) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return d.Logger
}

// WebSocket limits. A message is one request; 1 MiB holds any query and a
// create_contact. upload_contacts_csv carries its file base64-encoded in the
// message: its limit is readLimit's.
const (
	wsMaxMessage  = 1 << 20 // bytes; larger messages close the connection with 1009
	wsMaxInFlight = 16      // requests of one connection running at once; more wait
	// wsMaxUpload caps upload_contacts_csv files: the whole message is in
	// memory. Larger files go through POST /api/v1/contacts/import, streamed.
	wsMaxUpload = 64 << 20
)

// wsRecheckEvery is how stale a connection's authorization may get by
// default: a signed-out session, a revoked key or a removed member stops
// within it.
const wsRecheckEvery = 5 * time.Second

// wsUnbudgeted is how much of each message a connection reads without
// taking from the shared budget (Deps.MaxBufferedBytes): every query and
// create_contact fits, so only uploads ever wait on it.
const wsUnbudgeted = 64 << 10

// wsDefaultBuffered is the default of Deps.MaxBufferedBytes.
const wsDefaultBuffered = 256 << 20

// bufferBudget is Deps.MaxBufferedBytes or its default: at least one
// largest message.
func (d Deps) bufferBudget() int64 {
	if d.MaxBufferedBytes > 0 {
		return d.MaxBufferedBytes
	}
	return max(wsDefaultBuffered, d.readLimit()+1)
}

// readLimitFor is the largest message p's connection reads. Only a
// principal that may upload (an administrator with write_contacts) gets the
// upload-sized limit; any other gets wsMaxMessage, so a read-only key's
// 60 MiB message is refused at its frame header (1009), unread, instead of
// being buffered whole and then answered admin_required.
func (d Deps) readLimitFor(p auth.Principal, listenOnly bool) int64 {
	if listenOnly || !p.IsAdmin() || !p.Can(auth.ScopeWriteContacts) {
		return wsMaxMessage
	}
	return d.readLimit()
}

// readLimit is the largest message a connection reads: 1 MiB, or an
// upload_contacts_csv message carrying a file of MaxUploadBytes.
func (d Deps) readLimit() int64 {
	if d.Imports == nil || d.MaxUploadBytes <= 0 {
		return wsMaxMessage
	}
	n := min(d.MaxUploadBytes, wsMaxUpload)
	return max(wsMaxMessage, (n+2)/3*4+64<<10)
}

// Close codes of the server (4000-4999: application codes).
const (
	// WSCloseTokenExpired: the access token expired; reconnect with a new one
	// (and from_position to miss nothing).
	WSCloseTokenExpired = 4001
	// WSCloseResyncRequired: a listen-only stream fell behind; the last
	// message was resync_required with the position to reconnect from.
	WSCloseResyncRequired = 4002
	// WSCloseSubscribeFailed: a listen-only stream could not subscribe (the
	// last message says why).
	WSCloseSubscribeFailed = 4003
)

func wsCloseReason(code int) string {
	switch code {
	case WSCloseTokenExpired:
		return "token_expired"
	case WSCloseResyncRequired:
		return "resync_required"
	case WSCloseSubscribeFailed:
		return "subscribe_failed"
	case websocket.CloseGoingAway:
		return "server shutting down"
	case websocket.CloseUnsupportedData:
		return "listen_only: send actions on /api/v1/contacts/ws"
	case websocket.ClosePolicyViolation:
		return "unauthorized"
	}
	return ""
}

// wsTimings are the keep-alive settings (variables so tests can shorten them).
type wsTimings struct {
	pingEvery time.Duration // the server pings this often
	pongWait  time.Duration // a connection silent this long (no message, no pong) is dead
	writeWait time.Duration // one write may take this long
}

var wsDefaultTimings = wsTimings{pingEvery: 25 * time.Second, pongWait: 60 * time.Second, writeWait: 10 * time.Second}

// WebSocketHandler serves WS /api/v1/contacts/ws: the unified contacts
// endpoint of 22 actions. It authenticates the upgrade itself, from the
// token query parameter (or Authorization: Bearer), so it is mounted
// without the REST authentication middleware; a missing or invalid token
// is a 401 with the API's JSON error body and no upgrade.
func WebSocketHandler(d Deps) gin.HandlerFunc {
	return newWSHandler(d).serve
}

func newWSHandler(d Deps) *wsHandler {
	return &wsHandler{deps: d, log: d.logger(), timings: wsDefaultTimings, rechecks: make(chan struct{}, wsPushRechecks),
		budget: semaphore.NewWeighted(d.bufferBudget())}
}

type wsHandler struct {
	deps     Deps
	log      *slog.Logger
	timings  wsTimings
	rechecks chan struct{} // the push rechecks running (at most wsPushRechecks)
	// budget is the bytes of messages beyond wsUnbudgeted each that all
	// connections may hold at once (Deps.MaxBufferedBytes).
	budget *semaphore.Weighted

	// The last recheck of each principal (session or key), shared by its
	// connections: a user's many tabs, or a service's many streams, cost
	// one database round trip per RecheckEvery, not one each.
	checksMu    sync.Mutex
	checks      map[string]principalCheck
	checking    map[string]chan struct{} // closed when the principal's check under way ends
	checksSwept time.Time
}

// principalCheck is a recheck's verdict: p, or denied; at is when the
// check began (the verdict is at most that stale).
type principalCheck struct {
	p      auth.Principal
	denied bool
	at     time.Time
}

// principalKey identifies what a recheck answers for: the session or key,
// the account, and the token's expiry (a refreshed token is another).
func principalKey(p auth.Principal) string {
	return p.SessionID + "|" + p.KeyID + "|" + p.UserID + "|" + p.AccountID + "|" + strconv.FormatInt(p.Expires.UnixNano(), 10)
}

// checkPrincipal rechecks p, or takes a check of the same principal made
// within every (waiting for one under way), so its connections share one.
func (h *wsHandler) checkPrincipal(ctx context.Context, p auth.Principal, every time.Duration) (principalCheck, error) {
	key := principalKey(p)
	for {
		h.checksMu.Lock()
		if c, ok := h.checks[key]; ok && time.Since(c.at) < every {
			h.checksMu.Unlock()
			return c, nil
		}
		if wait, ok := h.checking[key]; ok {
			h.checksMu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return principalCheck{}, ctx.Err()
			}
		}
		if h.checks == nil {
			h.checks, h.checking = map[string]principalCheck{}, map[string]chan struct{}{}
		}
		done := make(chan struct{})
		h.checking[key] = done
		h.checksMu.Unlock()

		began := time.Now()
		np, err := h.deps.Recheck(ctx, p)
		h.checksMu.Lock()
		delete(h.checking, key)
		close(done)
		if err != nil && !errors.Is(err, auth.ErrInvalidToken) {
			h.checksMu.Unlock()
			return principalCheck{}, err
		}
		c := principalCheck{p: np, denied: err != nil, at: began}
		if time.Since(h.checksSwept) >= every { // forget checks too old to be used
			for k, old := range h.checks {
				if time.Since(old.at) >= every {
					delete(h.checks, k)
				}
			}
			h.checksSwept = time.Now()
		}
		h.checks[key] = c
		h.checksMu.Unlock()
		return c, nil
	}
}

// wsPushRechecks bounds the rechecks before pushes running at once.
const wsPushRechecks = 4

var wsUpgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 4096,
	// The token travels in the URL, not in a cookie: a page of another
	// origin cannot ride on the user's session, so any origin may connect.
	CheckOrigin: func(*http.Request) bool { return true },
	Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
		writeHTTPError(w, status, "websocket_upgrade_failed", "WebSocket handshake failed: "+reason.Error())
	},
}

// wsStreamUpgrader upgrades listen-only streams, which may number tens of
// thousands per instance: a small read buffer (clients send only control
// frames) and write buffers borrowed from a pool only while writing.
var wsStreamUpgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 4096,
	WriteBufferPool: &sync.Pool{},
	CheckOrigin:     wsUpgrader.CheckOrigin,
	Error:           wsUpgrader.Error,
}

// wsHTTPError answers a refused upgrade with the code's status (the error table).
func wsHTTPError(w http.ResponseWriter, code apierr.Code, message string) {
	writeHTTPError(w, code.Status(), string(code), message)
}

// writeHTTPError writes an error answer; the status is the table's, or
// gorilla's for a failed handshake.
func writeHTTPError(w http.ResponseWriter, status int, code, message string) {
	body, _ := json.Marshal(map[string]any{"error": apierr.Problem{Code: code, Message: message}})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// wsToken reads the access token: ?token=, else Authorization: Bearer.
func wsToken(r *http.Request) string {
	if t := strings.TrimSpace(r.URL.Query().Get("token")); t != "" {
		return t
	}
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

func (h *wsHandler) serve(c *gin.Context) {
	p, ok := h.principal(c)
	if !ok {
		return
	}
	h.upgrade(c, p, false, nil)
}

// principal is the caller of a WebSocket handshake. Mounted behind
// internal/web's authentication (which also scopes the account by path
// or organization-id header), the principal is there; mounted alone, the
// handler authenticates the token itself. Without one it answers 401 (no
// upgrade) and returns false.
func (h *wsHandler) principal(c *gin.Context) (auth.Principal, bool) {
	p, err := ginPrincipal(c)
	if err != nil {
		tok := wsToken(c.Request)
		if tok == "" || h.deps.Auth == nil {
			err = auth.ErrInvalidToken
		} else {
			p, err = h.deps.Auth.Authenticate(c.Request.Context(), tok)
		}
	}
	if err != nil {
		c.Abort()
		wsHTTPError(c.Writer, apierr.Unauthorized,
			"a valid access token is required (?token=<jwt> or Authorization: Bearer <jwt>)")
		return auth.Principal{}, false
	}
	return p, true
}

// upgrade turns the request into a connection and serves it until it ends;
// start, when set, runs once the writer is running.
func (h *wsHandler) upgrade(c *gin.Context, p auth.Principal, listenOnly bool, start func(*wsConn)) {
	up := &wsUpgrader
	if listenOnly {
		up = &wsStreamUpgrader
	}
	conn, err := up.Upgrade(c.Writer, c.Request, nil)
	if err != nil {
		c.Abort() // the upgrader has answered (JSON error)
		return
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.Request.Context()))
	wc := &wsConn{
		h: h, conn: conn, principal: p, checkedAt: time.Now(), ctx: ctx, cancel: cancel,
		out:        make(chan []byte, wsMaxInFlight),
		sem:        make(chan struct{}, wsMaxInFlight),
		stop:       make(chan struct{}),
		listenOnly: listenOnly,
	}
	if h.deps.Realtime != nil {
		wc.sink = h.deps.Realtime.NewSink()
	}
	wc.serveConn(start)
}

// wsConn is one connection: a reader (the handler's goroutine) that starts
// a goroutine per request, at most wsMaxInFlight at once, and one writer
// goroutine that owns every write (gorilla allows a single writer).
type wsConn struct {
	h          *wsHandler
	conn       *websocket.Conn
	mu         sync.Mutex // guards principal and checkedAt
	principal  auth.Principal
	checkedAt  time.Time
	denied     atomic.Bool     // the principal may no longer act: close with 1008
	rechecking atomic.Bool     // a recheck started by a push runs
	ctx        context.Context // cancelled when the connection ends: every request's context
	cancel     context.CancelFunc
	out        chan []byte   // answers to write
	sem        chan struct{} // in-flight requests
	stop       chan struct{} // closed: the writer sends closeCode and ends
	closeCode  int
	requests   sync.WaitGroup
	closing    atomic.Bool  // the server is shutting down
	forced     atomic.Int32 // a close code the server decided on (token expired, subscription failed)

	readLimit  int64          // the largest message this connection reads (readLimitFor)
	sink       *realtime.Sink // live updates (nil: not enabled)
	listenOnly bool           // WS /api/v1/stream: no requests; closes after resync_required
}

// forceClose ends the connection with code (after what is queued).
func (c *wsConn) forceClose(code int) {
	c.forced.CompareAndSwap(0, int32(code))
	_ = c.conn.SetReadDeadline(time.Now()) // ends the blocked read
}

func (c *wsConn) serveConn(start func(*wsConn)) {
	defer c.h.deps.Metrics.connected(c.listenOnly)()
	t := c.h.timings
	c.mu.Lock()
	p := c.principal
	c.mu.Unlock()
	c.readLimit = c.h.deps.readLimitFor(p, c.listenOnly)
	c.conn.SetReadLimit(c.readLimit)
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(t.pongWait))
	})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writer()
	}()
	if start != nil {
		c.requests.Add(1)
		go func() {
			defer c.requests.Done()
			start(c)
		}()
	}
	c.closeCode = c.read()
	if (c.closeCode != websocket.CloseGoingAway && c.closeCode != websocket.ClosePolicyViolation) || c.listenOnly {
		// The peer is gone: nobody waits for the running requests (or a
		// stream's replay would only delay the close). Going away or no
		// longer authorized, the running requests are answered first.
		c.cancel()
	}
	c.requests.Wait()
	c.cancel()
	close(c.stop)
	<-writerDone
	if c.sink != nil {
		c.sink.Close()
	}
	_ = c.conn.Close()
}

// read reads requests until the connection fails or closes and returns the
// close code the server should send (0: none, the peer is gone or has
// already been answered).
func (c *wsConn) read() (closeCode int) {
	defer func() {
		if r := recover(); r != nil {
			c.h.log.ErrorContext(c.ctx, "websocket reader panic", "panic", r)
			closeCode = websocket.CloseInternalServerErr
		}
	}()
	for {
		if err := c.conn.SetReadDeadline(time.Now().Add(c.h.timings.pongWait)); err != nil {
			return 0
		}
		if c.closing.Load() {
			return websocket.CloseGoingAway
		}
		if c.denied.Load() {
			return websocket.ClosePolicyViolation
		}
		if code := c.forced.Load(); code != 0 {
			return int(code)
		}
		msg, held, err := c.readMessage()
		if errors.Is(err, errWSBusy) {
			// The rest of the message is skipped unread by the next read.
			c.h.log.WarnContext(c.ctx, "websocket: message refused, the buffer budget is spent", "budget", c.h.deps.bufferBudget())
			c.busy()
			continue
		}
		// release gives the message's budget back (once): when it is
		// answered, or now if it will not be.
		release := func() {
			if held > 0 {
				c.h.budget.Release(held)
				held = 0
			}
		}
		if code, stop := c.afterRead(err); stop {
			release()
			return code
		}
		if len(msg) > wsMaxMessage && !wsIsUpload(msg) {
			release()
			return websocket.CloseMessageTooBig // as gorilla does past the read limit
		}
		select {
		case c.sem <- struct{}{}: // waits while wsMaxInFlight requests run
		case <-c.ctx.Done():
			release()
			return 0
		case <-c.h.deps.Closing: // nil: never
			release()
			return websocket.CloseGoingAway
		}
		c.requests.Add(1)
		go func() {
			defer c.requests.Done()
			defer func() { <-c.sem }()
			defer release() // the message is held until it is answered
			c.answer(msg)
		}()
	}
}

// afterRead tells whether the reader stops after a read that ended with
// err, and with what close code.
func (c *wsConn) afterRead(err error) (closeCode int, stop bool) {
	if c.closing.Load() {
		return websocket.CloseGoingAway, true
	}
	if c.denied.Load() {
		return websocket.ClosePolicyViolation, true
	}
	if code := c.forced.Load(); code != 0 {
		return int(code), true
	}
	if err != nil {
		// A close frame from the client is answered by gorilla's close
		// handler; an oversize message has been closed with 1009 by
		// gorilla; a timeout or a broken connection needs no frame.
		if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) &&
			err != websocket.ErrReadLimit {
			c.h.log.DebugContext(c.ctx, "websocket read ended", "err", err)
		}
		return 0, true
	}
	if c.listenOnly {
		return websocket.CloseUnsupportedData, true // a listen-only stream takes no messages
	}
	return 0, false
}

// errWSBusy: the message would take the buffer budget past its limit.
var errWSBusy = errors.New("websocket: buffer budget spent")

// readMessage reads one message. Its first wsUnbudgeted bytes are free;
// beyond them, every byte of buffer is first taken from the handler's
// budget (and held, as held, until the message is answered), so all
// connections together hold at most Deps.MaxBufferedBytes in large
// messages. When the budget is spent it returns errWSBusy with nothing
// held; the unread rest of the message is skipped by the next read.
func (c *wsConn) readMessage() (msg []byte, held int64, err error) {
	_, r, err := c.conn.NextReader()
	if err != nil {
		return nil, 0, err
	}
	msg, err = io.ReadAll(io.LimitReader(r, wsUnbudgeted))
	if err != nil || len(msg) < wsUnbudgeted {
		return msg, 0, err
	}
	defer func() {
		if err != nil && held > 0 {
			c.h.budget.Release(held)
			held = 0
		}
	}()
	limit := c.readLimit + 1 // gorilla ends the message past its read limit
	for {
		if len(msg) == cap(msg) {
			grow := min(2*int64(cap(msg)), limit) - int64(cap(msg))
			if grow <= 0 {
				grow = wsUnbudgeted
			}
			if !c.h.budget.TryAcquire(grow) {
				return nil, held, errWSBusy
			}
			held += grow
			next := make([]byte, len(msg), int64(cap(msg))+grow)
			copy(next, msg)
			msg = next
		}
		n, rerr := r.Read(msg[len(msg):cap(msg)])
		msg = msg[:len(msg)+n]
		if rerr == io.EOF {
			return msg, held, nil
		}
		if rerr != nil {
			return nil, held, rerr
		}
	}
}

// busy answers a message refused for want of buffer budget.
func (c *wsConn) busy() {
	body, _ := json.Marshal(&wsResponse{RequestID: json.RawMessage("null"), Status: wsStatusError, Error: &wsError{
		Code: wsCodeRateLimited, Message: "Server busy: too many large messages are being handled; retry shortly"}})
	select {
	case c.out <- body:
	case <-c.ctx.Done():
	}
}

// wsIsUpload tells whether a message is an upload_contacts_csv request,
// the one action whose messages may exceed wsMaxMessage.
func wsIsUpload(msg []byte) bool {
	var env struct {
		Action string `json:"action"`
	}
	return json.Unmarshal(msg, &env) == nil && env.Action == "upload_contacts_csv"
}

// answer handles one message and queues its answer.
func (c *wsConn) answer(msg []byte) {
	resp := c.handle(msg)
	if resp == nil {
		return // the connection ended while the request ran
	}
	body, err := json.Marshal(resp)
	if err != nil {
		c.h.log.ErrorContext(c.ctx, "websocket: encoding an answer", "err", err, "action", resp.Action)
		resp.Data, resp.Status = nil, wsStatusError
		resp.Error = &wsError{Code: wsActionErrorCode(resp.action()), Message: "internal error: the answer could not be encoded"}
		body, _ = json.Marshal(resp)
	}
	select {
	case c.out <- body:
	case <-c.ctx.Done():
	}
}

// writer writes answers and pings until stop, then closes the connection
// with closeCode when there is one.
func (c *wsConn) writer() {
	t := c.h.timings
	ping := time.NewTicker(t.pingEvery)
	defer ping.Stop()
	fail := func(err error) {
		c.h.log.DebugContext(c.ctx, "websocket write failed", "err", err)
		c.cancel()
		_ = c.conn.Close() // unblocks the reader
	}
	var sinkReady <-chan struct{}
	if c.sink != nil {
		sinkReady = c.sink.Ready()
	}
	// The writer also watches the server's shutdown and the token's expiry
	// (no goroutine of their own: a connection costs two goroutines).
	closing := c.h.deps.Closing
	var expiry <-chan time.Time
	c.mu.Lock()
	expires := c.principal.Expires // an access token's, or an API key's expires_at; zero: none
	c.mu.Unlock()
	if !expires.IsZero() {
		tm := time.NewTimer(time.Until(expires))
		defer tm.Stop()
		expiry = tm.C
	}
	// push writes the queued live updates; false: the writer ends.
	push := func() bool {
		// Pushes go only to a principal that may still read: rechecked
		// (Deps.Recheck) at most every RecheckEvery, as actions are. A
		// revoked session or key, or a removed member, is closed with 1008
		// and gets nothing more.
		if !c.mayPush() {
			c.sink.Take()
			return true
		}
		// A cut-off listen-only stream writes what is queued (ending with
		// resync_required), then closes.
		cut := c.listenOnly && c.sink.WasCut()
		// One deadline for what is queued (at most the sink's limit): a
		// deadline per message costs a timer update each.
		_ = c.conn.SetWriteDeadline(time.Now().Add(t.writeWait))
		for _, body := range c.sink.Take() {
			if err := c.conn.WriteMessage(websocket.TextMessage, body); err != nil {
				fail(err)
				c.discard()
				return false
			}
		}
		if cut { // (a cut while writing signals Ready again: written on the next turn)
			_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(WSCloseResyncRequired,
				wsCloseReason(WSCloseResyncRequired)), time.Now().Add(t.writeWait))
			fail(errors.New("resync required"))
			c.discard()
			return false
		}
		return true
	}
	for {
		select {
		case <-closing:
			closing = nil
			c.closing.Store(true)
			_ = c.conn.SetReadDeadline(time.Now()) // ends the blocked read
		case <-expiry:
			expiry = nil
			c.forceClose(WSCloseTokenExpired)
		case <-sinkReady:
			if !push() {
				return
			}
		case body := <-c.out:
			_ = c.conn.SetWriteDeadline(time.Now().Add(t.writeWait))
			if err := c.conn.WriteMessage(websocket.TextMessage, body); err != nil {
				fail(err)
				c.discard()
				return
			}
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(t.writeWait)); err != nil {
				fail(err)
				c.discard()
				return
			}
		case <-c.stop:
			if c.sink != nil && c.closeCode != 0 && !c.denied.Load() { // what is queued goes before the close frame
				for _, body := range c.sink.Take() {
					_ = c.conn.SetWriteDeadline(time.Now().Add(t.writeWait))
					if c.conn.WriteMessage(websocket.TextMessage, body) != nil {
						break
					}
				}
			}
			if c.closeCode != 0 {
				_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.closeCode, wsCloseReason(c.closeCode)),
					time.Now().Add(t.writeWait))
			}
			return
		}
	}
}

// mayPush tells whether live updates may still be written. When the last
// check is older than RecheckEvery, the principal is rechecked off the
// writer: a database round trip per connection must neither hold its
// pushes nor, for thousands of streams at once, the server's. Until the
// check answers, pushes go on (authorization is at most RecheckEvery plus
// one check stale, as for actions); once it says no, nothing more is
// written and the reader closes with 1008. A failed check (database down)
// counts as a check: logged, tried again after RecheckEvery. At most
// wsPushRechecks run at once per handler (thousands of streams falling due
// together must not take the pool from the projector and the hub); a push
// that finds them busy goes out and the next one tries again.
func (c *wsConn) mayPush() bool {
	if c.denied.Load() {
		return false
	}
	if c.h.deps.Recheck == nil || c.rechecking.Load() {
		return true
	}
	every := c.h.deps.RecheckEvery
	if every <= 0 {
		every = wsRecheckEvery
	}
	c.mu.Lock()
	due := time.Since(c.checkedAt) >= every
	c.mu.Unlock()
	if !due {
		return true
	}
	select {
	case c.h.rechecks <- struct{}{}:
	default: // as many rechecks run as the database should take: the next push tries again
		return true
	}
	if !c.rechecking.CompareAndSwap(false, true) {
		<-c.h.rechecks
		return true
	}
	go func() {
		defer func() { <-c.h.rechecks }()
		defer c.rechecking.Store(false)
		if _, _, err := c.currentPrincipal(); err != nil {
			if c.ctx.Err() == nil {
				c.h.log.WarnContext(c.ctx, "websocket: rechecking the principal before a push", "err", err)
			}
			c.mu.Lock()
			c.checkedAt = time.Now()
			c.mu.Unlock()
		}
	}()
	return true
}

// currentPrincipal returns who the connection acts as, rechecked when the
// last check is older than wsRecheckEvery; ok is false when the principal
// may no longer act (the connection is then being closed).
func (c *wsConn) currentPrincipal() (p auth.Principal, ok bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.denied.Load() {
		return c.principal, false, nil
	}
	every := c.h.deps.RecheckEvery
	if every <= 0 {
		every = wsRecheckEvery
	}
	if c.h.deps.Recheck == nil || time.Since(c.checkedAt) < every {
		return c.principal, true, nil
	}
	check, err := c.h.checkPrincipal(c.ctx, c.principal, every)
	if err != nil {
		return c.principal, false, err
	}
	if check.denied {
		c.denied.Store(true)
		_ = c.conn.SetReadDeadline(time.Now()) // ends the blocked read: the reader closes with 1008
		return c.principal, false, nil
	}
	c.principal, c.checkedAt = check.p, check.at
	return check.p, true, nil
}

// discard drops answers after a failed write until stop.
func (c *wsConn) discard() {
	for {
		select {
		case <-c.out:
		case <-c.stop:
			return
		}
	}
}

// ginPrincipalKey is where internal/web's authentication middleware
// keeps the request's auth.Principal in the gin context (the REST reads,
// readapi/rest, read it from the same key).
const ginPrincipalKey = "principal"

// ginPrincipal is the principal internal/web's middleware stored, if any.
func ginPrincipal(c *gin.Context) (auth.Principal, error) {
	if v, ok := c.Get(ginPrincipalKey); ok {
		if p, ok := v.(auth.Principal); ok && p.AccountID != "" {
			return p, nil
		}
	}
	return auth.Principal{}, auth.ErrInvalidToken
}
