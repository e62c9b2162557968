// Package pgcluster runs a private PostgreSQL cluster (initdb + pg_ctl) in a
// directory owned by the application, for zero-configuration local runs and
// tests.
//
// Layout under Options.DataDir:
//
//	pg/            the cluster (PGDATA); pg/pgcluster.conf and pg/pg_hba.conf are rewritten at every start
//	pg-run/        Unix socket directory (0700, owned by the server's OS user)
//	pg-password    the superuser's generated password (0600)
//	pg.log         server log (pg_ctl -l), rotated to pg.log.1 above 16 MiB
//	pgcluster.lock flock held by the Cluster while it runs
//
// The server listens on 127.0.0.1 and on a Unix socket in a directory only
// its OS user can enter. Every connection must authenticate with a password
// (scram-sha-256): any OS user of the machine can reach 127.0.0.1, and must
// not read the tenants' data. The superuser postgres has a generated password
// kept in pg-password; DSN includes it. A cluster created by an earlier
// version (initdb --auth=trust, no password) is given one on its next Start.
// When the process runs as root, the binaries run as the "postgres" system
// user and the cluster files are owned by it.
//
// The server is a separate, daemonized process: if this process dies without
// calling Stop, the server keeps running. The next Start on the same DataDir
// detects it (postmaster.pid with a live PID), stops it and starts afresh.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Options configures Start.
type Options struct {
	DataDir string       // cluster lives in DataDir/pg (created if missing)
	Port    int          // 0 = pick a free TCP port on 127.0.0.1 at each start
	Logger  *slog.Logger // may be nil
	Fsync   bool         // false for tests (fsync=off, synchronous_commit=off, full_page_writes=off)
}

// Cluster is a running private PostgreSQL server. Its methods are safe for
// concurrent use.
type Cluster struct {
	binDir   string
	dataDir  string
	pgData   string
	sockDir  string // "" = Unix sockets disabled (path too long)
	logFile  string
	port     int
	password string // the superuser's; "" only when attached to an older, password-less server
	log      *slog.Logger
	runAs    *runAs

	mu       sync.Mutex
	lock     *os.File
	stopped  bool
	attached bool // another process owns the server: Stop leaves it running
}

const (
	startTimeoutSec = "60"
	maxLogSize      = 16 << 20
	confFile        = "pgcluster.conf"
	passwordFile    = "pg-password"
	includeLine     = "include_if_exists = '" + confFile + "'"
)

var errLocked = errors.New("locked")

// Start initializes (first time only) and starts the cluster in
// opt.DataDir/pg, and returns once it accepts connections. An existing cluster
// is reused with its data; a server left running by a previous process is
// stopped first and a stale postmaster.pid is removed.
//
// If ctx is cancelled while pg_ctl runs, pg_ctl is killed but the server may
// still come up; call Start again (it will stop and restart it).
func Start(ctx context.Context, opt Options) (*Cluster, error) {
	if opt.DataDir == "" {
		return nil, errors.New("pgcluster: Options.DataDir is required")
	}
	binDir, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	dataDir, err := filepath.Abs(opt.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	c := &Cluster{
		binDir:  binDir,
		dataDir: dataDir,
		pgData:  filepath.Join(dataDir, "pg"),
		logFile: filepath.Join(dataDir, "pg.log"),
		log:     opt.Logger,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.runAs, err = currentRunAs(); err != nil {
		return nil, err
	}
	if err := c.makeDataDir(); err != nil {
		return nil, err
	}
	if c.lock, err = lockDir(filepath.Join(dataDir, "pgcluster.lock")); err != nil {
		if errors.Is(err, errLocked) {
			// Another process (say `contacts serve`) runs this cluster: use its
			// server, as `contacts projections rebuild` beside it must.
			if port, ok := livePort(c.pgData); ok {
				c.port, c.attached = port, true
				if c.password, err = readPassword(filepath.Join(dataDir, passwordFile)); err != nil {
					return nil, err
				}
				c.log.Info("postgres already running, owned by another process: attached", "port", port, "pgdata", c.pgData)
				return c, nil
			}
			return nil, fmt.Errorf("pgcluster: data directory %s is in use by another running process; stop it or choose another data directory", dataDir)
		}
		return nil, fmt.Errorf("pgcluster: locking data directory: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			c.lock.Close()
		}
	}()

	t0 := time.Now()
	if err := c.prepareRunFiles(); err != nil {
		return nil, err
	}
	if err := c.stopLeftover(ctx); err != nil {
		return nil, err
	}
	if err := c.initIfNeeded(ctx, opt.Fsync); err != nil {
		return nil, err
	}
	if err := c.ensureAuth(ctx); err != nil {
		return nil, err
	}
	if err := c.start(ctx, opt.Port, opt.Fsync); err != nil {
		return nil, err
	}
	ok = true
	c.log.Info("postgres started", "port", c.port, "pgdata", c.pgData, "log", c.logFile,
		"fsync", opt.Fsync, "took", time.Since(t0).Round(time.Millisecond))
	return c, nil
}

// DSN returns the URL of database on this cluster, with the superuser's
// password: postgres://postgres:PASSWORD@127.0.0.1:PORT/database?sslmode=disable
func (c *Cluster) DSN(database string) string {
	u := url.URL{Scheme: "postgres", Host: fmt.Sprintf("127.0.0.1:%d", c.port), Path: "/" + database, RawQuery: "sslmode=disable"}
	if c.password != "" {
		u.User = url.UserPassword("postgres", c.password)
	} else {
		u.User = url.User("postgres")
	}
	return u.String()
}

// Port is the TCP port the server listens on (127.0.0.1).
func (c *Cluster) Port() int { return c.port }

// PGData is the cluster's data directory (Options.DataDir/pg).
func (c *Cluster) PGData() string { return c.pgData }

// LogFile is the server log file.
func (c *Cluster) LogFile() string { return c.logFile }

// Stop shuts the server down (pg_ctl stop -m fast) and waits until it has
// exited. Calling Stop again is a no-op.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped || c.attached {
		c.stopped = true
		return nil
	}
	if _, err := os.Stat(filepath.Join(c.pgData, "postmaster.pid")); err == nil {
		t0 := time.Now()
		out, err := c.pgctl(ctx, "stop", "-w", "-t", startTimeoutSec, "-m", "fast", "-D", c.pgData)
		if err != nil {
			return c.cmdError("pg_ctl stop", err, out, 0)
		}
		c.log.Info("postgres stopped", "pgdata", c.pgData, "took", time.Since(t0).Round(time.Millisecond))
	}
	c.stopped = true
	c.lock.Close()
	return nil
}

// livePort reads the port of the server running in pgData from its
// postmaster.pid (line 1: pid, line 4: port), if that server is alive.
func livePort(pgData string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(pgData, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return 0, false
	}
	pid, err1 := strconv.Atoi(strings.TrimSpace(lines[0]))
	port, err2 := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err1 != nil || err2 != nil || !processAlive(pid) {
		return 0, false
	}
	return port, true
}

// EnsureDatabase creates database name on the cluster unless it exists.
func (c *Cluster) EnsureDatabase(ctx context.Context, name string) error {
	if name == "" {
		return errors.New("pgcluster: empty database name")
	}
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("pgcluster: connecting to maintenance database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("pgcluster: checking database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created concurrently
		return nil
	}
	if err != nil {
		return fmt.Errorf("pgcluster: creating database %q: %w", name, err)
	}
	c.log.Info("created database", "name", name)
	return nil
}

// makeDataDir creates DataDir; the directories it creates are 0755 so that,
// as root, the postgres user can traverse them.
func (c *Cluster) makeDataDir() error {
	var missing []string
	for p := c.dataDir; ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("pgcluster: %w", err)
		}
		missing = append(missing, p)
		if filepath.Dir(p) == p {
			break
		}
	}
	// Check before creating anything (the directories created below are
	// 0755, so checking the deepest existing one suffices).
	existing := c.dataDir
	if len(missing) > 0 {
		existing = filepath.Dir(missing[len(missing)-1])
	}
	if err := c.runAs.checkTraversable(existing); err != nil {
		return fmt.Errorf("pgcluster: running as root, PostgreSQL must run as user %q, which cannot reach the data directory %s: %v; "+
			"choose a data directory it can reach (e.g. set CONTACTS_DATA_DIR=/var/lib/contacts or a directory under /tmp)",
			c.runAs.name, c.dataDir, err)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		// 0755 explicitly (not subject to umask): when running as root, the
		// postgres user must be able to traverse the directories we create.
		if err := os.Mkdir(missing[i], 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("pgcluster: creating data directory: %w", err)
		}
		if err := os.Chmod(missing[i], 0o755); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
	}
	return nil
}

// prepareRunFiles creates the socket directory and the log file, owned by
// the user the server runs as. Called with the data directory locked.
func (c *Cluster) prepareRunFiles() error {

	// Unix socket: its path (dir + "/.s.PGSQL.NNNNN") must fit in sun_path
	// (104 bytes on macOS, 108 on Linux). Too long: TCP only.
	c.sockDir = filepath.Join(c.dataDir, "pg-run")
	if len(c.sockDir)+len("/.s.PGSQL.65535") >= 104 {
		c.sockDir = ""
	} else {
		if err := os.MkdirAll(c.sockDir, 0o700); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		// Only the server's OS user may enter it (earlier versions may
		// have left it more open).
		if err := os.Chmod(c.sockDir, 0o700); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if err := c.runAs.chown(c.sockDir); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
	}

	if fi, err := os.Stat(c.logFile); err == nil && fi.Size() > maxLogSize {
		_ = os.Rename(c.logFile, c.logFile+".1")
	}
	f, err := os.OpenFile(c.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	f.Close()
	if err := c.runAs.chown(c.logFile); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

// stopLeftover handles a postmaster.pid left by a previous run: stops the
// server if it is still alive, otherwise removes the stale file.
func (c *Cluster) stopLeftover(ctx context.Context) error {
	pidFile := filepath.Join(c.pgData, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	if !processAlive(pid) {
		c.log.Info("removing stale postmaster.pid", "pid", pid, "pgdata", c.pgData)
		if err := os.Remove(pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("pgcluster: removing stale postmaster.pid: %w", err)
		}
		return nil
	}
	c.log.Info("stopping postgres left running by a previous run", "pid", pid, "pgdata", c.pgData)
	out, err := c.pgctl(ctx, "stop", "-w", "-t", startTimeoutSec, "-m", "fast", "-D", c.pgData)
	if err != nil {
		return c.cmdError(fmt.Sprintf("stopping the server left running (pid %d) in %s: pg_ctl stop", pid, c.pgData), err, out, 0)
	}
	return nil
}

// initIfNeeded runs initdb unless pgData already holds a cluster. initdb runs
// into a scratch directory that is renamed into place on success, so an
// interrupted initdb never leaves a half-initialized cluster behind.
func (c *Cluster) initIfNeeded(ctx context.Context, fsync bool) error {
	if _, err := os.Stat(filepath.Join(c.pgData, "PG_VERSION")); err == nil {
		return c.ensureInclude(c.pgData)
	}
	if entries, err := os.ReadDir(c.pgData); err == nil {
		if len(entries) > 0 {
			return fmt.Errorf("pgcluster: %s exists but is not a PostgreSQL data directory (no PG_VERSION); remove it or choose another data directory", c.pgData)
		}
		if err := os.Remove(c.pgData); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
	}

	tmp := filepath.Join(c.dataDir, "pg.initdb")
	t0 := time.Now()
	var outs [][]byte
	for _, locale := range []string{"--locale=C.UTF-8", "--no-locale"} {
		if err := os.RemoveAll(tmp); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if err := os.Mkdir(tmp, 0o700); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if err := c.runAs.chown(tmp); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		args := []string{"-D", tmp, "-U", "postgres", "--auth=trust", "--encoding=UTF8", locale}
		if !fsync {
			args = append(args, "--no-sync")
		}
		out, err := c.run(ctx, "initdb", args...)
		if err == nil {
			outs = nil
			break
		}
		outs = append(outs, out)
		if ctx.Err() != nil || len(outs) == 2 {
			_ = os.RemoveAll(tmp)
			return c.cmdError("initdb", err, bytes.Join(outs, []byte("\n--- retry with --no-locale ---\n")), -1)
		}
		c.log.Warn("initdb with C.UTF-8 locale failed, retrying with --no-locale", "output", tail(out, 500))
	}
	if err := c.ensureInclude(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, c.pgData); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	c.log.Info("initialized new PostgreSQL cluster", "pgdata", c.pgData, "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// ensureInclude makes postgresql.conf include pgcluster.conf, which start
// rewrites every time with the per-run settings.
func (c *Cluster) ensureInclude(pgData string) error {
	p := filepath.Join(pgData, "postgresql.conf")
	b, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == includeLine {
			return nil
		}
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n# Added by pgcluster: settings rewritten at every start.\n%s\n", includeLine)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

func (c *Cluster) writeConf(port int, fsync bool) error {
	onOff, maxWAL := "off", "256MB" // throwaway test clusters may live on tmpfs: bound the WAL
	if fsync {
		onOff, maxWAL = "on", "1GB"
	}
	conf := fmt.Sprintf(`# Written by pgcluster at every start; edits are lost. Use ALTER SYSTEM instead.
port = %d
listen_addresses = '127.0.0.1'
unix_socket_directories = %s
max_connections = 200
shared_buffers = %s
fsync = %s
synchronous_commit = %s
full_page_writes = %s
max_wal_size = %s
`, port, confQuote(c.sockDir), sharedBuffers(fsync), onOff, onOff, onOff, maxWAL)
	p := filepath.Join(c.pgData, confFile)
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

// sharedBuffers sizes PostgreSQL's own cache. A cluster that keeps its data
// (fsync on: `contacts serve`, durable benchmarks) gets an eighth of the
// machine's memory, between 256 MB and 4 GB: read-model queries over a
// million contacts touch a few hundred megabytes, and the kernel's page
// cache alone does not keep them (measured: a count by two filters, p50
// 618 ms with 256 MB, 91 ms with 3 GB). Throwaway test clusters, many at
// once, keep 256 MB.
func sharedBuffers(fsync bool) string {
	const floor, ceiling = 256 << 20, 4 << 30
	if !fsync {
		return "256MB"
	}
	size := min(max(memTotal()/8, floor), ceiling)
	return fmt.Sprintf("%dMB", size>>20)
}

// memTotal is the machine's memory in bytes (0 where /proc/meminfo is not).
func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" { // "MemTotal: 24558276 kB"
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

func confQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func (c *Cluster) start(ctx context.Context, fixedPort int, fsync bool) error {
	for attempt := 1; ; attempt++ {
		port := fixedPort
		if port == 0 {
			var err error
			if port, err = freePort(); err != nil {
				return fmt.Errorf("pgcluster: picking a free port: %w", err)
			}
		}
		if err := c.writeConf(port, fsync); err != nil {
			return err
		}
		if err := c.runAs.chownTree(c.pgData); err != nil {
			return fmt.Errorf("pgcluster: giving %s to the postgres user: %w", c.pgData, err)
		}
		var logOffset int64
		if fi, err := os.Stat(c.logFile); err == nil {
			logOffset = fi.Size()
		}
		out, err := c.pgctl(ctx, "start", "-w", "-t", startTimeoutSec, "-D", c.pgData, "-l", c.logFile)
		if err == nil {
			c.port = port
			return nil
		}
		// Another process may have taken the free port between freePort
		// and the server's bind: pick another one.
		if fixedPort == 0 && attempt < 5 && ctx.Err() == nil && portInUse(readFrom(c.logFile, logOffset)) {
			c.log.Warn("port taken before postgres could bind it, retrying", "port", port)
			continue
		}
		return c.cmdError("pg_ctl start", err, out, logOffset)
	}
}

func portInUse(log []byte) bool {
	return bytes.Contains(log, []byte("Address already in use")) ||
		bytes.Contains(log, []byte("could not bind"))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *Cluster) pgctl(ctx context.Context, args ...string) ([]byte, error) {
	return c.run(ctx, "pg_ctl", args...)
}

// run executes a PostgreSQL binary (as the postgres user when root) and
// returns its combined output.
func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, exe(name)), args...)
	cmd.Dir = c.dataDir // the cwd must be accessible to the postgres user
	cmd.Env = cleanEnv()
	// pg_ctl start redirects the server's stdio to the log file (-l), so
	// the output pipe closes when pg_ctl exits; WaitDelay is a safety net.
	cmd.WaitDelay = 10 * time.Second
	c.runAs.apply(cmd)
	return cmd.CombinedOutput()
}

// cleanEnv drops PG* variables (PGDATA, PGPORT, PGOPTIONS, ...) that could
// redirect or reconfigure the binaries.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// cmdError builds an error with the tail of the command output and of the
// server log written since logOffset (no log if logOffset < 0).
func (c *Cluster) cmdError(what string, err error, out []byte, logOffset int64) error {
	var b strings.Builder
	fmt.Fprintf(&b, "pgcluster: %s failed: %v", what, err)
	if t := strings.TrimSpace(tail(out, 2000)); t != "" {
		fmt.Fprintf(&b, "\n--- output ---\n%s", t)
	}
	if logOffset >= 0 {
		if log := strings.TrimSpace(tail(readFrom(c.logFile, logOffset), 2000)); log != "" {
			fmt.Fprintf(&b, "\n--- %s ---\n%s", c.logFile, log)
		}
	}
	return errors.New(b.String())
}

func readFrom(path string, offset int64) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size()-offset > 1<<20 {
		offset = fi.Size() - 1<<20
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(f)
	return b
}

// tail returns about the last n bytes of b, starting at a line boundary.
func tail(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	b = b[len(b)-n:]
	if i := bytes.IndexByte(b, '\n'); i >= 0 && i < len(b)-1 {
		b = b[i+1:]
	}
	return "...\n" + string(b)
}
