// Package pgquery is the read API's Service over PostgreSQL: readapi's
// query model (filters, the advanced condition filter, ordering, keyset
// cursors) compiled to SQL on the rm_contacts read model (pgservice.go),
// with the columns of each attribute and ordering (columns.go), the value
// sets that turn low-cardinality text filters into equalities
// (valuesets.go), the live filter's MatchContacts (match.go), the CSV
// export's one-snapshot query (export.go) and the company/group/label
// lists (lists.go).
package pgquery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"contacts/domain"
	"contacts/projections"
	"contacts/readapi"
)

// PG is the Service over the PostgreSQL read model (rm_contacts, migration
// 0004; indexes of 0005).
//
// Every statement filters account_id and, unless the query says
// include_deleted, NOT hidden (deleted or merged). User input only ever
// reaches SQL as bind parameters; column names come from this package's
// whitelists. Statements run as unnamed prepared statements
// (QueryExecModeCacheDescribe), so each is planned with its actual
// parameters: a LIKE pattern's selectivity decides between the trigram index
// and a scan.
type PG struct {
	pool *pgxpool.Pool
	// scanFieldValues makes FieldValues always scan the contacts (tests
	// compare it with the values table).
	scanFieldValues bool
	// patternFilters keeps every text filter a pattern (tests compare it
	// with the value sets).
	patternFilters bool
}

var _ readapi.Service = (*PG)(nil)

// NewPG returns the service over pool (schema from internal/migrations).
func NewPG(pool *pgxpool.Pool) *PG { return &PG{pool: pool} }

const execMode = pgx.QueryExecModeCacheDescribe

// sqlArgs collects bind parameters, and holds the value sets the filters
// may use (see valuesets.go).
type sqlArgs struct {
	args []any
	sets valueSets
}

// add binds v and returns its placeholder with a cast to typ.
func (a *sqlArgs) add(v any, typ string) string {
	a.args = append(a.args, v)
	return "$" + strconv.Itoa(len(a.args)) + "::" + typ
}

func (a *sqlArgs) text(s string) string { return a.add(s, "text") }

func invalidAccount() error { return domain.InvalidField("account_id", "must be a UUID") }

// where is the WHERE clause of q for the account.
func where(a *sqlArgs, accountID string, q readapi.Query) string {
	parts := []string{"c.account_id = " + a.add(accountID, "uuid")}
	if !q.IncludeDeleted() {
		parts = append(parts, "NOT c.hidden")
	}
	for _, c := range q.Where() {
		parts = append(parts, condSQL(a, c))
	}
	if q.Search() != "" {
		parts = append(parts, searchSQL(a, q.Search()))
	}
	if q.Advanced() != nil {
		parts = append(parts, condSQL(a, q.Advanced()))
	}
	return strings.Join(parts, " AND ")
}

// searchSQL: the contact full-text search, a case-insensitive substring of
// the name, e-mail, title or company name (every arm trigram-indexed).
func searchSQL(a *sqlArgs, s string) string {
	v := strings.ToLower(s)
	p := a.text("%" + likeEscape(v) + "%")
	return "(" + nameLike(a, v, p) + " OR lower(c.email) LIKE " + p + " OR lower(c.title) LIKE " + p +
		" OR lower(c.company_name) LIKE " + p + ")"
}

// nameLike matches the full name (first_name + " " + last_name) against a
// pattern p holding the lower-cased value v. A value without white space lies
// inside the first or the last name, which the trigram index serves; one
// with white space is matched on the name column, behind an equivalent
// indexed pre-filter: each of its words lies inside the first or last name.
func nameLike(a *sqlArgs, v, p string) string {
	words := strings.FieldsFunc(v, unicode.IsSpace)
	if len(words) == 1 && words[0] == v {
		return "(lower(c.first_name) LIKE " + p + " OR lower(c.last_name) LIKE " + p + ")"
	}
	parts := []string{"lower(c.name) LIKE " + p}
	for _, w := range words {
		wp := a.text("%" + likeEscape(w) + "%")
		parts = append(parts, "(lower(c.first_name) LIKE "+wp+" OR lower(c.last_name) LIKE "+wp+")")
	}
	return "(" + strings.Join(parts, " AND ") + ")"
}

// condSQL renders a condition tree.
func condSQL(a *sqlArgs, c *readapi.Condition) string {
	switch {
	case c == nil:
		return "TRUE"
	case len(c.And) > 0:
		return joinConds(a, c.And, " AND ")
	case len(c.Or) > 0:
		return joinConds(a, c.Or, " OR ")
	}
	return leafSQL(a, c)
}

func joinConds(a *sqlArgs, cs []*readapi.Condition, op string) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = condSQL(a, c)
	}
	return "(" + strings.Join(parts, op) + ")"
}

// anyValue ORs one predicate per value.
func anyValue(values []any, f func(v any) string) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = f(v)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

func not(pred string) string { return "(" + pred + ") IS NOT TRUE" }

func lowerString(v any) string {
	switch x := v.(type) {
	case string:
		return strings.ToLower(x)
	case float64:
		return readapi.FormatNumber(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// leafSQL renders one leaf condition.
func leafSQL(a *sqlArgs, c *readapi.Condition) string {
	name, attr, ok := lookupAttribute(c.Attribute)
	if !ok { // not reachable through the parsers
		return "FALSE"
	}
	switch attr.kind {
	case readapi.AttrText:
		return textSQL(a, name, attr, c)
	case readapi.AttrList:
		return listSQL(a, attr.cols[0], c)
	case readapi.AttrNumber:
		return numberSQL(a, attr.cols[0], c)
	case readapi.AttrDate:
		return dateSQL(a, attr.cols[0], c)
	case readapi.AttrBool:
		col := attr.cols[0]
		eq := anyValue(c.Values, func(v any) string { return col + " = " + a.add(v == true, "boolean") })
		if c.Operator == readapi.OpNotEqualTo {
			return not(eq)
		}
		return eq
	case readapi.AttrJSON:
		return jsonSQL(a, name, c)
	}
	return "FALSE"
}

func textSQL(a *sqlArgs, name string, attr attribute, c *readapi.Condition) string {
	like := func(pattern func(v string) string) string {
		return anyValue(c.Values, func(v any) string {
			lv := lowerString(v)
			if eq, ok := valueSetSQL(a, name, attr, pattern(lv)); ok {
				return eq
			}
			p := a.text(pattern(lv))
			if name == "name" && c.Operator != readapi.OpStartsWith {
				return nameLike(a, lv, p)
			}
			arms := make([]string, len(attr.cols))
			for i, col := range attr.cols {
				arms[i] = "lower(" + col + ") LIKE " + p
			}
			return orJoin(arms)
		})
	}
	contains := func(v string) string { return "%" + likeEscape(v) + "%" }
	eq := func() string {
		return anyValue(c.Values, func(v any) string {
			if eq, ok := valueSetSQL(a, name, attr, likeEscape(lowerString(v))); ok {
				return eq
			}
			p := a.text(lowerString(v))
			arms := make([]string, len(attr.cols))
			for i, col := range attr.cols {
				arms[i] = "lower(" + col + ") = " + p
			}
			return orJoin(arms)
		})
	}
	present := func() string {
		arms := make([]string, len(attr.cols))
		for i, col := range attr.cols {
			arms[i] = "coalesce(" + col + ", '') <> ''"
		}
		return orJoin(arms)
	}
	switch c.Operator {
	case readapi.OpContains:
		return like(contains)
	case readapi.OpDoesNotContain:
		return not(like(contains))
	case readapi.OpStartsWith:
		return like(func(v string) string { return likeEscape(v) + "%" })
	case readapi.OpEqualTo:
		return eq()
	case readapi.OpNotEqualTo:
		return not(eq())
	case readapi.OpIsPresent:
		return present()
	case readapi.OpIsNotPresent:
		return "NOT " + present()
	}
	return "FALSE"
}

func orJoin(arms []string) string {
	if len(arms) == 1 {
		return arms[0]
	}
	return "(" + strings.Join(arms, " OR ") + ")"
}

// listSQL: col is the lower-cased JSON text of a list ('["cloud", "saas"]'):
// an element is matched as its JSON-quoted form, a substring as its
// JSON-escaped form, a prefix as a quote followed by it. The trigram index
// serves every one of these LIKEs.
func listSQL(a *sqlArgs, col string, c *readapi.Condition) string {
	like := func(pattern func(v string) string) string {
		return anyValue(c.Values, func(v any) string { return col + " LIKE " + a.text(pattern(lowerString(v))) })
	}
	contains := func(v string) string { return "%" + likeEscape(jsonInner(v)) + "%" }
	element := func(v string) string { return "%" + likeEscape(jsonQuote(v)) + "%" }
	present := "coalesce(" + col + ", '[]') NOT IN ('[]', 'null')"
	switch c.Operator {
	case readapi.OpContains:
		return like(contains)
	case readapi.OpDoesNotContain:
		return not(like(contains))
	case readapi.OpStartsWith:
		return like(func(v string) string { return `%"` + likeEscape(jsonInner(v)) + "%" })
	case readapi.OpEqualTo:
		return like(element)
	case readapi.OpNotEqualTo:
		return not(like(element))
	case readapi.OpIsPresent:
		return present
	case readapi.OpIsNotPresent:
		return "NOT " + present
	}
	return "FALSE"
}

func numberSQL(a *sqlArgs, col string, c *readapi.Condition) string {
	cmp := func(op string) string {
		return anyValue(c.Values, func(v any) string { return col + " " + op + " " + a.add(v, "float8") })
	}
	switch c.Operator {
	case readapi.OpEqualTo:
		return cmp("=")
	case readapi.OpNotEqualTo:
		return not(cmp("="))
	case readapi.OpIsGreaterThan:
		return cmp(">")
	case readapi.OpIsLessThan:
		return cmp("<")
	case readapi.OpAtLeast:
		return cmp(">=")
	case readapi.OpAtMost:
		return cmp("<=")
	case readapi.OpIsPresent:
		return col + " IS NOT NULL"
	case readapi.OpIsNotPresent:
		return col + " IS NULL"
	}
	return "FALSE"
}

// dateSQL: a date value (YYYY-MM-DD) is the UTC day: equal_to is within it,
// is_greater_than after it, is_less_than before it; the range filters
// include it (…_after from its start, …_before to its end).
func dateSQL(a *sqlArgs, col string, c *readapi.Condition) string {
	ts := func(t time.Time) string { return a.add(t, "timestamptz") }
	each := func(f func(from, to time.Time, day bool) string) string {
		return anyValue(c.Values, func(v any) string {
			s, _ := v.(string)
			t, day, _ := readapi.ParseDate(s)
			to := t
			if day {
				to = t.AddDate(0, 0, 1)
			}
			return f(t, to, day)
		})
	}
	eq := func() string {
		return each(func(from, to time.Time, day bool) string {
			if day {
				return "(" + col + " >= " + ts(from) + " AND " + col + " < " + ts(to) + ")"
			}
			return col + " = " + ts(from)
		})
	}
	switch c.Operator {
	case readapi.OpEqualTo:
		return eq()
	case readapi.OpNotEqualTo:
		return not(eq())
	case readapi.OpIsGreaterThan:
		return each(func(from, to time.Time, day bool) string {
			if day {
				return col + " >= " + ts(to)
			}
			return col + " > " + ts(from)
		})
	case readapi.OpIsLessThan:
		return each(func(from, _ time.Time, _ bool) string { return col + " < " + ts(from) })
	case readapi.OpAtLeast:
		return each(func(from, _ time.Time, _ bool) string { return col + " >= " + ts(from) })
	case readapi.OpAtMost:
		return each(func(from, to time.Time, day bool) string {
			if day {
				return col + " < " + ts(to)
			}
			return col + " <= " + ts(from)
		})
	case readapi.OpDaysBefore:
		return anyValue(c.Values, func(v any) string {
			return col + " < now() - " + a.add(v, "float8") + " * interval '1 day'"
		})
	case readapi.OpIsPresent:
		return col + " IS NOT NULL"
	case readapi.OpIsNotPresent:
		return col + " IS NULL"
	}
	return "FALSE"
}

// jsonSQL: custom_attributes.<key> / additional_attributes.<key>. The key is
// a bind parameter; the member name comes from jsonPrefixes.
func jsonSQL(a *sqlArgs, name string, c *readapi.Condition) string {
	member, key := readapi.JSONAttribute(name)
	k := a.text(key)
	j := "(c.doc -> '" + member + "' -> " + k + ")"
	t := "(c.doc -> '" + member + "' ->> " + k + ")"
	like := func(pattern func(v string) string) string {
		return anyValue(c.Values, func(v any) string { return "lower(" + t + ") LIKE " + a.text(pattern(lowerString(v))) })
	}
	contains := func(v string) string { return "%" + likeEscape(v) + "%" }
	eq := func() string {
		return anyValue(c.Values, func(v any) string {
			if f, ok := v.(float64); ok {
				return "(CASE jsonb_typeof(" + j + ") WHEN 'number' THEN " + t + "::numeric = " + a.add(readapi.FormatNumber(f), "numeric") +
					" WHEN 'string' THEN " + t + " = " + a.text(readapi.FormatNumber(f)) + " ELSE false END)"
			}
			return "lower(" + t + ") = " + a.text(lowerString(v))
		})
	}
	cmp := func(op string) string {
		return anyValue(c.Values, func(v any) string {
			if f, ok := v.(float64); ok {
				return "(CASE WHEN jsonb_typeof(" + j + ") = 'number' THEN " + t + "::numeric " + op + " " +
					a.add(readapi.FormatNumber(f), "numeric") + " ELSE false END)"
			}
			return "(jsonb_typeof(" + j + ") = 'string' AND " + t + ` COLLATE "C" ` + op + " " + a.text(lowerString(v)) + ` COLLATE "C")`
		})
	}
	present := "coalesce(" + t + ", '') <> ''"
	switch c.Operator {
	case readapi.OpEqualTo:
		return eq()
	case readapi.OpNotEqualTo:
		return not(eq())
	case readapi.OpContains:
		return like(contains)
	case readapi.OpDoesNotContain:
		return not(like(contains))
	case readapi.OpStartsWith:
		return like(func(v string) string { return likeEscape(v) + "%" })
	case readapi.OpIsGreaterThan:
		return cmp(">")
	case readapi.OpIsLessThan:
		return cmp("<")
	case readapi.OpIsPresent:
		return present
	case readapi.OpIsNotPresent:
		return "NOT " + present
	}
	return "FALSE"
}

// likeEscape makes s match literally in LIKE (escape character: backslash).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// jsonQuote is s as a JSON string literal the way PostgreSQL prints jsonb
// (only ", \ and control characters escaped; hexadecimal in lower case).
func jsonQuote(s string) string { return `"` + jsonInner(s) + `"` }

func jsonInner(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// orderSQL is the ORDER BY list of keys (reversed for a backward page),
// with the uuid tiebreak in the direction of the last key.
func orderSQL(keys []readapi.OrderKey, reverse bool) string {
	parts := make([]string, 0, len(keys)+1)
	dir := func(desc bool) string {
		if desc != reverse {
			return " DESC"
		}
		return " ASC"
	}
	for _, k := range keys {
		parts = append(parts, orderExprs[k.Field]+dir(k.Desc))
	}
	parts = append(parts, "c.uuid"+dir(keys[len(keys)-1].Desc))
	return strings.Join(parts, ", ")
}

// keysetSQL selects the rows after (or, backward, before) the cursor's
// boundary row in the ordering: a row-value comparison when every key runs
// the same way (an index range), else the OR-expanded comparison.
func keysetSQL(a *sqlArgs, keys []readapi.OrderKey, cur *readapi.Cursor) string {
	n := len(keys)
	exprs := make([]string, n+1)
	vals := make([]string, n+1)
	desc := make([]bool, n+1)
	for i, k := range keys {
		exprs[i], vals[i], desc[i] = orderExprs[k.Field], a.add(cur.Values[i], readapi.OrderType(k.Field)), k.Desc
	}
	exprs[n], vals[n], desc[n] = "c.uuid", a.add(cur.UUID, "uuid"), keys[n-1].Desc
	op := func(d bool) string {
		if d != cur.Backward {
			return "<"
		}
		return ">"
	}
	uniform := true
	for _, d := range desc {
		uniform = uniform && d == desc[0]
	}
	eq := ""
	if cur.Inclusive {
		eq = "="
	}
	if uniform {
		return "(" + strings.Join(exprs, ", ") + ") " + op(desc[0]) + eq + " (" + strings.Join(vals, ", ") + ")"
	}
	arms := make([]string, 0, n+1)
	for i := range exprs {
		var parts []string
		for j := 0; j < i; j++ {
			parts = append(parts, exprs[j]+" = "+vals[j])
		}
		o := op(desc[i])
		if i == n {
			o += eq
		}
		parts = append(parts, exprs[i]+" "+o+" "+vals[i])
		arms = append(arms, "("+strings.Join(parts, " AND ")+")")
	}
	return "(" + strings.Join(arms, " OR ") + ")"
}

// scanOrderValue returns a destination for an ordering value of typ.
func scanOrderValue(typ string) any {
	switch typ {
	case "timestamptz":
		return new(time.Time)
	case "bigint":
		return new(int64)
	case "float8":
		return new(float64)
	}
	return new(string)
}

// cursorValue is a scanned ordering value as the cursor stores it.
func cursorValue(v any) string {
	switch x := v.(type) {
	case *time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *int64:
		return strconv.FormatInt(*x, 10)
	case *float64:
		switch {
		case math.IsInf(*x, -1):
			return "-Infinity"
		case math.IsInf(*x, 1):
			return "Infinity"
		}
		return strconv.FormatFloat(*x, 'g', -1, 64)
	case *string:
		return *x
	}
	return ""
}

// contactRow is one listed contact: its uuid, its document and its ordering
// values (as the cursor stores them).
type contactRow struct {
	uuid  string
	doc   []byte
	order []string
}

// selectContacts runs the keyset/offset query of q: limit rows (all when
// limit < 0) in the ordering, after/before the cursor, with the document
// when withDoc. Backward pages come back in the ordering too.
func (s *PG) selectContacts(ctx context.Context, accountID string, q readapi.Query, limit int, withDoc bool) ([]contactRow, error) {
	var out []contactRow
	err := s.withValueSets(ctx, accountID, q, func(db querier, sets valueSets) (err error) {
		out, err = scanContacts(ctx, db, accountID, q, limit, withDoc, sets)
		return err
	})
	return out, err
}

// scanContacts runs contactsSQL on db and reads its rows.
func scanContacts(ctx context.Context, db querier, accountID string, q readapi.Query, limit int, withDoc bool, sets valueSets) ([]contactRow, error) {
	sql, args, keys, backward := contactsSQL(accountID, q, limit, withDoc, sets)
	rows, err := db.Query(ctx, sql, append([]any{execMode}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("readapi: list contacts: %w", err)
	}
	defer rows.Close()
	var out []contactRow
	for rows.Next() {
		var r contactRow
		dest := []any{&r.uuid}
		if withDoc {
			dest = append(dest, &r.doc)
		}
		vals := make([]any, len(keys))
		for i, k := range keys {
			vals[i] = scanOrderValue(readapi.OrderType(k.Field))
		}
		if err := rows.Scan(append(dest, vals...)...); err != nil {
			return nil, fmt.Errorf("readapi: list contacts: %w", err)
		}
		r.order = make([]string, len(vals))
		for i, v := range vals {
			r.order[i] = cursorValue(v)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("readapi: list contacts: %w", err)
	}
	if backward {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// contactsSQL is the statement of selectContacts: uuid, doc (withDoc), the
// ordering values; limit < 0 is no limit. Filters use the value sets given.
func contactsSQL(accountID string, q readapi.Query, limit int, withDoc bool, sets valueSets) (sql string, args []any, keys []readapi.OrderKey, backward bool) {
	keys = q.Order()
	a := &sqlArgs{sets: sets}
	w := where(a, accountID, q)
	backward = q.Cursor() != nil && q.Cursor().Backward
	if q.Cursor() != nil {
		w += " AND " + keysetSQL(a, keys, q.Cursor())
	}
	cols := []string{"c.uuid::text"}
	if withDoc {
		cols = append(cols, "c.doc")
	}
	for _, k := range keys {
		cols = append(cols, orderExprs[k.Field])
	}
	order := " ORDER BY " + orderSQL(keys, backward)
	page := ""
	if limit >= 0 {
		page += " LIMIT " + a.add(limit, "bigint")
	}
	if q.Offset() > 0 && q.Cursor() == nil {
		page += " OFFSET " + a.add(q.Offset(), "bigint")
	}
	if withDoc && limit >= 0 {
		// A page picks its rows first and reads their documents after: the
		// choice can then be made from an index alone (the facet index
		// holds the filter columns and the default ordering's), and only the
		// page's rows are read from the table, not every candidate.
		sql = "SELECT " + strings.Join(cols, ", ") + " FROM rm_contacts c WHERE c.uuid IN (SELECT c.uuid FROM rm_contacts c WHERE " +
			w + order + page + ")" + order
		return sql, a.args, keys, backward
	}
	sql = "SELECT " + strings.Join(cols, ", ") + " FROM rm_contacts c WHERE " + w + order + page
	return sql, a.args, keys, backward
}

// ListContacts returns one page: limit contacts (DefaultListLimit when q has
// none) in q's ordering, from the start (or offset), or after/before q's
// cursor. Next is a cursor after the last row when more rows follow;
// Previous a cursor before the first row, nil on the first page (no cursor,
// offset 0) and when a backward page reaches the start. Rows inserted or
// changed between page fetches never make a page repeat or skip a row that
// kept its place in the ordering.
func (s *PG) ListContacts(ctx context.Context, accountID string, q readapi.Query) (readapi.Page, error) {
	if !domain.IsUUID(accountID) {
		return readapi.Page{}, invalidAccount()
	}
	if err := readapi.CheckCursor(q); err != nil {
		return readapi.Page{}, err
	}
	limit := readapi.DefaultListLimit
	if l, ok := q.Limit(); ok {
		limit = l
	}
	rows, err := s.selectContacts(ctx, accountID, q, limit+1, true)
	if err != nil {
		return readapi.Page{}, err
	}
	more := len(rows) > limit
	backward := q.Cursor() != nil && q.Cursor().Backward
	if more {
		if backward {
			rows = rows[1:] // the extra row is the one before the page
		} else {
			rows = rows[:limit]
		}
	}
	h := q.Hash()
	mk := func(r contactRow, backward, inclusive bool) *string {
		c := readapi.EncodeCursor(readapi.Cursor{Values: r.order, UUID: r.uuid, Backward: backward, Inclusive: inclusive, Hash: h})
		return &c
	}
	page := readapi.Page{Results: make([]map[string]any, 0, len(rows))}
	for _, r := range rows {
		var doc projections.ContactDoc
		if err := json.Unmarshal(r.doc, &doc); err != nil {
			return readapi.Page{}, fmt.Errorf("readapi: contact %s: %w", r.uuid, err)
		}
		page.Results = append(page.Results, readapi.ContactResult(doc, q.View()))
	}
	switch {
	case len(rows) > 0:
		if !backward && more || backward && q.Cursor() != nil {
			page.Next = mk(rows[len(rows)-1], false, false)
		}
		if backward && more || !backward && (q.Cursor() != nil || q.Offset() > 0) {
			page.Previous = mk(rows[0], true, false)
		}
	case q.Cursor() != nil:
		// An empty page after a cursor (its rows went away): point back
		// at the boundary row, included.
		boundary := contactRow{uuid: q.Cursor().UUID, order: q.Cursor().Values}
		if backward {
			page.Next = mk(boundary, false, !q.Cursor().Inclusive)
		} else {
			page.Previous = mk(boundary, true, !q.Cursor().Inclusive)
		}
	}
	return page, nil
}

// GetContact reads one contact of the account. Deleted and merged contacts
// read as not found (as in lists without include_deleted); GetContactAny
// reads them too.
func (s *PG) GetContact(ctx context.Context, accountID, uuid string) (projections.ContactDoc, bool, error) {
	return s.getContact(ctx, accountID, uuid, false)
}

// GetContactAny reads one contact of the account, deleted or merged ones
// included (Deleted / MergedInto tell).
func (s *PG) GetContactAny(ctx context.Context, accountID, uuid string) (projections.ContactDoc, bool, error) {
	return s.getContact(ctx, accountID, uuid, true)
}

func (s *PG) getContact(ctx context.Context, accountID, uuid string, hidden bool) (projections.ContactDoc, bool, error) {
	var doc projections.ContactDoc
	if !domain.IsUUID(accountID) || !domain.IsUUID(uuid) {
		return doc, false, nil
	}
	sql := "SELECT c.doc FROM rm_contacts c WHERE c.uuid = $1::uuid AND c.account_id = $2::uuid"
	if !hidden {
		sql += " AND NOT c.hidden"
	}
	var raw []byte
	err := s.pool.QueryRow(ctx, sql, execMode, uuid, accountID).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return doc, false, nil
	}
	if err != nil {
		return doc, false, fmt.Errorf("readapi: get contact: %w", err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return doc, false, fmt.Errorf("readapi: contact %s: %w", uuid, err)
	}
	return doc, true, nil
}

// CountContacts counts the contacts q matches (ordering, pagination and
// view do not apply).
func (s *PG) CountContacts(ctx context.Context, accountID string, q readapi.Query) (int64, error) {
	if !domain.IsUUID(accountID) {
		return 0, invalidAccount()
	}
	var n int64
	err := s.withValueSets(ctx, accountID, q, func(db querier, sets valueSets) error {
		a := &sqlArgs{sets: sets}
		sql := "SELECT count(*) FROM rm_contacts c WHERE " + where(a, accountID, q)
		if err := db.QueryRow(ctx, sql, append([]any{execMode}, a.args...)...).Scan(&n); err != nil {
			return fmt.Errorf("readapi: count contacts: %w", err)
		}
		return nil
	})
	return n, err
}

// ContactUUIDs returns the uuids of the contacts q matches, in q's ordering:
// all of them when q has no limit (get_contact_uuids: "unlimited"), after
// offset or the cursor when given.
func (s *PG) ContactUUIDs(ctx context.Context, accountID string, q readapi.Query) ([]string, error) {
	if !domain.IsUUID(accountID) {
		return nil, invalidAccount()
	}
	if err := readapi.CheckCursor(q); err != nil {
		return nil, err
	}
	limit := -1
	if l, ok := q.Limit(); ok {
		limit = l
	}
	rows, err := s.selectContacts(ctx, accountID, q, limit, false)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.uuid
	}
	return out, nil
}

// fieldSpec says where a field action's values come from: a text column, or
// a list (the jsonb array, and its lower-cased JSON text column, which the
// trigram index serves).
type fieldSpec struct {
	col      string
	path     string
	listText string
}

var fieldSpecs = map[readapi.Field]fieldSpec{
	readapi.FieldTitle:          {col: "c.title"},
	readapi.FieldCompany:        {col: "c.company_name"},
	readapi.FieldIndustry:       {path: "c.doc -> 'company' -> 'industries'", listText: "c.company_industries"},
	readapi.FieldKeyword:        {path: "c.doc -> 'company' -> 'keywords'", listText: "c.company_keywords"},
	readapi.FieldTechnology:     {path: "c.doc -> 'company' -> 'technologies'", listText: "c.company_technologies"},
	readapi.FieldCompanyAddress: {col: "c.company_text_search"},
	readapi.FieldContactAddress: {col: "c.text_search"},
	readapi.FieldCity:           {col: "c.city"},
	readapi.FieldState:          {col: "c.state"},
	readapi.FieldCountry:        {col: "c.country"},
	readapi.FieldCompanyCity:    {col: "c.company_city"},
	readapi.FieldCompanyState:   {col: "c.company_state"},
	readapi.FieldCompanyCountry: {col: "c.company_country"},
}

// FieldValues answers a field action. The document says such an action
// returns "contacts with only id and <field>"; its response examples show
// plain strings, so we return the values as strings:
//
//   - not distinct: one value per matching contact, in q's ordering (default
//     newest first), contacts whose value is empty skipped; a list field's
//     value is its elements joined with ", ";
//   - distinct: the unique values, compared case-insensitively (the first
//     spelling in byte order is kept, e.g. "CEO" over "Ceo"), sorted
//     alphabetically (case-insensitively);
//   - separated: list fields (industries, keywords, technologies) give one
//     value per element, text fields one per comma-separated part (trimmed);
//   - opt.Search keeps values holding it (case-insensitive; with separated,
//     or for a list field's elements, per element);
//   - opt.Limit and opt.Offset page the final list (no limit: all).
//
// The contact filters of q apply (q's search, limit, offset and cursor do
// not: ParseFieldOptions moves the field action's own into opt).
func (s *PG) FieldValues(ctx context.Context, accountID string, field readapi.Field, q readapi.Query, opt readapi.FieldOptions) ([]string, error) {
	spec, ok := fieldSpecs[field]
	if !ok {
		return nil, domain.InvalidField("field", fmt.Sprintf("unknown field %q", field))
	}
	if !domain.IsUUID(accountID) {
		return nil, invalidAccount()
	}
	if opt.Offset < 0 || opt.Limit != nil && *opt.Limit < 0 {
		return nil, domain.InvalidField(readapi.KeyLimit, "limit and offset must not be negative")
	}
	q = q.WithoutCursor()
	search := strings.ToLower(strings.TrimSpace(opt.Search))
	if key, ok := valuesKey(field, spec, q, opt); ok && !s.scanFieldValues {
		return s.distinctValues(ctx, accountID, field, key, search, opt)
	}
	var out []string
	err := s.withValueSets(ctx, accountID, q, func(db querier, sets valueSets) (err error) {
		sql, a := fieldValuesSQL(accountID, spec, q, opt, search, sets)
		out, err = fieldPage(ctx, db, field, sql, a, opt)
		return err
	})
	return out, err
}

// fieldValuesSQL is the statement of a field action that reads the contacts
// (not rm_contact_values): its values in q's contacts, with q's filters
// using the value sets given.
func fieldValuesSQL(accountID string, spec fieldSpec, q readapi.Query, opt readapi.FieldOptions, search string, sets valueSets) (string, *sqlArgs) {
	a := &sqlArgs{sets: sets}
	w := []string{where(a, accountID, q)}
	var p string
	if search != "" {
		p = a.text("%" + likeEscape(search) + "%")
	}
	from := "rm_contacts c"
	val, tail := "", ""
	elements := func(path string) string {
		return "jsonb_array_elements_text(CASE WHEN jsonb_typeof(" + path + ") = 'array' THEN " + path + " ELSE '[]'::jsonb END)"
	}
	switch {
	case spec.col != "" && !opt.Separated:
		val = spec.col
		if p != "" {
			w = append(w, "lower("+spec.col+") LIKE "+p)
		}
	case spec.col != "":
		from += " CROSS JOIN LATERAL (SELECT btrim(x) AS v, n FROM unnest(string_to_array(" + spec.col +
			", ',')) WITH ORDINALITY AS u(x, n)) e"
		val, tail = "e.v", ", e.n"
		if p != "" {
			w = append(w, "lower("+spec.col+") LIKE "+p, "lower(e.v) LIKE "+p)
		}
	case opt.Separated:
		from += " CROSS JOIN LATERAL " + elements(spec.path) + " WITH ORDINALITY AS e(v, n)"
		val, tail = "e.v", ", e.n"
		if p != "" {
			w = append(w, spec.listText+" LIKE "+a.text("%"+likeEscape(jsonInner(search))+"%"), "lower(e.v) LIKE "+p)
		}
	default:
		hit := "true"
		if p != "" {
			hit = "bool_or(lower(x) LIKE " + p + ")"
			w = append(w, spec.listText+" LIKE "+a.text("%"+likeEscape(jsonInner(search))+"%"), "e.hit")
		}
		from += " CROSS JOIN LATERAL (SELECT string_agg(x, ', ' ORDER BY n) AS v, " + hit + " AS hit FROM " +
			elements(spec.path) + " WITH ORDINALITY AS u(x, n) WHERE x <> '') e"
		val = "e.v"
	}
	w = append(w, val+" <> ''")
	var sql string
	if opt.Distinct {
		sql = "SELECT min(" + val + ` COLLATE "C") FROM ` + from + " WHERE " + strings.Join(w, " AND ") +
			" GROUP BY lower(" + val + ") ORDER BY lower(" + val + ")"
	} else {
		sql = "SELECT " + val + " FROM " + from + " WHERE " + strings.Join(w, " AND ") +
			" ORDER BY " + orderSQL(q.Order(), false) + tail
	}
	return sql, a
}

// valuesKey says whether a field action can be answered from
// rm_contact_values (migration 0008), the per-account counts of each field
// value over visible contacts, and under which key: only distinct values
// with no contact filter (those must look at the contacts), and not a list
// field's joined values (rare, and a search there matches any element).
func valuesKey(field readapi.Field, spec fieldSpec, q readapi.Query, opt readapi.FieldOptions) (string, bool) {
	if !opt.Distinct || len(q.Where()) > 0 || q.Search() != "" || q.Advanced() != nil || q.IncludeDeleted() {
		return "", false
	}
	switch {
	case spec.col == "" && !opt.Separated:
		return "", false
	case spec.col != "" && opt.Separated:
		return string(field) + "/sep", true // a text field's comma-separated parts
	}
	return string(field), true
}

// distinctValues answers a distinct field action from rm_contact_values
// with the same result as the scan in FieldValues: one spelling per
// case-insensitive value (the first in byte order), alphabetical.
func (s *PG) distinctValues(ctx context.Context, accountID string, field readapi.Field, key, search string, opt readapi.FieldOptions) ([]string, error) {
	a := &sqlArgs{}
	w := "v.account_id = " + a.add(accountID, "uuid") + " AND v.field = " + a.text(key) + " AND v.contacts > 0"
	if search != "" {
		w += " AND lower(v.value) LIKE " + a.text("%"+likeEscape(search)+"%")
	}
	sql := `SELECT min(v.value COLLATE "C") FROM rm_contact_values v WHERE ` + w +
		" GROUP BY lower(v.value) ORDER BY lower(v.value)"
	return fieldPage(ctx, s.pool, field, sql, a, opt)
}

// fieldPage runs a field action's statement with opt's page (LIMIT, OFFSET)
// and returns its values, never nil.
func fieldPage(ctx context.Context, db querier, field readapi.Field, sql string, a *sqlArgs, opt readapi.FieldOptions) ([]string, error) {
	if opt.Limit != nil {
		sql += " LIMIT " + a.add(*opt.Limit, "bigint")
	}
	if opt.Offset > 0 {
		sql += " OFFSET " + a.add(opt.Offset, "bigint")
	}
	rows, err := db.Query(ctx, sql, append([]any{execMode}, a.args...)...)
	if err != nil {
		return nil, fmt.Errorf("readapi: field %s: %w", field, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("readapi: field %s: %w", field, err)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// NewEngine is the read API's query side over the PostgreSQL read model.
func NewEngine(pool *pgxpool.Pool) readapi.Engine {
	pg := NewPG(pool)
	return readapi.Engine{Service: pg, Lists: NewPGLists(pool), Matcher: pg, Export: pg}
}
