package web_test

import (
	"strings"
	"testing"

	"contacts/internal/web"
	"contacts/readapi/ws"
)

// A router missing a required dependency is refused when it is built, each
// missing one named, instead of failing on the first request that needs it.
func TestNewReportsMissingDependencies(t *testing.T) {
	_, err := web.New(web.Deps{Read: &ws.Deps{}})
	if err == nil {
		t.Fatal("New with no dependencies: no error")
	}
	for _, name := range []string{"Commands", "Auth", "Store", "DB", "Progress", "Logger", "MaxBodyBytes", "Read.Service"} {
		if !strings.Contains(err.Error(), "Deps."+name+" is required") {
			t.Errorf("error does not name Deps.%s: %v", name, err)
		}
	}
}
