package web_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// upperLayers are the architecture packages that internal/ sits below.
var upperLayers = []string{"contacts/commands", "contacts/projections", "contacts/readapi"}

// mayImportUpperLayers: the transport edge that mounts every side's routes,
// and the one error table (which knows every side's domain errors).
var mayImportUpperLayers = map[string]bool{
	"contacts/internal/web":    true,
	"contacts/internal/apierr": true,
}

// TestInternalStaysBelowTheArchitecture: no package under internal/ imports
// commands, projections, readapi or their sub-packages, except the web edge
// and the error table. Test files (helpers, end-to-end suites) may.
func TestInternalStaysBelowTheArchitecture(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "contacts/internal/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		seen++
		if mayImportUpperLayers[p.ImportPath] || strings.HasPrefix(p.ImportPath, "contacts/internal/web/") {
			continue
		}
		for _, imp := range p.Imports {
			for _, up := range upperLayers {
				if imp == up || strings.HasPrefix(imp, up+"/") {
					t.Errorf("%s imports %s: internal/ packages stay below commands, projections and readapi", p.ImportPath, imp)
				}
			}
		}
	}
	if seen < 10 {
		t.Fatalf("go list saw %d packages under internal/: the check is not looking", seen)
	}
}
