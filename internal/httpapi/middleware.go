package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"contacts/eventstore"
	"contacts/internal/apierr"
	"contacts/internal/auth"
)

const (
	ctxRequestID = "request_id"
	ctxPrincipal = "principal"
)

func (a *api) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-ID")
	if id == "" || len(id) > 128 {
		id = eventstore.NewID()
	}
	c.Set(ctxRequestID, id)
	c.Header("X-Request-ID", id)
	c.Next()
}

func (a *api) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	// Never log headers or bodies: they carry tokens and personal data.
	a.Logger.DebugContext(c.Request.Context(), "http request", "method", c.Request.Method, "route", c.FullPath(),
		"status", c.Writer.Status(), "duration_ms", time.Since(start).Milliseconds(), "request_id", c.GetString(ctxRequestID))
}

func (a *api) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			a.Logger.ErrorContext(c.Request.Context(), "panic in handler", "panic", r, "route", c.FullPath())
			a.fail(c, apierr.New(http.StatusInternalServerError, "internal_error", "internal server error"))
		}
	}()
	c.Next()
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

// authenticate requires a valid access token and scopes the request to its
// account: every event the request appends records who made it.
func (a *api) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		a.fail(c, errUnauthorized)
		return
	}
	p, err := a.Auth.Verify(strings.TrimSpace(token))
	if err != nil {
		a.fail(c, errUnauthorized)
		return
	}
	c.Set(ctxPrincipal, p)
	reqID := c.GetString(ctxRequestID)
	corr := c.GetHeader("X-Correlation-ID")
	if corr == "" || len(corr) > 128 {
		corr = reqID
	}
	ctx := eventstore.WithRequestInfo(c.Request.Context(), eventstore.RequestInfo{Metadata: eventstore.Metadata{
		Actor: p.UserID, ActorType: "user", RequestID: reqID, CorrelationID: corr,
	}})
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

func principal(c *gin.Context) auth.Principal {
	p, _ := c.Get(ctxPrincipal)
	return p.(auth.Principal)
}

func (a *api) requireAdmin(c *gin.Context) {
	if !principal(c).IsAdmin() {
		a.fail(c, errForbidden)
		return
	}
	c.Next()
}

// idempotency makes a write with an Idempotency-Key safe to retry: the key
// is recorded in the same transaction as the events, so a retry can never
// append twice, and the first answer is replayed.
func (a *api) idempotency(c *gin.Context) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" || c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		c.Next()
		return
	}
	if len(key) > 255 {
		a.fail(c, apierr.New(http.StatusBadRequest, "invalid_idempotency_key", "Idempotency-Key must be at most 255 characters"))
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

	if a.replay(c, account, key, hash) {
		return
	}
	info := eventstore.RequestInfoFrom(ctx)
	info.IdempotencyKey, info.IdempotencyHash = key, hash
	c.Request = c.Request.WithContext(eventstore.WithRequestInfo(ctx, info))
	rec := &recordingWriter{ResponseWriter: c.Writer}
	c.Writer = rec
	c.Next()
	if rec.Status() >= 200 && rec.Status() < 300 {
		// Stores the answer only when this request's append wrote the key.
		if err := a.Store.SaveIdempotentResponse(ctx, account, key, rec.Status(), rec.body.Bytes()); err != nil {
			a.Logger.ErrorContext(ctx, "saving idempotent response", "err", err)
		}
	}
}

// replay answers from a stored response; it reports whether it answered.
func (a *api) replay(c *gin.Context, account, key, hash string) bool {
	prev, err := a.Store.LookupIdempotency(c.Request.Context(), account, key)
	switch {
	case err != nil:
		a.fail(c, err)
		return true
	case prev == nil:
		return false
	case prev.RequestHash != hash:
		a.fail(c, apierr.New(http.StatusUnprocessableEntity, "idempotency_key_reused",
			"this Idempotency-Key was used for a different request"))
		return true
	case prev.Status == 0:
		a.fail(c, apierr.New(http.StatusConflict, "request_in_progress",
			"a request with this Idempotency-Key is still being processed; retry later"))
		return true
	}
	c.Header("Idempotent-Replayed", "true")
	c.Data(prev.Status, "application/json; charset=utf-8", prev.Body)
	c.Abort()
	return true
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
