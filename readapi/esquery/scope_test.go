package esquery

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"contacts/readapi"
)

// TestNoQueryWithoutAccount: the account filter is there by construction —
// no scope without a valid account id, the zero scope builds nothing, and
// every query a scope builds filters on its account first.
func TestNoQueryWithoutAccount(t *testing.T) {
	for _, id := range []string{"", "x", "5a000000-0000-4000-8000-00000000000a OR 1=1"} {
		if _, err := newScope(id); err == nil {
			t.Errorf("newScope(%q) built a scope", id)
		}
	}
	if q, err := (scope{}).query(false); err == nil || q != nil {
		t.Fatalf("the zero scope built %v, %v", q, err)
	}
	if _, err := (scope{}).contactsQuery(readapi.Query{}); err == nil {
		t.Fatal("the zero scope built a contacts query")
	}
	sc, err := newScope(acct)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sc.contactsQuery(parse(t, `{"search": "x", "include_deleted": true}`))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := json.Marshal(q.Bool.Filter[0])
	if want := `{"term":{"account_id":{"value":"` + acct + `"}}}`; string(first) != want {
		t.Fatalf("first filter %s, want %s", first, want)
	}
}

// TestSearchIsLiteral: wildcard metacharacters of user input are escaped,
// and nothing reaches query_string, regexp or script queries.
func TestSearchIsLiteral(t *testing.T) {
	sc, _ := newScope(acct)
	for _, s := range []string{".*", `\`, `"`, "*", "?", `a*b?c\d`} {
		q, err := sc.contactsQuery(parse(t, `{"search": `+quote(s)+`, "title": `+quote(s)+`}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(q)
		body := string(b)
		for _, bad := range []string{"query_string", "regexp", "script"} {
			if strings.Contains(body, bad) {
				t.Errorf("%q: the query holds %s: %s", s, bad, body)
			}
		}
		var walk func(q types.Query)
		found := 0
		walk = func(q types.Query) {
			for _, w := range q.Wildcard {
				found++
				inner := strings.TrimSuffix(strings.TrimPrefix(*w.Value, "*"), "*")
				if inner != wildcardEscape(strings.ToLower(s)) {
					t.Errorf("%q: wildcard %q is not the escaped value", s, *w.Value)
				}
			}
			if q.Bool != nil {
				for _, l := range [][]types.Query{q.Bool.Filter, q.Bool.Should, q.Bool.Must, q.Bool.MustNot} {
					for _, sub := range l {
						walk(sub)
					}
				}
			}
		}
		walk(*q)
		if found == 0 {
			t.Errorf("%q: no wildcard query", s)
		}
	}
	if got := wildcardEscape(`a*b?c\d`); got != `a\*b\?c\\d` {
		t.Errorf("wildcardEscape: %q", got)
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }
