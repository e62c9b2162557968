// Package pgtest gives each test its own empty database on a real
// PostgreSQL server. There is no mock.
//
// With TEST_DATABASE_URL set (any database on a server where the user may
// CREATE DATABASE; PostgreSQL 13+), test databases are created on that server.
// Otherwise a private cluster (package pgcluster, fsync off) is started lazily,
// once per test binary, in a temporary directory: under $PGTEST_DIR if set,
// else in /dev/shm on Linux when it is a tmpfs with >= 2 GiB free (CREATE
// DATABASE is ~5x faster there than on a VM disk), else under os.TempDir().
//
// Use it with a TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		pool := pgtest.New(t) // fresh database, dropped when the test ends
//		...
//	}
//
// Lifetime of the private cluster: pg_ctl daemonizes the server, so it does
// not die with the test binary by itself. Main stops it after m.Run and
// removes its directory. For the cases Main cannot handle (no TestMain, a
// panic, a test timeout, SIGKILL), the first start also launches a tiny
// detached shell watchdog (Unix only) that polls the test binary's PID every
// second and, once it is gone, shuts the server down (SIGINT, fast shutdown)
// and removes the directory. Only SIGKILL of the watchdog itself, or a
// system without /bin/sh, can leave a server behind; it then lives in
// <dir>/pgtest-* (see above) and can be stopped with pg_ctl stop -D <dir>/pg.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"contacts/internal/pgcluster"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	// EnvURL names the environment variable selecting an existing server.
	EnvURL = "TEST_DATABASE_URL"
	// EnvDir names the environment variable choosing the directory in which
	// the private cluster's temporary directory is created (default: /dev/shm
	// on Linux when it is a large enough tmpfs, else os.TempDir()).
	EnvDir = "PGTEST_DIR"

	// EnvDurable set to "1" starts the private cluster with fsync and
	// synchronous commit on, as a production server runs: benchmarks that
	// quote write throughput use it (with PGTEST_DIR on a real disk).
	EnvDurable = "PGTEST_DURABLE"
)

type server struct {
	baseDSN string             // DSN whose database part is replaced per test
	admin   *pgxpool.Pool      // maintenance connection for CREATE/DROP DATABASE
	cluster *pgcluster.Cluster // nil with TEST_DATABASE_URL
	tmpDir  string
}

var (
	mu       sync.Mutex // guards srv, srvErr, started, isClosed
	srv      *server
	srvErr   error
	started  bool
	isClosed bool
)

func getServer() (*server, error) {
	mu.Lock()
	defer mu.Unlock()
	if isClosed {
		return nil, errors.New("pgtest: used after pgtest.Main finished")
	}
	if !started {
		started = true
		srv, srvErr = startServer()
	}
	return srv, srvErr
}

func startServer() (*server, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if u := os.Getenv(EnvURL); u != "" {
		admin, err := pgxpool.New(ctx, u)
		if err == nil {
			err = admin.Ping(ctx)
			if err != nil {
				admin.Close()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("pgtest: connecting to %s: %w", EnvURL, err)
		}
		return &server{baseDSN: u, admin: admin}, nil
	}

	if _, err := pgcluster.FindBinaries(); err != nil {
		return nil, fmt.Errorf("pgtest: tests need a real PostgreSQL server: %w "+
			"For tests, set %s to a server where databases can be created (e.g. postgres://postgres@localhost:5432/postgres?sslmode=disable).",
			err, EnvURL)
	}
	// os.MkdirTemp creates 0700; the postgres user must traverse it when
	// we run as root (pgcluster owns what it creates inside).
	dir, err := os.MkdirTemp(clusterParentDir(), "pgtest-")
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		return nil, fmt.Errorf("pgtest: creating cluster directory: %w", err)
	}
	c, err := pgcluster.Start(ctx, pgcluster.Options{DataDir: dir, Fsync: os.Getenv(EnvDurable) == "1"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: starting private PostgreSQL cluster: %w", err)
	}
	startWatchdog(os.Getpid(), c.PGData(), dir)
	admin, err := pgxpool.New(ctx, c.DSN("postgres"))
	if err != nil {
		_ = c.Stop(context.Background())
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return &server{baseDSN: c.DSN("postgres"), admin: admin, cluster: c, tmpDir: dir}, nil
}

// NewDSN creates a fresh, empty database for this test and returns its DSN;
// the caller opens (and should close) its own connections. The database is
// dropped, with any remaining connections terminated, at t.Cleanup.
func NewDSN(t testing.TB) string {
	t.Helper()
	s, err := getServer()
	if err != nil {
		t.Fatalf("%v", err)
	}
	name := dbName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// From template1 (the default): fast, and nothing connects to it.
	if _, err := s.admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: dropping database %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(s.baseDSN, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// New returns a pool connected to a fresh, empty database for this test.
// The pool is closed and the database dropped at t.Cleanup.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dsn := NewDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: opening pool: %v", err)
	}
	t.Cleanup(pool.Close) // registered after the drop, so it runs before it
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("pgtest: connecting to test database: %v", err)
	}
	return pool
}

// Main runs the tests and then stops the private cluster (if one was
// started) and removes its directory. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	os.Exit(runWithCleanup(m))
}

func runWithCleanup(m *testing.M) int {
	code := m.Run()
	if err := shutdown(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
	}
	return code
}

func shutdown() error {
	mu.Lock()
	defer mu.Unlock()
	isClosed = true
	if srv == nil {
		return nil
	}
	s := srv
	srv = nil
	s.admin.Close()
	if s.cluster == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := s.cluster.Stop(ctx)
	if err == nil {
		err = os.RemoveAll(s.tmpDir)
	}
	return err
}

// dbName is test_<test name, sanitized>_<random>, at most 63 bytes.
func dbName(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 40 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	return "test_" + b.String() + "_" + hex.EncodeToString(rnd[:])
}

// withDatabase returns dsn (URL or keyword/value form) with its database
// replaced by name.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parsing %s: %w", EnvURL, err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// keyword/value: a later dbname overrides an earlier one.
	return dsn + " dbname=" + name, nil
}
