package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"contacts/domain"
	"contacts/eventstore"
	"contacts/internal/apierr"
	"contacts/internal/auth"
	"contacts/internal/requestid"
)

// requestID names the request: the X-Request-Id a trusted proxy
// (CONTACTS_TRUSTED_PROXIES) passed on, when it is sane (a short token of
// visible ASCII, so it cannot forge log lines or headers), else a new one.
// A client's own X-Request-Id is not taken: it would let anyone pick the id
// that logs and event metadata record. The id is echoed in the answer,
// carried in the request's context (every log line written with it names
// the id: RequestLogHandler) and recorded with the events it appends.
func (a *api) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if id == "" || !saneRequestID(id) || !a.fromTrustedProxy(c.Request.RemoteAddr) {
		id = eventstore.NewID()
	}
	c.Set(ctxRequestID, id)
	c.Header("X-Request-Id", id)
	c.Request = c.Request.WithContext(requestid.With(c.Request.Context(), id))
	c.Next()
}

// fromTrustedProxy tells whether the connection's peer is a trusted proxy.
func (a *api) fromTrustedProxy(remoteAddr string) bool {
	if len(a.trusted) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range a.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// parseTrusted reads TrustedProxies (IPs or CIDRs; gin checked them).
func parseTrusted(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if ip, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		}
	}
	return out
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if b := id[i]; b <= ' ' || b > '~' || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

// accessLog writes one line per request at the request log's level (info
// unless CONTACTS_REQUEST_LOG says otherwise): method, route template (never
// the path, which carries ids), status, latency, request id and the kind of
// principal. Never headers, query strings or bodies: they carry tokens and
// personal data.
func (a *api) accessLog(c *gin.Context) {
	if a.RequestLogOff {
		c.Next()
		return
	}
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "(no route)"
	}
	kind := "anonymous"
	if p, ok := c.Get(ctxPrincipal); ok {
		kind = p.(auth.Principal).ActorType()
	}
	a.Logger.Log(c.Request.Context(), a.RequestLogLevel, "http request", "method", c.Request.Method, "route", route,
		"status", c.Writer.Status(), "duration_ms", float64(time.Since(start).Microseconds())/1000,
		"request_id", c.GetString(ctxRequestID), "principal", kind)
}

func (a *api) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			a.Logger.ErrorContext(c.Request.Context(), "panic in handler", "panic", r, "route", c.FullPath())
			a.fail(c, apierr.New(apierr.Internal, "internal server error"))
		}
	}()
	c.Next()
}

// notModified answers 304 Not Modified to a GET whose If-None-Match names
// the ETag the answer would carry (the version of a contact, company, …):
// the handler runs as usual, and its 200 is turned into a 304 without body.
func notModified(c *gin.Context) {
	inm := c.GetHeader("If-None-Match")
	if inm == "" || (c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead) {
		c.Next()
		return
	}
	c.Writer = &notModifiedWriter{ResponseWriter: c.Writer, ifNoneMatch: inm}
	c.Next()
}

type notModifiedWriter struct {
	gin.ResponseWriter
	ifNoneMatch string
	skip        bool
}

func (w *notModifiedWriter) WriteHeader(code int) {
	if code == http.StatusOK && etagListMatches(w.ifNoneMatch, w.Header().Get("ETag")) {
		w.skip = true
		w.Header().Del("Content-Length")
		w.Header().Del("Content-Type")
		code = http.StatusNotModified
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *notModifiedWriter) Write(b []byte) (int, error) {
	if w.skip {
		w.ResponseWriter.WriteHeaderNow()
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *notModifiedWriter) WriteString(s string) (int, error) {
	if w.skip {
		w.ResponseWriter.WriteHeaderNow()
		return len(s), nil
	}
	return w.ResponseWriter.WriteString(s)
}

// etagListMatches is If-None-Match's weak comparison (RFC 9110 13.1.2): "*"
// or any listed tag equal to etag, W/ prefixes ignored.
func etagListMatches(list, etag string) bool {
	if etag == "" {
		return false
	}
	etag = strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

func (a *api) limitBody(c *gin.Context) {
	limit := a.bodyLimit(c.FullPath())
	if c.Request.ContentLength > limit {
		a.fail(c, errTooLarge)
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	c.Next()
}

// authenticate requires a valid access token or API key (Authorization:
// Bearer) and scopes the request to its account: every event the request
// appends records who made it.
func (a *api) authenticate(c *gin.Context) {
	a.authenticateToken(c, bearerToken(c.Request))
}

// authenticateWS is authenticate for WebSocket handshakes, whose clients
// cannot set headers: the token may come in ?token= too.
func (a *api) authenticateWS(c *gin.Context) {
	tok := strings.TrimSpace(c.Query("token"))
	if tok == "" {
		tok = bearerToken(c.Request)
	}
	a.authenticateToken(c, tok)
}

func bearerToken(r *http.Request) string {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(token)
}

func (a *api) authenticateToken(c *gin.Context, token string) {
	if token == "" || len(token) > 4096 {
		a.fail(c, errUnauthorized)
		return
	}
	p, err := a.Auth.Authenticate(c.Request.Context(), token)
	if errors.Is(err, auth.ErrInvalidToken) {
		a.fail(c, errUnauthorized)
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Set(ctxPrincipal, p)
	reqID := c.GetString(ctxRequestID)
	corr := c.GetHeader("X-Correlation-ID")
	if corr == "" || len(corr) > 128 {
		corr = reqID
	}
	ctx := eventstore.WithRequestInfo(c.Request.Context(), eventstore.RequestInfo{Metadata: eventstore.Metadata{
		Actor: p.Actor(), ActorType: p.ActorType(), RequestID: reqID, CorrelationID: corr,
	}})
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// accountFromHeader lets the organization-id header (the 004 reference's
// tenancy header) name the account: one the caller is a member of, else 403.
func (a *api) accountFromHeader(c *gin.Context) {
	h := strings.TrimSpace(c.GetHeader(headerOrganization))
	if h == "" {
		c.Next()
		return
	}
	ok, err := a.useAccount(c, h)
	switch {
	case err != nil:
		a.fail(c, err)
	case !ok:
		a.fail(c, apierr.New(apierr.Forbidden, "you have no access to organization "+strconv.Quote(h)))
	default:
		c.Next()
	}
}

const headerOrganization = "organization-id"

// accountFromPath scopes the request to the account in the path: one the
// caller is a member of, else 404 (another account's id, like any other id,
// is not found). An organization-id header, if sent too, must agree.
func (a *api) accountFromPath(c *gin.Context) {
	id := c.Param("account_id")
	if h := strings.TrimSpace(c.GetHeader(headerOrganization)); h != "" && !strings.EqualFold(h, id) {
		a.fail(c, apierr.New(apierr.Forbidden, "the organization-id header and the account in the path differ"))
		return
	}
	ok, err := a.useAccount(c, id)
	switch {
	case err != nil:
		a.fail(c, err)
	case !ok:
		a.fail(c, apierr.New(apierr.NotFound, "account "+strconv.Quote(id)+" not found"))
	default:
		c.Next()
	}
}

// useAccount makes id the request's account if the caller may act in it:
// the token's own account, or (for a signed-in user) another account they
// are a member of, with their role there. API keys belong to one account.
func (a *api) useAccount(c *gin.Context, id string) (bool, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return false, nil
	}
	id = u.String()
	p := principal(c)
	if id == p.AccountID {
		return true, nil
	}
	if p.IsKey() {
		return false, nil
	}
	role, err := a.Auth.Role(c.Request.Context(), p.UserID, id)
	if errors.Is(err, domain.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	p.AccountID, p.Role = id, role
	c.Set(ctxPrincipal, p)
	return true, nil
}

// requireScope checks an API key's scopes against the scope the route
// declared where it is mounted (edge.Scopes): reads need read_contacts,
// writes write_contacts (a key with only read_contacts can never write). It
// runs before the route's other middleware, so a key is refused before an
// idempotent replay or the users-only rule. A route that declared nothing
// needs write_contacts (the layout test has every route declare one).
func (a *api) requireScope(c *gin.Context) {
	need, ok := a.scopes.For(c.Request.Method, c.FullPath())
	if !ok {
		need = auth.ScopeWriteContacts
	}
	if !principal(c).Can(need) {
		a.fail(c, &apierr.Error{Code: apierr.InsufficientScope,
			Message: "this API key lacks the " + need.Names()[0] + " scope"})
		return
	}
	c.Next()
}

// requireUser keeps API keys out of the account's administration and the
// user's own routes.
func (a *api) requireUser(c *gin.Context) {
	if principal(c).IsKey() {
		a.fail(c, errUserRequired)
		return
	}
	c.Next()
}

// Idempotency defaults: how long a reservation lasts without being extended
// (a dead process frees its keys after this), and how long a request waits
// for another one with the same key before answering request_in_progress.
const (
	defaultIdempotencyLease = 30 * time.Second
	defaultIdempotencyWait  = 10 * time.Second
)

// replayedHeaders are the headers of an answer that a replay repeats.
var replayedHeaders = []string{"Content-Type", "ETag", "Location", "Content-Location", "Link"}

// idempotency makes a write with an Idempotency-Key safe to retry. The
// request reserves its key before it runs, under a lease it extends while it
// runs (so a crashed process frees it); a request with the same key meanwhile
// waits for it and replays its answer. A 2xx answer is stored whole (status,
// headers, body) and replayed to every retry; any other end (error, panic,
// client gone) gives the key up, so a retry runs afresh. The append checks
// that its request still holds the key, in the events' transaction, so a
// request can never append under a key another one took over.
func (a *api) idempotency(c *gin.Context) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" || c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		c.Next()
		return
	}
	if len(key) > 255 {
		a.fail(c, apierr.New(apierr.InvalidIdempotency, "Idempotency-Key must be at most 255 characters"))
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		a.fail(c, bindError(err))
		return
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.New()
	sum.Write([]byte(c.Request.Method + " " + c.Request.URL.Path + "\n"))
	sum.Write(body)
	hash := hex.EncodeToString(sum.Sum(nil))
	account := principal(c).AccountID
	ctx := c.Request.Context()

	owner := eventstore.NewID()
	if !a.reserveKey(c, account, key, hash, owner) {
		return // answered: a replay or an error
	}
	// The reservation's bookkeeping outlives a client that hangs up: the
	// key must be given up (or the answer stored) whatever happens.
	keep := context.WithoutCancel(ctx)
	stop := a.extendKey(keep, account, key, owner)
	rec := &recordingWriter{ResponseWriter: c.Writer}
	finished := false
	defer func() {
		stop()
		end, cancel := context.WithTimeout(keep, 10*time.Second)
		defer cancel()
		if st := rec.Status(); finished && rec.Written() && st >= 200 && st < 300 {
			resp := eventstore.IdempotentResponse{Status: st, Header: map[string][]string{}, Body: rec.body.Bytes()}
			for _, h := range replayedHeaders {
				if v := rec.Header().Values(h); len(v) > 0 {
					resp.Header[h] = v
				}
			}
			if err := a.Store.SaveIdempotentResponse(end, account, key, owner, resp); err != nil {
				a.Logger.ErrorContext(end, "saving idempotent response", "err", err)
			}
			return
		}
		if err := a.Store.ReleaseIdempotencyKey(end, account, key, owner); err != nil {
			a.Logger.ErrorContext(end, "releasing idempotency key", "err", err)
		}
	}()
	info := eventstore.RequestInfoFrom(ctx)
	info.IdempotencyKey, info.IdempotencyHash, info.IdempotencyOwner = key, hash, owner
	c.Request = c.Request.WithContext(eventstore.WithRequestInfo(ctx, info))
	c.Writer = rec
	c.Next()
	finished = true // not reached when the handler panics
}

// reserveKey takes the key for this request, or answers: the stored answer
// of the request that used it, idempotency_key_reused for a different
// request, request_in_progress if the one holding it does not finish within
// the wait. It reports whether the key is now held.
func (a *api) reserveKey(c *gin.Context, account, key, hash, owner string) bool {
	ctx := c.Request.Context()
	lease, wait := a.idempotencyTimes()
	deadline := time.Now().Add(wait)
	delay := 10 * time.Millisecond
	for {
		held, err := a.Store.ReserveIdempotencyKey(ctx, account, key, hash, owner, lease)
		if err != nil {
			a.fail(c, err)
			return false
		}
		if held {
			return true
		}
		prev, err := a.Store.LookupIdempotency(ctx, account, key)
		switch {
		case err != nil:
			a.fail(c, err)
			return false
		case prev == nil:
			continue // given up between the two statements: reserve again
		case prev.RequestHash != hash:
			a.fail(c, apierr.New(apierr.IdempotencyReused,
				"this Idempotency-Key was used for a different request"))
			return false
		case prev.Status != 0:
			replay(c, prev)
			return false
		}
		left := time.Until(deadline)
		if left <= 0 {
			a.fail(c, apierr.New(apierr.RequestInProgress,
				"a request with this Idempotency-Key is still being processed; retry later"))
			return false
		}
		select {
		case <-ctx.Done():
			a.fail(c, ctx.Err())
			return false
		case <-time.After(min(delay, left)):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// extendKey keeps owner's reservation alive while the request runs; the
// returned func stops it.
func (a *api) extendKey(ctx context.Context, account, key, owner string) (stop func()) {
	lease, _ := a.idempotencyTimes()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := a.Store.ExtendIdempotencyKey(ctx, account, key, owner, lease); err != nil && ctx.Err() == nil {
					a.Logger.WarnContext(ctx, "extending idempotency key", "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (a *api) idempotencyTimes() (lease, wait time.Duration) {
	lease, wait = a.IdempotencyLease, a.IdempotencyWait
	if lease <= 0 {
		lease = defaultIdempotencyLease
	}
	if wait <= 0 {
		wait = defaultIdempotencyWait
	}
	return lease, wait
}

// replay answers with a stored response, whole.
func replay(c *gin.Context, prev *eventstore.IdempotentResponse) {
	for h, v := range prev.Header {
		for _, x := range v {
			c.Writer.Header().Add(h, x)
		}
	}
	ct := c.Writer.Header().Get("Content-Type")
	if ct == "" {
		ct = "application/json; charset=utf-8"
	}
	c.Header("Idempotent-Replayed", "true")
	c.Data(prev.Status, ct, prev.Body)
	c.Abort()
}

type recordingWriter struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *recordingWriter) WriteString(s string) (int, error) {
	w.body.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}
