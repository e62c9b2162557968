package pgcluster

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// tempDataDir returns a fresh directory the postgres user can reach even
// when the tests run as root (t.TempDir's parent is mode 0700).
func tempDataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func startCluster(t *testing.T, opt Options) *Cluster {
	t.Helper()
	t0 := time.Now()
	c, err := Start(t.Context(), opt)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %v (port %d)", time.Since(t0).Round(time.Millisecond), c.Port())
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("Stop (cleanup): %v", err)
		}
	})
	return c
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestStartRestartReusesData(t *testing.T) {
	ctx := t.Context()
	dir := tempDataDir(t)
	opt := Options{DataDir: dir, Logger: testLogger(t)}

	c := startCluster(t, opt)
	if want := "postgres://postgres:" + c.password + "@127.0.0.1:" + strconv.Itoa(c.Port()) + "/postgres?sslmode=disable"; c.password == "" || c.DSN("postgres") != want {
		t.Fatalf("DSN = %q, want %q", c.DSN("postgres"), want)
	}
	conn := connect(t, c.DSN("postgres"))
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	var fsync string
	if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil || fsync != "off" {
		t.Fatalf("fsync = %q, %v; want off", fsync, err)
	}
	for _, q := range []string{
		"CREATE EXTENSION pg_trgm",
		"CREATE TABLE persisted (name text)",
		"INSERT INTO persisted VALUES ('kept across restarts')",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var sim float64
	if err := conn.QueryRow(ctx, "SELECT similarity('contacts', 'contact')").Scan(&sim); err != nil || sim <= 0 {
		t.Fatalf("similarity = %v, %v", sim, err)
	}
	conn.Close(ctx)

	t0 := time.Now()
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %v", time.Since(t0).Round(time.Millisecond))
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c.PGData(), "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("postmaster.pid still present after Stop: %v", err)
	}

	c2 := startCluster(t, opt) // reuse
	conn = connect(t, c2.DSN("postgres"))
	var name string
	if err := conn.QueryRow(ctx, "SELECT name FROM persisted").Scan(&name); err != nil || name != "kept across restarts" {
		t.Fatalf("after restart: name = %q, %v", name, err)
	}
	conn.Close(ctx)

	if err := c2.EnsureDatabase(ctx, "app-db"); err != nil {
		t.Fatalf("EnsureDatabase: %v", err)
	}
	if err := c2.EnsureDatabase(ctx, "app-db"); err != nil {
		t.Fatalf("EnsureDatabase (exists): %v", err)
	}
	conn = connect(t, c2.DSN("app-db"))
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != "app-db" {
		t.Fatalf("current_database = %q, %v", db, err)
	}
	conn.Close(ctx)

	if err := c2.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func TestFsyncOn(t *testing.T) {
	c := startCluster(t, Options{DataDir: tempDataDir(t), Fsync: true})
	conn := connect(t, c.DSN("postgres"))
	for _, setting := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
		var v string
		if err := conn.QueryRow(t.Context(), "SHOW "+setting).Scan(&v); err != nil || v != "on" {
			t.Errorf("%s = %q, %v; want on", setting, v, err)
		}
	}
}

// A previous process that died without Stop leaves either a live server or a
// stale postmaster.pid behind; Start must cope with both.
func TestStartAfterCrash(t *testing.T) {
	ctx := t.Context()
	dir := tempDataDir(t)
	opt := Options{DataDir: dir, Logger: testLogger(t)}

	c1 := startCluster(t, opt)
	// A second Start while the owner runs attaches to its server and leaves
	// it running when stopped.
	attached, err := Start(ctx, opt)
	if err != nil || attached.Port() != c1.Port() {
		t.Fatalf("second concurrent Start: %v, port %v want %d", err, attached, c1.Port())
	}
	if err := attached.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := connect(t, c1.DSN("postgres")).Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("stopping the attached cluster stopped the owner's server: %v", err)
	}
	// Simulate the owning process dying: its lock goes away, the server stays.
	c1.lock.Close()
	c1.stopped = true
	c2 := startCluster(t, opt)
	if _, err := connect(t, c2.DSN("postgres")).Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if err := c2.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// Stale postmaster.pid pointing at a dead process.
	pidFile := filepath.Join(c2.PGData(), "postmaster.pid")
	if err := os.WriteFile(pidFile, []byte("2147483000\n"+c2.PGData()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c3 := startCluster(t, opt)
	if _, err := connect(t, c3.DSN("postgres")).Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
}

func TestStartRefusesForeignDirectory(t *testing.T) {
	dir := tempDataDir(t)
	if err := os.MkdirAll(filepath.Join(dir, "pg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pg", "precious.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Start(t.Context(), Options{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "not a PostgreSQL data directory") {
		t.Fatalf("err = %v", err)
	}
}

func TestFindBinariesNotFound(t *testing.T) {
	const want = "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin. " +
		"Install them (Debian/Ubuntu: sudo apt-get install postgresql; macOS: brew install postgresql@16) " +
		"or set DATABASE_URL to an existing server."
	check := func(t *testing.T, dir string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("found %q, want error", dir)
		}
		if !errors.Is(err, ErrNoBinaries) {
			t.Errorf("errors.Is(err, ErrNoBinaries) = false for %v", err)
		}
		if err.Error() != want {
			t.Errorf("message:\n got %q\nwant %q", err.Error(), want)
		}
	}

	empty := t.TempDir()
	dir, err := findBinaries("", []string{filepath.Join(empty, "postgresql", "*", "bin")})
	check(t, dir, err)

	// Through the public API, with an empty PATH and no search directories.
	t.Setenv("PATH", "")
	old := searchGlobs
	searchGlobs = nil
	t.Cleanup(func() { searchGlobs = old })
	dir, err = FindBinaries()
	check(t, dir, err)
	_, err = Start(t.Context(), Options{DataDir: t.TempDir()})
	check(t, "", err)
}

func TestFindBinariesSearchOrder(t *testing.T) {
	root := t.TempDir()
	mk := func(dir string, names ...string) string {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	all := []string{"initdb", "pg_ctl", "postgres"}
	lib := filepath.Join(root, "lib", "postgresql")
	mk(filepath.Join(lib, "9.6", "bin"), all...)
	v15 := mk(filepath.Join(lib, "15", "bin"), all...)
	mk(filepath.Join(lib, "16", "bin"), "initdb", "pg_ctl") // incomplete: no postgres
	brew := mk(filepath.Join(root, "brew", "postgresql@14", "bin"), all...)
	globs := []string{filepath.Join(lib, "*", "bin"), filepath.Join(root, "brew", "postgresql*", "bin")}

	if dir, err := findBinaries("", globs); err != nil || dir != v15 {
		t.Errorf("findBinaries = %q, %v; want %q (highest complete version)", dir, err, v15)
	}

	// PATH wins, and a symlinked initdb resolves to its installation dir.
	pathDir := mk(filepath.Join(root, "usr", "local", "bin"))
	if err := os.Symlink(filepath.Join(brew, "initdb"), filepath.Join(pathDir, "initdb")); err != nil {
		t.Fatal(err)
	}
	if dir, err := findBinaries("relative/dir"+string(os.PathListSeparator)+pathDir, globs); err != nil || dir != brew {
		t.Errorf("findBinaries via PATH = %q, %v; want %q", dir, err, brew)
	}
}

func TestVersionOf(t *testing.T) {
	for dir, want := range map[string][]int{
		"/usr/lib/postgresql/15/bin":          {15},
		"/usr/pgsql-9.6/bin":                  {9, 6},
		"/opt/homebrew/opt/postgresql@16/bin": {16},
		"/usr/local/opt/postgresql/bin":       nil,
	} {
		if got := versionOf(dir); !slices.Equal(got, want) {
			t.Errorf("versionOf(%q) = %v, want %v", dir, got, want)
		}
	}
}

func TestSharedBuffers(t *testing.T) {
	if got := sharedBuffers(false); got != "256MB" {
		t.Fatalf("test cluster: %s", got)
	}
	got := sharedBuffers(true)
	mb, err := strconv.Atoi(strings.TrimSuffix(got, "MB"))
	if err != nil || mb < 256 || mb > 4096 {
		t.Fatalf("durable cluster: %s", got)
	}
	if m := memTotal(); m > 0 && mb != int(min(max(m/8, 256<<20), 4<<30)>>20) {
		t.Fatalf("durable cluster: %s for %d bytes of memory", got, m)
	}
}

// TestPasswordRequired: any OS user can reach 127.0.0.1, so the cluster must
// not trust it (nor its socket): only the generated password, kept 0600,
// lets one in.
func TestPasswordRequired(t *testing.T) {
	ctx := t.Context()
	dir := tempDataDir(t)
	c := startCluster(t, Options{DataDir: dir, Logger: testLogger(t)})

	fi, err := os.Stat(filepath.Join(dir, passwordFile))
	if err != nil {
		t.Fatalf("password file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %#o, want 0600", fi.Mode().Perm())
	}
	if c.sockDir != "" {
		if fi, err := os.Stat(c.sockDir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("socket directory: %v, mode %v; want 0700", err, fi.Mode())
		}
	}
	if _, err := connect(t, c.DSN("postgres")).Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("with the password: %v", err)
	}
	noPassword := "postgres://postgres@127.0.0.1:" + strconv.Itoa(c.Port()) + "/postgres?sslmode=disable"
	if conn, err := pgx.Connect(ctx, noPassword); err == nil {
		conn.Close(ctx)
		t.Fatal("password-less TCP connection accepted")
	}
	wrong := "postgres://postgres:wrong@127.0.0.1:" + strconv.Itoa(c.Port()) + "/postgres?sslmode=disable"
	if conn, err := pgx.Connect(ctx, wrong); err == nil {
		conn.Close(ctx)
		t.Fatal("wrong password accepted")
	}
	if c.sockDir != "" {
		sock := "host=" + c.sockDir + " port=" + strconv.Itoa(c.Port()) + " user=postgres dbname=postgres"
		if conn, err := pgx.Connect(ctx, sock); err == nil {
			conn.Close(ctx)
			t.Fatal("password-less socket connection accepted")
		}
	}
}

// TestUpgradeTrustCluster: a cluster made by an earlier version (initdb
// --auth=trust, no password) gets a password on its next start and keeps
// its data.
func TestUpgradeTrustCluster(t *testing.T) {
	ctx := t.Context()
	dir := tempDataDir(t)
	opt := Options{DataDir: dir, Logger: testLogger(t)}
	c := startCluster(t, opt)
	conn := connect(t, c.DSN("postgres"))
	for _, q := range []string{
		"CREATE TABLE kept (v text)", "INSERT INTO kept VALUES ('tenant data')",
		"ALTER ROLE postgres PASSWORD NULL", // as initdb --auth=trust left it
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn.Close(ctx)
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// What earlier versions left on disk: trust everywhere, no password file.
	oldHBA := "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n"
	if err := os.WriteFile(filepath.Join(c.PGData(), "pg_hba.conf"), []byte(oldHBA), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, passwordFile)); err != nil {
		t.Fatal(err)
	}

	c2 := startCluster(t, opt)
	fi, err := os.Stat(filepath.Join(dir, passwordFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file after upgrade: %v %v", err, fi)
	}
	noPassword := "postgres://postgres@127.0.0.1:" + strconv.Itoa(c2.Port()) + "/postgres?sslmode=disable"
	if conn, err := pgx.Connect(ctx, noPassword); err == nil {
		conn.Close(ctx)
		t.Fatal("upgraded cluster still accepts a password-less connection")
	}
	var v string
	if err := connect(t, c2.DSN("postgres")).QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != "tenant data" {
		t.Fatalf("after upgrade: %q, %v", v, err)
	}
	hba, _ := os.ReadFile(filepath.Join(c2.PGData(), "pg_hba.conf"))
	if strings.Contains(string(hba), "trust") && !strings.Contains(string(hba), "scram-sha-256") {
		t.Fatalf("pg_hba.conf not rewritten:\n%s", hba)
	}
}
