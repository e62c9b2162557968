package ratelimit

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(10, 20).WithClock(func() time.Time { return now })
	for i := 0; i < 20; i++ {
		d := l.Take("u")
		if !d.Allowed || d.Limit != 10 || d.Window != time.Second || d.Burst != 20 || d.Remaining != 19-i {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	d := l.Take("u")
	if d.Allowed || d.RetryAfter != 100*time.Millisecond || d.Remaining != 0 || d.Reset != 2*time.Second {
		t.Fatalf("21st request: %+v", d)
	}
	if !l.Take("other").Allowed {
		t.Fatal("buckets are per key")
	}
	// A refused request spends nothing: 100 ms later exactly one more passes.
	now = now.Add(100 * time.Millisecond)
	if d := l.Take("u"); !d.Allowed {
		t.Fatalf("after refill: %+v", d)
	}
	if d := l.Take("u"); d.Allowed {
		t.Fatalf("only one token refilled: %+v", d)
	}
	// Idle buckets are forgotten once full.
	now = now.Add(time.Hour)
	l.Take("fresh")
	if n := l.Len(); n != 1 {
		t.Fatalf("buckets after sweep: %d", n)
	}
}

// The limit is the rate, in whole requests per second, minute or hour.
func TestQuota(t *testing.T) {
	for _, c := range []struct {
		perSecond float64
		limit     int
		window    time.Duration
	}{
		{10, 10, time.Second}, {1, 1, time.Second}, {2.5, 2, time.Second},
		{0.2, 12, time.Minute}, {5.0 / 60, 5, time.Minute}, {20.0 / 60, 20, time.Minute}, {1.0 / 3600, 1, time.Hour},
	} {
		d := New(c.perSecond, 3).Take("k")
		if d.Limit != c.limit || d.Window != c.window || d.Burst != 3 {
			t.Errorf("%v/s: limit %d per %v (burst %d), want %d per %v", c.perSecond, d.Limit, d.Window, d.Burst, c.limit, c.window)
		}
	}
}

func TestDisabled(t *testing.T) {
	var l *Limiter = New(0, 5)
	for i := 0; i < 1000; i++ {
		if !l.Take("k").Allowed {
			t.Fatal("a disabled limiter refused")
		}
	}
}
