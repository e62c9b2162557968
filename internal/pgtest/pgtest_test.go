package pgtest

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { Main(m) }

// The two isolation tests run in parallel; each creates a table with the
// same name and a marker row in its own database and must not see the
// other's. The rendezvous makes both databases exist at the same time.
var (
	bothCreated sync.WaitGroup
	dbNames     sync.Map
)

func init() { bothCreated.Add(2) }

func isolationTest(t *testing.T, marker string) {
	t.Parallel()
	ctx := t.Context()
	t0 := time.Now()
	pool := New(t)
	t.Logf("New (incl. lazy cluster start for the first caller) took %v", time.Since(t0).Round(time.Millisecond))

	var db string
	if err := pool.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(db, "test_") {
		t.Errorf("database %q lacks test_ prefix", db)
	}
	dbNames.Store(marker, db)

	var tables int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("fresh database has %d tables", tables)
	}
	if _, err := pool.Exec(ctx, "CREATE TABLE only_mine (marker text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO only_mine VALUES ($1)", marker); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "CREATE EXTENSION pg_trgm"); err != nil {
		t.Fatal(err)
	}

	bothCreated.Done()
	bothCreated.Wait()

	var markers []string
	rows, _ := pool.Query(ctx, "SELECT marker FROM only_mine")
	markers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(markers) != 1 || markers[0] != marker {
		t.Fatalf("only_mine = %v, want [%s]", markers, marker)
	}
	a, _ := dbNames.Load("a")
	b, _ := dbNames.Load("b")
	if a == b {
		t.Fatalf("both tests got database %v", a)
	}
}

func TestIsolationA(t *testing.T) { isolationTest(t, "a") }
func TestIsolationB(t *testing.T) { isolationTest(t, "b") }

func TestNewDSNDroppedAtCleanup(t *testing.T) {
	ctx := t.Context()
	var name string
	t.Run("owner", func(t *testing.T) {
		t0 := time.Now()
		dsn := NewDSN(t)
		t.Logf("NewDSN took %v", time.Since(t0).Round(time.Millisecond))
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		// Deliberately left open: the drop must terminate it (WITH (FORCE)).
		if err := pool.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pool.Close() })
	})
	s, err := getServer()
	if err != nil {
		t.Fatal(err)
	}
	var exists bool
	if err := s.admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if name == "" || exists {
		t.Fatalf("database %q still exists after its test finished", name)
	}
}

func BenchmarkNewDSN(b *testing.B) {
	for b.Loop() {
		NewDSN(b)
	}
}

func TestDBName(t *testing.T) {
	n := dbName("TestSomething/sub-test #2 with a very long name that goes on and on and on")
	if len(n) > 63 || !strings.HasPrefix(n, "test_testsomething_sub_test__2_") {
		t.Errorf("dbName = %q (%d bytes)", n, len(n))
	}
	if dbName("T") == dbName("T") {
		t.Error("dbName not random")
	}
}

func TestWithDatabase(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p@h:5432/postgres?sslmode=disable": "postgres://u:p@h:5432/test_x?sslmode=disable",
		"postgresql://h":                "postgresql://h/test_x",
		"host=h user=u dbname=postgres": "host=h user=u dbname=postgres dbname=test_x",
	} {
		got, err := withDatabase(in, "test_x")
		if err != nil || got != want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", in, got, err, want)
		}
		cfg, err := pgx.ParseConfig(got)
		if err != nil || cfg.Database != "test_x" {
			t.Errorf("ParseConfig(%q): database %q, %v", got, cfg.Database, err)
		}
	}
}

var _ = context.Background
var _ = os.Getenv
