package main

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"contacts/internal/enginetest"
	"contacts/internal/pgtest"
)

// TestBenchReadBothEngines walks the README's way to the side-by-side read
// benchmark at a tiny scale: seed into PostgreSQL, rebuild into
// Elasticsearch (which reports its indexing throughput), then bench read
// over both engines, which must answer every class alike.
func TestBenchReadBothEngines(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real Elasticsearch")
	}
	es := enginetest.Elasticsearch(t)
	t.Setenv("LOG_LEVEL", "error")
	base := []string{"--database-url", pgtest.NewDSN(t), "--data-dir", t.TempDir(),
		"--jwt-secret", "bench-read-test-secret-0123456789abcdef"}
	prefix := enginetest.Unique("benchread") + "-"
	dropIndices(t, es, prefix)
	withES := append([]string{"--elasticsearch-url", es, "--elasticsearch-index-prefix", prefix,
		"--elasticsearch-replicas", "0"}, base...)

	code, out, errOut := runCLI(t, append([]string{"seed", "--contacts", "300"}, base...)...)
	if code != 0 {
		t.Fatalf("seed: exit %d: %s", code, errOut)
	}
	var seeded struct{ Email, Password string }
	if err := json.Unmarshal([]byte(out), &seeded); err != nil || seeded.Email == "" {
		t.Fatalf("seed printed %q: %v", out, err)
	}
	if !regexp.MustCompile(`contacts +300 documents indexed into postgresql in [0-9.]+ s of replay: [0-9]+ documents/s`).MatchString(errOut) {
		t.Errorf("seed reports no indexing throughput:\n%s", errOut)
	}

	code, _, errOut = runCLI(t, append([]string{"projections", "rebuild", "all"}, withES...)...)
	if code != 0 {
		t.Fatalf("rebuild into Elasticsearch: exit %d: %s", code, errOut)
	}
	for _, want := range []string{`companies +15 documents indexed into elasticsearch`, `contacts +300 documents indexed into elasticsearch in [0-9.]+ s of replay: [0-9]+ documents/s`} {
		if !regexp.MustCompile(want).MatchString(errOut) {
			t.Errorf("rebuild: no %q in\n%s", want, errOut)
		}
	}

	code, out, errOut = runCLI(t, append([]string{"bench", "read", "--email", seeded.Email, "--password", seeded.Password,
		"--iterations", "2"}, withES...)...)
	if code != 0 {
		t.Fatalf("bench read: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.Contains(lines[0], "PostgreSQL p99") || !strings.Contains(lines[0], "Elasticsearch p99") || !strings.Contains(lines[0], "same answer") {
		t.Fatalf("not both engines side by side:\n%s", out)
	}
	classes := readClasses()
	if len(lines) != 1+len(classes)+1 {
		t.Fatalf("%d lines for %d classes and get_contact:\n%s", len(lines), len(classes), out)
	}
	for i, c := range classes {
		if !strings.HasPrefix(lines[1+i], c.name) || !strings.Contains(lines[1+i], " yes ") {
			t.Errorf("class %q: the engines answered differently, or no row:\n%s", c.name, lines[1+i])
		}
	}
	if !strings.HasPrefix(lines[len(lines)-1], "WebSocket get_contact round trip") {
		t.Errorf("no get_contact row:\n%s", out)
	}

	// One engine: its columns only.
	code, out, errOut = runCLI(t, append([]string{"bench", "read", "--email", seeded.Email, "--password", seeded.Password,
		"--iterations", "1", "--engine", "pg"}, withES...)...)
	if code != 0 || strings.Contains(out, "Elasticsearch") || !strings.Contains(out, "PostgreSQL p50") {
		t.Errorf("--engine pg: exit %d\n%s%s", code, out, errOut)
	}
}

// TestBenchVisibility: every write is seen by a search, on either engine,
// and the latency is reported.
func TestBenchVisibility(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real Elasticsearch")
	}
	es := enginetest.Elasticsearch(t)
	t.Setenv("LOG_LEVEL", "error")
	base := []string{"--database-url", pgtest.NewDSN(t), "--data-dir", t.TempDir(),
		"--jwt-secret", "bench-visibility-test-secret-0123456789ab", "--rate", "100", "--duration", "2s", "--warmup", "500ms"}
	for _, engine := range []string{"pg", "es"} {
		t.Run(engine, func(t *testing.T) {
			args := append([]string{"bench", "visibility", "--engine", engine}, base...)
			if engine == "es" {
				prefix := enginetest.Unique("benchvis") + "-"
				dropIndices(t, es, prefix)
				args = append(args, "--elasticsearch-url", es, "--elasticsearch-index-prefix", prefix,
					"--elasticsearch-replicas", "0")
			}
			code, out, errOut := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s%s", code, out, errOut)
			}
			if !regexp.MustCompile(`then 200 in .*, 0 failed`).MatchString(out) ||
				!regexp.MustCompile(`acceptance-to-search latency: p50 [0-9.]+ ms, p90 [0-9.]+ ms, p99 [0-9.]+ ms, max [0-9.]+ ms \(200 writes after the warm-up\); never seen: 0`).MatchString(out) {
				t.Errorf("unexpected report:\n%s", out)
			}
		})
	}
}

// dropIndices deletes, when the test ends, the indices and index templates
// of prefix in the shared Elasticsearch (its shard limit is shared too).
func dropIndices(t *testing.T, es, prefix string) {
	t.Cleanup(func() {
		ctx := context.Background()
		do := func(method, path string) *http.Response {
			req, err := http.NewRequestWithContext(ctx, method, es+path, nil)
			if err != nil {
				t.Error(err)
				return nil
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("%s %s: %v", method, path, err)
				return nil
			}
			return res
		}
		var names []string
		if res := do(http.MethodGet, "/_cat/indices/"+prefix+"*?format=json&h=index"); res != nil {
			var rows []struct{ Index string }
			_ = json.NewDecoder(res.Body).Decode(&rows)
			res.Body.Close()
			for _, r := range rows {
				names = append(names, r.Index)
			}
		}
		if res := do(http.MethodGet, "/_index_template/"+prefix+"*"); res != nil {
			var body struct {
				IndexTemplates []struct{ Name string } `json:"index_templates"`
			}
			_ = json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			for _, tpl := range body.IndexTemplates {
				names = append(names, "_index_template/"+tpl.Name)
			}
		}
		for _, n := range names {
			if res := do(http.MethodDelete, "/"+n); res != nil {
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Errorf("DELETE %s: %d", n, res.StatusCode)
				}
			}
		}
	})
}
