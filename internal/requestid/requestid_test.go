package requestid

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestHandlerAddsTheContextsID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler(slog.NewJSONHandler(&buf, nil))).With("component", "x")
	ctx := With(context.Background(), "req-1")
	log.InfoContext(ctx, "caused")
	log.InfoContext(ctx, "named", Key, "req-1")
	log.Info("no context")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"req-1", "req-1", ""} {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Fatal(err)
		}
		got, _ := m[Key].(string)
		if got != want || m["component"] != "x" {
			t.Errorf("line %d: request_id %q, want %q: %s", i, got, want, lines[i])
		}
		if strings.Count(lines[i], `"request_id"`) > 1 {
			t.Errorf("line %d names the id twice: %s", i, lines[i])
		}
	}
	if From(context.Background()) != "" || From(ctx) != "req-1" {
		t.Fatal("From")
	}
}
