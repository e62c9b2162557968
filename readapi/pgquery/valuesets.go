package pgquery

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"contacts/readapi"
)

// Value sets (migrations 0008 and 0009): a text filter on a low-cardinality
// field ("country contains united", "seniority is senior") is answered as
// equality with the stored values it matches ({United States, United
// Kingdom}), looked up in rm_contact_values, which keeps the distinct values
// of every visible contact. Equality on known values is what the facet
// index serves from the index alone, and what the planner estimates well;
// the pattern itself can do neither.
//
// The result is the same: rm_contact_values holds exactly the values of the
// visible contacts, so "lower(col) LIKE p" and "col = ANY(values whose
// lower() is LIKE p)" select the same visible rows, NULL included (both are
// NULL there). The lookup and the query share one snapshot.

// valueSetFields maps the text attributes whose values rm_contact_values
// keeps, and whose sets are small enough to be worth it, to their key there.
var valueSetFields = map[string]string{
	"title": "title", "seniority": "seniority", "city": "city", "state": "state", "country": "country",
	"company_city": "company_city", "company_state": "company_state", "company_country": "company_country",
}

// maxValueSet bounds a set: a pattern matching more distinct values than
// this ("a" among ten thousand cities) stays a pattern.
const maxValueSet = 100

// valueSetKey is one lookup: the values of field whose lower-cased form is
// LIKE pattern.
type valueSetKey struct{ field, pattern string }

// valueSets holds the resolved lookups; a key that is absent (or matched
// more than maxValueSet values) is rendered as the pattern.
type valueSets map[valueSetKey][]string

// valueSetPattern is the LIKE pattern on lower(value) that an operator and a
// lower-cased value select, if the operator can be a value set. An empty
// value is left alone: it would match the empty string, which
// rm_contact_values does not keep.
func valueSetPattern(op, lv string) (string, bool) {
	if lv == "" {
		return "", false
	}
	switch op {
	case readapi.OpContains, readapi.OpDoesNotContain:
		return "%" + likeEscape(lv) + "%", true
	case readapi.OpStartsWith:
		return likeEscape(lv) + "%", true
	case readapi.OpEqualTo, readapi.OpNotEqualTo:
		return likeEscape(lv), true
	}
	return "", false
}

// valueSetLookups lists the lookups q's filters can use. None when q
// includes hidden contacts, whose values rm_contact_values leaves out.
func valueSetLookups(q readapi.Query) []valueSetKey {
	if q.IncludeDeleted() {
		return nil
	}
	seen := map[valueSetKey]bool{}
	var keys []valueSetKey
	var walk func(c *readapi.Condition)
	walk = func(c *readapi.Condition) {
		if c == nil {
			return
		}
		for _, sub := range c.And {
			walk(sub)
		}
		for _, sub := range c.Or {
			walk(sub)
		}
		name, attr, ok := lookupAttribute(c.Attribute)
		field, backed := valueSetFields[name]
		if !ok || !backed || attr.kind != readapi.AttrText {
			return
		}
		for _, v := range c.Values {
			if p, ok := valueSetPattern(c.Operator, lowerString(v)); ok {
				k := valueSetKey{field, p}
				if !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			}
		}
	}
	for _, c := range q.Where() {
		walk(c)
	}
	walk(q.Advanced())
	return keys
}

// valueSetSQL is the equality of a single-column text attribute with the
// resolved set of (field, pattern), if there is one.
func valueSetSQL(a *sqlArgs, name string, attr attribute, pattern string) (string, bool) {
	field, backed := valueSetFields[name]
	if !backed || len(attr.cols) != 1 {
		return "", false
	}
	values, ok := a.sets[valueSetKey{field, pattern}]
	if !ok {
		return "", false
	}
	if len(values) == 1 {
		// Plain equality: PostgreSQL 15 cannot use "= ANY" as the key of a
		// parallel index scan, and would scan the account's whole range.
		return attr.cols[0] + " = " + a.text(values[0]), true
	}
	return attr.cols[0] + " = ANY(" + a.add(values, "text[]") + ")", true
}

// querier is what the read queries need of a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// withValueSets runs fn with the value sets of q's filters, resolved in the
// snapshot fn reads: a read-only repeatable-read transaction when there is
// anything to look up, the pool otherwise.
func (s *PG) withValueSets(ctx context.Context, accountID string, q readapi.Query, fn func(db querier, sets valueSets) error) error {
	keys := valueSetLookups(q)
	if len(keys) == 0 || s.patternFilters {
		return fn(s.pool, nil)
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("readapi: begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only; nothing to keep
	sets, err := resolveValueSets(ctx, tx, accountID, keys)
	if err != nil {
		return err
	}
	if err := fn(tx, sets); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// resolveValueSets looks every key up in one statement, reading at most
// maxValueSet+1 values of each.
func resolveValueSets(ctx context.Context, db querier, accountID string, keys []valueSetKey) (valueSets, error) {
	fields := make([]string, len(keys))
	patterns := make([]string, len(keys))
	for i, k := range keys {
		fields[i], patterns[i] = k.field, k.pattern
	}
	rows, err := db.Query(ctx, `SELECT k.i::int, s.value
		FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS k(field, pattern, i)
		CROSS JOIN LATERAL (SELECT v.value FROM rm_contact_values v
			WHERE v.account_id = $1::uuid AND v.field = k.field AND v.contacts > 0 AND lower(v.value) LIKE k.pattern
			LIMIT $4::int) s`, execMode, accountID, fields, patterns, maxValueSet+1)
	if err != nil {
		return nil, fmt.Errorf("readapi: value sets: %w", err)
	}
	found := make([][]string, len(keys))
	var i int
	var value string
	if _, err := pgx.ForEachRow(rows, []any{&i, &value}, func() error {
		found[i-1] = append(found[i-1], value)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("readapi: value sets: %w", err)
	}
	sets := valueSets{}
	for i, k := range keys {
		switch {
		case len(found[i]) > maxValueSet:
		case found[i] == nil:
			sets[k] = []string{} // matches nothing (nil would be SQL NULL)
		default:
			sets[k] = found[i]
		}
	}
	return sets, nil
}
