package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"contacts/internal/config"
	"contacts/internal/database"
	"contacts/internal/pgtest"
)

// The benchmarks serve the App's router, not a partial one of their own:
// the routes only `serve` mounted (phone review, the read API's REST routes)
// answer, and the rate limits a benchmark would hit are off.
func TestBenchAPIServesTheAppRouter(t *testing.T) {
	ctx := context.Background()
	cfg, err := config.FromEnv([]string{"--database-url", pgtest.NewDSN(t), "--data-dir", t.TempDir(),
		"--jwt-secret", "bench-api-test-secret-0123456789abcdef"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(ctx, database.Options{URL: cfg.DatabaseURL, MaxConns: 4, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(ctx) })
	addr, hub, stop, err := benchAPI(ctx, cfg, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if hub == nil {
		t.Error("no live-update hub behind the read API")
	}
	reg, err := http.Post("http://"+addr+"/api/v1/auth/register", "application/json", bytes.NewBufferString(
		`{"account_name":"A","name":"Ada","email":"ada@example.com","password":"correct horse battery"}`))
	if err != nil || reg.StatusCode != http.StatusCreated {
		t.Fatalf("register: %v %v", err, reg)
	}
	var sess struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(reg.Body).Decode(&sess)
	reg.Body.Close()
	// More than the default burst (CONTACTS_RATE_LIMIT_BURST 20) at once.
	for i := range 30 {
		for _, path := range []string{"/api/v1/phone_review", "/api/v1/contacts"} {
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+path, nil)
			req.Header.Set("Authorization", "Bearer "+sess.AccessToken)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("request %d, GET %s: %d", i, path, res.StatusCode)
			}
		}
	}
}
