package esstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
)

// asJSON renders a request as it goes on the wire, decoded for comparison.
func asJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGroupsOfContactsQuery(t *testing.T) {
	got := asJSON(t, groupsOfContactsQuery([]string{"acc"}, []string{"c1", "c2"}, nil))
	want := decodeJSON(t, `{
		"query": {"bool": {
			"filter": [
				{"terms": {"account_id": ["acc"]}},
				{"terms": {"contact_ids": ["c1", "c2"]}},
				{"term": {"deleted": {"value": false}}}
			],
			"should": [
				{"term": {"contact_ids": {"value": "c1", "_name": "c1"}}},
				{"term": {"contact_ids": {"value": "c2", "_name": "c2"}}}
			]
		}},
		"_source": {"includes": ["id", "account_id", "name", "deleted"]},
		"sort": [{"id": {"order": "asc"}}],
		"size": 1000,
		"track_total_hits": false
	}`)
	if !reflect.DeepEqual(got, want) {
		b, _ := json.MarshalIndent(got, "", " ")
		t.Fatalf("query:\n%s", b)
	}
	next := asJSON(t, groupsOfContactsQuery([]string{"acc"}, []string{"c1"}, []types.FieldValue{"g9"}))
	if !reflect.DeepEqual(next["search_after"], []any{"g9"}) {
		t.Fatalf("search_after: %v", next["search_after"])
	}
}

func TestCompanyContactsQuery(t *testing.T) {
	got := asJSON(t, companyContactsQuery([]string{"a1", "a2"}, []string{"co1"}, []types.FieldValue{"c7"}))
	want := decodeJSON(t, `{
		"query": {"bool": {"filter": [
			{"terms": {"account_id": ["a1", "a2"]}},
			{"bool": {"should": [
				{"terms": {"company_id": ["co1"]}},
				{"terms": {"company.id": ["co1"]}}
			], "minimum_should_match": 1}}
		]}},
		"_source": false,
		"sort": [{"uuid": {"order": "asc"}}],
		"search_after": ["c7"],
		"size": 1000,
		"track_total_hits": false
	}`)
	if !reflect.DeepEqual(got, want) {
		b, _ := json.MarshalIndent(got, "", " ")
		t.Fatalf("query:\n%s", b)
	}
}

// A search answer as Elasticsearch writes it, decoded by the typed client:
// the named clauses tell which contacts each group lists.
func TestMatchedQueries(t *testing.T) {
	var res search.Response
	err := json.Unmarshal([]byte(`{"took":1,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},
		"hits":{"hits":[
			{"_index":"g","_id":"a:g1","_source":{"id":"g1","account_id":"a","name":"VIP","deleted":false},"sort":["g1"],"matched_queries":["c1","c2"]},
			{"_index":"g","_id":"a:g2","_source":{"id":"g2","account_id":"a","name":"B","deleted":false},"sort":["g2"],"matched_queries":{"c2":1.0}},
			{"_index":"g","_id":"a:g3","_source":{"id":"g3","account_id":"a","name":"C","deleted":false},"sort":["g3"]}
		]}}`), &res)
	if err != nil {
		t.Fatal(err)
	}
	hits := res.Hits.Hits
	if got := matchedQueries(hits[0]); !reflect.DeepEqual(got, []string{"c1", "c2"}) {
		t.Errorf("list form: %v", got)
	}
	if got := matchedQueries(hits[1]); !reflect.DeepEqual(got, []string{"c2"}) {
		t.Errorf("scored form: %v", got)
	}
	if got := matchedQueries(hits[2]); len(got) != 0 {
		t.Errorf("none: %v", got)
	}
	var g groupHit
	if err := json.Unmarshal(hits[0].Source_, &g); err != nil || g.ID != "g1" || g.Name != "VIP" || g.AccountID != "a" {
		t.Fatalf("group hit: %+v %v", g, err)
	}
	if !reflect.DeepEqual(hits[0].Sort, []types.FieldValue{"g1"}) {
		t.Fatalf("sort values: %#v", hits[0].Sort)
	}
}

func TestAliasSwapActions(t *testing.T) {
	got := asJSON(t, map[string]any{"actions": aliasSwapActions("p-contacts", "p-contacts-rebuild",
		[]string{"p-contacts-v1", "p-contacts-v2"}, "p-contacts-v3")})
	want := decodeJSON(t, `{"actions": [
		{"remove": {"index": "p-contacts-v1", "alias": "p-contacts"}},
		{"remove": {"index": "p-contacts-v2", "alias": "p-contacts"}},
		{"add": {"index": "p-contacts-v3", "alias": "p-contacts"}},
		{"remove": {"index": "p-contacts-v3", "alias": "p-contacts-rebuild"}}
	]}`)
	if !reflect.DeepEqual(got, want) {
		b, _ := json.MarshalIndent(got, "", " ")
		t.Fatalf("actions:\n%s", b)
	}
	// No live index yet (or the new one already live): only the add and the
	// rebuild alias removal.
	if n := len(aliasSwapActions("a", "a-rebuild", []string{"a-v3"}, "a-v3")); n != 2 {
		t.Fatalf("%d actions", n)
	}
}

func TestLeftoverIndices(t *testing.T) {
	got := leftoverIndices(map[string][]string{
		"p-contacts-v1": {"p-contacts"},         // live: kept
		"p-contacts-v2": {"p-contacts-rebuild"}, // unfinished rebuild
		"p-contacts-v3": {},                     // orphan of a swap that could not drop it
		"p-contacts-v4": {"p-contacts", "p-contacts-rebuild"},
		"p-contacts-v5": {"something-else"},
	}, "p-contacts", "p-contacts-rebuild")
	if !reflect.DeepEqual(got, []string{"p-contacts-v2", "p-contacts-v3"}) {
		t.Fatalf("leftovers: %v", got)
	}
}

func TestBackoffSchedule(t *testing.T) {
	a, b := newBackoff(42), newBackoff(42)
	var total time.Duration
	var schedule []time.Duration
	for {
		d, ok := a.next()
		d2, ok2 := b.next()
		if d != d2 || ok != ok2 {
			t.Fatal("same seed, different schedule")
		}
		if !ok {
			break
		}
		schedule = append(schedule, d)
		total += d
	}
	// Exponential from 100 ms, half fixed and half jitter, capped at 5 s.
	for i, d := range schedule {
		step := backoffMax
		if i < 7 {
			step = min(backoffBase<<i, backoffMax)
		}
		if d < step/2 || d > step {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, d, step/2, step)
		}
	}
	if schedule[0] < 50*time.Millisecond || schedule[0] > 100*time.Millisecond {
		t.Errorf("first wait %v", schedule[0])
	}
	if total > backoffBudget || total < backoffBudget-backoffMax {
		t.Errorf("total wait %v, want about %v", total, backoffBudget)
	}
	if len(schedule) < 12 || len(schedule) > 30 {
		t.Errorf("%d attempts", len(schedule))
	}
	c := newBackoff(7)
	other := false
	for i := range schedule {
		d, _ := c.next()
		other = other || d != schedule[i]
	}
	if !other {
		t.Error("jitter ignores the seed")
	}
	t.Logf("schedule (seed 42): %v, total %v", schedule, total)
}

func TestRetryable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&types.ElasticsearchError{Status: 429}, true},
		{&types.ElasticsearchError{Status: 503}, true},
		{fmt.Errorf("wrapped: %w", &types.ElasticsearchError{Status: 502}), true},
		{&types.ElasticsearchError{Status: 400}, false},
		{&types.ElasticsearchError{Status: 404}, false},
		{&url.Error{Op: "Post", URL: "http://x", Err: errors.New("connection refused")}, true},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, true},
		{context.Canceled, false},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{errors.New("decoding"), false},
		{nil, false},
	} {
		if got := retryable(c.err); got != c.want {
			t.Errorf("retryable(%v) = %v", c.err, got)
		}
	}
}

func TestRetryRespectsContext(t *testing.T) {
	s := &Store{log: discard()}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := s.retry(ctx, "test", func() error {
		calls++
		if calls == 2 {
			cancel()
		}
		return &types.ElasticsearchError{Status: 429}
	})
	if !errors.Is(err, context.Canceled) || calls != 2 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
	calls = 0
	err = s.retry(context.Background(), "test", func() error {
		calls++
		return &types.ElasticsearchError{Status: 400}
	})
	if err == nil || calls != 1 {
		t.Fatalf("a permanent error is not retried: %v, %d calls", err, calls)
	}
}

func TestCheckPrefix(t *testing.T) {
	for _, p := range []string{"contacts-", "test-1a2b-", "x"} {
		if err := checkPrefix(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range []string{"Contacts-", "a b", "a*", "_x", "-x", "a/b", "a:b"} {
		if checkPrefix(p) == nil {
			t.Errorf("%q accepted", p)
		}
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestLabelUsageQuery(t *testing.T) {
	b, err := json.Marshal(labelUsageQuery("acc-1", "VIP"))
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{`{"term":{"account_id":{"value":"acc-1"}}}`, `{"term":{"labels":{"value":"VIP"}}}`,
		`{"term":{"deleted":{"value":false}}}`, `{"term":{"merged_into":{"value":""}}}`} {
		if !strings.Contains(got, want) {
			t.Errorf("label usage query lacks %s: %s", want, got)
		}
	}
}
