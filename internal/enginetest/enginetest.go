// Package enginetest gives tests the project's real distributed engines:
// Apache Kafka and Elasticsearch, each a single node started from Maven
// Central artifacts by the scripts in deploy/engines/. There is no fake.
//
//	brokers := enginetest.Kafka(t)        // "127.0.0.1:port"
//	url := enginetest.Elasticsearch(t)   // "http://127.0.0.1:port"
//
// Sharing: `make test` starts both engines once, before `go test`, in
// .engines/test/ of the repository, hands them to every test binary in
// KAFKA_BROKERS and ELASTICSEARCH_URL, and stops them (and removes their
// data) when the run ends. Without those variables (`go test ./pkg` by hand)
// the first test that asks starts the engine under .engines/ — the one
// `make engines` starts — holding a file lock so that test binaries running
// in parallel start it once; it is reused by later runs and stays up until
// `make engines-stop`.
//
// Tests share the engines: each must use names of its own (Unique: a topic
// prefix, consumer groups, an index prefix).
//
// The variables are read once, when the test binary starts, and then
// removed from its environment: code under test that reads KAFKA_BROKERS or
// ELASTICSEARCH_URL (the service's configuration) sees only what a test sets
// itself, so a test that means "no broker" gets none.
//
// PrivateKafka starts a broker owned by one test, which the test may stop
// and start again (the shared one must never be disturbed).
package enginetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Environment variables naming running engines.
const (
	EnvKafka         = "KAFKA_BROKERS"
	EnvElasticsearch = "ELASTICSEARCH_URL"
)

// startTimeout bounds a start script: the first one resolves the engine
// with Maven (a download of ~100 MB), later ones take seconds.
const startTimeout = 10 * time.Minute

var fromEnv = map[string]string{}

func init() {
	for _, k := range []string{EnvKafka, EnvElasticsearch} {
		fromEnv[k] = os.Getenv(k)
		os.Unsetenv(k)
	}
}

var (
	mu     sync.Mutex
	shared = map[string]string{} // engine -> address, started or taken from the env
)

// Kafka returns the bootstrap address of the shared Kafka broker, starting
// it when needed (see the package comment).
func Kafka(t testing.TB) string {
	t.Helper()
	return engine(t, EnvKafka, "kafka")
}

// Elasticsearch returns the URL of the shared Elasticsearch node, starting
// it when needed (see the package comment).
func Elasticsearch(t testing.TB) string {
	t.Helper()
	return engine(t, EnvElasticsearch, "elasticsearch")
}

func engine(t testing.TB, env, name string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if addr := shared[name]; addr != "" {
		return addr
	}
	if addr := fromEnv[env]; addr != "" {
		shared[name] = addr
		return addr
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatalf("enginetest: %v", err)
	}
	dir := filepath.Join(root, ".engines")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("enginetest: %v", err)
	}
	// One start at a time across the test binaries of a run: the second
	// waits, then finds the engine running and reuses it.
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("enginetest: %v", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("enginetest: lock %s: %v", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it too
	addr, err := runStart(t, root, name, filepath.Join(dir, name), env, nil)
	if err != nil {
		t.Fatalf("enginetest: %v", err)
	}
	t.Logf("enginetest: %s=%s (left running; `make engines-stop` stops it)", env, addr)
	shared[name] = addr
	return addr
}

// runStart runs deploy/engines/<name>/start.sh dir and returns the value
// of the "<env>=" line it prints.
func runStart(t testing.TB, root, name, dir, env string, extraEnv []string) (string, error) {
	script := filepath.Join(root, "deploy", "engines", name, "start.sh")
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("%s: %w", script, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, dir)
	cmd.Env = append(os.Environ(), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", script, dir, err, stderr.String())
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if v, ok := strings.CutPrefix(line, env+"="); ok && v != "" {
			t.Logf("enginetest: %s ready in %v", name, time.Since(began).Round(time.Millisecond))
			return v, nil
		}
	}
	return "", fmt.Errorf("%s printed no %s= line:\n%s%s", script, env, stdout.String(), stderr.String())
}

// RepoRoot is the directory holding the repository's go.mod, found from
// the working directory up (a test runs in its package's directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Unique returns a fresh lower-case name for one test's resources on a
// shared engine: prefix, a dash and 12 hex digits ("relay-3f9a0c…").
func Unique(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// Broker is a Kafka broker owned by one test (PrivateKafka).
type Broker struct {
	Addr string // bootstrap address, 127.0.0.1:port; the same after a restart
	root string
	dir  string
}

// PrivateKafka starts a Kafka broker for this test alone, on ports of its
// own, with its data in a temporary directory; it is stopped when the test
// ends. Stop and Start control it.
func PrivateKafka(t testing.TB) *Broker {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatalf("enginetest: %v", err)
	}
	dir, err := os.MkdirTemp("", "enginetest-kafka-")
	if err != nil {
		t.Fatal(err)
	}
	b := &Broker{root: root, dir: dir}
	t.Cleanup(func() {
		b.stop(t)
		os.RemoveAll(dir)
	})
	// The watchdog stops the broker and removes dir should this process
	// die before its cleanups run.
	ports := []string{"KAFKA_PORT=" + freePort(t), "KAFKA_CONTROLLER_PORT=" + freePort(t), "KAFKA_HEAP=384m",
		"ENGINE_WATCH_PID=" + strconv.Itoa(os.Getpid())}
	if b.Addr, err = runStart(t, root, "kafka", dir, EnvKafka, ports); err != nil {
		t.Fatalf("enginetest: private broker: %v", err)
	}
	return b
}

// Stop stops the broker (SIGTERM: a clean shutdown) and waits until it is
// gone. Its data stays.
func (b *Broker) Stop(t testing.TB) {
	t.Helper()
	if err := b.stop(t); err != nil {
		t.Fatalf("enginetest: stopping the private broker: %v", err)
	}
}

func (b *Broker) stop(t testing.TB) error {
	out, err := exec.Command(filepath.Join(b.root, "deploy", "engines", "kafka", "stop.sh"), b.dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// Start starts the stopped broker again, on the same address and data.
func (b *Broker) Start(t testing.TB) {
	t.Helper()
	addr, err := runStart(t, b.root, "kafka", b.dir, EnvKafka, nil)
	if err != nil {
		t.Fatalf("enginetest: restarting the private broker: %v", err)
	}
	if addr != b.Addr {
		t.Fatalf("enginetest: private broker came back on %s, was %s", addr, b.Addr)
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
