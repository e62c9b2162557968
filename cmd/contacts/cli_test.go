package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"contacts/internal/config"
	"contacts/internal/pgtest"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestEveryCommandHelp: every command's -h (and --help) exits 0 and prints
// its own usage, not serve's nor an error.
func TestEveryCommandHelp(t *testing.T) {
	var walk func(cmd *cobra.Command, path []string)
	n := 0
	walk = func(cmd *cobra.Command, path []string) {
		for _, help := range []string{"-h", "--help"} {
			code, out, errOut := runCLI(t, append(append([]string{}, path...), help)...)
			if code != 0 {
				t.Errorf("contacts %s %s: exit %d, stderr %q", strings.Join(path, " "), help, code, errOut)
			}
			if want := "Usage:\n  " + cmd.UseLine(); !strings.Contains(out, want) {
				t.Errorf("contacts %s %s: no %q in\n%s", strings.Join(path, " "), help, want, out)
			}
		}
		n++
		for _, sub := range cmd.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
	}
	walk(newRootCommand(), nil)
	if n < 14 {
		t.Fatalf("walked %d commands", n)
	}

	// The cases, one by one.
	_, out, _ := runCLI(t, "serve", "-h")
	for _, want := range []string{"--http-addr host:port", "(default 127.0.0.1:8080)", "--db-max-conns int", "(default 32)",
		"--access-token-ttl duration", "(default 1h)", "CONTACTS_DATA_DIR", "CONTACTS_HEALTH_ADDR"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve -h lacks %q", want)
		}
	}
	_, out, _ = runCLI(t, "bench", "read", "-h")
	if !strings.Contains(out, "--email string") || strings.Contains(out, "contacts seed   ") {
		t.Errorf("bench read -h:\n%s", out)
	}
	for _, args := range [][]string{{"projections", "-h"}, {"projections", "rebuild", "-h"}, {"migrate", "-h"}, {"projections", "status", "-h"}} {
		code, out, errOut := runCLI(t, args...)
		if code != 0 || strings.Contains(out, "Usage of serve") || strings.Contains(errOut, "no projection") {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	// Shell completion.
	code, out, _ := runCLI(t, "completion", "bash")
	if code != 0 || !strings.Contains(out, "__start_contacts") {
		t.Errorf("completion bash: exit %d, %d bytes", code, len(out))
	}
	code, out, _ = runCLI(t, "__complete", "projections", "rebuild", "")
	if code != 0 || !strings.Contains(out, "contacts\n") || !strings.Contains(out, "all\n") {
		t.Errorf("completing projection names: exit %d\n%s", code, out)
	}
}

// TestOneDashFlagsStillWork: scripts written for Go's flag package.
func TestOneDashFlagsStillWork(t *testing.T) {
	root := newRootCommand()
	got := legacyFlags(root, []string{"seed", "-contacts", "5", "-data-dir=/x", "-h", "--", "-seed"})
	want := []string{"seed", "--contacts", "5", "--data-dir=/x", "-h", "--", "-seed"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("legacyFlags = %q, want %q", got, want)
	}
}

// TestCommandsRefuseMissingDataDir: run from another directory, an admin
// command must not create an empty database and report on it.
func TestCommandsRefuseMissingDataDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("DATABASE_URL", "")
	t.Setenv("CONTACTS_DATA_DIR", "")
	t.Setenv("LOG_LEVEL", "error")
	for _, args := range [][]string{
		{"projections", "status"}, {"projections", "rebuild", "all"}, {"migrate"}, {"seed", "--contacts", "1"},
		{"bench", "read", "--email", "a@b.c", "--password", "p"}, {"bench", "import", "--rows", "1"}, {"bench", "visibility"},
		{"export", "--account-id", "6f1c1a4e-8a0e-4b8e-9d8e-3c2f0b1a2d3e"},
	} {
		code, _, errOut := runCLI(t, args...)
		want := filepath.Join(dir, ".contacts-data")
		if code == 0 || !strings.Contains(errOut, "no data directory at "+want) {
			t.Errorf("%v: exit %d, stderr %q; want an error naming %s", args, code, errOut, want)
		}
		if _, err := os.Stat(want); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%v created %s", args, want)
		}
	}
	// An explicit, absent directory is named as given, made absolute.
	code, _, errOut := runCLI(t, "projections", "status", "--data-dir", "nested/data")
	if code == 0 || !strings.Contains(errOut, filepath.Join(dir, "nested", "data")) {
		t.Errorf("--data-dir nested/data: exit %d, %q", code, errOut)
	}
}

// TestProjectionsStatusShape: the README's {"projections":[…]}, as GET
// /api/v1/projections answers.
func TestProjectionsStatusShape(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.NewDSN(t))
	t.Setenv("LOG_LEVEL", "error")
	code, out, errOut := runCLI(t, "projections", "status")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		Projections []struct {
			Name string `json:"name"`
		} `json:"projections"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Projections) == 0 {
		t.Fatalf("output %q: %v", out, err)
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func getStatus(url string) (int, string) {
	c := http.Client{Timeout: 2 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return res.StatusCode, b.String()
}

// TestServeOpensHTTPBeforeDependencies: with an Elasticsearch that does not
// answer, /healthz answers at once and /readyz says 503 (the process is
// starting, not dead); stopping still works.
func TestServeOpensHTTPBeforeDependencies(t *testing.T) {
	addr := freeAddr(t)
	t.Setenv("DATABASE_URL", pgtest.NewDSN(t))
	t.Setenv("CONTACTS_HTTP_ADDR", addr)
	t.Setenv("CONTACTS_DATA_DIR", t.TempDir())
	t.Setenv("LOG_LEVEL", "error")
	t.Setenv("ELASTICSEARCH_URL", "http://"+closedPort(t))
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, nil) }()
	base := "http://" + addr
	t0 := time.Now()
	waitUntil(t, 5*time.Second, func() bool { st, _ := getStatus(base + "/healthz"); return st == http.StatusOK })
	t.Logf("/healthz answered after %v", time.Since(t0).Round(time.Millisecond))
	waitUntil(t, 10*time.Second, func() bool {
		st, body := getStatus(base + "/readyz")
		return st == http.StatusServiceUnavailable && strings.Contains(body, "elasticsearch")
	})
	if st, body := getStatus(base + "/api/v1/contacts"); st != http.StatusServiceUnavailable || !strings.Contains(body, `"unavailable"`) {
		t.Errorf("API while starting: %d %s", st, body)
	}
	stop()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop while waiting for Elasticsearch")
	}
	if st, _ := getStatus(base + "/healthz"); st != 0 {
		t.Fatalf("still listening after stop: %d", st)
	}
}

// TestHealthListenerWithoutAPI: a projector-only process answers /healthz
// and /readyz on CONTACTS_HEALTH_ADDR, and `contacts healthcheck` finds it.
func TestHealthListenerWithoutAPI(t *testing.T) {
	addr := freeAddr(t)
	t.Setenv("DATABASE_URL", pgtest.NewDSN(t))
	t.Setenv("CONTACTS_ROLES", "projector")
	t.Setenv("CONTACTS_HEALTH_ADDR", addr)
	t.Setenv("CONTACTS_DATA_DIR", t.TempDir())
	t.Setenv("LOG_LEVEL", "error")
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, nil) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	waitUntil(t, 20*time.Second, func() bool { st, _ := getStatus("http://" + addr + "/readyz"); return st == http.StatusOK })
	if st, _ := getStatus("http://" + addr + "/healthz"); st != http.StatusOK {
		t.Fatalf("/healthz: %d", st)
	}
	if code, _, errOut := runCLI(t, "healthcheck", "--ready"); code != 0 {
		t.Fatalf("healthcheck --ready: exit %d %s", code, errOut)
	}
	t.Setenv("CONTACTS_HEALTH_ADDR", closedPort(t))
	if code, _, _ := runCLI(t, "healthcheck"); code == 0 {
		t.Fatal("healthcheck of a closed port succeeded")
	}
}

func TestHealthURL(t *testing.T) {
	for _, c := range []struct {
		cfg  config.Config
		want string
	}{
		{config.Config{HTTPAddr: "0.0.0.0:8080", Roles: []string{"api"}}, "http://127.0.0.1:8080/healthz"},
		{config.Config{HTTPAddr: ":8080", Roles: []string{"api"}}, "http://127.0.0.1:8080/healthz"},
		{config.Config{HTTPAddr: "[::]:8080", Roles: []string{"api", "relay"}}, "http://127.0.0.1:8080/healthz"},
		{config.Config{HTTPAddr: "10.0.0.5:8080", HealthAddr: "0.0.0.0:9090", Roles: []string{"relay"}}, "http://127.0.0.1:9090/healthz"},
	} {
		if got, err := healthURL(c.cfg, "/healthz"); err != nil || got != c.want {
			t.Errorf("healthURL(%+v) = %q, %v; want %q", c.cfg, got, err, c.want)
		}
	}
	if _, err := healthURL(config.Config{Roles: []string{"projector"}}, "/healthz"); err == nil {
		t.Error("projector without CONTACTS_HEALTH_ADDR: no error")
	}
}

// TestRelayNotReadyWithoutKafka: a relay whose brokers do not answer is up
// (/healthz) but not ready (/readyz names kafka).
func TestRelayNotReadyWithoutKafka(t *testing.T) {
	addr := freeAddr(t)
	t.Setenv("DATABASE_URL", pgtest.NewDSN(t))
	t.Setenv("CONTACTS_ROLES", "relay")
	t.Setenv("CONTACTS_HEALTH_ADDR", addr)
	t.Setenv("KAFKA_BROKERS", closedPort(t))
	t.Setenv("CONTACTS_DATA_DIR", t.TempDir())
	t.Setenv("LOG_LEVEL", "error")
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, nil) }()
	waitUntil(t, 10*time.Second, func() bool {
		st, body := getStatus("http://" + addr + "/readyz")
		return st == http.StatusServiceUnavailable && strings.Contains(body, "kafka")
	})
	if st, _ := getStatus("http://" + addr + "/healthz"); st != http.StatusOK {
		t.Fatalf("/healthz: %d", st)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("serve stopped while starting: %v", err)
	}
}
