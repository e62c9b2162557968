package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"contacts/internal/apierr"
	"contacts/internal/auth"
	"contacts/internal/ratelimit"
)

// Limits are the token buckets requests spend; a nil limiter limits nothing.
type Limits struct {
	PerPrincipal *ratelimit.Limiter // every authenticated request and WebSocket message, per user or API key
	PerIP        *ratelimit.Limiter // every request, per client IP
	AuthPerIP    *ratelimit.Limiter // sign-up, sign-in, refresh and invitation attempts, per client IP
	LoginPerUser *ratelimit.Limiter // sign-in attempts per e-mail address (password guessing)
}

// limitIP spends the client IP's token.
func (a *api) limitIP(c *gin.Context) {
	if a.spend(c, limiterIP, a.Limits.PerIP, "ip:"+c.ClientIP(), false) {
		c.Next()
	}
}

// rateLimit spends the principal's token (the user across all their
// accounts, or the API key).
func (a *api) rateLimit(c *gin.Context) {
	if a.spend(c, limiterPrincipal, a.Limits.PerPrincipal, principalKey(principal(c)), true) {
		c.Next()
	}
}

// throttleAuth slows password guessing and sign-up floods per client IP.
func (a *api) throttleAuth(c *gin.Context) {
	if a.spend(c, limiterAuthIP, a.Limits.AuthPerIP, "auth-ip:"+c.ClientIP(), false) {
		c.Next()
	}
}

// throttleLogin spends a sign-in attempt of the e-mail address; it reports
// whether to go on.
func (a *api) throttleLogin(c *gin.Context, email string) bool {
	return a.spend(c, limiterLogin, a.Limits.LoginPerUser, "login:"+strings.ToLower(strings.TrimSpace(email)), false)
}

func principalKey(p auth.Principal) string {
	if p.IsKey() {
		return "key:" + p.KeyID
	}
	return "user:" + p.UserID
}

// takeToken is the WebSocket's per-message limit: the same bucket as the
// principal's REST requests.
func (a *api) takeToken(p auth.Principal) (time.Duration, bool) {
	d := a.Limits.PerPrincipal.Take(principalKey(p))
	if !d.Allowed {
		a.Metrics.limited(limiterPrincipal)
	}
	return d.RetryAfter, d.Allowed
}

// spend takes a token from l's bucket for key; refused, it answers 429 with
// Retry-After (counted under the limiter's name). With headers, the
// RateLimit-* headers describe the bucket.
func (a *api) spend(c *gin.Context, name string, l *ratelimit.Limiter, key string, headers bool) bool {
	if l == nil {
		return true
	}
	d := l.Take(key)
	if headers || !d.Allowed {
		h := c.Writer.Header()
		// The limit is the rate (the reference's "10 requests per second");
		// the policy names its window and the burst a full bucket allows.
		h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
		h.Set("RateLimit-Policy", fmt.Sprintf("%d;w=%d;burst=%d", d.Limit, int(d.Window.Seconds()), d.Burst))
		h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
		h.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(d.Reset)))
	}
	if d.Allowed {
		return true
	}
	a.Metrics.limited(name)
	retry := ceilSeconds(d.RetryAfter)
	c.Header("Retry-After", strconv.Itoa(retry))
	a.fail(c, apierr.New(apierr.RateLimited,
		"too many requests: retry in "+strconv.Itoa(retry)+" s"))
	return false
}

func ceilSeconds(d time.Duration) int {
	return max(0, int(math.Ceil(d.Seconds())))
}
