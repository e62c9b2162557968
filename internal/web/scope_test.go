package web

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"contacts/internal/phonereview"
	"contacts/readapi/ws"
)

// Every account route declares the scope an API key needs where it is
// mounted, under both ways of naming the account, and the same scope under
// both. (A route that declares nothing would need write_contacts.)
func TestEveryAccountRouteDeclaresItsScope(t *testing.T) {
	r, a, err := newRouter(Deps{
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Read:        &ws.Deps{},
		PhoneReview: &phonereview.Service{},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The WebSocket upgrades check scopes per action (or need read_contacts
	// themselves): they are not behind requireScope.
	own := map[string]bool{"/contacts/ws": true, "/stream": true}
	n := 0
	for _, rt := range r.Routes() {
		rest, ok := strings.CutPrefix(rt.Path, accountPrefix)
		if !ok || own[rest] {
			continue
		}
		n++
		need, ok := a.scopes.For(rt.Method, rt.Path)
		if !ok {
			t.Errorf("%s %s declares no scope", rt.Method, rt.Path)
			continue
		}
		twin := "/api/v1" + rest
		if rest == "" {
			twin = "/api/v1/account"
		}
		if twinNeed, ok := a.scopes.For(rt.Method, twin); !ok || twinNeed != need {
			t.Errorf("%s %s needs %v; its twin %s: %v (declared %v)", rt.Method, rt.Path, need.Names(), twin, twinNeed.Names(), ok)
		}
	}
	if n < 50 {
		t.Fatalf("only %d account routes mounted: the router was not built whole", n)
	}
}
