package readapi_test

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"contacts/readapi"
)

// The text rule (internal/text) at the read API's edges: a NUL or invalid
// UTF-8 in any text filter, on every REST route and WebSocket action, is a
// validation_error naming the field — it used to reach PostgreSQL (22021,
// 22P05) and come back as a 500 or an internal-error envelope.

func textKeys() []string {
	keys := append([]string{"search", "name", "ordering"}, readapi.TextFilterKeys...)
	keys = append(keys, readapi.ExclusionKeys()...)
	sort.Strings(keys)
	return keys
}

func TestTextRuleRESTFilters(t *testing.T) {
	w := newWorld(t)
	routes := []string{"/api/v1/contacts", "/api/v1/contacts/count", "/api/v1/contacts/uuids",
		"/api/v1/companies", "/api/v1/groups", "/api/v1/labels"}
	for _, a := range readapi.FieldActions() {
		routes = append(routes, "/api/v1/contacts/fields/"+strings.TrimPrefix(a, "get_"))
	}
	bad := map[string]string{"NUL": "a\x00b", "invalid UTF-8": "a\xffb", "lone NUL": "\x00", "truncated rune": "Zo\xc3"}
	n := 0
	for _, route := range routes {
		for _, key := range textKeys() {
			for what, v := range bad {
				path := route + "?" + url.Values{key: {v}}.Encode()
				r := w.rest(t, w.admin.token, "GET", path, nil)
				if r.status != http.StatusUnprocessableEntity {
					t.Errorf("%s (%s): status %d: %s", path, what, r.status, r.body)
					continue
				}
				e := r.wantError(http.StatusUnprocessableEntity, "validation_error")
				if f, _ := e["fields"].(map[string]any); f[key] == nil {
					t.Errorf("%s (%s): field %s not named: %v", path, what, key, e)
				}
				n++
			}
		}
	}
	t.Logf("%d refused requests over %d routes", n, len(routes))
	// The same text is fine when it is text.
	w.rest(t, w.admin.token, "GET", "/api/v1/contacts/count?"+url.Values{"first_name": {"Zoë 🙂"}}.Encode(), nil).want(http.StatusOK)

	// Bodies: the search body's strings, escapes included.
	for body, field := range map[string]string{
		`{"first_name":"a\u0000b"}`: "first_name",
		"{\"city\":\"\xff\"}":       "city",
		`{"country":"\ud800"}`:      "country",
		`{"filter":[{"attribute_key":"city","filter_operator":"equal_to","values":["x\u0000"]}]}`: "filter[0].values[0]",
	} {
		e := w.rest(t, w.admin.token, "POST", "/api/v1/contacts/search", body).wantError(http.StatusUnprocessableEntity, "validation_error")
		if f, _ := e["fields"].(map[string]any); f[field] == nil {
			t.Errorf("search %s: field %s not named: %v", body, field, e)
		}
	}
	w.rest(t, w.admin.token, "POST", "/api/v1/contacts/search", `{"country":"Canada"} {"country":"x"}`).wantError(http.StatusBadRequest, "invalid_json")
	w.rest(t, w.admin.token, "POST", "/api/v1/contacts/search", `null`).wantError(http.StatusBadRequest, "invalid_json")
}

func TestTextRuleWebSocketActions(t *testing.T) {
	w := newWorld(t)
	c := w.dial(t, w.admin)
	actions := append([]string{"list_contacts", "get_contact", "count_contacts", "get_contact_uuids", "create_contact"}, readapi.FieldActions()...)
	sort.Strings(actions[5:])
	for _, action := range actions {
		field, extra := "first_name", ""
		switch action {
		case "get_contact":
			field = "contact_uuid"
		case "create_contact":
			extra = `,"write_key":"` + testWriteKey + `"`
		}
		for what, bad := range map[string]string{"NUL escape": `a\u0000b`, "invalid UTF-8": "a\xffb", "lone surrogate": `\udc00`} {
			msg := `{"action":"` + action + `","request_id":"r1","data":{"` + field + `":"` + bad + `"` + extra + `}}`
			// Invalid UTF-8 does not belong in a text frame: a binary frame carries it.
			c.sendBinary(msg)
			a := c.recv()
			if a.Status != "error" || a.code() != "validation_error" || a.RequestID != "r1" || a.Action != action {
				t.Errorf("%s (%s): %s", action, what, a)
				continue
			}
			if f, _ := a.Error["fields"].(map[string]any); f[field] == nil {
				t.Errorf("%s (%s): field not named: %s", action, what, a)
			}
		}
	}
	// Concatenated documents are not the first one.
	c.sendRaw(`{"action":"count_contacts","request_id":"r2","data":{}}{"action":"count_contacts"}`)
	if a := c.recv(); a.code() != "invalid_json" {
		t.Errorf("two documents: %s", a)
	}
	// The connection still serves, and nothing was created.
	if n := c.ok("count_contacts", map[string]any{})["count"]; n != 3.0 {
		t.Errorf("count after the refusals: %v", n)
	}
}

func (c *wsClient) sendBinary(msg string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.BinaryMessage, []byte(msg)); err != nil {
		c.t.Fatal(err)
	}
}
