package leader_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"contacts/internal/leader"
	"contacts/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Two instances: one works at a time; when it stops, the other takes over.
func TestOneLeaderAtATime(t *testing.T) {
	pool := pgtest.New(t)
	var running, maxRunning, starts, leaderID atomic.Int32
	work := func(id int32) func(context.Context) error {
		return func(ctx context.Context) error {
			leaderID.Store(id)
			return count(ctx, &running, &maxRunning, &starts)
		}
	}
	opt := leader.Options{Retry: 20 * time.Millisecond, Check: 50 * time.Millisecond}
	ctxs := [2]context.Context{}
	stops := [2]context.CancelFunc{}
	dones := [2]chan error{make(chan error, 1), make(chan error, 1)}
	for i := range ctxs {
		ctxs[i], stops[i] = context.WithCancel(context.Background())
		defer stops[i]()
		go func(i int) { dones[i] <- leader.Run(ctxs[i], pool, "test", opt, work(int32(i))) }(i)
	}

	waitFor(t, func() bool { return starts.Load() == 1 })
	time.Sleep(200 * time.Millisecond) // the follower keeps trying meanwhile
	if starts.Load() != 1 || maxRunning.Load() != 1 {
		t.Fatalf("starts %d, most at once %d: want one leader", starts.Load(), maxRunning.Load())
	}
	first := leaderID.Load()
	stops[first]()
	<-dones[first]
	waitFor(t, func() bool { return starts.Load() == 2 })
	if maxRunning.Load() != 1 || leaderID.Load() == first {
		t.Fatalf("%d worked at once; leader %d after %d stopped", maxRunning.Load(), leaderID.Load(), first)
	}
	stops[1-first]()
	if err := <-dones[1-first]; err != nil {
		t.Fatal(err)
	}
}

// count records one work session: how many ran, and the most at once.
func count(ctx context.Context, running, maxRunning, starts *atomic.Int32) error {
	starts.Add(1)
	n := running.Add(1)
	for m := maxRunning.Load(); n > m && !maxRunning.CompareAndSwap(m, n); m = maxRunning.Load() {
	}
	<-ctx.Done()
	running.Add(-1)
	return nil
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
