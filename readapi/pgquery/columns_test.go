package pgquery

import (
	"testing"

	"contacts/readapi"
)

// TestEveryAttributeAndOrderingHasSQL: the query model (readapi) names the
// attributes and ordering fields; this engine has the SQL of each, and none
// of its own.
func TestEveryAttributeAndOrderingHasSQL(t *testing.T) {
	names := readapi.AttributeNames()
	for _, name := range names {
		if len(attrColumns[name]) == 0 {
			t.Errorf("attribute %s has no column", name)
		}
	}
	if len(attrColumns) != len(names) {
		t.Errorf("%d attribute columns for %d attributes", len(attrColumns), len(names))
	}
	orderings := readapi.OrderingNames()
	for _, name := range orderings {
		if orderExprs[name] == "" {
			t.Errorf("ordering %s has no expression", name)
		}
	}
	if len(orderExprs) != len(orderings) {
		t.Errorf("%d ordering expressions for %d orderings", len(orderExprs), len(orderings))
	}
}
