package esstore

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMain gives the cluster tests a real Elasticsearch: ELASTICSEARCH_URL
// when it is set, otherwise a node started by
// deploy/engines/elasticsearch/start.sh in <repo>/.engines/elasticsearch
// (the directory `make engines` uses, so a node running there is reused),
// stopped at the end only if this binary started it.
func TestMain(m *testing.M) {
	os.Exit(runWithCluster(m))
}

func runWithCluster(m *testing.M) int {
	if os.Getenv("ELASTICSEARCH_URL") != "" {
		return m.Run()
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	script := filepath.Join(root, "deploy", "engines", "elasticsearch")
	dir := filepath.Join(root, ".engines", "elasticsearch")
	running := nodeRunning(dir)
	cmd := exec.Command(filepath.Join(script, "start.sh"), dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "esstore tests need Elasticsearch: set ELASTICSEARCH_URL, or let %s start one: %v\n", cmd.Path, err)
		return 1
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(out.String()), "ELASTICSEARCH_URL=")
	if !ok {
		fmt.Fprintf(os.Stderr, "start.sh printed %q, want ELASTICSEARCH_URL=...\n", out.String())
		return 1
	}
	if !running {
		defer func() {
			stop := exec.Command(filepath.Join(script, "stop.sh"), dir)
			stop.Stdout, stop.Stderr = os.Stderr, os.Stderr
			if err := stop.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "stopping Elasticsearch: %v\n", err)
			}
		}()
	}
	os.Setenv("ELASTICSEARCH_URL", url)
	return m.Run()
}

// nodeRunning tells whether start.sh's node for dir is alive (its pid file
// names a live launcher of that directory): such a node was started by
// someone else (make engines, another test binary) and is left running.
func nodeRunning(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "es.pid"))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(cmdline, []byte("contacts.engines.elasticsearch.Launcher\x00"+dir+"\x00"))
}
