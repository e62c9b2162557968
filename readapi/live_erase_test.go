package readapi_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"contacts/commands"
)

// TestLiveEraseReachesEveryFilter: an erasure is pushed like a deletion to
// every contacts subscription whatever its filter (the erased contact no
// longer matches any: its fields are empty), and the push carries no
// personal data.
func TestLiveEraseReachesEveryFilter(t *testing.T) {
	e := newLiveEnv(t, liveOptions{})
	u := e.register(t)
	c := e.dial(t, 0, "/api/v1/contacts/ws", url.Values{"token": {u.token}})
	c.subscribe(map[string]any{"channel": "contacts", "filter": map[string]any{"city": "austin"}})
	id := e.createContact(t, u, map[string]any{"first_name": "Erasmus", "city": "Austin"})
	if m := c.next(5 * time.Second); fmt.Sprint(m["event"], " ", m["id"]) != "contact.created "+id {
		t.Fatalf("got %v", m)
	}
	if _, err := e.cmds.EraseContact(context.Background(), commands.ContactRef{AccountID: u.accountID, ID: id}); err != nil {
		t.Fatal(err)
	}
	m := c.next(5 * time.Second)
	if got := fmt.Sprint(m["event"], " ", m["id"]); got != "contact.erased "+id {
		t.Fatalf("got %s (%v), want contact.erased %s", got, m, id)
	}
	if s := fmt.Sprint(m); strings.Contains(s, "Erasmus") || strings.Contains(s, "Austin") {
		t.Fatalf("erase push shows personal data: %v", m)
	}
}
