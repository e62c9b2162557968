package esstore

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"contacts/projections"
)

// A rebuilt index is searchable in full from the moment it is live: the
// swap does not wait for a scheduled refresh (here none comes: the test
// turns them off in the rebuilt index, the worst case of refresh_interval).
func TestFinishRebuildIsSearchableAtOnce(t *testing.T) {
	requireCluster(t)
	t.Parallel()
	s := openTest(t, RefreshFalse)
	ctx := context.Background()
	target, err := s.StartRebuild(ctx, projections.Contacts)
	if err != nil {
		t.Fatal(err)
	}
	rebuilt, err := s.indicesOf(ctx, s.rebuildAlias(projections.Contacts))
	if err != nil || len(rebuilt) != 1 {
		t.Fatalf("rebuild index: %v %v", rebuilt, err)
	}
	if _, err := s.es.Indices.PutSettings().Indices(rebuilt[0]).Raw(strings.NewReader(`{"index":{"refresh_interval":"-1"}}`)).Do(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 40
	docs := make([]projections.ContactDoc, n)
	for i := range docs {
		docs[i] = sampleContact("acc", fmt.Sprint("c", i), 1)
	}
	if err := target.UpsertContacts(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRebuild(ctx, projections.Contacts); err != nil {
		t.Fatal(err)
	}
	got := 0
	size := 100
	err = s.searchAll(ctx, s.alias(projections.Contacts), func([]types.FieldValue) *search.Request {
		return &search.Request{Query: &types.Query{MatchAll: &types.MatchAllQuery{}}, Size: &size}
	}, func(types.Hit) { got++ })
	if err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Fatalf("a search right after the swap found %d of the %d rebuilt contacts", got, n)
	}
}
