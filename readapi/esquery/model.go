package esquery

import (
	"time"

	"contacts/readapi"
)

// attributeKind resolves a condition's attribute key (aliases, JSON
// prefixes) to its canonical name and kind.
func attributeKind(key string) (string, readapi.AttrKind, bool) {
	name, a, ok := readapi.LookupAttribute(key)
	return name, a.Kind, ok
}

// parseDateValue parses a date condition value: an RFC 3339 time (from and
// to are it), or a YYYY-MM-DD day (day true: the UTC day from its first
// instant to the next day's), as readapi's parser accepted it.
func parseDateValue(s string) (from, to time.Time, day, ok bool) {
	from, day, ok = readapi.ParseDate(s)
	to = from
	if day {
		to = from.AddDate(0, 0, 1)
	}
	return from, to, day, ok
}

// cursorOf returns q's cursor, if it has one.
func cursorOf(q readapi.Query) (readapi.Cursor, bool) {
	if c := q.Cursor(); c != nil {
		return *c, true
	}
	return readapi.Cursor{}, false
}
