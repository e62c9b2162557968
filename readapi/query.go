package readapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"contacts/domain"
)

// Query is a parsed, validated contact query: filters (text, exclusion,
// numeric, date, boolean), the full-text search, the advanced condition
// filter, ordering, pagination and view. The zero value is valid: every
// visible contact of the account, newest first, the full view, the action's
// default limit.
//
// Build it with ParseQuery (WebSocket "data" object), ParseQueryValues (REST
// query string), ParseSearchRequest (REST POST /contacts/search: query string
// plus a JSON body) or ParseFieldOptions (the 13 field actions). A Query
// holds no account: the Service methods take the account separately.
type Query struct {
	where          []*Condition // basic filters, each a leaf, ANDed (sorted by key)
	search         string       // contact full-text search ("" none)
	advanced       *Condition   // the "filter" key (nil none)
	ordering       []OrderKey   // nil: default (-created_at)
	limit          *int         // nil: the action's default
	offset         int
	cursor         *Cursor
	view           string // "", ViewSimple or ViewFull
	includeDeleted bool
}

// Views of a contact in results.
const (
	ViewSimple = "simple"
	ViewFull   = "full"
)

// Pagination bounds.
const (
	// DefaultListLimit is list_contacts' page size when limit is absent
	// ("max 100 items per page when limit is not explicitly set").
	DefaultListLimit = 100
	// MaxLimit bounds every explicit limit (lists, UUIDs, field values).
	MaxLimit = 1000
	// maxValues bounds the values of one filter key; maxValueLen one value.
	maxValues   = 100
	maxValueLen = 1000
	maxCursor   = 4096
)

// View returns "simple" or "full".
func (q Query) View() string {
	if q.view == "" {
		return ViewFull
	}
	return q.view
}

// Limit returns the explicit limit, if one was given.
func (q Query) Limit() (int, bool) {
	if q.limit == nil {
		return 0, false
	}
	return *q.limit, true
}

// Offset returns the offset (0 when absent).
func (q Query) Offset() int { return q.offset }

// IncludeDeleted tells whether deleted and merged contacts are listed too.
func (q Query) IncludeDeleted() bool { return q.includeDeleted }

// WithAdvanced returns q with c as its advanced filter (replacing any given
// in the data). A cursor parsed earlier is checked against the new filters
// when the query runs.
func (q Query) WithAdvanced(c *Condition) Query {
	q.advanced = c
	return q
}

// Advanced returns the advanced filter (nil when none).
func (q Query) Advanced() *Condition { return q.advanced }

// Where returns the basic filters, each a leaf condition, ANDed.
func (q Query) Where() []*Condition { return q.where }

// Search returns the contact full-text search ("" none).
func (q Query) Search() string { return q.search }

// Cursor returns the decoded pagination cursor (nil none).
func (q Query) Cursor() *Cursor { return q.cursor }

// WithoutCursor returns q without its cursor (field values ignore it).
func (q Query) WithoutCursor() Query {
	q.cursor = nil
	return q
}

// Operators only the basic filters use (inclusive bounds); never accepted in
// an advanced filter.
const (
	OpAtLeast = "_at_least"
	OpAtMost  = "_at_most"
)

// textFilterKeys are the case-insensitive substring filters: each names the
// attribute of the same name (see attributes).
var textFilterKeys = []string{
	"first_name", "last_name", "name", "title", "company", "email", "city", "state", "country",
	"postcode", "seniority", "departments", "industries", "keywords", "technologies",
	"company_city", "company_state", "company_country", "company_address", "contact_address",
	"labels", "groups", "phone", "identifier",
}

// exactFilterKeys are filters by exact (case-insensitive) value: e-mail
// status is an enumeration, where "valid" must not match "invalid".
var exactFilterKeys = []string{"email_status"}

// exclusionKeys map each exclusion to its attribute (exact, case-insensitive
// value; lists: any element).
var exclusionKeys = map[string]string{
	"exclude_titles":         "title",
	"exclude_seniorities":    "seniority",
	"exclude_departments":    "departments",
	"exclude_companies":      "company",
	"exclude_industries":     "industries",
	"exclude_keywords":       "keywords",
	"exclude_technologies":   "technologies",
	"exclude_cities":         "city",
	"exclude_states":         "state",
	"exclude_countries":      "country",
	"exclude_labels":         "labels",
	"exclude_email_statuses": "email_status",
}

// boundKeys are the numeric and date range keys: attribute and operator.
var boundKeys = map[string]struct{ attr, op string }{
	"employees_min":      {"employees", OpAtLeast},
	"employees_max":      {"employees", OpAtMost},
	"annual_revenue_min": {"annual_revenue", OpAtLeast},
	"annual_revenue_max": {"annual_revenue", OpAtMost},
	"created_at_after":   {"created_at", OpAtLeast},
	"created_at_before":  {"created_at", OpAtMost},
	"updated_at_after":   {"updated_at", OpAtLeast},
	"updated_at_before":  {"updated_at", OpAtMost},
}

// boolFilterKeys are the boolean filters (attribute of the same name).
var boolFilterKeys = []string{"active", "opt_out", "blocked"}

// Keys of the query itself (not filters).
const (
	keySearch         = "search"
	keyOrdering       = "ordering"
	KeyLimit          = "limit"
	keyOffset         = "offset"
	KeyCursor         = "cursor"
	keyView           = "view"
	keyIncludeDeleted = "include_deleted"
	keyFilter         = "filter"
	keyDistinct       = "distinct"
	keySeparated      = "separated"
)

var keyKinds = func() map[string]byte {
	m := map[string]byte{}
	for _, k := range textFilterKeys {
		m[k] = 't'
	}
	for _, k := range exactFilterKeys {
		m[k] = '='
	}
	for k := range exclusionKeys {
		m[k] = 'x'
	}
	for k := range boundKeys {
		m[k] = 'b'
	}
	for _, k := range boolFilterKeys {
		m[k] = '?'
	}
	for _, k := range []string{keySearch, keyOrdering, KeyLimit, keyOffset, KeyCursor, keyView, keyIncludeDeleted, keyFilter} {
		m[k] = 'q'
	}
	return m
}()

// ParseQuery parses the "data" object of list_contacts, count_contacts and
// get_contact_uuids (values as encoding/json decodes them: string, float64,
// bool, []any, map[string]any, nil). JSON null and "" mean "not given".
//
// Every problem is reported at once: the error is a *domain.Error with Code
// "validation_error" whose Fields name each bad key ("unknown filter" for
// keys it does not know). Text filter values may be a string (comma-separated:
// any of the parts), a number, or an array of strings (no splitting: use an
// array to match a value that contains a comma).
func ParseQuery(data map[string]any) (Query, error) {
	p := parser{errs: domain.Errors{}}
	q := p.query(data)
	if err := p.errs.Err(); err != nil {
		return Query{}, err
	}
	return q, nil
}

// ParseQueryValues parses a REST query string with the same keys as
// ParseQuery. A repeated key is a list (each value comma-split); "filter" may
// carry the advanced filter as JSON.
func ParseQueryValues(v url.Values) (Query, error) {
	return ParseQuery(DataFromValues(v))
}

// DataFromValues turns a REST query string into the map ParseQuery and
// ParseFieldOptions read: a key given once is its string; a key given several
// times is an array of its values, each split at commas.
func DataFromValues(v url.Values) map[string]any {
	data := make(map[string]any, len(v))
	for k, vals := range v {
		switch len(vals) {
		case 0:
		case 1:
			data[k] = vals[0]
		default:
			var list []any
			for _, s := range vals {
				for _, part := range strings.Split(s, ",") {
					list = append(list, part)
				}
			}
			data[k] = list
		}
	}
	return data
}

// ParseSearchRequest parses REST POST /contacts/search: the query string and
// the JSON body. The body is the advanced filter itself (an array of
// conditions, or a group object), or an object holding "filter" (or
// Chatwoot's "payload") and any other ParseQuery key. A key given both in the
// query string and the body is refused.
func ParseSearchRequest(v url.Values, body any) (Query, error) {
	data := DataFromValues(v)
	errs := domain.Errors{}
	switch b := body.(type) {
	case nil:
	case []any:
		if _, dup := data[keyFilter]; dup {
			errs.Add(keyFilter, "given both in the query string and the body")
		}
		data[keyFilter] = b
	case map[string]any:
		if isConditionObject(b) {
			if _, dup := data[keyFilter]; dup {
				errs.Add(keyFilter, "given both in the query string and the body")
			}
			data[keyFilter] = b
			break
		}
		for k, val := range b {
			if k == "payload" {
				k = keyFilter
			}
			if _, dup := data[k]; dup {
				errs.Add(k, "given both in the query string and the body")
				continue
			}
			data[k] = val
		}
	default:
		errs.Add(keyFilter, "the body must be a JSON array of conditions or an object")
	}
	q, err := ParseQuery(data)
	if err != nil {
		if de, ok := err.(*domain.Error); ok {
			for k, msg := range de.Fields {
				errs.Add(k, msg)
			}
		}
	}
	if err := errs.Err(); err != nil {
		return Query{}, err
	}
	return q, nil
}

// ParseFieldOptions parses the "data" object of the 13 field actions
// (get_titles … get_company_countries; REST: DataFromValues of the query
// string). It takes the field action's own keys — search (a case-insensitive
// substring of the FIELD VALUE, not the contact search), distinct, separated,
// limit (absent: all values, no default page size) and offset — into
// FieldOptions, and parses every other key as contact filters with
// ParseQuery (ordering included: it orders non-distinct values). A cursor is
// refused: field values are paged with limit and offset. Errors of both parts
// are reported together.
func ParseFieldOptions(data map[string]any) (FieldOptions, Query, error) {
	p := parser{errs: domain.Errors{}}
	rest := make(map[string]any, len(data))
	var opt FieldOptions
	for k, v := range data {
		switch k {
		case keySearch:
			if s, ok := p.single(k, v); ok {
				opt.Search = s
			}
		case keyDistinct:
			if b, ok := p.boolean(k, v); ok {
				opt.Distinct = b
			}
		case keySeparated:
			if b, ok := p.boolean(k, v); ok {
				opt.Separated = b
			}
		case KeyLimit:
			if n, ok := p.integer(k, v, 1, MaxLimit); ok {
				opt.Limit = &n
			}
		case keyOffset:
			if n, ok := p.integer(k, v, 0, math.MaxInt32); ok {
				opt.Offset = n
			}
		case KeyCursor:
			if !blank(v) {
				p.errs.Add(k, "field actions page with limit and offset, not a cursor")
			}
		default:
			rest[k] = v
		}
	}
	q := p.query(rest)
	if err := p.errs.Err(); err != nil {
		return FieldOptions{}, Query{}, err
	}
	return opt, q, nil
}

// parser collects every problem of one input.
type parser struct{ errs domain.Errors }

func blank(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) == ""
}

func (p *parser) query(data map[string]any) Query {
	var q Query
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic conditions (and cursor hashes)
	var cursorText string
	var offsetGiven bool
	for _, k := range keys {
		v := data[k]
		kind, known := keyKinds[k]
		if !known {
			p.errs.Add(k, "unknown filter")
			continue
		}
		if blank(v) {
			continue
		}
		switch kind {
		case 't':
			if vals := p.strings(k, v); len(vals) > 0 {
				q.where = append(q.where, &Condition{Attribute: k, Operator: OpContains, Values: anys(vals)})
			}
		case '=':
			if vals := p.strings(k, v); len(vals) > 0 {
				q.where = append(q.where, &Condition{Attribute: k, Operator: OpEqualTo, Values: anys(vals)})
			}
		case 'x':
			if vals := p.strings(k, v); len(vals) > 0 {
				q.where = append(q.where, &Condition{Attribute: exclusionKeys[k], Operator: OpNotEqualTo, Values: anys(vals)})
			}
		case 'b':
			b := boundKeys[k]
			var val any
			var ok bool
			if attributes[b.attr].Kind == AttrDate {
				val, ok = p.date(k, v)
			} else {
				val, ok = p.number(k, v)
			}
			if ok {
				q.where = append(q.where, &Condition{Attribute: b.attr, Operator: b.op, Values: []any{val}})
			}
		case '?':
			if b, ok := p.boolean(k, v); ok {
				q.where = append(q.where, &Condition{Attribute: k, Operator: OpEqualTo, Values: []any{b}})
			}
		case 'q':
			switch k {
			case keySearch:
				if s, ok := p.single(k, v); ok {
					q.search = s
				}
			case keyOrdering:
				q.ordering = p.ordering(k, v)
			case KeyLimit:
				if n, ok := p.integer(k, v, 1, MaxLimit); ok {
					q.limit = &n
				}
			case keyOffset:
				if n, ok := p.integer(k, v, 0, math.MaxInt32); ok {
					q.offset, offsetGiven = n, true
				}
			case KeyCursor:
				if s, ok := v.(string); ok {
					cursorText = strings.TrimSpace(s)
				} else {
					p.errs.Add(k, "must be a string")
				}
			case keyView:
				s, _ := v.(string)
				switch strings.ToLower(strings.TrimSpace(s)) {
				case ViewSimple:
					q.view = ViewSimple
				case ViewFull:
					q.view = ViewFull
				default:
					p.errs.Add(k, `must be "simple" or "full"`)
				}
			case keyIncludeDeleted:
				if b, ok := p.boolean(k, v); ok {
					q.includeDeleted = b
				}
			case keyFilter:
				c, err := ParseAdvanced(v)
				if err != nil {
					if de, ok := err.(*domain.Error); ok {
						for f, msg := range de.Fields {
							p.errs.Add(f, msg)
						}
					} else {
						p.errs.Add(k, err.Error())
					}
				}
				q.advanced = c
			}
		}
	}
	p.checkRanges(data, q)
	if cursorText != "" {
		if offsetGiven && q.offset > 0 {
			p.errs.Add(KeyCursor, "cannot be combined with a non-zero offset")
		}
		c, problem := decodeCursor(cursorText, q)
		if problem != "" {
			p.errs.Add(KeyCursor, problem)
		}
		q.cursor = c
	}
	return q
}

// checkRanges refuses a minimum above its maximum.
func (p *parser) checkRanges(data map[string]any, q Query) {
	pairs := [][2]string{
		{"employees_min", "employees_max"}, {"annual_revenue_min", "annual_revenue_max"},
		{"created_at_after", "created_at_before"}, {"updated_at_after", "updated_at_before"},
	}
	for _, pair := range pairs {
		lo, hi := boundValue(q, pair[0]), boundValue(q, pair[1])
		if lo == nil || hi == nil {
			continue
		}
		switch a := lo.(type) {
		case float64:
			if a > hi.(float64) {
				p.errs.Add(pair[0], fmt.Sprintf("must not be greater than %s", pair[1]))
			}
		case string:
			from, _ := parseDateBound(a)
			_, to := parseDateBound(hi.(string))
			_, day, _ := ParseDate(hi.(string)) // a day's end is exclusive
			if from.After(to) || day && !from.Before(to) {
				p.errs.Add(pair[0], fmt.Sprintf("must not be later than %s", pair[1]))
			}
		}
	}
}

// boundValue finds the value the range key added to the query.
func boundValue(q Query, key string) any {
	b := boundKeys[key]
	for _, c := range q.where {
		if c.Attribute == b.attr && c.Operator == b.op {
			return c.Values[0]
		}
	}
	return nil
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// strings reads a filter's values: a string (comma-separated), a number, or
// an array of strings and numbers (not split). Empty parts are dropped.
func (p *parser) strings(key string, v any) []string {
	var out []string
	add := func(s string) bool {
		s = strings.TrimSpace(s)
		if s == "" {
			return true
		}
		if len(s) > maxValueLen {
			p.errs.Add(key, fmt.Sprintf("a value may have at most %d characters", maxValueLen))
			return false
		}
		out = append(out, s)
		return true
	}
	switch x := v.(type) {
	case string:
		for _, part := range strings.Split(x, ",") {
			if !add(part) {
				return nil
			}
		}
	case float64:
		add(FormatNumber(x))
	case []any:
		for _, e := range x {
			switch y := e.(type) {
			case nil:
			case string:
				if !add(y) {
					return nil
				}
			case float64:
				add(FormatNumber(y))
			default:
				p.errs.Add(key, "must be a string or an array of strings")
				return nil
			}
		}
	default:
		p.errs.Add(key, "must be a string or an array of strings")
		return nil
	}
	if len(out) > maxValues {
		p.errs.Add(key, fmt.Sprintf("at most %d values", maxValues))
		return nil
	}
	return out
}

// FormatNumber writes a number as the filters compare it.
func FormatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// single reads one string (a number is accepted as its decimal form).
func (p *parser) single(key string, v any) (string, bool) {
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		if len(s) > maxValueLen {
			p.errs.Add(key, fmt.Sprintf("may have at most %d characters", maxValueLen))
			return "", false
		}
		return s, s != ""
	case float64:
		return FormatNumber(x), true
	}
	p.errs.Add(key, "must be a string")
	return "", false
}

// boolean reads true/false, "true"/"false" (also "1"/"0").
func (p *parser) boolean(key string, v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1":
			return true, true
		case "false", "0":
			return false, true
		}
	}
	p.errs.Add(key, "must be true or false")
	return false, false
}

// number reads a finite number or numeric string.
func (p *parser) number(key string, v any) (float64, bool) {
	f, ok := toNumber(v)
	if !ok {
		p.errs.Add(key, "must be a number")
	}
	return f, ok
}

func toNumber(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case string:
		var err error
		f, err = strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// integer reads a whole number in [min, max].
func (p *parser) integer(key string, v any, min, max int) (int, bool) {
	f, ok := toNumber(v)
	if !ok || f != math.Trunc(f) {
		p.errs.Add(key, "must be an integer")
		return 0, false
	}
	if f < float64(min) || f > float64(max) {
		p.errs.Add(key, fmt.Sprintf("must be between %d and %d", min, max))
		return 0, false
	}
	return int(f), true
}

// date reads an RFC 3339 time or a YYYY-MM-DD date (UTC), returned as the
// given (trimmed) string.
func (p *parser) date(key string, v any) (string, bool) {
	s, ok := v.(string)
	if ok {
		s = strings.TrimSpace(s)
		if _, _, ok = ParseDate(s); ok {
			return s, true
		}
	}
	p.errs.Add(key, "must be an RFC 3339 time (2024-01-31T09:00:00Z) or a date (2024-01-31)")
	return "", false
}

// ParseDate parses an RFC 3339 time (day false) or a YYYY-MM-DD date (day
// true: the UTC day starting at t).
func ParseDate(s string) (t time.Time, day bool, ok bool) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true, true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, false, true
	}
	return time.Time{}, false, false
}

// parseDateBound returns the instants a date value spans: [from, to] for a
// time both are it; for a day, its first instant and the next day's.
func parseDateBound(s string) (from, to time.Time) {
	t, day, _ := ParseDate(s)
	if day {
		return t, t.AddDate(0, 0, 1)
	}
	return t, t
}

// OrderKey is one ordering field.
type OrderKey struct {
	Field string `json:"f"`
	Desc  bool   `json:"d,omitempty"`
}

// ordering reads "ordering": comma-separated fields, "-" for descending.
func (p *parser) ordering(key string, v any) []OrderKey {
	var text string
	switch x := v.(type) {
	case string:
		text = x
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				p.errs.Add(key, "must be a string of comma-separated fields")
				return nil
			}
			parts = append(parts, s)
		}
		text = strings.Join(parts, ",")
	default:
		p.errs.Add(key, "must be a string of comma-separated fields")
		return nil
	}
	var keys []OrderKey
	seen := map[string]bool{}
	for _, part := range strings.Split(text, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k := OrderKey{Field: strings.TrimPrefix(strings.TrimPrefix(part, "-"), "+"), Desc: strings.HasPrefix(part, "-")}
		if _, ok := orderings[k.Field]; !ok {
			p.errs.Add(key, fmt.Sprintf("unknown ordering field %q (one of %s)", k.Field, strings.Join(OrderingNames(), ", ")))
			return nil
		}
		if seen[k.Field] {
			p.errs.Add(key, fmt.Sprintf("%s is given twice", k.Field))
			return nil
		}
		seen[k.Field] = true
		keys = append(keys, k)
	}
	return keys
}

// orderings is the whitelist of ordering fields and their types for keyset
// comparisons (each engine sorts them its own way: readapi/pgquery's
// orderExprs).
var orderings = map[string]string{
	"first_name":     "text",
	"last_name":      "text",
	"name":           "text",
	"title":          "text",
	"company":        "text",
	"email":          "text",
	"city":           "text",
	"state":          "text",
	"country":        "text",
	"seniority":      "text",
	"created_at":     "timestamptz",
	"updated_at":     "timestamptz",
	"employees":      "bigint",
	"annual_revenue": "float8",
}

// OrderType is an ordering field's type: text, timestamptz, bigint or float8.
func OrderType(field string) string { return orderings[field] }

// OrderingNames lists the ordering fields, sorted.
func OrderingNames() []string {
	names := make([]string, 0, len(orderings))
	for k := range orderings {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// defaultOrdering is -created_at.
var defaultOrdering = []OrderKey{{Field: "created_at", Desc: true}}

// Order returns the effective ordering.
func (q Query) Order() []OrderKey {
	if len(q.ordering) == 0 {
		return defaultOrdering
	}
	return q.ordering
}

// Cursor is the decoded opaque pagination token: the ordering values and
// uuid of the boundary row, the direction, whether the boundary row itself is
// included, and the hash of the query it belongs to.
type Cursor struct {
	Values    []string `json:"v"`
	UUID      string   `json:"u"`
	Backward  bool     `json:"b,omitempty"`
	Inclusive bool     `json:"i,omitempty"`
	Hash      string   `json:"h"`
}

// Hash identifies what a cursor depends on: the filters, search, advanced
// filter, ordering and include_deleted (not limit, offset or view).
func (q Query) Hash() string {
	// The basic filters are case-insensitive through and through: hash them
	// lower-cased (the advanced filter's custom attribute keys are not).
	w, _ := json.Marshal(q.where)
	b, _ := json.Marshal(struct {
		W string     `json:"w"`
		S string     `json:"s"`
		A *Condition `json:"a"`
		O []OrderKey `json:"o"`
		D bool       `json:"d"`
	}{strings.ToLower(string(w)), strings.ToLower(q.search), q.advanced, q.Order(), q.includeDeleted})
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// EncodeCursor makes the opaque token of c.
func EncodeCursor(c Cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor decodes and checks a cursor against q (hash, and values of
// the right number and types), returning a problem to report.
func decodeCursor(text string, q Query) (*Cursor, string) {
	const bad = "is not a valid cursor"
	if len(text) > maxCursor {
		return nil, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(text, "="))
	if err != nil {
		return nil, bad
	}
	var c Cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, bad
	}
	if c.Hash != q.Hash() {
		return nil, "belongs to another query (filters or ordering changed)"
	}
	if problem := c.Check(q); problem != "" {
		return nil, problem
	}
	return &c, ""
}

// Check validates the cursor's values against q's ordering.
func (c *Cursor) Check(q Query) string {
	const bad = "is not a valid cursor"
	keys := q.Order()
	if !domain.IsUUID(c.UUID) || len(c.Values) != len(keys) {
		return bad
	}
	for i, k := range keys {
		v := c.Values[i]
		switch orderings[k.Field] {
		case "timestamptz":
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				return bad
			}
		case "bigint":
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return bad
			}
		case "float8":
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return bad
			}
		}
	}
	return ""
}

// CheckCursor refuses a cursor that does not belong to q (a Query changed
// after parsing, e.g. WithAdvanced).
func CheckCursor(q Query) error {
	if q.cursor == nil {
		return nil
	}
	if q.cursor.Hash != q.Hash() {
		return domain.InvalidField(KeyCursor, "belongs to another query (filters or ordering changed)")
	}
	if problem := q.cursor.Check(q); problem != "" {
		return domain.InvalidField(KeyCursor, problem)
	}
	return nil
}
