package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"contacts/internal/pgtest"
)

// TestImporterRoleRunsTheImportWorker: the CSV import worker is the
// importer role's. A process with the api role alone accepts an upload but
// leaves the job pending; a process with the importer role (on the same
// database and import directory) runs it to the end.
func TestImporterRoleRunsTheImportWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	dsn := pgtest.NewDSN(t)
	dataDir := t.TempDir()
	secret := "serve-importer-test-secret-0123456789abcd"
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	start := func(roles, addr string) chan error {
		done := make(chan error, 1)
		args := []string{"--database-url", dsn, "--http-addr", addr, "--health-addr", addr, "--data-dir", dataDir,
			"--jwt-secret", secret, "--log-level", "error", "--roles", roles, "--rate-limit", "0", "--ip-rate-limit", "0"}
		go func() { done <- serve(ctx, args) }()
		waitUntil(t, 30*time.Second, func() bool {
			select {
			case err := <-done:
				t.Fatalf("serve --roles %s ended: %v", roles, err)
			default:
			}
			res, err := http.Get("http://" + addr + "/readyz")
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == http.StatusOK
		})
		return done
	}
	api := freeAddr(t)
	start("api,projector", api)

	var sess struct {
		AccessToken string `json:"access_token"`
	}
	call(t, "POST", api, "/api/v1/auth/register", "", `{"account_name":"A","name":"Ada","email":"ada@example.com","password":"correct horse battery"}`, http.StatusCreated, &sess)
	req, err := http.NewRequest("POST", "http://"+api+"/api/v1/contacts/import?file_name=people.csv",
		bytes.NewBufferString("first_name,email\nGrace,grace@example.com\n"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+sess.AccessToken)
	req.Header.Set("Content-Type", "text/csv")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		JobID  string `json:"job_id"`
		Status string `json:"status"`
	}
	err = json.NewDecoder(res.Body).Decode(&job)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusAccepted {
		t.Fatalf("upload: %d %v", res.StatusCode, err)
	}
	status := func() string {
		var j struct {
			Status string `json:"status"`
		}
		call(t, "GET", api, "/api/v1/contacts/import/"+job.JobID, sess.AccessToken, "", http.StatusOK, &j)
		return j.Status
	}
	// Longer than the worker's first poll (2s): an api-only process has no worker.
	time.Sleep(3 * time.Second)
	if s := status(); s != "pending" {
		t.Fatalf("with the api role alone, the job is %q, want pending", s)
	}
	start("importer", freeAddr(t))
	waitUntil(t, 30*time.Second, func() bool { return status() == "completed" })
}
