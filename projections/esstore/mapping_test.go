package esstore

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/typedapi/indices/create"
	"github.com/elastic/go-elasticsearch/v8/typedapi/indices/putindextemplate"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/dynamicmapping"

	"contacts/projections"
)

// fill sets every field reachable from v to a non-zero value, so a document
// built with it has every JSON key its type can produce (a field added to a
// domain State later shows up here without touching this test).
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		if e.Kind() == reflect.Interface {
			e.Set(reflect.ValueOf(map[string]any{"nested": []any{1.5, "x"}}))
		} else {
			fill(e)
		}
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(7)
	case reflect.Float64:
		v.SetFloat(1.25)
	}
}

// jsonPaths lists the dotted paths of every key of a JSON document.
func jsonPaths(prefix string, v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			jsonPaths(p, e, out)
		}
	case []any:
		for _, e := range x {
			jsonPaths(prefix, e, out)
		}
	}
}

// mapped tells whether path is covered by mapping: a mapped field, or
// anything inside a flattened or disabled object.
func mapped(mapping map[string]any, path string) bool {
	node := mapping
	for _, part := range strings.Split(path, ".") {
		props, _ := node["properties"].(map[string]any)
		f, ok := props[part].(map[string]any)
		if !ok {
			return false
		}
		if f["type"] == "flattened" || f["enabled"] == false {
			return true
		}
		node = f
	}
	return true
}

func checkCovers(t *testing.T, name string, mapping map[string]any, doc json.RawMessage) {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	jsonPaths("", v, paths)
	if len(paths) < 10 {
		t.Fatalf("%s: only %d paths in %s", name, len(paths), doc)
	}
	for p := range paths {
		if !mapped(mapping, p) {
			t.Errorf("%s: field %q of the document is not in the strict mapping", name, p)
		}
	}
}

func TestMappingsCoverEveryDocumentField(t *testing.T) {
	var c projections.ContactDoc
	fill(reflect.ValueOf(&c).Elem())
	c.LastActivityAt = "2026-01-02T03:04:05Z"
	src, err := encodeContact(c)
	if err != nil {
		t.Fatal(err)
	}
	checkCovers(t, "contacts", contactsMapping(), src)
	for _, p := range []string{"notes_count", "company.industries", "groups.name", "associated_accounts.role", "custom_attributes"} {
		if !strings.Contains(string(src), `"`+p[strings.LastIndex(p, ".")+1:]+`"`) {
			t.Errorf("contact source lacks %s: %s", p, src)
		}
	}

	var co projections.CompanyDoc
	fill(reflect.ValueOf(&co).Elem())
	b, _ := json.Marshal(co)
	checkCovers(t, "companies", companiesMapping(), b)

	var g projections.GroupDoc
	fill(reflect.ValueOf(&g).Elem())
	b, _ = json.Marshal(g)
	checkCovers(t, "groups", groupsMapping(), b)

	var l projections.LabelDoc
	fill(reflect.ValueOf(&l).Elem())
	b, _ = json.Marshal(l)
	checkCovers(t, "labels", labelsMapping(), b)
}

func field(t *testing.T, mapping map[string]any, path string) map[string]any {
	t.Helper()
	node := mapping
	for _, part := range strings.Split(path, ".") {
		props, _ := node["properties"].(map[string]any)
		f, ok := props[part].(map[string]any)
		if !ok {
			t.Fatalf("no field %s", path)
		}
		node = f
	}
	return node
}

func TestContactsMappingFieldTypes(t *testing.T) {
	m := contactsMapping()
	if m["dynamic"] != "strict" {
		t.Fatalf("root dynamic = %v, want strict", m["dynamic"])
	}
	for _, p := range []string{"name", "first_name", "last_name", "email", "title", "city", "state", "country",
		"text_search", "identifier", "company.name", "company.city", "company.text_search", "groups.name", "associated_accounts.name"} {
		f := field(t, m, p)
		if f["type"] != "keyword" || f["normalizer"] != Normalizer {
			t.Errorf("%s: %v, want keyword with the %s normalizer", p, f, Normalizer)
		}
		sub, _ := f["fields"].(map[string]any)
		txt, _ := sub["text"].(map[string]any)
		if txt["type"] != "text" || txt["analyzer"] != "standard" {
			t.Errorf("%s: no standard-analysed .text subfield: %v", p, f)
		}
	}
	for _, p := range []string{"departments", "labels", "assigned_to", "teams", "company.industries", "company.keywords", "company.technologies"} {
		f := field(t, m, p)
		if f["type"] != "keyword" || f["normalizer"] != Normalizer {
			t.Errorf("%s: %v, want keyword array with the normalizer", p, f)
		}
	}
	for _, p := range []string{"uuid", "account_id", "company_id", "company.id", "groups.id", "created_by", "merged_into"} {
		f := field(t, m, p)
		if f["type"] != "keyword" || f["normalizer"] != nil {
			t.Errorf("%s: %v, want an exact keyword", p, f)
		}
	}
	types := map[string]string{
		"company.employees": "long", "company.annual_revenue": "double", "version": "long", "position": "long",
		"notes_count": "integer", "created_at": "date", "updated_at": "date", "inactivated_at": "date",
		"deleted_at": "date", "last_activity_at": "date", "active": "boolean", "deleted": "boolean",
		"opt_out": "boolean", "blocked": "boolean", "custom_attributes": "flattened", "additional_attributes": "flattened",
		"company": "object", "groups": "object",
	}
	for p, want := range types {
		if got := field(t, m, p)["type"]; got != want {
			t.Errorf("%s: type %v, want %s", p, got, want)
		}
	}
	if n := field(t, m, "notes"); n["enabled"] != false {
		t.Errorf("notes: %v, want a stored, non-indexed object", n)
	}
	if g := field(t, m, "groups"); g["type"] == "nested" {
		t.Error("groups must not be nested")
	}
}

func TestOtherMappings(t *testing.T) {
	for name, m := range map[string]map[string]any{"companies": companiesMapping(), "groups": groupsMapping(), "labels": labelsMapping()} {
		if m["dynamic"] != "strict" {
			t.Errorf("%s: not strict", name)
		}
		for _, p := range []string{"id", "account_id"} {
			if f := field(t, m, p); f["type"] != "keyword" || f["normalizer"] != nil {
				t.Errorf("%s.%s: %v", name, p, f)
			}
		}
	}
	co := companiesMapping()
	if field(t, co, "employees")["type"] != "long" || field(t, co, "annual_revenue")["type"] != "double" {
		t.Error("company numbers")
	}
	if f := field(t, co, "industries"); f["normalizer"] != Normalizer {
		t.Errorf("industries: %v", f)
	}
	if f := field(t, groupsMapping(), "contact_ids"); f["type"] != "keyword" || f["normalizer"] != nil {
		t.Errorf("contact_ids: %v, want exact keywords", f)
	}
	if f := field(t, labelsMapping(), "title"); f["normalizer"] != Normalizer {
		t.Errorf("label title: %v", f)
	}
}

func TestSettings(t *testing.T) {
	s := indexSettings(0)
	if s["refresh_interval"] != "1s" || s["number_of_replicas"] != 0 || s["number_of_shards"] != 1 {
		t.Fatalf("settings: %v", s)
	}
	n := s["analysis"].(map[string]any)["normalizer"].(map[string]any)[Normalizer].(map[string]any)
	if n["type"] != "custom" || !reflect.DeepEqual(n["filter"], []string{"lowercase", "asciifolding"}) {
		t.Fatalf("normalizer: %v", n)
	}
	if indexSettings(2)["number_of_replicas"] != 2 {
		t.Fatal("replicas not configurable")
	}
}

// The bodies decode as the typed API's own request types: field types,
// normalizers and settings are what the Elasticsearch specification knows.
func TestBodiesMatchTheTypedAPI(t *testing.T) {
	for _, name := range projections.Names {
		b, err := json.Marshal(indexBody(name, 1, "contacts-"+name))
		if err != nil {
			t.Fatal(err)
		}
		var req create.Request
		if err := json.Unmarshal(b, &req); err != nil {
			t.Fatalf("%s: index body does not decode as indices.create: %v", name, err)
		}
		if req.Mappings == nil || req.Mappings.Dynamic == nil || *req.Mappings.Dynamic != dynamicmapping.Strict {
			t.Fatalf("%s: mapping not strict: %+v", name, req.Mappings)
		}
		if _, ok := req.Aliases["contacts-"+name]; !ok {
			t.Errorf("%s: alias missing: %v", name, req.Aliases)
		}
		if req.Settings == nil || req.Settings.Analysis == nil || req.Settings.Analysis.Normalizer[Normalizer] == nil {
			t.Errorf("%s: normalizer not in settings", name)
		}

		tb, _ := json.Marshal(templateBody("contacts-", name, 1))
		var tr putindextemplate.Request
		if err := json.Unmarshal(tb, &tr); err != nil {
			t.Fatalf("%s: template does not decode: %v", name, err)
		}
		if !reflect.DeepEqual(tr.IndexPatterns, []string{"contacts-" + name + "-v*"}) {
			t.Errorf("%s: patterns %v", name, tr.IndexPatterns)
		}
		if tr.Template == nil || tr.Template.Mappings == nil || len(tr.Template.Aliases) != 0 {
			t.Errorf("%s: template must carry the mapping and no alias: %+v", name, tr.Template)
		}
	}

	b, _ := json.Marshal(contactsMapping())
	var tm types.TypeMapping
	if err := json.Unmarshal(b, &tm); err != nil {
		t.Fatal(err)
	}
	kw, ok := tm.Properties["email"].(*types.KeywordProperty)
	if !ok || kw.Normalizer == nil || *kw.Normalizer != Normalizer {
		t.Fatalf("email: %#v", tm.Properties["email"])
	}
	if _, ok := kw.Fields["text"].(*types.TextProperty); !ok {
		t.Fatalf("email.text: %#v", kw.Fields["text"])
	}
	if _, ok := tm.Properties["custom_attributes"].(*types.FlattenedProperty); !ok {
		t.Fatalf("custom_attributes: %#v", tm.Properties["custom_attributes"])
	}
	notes, ok := tm.Properties["notes"].(*types.ObjectProperty)
	if !ok || notes.Enabled == nil || *notes.Enabled {
		t.Fatalf("notes: %#v", tm.Properties["notes"])
	}
	company, ok := tm.Properties["company"].(*types.ObjectProperty)
	if !ok {
		t.Fatalf("company: %#v", tm.Properties["company"])
	}
	if _, ok := company.Properties["annual_revenue"].(*types.DoubleNumberProperty); !ok {
		t.Fatalf("company.annual_revenue: %#v", company.Properties["annual_revenue"])
	}
}
