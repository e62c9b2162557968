package esstore

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/typedapi/core/bulk"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/versiontype"

	"contacts/projections"
)

func TestBulkBody(t *testing.T) {
	docs := []projections.ContactDoc{sampleContact("acc", "c1", 3), sampleContact("acc", "c2", 7)}
	ops, err := writeOps("contacts-contacts", docs, contactKey, contactVersion, encodeContact)
	if err != nil {
		t.Fatal(err)
	}
	ops = append(ops, bulkOp{Index: "contacts-contacts-v1", ID: "acc:c3", Version: 2, VersionType: versiontype.Externalgte, Source: json.RawMessage(`{"uuid":"c3"}`)})
	body, err := bulkBody(ops)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(body, []byte("\n")) {
		t.Fatal("NDJSON must end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines: %s", len(lines), body)
	}
	want := []string{
		`{"index":{"_id":"acc:c1","_index":"contacts-contacts","version":3,"version_type":"external"}}`,
		`{"index":{"_id":"acc:c2","_index":"contacts-contacts","version":7,"version_type":"external"}}`,
		`{"index":{"_id":"acc:c3","_index":"contacts-contacts-v1","version":2,"version_type":"external_gte"}}`,
	}
	for i, w := range want {
		if lines[2*i] != w {
			t.Errorf("action %d:\n got %s\nwant %s", i, lines[2*i], w)
		}
		if strings.Contains(lines[2*i], "routing") {
			t.Errorf("action %d is routed: %s", i, lines[2*i])
		}
	}
	var src map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &src); err != nil || src["uuid"] != "c1" || src["notes_count"] != 2.0 {
		t.Fatalf("source line: %v %v", src, err)
	}
	if lines[5] != `{"uuid":"c3"}` {
		t.Fatalf("raw source: %s", lines[5])
	}

	// The typed client's own helper writes the same action line.
	b := bulk.New(nil)
	op := ops[0].action()
	if err := b.IndexOp(*op.Index, ops[0].Source); err != nil {
		t.Fatal(err)
	}
	req, err := b.HttpRequest(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var typed bytes.Buffer
	typed.ReadFrom(req.Body) //nolint:errcheck
	if !strings.HasPrefix(typed.String(), lines[0]+"\n") {
		t.Fatalf("typed helper writes\n%s\nwe write\n%s", typed.String(), lines[0])
	}

	if _, err := bulkBody([]bulkOp{{ID: "x", Source: json.RawMessage(`{`)}}); err == nil {
		t.Fatal("invalid source accepted")
	}
}

func TestBulkChunks(t *testing.T) {
	ops := make([]bulkOp, 2500)
	for i := range ops {
		ops[i].Source = json.RawMessage(`{}`)
	}
	chunks := bulkChunks(ops)
	if len(chunks) != 3 || len(chunks[0]) != 1000 || len(chunks[2]) != 500 {
		t.Fatalf("chunks: %d", len(chunks))
	}
	big := make([]bulkOp, 3)
	for i := range big {
		big[i].Source = json.RawMessage(`"` + strings.Repeat("x", 3<<20) + `"`)
	}
	if chunks := bulkChunks(big); len(chunks) != 3 {
		t.Fatalf("byte-bounded chunks: %d", len(chunks))
	}
	if len(bulkChunks(nil)) != 0 {
		t.Fatal("empty")
	}
}

// A _bulk answer as Elasticsearch writes it, decoded by the typed client.
const bulkAnswer = `{"errors":true,"took":3,"items":[
 {"index":{"_index":"contacts-contacts-v1","_id":"a:c1","_version":3,"result":"created","status":201}},
 {"index":{"_index":"contacts-contacts-v1","_id":"a:c2","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[a:c2]: version conflict, current version [7] is higher or equal to the one provided [7]"}}},
 {"index":{"_index":"contacts-contacts-v1","_id":"a:c3","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"}}},
 {"index":{"_index":"contacts-contacts-v1","_id":"a:c4","status":400,"error":{"type":"strict_dynamic_mapping_exception","reason":"[1:2] mapping set to strict, dynamic introduction of [typo] within [_doc] is not allowed"}}},
 {"index":{"_index":"contacts-contacts-v1","_id":"a:c5","status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}},
 {"index":{"_index":"contacts-contacts-v1","_id":"a:c6","_version":2,"result":"updated","status":200}}
]}`

func TestClassifyItems(t *testing.T) {
	var res bulk.Response
	if err := json.Unmarshal([]byte(bulkAnswer), &res); err != nil {
		t.Fatal(err)
	}
	want := []itemOutcome{itemWritten, itemConflict, itemRetry, itemFailed, itemRetry, itemWritten}
	for i, m := range res.Items {
		item, ok := responseItem(m)
		if !ok {
			t.Fatalf("item %d: no index result", i)
		}
		if got := classifyItem(item); got != want[i] {
			t.Errorf("item %d: %v, want %v", i, got, want[i])
		}
	}
	item, _ := responseItem(res.Items[3])
	err := itemError(bulkOp{Index: "contacts-contacts", ID: "a:c4"}, item)
	for _, s := range []string{"a:c4", "contacts-contacts", "400", "strict_dynamic_mapping_exception", "typo"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
	if _, ok := responseItem(nil); ok {
		t.Error("empty item")
	}
	if classifyItem(types.ResponseItem{Status: 404, Error: &types.ErrorCause{Type: "index_not_found_exception"}}) != itemFailed {
		t.Error("missing index is an error")
	}
}
