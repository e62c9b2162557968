package readapi

import "time"

// This file shows a parsed Query to query engines outside this package
// (readapi/esquery): the parts of a Query stay unexported so that only the
// parsers build one, and an engine reads them here.

// OrderKey is one field of a query's effective ordering.
type OrderKey struct {
	Field string
	Desc  bool
}

// Cursor is a decoded pagination cursor: the ordering values of the
// boundary contact (as the engine that made it wrote them), its uuid, the
// direction, and whether the boundary contact itself is included.
type Cursor struct {
	Values    []string
	UUID      string
	Backward  bool
	Inclusive bool
}

// Filters returns the basic filters (each a leaf condition, ANDed).
func (q Query) Filters() []*Condition { return append([]*Condition(nil), q.where...) }

// Search returns the contact full-text search ("" none).
func (q Query) Search() string { return q.search }

// Order returns the effective ordering (default -created_at); the engine
// adds the uuid tiebreak in the direction of the last key.
func (q Query) Order() []OrderKey {
	keys := q.order()
	out := make([]OrderKey, len(keys))
	for i, k := range keys {
		out[i] = OrderKey{Field: k.Field, Desc: k.Desc}
	}
	return out
}

// OrderingType is the type of an ordering field's values in a cursor:
// "text", "timestamptz", "bigint" or "float8".
func OrderingType(field string) string { return orderings[field].typ }

// Cursor returns the query's cursor, if it has one.
func (q Query) Cursor() (Cursor, bool) {
	if q.cursor == nil {
		return Cursor{}, false
	}
	c := q.cursor
	return Cursor{Values: append([]string(nil), c.Values...), UUID: c.UUID, Backward: c.Backward, Inclusive: c.Inclusive}, true
}

// CheckCursor refuses a cursor that does not belong to q (as the PostgreSQL
// service does), with the same validation error.
func (q Query) CheckCursor() error { return checkCursor(q) }

// EncodeCursor returns the opaque cursor of c for q.
func (q Query) EncodeCursor(c Cursor) string {
	return encodeCursor(cursor{Values: c.Values, UUID: c.UUID, Backward: c.Backward, Inclusive: c.Inclusive, Hash: q.hash()})
}

// Attribute kinds as AttributeKind names them.
const (
	KindText   = "text"
	KindList   = "list"
	KindNumber = "number"
	KindDate   = "date"
	KindBool   = "boolean"
	KindJSON   = "json"
)

// AttributeKind resolves a condition's attribute key (aliases, JSON
// prefixes) to its canonical name and kind.
func AttributeKind(key string) (name, kind string, ok bool) {
	name, a, ok := lookupAttribute(key)
	if !ok {
		return "", "", false
	}
	if a.kind == kindJSON {
		return name, KindJSON, true
	}
	return name, a.kind.String(), true
}

// Range operators of the basic filters (inclusive bounds).
const (
	OpAtLeast = opAtLeast
	OpAtMost  = opAtMost
)

// ParseDateValue parses a date condition value: an RFC 3339 time (from
// and to are it), or a YYYY-MM-DD day (day true: the UTC day from its first
// instant to the next day's).
func ParseDateValue(s string) (from, to time.Time, day, ok bool) {
	_, day, ok = parseDate(s)
	if !ok {
		return time.Time{}, time.Time{}, false, false
	}
	from, to = parseDateBound(s)
	return from, to, day, true
}
