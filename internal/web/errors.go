package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"contacts/internal/apierr"
)

var (
	errNotFoundRoute    = apierr.New(http.StatusNotFound, "not_found", "no such route")
	errMethodNotAllowed = apierr.New(http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this route")
	errUnauthorized     = apierr.New(http.StatusUnauthorized, "unauthorized", "a valid access token is required (Authorization: Bearer <token>)")
	errForbidden        = apierr.New(http.StatusForbidden, "forbidden", "administrator role required")
	errUserRequired     = apierr.New(http.StatusForbidden, "forbidden", "this route needs a signed-in user: API keys cannot use it")
	errTooLarge         = apierr.New(http.StatusRequestEntityTooLarge, "payload_too_large", "request body is too large")
)

// fail writes err in the one error format and logs what the table does not
// know as a 500.
func (a *api) fail(c *gin.Context, err error) {
	p, known := apierr.Classify(err)
	if !known {
		a.Logger.ErrorContext(c.Request.Context(), "request failed", "err", err,
			"method", c.Request.Method, "path", c.FullPath(), "request_id", c.GetString(ctxRequestID))
	}
	c.AbortWithStatusJSON(p.Status, gin.H{"error": p})
}
