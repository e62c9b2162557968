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
		if !d.Allowed || d.Limit != 20 || d.Remaining != 19-i {
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

func TestDisabled(t *testing.T) {
	var l *Limiter = New(0, 5)
	for i := 0; i < 1000; i++ {
		if !l.Take("k").Allowed {
			t.Fatal("a disabled limiter refused")
		}
	}
}
