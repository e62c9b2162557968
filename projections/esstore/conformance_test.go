package esstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/versiontype"

	"contacts/projections"
	"contacts/projections/storetest"
)

// clusterURL is the Elasticsearch every cluster test uses: the one place to
// point at a shared test helper. TestMain (main_test.go) has set
// ELASTICSEARCH_URL, starting a node when it was not given.
func clusterURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("ELASTICSEARCH_URL")
	if url == "" {
		t.Fatal("ELASTICSEARCH_URL is not set (TestMain starts a node when it is not given)")
	}
	return url
}

// requireCluster fails fast (rather than after each store's minute of
// connection retries) when the cluster does not answer.
func requireCluster(t *testing.T) {
	t.Helper()
	url := clusterURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	es, err := elasticsearch.NewTypedClient(elasticsearch.Config{Addresses: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{es: es, log: discard()}
	if err := s.retry(ctx, "info", func() error { _, err := es.Info().Do(ctx); return err }); err != nil {
		t.Fatalf("ELASTICSEARCH_URL=%s does not answer: %v", url, err)
	}
}

// openTest returns a store over fresh indices (a random prefix) that are
// deleted when the test ends.
func openTest(t *testing.T, refresh string) *Store {
	t.Helper()
	url := clusterURL(t)
	ctx := context.Background()
	zero := 0
	s, err := New(ctx, Config{
		URL:         url,
		IndexPrefix: fmt.Sprintf("test-%016x-", rand.Uint64()),
		Refresh:     refresh,
		Replicas:    &zero,
		Logger:      discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.dropAll(context.Background()); err != nil {
			t.Errorf("dropping test indices: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	requireCluster(t)
	t.Parallel() // each test has indices of its own prefix; most of the time is spent waiting for refreshes
	storetest.Run(t, func(t *testing.T) projections.ReadModel { return openTest(t, RefreshWaitFor) })
}

// The default policy (no wait_for): the store refreshes what its own
// denormalisation searches need.
func TestConformanceRefreshFalse(t *testing.T) {
	requireCluster(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T) projections.ReadModel { return openTest(t, RefreshFalse) })
}

// What only a real cluster can tell about the mapping: strictness, the
// normalizer, the .text subfields, and version_type semantics.
func TestClusterMapping(t *testing.T) {
	requireCluster(t)
	t.Parallel()
	s := openTest(t, RefreshWaitFor)
	ctx := context.Background()
	d := sampleContact("acc", "c1", 1)
	d.FirstName, d.City, d.Labels = "Ádá", "São Paulo", []string{"VIP Lead"}
	d.CustomAttributes = map[string]any{"plan": "Pro", "seats": 3}
	if err := s.UpsertContacts(ctx, []projections.ContactDoc{d}); err != nil {
		t.Fatal(err)
	}
	index := s.alias(projections.Contacts)
	count := func(q types.Query) int {
		t.Helper()
		var n int
		err := s.searchAll(ctx, index, func(after []types.FieldValue) *search.Request {
			size := 10
			return &search.Request{Query: &q, Size: &size}
		}, func(types.Hit) { n++ })
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for name, q := range map[string]types.Query{
		"normalised keyword":  term("first_name", "ada"),
		"normalised array":    term("labels", "vip lead"),
		"full text subfield":  {Match: map[string]types.MatchQuery{"city.text": {Query: "paulo"}}},
		"flattened attribute": term("custom_attributes.plan", "Pro"),
		"notes count":         {Range: map[string]types.RangeQuery{"notes_count": types.NumberRangeQuery{Gte: ptr(types.Float64(2))}}},
	} {
		if n := count(q); n != 1 {
			t.Errorf("%s: %d hits, want 1", name, n)
		}
	}

	// Strict: an unknown field fails loudly, with the document's id.
	_, err := s.bulk(ctx, []bulkOp{{Index: index, ID: "acc:typo", Version: 1, VersionType: versiontype.External,
		Source: json.RawMessage(`{"uuid":"typo","account_id":"acc","frist_name":"x"}`)}})
	if err == nil || !strings.Contains(err.Error(), "strict_dynamic_mapping_exception") || !strings.Contains(err.Error(), "acc:typo") {
		t.Fatalf("unknown field: %v", err)
	}

	// external refuses the same version; external_gte takes it.
	src, _ := encodeContact(d)
	res, err := s.bulk(ctx, []bulkOp{{Index: index, ID: "acc:c1", Version: 1, VersionType: versiontype.External, Source: src}})
	if err != nil || len(res.Conflicts) != 1 {
		t.Fatalf("same version, external: %+v %v", res, err)
	}
	res, err = s.bulk(ctx, []bulkOp{{Index: index, ID: "acc:c1", Version: 1, VersionType: versiontype.Externalgte, Source: src}})
	if err != nil || len(res.Written) != 1 {
		t.Fatalf("same version, external_gte: %+v %v", res, err)
	}
}
