// Package ratelimit keeps token buckets per key (a user, an API key, a client
// IP, an e-mail address being signed in to), in memory: each instance of the
// service counts on its own.
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a set of token buckets of one rate and burst. A nil *Limiter
// allows everything.
type Limiter struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New returns a limiter refilling perSecond tokens a second up to burst
// (burst < 1 means ceil(perSecond)); perSecond ≤ 0 returns nil: no limit.
func New(perSecond float64, burst int) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = int(math.Ceil(perSecond))
	}
	return &Limiter{limit: rate.Limit(perSecond), burst: burst, now: time.Now, buckets: map[string]*bucket{}}
}

// WithClock sets the clock (tests).
func (l *Limiter) WithClock(now func() time.Time) *Limiter {
	l.now = now
	return l
}

// Decision is the answer for one request.
type Decision struct {
	Allowed    bool
	Limit      int           // the rate: requests allowed per Window
	Window     time.Duration // 1 s, or a minute or an hour for rates under one a second
	Burst      int           // most requests at once
	Remaining  int           // tokens left after this request
	Reset      time.Duration // until the bucket is full again
	RetryAfter time.Duration // when not allowed: until one token is there
}

// Take spends one token of key's bucket.
func (l *Limiter) Take(key string) Decision {
	if l == nil {
		return Decision{Allowed: true}
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	d := Decision{Allowed: true, Burst: l.burst}
	d.Limit, d.Window = l.quota()
	r := b.lim.ReserveN(now, 1)
	if delay := r.DelayFrom(now); !r.OK() || delay > 0 {
		r.CancelAt(now)
		d.Allowed, d.RetryAfter = false, delay
	}
	tokens := b.lim.TokensAt(now)
	d.Remaining = max(0, int(math.Floor(tokens)))
	d.Reset = time.Duration((float64(l.burst) - tokens) / float64(l.limit) * float64(time.Second))
	return d
}

// quota states the rate as whole requests per window: per second, else per
// minute, else per hour (at least one).
func (l *Limiter) quota() (int, time.Duration) {
	for _, w := range []time.Duration{time.Second, time.Minute} {
		if n := float64(l.limit) * w.Seconds(); n >= 1 {
			return int(math.Floor(n + 1e-9)), w
		}
	}
	return max(1, int(math.Floor(float64(l.limit)*3600+1e-9))), time.Hour
}

// sweep forgets buckets idle long enough to be full again (forgetting them
// changes nothing), at most once a minute.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	full := time.Duration(float64(l.burst) / float64(l.limit) * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.seen) > full {
			delete(l.buckets, k)
		}
	}
}

// Len is the number of buckets held (tests of the sweep).
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
