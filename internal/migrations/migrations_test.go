package migrations_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/internal/migrations"
	"contacts/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Several instances (each with its own pool) starting at once on an empty
// database all succeed, and each migration is applied exactly once.
func TestConcurrentApply(t *testing.T) {
	// The race is a few milliseconds wide: try it on several fresh databases.
	for range 8 {
		concurrentApply(t)
	}
}

func concurrentApply(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDSN(t)
	const instances = 4
	pools := make([]*pgxpool.Pool, instances)
	for i := range pools {
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		if err := pool.Ping(ctx); err != nil { // connected before the start line
			t.Fatal(err)
		}
		pools[i] = pool
	}
	applied := make([][]string, instances)
	errs := make([]error, instances)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			applied[i], errs[i] = migrations.Apply(ctx, pools[i])
		}()
	}
	close(start)
	wg.Wait()
	total := 0
	for i := range instances {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		total += len(applied[i])
	}
	var recorded int
	if err := pools[0].QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if total != recorded || recorded == 0 {
		t.Fatalf("applied %d in all, %d recorded", total, recorded)
	}
	again, err := migrations.Apply(ctx, pools[1])
	if err != nil || len(again) != 0 {
		t.Fatalf("second apply: %v, %v", again, err)
	}
}
