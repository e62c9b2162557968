package readapi

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"contacts/domain"
)

// Condition is a parsed advanced filter: either a leaf (Attribute, Operator,
// Values) or a group (And: all of, Or: any of). ParseAdvanced builds it from
// the condition list of the Chatwoot-style filter:
//
//	[{"attribute_key": "city", "filter_operator": "equal_to", "values": ["Austin"], "query_operator": "and"},
//	 {"attribute_key": "custom_attributes.tier", "filter_operator": "equal_to", "values": ["gold"]}]
//
// Values are normalised: strings (text attributes, dates as given), float64
// (numbers, days) or bool.
type Condition struct {
	Attribute string       `json:"attribute_key,omitempty"`
	Operator  string       `json:"filter_operator,omitempty"`
	Values    []any        `json:"values,omitempty"`
	And       []*Condition `json:"and,omitempty"`
	Or        []*Condition `json:"or,omitempty"`
}

// Filter operators.
const (
	OpEqualTo        = "equal_to"         // exact, case-insensitive (lists: has the element); any of the values
	OpNotEqualTo     = "not_equal_to"     // none of the values
	OpContains       = "contains"         // case-insensitive substring; any of the values
	OpDoesNotContain = "does_not_contain" // none of the values as a substring
	OpStartsWith     = "starts_with"      // case-insensitive prefix (lists: of an element); any of the values
	OpIsPresent      = "is_present"       // has a non-empty value
	OpIsNotPresent   = "is_not_present"   // empty or missing
	OpIsGreaterThan  = "is_greater_than"  // numbers, dates (a day: after it), custom attributes
	OpIsLessThan     = "is_less_than"     // numbers, dates (a day: before it), custom attributes
	OpDaysBefore     = "days_before"      // dates: older than N days
)

// Bounds of an advanced filter.
const (
	MaxFilterDepth      = 5   // nesting levels of groups (the top list is level 1)
	MaxFilterConditions = 100 // leaf conditions in all
)

// AttrKind is an attribute's type.
type AttrKind uint8

const (
	AttrText   AttrKind = iota + 1 // scalar text
	AttrList                       // list of strings, stored as lower-cased JSON text
	AttrNumber                     // number (unknown: NULL)
	AttrDate                       // timestamptz (unknown: NULL)
	AttrBool                       // boolean
	AttrJSON                       // custom_attributes.<key> / additional_attributes.<key>
)

func (k AttrKind) String() string {
	switch k {
	case AttrText:
		return "text"
	case AttrList:
		return "list"
	case AttrNumber:
		return "number"
	case AttrDate:
		return "date"
	case AttrBool:
		return "boolean"
	}
	return "attribute"
}

// Attribute is what the query model knows of a filterable attribute: its
// type (each engine keeps its own columns: readapi/pgquery's attrColumns).
type Attribute struct {
	Kind AttrKind
}

// attributes is the whitelist of filterable attributes.
var attributes = map[string]Attribute{
	"first_name":      {Kind: AttrText},
	"last_name":       {Kind: AttrText},
	"name":            {Kind: AttrText}, // matched through first_name/last_name too (see nameMatch)
	"title":           {Kind: AttrText},
	"company":         {Kind: AttrText},
	"email":           {Kind: AttrText},
	"email_status":    {Kind: AttrText},
	"city":            {Kind: AttrText},
	"state":           {Kind: AttrText},
	"country":         {Kind: AttrText},
	"postcode":        {Kind: AttrText},
	"seniority":       {Kind: AttrText},
	"company_city":    {Kind: AttrText},
	"company_state":   {Kind: AttrText},
	"company_country": {Kind: AttrText},
	"company_address": {Kind: AttrText},
	"contact_address": {Kind: AttrText},
	"phone":           {Kind: AttrText},
	"identifier":      {Kind: AttrText},
	"departments":     {Kind: AttrList},
	"industries":      {Kind: AttrList},
	"keywords":        {Kind: AttrList},
	"technologies":    {Kind: AttrList},
	"labels":          {Kind: AttrList},
	"groups":          {Kind: AttrList},
	"employees":       {Kind: AttrNumber},
	"annual_revenue":  {Kind: AttrNumber},
	"created_at":      {Kind: AttrDate},
	"updated_at":      {Kind: AttrDate},
	// The domain stores last_activity_at as an RFC 3339 string ("" when unset).
	"last_activity_at": {Kind: AttrDate},
	"active":           {Kind: AttrBool},
	"opt_out":          {Kind: AttrBool},
	"blocked":          {Kind: AttrBool},
}

// attributeAliases are Chatwoot's names for our attributes.
var attributeAliases = map[string]string{
	"phone_number": "phone",
	"company_name": "company",
	"industry":     "industries",
	"keyword":      "keywords",
	"technology":   "technologies",
	"department":   "departments",
	"label":        "labels",
	"tags":         "labels",
}

// JSON attribute prefixes: custom_attributes.<key>, additional_attributes.<key>.
var jsonPrefixes = []string{"custom_attributes.", "additional_attributes."}

// operatorKinds says which operators apply to which kinds.
var operatorKinds = map[string][]AttrKind{
	OpEqualTo:        {AttrText, AttrList, AttrNumber, AttrDate, AttrBool, AttrJSON},
	OpNotEqualTo:     {AttrText, AttrList, AttrNumber, AttrDate, AttrBool, AttrJSON},
	OpContains:       {AttrText, AttrList, AttrJSON},
	OpDoesNotContain: {AttrText, AttrList, AttrJSON},
	OpStartsWith:     {AttrText, AttrList, AttrJSON},
	OpIsPresent:      {AttrText, AttrList, AttrNumber, AttrDate, AttrJSON},
	OpIsNotPresent:   {AttrText, AttrList, AttrNumber, AttrDate, AttrJSON},
	OpIsGreaterThan:  {AttrNumber, AttrDate, AttrJSON},
	OpIsLessThan:     {AttrNumber, AttrDate, AttrJSON},
	OpDaysBefore:     {AttrDate},
}

// LookupAttribute resolves an attribute key (aliases, JSON prefixes).
func LookupAttribute(key string) (name string, a Attribute, ok bool) {
	if alias, ok := attributeAliases[key]; ok {
		key = alias
	}
	if a, ok := attributes[key]; ok {
		return key, a, true
	}
	for _, p := range jsonPrefixes {
		if rest, found := strings.CutPrefix(key, p); found && rest != "" && len(rest) <= 255 {
			return key, Attribute{Kind: AttrJSON}, true
		}
	}
	return "", Attribute{}, false
}

// JSONAttribute splits custom_attributes.<key> into the document member
// and the key.
func JSONAttribute(name string) (member, key string) {
	member, key, _ = strings.Cut(name, ".")
	return member, key
}

// isConditionObject tells whether a JSON object is a condition or a group
// (rather than an object holding "filter" and other query keys).
func isConditionObject(m map[string]any) bool {
	for _, k := range []string{"attribute_key", "filter_operator", "group", "and", "or"} {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// ParseAdvanced parses an advanced filter: a JSON array of conditions (each
// {"attribute_key", "filter_operator", "values", "query_operator"}), a group
// object ({"group": [...]}, {"and": [...]}, {"or": [...]}), a single
// condition object, a wrapper {"payload": [...]} / {"filter": [...]}, or a
// JSON string holding any of these (REST query strings). nil means no filter.
//
// In a list, query_operator ("and"/"or", default "and") joins a condition
// with the NEXT one; the last one's is ignored. AND binds tighter than OR, as
// in SQL: a AND b OR c = (a AND b) OR c. Use {"group": [...]} for other
// groupings; a group's own query_operator joins it with the next item.
// {"and": [...]} and {"or": [...]} combine their items alike, ignoring the
// items' query_operator.
//
// Attributes: every text filter of ParseQuery (first_name … identifier,
// email_status, labels, groups, departments, industries, keywords,
// technologies), employees, annual_revenue, created_at, updated_at,
// last_activity_at, active, opt_out, blocked, and custom_attributes.<key> /
// additional_attributes.<key> (text comparisons, case-insensitive; numeric
// when the value given is a number and the stored one is a JSON number;
// is_greater_than/is_less_than with a string compare text byte-wise, which
// orders ISO dates). Errors are validation errors naming each bad part, e.g.
// "filter[2].filter_operator": `unknown operator "equals"`.
func ParseAdvanced(raw any) (*Condition, error) {
	p := advParser{errs: domain.Errors{}}
	c := p.top(keyFilter, raw, true)
	if err := p.errs.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

type advParser struct {
	errs   domain.Errors
	leaves int
}

func (p *advParser) top(path string, raw any, decode bool) *Condition {
	switch x := raw.(type) {
	case nil:
		return nil
	case string:
		if strings.TrimSpace(x) == "" {
			return nil
		}
		if !decode {
			break
		}
		var v any
		if err := json.Unmarshal([]byte(x), &v); err != nil {
			p.errs.Add(path, "must be a JSON array of conditions")
			return nil
		}
		return p.top(path, v, false)
	case []any:
		return p.list(path, x, 1)
	case map[string]any:
		if len(x) == 1 {
			for _, k := range []string{"payload", keyFilter} {
				if inner, ok := x[k]; ok {
					return p.top(k, inner, false)
				}
			}
		}
		return p.node(path, x, 1)
	}
	p.errs.Add(path, "must be an array of conditions or a condition object")
	return nil
}

// list parses a condition list: OR of runs joined by "and".
func (p *advParser) list(path string, items []any, depth int) *Condition {
	if depth > MaxFilterDepth {
		p.errs.Add(path, fmt.Sprintf("groups nest deeper than %d levels", MaxFilterDepth))
		return nil
	}
	if len(items) == 0 {
		p.errs.Add(path, "must hold at least one condition")
		return nil
	}
	var runs [][]*Condition
	run := []*Condition{}
	for i, it := range items {
		ip := fmt.Sprintf("%s[%d]", path, i)
		m, ok := it.(map[string]any)
		if !ok {
			p.errs.Add(ip, "must be a condition object")
			continue
		}
		if c := p.node(ip, m, depth); c != nil {
			run = append(run, c)
		}
		op := "and"
		if v, present := m["query_operator"]; present && v != nil {
			s, _ := v.(string)
			op = strings.ToLower(strings.TrimSpace(s))
			if op == "" {
				op = "and"
			}
			if op != "and" && op != "or" {
				p.errs.Add(ip+".query_operator", `must be "and" or "or"`)
			}
		}
		if op == "or" && i < len(items)-1 {
			runs = append(runs, run)
			run = []*Condition{}
		}
	}
	runs = append(runs, run)
	ors := make([]*Condition, 0, len(runs))
	for _, r := range runs {
		if c := all(r); c != nil {
			ors = append(ors, c)
		}
	}
	return anyOf(ors)
}

func all(cs []*Condition) *Condition {
	switch len(cs) {
	case 0:
		return nil
	case 1:
		return cs[0]
	}
	return &Condition{And: cs}
}

func anyOf(cs []*Condition) *Condition {
	switch len(cs) {
	case 0:
		return nil
	case 1:
		return cs[0]
	}
	return &Condition{Or: cs}
}

// node parses one item: a group or a leaf.
func (p *advParser) node(path string, m map[string]any, depth int) *Condition {
	for _, k := range []string{"group", "and", "or"} {
		inner, ok := m[k]
		if !ok {
			continue
		}
		for other := range m {
			if other != k && other != "query_operator" {
				p.errs.Add(path+"."+other, fmt.Sprintf("not allowed beside %q", k))
			}
		}
		gp := path + "." + k
		items, ok := inner.([]any)
		if !ok {
			p.errs.Add(gp, "must be an array of conditions")
			return nil
		}
		if k == "group" {
			return p.list(gp, items, depth+1)
		}
		if depth+1 > MaxFilterDepth {
			p.errs.Add(gp, fmt.Sprintf("groups nest deeper than %d levels", MaxFilterDepth))
			return nil
		}
		if len(items) == 0 {
			p.errs.Add(gp, "must hold at least one condition")
			return nil
		}
		var cs []*Condition
		for i, it := range items {
			ip := fmt.Sprintf("%s[%d]", gp, i)
			im, ok := it.(map[string]any)
			if !ok {
				p.errs.Add(ip, "must be a condition object")
				continue
			}
			if c := p.node(ip, im, depth+1); c != nil {
				cs = append(cs, c)
			}
		}
		if k == "and" {
			return all(cs)
		}
		return anyOf(cs)
	}
	return p.leaf(path, m)
}

// leaf parses {"attribute_key", "filter_operator", "values"}.
func (p *advParser) leaf(path string, m map[string]any) *Condition {
	p.leaves++
	if p.leaves == MaxFilterConditions+1 {
		p.errs.Add(keyFilter, fmt.Sprintf("at most %d conditions", MaxFilterConditions))
	}
	bad := false
	for k := range m {
		switch k {
		case "attribute_key", "filter_operator", "values", "query_operator":
		default:
			p.errs.Add(path+"."+k, "unknown key")
			bad = true
		}
	}
	key, _ := m["attribute_key"].(string)
	key = strings.TrimSpace(key)
	name, attr, ok := LookupAttribute(key)
	if key == "" {
		p.errs.Add(path+".attribute_key", "is required")
		bad = true
	} else if !ok {
		p.errs.Add(path+".attribute_key", fmt.Sprintf("unknown attribute %q", key))
		bad = true
	}
	op, _ := m["filter_operator"].(string)
	op = strings.ToLower(strings.TrimSpace(op))
	kinds, known := operatorKinds[op]
	switch {
	case op == "":
		p.errs.Add(path+".filter_operator", "is required")
		return nil
	case !known:
		p.errs.Add(path+".filter_operator", fmt.Sprintf("unknown operator %q", m["filter_operator"]))
		return nil
	case bad:
		return nil
	}
	applies := false
	for _, k := range kinds {
		applies = applies || k == attr.Kind
	}
	if !applies {
		p.errs.Add(path+".filter_operator", fmt.Sprintf("operator %q does not apply to %s attribute %q", op, attr.Kind, name))
		return nil
	}
	values, ok := p.values(path+".values", op, attr.Kind, m["values"])
	if !ok {
		return nil
	}
	return &Condition{Attribute: name, Operator: op, Values: values}
}

// values checks and normalises a condition's values for its operator and
// attribute kind.
func (p *advParser) values(path, op string, kind AttrKind, raw any) ([]any, bool) {
	if op == OpIsPresent || op == OpIsNotPresent {
		return nil, true
	}
	var items []any
	switch x := raw.(type) {
	case nil:
	case []any:
		items = x
	default:
		items = []any{x}
	}
	var out []any
	for _, it := range items {
		if it == nil {
			continue
		}
		if s, isStr := it.(string); isStr {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if len(s) > maxValueLen {
				p.errs.Add(path, fmt.Sprintf("a value may have at most %d characters", maxValueLen))
				return nil, false
			}
			it = s
		}
		v, problem := normaliseValue(op, kind, it)
		if problem != "" {
			p.errs.Add(path, problem)
			return nil, false
		}
		out = append(out, v)
	}
	switch {
	case len(out) == 0:
		p.errs.Add(path, "needs at least one value")
		return nil, false
	case len(out) > maxValues:
		p.errs.Add(path, fmt.Sprintf("at most %d values", maxValues))
		return nil, false
	case len(out) > 1 && (op == OpIsGreaterThan || op == OpIsLessThan || op == OpDaysBefore):
		p.errs.Add(path, "takes exactly one value")
		return nil, false
	}
	return out, true
}

// normaliseValue checks one value (string, float64 or bool) for an operator
// and kind.
func normaliseValue(op string, kind AttrKind, v any) (any, string) {
	if op == OpDaysBefore {
		f, ok := toNumber(v)
		if !ok || f < 0 || f > 1e6 {
			return nil, "must be a number of days (0 or more)"
		}
		return f, ""
	}
	switch kind {
	case AttrText, AttrList:
		switch x := v.(type) {
		case string:
			return x, ""
		case float64:
			return FormatNumber(x), ""
		}
		return nil, "values must be strings"
	case AttrNumber:
		f, ok := toNumber(v)
		if !ok {
			return nil, "values must be numbers"
		}
		return f, ""
	case AttrDate:
		s, ok := v.(string)
		if ok {
			if _, _, ok = ParseDate(s); ok {
				return s, ""
			}
		}
		return nil, "values must be RFC 3339 times (2024-01-31T09:00:00Z) or dates (2024-01-31)"
	case AttrBool:
		switch x := v.(type) {
		case bool:
			return x, ""
		case string:
			switch strings.ToLower(x) {
			case "true":
				return true, ""
			case "false":
				return false, ""
			}
		}
		return nil, "values must be true or false"
	case AttrJSON:
		switch x := v.(type) {
		case string:
			return x, ""
		case float64:
			if op == OpContains || op == OpDoesNotContain || op == OpStartsWith {
				return FormatNumber(x), ""
			}
			return x, ""
		case bool:
			if op == OpEqualTo || op == OpNotEqualTo {
				return x, ""
			}
		}
		return nil, "values must be strings or numbers"
	}
	return nil, "unsupported value"
}

// leaves lists the leaf conditions of c (for tests and logging).
func (c *Condition) leaves() []*Condition {
	if c == nil {
		return nil
	}
	if c.Attribute != "" {
		return []*Condition{c}
	}
	var out []*Condition
	for _, x := range append(append([]*Condition{}, c.And...), c.Or...) {
		out = append(out, x.leaves()...)
	}
	return out
}

// String renders c readably: (city equal_to [Austin] AND …).
func (c *Condition) String() string {
	if c == nil {
		return "TRUE"
	}
	if c.Attribute != "" {
		return fmt.Sprintf("%s %s %v", c.Attribute, c.Operator, c.Values)
	}
	parts := make([]string, 0, len(c.And)+len(c.Or))
	join := " AND "
	kids := c.And
	if len(c.Or) > 0 {
		join, kids = " OR ", c.Or
	}
	for _, k := range kids {
		parts = append(parts, k.String())
	}
	return "(" + strings.Join(parts, join) + ")"
}

// AttributeNames lists the named (non-JSON) attributes, sorted.
func AttributeNames() []string {
	names := make([]string, 0, len(attributes))
	for k := range attributes {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
