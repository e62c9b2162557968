package pgquery

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"contacts/projections"
	"contacts/readapi"
)

func exportRows(t *testing.T, f *fixture, body any, during func()) [][]string {
	t.Helper()
	req, err := readapi.ParseExportRequest(url.Values{}, body)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err = f.svc.ExportCSV(context.Background(), acctA, req, func() io.Writer {
		if during != nil {
			during()
		}
		return &buf
	})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, buf.String())
	}
	return recs
}

// An export of a filtered set is exactly the read API's answer to the same
// filter, in the same order: basic filters, an advanced filter, ordering.
func TestExportMatchesTheReadAPI(t *testing.T) {
	f := newFixture(t)
	for _, body := range []string{
		`{}`,
		`{"country": "united", "ordering": "-last_name"}`,
		`{"filter": [{"attribute_key": "email", "filter_operator": "contains", "values": ["@"]}], "ordering": "first_name"}`,
		`{"payload": [{"attribute_key": "city", "filter_operator": "equal_to", "values": ["Austin", "Denver"]}]}`,
		`{"labels": "vip"}`,
	} {
		data := decode(t, body)
		q, err := readapi.ParseSearchRequest(url.Values{}, decode(t, body))
		if err != nil {
			t.Fatal(err)
		}
		want, err := f.svc.ContactUUIDs(context.Background(), acctA, q)
		if err != nil {
			t.Fatal(err)
		}
		data["columns"] = []any{"uuid", "first_name"}
		recs := exportRows(t, f, data, nil)
		if strings.Join(recs[0], ",") != "uuid,first_name" {
			t.Fatalf("header: %v", recs[0])
		}
		var got []string
		for _, r := range recs[1:] {
			got = append(got, r[0])
			if f.names[r[0]] != r[1] {
				t.Errorf("%s: first name %q", r[0], r[1])
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: export\n%v\nread API\n%v", body, got, want)
		}
		if len(want) == 0 && body != `{"labels": "vip"}` {
			t.Errorf("%s matches nothing: a weak test", body)
		}
	}
}

// Labels and custom attributes export as readable cells; Chatwoot's column
// names work; unknown columns are refused.
func TestExportColumns(t *testing.T) {
	f := newFixture(t)
	recs := exportRows(t, f, map[string]any{"column_names": []any{"name", "phone_number", "company_name", "tags", "custom_attributes",
		"custom_attributes.tier"}, "ordering": "first_name"}, nil)
	if strings.Join(recs[0], ",") != "name,phone,company,labels,custom_attributes,custom_attributes.tier" {
		t.Fatalf("header: %v", recs[0])
	}
	seen := false
	for _, r := range recs[1:] {
		if r[3] != "" && strings.Contains(r[3], ", ") {
			seen = true
		}
	}
	if !seen {
		t.Errorf("no contact with several labels joined: %v", recs)
	}
	g := exportRows(t, f, map[string]any{"columns": []any{"uuid", "groups"}}, nil)
	grouped := 0
	for _, r := range g[1:] {
		if r[1] == "Newsletter" {
			grouped++
		} else if r[1] != "" {
			t.Errorf("groups cell %q", r[1])
		}
	}
	if grouped != 2 {
		t.Errorf("%d contacts show their group by name", grouped)
	}
	for _, bad := range []any{[]any{"nope"}, []any{}, "x", []any{1}} {
		if _, err := readapi.ParseExportRequest(url.Values{}, map[string]any{"columns": bad}); err == nil {
			t.Errorf("columns %v accepted", bad)
		}
	}
}

// The export is one snapshot: contacts written while it streams are not in
// it, and every row keeps its state as of the start.
func TestExportIsOneSnapshot(t *testing.T) {
	f := newFixture(t)
	before := exportRows(t, f, map[string]any{"columns": []any{"uuid", "first_name"}, "ordering": "first_name"}, nil)
	added := people[0]
	added.n, added.first = 777, "Zed"
	changed := people[1]
	changed.first, changed.updated = "Changed", changed.created.Add(48*time.Hour)
	during := exportRows(t, f, map[string]any{"columns": []any{"uuid", "first_name"}, "ordering": "first_name"}, func() {
		d := changed.doc(acctA)
		d.Version = 2
		if err := f.store.UpsertContacts(context.Background(), []projections.ContactDoc{added.doc(acctA), d}); err != nil {
			t.Fatal(err)
		}
	})
	if len(during) != len(before) {
		t.Fatalf("rows written during the export leaked in: %d vs %d", len(during), len(before))
	}
	for i := range before {
		if strings.Join(before[i], ",") != strings.Join(during[i], ",") {
			t.Fatalf("row %d changed during the export: %v vs %v", i, before[i], during[i])
		}
	}
	after := exportRows(t, f, map[string]any{"columns": []any{"uuid", "first_name"}, "ordering": "first_name"}, nil)
	if len(after) != len(before)+1 {
		t.Fatalf("the write did not land: %d rows", len(after))
	}
}
