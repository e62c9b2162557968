package esstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"contacts/projections"
)

// The bulk back-off against the real engine: a flood-stage block (what
// Elasticsearch sets on a full disk) makes it refuse every write with 429;
// the store waits and retries instead of failing, and the write lands once
// the block is lifted.
func TestClusterBulkBackoff(t *testing.T) {
	requireCluster(t)
	t.Parallel() // each test has indices of its own prefix; most of the time is spent waiting for refreshes
	s := openTest(t, RefreshWaitFor)
	ctx := context.Background()
	index := s.alias(projections.Contacts)
	block := func(on string) {
		t.Helper()
		_, err := s.es.Indices.PutSettings().Indices(index).
			Raw(strings.NewReader(`{"index.blocks.read_only_allow_delete":` + on + `}`)).Do(ctx)
		if err != nil {
			t.Fatalf("read_only_allow_delete=%s: %v", on, err)
		}
	}
	const uuid = "0190a5a4-0000-7000-8000-000000000001"
	block("true")
	done := make(chan error, 1)
	go func() { done <- s.UpsertContacts(ctx, []projections.ContactDoc{sampleContact("acc", uuid, 1)}) }()
	select {
	case err := <-done:
		block("null")
		t.Fatalf("the write returned while the index refused writes: %v", err)
	case <-time.After(2 * time.Second):
	}
	block("null")
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the write still waits 30 s after the block was lifted")
	}
	if d, ok, err := s.Contact(ctx, "acc", uuid); err != nil || !ok || d.Version != 1 {
		t.Fatalf("after the back-off: %+v %v %v", d.Version, ok, err)
	}
}
