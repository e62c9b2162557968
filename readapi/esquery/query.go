package esquery

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"contacts/domain"
	"contacts/projections/esstore"
	"contacts/readapi"
)

// scope is the only way to build a search of the contacts index: it cannot
// be made without a valid account id (newScope), and every query it builds
// starts with the term filter on that account. The zero scope builds
// nothing (errNoAccount).
type scope struct{ account string }

var errNoAccount = domain.InvalidField("account_id", "must be a UUID")

func newScope(accountID string) (scope, error) {
	if !domain.IsUUID(accountID) {
		return scope{}, errNoAccount
	}
	return scope{account: accountID}, nil
}

// query is the account filter ANDed with filters (and, unless
// includeHidden, the exclusion of deleted and merged contacts).
func (s scope) query(includeHidden bool, filters ...types.Query) (*types.Query, error) {
	if s.account == "" {
		return nil, errNoAccount
	}
	b := &types.BoolQuery{Filter: append([]types.Query{term("account_id", s.account)}, filters...)}
	if !includeHidden {
		b.MustNot = []types.Query{term("deleted", true), nonEmpty("merged_into")}
	}
	return &types.Query{Bool: b}, nil
}

// contactsQuery is q's filter for the account (basic filters, search,
// advanced filter).
func (s scope) contactsQuery(q readapi.Query) (*types.Query, error) {
	var fs []types.Query
	for _, c := range q.Where() {
		f, err := condQuery(c)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	if q.Search() != "" {
		fs = append(fs, searchQuery(q.Search()))
	}
	if c := q.Advanced(); c != nil {
		f, err := condQuery(c)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	return s.query(q.IncludeDeleted(), fs...)
}

func term(field string, v types.FieldValue) types.Query {
	return types.Query{Term: map[string]types.TermQuery{field: {Value: v}}}
}

// nonEmpty matches a keyword field holding a value other than "".
func nonEmpty(field string) types.Query {
	empty := ""
	return types.Query{Range: map[string]types.RangeQuery{field: types.TermRangeQuery{Gt: &empty}}}
}

// lower is the lower-cased (not folded) keyword subfield of a text field.
func lower(field string) string { return field + "." + esstore.LowerSubfield }

// wildcardEscape makes s literal in a wildcard pattern: the pattern syntax
// has only *, ? and the backslash escape. Nothing of user input reaches a
// query_string, a regexp or a script.
func wildcardEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`).Replace(s)
}

func wildcard(field, pattern string) types.Query {
	return types.Query{Wildcard: map[string]types.WildcardQuery{field: {Value: &pattern}}}
}

func or(qs ...types.Query) types.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	one := types.MinimumShouldMatch(1)
	return types.Query{Bool: &types.BoolQuery{Should: qs, MinimumShouldMatch: one}}
}

func and(qs ...types.Query) types.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	return types.Query{Bool: &types.BoolQuery{Filter: qs}}
}

func not(q types.Query) types.Query {
	return types.Query{Bool: &types.BoolQuery{MustNot: []types.Query{q}}}
}

func matchNone() types.Query { return types.Query{MatchNone: &types.MatchNoneQuery{}} }

// textFields are the document fields of each text attribute (a match on any
// counts), as readapi's attributes name their columns.
var textFields = map[string][]string{
	"first_name":      {"first_name"},
	"last_name":       {"last_name"},
	"name":            {"name"},
	"title":           {"title"},
	"company":         {"company.name"},
	"email":           {"email"},
	"email_status":    {"email_status"},
	"city":            {"city"},
	"state":           {"state"},
	"country":         {"country"},
	"postcode":        {"postcode"},
	"seniority":       {"seniority"},
	"company_city":    {"company.city"},
	"company_state":   {"company.state"},
	"company_country": {"company.country"},
	"company_address": {"company.text_search"},
	"contact_address": {"text_search"},
	"phone":           {"phone", "mobile_phone"},
	"identifier":      {"identifier"},
}

var listFields = map[string]string{
	"departments":  "departments",
	"industries":   "company.industries",
	"keywords":     "company.keywords",
	"technologies": "company.technologies",
	"labels":       "labels",
	"groups":       "groups.name",
}

var numberFields = map[string]string{"employees": "company.employees", "annual_revenue": "company.annual_revenue"}

var dateFields = map[string]string{"created_at": "created_at", "updated_at": "updated_at", "last_activity_at": "last_activity_at"}

// boolFields: the field and the value a missing one counts as (PostgreSQL's
// coalesce).
var boolFields = map[string]struct {
	field string
	dflt  bool
}{"active": {"active", true}, "opt_out": {"opt_out", false}, "blocked": {"blocked", false}}

// searchQuery is the contact search: a case-insensitive substring of the
// name, e-mail, title or company name (readapi searchSQL).
func searchQuery(s string) types.Query {
	v := strings.ToLower(s)
	p := "*" + wildcardEscape(v) + "*"
	return or(nameContains(v, p), wildcard(lower("email"), p), wildcard(lower("title"), p), wildcard(lower("company.name"), p))
}

// nameContains mirrors readapi nameLike: a value without white space lies
// in the first or last name; one with white space is matched on the name,
// and each of its words in the first or last name.
func nameContains(v, p string) types.Query {
	words := strings.FieldsFunc(v, unicode.IsSpace)
	firstOrLast := func(p string) types.Query {
		return or(wildcard(lower("first_name"), p), wildcard(lower("last_name"), p))
	}
	if len(words) == 1 && words[0] == v {
		return firstOrLast(p)
	}
	parts := []types.Query{wildcard(lower("name"), p)}
	for _, w := range words {
		parts = append(parts, firstOrLast("*"+wildcardEscape(w)+"*"))
	}
	return and(parts...)
}

// condQuery renders a condition tree (readapi condSQL).
func condQuery(c *readapi.Condition) (types.Query, error) {
	switch {
	case c == nil:
		return types.Query{MatchAll: &types.MatchAllQuery{}}, nil
	case len(c.And) > 0 || len(c.Or) > 0:
		subs := c.And
		if len(subs) == 0 {
			subs = c.Or
		}
		qs := make([]types.Query, len(subs))
		for i, sub := range subs {
			q, err := condQuery(sub)
			if err != nil {
				return types.Query{}, err
			}
			qs[i] = q
		}
		if len(c.And) > 0 {
			return and(qs...), nil
		}
		return or(qs...), nil
	}
	return leafQuery(c)
}

// errUnsupported reports a condition this engine does not answer yet: an
// error, never a different answer.
func errUnsupported(c *readapi.Condition) error {
	return domain.InvalidField("filter", fmt.Sprintf("%s %s is not supported by the Elasticsearch read model yet", c.Attribute, c.Operator))
}

func lowerString(v any) string {
	switch x := v.(type) {
	case string:
		return strings.ToLower(x)
	case float64:
		return formatNumber(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return fmt.Sprint(v)
}

// anyValue ORs one query per value.
func anyValue(values []any, f func(v any) types.Query) types.Query {
	qs := make([]types.Query, len(values))
	for i, v := range values {
		qs[i] = f(v)
	}
	return or(qs...)
}

func leafQuery(c *readapi.Condition) (types.Query, error) {
	name, kind, ok := attributeKind(c.Attribute)
	if !ok {
		return matchNone(), nil
	}
	switch kind {
	case readapi.AttrText:
		return textQuery(name, c)
	case readapi.AttrList:
		return listQuery(listFields[name], c)
	case readapi.AttrNumber:
		return numberQuery(numberFields[name], c)
	case readapi.AttrDate:
		return dateQuery(dateFields[name], c)
	case readapi.AttrBool:
		b := boolFields[name]
		eq := anyValue(c.Values, func(v any) types.Query {
			want := v == true
			if want == b.dflt {
				return not(term(b.field, !want)) // a missing value counts as the default
			}
			return term(b.field, want)
		})
		switch c.Operator {
		case readapi.OpEqualTo:
			return eq, nil
		case readapi.OpNotEqualTo:
			return not(eq), nil
		}
	}
	return types.Query{}, errUnsupported(c)
}

func textQuery(name string, c *readapi.Condition) (types.Query, error) {
	fields := textFields[name]
	each := func(f func(field string) types.Query) types.Query {
		qs := make([]types.Query, len(fields))
		for i, field := range fields {
			qs[i] = f(lower(field))
		}
		return or(qs...)
	}
	contains := func() types.Query {
		return anyValue(c.Values, func(v any) types.Query {
			lv := lowerString(v)
			p := "*" + wildcardEscape(lv) + "*"
			if name == "name" {
				return nameContains(lv, p)
			}
			return each(func(f string) types.Query { return wildcard(f, p) })
		})
	}
	eq := func() types.Query {
		return anyValue(c.Values, func(v any) types.Query {
			lv := lowerString(v)
			return each(func(f string) types.Query { return term(f, lv) })
		})
	}
	present := func() types.Query { return each(nonEmpty) }
	switch c.Operator {
	case readapi.OpContains:
		return contains(), nil
	case readapi.OpDoesNotContain:
		return not(contains()), nil
	case readapi.OpStartsWith:
		return anyValue(c.Values, func(v any) types.Query {
			p := wildcardEscape(lowerString(v)) + "*"
			return each(func(f string) types.Query { return wildcard(f, p) })
		}), nil
	case readapi.OpEqualTo:
		return eq(), nil
	case readapi.OpNotEqualTo:
		return not(eq()), nil
	case readapi.OpIsPresent:
		return present(), nil
	case readapi.OpIsNotPresent:
		return not(present()), nil
	}
	return types.Query{}, errUnsupported(c)
}

// listQuery: any element matches. PostgreSQL matches the list's JSON text,
// but with the value JSON-escaped, so a substring can never span two
// elements there either (the differential test has such values).
func listQuery(field string, c *readapi.Condition) (types.Query, error) {
	f := lower(field)
	pattern := func(mk func(v string) string) types.Query {
		return anyValue(c.Values, func(v any) types.Query { return wildcard(f, mk(wildcardEscape(lowerString(v)))) })
	}
	contains := func() types.Query { return pattern(func(v string) string { return "*" + v + "*" }) }
	eq := func() types.Query {
		return anyValue(c.Values, func(v any) types.Query { return term(f, lowerString(v)) })
	}
	present := types.Query{Exists: &types.ExistsQuery{Field: f}}
	switch c.Operator {
	case readapi.OpContains:
		return contains(), nil
	case readapi.OpDoesNotContain:
		return not(contains()), nil
	case readapi.OpStartsWith:
		return pattern(func(v string) string { return v + "*" }), nil
	case readapi.OpEqualTo:
		return eq(), nil
	case readapi.OpNotEqualTo:
		return not(eq()), nil
	case readapi.OpIsPresent:
		return present, nil
	case readapi.OpIsNotPresent:
		return not(present), nil
	}
	return types.Query{}, errUnsupported(c)
}

func numberQuery(field string, c *readapi.Condition) (types.Query, error) {
	rng := func(set func(r *types.NumberRangeQuery, f *types.Float64)) types.Query {
		return anyValue(c.Values, func(v any) types.Query {
			x, _ := v.(float64)
			f := types.Float64(x)
			r := types.NumberRangeQuery{}
			set(&r, &f)
			return types.Query{Range: map[string]types.RangeQuery{field: r}}
		})
	}
	eq := func() types.Query {
		return rng(func(r *types.NumberRangeQuery, f *types.Float64) { r.Gte, r.Lte = f, f })
	}
	present := types.Query{Exists: &types.ExistsQuery{Field: field}}
	switch c.Operator {
	case readapi.OpEqualTo:
		return eq(), nil
	case readapi.OpNotEqualTo:
		return not(eq()), nil
	case readapi.OpIsGreaterThan:
		return rng(func(r *types.NumberRangeQuery, f *types.Float64) { r.Gt = f }), nil
	case readapi.OpIsLessThan:
		return rng(func(r *types.NumberRangeQuery, f *types.Float64) { r.Lt = f }), nil
	case readapi.OpAtLeast:
		return rng(func(r *types.NumberRangeQuery, f *types.Float64) { r.Gte = f }), nil
	case readapi.OpAtMost:
		return rng(func(r *types.NumberRangeQuery, f *types.Float64) { r.Lte = f }), nil
	case readapi.OpIsPresent:
		return present, nil
	case readapi.OpIsNotPresent:
		return not(present), nil
	}
	return types.Query{}, errUnsupported(c)
}

// dateQuery mirrors readapi dateSQL: a day value is the UTC day.
func dateQuery(field string, c *readapi.Condition) (types.Query, error) {
	ts := func(t time.Time) *string { s := t.UTC().Format(time.RFC3339Nano); return &s }
	rng := func(r types.DateRangeQuery) types.Query {
		return types.Query{Range: map[string]types.RangeQuery{field: r}}
	}
	each := func(f func(from, to time.Time, day bool) types.Query) types.Query {
		return anyValue(c.Values, func(v any) types.Query {
			s, _ := v.(string)
			from, to, day, _ := parseDateValue(s)
			return f(from, to, day)
		})
	}
	eq := func() types.Query {
		return each(func(from, to time.Time, day bool) types.Query {
			if day {
				return rng(types.DateRangeQuery{Gte: ts(from), Lt: ts(to)})
			}
			return rng(types.DateRangeQuery{Gte: ts(from), Lte: ts(from)})
		})
	}
	present := types.Query{Exists: &types.ExistsQuery{Field: field}}
	switch c.Operator {
	case readapi.OpEqualTo:
		return eq(), nil
	case readapi.OpNotEqualTo:
		return not(eq()), nil
	case readapi.OpIsGreaterThan:
		return each(func(from, to time.Time, day bool) types.Query {
			if day {
				return rng(types.DateRangeQuery{Gte: ts(to)})
			}
			return rng(types.DateRangeQuery{Gt: ts(from)})
		}), nil
	case readapi.OpIsLessThan:
		return each(func(from, _ time.Time, _ bool) types.Query { return rng(types.DateRangeQuery{Lt: ts(from)}) }), nil
	case readapi.OpAtLeast:
		return each(func(from, _ time.Time, _ bool) types.Query { return rng(types.DateRangeQuery{Gte: ts(from)}) }), nil
	case readapi.OpAtMost:
		return each(func(from, to time.Time, day bool) types.Query {
			if day {
				return rng(types.DateRangeQuery{Lt: ts(to)})
			}
			return rng(types.DateRangeQuery{Lte: ts(from)})
		}), nil
	case readapi.OpDaysBefore:
		// PostgreSQL: col < now() - N days, N possibly fractional; the
		// instant is computed here (date math has whole units only).
		now := time.Now()
		return anyValue(c.Values, func(v any) types.Query {
			n, _ := v.(float64)
			return rng(types.DateRangeQuery{Lt: ts(now.Add(-time.Duration(n * float64(24*time.Hour))))})
		}), nil
	case readapi.OpIsPresent:
		return present, nil
	case readapi.OpIsNotPresent:
		return not(present), nil
	}
	return types.Query{}, errUnsupported(c)
}
